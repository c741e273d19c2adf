//! Stored objects in D1: a row is written with its declared size before any byte
//! reaches R2, in one statement that also checks the firm's quota (so two uploads
//! racing for the last gigabyte cannot both pass); the parts of a multipart upload,
//! each of which may be sent again; completion with the object's SHA-256; scan
//! results; the access log.

use serde::{Deserialize, Serialize};

use super::links::Classification;
use super::rules::{self, Declared, Use};
use crate::firm::model::Tier;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// A stored object's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRow {
    /// `fil_…`.
    pub id: String,
    /// Its firm.
    pub firm_id: String,
    /// What it is for.
    pub usage: String,
    /// The person it belongs to (avatars).
    pub owner_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// Hex SHA-256 once stored.
    pub sha256: Option<String>,
    /// Where R2 keeps it (never shown).
    #[serde(skip_serializing)]
    pub r2_key: String,
    /// How sensitive it is.
    pub classification: String,
    /// `uploading`, `stored`, `aborted`, `deleted`.
    pub status: String,
    /// `pending`, `clean`, `flagged`, `skipped`, `failed`.
    pub scan_status: String,
    /// R2's multipart upload id, while one is open.
    #[serde(skip_serializing)]
    pub multipart_id: Option<String>,
    /// Bytes per part of a multipart upload.
    pub part_size: Option<i64>,
    /// Parts of a multipart upload.
    pub parts: Option<i64>,
    /// Who uploaded it.
    pub created_by: String,
    /// When (Unix ms).
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// The hex SHA-256 the uploader declared, checked once every byte is in.
    #[serde(default, skip_serializing)]
    pub expected_sha256: Option<String>,
    /// Scans tried without a verdict.
    #[serde(default, skip_serializing)]
    pub scan_attempts: i64,
    /// The firm's data-key version its content is sealed under.
    #[serde(default, skip_serializing)]
    pub key_version: Option<i64>,
}

const COLUMNS: &str = "id, firm_id, usage, owner_id, name, media_type, size, sha256, r2_key, classification, status, \
     scan_status, multipart_id, part_size, parts, created_by, created_at, updated_at, expected_sha256, scan_attempts, key_version";

/// The R2 key of a firm's object: the firm first, the id after; never the name.
pub fn r2_key(firm_id: &str, file_id: &str) -> String {
    format!("firms/{firm_id}/files/{file_id}")
}

/// Where a flagged object is moved: out of the firm's files, never served.
pub fn quarantine_key(firm_id: &str, file_id: &str) -> String {
    format!("firms/{firm_id}/quarantine/{file_id}")
}

/// Bytes the firm stores or has reserved for uploads under way.
pub async fn usage(db: &impl Sql, firm_id: &str) -> DomainResult<u64> {
    #[derive(Deserialize)]
    struct Used {
        used: i64,
    }
    let rows: Vec<Used> = query_as(
        db,
        stmt!(
            "SELECT COALESCE(SUM(size), 0) AS used FROM files_objects WHERE firm_id = ?1 AND status IN ('uploading', 'stored')",
            firm_id
        ),
    )
    .await?;
    Ok(rows
        .first()
        .map_or(0, |r| u64::try_from(r.used).unwrap_or(0)))
}

/// How an upload is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// All bytes in one request (≤ 95 MiB).
    Single,
    /// Parts of this many bytes (the last may be smaller).
    Multipart {
        /// Bytes per part.
        part_size: u64,
    },
}

/// What an upload declares before its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Name, type, size and use.
    pub declared: Declared,
    /// One request or parts.
    pub transfer: Transfer,
    /// How sensitive it is.
    pub classification: Classification,
    /// The hex SHA-256 the uploader expects (checked once every byte is in).
    pub sha256: Option<String>,
}

