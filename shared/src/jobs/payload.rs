//! The payload contract, checked at enqueue: a payload names its firm, a correlation
//! id and an idempotency key, references the records its category works on, and
//! never carries content (secrets, bodies, documents) or more than 10 KiB.

use serde_json::Value;

use super::Category;
use crate::kernel::error::DomainError;
use crate::kernel::id::is_uuid;
use crate::kernel::validate::Validator;

/// Largest payload, serialised.
pub const MAX_PAYLOAD_BYTES: usize = 10_240;
/// Longest idempotency key.
pub const MAX_KEY_CHARS: usize = 255;

/// Keys a payload may not carry, at any depth (compared without case): a job
/// references records, it does not embed them.
pub const BANNED_KEYS: &[&str] = &[
    "password",
    "secret",
    "token",
    "api_key",
    "private_key",
    "ssn",
    "credit_card",
    "email_body",
    "document_content",
    "message_body",
];

/// The parts of a checked payload the job row keeps beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Carried through every log line, event and outbound call of the job.
    pub correlation_id: String,
    /// One job per (firm, key).
    pub idempotency_key: String,
    /// The payload as stored.
    pub text: String,
}

/// Checks `payload` against the contract for a job of `category` in `firm_id`;
/// every broken rule is reported under `field` (`payload.tenant_id` …).
pub fn check(
    field: &str,
    payload: &Value,
    firm_id: &str,
    category: Category,
) -> Result<Contract, DomainError> {
    let mut v = Validator::new();
    let Some(obj) = payload.as_object() else {
        return Err(DomainError::invalid(
            field,
            "type",
            format!("{field} must be a JSON object"),
        ));
    };
    let text = payload.to_string();
    if text.len() > MAX_PAYLOAD_BYTES {
        v.add(
            field,
            "too_large",
            format!(
                "{field} is {} bytes serialised; at most {MAX_PAYLOAD_BYTES} (reference records, do not embed them)",
                text.len()
            ),
        );
    }
    banned_keys(&mut v, field, payload);
    match obj.get("tenant_id").and_then(Value::as_str) {
        None => v.add(
            format!("{field}.tenant_id"),
            "required",
            format!("{field}.tenant_id is required (the firm's id)"),
        ),
        Some(t) if t != firm_id => v.add(
            format!("{field}.tenant_id"),
            "tenant",
            format!("{field}.tenant_id must be the id of the caller's firm"),
        ),
        Some(_) => {}
    }
    let correlation_id = obj.get("correlation_id").and_then(Value::as_str);
    if !correlation_id.is_some_and(is_uuid) {
        v.add(
            format!("{field}.correlation_id"),
            "format",
            format!("{field}.correlation_id must be a UUID"),
        );
    }
    let key = obj.get("idempotency_key").and_then(Value::as_str);
    match key.map(|k| k.trim().chars().count()) {
        Some(n) if (1..=MAX_KEY_CHARS).contains(&n) => {}
        _ => v.add(
            format!("{field}.idempotency_key"),
            "length",
            format!("{field}.idempotency_key must be a string of 1 to {MAX_KEY_CHARS} characters"),
        ),
    }
    for choice in category.required_references() {
        let present = choice.iter().any(|k| obj.get(*k).is_some_and(is_reference));
        if !present {
            let path = format!("{field}.{}", choice.first().copied().unwrap_or_default());
            v.add(
                path,
                "required",
                format!(
                    "a {} job's payload must reference {}",
                    category.name(),
                    choice.join(" or ")
                ),
            );
        }
    }
    v.finish()?;
    Ok(Contract {
        correlation_id: correlation_id.unwrap_or_default().to_ascii_lowercase(),
        idempotency_key: key.unwrap_or_default().trim().to_owned(),
        text,
    })
}

/// A record reference: a non-empty id, or a non-empty list of them.
fn is_reference(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(items) => !items.is_empty() && items.iter().all(is_reference),
        _ => false,
    }
}

fn banned_keys(v: &mut Validator, path: &str, value: &Value) {
    match value {
        Value::Object(obj) => {
            for (key, inner) in obj {
                let here = format!("{path}.{key}");
                if BANNED_KEYS.iter().any(|b| b.eq_ignore_ascii_case(key)) {
                    v.add(
                        here.clone(),
                        "banned",
                        format!("{here} may not be in a job payload: reference the record that holds it"),
                    );
                }
                banned_keys(v, &here, inner);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                banned_keys(v, &format!("{path}[{i}]"), inner);
            }
        }
        _ => {}
    }
}

