//! Portal users: people who see one client's records through the firm's client
//! portal. They are invited by e-mail (by staff who manage clients, or by the
//! client's own portal admin), accept through the mailed link, and sign in like
//! anyone else; their tokens carry a portal role and their client, so every
//! repository keeps them inside that client. They are not members: they never
//! count against the plan and never reach the firm's own areas.

use serde::{Deserialize, Serialize};

use super::model::ClientStatus;
use super::repository;
use crate::auth::roles::{Flag, PortalRole};
use crate::auth::sessions::hash_token;
use crate::firm::invitations::INVITATION_TTL_MS;
use crate::firm::members::{self, flags_from_text};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::{new_id, secret_token};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{EmailAddress, Input, Validator};
use crate::stmt;

/// A client's portal user, as staff and the client's portal admin see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalUser {
    /// The person.
    pub user_id: String,
    /// Their client.
    pub client_id: String,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their role in the portal.
    pub role: PortalRole,
    /// What the portal lets them do.
    #[serde(deserialize_with = "flags_from_text")]
    pub flags: Vec<Flag>,
    /// Whether they may sign in to the portal.
    #[serde(deserialize_with = "crate::kernel::sql::columns::bool_from_int")]
    pub is_active: bool,
    /// Unix ms of their last sign-in or refresh.
    pub last_active_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
}

/// The portal flags of a request: every one when absent, the named ones otherwise.
fn parse_portal_flags(v: &mut Validator, body: &serde_json::Value) -> Option<Vec<Flag>> {
    body.get("flags")
        .map(|f| Flag::parse_list(v, "flags", Some(f), &Flag::PORTAL))
}

fn parse_role(v: &mut Validator, input: &Input<'_>) -> Option<PortalRole> {
    input
        .string(v, "role", false)
        .and_then(|s| v.take(PortalRole::parse("role", s)))
}

/// A checked portal invitation: `{"email", "role"?, "flags"?}`; the role defaults
/// to `member` and the flags to all of them.
pub struct NewPortalInvitation {
    email: EmailAddress,
    role: PortalRole,
    flags: Vec<Flag>,
}

impl NewPortalInvitation {
    /// Reads the request body.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["email", "role", "flags"]);
        let email = input
            .string(&mut v, "email", true)
            .and_then(|s| v.take(EmailAddress::parse("email", s)));
        let role = parse_role(&mut v, &input);
        let flags = parse_portal_flags(&mut v, body);
        v.finish()?;
        let email =
            email.ok_or_else(|| DomainError::invalid("email", "required", "email is required"))?;
        Ok(Self {
            email,
            role: role.unwrap_or(PortalRole::Member),
            flags: flags.unwrap_or_else(|| Flag::PORTAL.to_vec()),
        })
    }

    /// The invitee's address.
    pub fn email(&self) -> &EmailAddress {
        &self.email
    }
}

/// A pending portal invitation as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalInvitation {
    /// `pin_…`
    pub id: String,
    /// The client.
    pub client_id: String,
    /// Invitee.
    pub email: String,
    /// Role on joining.
    pub role: PortalRole,
    /// Flags on joining.
    #[serde(deserialize_with = "flags_from_text")]
    pub flags: Vec<Flag>,
    /// Who invited.
    pub invited_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
}

/// A planned invitation: its listing, the client's name and the token for the
/// mail, and the statement that stores it.
pub struct Planned {
    /// What lists show.
    pub invitation: PortalInvitation,
    /// For the mail.
    pub client_name: String,
    /// The token, for the mail only.
    pub token: String,
    /// Stores it.
    pub statement: Statement,
}