/// Reserves an upload: checks the declaration and the transfer's limits, then
/// writes the row with its declared size only if the firm's quota still holds it
/// (409 `quota-exceeded` otherwise, nothing written). Its content will be sealed
/// under the firm's data key `key_version`. Returns the row.
pub async fn reserve(
    db: &impl Sql,
    scope: &TenantScope,
    tier: Tier,
    upload: &Upload,
    (actor, key_version): (&str, i64),
    now: Instant,
) -> DomainResult<FileRow> {
    let Upload {
        declared,
        transfer,
        classification,
        sha256,
    } = upload;
    let (transfer, classification) = (*transfer, *classification);
    rules::check_declared(declared)?;
    let (part_size, parts) = match transfer {
        Transfer::Single if declared.size > rules::SINGLE_MAX => {
            return Err(DomainError::invalid(
                "size",
                "range",
                format!(
                    "one request carries at most {} bytes; start a multipart upload",
                    rules::SINGLE_MAX
                ),
            ))
        }
        Transfer::Single => (None, None),
        Transfer::Multipart { part_size } => {
            let parts = rules::check_parts(declared.size, part_size)?;
            (Some(part_size as i64), Some(parts as i64))
        }
    };
    let id = new_id("fil", now.millis())?;
    let limit = rules::quota(tier);
    let owner = (declared.usage == Use::Avatar).then(|| actor.to_owned());
    let changed = db
        .execute(stmt!(
            "INSERT INTO files_objects (id, firm_id, usage, owner_id, name, media_type, size, r2_key, classification,
                    status, part_size, parts, created_by, created_at, updated_at, expected_sha256, key_version)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'uploading', ?10, ?11, ?12, ?13, ?13, ?15, ?16
              WHERE (SELECT COALESCE(SUM(size), 0) FROM files_objects
                      WHERE firm_id = ?2 AND status IN ('uploading', 'stored')) + ?7 <= ?14",
            id.as_str(),
            scope.firm_id(),
            declared.usage.name(),
            owner,
            declared.name.as_str(),
            declared.media_type.as_str(),
            declared.size as i64,
            r2_key(scope.firm_id(), &id),
            classification.name(),
            part_size,
            parts,
            actor,
            now.millis(),
            limit as i64,
            sha256.clone(),
            key_version
        ))
        .await?;
    if changed == 0 {
        let used = usage(db, scope.firm_id()).await?;
        rules::check_quota(tier, used, declared.size)?;
        return Err(DomainError::Conflict {
            field: Some("size"),
            detail: "quota-exceeded: the firm's storage is full".into(),
        });
    }
    get(db, scope, &id).await
}

/// The firm's object `id` (any status).
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<FileRow> {
    let rows: Vec<FileRow> = query_as(
        db,
        Statement::new(
            format!("SELECT {COLUMNS} FROM files_objects WHERE id = ?1 AND firm_id = ?2"),
            vec![id.into(), scope.firm_id().into()],
        ),
    )
    .await?;
    rows.into_iter().next().ok_or(DomainError::NotFound("file"))
}

/// Records R2's id of the multipart upload opened for `id`.
pub fn set_multipart(id: &str, upload_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE files_objects SET multipart_id = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'uploading'",
        id,
        upload_id,
        now.millis()
    )
}

/// The size part `n` of `row` must have: `part_size`, or what is left for the last.
pub fn expected_part_size(row: &FileRow, n: i64) -> DomainResult<i64> {
    let (Some(part_size), Some(parts)) = (row.part_size, row.parts) else {
        return Err(DomainError::Conflict {
            field: None,
            detail: "this upload is not a multipart upload".into(),
        });
    };
    if !(1..=parts).contains(&n) {
        return Err(DomainError::invalid(
            "part_number",
            "range",
            format!("part_number is 1 to {parts}"),
        ));
    }
    Ok(if n == parts {
        row.size - part_size * (parts - 1)
    } else {
        part_size
    })
}

/// Checks an upload is still open for bytes.
pub fn require_uploading(row: &FileRow) -> DomainResult<()> {
    if row.status == "uploading" {
        Ok(())
    } else {
        Err(DomainError::Conflict {
            field: None,
            detail: format!("the upload is {}; it takes no more bytes", row.status),
        })
    }
}

/// Records part `n` (a part sent again replaces the one before).
pub fn record_part(file_id: &str, n: i64, etag: &str, size: i64, now: Instant) -> Vec<Statement> {
    vec![
        stmt!(
            "INSERT INTO files_parts (file_id, part_number, etag, size, uploaded_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (file_id, part_number) DO UPDATE SET etag = excluded.etag, size = excluded.size,
               uploaded_at = excluded.uploaded_at",
            file_id,
            n,
            etag,
            size,
            now.millis()
        ),
        stmt!(
            "UPDATE files_objects SET updated_at = ?2 WHERE id = ?1",
            file_id,
            now.millis()
        ),
    ]
}

/// A received part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// 1-based.
    pub part_number: i64,
    /// R2's etag of it.
    pub etag: String,
    /// Its size.
    pub size: i64,
}

/// The parts received so far, in order (what a resuming client asks for).
pub async fn parts(db: &impl Sql, file_id: &str) -> DomainResult<Vec<Part>> {
    query_as(
        db,
        stmt!(
            "SELECT part_number, etag, size FROM files_parts WHERE file_id = ?1 ORDER BY part_number",
            file_id
        ),
    )
    .await
}

