//! Memberships: which firms a person belongs to, with which role and flags.

use serde::{Deserialize, Deserializer, Serialize};

use crate::auth::roles::{Flag, Role};
use crate::kernel::error::DomainResult;
use crate::kernel::sql::{query_as, query_one, Sql};
use crate::stmt;

/// A person's active membership of a firm, with the firm's public handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The firm.
    pub firm_id: String,
    /// Its display name.
    pub firm_name: String,
    /// Its slug.
    pub firm_slug: String,
    /// The member's role.
    pub role: Role,
    /// Rights on top of the role (stored as a JSON array).
    #[serde(deserialize_with = "flags_from_text")]
    pub flags: Vec<Flag>,
}

/// Stored flags are JSON text; an unknown or malformed entry grants nothing.
fn flags_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Flag>, D::Error> {
    let raw = serde_json::Value::deserialize(d)?;
    let values: Vec<serde_json::Value> = match raw {
        serde_json::Value::String(text) => serde_json::from_str(&text).unwrap_or_default(),
        serde_json::Value::Array(items) => items,
        _ => Vec::new(),
    };
    Ok(values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

const SELECT: &str = "SELECT m.firm_id, f.name AS firm_name, f.slug AS firm_slug, m.role, m.flags
                        FROM firm_memberships m JOIN firm_firms f ON f.id = m.firm_id
                       WHERE m.user_id = ?1 AND m.is_active = 1 AND f.status != 'canceled'";

/// Every active membership of `user_id`, oldest first.
pub async fn active_for_user(db: &impl Sql, user_id: &str) -> DomainResult<Vec<Membership>> {
    query_as(
        db,
        crate::kernel::sql::Statement::new(
            format!("{SELECT} ORDER BY m.created_at, m.firm_id"),
            vec![user_id.into()],
        ),
    )
    .await
}

/// The active membership of `user_id` in the firm named by id or slug.
pub async fn active_in(
    db: &impl Sql,
    user_id: &str,
    firm: &str,
) -> DomainResult<Option<Membership>> {
    query_one(
        db,
        crate::kernel::sql::Statement::new(
            format!("{SELECT} AND (f.id = ?2 OR f.slug = ?2)"),
            vec![user_id.into(), firm.into()],
        ),
    )
    .await
}

/// Notes that the member was active now (for stale-member reports).
pub fn touch(user_id: &str, firm_id: &str, now_ms: i64) -> crate::kernel::sql::Statement {
    stmt!(
        "UPDATE firm_memberships SET last_active_at = ?1 WHERE user_id = ?2 AND firm_id = ?3",
        now_ms,
        user_id,
        firm_id
    )
}
