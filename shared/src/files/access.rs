//! Who may do what with a file, and what a link to it may carry: the rules the
//! files worker applies, kept here so every module that serves files applies the
//! same ones.

use super::rules::{Declared, Use};
use super::store::{self, FileRow};
use crate::auth::claims::VerifiedClaims;
use crate::auth::roles::{Access, Area};
use crate::kernel::error::{DomainError, DomainResult};

/// Who may upload a file of `usage`: the firm's settings people a logo, anyone
/// signed in their own avatar, staff who write in the workspace (or portal users
/// who may upload documents) a document.
pub fn may_upload(claims: &VerifiedClaims, usage: Use) -> DomainResult<()> {
    match usage {
        Use::Logo => claims.require(Area::Settings, Access::Write),
        Use::Avatar => claims.person().map(|_| ()),
        Use::Document if claims.role().is_portal() => {
            claims.require(Area::PortalDocuments, Access::Write)
        }
        Use::Document => claims.require(Area::Workspace, Access::Write),
    }
}

/// Who may see a file's record and have a link to it: its uploader; staff who
/// read the workspace; for a logo, anyone of the firm. Portal users do not learn
/// that other files exist (404).
pub fn may_read(claims: &VerifiedClaims, row: &FileRow) -> DomainResult<()> {
    if row.created_by == claims.user_id() || row.usage == Use::Logo.name() {
        return Ok(());
    }
    if claims.role().is_portal() {
        return Err(DomainError::NotFound("file"));
    }
    claims.require(Area::Workspace, Access::Read)
}

/// Only the uploader sends an upload's bytes, completes or abandons it.
pub fn require_uploader(claims: &VerifiedClaims, row: &FileRow) -> DomainResult<()> {
    if row.created_by == claims.user_id() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only the person who started an upload sends its bytes".into(),
        ))
    }
}

/// Whether a link to `row` may be issued to someone (`portal` for a client's
/// user), and the warning it carries: only stored files; a flagged one never;
/// portal users only once a scan cleared it; staff get a pending or failed one
/// with a warning.
pub fn link_warning(row: &FileRow, portal: bool) -> DomainResult<Option<&'static str>> {
    let conflict = |detail: String| DomainError::Conflict {
        field: None,
        detail,
    };
    if row.status != "stored" {
        return Err(conflict(format!(
            "the file is {}; only stored files are downloaded",
            row.status
        )));
    }
    match row.scan_status.as_str() {
        "flagged" => Err(conflict(
            "the file is quarantined: the malware scanner flagged it".into(),
        )),
        _ if store::servable_outside(row) => Ok(None),
        status if portal => Err(conflict(format!(
            "the file is not yet cleared by the malware scan ({status}); try again shortly"
        ))),
        "failed" => Ok(Some(
            "the malware scan of this file failed; open it with care",
        )),
        _ => Ok(Some(
            "the malware scan of this file has not finished; open it with care",
        )),
    }
}

/// A body's `Content-Type` must be the declared media type, or plain octets (415).
pub fn check_body_type(declared: &str, content_type: Option<&str>) -> DomainResult<()> {
    let essence = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == declared || essence == "application/octet-stream" {
        return Ok(());
    }
    Err(DomainError::UnsupportedMediaType(format!(
        "this upload was declared {declared}; the body is sent as that type or application/octet-stream, not {}",
        if essence.is_empty() { "no type" } else { &essence }
    )))
}

impl FileRow {
    /// What the upload declared, to check its bytes against.
    pub fn declared(&self) -> DomainResult<Declared> {
        Ok(Declared {
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: u64::try_from(self.size).unwrap_or(0),
            usage: Use::parse("usage", &self.usage)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str, scan: &str) -> FileRow {
        FileRow {
            id: "fil_1".into(),
            firm_id: "frm_1".into(),
            usage: "document".into(),
            owner_id: None,
            name: "a.pdf".into(),
            media_type: "application/pdf".into(),
            size: 10,
            sha256: None,
            r2_key: "k".into(),
            classification: "CONF".into(),
            status: status.into(),
            scan_status: scan.into(),
            multipart_id: None,
            part_size: None,
            parts: None,
            created_by: "usr_1".into(),
            created_at: 0,
            updated_at: 0,
            expected_sha256: None,
            scan_attempts: 0,
            key_version: Some(1),
        }
    }

    #[test]
    fn links_follow_the_scan() {
        assert_eq!(link_warning(&row("stored", "clean"), true).unwrap(), None);
        assert_eq!(link_warning(&row("stored", "skipped"), true).unwrap(), None);
        assert!(link_warning(&row("stored", "pending"), false)
            .unwrap()
            .is_some());
        assert!(link_warning(&row("stored", "failed"), false)
            .unwrap()
            .unwrap()
            .contains("failed"));
        for (status, scan, portal) in [
            ("stored", "pending", true),
            ("stored", "failed", true),
            ("stored", "flagged", false),
            ("uploading", "pending", false),
        ] {
            assert!(
                matches!(
                    link_warning(&row(status, scan), portal),
                    Err(DomainError::Conflict { .. })
                ),
                "{status} {scan} {portal}"
            );
        }
    }

    #[test]
    fn bodies_come_as_declared_or_octets() {
        assert!(check_body_type("application/pdf", Some("Application/PDF; charset=x")).is_ok());
        assert!(check_body_type("application/pdf", Some("application/octet-stream")).is_ok());
        for bad in [None, Some("image/png"), Some("")] {
            assert!(matches!(
                check_body_type("application/pdf", bad),
                Err(DomainError::UnsupportedMediaType(_))
            ));
        }
        assert_eq!(
            row("stored", "clean").declared().unwrap().usage,
            Use::Document
        );
    }
}