/// The parts of a complete multipart upload, or a 409 naming the missing ones.
pub fn all_parts(row: &FileRow, received: &[Part]) -> DomainResult<Vec<Part>> {
    let expected = row.parts.unwrap_or(0);
    let missing: Vec<i64> = (1..=expected)
        .filter(|n| !received.iter().any(|p| p.part_number == *n))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(i64::to_string).collect();
        return Err(DomainError::Conflict {
            field: Some("parts"),
            detail: format!("parts not yet received: {}", shown.join(", ")),
        });
    }
    Ok(received.to_vec())
}

/// Marks the object stored with its SHA-256; its scan is due at once.
pub fn mark_stored(file_id: &str, sha256: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE files_objects SET status = 'stored', sha256 = ?2, multipart_id = NULL, updated_at = ?3,
                scan_next_at = ?3
          WHERE id = ?1 AND status = 'uploading'",
        file_id,
        sha256,
        now.millis()
    )
}

/// Gives up an upload: its reservation no longer counts against the quota.
pub fn mark_aborted(file_id: &str, now: Instant) -> Vec<Statement> {
    vec![
        stmt!(
            "UPDATE files_objects SET status = 'aborted', multipart_id = NULL, updated_at = ?2
              WHERE id = ?1 AND status = 'uploading'",
            file_id,
            now.millis()
        ),
        stmt!("DELETE FROM files_parts WHERE file_id = ?1", file_id),
    ]
}

/// Records a scan's verdict.
pub fn record_scan(file_id: &str, status: &str, detail: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE files_objects SET scan_status = ?2, scan_detail = ?3, scanned_at = ?4, updated_at = ?4 WHERE id = ?1",
        file_id,
        status,
        detail,
        now.millis()
    )
}

/// Who did something to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessor {
    /// `staff`, `portal`, `link` or `system`.
    pub kind: &'static str,
    /// Their id, when known.
    pub id: Option<String>,
    /// Their address.
    pub ip: Option<String>,
    /// Their client.
    pub user_agent: Option<String>,
}

/// One access-log entry (never content).
pub fn log_access(
    firm_id: &str,
    file_id: &str,
    action: &str,
    who: &Accessor,
    detail: Option<&str>,
    now: Instant,
) -> DomainResult<Statement> {
    Ok(stmt!(
        "INSERT INTO files_access_log (id, firm_id, file_id, action, actor_type, actor_id, ip, user_agent, detail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        new_id("fal", now.millis())?,
        firm_id,
        file_id,
        action,
        who.kind,
        who.id.clone(),
        who.ip.clone(),
        who.user_agent.clone(),
        detail.map(str::to_owned),
        now.millis()
    ))
}

/// Uploads left open longer than the idle limit, to abort (oldest first).
pub async fn idle_uploads(db: &impl Sql, now: Instant, limit: i64) -> DomainResult<Vec<FileRow>> {
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM files_objects WHERE status = 'uploading' AND updated_at <= ?1
                  ORDER BY updated_at LIMIT ?2"
            ),
            vec![(now.millis() - rules::IDLE_ABORT_MS).into(), limit.into()],
        ),
    )
    .await
}

/// How long a claimed scan is left to its claimer before another may try it.
pub const SCAN_LEASE_MS: i64 = 5 * 60_000;

/// Claims `file_id`'s due scan for one attempt (the event right after the upload
/// and the minute's sweep may both reach for it): 1 row changed when the caller
/// has it.
pub fn claim_scan(file_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE files_objects SET scan_next_at = ?2 + ?3
          WHERE id = ?1 AND status = 'stored' AND scan_status = 'pending' AND scan_next_at <= ?2",
        file_id,
        now.millis(),
        SCAN_LEASE_MS
    )
}

/// Stored objects whose scan is due (oldest first).
pub async fn due_scans(db: &impl Sql, now: Instant, limit: i64) -> DomainResult<Vec<FileRow>> {
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM files_objects
                  WHERE status = 'stored' AND scan_status = 'pending' AND scan_next_at <= ?1
                  ORDER BY scan_next_at LIMIT ?2"
            ),
            vec![now.millis().into(), limit.into()],
        ),
    )
    .await
}

/// Records a scan that got no verdict: the next attempt on the schedule of
/// [`super::scan::RETRY_AFTER_MS`], or `failed` once it is spent. Returns the
/// statement and whether the scan failed for good.
pub fn scan_missed(row: &FileRow, detail: &str, now: Instant) -> (Statement, bool) {
    let attempts = row.scan_attempts + 1;
    match super::scan::retry_after(attempts) {
        Some(wait) => (
            stmt!(
                "UPDATE files_objects SET scan_attempts = ?2, scan_next_at = ?3, scan_detail = ?4, updated_at = ?5
                  WHERE id = ?1",
                row.id.as_str(),
                attempts,
                now.millis() + wait,
                detail,
                now.millis()
            ),
            false,
        ),
        None => (
            stmt!(
                "UPDATE files_objects SET scan_attempts = ?2, scan_next_at = NULL, scan_status = 'failed',
                        scan_detail = ?3, scanned_at = ?4, updated_at = ?4
                  WHERE id = ?1",
                row.id.as_str(),
                attempts,
                detail,
                now.millis()
            ),
            true,
        ),
    }
}

