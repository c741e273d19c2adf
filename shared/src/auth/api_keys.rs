//! API keys: credentials for machines, scoped to one firm and to named areas of the
//! product. A key is `fmk_<prefix>_<secret>`; the prefix is public (lists, logs), the
//! whole key is stored only as a SHA-256 hash and shown once, at creation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::claims::{AccessClaims, ApiKeyGrant, VerifiedClaims};
use super::roles::{Access, Area, Role};
use super::sessions::hash_token;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::{new_id, random_bytes};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{text, Input, Validator};
use crate::stmt;

/// What every key starts with (recognisable by secret scanners).
pub const KEY_PREFIX: &str = "fmk_";
/// Longest lifetime a key may be given: one year.
pub const MAX_DAYS: i64 = 365;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_MS: i64 = 60_000;

/// One permission of a key: an area and read or write (write includes read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// The area.
    pub area: Area,
    /// The access.
    pub access: Access,
}

const AREAS: &[(&str, Area)] = &[
    ("workspace", Area::Workspace),
    ("crm", Area::Crm),
    ("billing", Area::Billing),
    ("automation", Area::Automation),
    ("reporting", Area::Reporting),
    ("admin", Area::Admin),
    ("settings", Area::Settings),
];

impl Scope {
    /// Every scope a key may be given, in wire form.
    pub fn grantable() -> Vec<String> {
        AREAS
            .iter()
            .flat_map(|(area, a)| {
                let write = (*a != Area::Admin).then(|| format!("{area}:write"));
                std::iter::once(format!("{area}:read")).chain(write)
            })
            .collect()
    }

    /// Parses `area:read` or `area:write`. Keys never administer members or keys,
    /// so `admin:write` is refused.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
        let bad = || {
            DomainError::invalid(
                field,
                "scope",
                format!("{raw:?} is not a scope: use <area>:read or <area>:write with area one of workspace, crm, billing, automation, reporting, admin, settings"),
            )
        };
        let (area, access) = raw.split_once(':').ok_or_else(bad)?;
        let area = AREAS
            .iter()
            .find(|(name, _)| *name == area)
            .map(|(_, a)| *a)
            .ok_or_else(bad)?;
        let access = match access {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(bad()),
        };
        if area == Area::Admin && access == Access::Write {
            return Err(DomainError::invalid(
                field,
                "scope",
                "API keys cannot administer members or keys (admin:write)",
            ));
        }
        Ok(Self { area, access })
    }

    /// The wire form.
    pub fn name(self) -> String {
        let area = AREAS
            .iter()
            .find(|(_, a)| *a == self.area)
            .map_or("?", |(n, _)| n);
        let access = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        format!("{area}:{access}")
    }

    /// Whether this scope allows `access` to `area`.
    pub fn allows(self, area: Area, access: Access) -> bool {
        self.area == area && (self.access == access || self.access == Access::Write)
    }
}

/// A checked request to create a key.
pub struct NewApiKey {
    name: String,
    scopes: Vec<Scope>,
    expires_in_days: Option<i64>,
}

impl NewApiKey {
    /// Reads `{"name", "scopes": [...], "expires_in_days"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "scopes", "expires_in_days"]);
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 100)));
        let mut scopes = Vec::new();
        match body.get("scopes") {
            Some(serde_json::Value::Array(items)) if !items.is_empty() && items.len() <= 20 => {
                for (i, item) in items.iter().enumerate() {
                    let field = format!("scopes[{i}]");
                    match item.as_str() {
                        Some(raw) => {
                            if let Some(scope) = v.take(Scope::parse(&field, raw)) {
                                scopes.push(scope);
                            }
                        }
                        None => v.add(field, "type", "each scope must be a string"),
                    }
                }
            }
            _ => v.add(
                "scopes",
                "required",
                "scopes must be a list of 1 to 20 scopes such as crm:read",
            ),
        }
        let expires_in_days = input.integer(&mut v, "expires_in_days", false);
        if expires_in_days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
            v.add(
                "expires_in_days",
                "range",
                format!("expires_in_days must be from 1 to {MAX_DAYS}"),
            );
        }
        v.finish()?;
        let name =
            name.ok_or_else(|| DomainError::invalid("name", "required", "name is required"))?;
        Ok(Self {
            name,
            scopes,
            expires_in_days,
        })
    }
}

/// A key as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    /// `key_…`
    pub id: String,
    /// Label.
    pub name: String,
    /// Public part of the key.
    pub prefix: String,
    /// Scopes (JSON array text in storage).
    #[serde(deserialize_with = "scopes_from_text")]
    pub scopes: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, if it expires.
    pub expires_at: Option<i64>,
    /// Unix ms (to the minute).
    pub last_used_at: Option<i64>,
    /// Unix ms, if revoked.
    pub revoked_at: Option<i64>,
}

fn scopes_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let raw = String::deserialize(d)?;
    Ok(serde_json::from_str(&raw).unwrap_or_default())
}

/// A created key: its listing and the key itself, shown this once.
pub struct Created {
    /// What lists show.
    pub view: ApiKeyView,
    /// The whole key.
    pub key: String,
    /// The statement that stores it.
    pub statement: Statement,
}

