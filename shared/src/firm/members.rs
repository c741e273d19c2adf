//! Memberships: which firms a person belongs to, with which role and flags.

use serde::{Deserialize, Deserializer, Serialize};

use crate::auth::roles::{Flag, PortalRole, Role};
use crate::kernel::error::DomainError;
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{Input, Validator};

use super::model::Tier;
use crate::kernel::error::DomainResult;
use crate::kernel::sql::{query_as, query_one, Sql};
use crate::stmt;

/// A person's active access to a firm, with the firm's public handle: a staff
/// membership, or a portal user's access to one of the firm's clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// The firm.
    pub firm_id: String,
    /// Its display name.
    pub firm_name: String,
    /// Its slug.
    pub firm_slug: String,
    /// The member's role (a portal role for a portal user).
    pub role: Role,
    /// Rights on top of the role.
    pub flags: Vec<Flag>,
    /// For a portal user: their client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// For a portal user: their client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

/// A row of [`SELECT`]: a staff role, or the portal role a portal user holds in
/// their client (mapped to the token's role by [`PortalRole::role`]).
#[derive(Deserialize)]
struct AccessRow {
    firm_id: String,
    firm_name: String,
    firm_slug: String,
    role: Option<Role>,
    portal_role: Option<PortalRole>,
    #[serde(deserialize_with = "flags_from_text")]
    flags: Vec<Flag>,
    client_id: Option<String>,
    client_name: Option<String>,
}

impl AccessRow {
    fn membership(self) -> Option<Membership> {
        let role = match self.portal_role {
            Some(portal) => portal.role(),
            None => self.role?,
        };
        Some(Membership {
            firm_id: self.firm_id,
            firm_name: self.firm_name,
            firm_slug: self.firm_slug,
            role,
            flags: self.flags,
            client_id: self.client_id,
            client_name: self.client_name,
        })
    }
}

/// Stored flags are JSON text; an unknown or malformed entry grants nothing.
pub(crate) fn flags_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Flag>, D::Error> {
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

/// Staff memberships and portal access of `?1`, as one relation. Portal access
/// lasts while the client is active; a person has at most one of either per firm
/// (invitations refuse the second), and should both exist, staff comes first.
const SELECT: &str = "SELECT * FROM (
        SELECT m.firm_id, f.name AS firm_name, f.slug AS firm_slug, m.role, NULL AS portal_role,
               m.flags, NULL AS client_id, NULL AS client_name, 0 AS portal, m.created_at
          FROM firm_memberships m JOIN firm_firms f ON f.id = m.firm_id
         WHERE m.user_id = ?1 AND m.is_active = 1 AND f.status != 'canceled'
        UNION ALL
        SELECT p.firm_id, f.name, f.slug, NULL, p.role,
               p.flags, p.client_id, c.name, 1, p.created_at
          FROM clients_portal_users p
          JOIN firm_firms f ON f.id = p.firm_id
          JOIN clients_clients c ON c.id = p.client_id AND c.firm_id = p.firm_id
         WHERE p.user_id = ?1 AND p.is_active = 1 AND c.status = 'active' AND f.status != 'canceled'
    )";

/// Every active membership or portal access of `user_id`, oldest first.
pub async fn active_for_user(db: &impl Sql, user_id: &str) -> DomainResult<Vec<Membership>> {
    let rows: Vec<AccessRow> = query_as(
        db,
        crate::kernel::sql::Statement::new(
            format!("{SELECT} ORDER BY created_at, firm_id, portal"),
            vec![user_id.into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().filter_map(AccessRow::membership).collect())
}

/// The active membership of `user_id` in the firm named by id or slug.
pub async fn active_in(
    db: &impl Sql,
    user_id: &str,
    firm: &str,
) -> DomainResult<Option<Membership>> {
    let row: Option<AccessRow> = query_one(
        db,
        crate::kernel::sql::Statement::new(
            format!("{SELECT} WHERE firm_id = ?2 OR firm_slug = ?2 ORDER BY portal LIMIT 1"),
            vec![user_id.into(), firm.into()],
        ),
    )
    .await?;
    Ok(row.and_then(AccessRow::membership))
}

/// Notes that the member (or portal user) was active now (for stale-member reports).
pub fn touch(user_id: &str, membership: &Membership, now_ms: i64) -> crate::kernel::sql::Statement {
    if membership.client_id.is_some() {
        stmt!(
            "UPDATE clients_portal_users SET last_active_at = ?1 WHERE user_id = ?2 AND firm_id = ?3",
            now_ms,
            user_id,
            membership.firm_id.as_str()
        )
    } else {
        stmt!(
            "UPDATE firm_memberships SET last_active_at = ?1 WHERE user_id = ?2 AND firm_id = ?3",
            now_ms,
            user_id,
            membership.firm_id.as_str()
        )
    }
}

/// Active members a plan allows (starter as in the original: 5).
pub fn plan_limit(tier: Tier) -> i64 {
    match tier {
        Tier::Starter => 5,
        Tier::Professional => 50,
        Tier::Enterprise => 1000,
    }
}

/// Whether an active member of the scope's firm has this address.
pub async fn is_active_member_email(
    db: &impl Sql,
    scope: &TenantScope,
    email: &str,
) -> DomainResult<bool> {
    let rows = db
        .query(stmt!(
            "SELECT 1 AS found FROM firm_memberships m JOIN auth_users u ON u.id = m.user_id
              WHERE m.firm_id = ?1 AND u.email = ?2 AND m.is_active = 1",
            scope.firm_id(),
            email
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// A member as the firm sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The person.
    pub user_id: String,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Flags.
    #[serde(deserialize_with = "flags_from_text")]
    pub flags: Vec<Flag>,
    /// Whether they may act in the firm.
    #[serde(deserialize_with = "crate::kernel::sql::columns::bool_from_int")]
    pub is_active: bool,
    /// Unix ms of their last sign-in or refresh in this firm.
    pub last_active_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
}

/// Every member of the scope's firm, active first, then by name.
pub async fn list(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<Member>> {
    query_as(
        db,
        stmt!(
            "SELECT m.user_id, u.email, u.name, m.role, m.flags, m.is_active, m.last_active_at, m.created_at
               FROM firm_memberships m JOIN auth_users u ON u.id = m.user_id
              WHERE m.firm_id = ?1 ORDER BY m.is_active DESC, u.name, m.user_id LIMIT 1000",
            scope.firm_id()
        ),
    )
    .await
}

/// A checked change to a member.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemberPatch {
    /// New role.
    pub role: Option<Role>,
    /// New flags (replacing the old ones).
    pub flags: Option<Vec<Flag>>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

impl MemberPatch {
    /// Reads `{"role"?, "flags"?, "is_active"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["role", "flags", "is_active"]);
        let role = input
            .string(&mut v, "role", false)
            .and_then(|s| v.take(Role::parse("role", s)));
        let flags = body
            .get("flags")
            .map(|f| Flag::parse_list(&mut v, "flags", Some(f), &Flag::ALL));
        let is_active = input.boolean(&mut v, "is_active", false);
        v.finish()?;
        let patch = Self {
            role,
            flags,
            is_active,
        };
        if patch == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one of role, flags, is_active",
            ));
        }
        Ok(patch)
    }
}

/// A member was deactivated: their sessions ended, and the modules that gave them
/// work hand it to others (the CRM reassigns their open leads and deals).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberDeactivated {
    /// The member (`usr_…`).
    pub user_id: String,
}