/// A payload lint: what the contract allows but a reviewer should see (long
/// strings, base64 blobs, e-mail addresses), each with the record reference to
/// carry instead. Returned beside a created job; never refuses one.
pub fn lint(field: &str, payload: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    lint_value(field, payload, &mut notes);
    notes
}

fn lint_value(path: &str, value: &Value, notes: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if s.len() > 1_024 {
                notes.push(format!(
                    "{path} is a {}-byte string: store it and reference its id",
                    s.len()
                ));
            } else if s.len() >= 64 && looks_like_base64(s) {
                notes.push(format!(
                    "{path} looks like base64 content: upload it as a document and reference document_id"
                ));
            } else if s.contains('@') && s.rsplit('@').next().is_some_and(|d| d.contains('.')) {
                notes.push(format!(
                    "{path} looks like an e-mail address: reference the person (recipient_id) instead"
                ));
            }
        }
        Value::Object(obj) => {
            for (key, inner) in obj {
                lint_value(&format!("{path}.{key}"), inner, notes);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                lint_value(&format!("{path}[{i}]"), inner, notes);
            }
        }
        _ => {}
    }
}

fn looks_like_base64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIRM: &str = "frm_01J00000000000000000000000";
    const CID: &str = "0b5e3a4c-2f1d-4c1e-9a7b-3d2f1e0c9b8a";

    fn rules(err: DomainError) -> Vec<(String, &'static str)> {
        match err {
            DomainError::Validation(errs) => errs.into_iter().map(|e| (e.field, e.rule)).collect(),
            other => vec![(other.to_string(), "other")],
        }
    }

    #[test]
    fn a_good_payload_passes_and_keeps_its_keys() {
        let p = json!({"tenant_id": FIRM, "correlation_id": CID.to_uppercase(), "idempotency_key": " k-1 ", "connection_id": "con_1"});
        let c = check("payload", &p, FIRM, Category::Sync).unwrap();
        assert_eq!(c.correlation_id, CID);
        assert_eq!(c.idempotency_key, "k-1");
    }

    #[test]
    fn every_broken_rule_is_named() {
        let p = json!({
            "tenant_id": "frm_other",
            "correlation_id": "not-a-uuid",
            "nested": {"Password": "x", "list": [{"api_key": "y"}]},
        });
        let got = rules(check("payload", &p, FIRM, Category::Notifications).unwrap_err());
        let want = [
            ("payload.nested.Password", "banned"),
            ("payload.nested.list[0].api_key", "banned"),
            ("payload.tenant_id", "tenant"),
            ("payload.correlation_id", "format"),
            ("payload.idempotency_key", "length"),
            ("payload.recipient_id", "required"),
        ];
        for (field, rule) in want {
            assert!(
                got.iter().any(|(f, r)| f == field && *r == rule),
                "{field} {rule} missing from {got:?}"
            );
        }
    }

    #[test]
    fn size_cap_and_reference_choices() {
        let base = |extra: Value| {
            let mut p = json!({"tenant_id": FIRM, "correlation_id": CID, "idempotency_key": "k"});
            if let (Some(o), Some(e)) = (p.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            p
        };
        let big = base(json!({"notes": "x".repeat(MAX_PAYLOAD_BYTES)}));
        let got = rules(check("payload", &big, FIRM, Category::Export).unwrap_err());
        assert_eq!(got, [("payload".to_owned(), "too_large")]);
        // Either of a choice satisfies it; an empty list does not.
        let ok = base(json!({"recipient_ids": ["usr_1", "usr_2"]}));
        assert!(check("payload", &ok, FIRM, Category::Notifications).is_ok());
        let empty = base(json!({"recipient_ids": []}));
        assert!(check("payload", &empty, FIRM, Category::Notifications).is_err());
        assert!(check("payload", &json!([1]), FIRM, Category::Export).is_err());
    }

    #[test]
    fn the_lint_points_at_references() {
        let p = json!({"a": "x".repeat(2_000), "b": "QUJD".repeat(20), "c": ["someone@example.com"], "d": "con_1"});
        let notes = lint("payload", &p);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes.iter().any(|n| n.starts_with("payload.c[0]")));
    }
}
