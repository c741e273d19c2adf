//! The bodies of the files API: what an upload declares, which object a setting
//! points at, what a download link is asked with. Each names the field and the
//! rule it breaks.

use super::links::Classification;
use super::rules::{Declared, Use, SINGLE_MAX};
use super::store::{Transfer, Upload};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{Input, Validator};

/// Reads `{"name", "media_type", "size", "usage", "classification"?,
/// "part_size"?, "sha256"?}`: a `part_size` makes it a multipart upload, which
/// any file over 95 MiB must be.
pub fn parse_upload(body: &serde_json::Value) -> DomainResult<Upload> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(
        &mut v,
        &[
            "name",
            "media_type",
            "size",
            "usage",
            "classification",
            "part_size",
            "sha256",
        ],
    );
    let name = input.string(&mut v, "name", true).map(str::to_owned);
    let media_type = input
        .string(&mut v, "media_type", true)
        .map(str::to_ascii_lowercase);
    let size = input.integer(&mut v, "size", true);
    if size.is_some_and(|s| s < 1) {
        v.add("size", "range", "size is at least 1 byte");
    }
    let usage = input
        .string(&mut v, "usage", true)
        .and_then(|s| v.take(Use::parse("usage", s)));
    let classification = match input.string(&mut v, "classification", false) {
        Some(raw) => v.take(Classification::parse("classification", raw)),
        None => Some(match usage {
            Some(Use::Logo) => Classification::Pub,
            Some(Use::Avatar) => Classification::Int,
            _ => Classification::Conf,
        }),
    };
    let part_size = input.integer(&mut v, "part_size", false);
    if part_size.is_some_and(|p| p < 1) {
        v.add(
            "part_size",
            "range",
            "part_size is a positive number of bytes",
        );
    }
    let sha256 = input
        .string(&mut v, "sha256", false)
        .and_then(|s| v.take(hex_digest("sha256", s)));
    v.finish()?;
    let (Some(name), Some(media_type), Some(size), Some(usage), Some(classification)) =
        (name, media_type, size, usage, classification)
    else {
        return Err(DomainError::invalid(
            "body",
            "required",
            "an upload declares name, media_type, size and usage",
        ));
    };
    let size = size as u64;
    let transfer = match part_size {
        Some(part_size) => Transfer::Multipart {
            part_size: part_size as u64,
        },
        None if size > SINGLE_MAX => {
            return Err(DomainError::invalid(
                "part_size",
                "required",
                format!("a file over {SINGLE_MAX} bytes is sent in parts: name a part_size"),
            ))
        }
        None => Transfer::Single,
    };
    Ok(Upload {
        declared: Declared {
            name,
            media_type,
            size,
            usage,
        },
        transfer,
        classification,
        sha256,
    })
}

/// A lower-case hex SHA-256 (64 characters).
pub fn hex_digest(field: &str, raw: &str) -> DomainResult<String> {
    if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} is a SHA-256 in 64 hexadecimal characters"),
        ))
    }
}

/// Reads `{"file_id": "fil_…"}` (which stored object a setting uses).
pub fn parse_assignment(body: &serde_json::Value) -> DomainResult<String> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["file_id"]);
    let id = input
        .string(&mut v, "file_id", true)
        .and_then(|s| v.take(crate::kernel::id::parse("file_id", "fil", s)));
    v.finish()?;
    id.ok_or_else(|| DomainError::invalid("file_id", "required", "file_id is required"))
}

/// A part number from the path: 1 to 10,000.
pub fn part_number(raw: &str) -> DomainResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| (1..=super::rules::MAX_PARTS as i64).contains(n))
        .ok_or_else(|| {
            DomainError::invalid(
                "part_number",
                "range",
                "part_number is a whole number from 1 to 10000",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(r: DomainResult<impl std::fmt::Debug>) -> (String, &'static str) {
        match r {
            Err(DomainError::Validation(e)) => (e[0].field.clone(), e[0].rule),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn uploads_declare_what_they_send() {
        let u = parse_upload(&json!({"name": "a.pdf", "media_type": "Application/PDF", "size": 10, "usage": "document"}))
            .unwrap();
        assert_eq!(u.transfer, Transfer::Single);
        assert_eq!(u.declared.media_type, "application/pdf");
        assert_eq!(u.classification, Classification::Conf);
        let big = json!({"name": "a.pdf", "media_type": "application/pdf", "size": 200u64 << 20, "usage": "document"});
        assert_eq!(rule(parse_upload(&big)), ("part_size".into(), "required"));
        assert_eq!(
            rule(parse_upload(
                &json!({"name": "a.pdf", "media_type": "application/pdf", "size": 0, "usage": "document"})
            )),
            ("size".into(), "range")
        );
        assert_eq!(
            rule(parse_upload(
                &json!({"name": "a.pdf", "media_type": "application/pdf", "size": 1, "usage": "x"})
            )),
            ("usage".into(), "enum")
        );
        assert_eq!(
            rule(parse_upload(
                &json!({"name": "a.pdf", "media_type": "application/pdf", "size": 1, "usage": "document", "sha256": "zz"})
            )),
            ("sha256".into(), "format")
        );
        assert_eq!(
            rule(parse_upload(
                &json!({"name": "a.pdf", "media_type": "application/pdf", "size": 1, "usage": "document", "extra": 1})
            )),
            ("extra".into(), "unknown")
        );
        assert_eq!(
            parse_upload(
                &json!({"name": "l.png", "media_type": "image/png", "size": 9, "usage": "logo"})
            )
            .unwrap()
            .classification,
            Classification::Pub
        );
    }

    #[test]
    fn assignments_and_parts() {
        let id = crate::kernel::id::new_id("fil", 1).unwrap();
        assert_eq!(parse_assignment(&json!({"file_id": id})).unwrap(), id);
        assert_eq!(
            rule(parse_assignment(&json!({"file_id": "usr_1"}))),
            ("file_id".into(), "format")
        );
        assert_eq!(
            rule(parse_assignment(&json!({}))),
            ("file_id".into(), "required")
        );
        assert_eq!(part_number("3").unwrap(), 3);
        for bad in ["0", "10001", "-1", "x", ""] {
            assert!(part_number(bad).is_err(), "{bad}");
        }
    }
}