impl crate::catalogue::DomainEvent for MemberDeactivated {
    const TYPE: &'static str = "firm.member_deactivated";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A member of the firm was deactivated; their open work is handed to others.";
    fn example() -> Self {
        Self {
            user_id: "usr_01JD7X3V9T2Q4M8K6P1R5S0W40".into(),
        }
    }
}

/// Applies `patch` to a member of the scope's firm, returning the events it makes,
/// already in its batch: the notice that tells them of a new role, and
/// `firm.member_deactivated` when an active member is deactivated. The firm always
/// keeps one active firm admin: a change that would remove the last one is refused.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    user_id: &str,
    patch: &MemberPatch,
    now: Instant,
) -> DomainResult<(Member, Vec<crate::kernel::events::EventEnvelope>)> {
    let current = list(db, scope).await?;
    let member = current
        .iter()
        .find(|m| m.user_id == user_id)
        .ok_or(DomainError::NotFound("member"))?;
    let will_be_admin = patch.role.unwrap_or(member.role) == Role::FirmAdmin
        && patch.is_active.unwrap_or(member.is_active);
    let other_admins = current
        .iter()
        .filter(|m| m.user_id != user_id && m.is_active && m.role == Role::FirmAdmin)
        .count();
    if !will_be_admin && other_admins == 0 && member.role == Role::FirmAdmin && member.is_active {
        return Err(DomainError::Conflict {
            field: None,
            detail: "the firm must keep at least one active firm admin".into(),
        });
    }
    let flags = patch
        .flags
        .as_ref()
        .map(|f| serde_json::to_string(f).unwrap_or_else(|_| "[]".into()));
    let mut statements = vec![stmt!(
        "UPDATE firm_memberships SET role = COALESCE(?1, role), flags = COALESCE(?2, flags), is_active = COALESCE(?3, is_active)
          WHERE firm_id = ?4 AND user_id = ?5",
        patch.role.map(Role::name),
        flags,
        patch.is_active,
        scope.firm_id(),
        user_id
    )];
    if patch.is_active == Some(false) {
        // A deactivated member's sessions in this firm end now; tokens already
        // issued lapse within their 15 minutes.
        statements.push(stmt!(
            "UPDATE auth_sessions SET revoked_at = ?1, revoked_reason = 'member_deactivated'
              WHERE firm_id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
            now.millis(),
            scope.firm_id(),
            user_id
        ));
    }
    let mut made = Vec::new();
    if patch.is_active == Some(false) && member.is_active {
        use crate::catalogue::DomainEvent as _;
        let event = MemberDeactivated {
            user_id: user_id.to_owned(),
        }
        .envelope(scope, now)?;
        statements.push(crate::kernel::events::record(&event, now)?);
        made.push(event);
    }
    // The member hears of a new role through the notifications module.
    let told = match patch.role.filter(|r| *r != member.role) {
        Some(role) => {
            let firm = crate::firm::repository::get(db, scope).await?;
            let vars = crate::notify::request::vars([
                ("firm_name", firm.name.as_str()),
                ("role", role.name()),
                ("path", "/account"),
            ]);
            let event = crate::notify::request(
                scope,
                "firm.role_changed",
                vec![crate::notify::Recipient::user(user_id)],
                vars,
                None,
                now,
            )?;
            statements.push(crate::kernel::events::record(&event, now)?);
            Some(event)
        }
        None => None,
    };
    db.batch(statements).await?;
    let updated = list(db, scope)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or(DomainError::NotFound("member"))?;
    made.extend(told);
    Ok((updated, made))
}
