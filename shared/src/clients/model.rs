//! A client of the firm, as stored and as the API shows it, and the checked inputs
//! that create and change one.

use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{text, EmailAddress, Input, Validator};

/// An organisation or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A company, partnership, charity …
    Organization,
    /// A private person.
    Individual,
}

impl ClientKind {
    /// Every kind.
    pub const ALL: [ClientKind; 2] = [ClientKind::Organization, ClientKind::Individual];

    /// Parses `organization` or `individual`.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        match raw {
            "organization" => Ok(ClientKind::Organization),
            "individual" => Ok(ClientKind::Individual),
            _ => Err(DomainError::invalid(
                field,
                "one_of",
                format!("{field} must be organization or individual"),
            )),
        }
    }

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Organization => "organization",
            ClientKind::Individual => "individual",
        }
    }
}

/// Whether the firm works with the client now; archiving ends portal access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// Current.
    Active,
    /// Kept for the record; its portal is closed.
    Archived,
}

impl ClientStatus {
    /// Every status.
    pub const ALL: [ClientStatus; 2] = [ClientStatus::Active, ClientStatus::Archived];

    /// Parses `active` or `archived`.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        match raw {
            "active" => Ok(ClientStatus::Active),
            "archived" => Ok(ClientStatus::Archived),
            _ => Err(DomainError::invalid(
                field,
                "one_of",
                format!("{field} must be active or archived"),
            )),
        }
    }

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Archived => "archived",
        }
    }
}

/// A client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// `cli_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// Organisation or person.
    pub kind: ClientKind,
    /// Main address, if known.
    pub email: Option<String>,
    /// Active or archived.
    pub status: ClientStatus,
    /// Optimistic-concurrency version; the etag is derived from it.
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Client {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

fn parse_kind(v: &mut Validator, input: &Input<'_>) -> Option<ClientKind> {
    input
        .string(v, "kind", false)
        .and_then(|raw| v.take(ClientKind::parse("kind", raw)))
}

/// `email`: absent (unchanged), null (none) or an address.
fn parse_email(
    v: &mut Validator,
    body: &serde_json::Value,
    input: &Input<'_>,
) -> Option<Option<String>> {
    match body.get("email") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(_) => input
            .string(v, "email", false)
            .and_then(|s| v.take(EmailAddress::parse("email", s)))
            .map(|e| Some(e.as_str().to_owned())),
    }
}

/// A checked new client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    /// 1–255 characters.
    pub name: String,
    /// Defaults to organisation.
    pub kind: ClientKind,
    /// Optional main address.
    pub email: Option<String>,
}

impl NewClient {
    /// Reads `{"name", "kind"?, "email"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "kind", "email"]);
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let kind = parse_kind(&mut v, &input);
        let email = parse_email(&mut v, body, &input).flatten();
        v.finish()?;
        let name =
            name.ok_or_else(|| DomainError::invalid("name", "required", "name is required"))?;
        Ok(Self {
            name,
            kind: kind.unwrap_or(ClientKind::Organization),
            email,
        })
    }
}

/// A checked change; `None` fields stay as they are.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientPatch {
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<ClientKind>,
    /// New address (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// Archive or restore.
    pub status: Option<ClientStatus>,
}

impl ClientPatch {
    /// Reads `{"name"?, "kind"?, "email"?, "status"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "kind", "email", "status"]);
        let name = input
            .string(&mut v, "name", false)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let kind = parse_kind(&mut v, &input);
        let email = parse_email(&mut v, body, &input);
        let status = input
            .string(&mut v, "status", false)
            .and_then(|raw| v.take(ClientStatus::parse("status", raw)));
        v.finish()?;
        let patch = Self {
            name,
            kind,
            email,
            status,
        };
        if patch == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one of name, kind, email, status",
            ));
        }
        Ok(patch)
    }
}

/// What a list of clients is narrowed to: a status, a kind, and a search
/// text found in the name or the address (case-insensitive).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientFilter {
    /// Only this status.
    pub status: Option<ClientStatus>,
    /// Only this kind.
    pub kind: Option<ClientKind>,
    /// Text the name or the address contains (1–100 characters).
    pub q: Option<String>,
}

impl ClientFilter {
    /// Reads `status`, `kind` and `q` from a query through `get`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let status = get("status").and_then(|raw| v.take(ClientStatus::parse("status", raw)));
        let kind = get("kind").and_then(|raw| v.take(ClientKind::parse("kind", raw)));
        let q = get("q").and_then(|q| v.take(text("q", q, 1, 100)));
        v.finish()?;
        Ok(Self { status, kind, q })
    }

    /// The search text, lower-cased, as the list looks for it inside lower-cased
    /// names and addresses (`instr`, not `LIKE`: nothing in it is a wildcard, and D1
    /// refuses LIKE patterns over 50 bytes).
    pub fn needle(&self) -> Option<String> {
        self.q.as_ref().map(|q| q.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_filter_reads_its_fields_and_escapes_the_search() {
        let query = [
            ("status", "archived"),
            ("kind", "individual"),
            ("q", " 50%_Off "),
        ];
        let get = |name: &str| query.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let filter = ClientFilter::parse(get).unwrap();
        assert_eq!(filter.status, Some(ClientStatus::Archived));
        assert_eq!(filter.kind, Some(ClientKind::Individual));
        assert_eq!(filter.needle().as_deref(), Some("50%_off"));
        let bad = [("status", "gone"), ("kind", "robot"), ("q", "  ")];
        let get = |name: &str| bad.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let text = format!("{:?}", ClientFilter::parse(get).unwrap_err());
        assert!(
            text.contains("status") && text.contains("kind") && text.contains("\"q\""),
            "{text}"
        );
        let long = "x".repeat(101);
        let get = |name: &str| (name == "q").then_some(long.as_str());
        assert!(ClientFilter::parse(get).is_err());
    }

    #[test]
    fn a_new_client_needs_a_name_and_known_fields() {
        let ok =
            NewClient::parse(&json!({"name": " Acme Ltd ", "email": "Books@Acme.test"})).unwrap();
        assert_eq!(ok.name, "Acme Ltd");
        assert_eq!(ok.kind, ClientKind::Organization);
        assert_eq!(ok.email.as_deref(), Some("books@acme.test"));
        let err =
            NewClient::parse(&json!({"kind": "robot", "email": "nope", "extra": 1})).unwrap_err();
        let text = format!("{err:?}");
        for field in ["name", "kind", "email", "extra"] {
            assert!(text.contains(field), "{field} in {text}");
        }
    }

    #[test]
    fn a_patch_names_something_and_may_clear_the_email() {
        assert!(ClientPatch::parse(&json!({})).is_err());
        let clear = ClientPatch::parse(&json!({"email": null})).unwrap();
        assert_eq!(clear.email, Some(None));
        let archive = ClientPatch::parse(&json!({"status": "archived"})).unwrap();
        for kind in [ClientKind::Organization, ClientKind::Individual] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(ClientKind::parse("kind", kind.name()).unwrap(), kind);
        }
        for status in [ClientStatus::Active, ClientStatus::Archived] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.name());
        }
        assert_eq!(archive.status, Some(ClientStatus::Archived));
        assert!(ClientPatch::parse(&json!({"status": "deleted"})).is_err());
    }
}