/// Whether someone with `email` already has portal access in the scope's firm.
async fn has_portal_access(db: &impl Sql, scope: &TenantScope, email: &str) -> DomainResult<bool> {
    let rows = db
        .query(stmt!(
            "SELECT 1 AS found FROM clients_portal_users p JOIN auth_users u ON u.id = p.user_id
              WHERE p.firm_id = ?1 AND u.email = ?2 AND p.is_active = 1",
            scope.firm_id(),
            email
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// Plans an invitation to `client_id`'s portal. The client must be active and
/// within the caller's scope; the address must not be staff of the firm nor
/// already hold portal access in it (one access per person and firm).
pub async fn plan_invitation(
    db: &impl Sql,
    scope: &TenantScope,
    client_id: &str,
    invited_by: &str,
    input: NewPortalInvitation,
    now: Instant,
) -> DomainResult<Planned> {
    let client = repository::get(db, scope, client_id).await?;
    if client.status != ClientStatus::Active {
        return Err(DomainError::conflict(
            "client_id",
            "the client is archived; restore it before inviting anyone to its portal",
        ));
    }
    let email = input.email.as_str();
    if members::is_active_member_email(db, scope, email).await? {
        return Err(DomainError::conflict(
            "email",
            "this address belongs to a member of the firm's staff",
        ));
    }
    if has_portal_access(db, scope, email).await? {
        return Err(DomainError::conflict(
            "email",
            "this address already has portal access in this firm",
        ));
    }
    let id = new_id("pin", now.millis())?;
    let token = secret_token("fpi_")?;
    let expires_at = now.plus_millis(INVITATION_TTL_MS).millis();
    let flags = serde_json::to_string(&input.flags).unwrap_or_else(|_| "[]".into());
    let statement = stmt!(
        "INSERT INTO clients_portal_invitations (id, firm_id, client_id, email, role, flags, token_hash, invited_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        id.as_str(),
        scope.firm_id(),
        client.id.as_str(),
        email,
        input.role.name(),
        flags,
        hash_token(&token),
        invited_by,
        now.millis(),
        expires_at
    );
    Ok(Planned {
        invitation: PortalInvitation {
            id,
            client_id: client.id,
            email: email.to_owned(),
            role: input.role,
            flags: input.flags,
            invited_by: invited_by.to_owned(),
            created_at: now.millis(),
            expires_at,
        },
        client_name: client.name,
        token,
        statement,
    })
}

/// Pending invitations to `client_id`'s portal, newest first.
pub async fn pending(
    db: &impl Sql,
    scope: &TenantScope,
    client_id: &str,
    now: Instant,
) -> DomainResult<Vec<PortalInvitation>> {
    let client = repository::get(db, scope, client_id).await?;
    query_as(
        db,
        stmt!(
            "SELECT id, client_id, email, role, flags, invited_by, created_at, expires_at
               FROM clients_portal_invitations
              WHERE firm_id = ?1 AND client_id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?3
              ORDER BY created_at DESC LIMIT 200",
            scope.firm_id(),
            client.id.as_str(),
            now.millis()
        ),
    )
    .await
}

/// Withdraws a pending invitation to `client_id`'s portal; false when there is none.
pub async fn revoke_invitation(
    db: &impl Sql,
    scope: &TenantScope,
    client_id: &str,
    id: &str,
    now: Instant,
) -> DomainResult<bool> {
    let client = repository::get(db, scope, client_id).await?;
    let changed = db
        .execute(stmt!(
            "UPDATE clients_portal_invitations SET revoked_at = ?1
              WHERE id = ?2 AND firm_id = ?3 AND client_id = ?4 AND accepted_at IS NULL AND revoked_at IS NULL",
            now.millis(),
            id,
            scope.firm_id(),
            client.id.as_str()
        ))
        .await?;
    Ok(changed > 0)
}

/// A live portal invitation found by its token.
#[derive(Debug, Clone, Deserialize)]
pub struct Found {
    /// `pin_…`
    pub id: String,
    /// The firm.
    pub firm_id: String,
    /// The client.
    pub client_id: String,
    /// Invitee address.
    pub email: String,
    /// Role on joining.
    pub role: PortalRole,
    /// Flags on joining (JSON text).
    pub flags: String,
    /// Who invited.
    pub invited_by: String,
}

/// The live invitation a token names (its client still active).
pub async fn find(db: &impl Sql, token: &str, now: Instant) -> DomainResult<Option<Found>> {
    query_one(
        db,
        stmt!(
            "SELECT i.id, i.firm_id, i.client_id, i.email, i.role, i.flags, i.invited_by
               FROM clients_portal_invitations i
               JOIN clients_clients c ON c.id = i.client_id AND c.firm_id = i.firm_id
              WHERE i.token_hash = ?1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
                AND i.expires_at > ?2 AND c.status = 'active'",
            hash_token(token.trim()),
            now.millis()
        ),
    )
    .await
}

/// Refuses an acceptance by someone who has meanwhile joined the firm's staff or
/// gained portal access to another of its clients (one access per person and firm).
pub async fn check_acceptable(db: &impl Sql, found: &Found, user_id: &str) -> DomainResult<()> {
    #[derive(Deserialize)]
    struct Row {
        staff: i64,
        portal: i64,
    }
    let row: Option<Row> = query_one(
        db,
        stmt!(
            "SELECT (SELECT COUNT(*) FROM firm_memberships WHERE firm_id = ?1 AND user_id = ?2 AND is_active = 1) AS staff,
                    (SELECT COUNT(*) FROM clients_portal_users WHERE firm_id = ?1 AND user_id = ?2 AND is_active = 1
                        AND client_id != ?3) AS portal",
            found.firm_id.as_str(),
            user_id,
            found.client_id.as_str()
        ),
    )
    .await?;
    match row {
        Some(r) if r.staff > 0 => Err(DomainError::conflict(
            "token",
            "you are a member of this firm's staff; staff do not need portal access",
        )),
        Some(r) if r.portal > 0 => Err(DomainError::conflict(
            "token",
            "you already have portal access to another of this firm's clients",
        )),
        _ => Ok(()),
    }
}

/// Statements that turn the invitation into portal access for `user_id`.
pub fn accept(found: &Found, user_id: &str, now: Instant) -> Vec<Statement> {
    vec![
        stmt!(
            "UPDATE clients_portal_invitations SET accepted_at = ?1
              WHERE id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
            now.millis(),
            found.id.as_str()
        ),
        stmt!(
            "INSERT INTO clients_portal_users (firm_id, user_id, client_id, role, flags, is_active, invited_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
             ON CONFLICT (firm_id, user_id) DO UPDATE SET client_id = excluded.client_id, role = excluded.role,
                    flags = excluded.flags, is_active = 1",
            found.firm_id.as_str(),
            user_id,
            found.client_id.as_str(),
            found.role.name(),
            found.flags.as_str(),
            found.invited_by.as_str(),
            now.millis()
        ),
    ]
}

/// Explains a failed store of a planned invitation: the address already has one
/// pending in this firm (the unique index on pending invitations), or `e` itself.
pub fn explain_conflict(e: DomainError) -> DomainError {
    if crate::kernel::sql::violates_unique(&e, "clients_portal_invitations.firm_id") {
        DomainError::conflict(
            "email",
            "this address already has a pending portal invitation",
        )
    } else {
        e
    }
}

/// The link is no good (the same answer as a staff invitation's).
pub use crate::firm::invitations::refused;

const USER_COLUMNS: &str = "p.user_id, p.client_id, u.email, u.name, p.role, p.flags, p.is_active, p.last_active_at, p.created_at
               FROM clients_portal_users p JOIN auth_users u ON u.id = p.user_id";

/// The portal users of `client_id`, active first, then by name.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    client_id: &str,
) -> DomainResult<Vec<PortalUser>> {
    let client = repository::get(db, scope, client_id).await?;
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {USER_COLUMNS} WHERE p.firm_id = ?1 AND p.client_id = ?2
                  ORDER BY p.is_active DESC, u.name, p.user_id LIMIT 1000"
            ),
            vec![scope.firm_id().into(), client.id.as_str().into()],
        ),
    )
    .await
}