/// Plans a new key in `scope`'s firm, created by `user_id`.
pub fn create(
    scope: &TenantScope,
    user_id: &str,
    input: NewApiKey,
    now: Instant,
) -> DomainResult<Created> {
    let id = new_id("key", now.millis())?;
    let mut public = [0u8; 6];
    random_bytes(&mut public)?;
    let mut secret = [0u8; 32];
    random_bytes(&mut secret)?;
    let prefix = URL_SAFE_NO_PAD.encode(public).replace(['-', '_'], "x");
    let key = format!("{KEY_PREFIX}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    let scopes: Vec<String> = input.scopes.iter().map(|s| s.name()).collect();
    let expires_at = input
        .expires_in_days
        .map(|d| now.plus_millis(d * 86_400_000).millis());
    let statement = stmt!(
        "INSERT INTO auth_api_keys (id, firm_id, name, prefix, secret_hash, scopes, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        id.as_str(),
        scope.firm_id(),
        input.name.as_str(),
        prefix.as_str(),
        hash_token(&key),
        serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".into()),
        user_id,
        now.millis(),
        expires_at
    );
    Ok(Created {
        view: ApiKeyView {
            id,
            name: input.name,
            prefix,
            scopes,
            created_by: user_id.to_owned(),
            created_at: now.millis(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        },
        key,
        statement,
    })
}

#[derive(Deserialize)]
struct Stored {
    id: String,
    firm_id: String,
    secret_hash: String,
    scopes: String,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
}

fn refused() -> DomainError {
    DomainError::Unauthenticated("the API key is not valid".into())
}

/// Whether a bearer credential looks like an API key (rather than a JWT).
pub fn is_api_key(bearer: &str) -> bool {
    bearer.starts_with(KEY_PREFIX)
}

/// Checks a presented key and returns the claims it carries.
pub async fn authenticate(
    db: &impl Sql,
    presented: &str,
    now: Instant,
) -> DomainResult<VerifiedClaims> {
    let rest = presented.strip_prefix(KEY_PREFIX).ok_or_else(refused)?;
    let (prefix, _) = rest.split_once('_').ok_or_else(refused)?;
    if prefix.is_empty() || prefix.len() > 16 || presented.len() > 128 {
        return Err(refused());
    }
    let stored: Option<Stored> = query_one(
        db,
        stmt!(
            "SELECT id, firm_id, secret_hash, scopes, expires_at, revoked_at, last_used_at FROM auth_api_keys WHERE prefix = ?1",
            prefix
        ),
    )
    .await?;
    let stored = stored.ok_or_else(refused)?;
    let matches: bool = hash_token(presented)
        .as_bytes()
        .ct_eq(stored.secret_hash.as_bytes())
        .into();
    let live = stored.revoked_at.is_none() && stored.expires_at.is_none_or(|e| e > now.millis());
    if !matches || !live {
        return Err(refused());
    }
    if stored
        .last_used_at
        .is_none_or(|at| at < now.millis() - TOUCH_EVERY_MS)
    {
        db.execute(stmt!(
            "UPDATE auth_api_keys SET last_used_at = ?1 WHERE id = ?2",
            now.millis(),
            stored.id.as_str()
        ))
        .await?;
    }
    let names: Vec<String> = serde_json::from_str(&stored.scopes).unwrap_or_default();
    let scopes = names
        .iter()
        .filter_map(|n| Scope::parse("scopes", n).ok())
        .collect();
    let claims = AccessClaims {
        sub: stored.id.clone(),
        firm: stored.firm_id,
        role: Role::Readonly,
        client: None,
        flags: Vec::new(),
        sid: stored.id,
        amr: vec!["key".into()],
        mfa_at: None,
        iss: String::new(),
        aud: String::new(),
    };
    Ok(VerifiedClaims::for_api_key(
        claims,
        ApiKeyGrant { scopes },
        stored.expires_at.map_or(i64::MAX, |e| e / 1000),
    ))
}

/// The firm's keys, newest first.
pub async fn list(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<ApiKeyView>> {
    query_as(
        db,
        stmt!(
            "SELECT id, name, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at
               FROM auth_api_keys WHERE firm_id = ?1 ORDER BY created_at DESC LIMIT 200",
            scope.firm_id()
        ),
    )
    .await
}

/// Revokes one of the firm's keys; false when it has no such live key.
pub async fn revoke(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    now: Instant,
) -> DomainResult<bool> {
    let changed = db
        .execute(stmt!(
            "UPDATE auth_api_keys SET revoked_at = ?1 WHERE id = ?2 AND firm_id = ?3 AND revoked_at IS NULL",
            now.millis(),
            id,
            scope.firm_id()
        ))
        .await?;
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_write_includes_read() {
        let s = Scope::parse("s", "crm:write").unwrap();
        assert!(s.allows(Area::Crm, Access::Read) && s.allows(Area::Crm, Access::Write));
        assert!(!s.allows(Area::Billing, Access::Read));
        assert_eq!(s.name(), "crm:write");
        for bad in ["crm", "crm:delete", "payroll:read", "admin:write", ""] {
            assert!(Scope::parse("s", bad).is_err(), "{bad}");
        }
        assert!(Scope::parse("s", "admin:read").is_ok());
    }

    #[test]
    fn new_keys_name_their_bad_fields() {
        let ok = NewApiKey::parse(
            &serde_json::json!({"name": "Zapier", "scopes": ["crm:read"], "expires_in_days": 30}),
        )
        .unwrap();
        assert_eq!(ok.scopes.len(), 1);
        for (body, field) in [
            (serde_json::json!({"name": "x", "scopes": []}), "scopes"),
            (
                serde_json::json!({"name": "x", "scopes": ["nope"]}),
                "scopes[0]",
            ),
            (serde_json::json!({"name": "x", "scopes": [1]}), "scopes[0]"),
            (serde_json::json!({"scopes": ["crm:read"]}), "name"),
            (
                serde_json::json!({"name": "x", "scopes": ["crm:read"], "expires_in_days": 0}),
                "expires_in_days",
            ),
        ] {
            match NewApiKey::parse(&body) {
                Err(DomainError::Validation(errs)) => assert_eq!(errs[0].field, field, "{body}"),
                other => panic!("{body}: {:?}", other.is_ok()),
            }
        }
    }
}