/// Records a verdict (`clean`, `flagged` or `skipped`); a flagged object's bytes
/// now live under `r2_key` (the quarantine).
pub fn record_verdict(
    file_id: &str,
    status: &str,
    detail: &str,
    r2_key: &str,
    now: Instant,
) -> Statement {
    stmt!(
        "UPDATE files_objects SET scan_status = ?2, scan_detail = ?3, r2_key = ?4, scan_next_at = NULL,
                scanned_at = ?5, updated_at = ?5
          WHERE id = ?1",
        file_id,
        status,
        detail,
        r2_key,
        now.millis()
    )
}

/// Whether people outside the firm's staff (portal users, download links they
/// were given, the firm's public branding) may have the object: only once a
/// scan cleared it, or when the deployment has no scanner.
pub fn servable_outside(row: &FileRow) -> bool {
    row.status == "stored" && matches!(row.scan_status.as_str(), "clean" | "skipped")
}

/// A stored object of the firm put to `usage` by someone (a logo, an avatar):
/// 404 for another firm's, 409 for one not stored or of another use, 403 for a
/// flagged one.
pub async fn for_use(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    usage: Use,
) -> DomainResult<FileRow> {
    let row = get(db, scope, id).await?;
    if row.usage != usage.name() {
        return Err(DomainError::invalid(
            "file_id",
            "usage",
            format!(
                "the file was uploaded as a {}, not a {}",
                row.usage,
                usage.name()
            ),
        ));
    }
    if row.status != "stored" {
        return Err(DomainError::Conflict {
            field: Some("file_id"),
            detail: format!("the file is {}, not stored", row.status),
        });
    }
    if row.scan_status == "flagged" {
        return Err(DomainError::Conflict {
            field: Some("file_id"),
            detail: "the file is quarantined: the scanner flagged it".into(),
        });
    }
    Ok(row)
}

/// Makes `file_id` the firm's logo.
pub fn set_logo(firm_id: &str, file_id: &str, actor: &str, now: Instant) -> Statement {
    stmt!(
        "INSERT INTO files_branding (firm_id, logo_file_id, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (firm_id) DO UPDATE SET logo_file_id = excluded.logo_file_id,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        firm_id,
        file_id,
        actor,
        now.millis()
    )
}

/// Removes the firm's logo.
pub fn clear_logo(firm_id: &str) -> Statement {
    stmt!("DELETE FROM files_branding WHERE firm_id = ?1", firm_id)
}

/// The firm's logo, if it has one.
pub async fn logo(db: &impl Sql, firm_id: &str) -> DomainResult<Option<FileRow>> {
    let rows: Vec<FileRow> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {} FROM files_objects o JOIN files_branding b ON b.logo_file_id = o.id
                  WHERE b.firm_id = ?1 AND o.firm_id = ?1",
                prefixed("o.")
            ),
            vec![firm_id.into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Makes `file_id` `user_id`'s picture in the firm.
pub fn set_avatar(firm_id: &str, user_id: &str, file_id: &str, now: Instant) -> Statement {
    stmt!(
        "INSERT INTO files_avatars (firm_id, user_id, file_id, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (firm_id, user_id) DO UPDATE SET file_id = excluded.file_id, updated_at = excluded.updated_at",
        firm_id,
        user_id,
        file_id,
        now.millis()
    )
}

/// Removes `user_id`'s picture in the firm.
pub fn clear_avatar(firm_id: &str, user_id: &str) -> Statement {
    stmt!(
        "DELETE FROM files_avatars WHERE firm_id = ?1 AND user_id = ?2",
        firm_id,
        user_id
    )
}

/// `user_id`'s picture in the firm, if they have one.
pub async fn avatar(db: &impl Sql, firm_id: &str, user_id: &str) -> DomainResult<Option<FileRow>> {
    let rows: Vec<FileRow> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {} FROM files_objects o JOIN files_avatars a ON a.file_id = o.id
                  WHERE a.firm_id = ?1 AND a.user_id = ?2 AND o.firm_id = ?1",
                prefixed("o.")
            ),
            vec![firm_id.into(), user_id.into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().next())
}

fn prefixed(alias: &str) -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("{alias}{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