/// One portal user of `client_id`, within the scope (a portal user's scope reaches
/// only their own client).
async fn one(
    db: &impl Sql,
    scope: &TenantScope,
    client_id: &str,
    user_id: &str,
) -> DomainResult<PortalUser> {
    query_one(
        db,
        Statement::new(
            format!(
                "SELECT {USER_COLUMNS}
                  WHERE p.firm_id = ?1 AND p.client_id = ?2 AND p.user_id = ?3 AND (?4 IS NULL OR p.client_id = ?4)"
            ),
            vec![
                scope.firm_id().into(),
                client_id.into(),
                user_id.into(),
                scope.client_id().into(),
            ],
        ),
    )
    .await?
    .ok_or(DomainError::NotFound("portal user"))
}

/// A checked change to a portal user: `{"role"?, "flags"?, "is_active"?}`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PortalUserPatch {
    /// New role.
    pub role: Option<PortalRole>,
    /// New flags (replacing the old ones).
    pub flags: Option<Vec<Flag>>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

impl PortalUserPatch {
    /// Reads the request body.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["role", "flags", "is_active"]);
        let role = parse_role(&mut v, &input);
        let flags = parse_portal_flags(&mut v, body);
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

/// Applies `patch` to a portal user of `client_id`. Deactivating ends their
/// sessions in the firm at once (access tokens already issued lapse within 15 min).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    client_id: &str,
    user_id: &str,
    patch: &PortalUserPatch,
    now: Instant,
) -> DomainResult<PortalUser> {
    let current = one(db, scope, client_id, user_id).await?;
    let flags = patch
        .flags
        .as_ref()
        .map(|f| serde_json::to_string(f).unwrap_or_else(|_| "[]".into()));
    let mut statements = vec![stmt!(
        "UPDATE clients_portal_users SET role = COALESCE(?1, role), flags = COALESCE(?2, flags), is_active = COALESCE(?3, is_active)
          WHERE firm_id = ?4 AND client_id = ?5 AND user_id = ?6",
        patch.role.map(PortalRole::name),
        flags,
        patch.is_active,
        scope.firm_id(),
        current.client_id.as_str(),
        user_id
    )];
    if patch.is_active == Some(false) {
        statements.push(stmt!(
            "UPDATE auth_sessions SET revoked_at = ?1, revoked_reason = 'portal_access_ended'
              WHERE firm_id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
            now.millis(),
            scope.firm_id(),
            user_id
        ));
    }
    db.batch(statements).await?;
    one(db, scope, client_id, user_id).await
}

/// Ends every portal session of a client that has just been archived.
pub(super) fn end_sessions_of_client(
    scope: &TenantScope,
    client_id: &str,
    now: Instant,
) -> Statement {
    stmt!(
        "UPDATE auth_sessions SET revoked_at = ?1, revoked_reason = 'client_archived'
          WHERE firm_id = ?2 AND revoked_at IS NULL
            AND user_id IN (SELECT user_id FROM clients_portal_users WHERE firm_id = ?2 AND client_id = ?3)",
        now.millis(),
        scope.firm_id(),
        client_id
    )
}
