//! Invitations: a firm admin invites someone by e-mail with a role; the mailed
//! link (valid 7 days, single use) lets them join, creating their account if they
//! have none. Active members plus pending invitations never exceed the plan.

use serde::{Deserialize, Serialize};

use super::members::{self, plan_limit};
use super::model::Tier;
use crate::auth::password::NewPassword;
use crate::auth::roles::{Flag, Role};
use crate::auth::sessions::hash_token;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::{new_id, secret_token};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{text, EmailAddress, Input, Validator};
use crate::stmt;

/// How long an invitation link works: 7 days.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// A checked invitation request.
pub struct NewInvitation {
    email: EmailAddress,
    role: Role,
    flags: Vec<Flag>,
}

impl NewInvitation {
    /// Reads `{"email", "role", "flags"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["email", "role", "flags"]);
        let email = input
            .string(&mut v, "email", true)
            .and_then(|s| v.take(EmailAddress::parse("email", s)));
        let role = input
            .string(&mut v, "role", true)
            .and_then(|s| v.take(Role::parse("role", s)));
        let flags = Flag::parse_list(&mut v, "flags", body.get("flags"), &Flag::ALL);
        v.finish()?;
        match (email, role) {
            (Some(email), Some(role)) => Ok(Self { email, role, flags }),
            _ => Err(DomainError::invalid(
                "body",
                "invalid",
                "the request is incomplete",
            )),
        }
    }

    /// The invitee's address.
    pub fn email(&self) -> &EmailAddress {
        &self.email
    }
}

/// An invitation as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// `inv_…`
    pub id: String,
    /// Invitee.
    pub email: String,
    /// Role on joining.
    pub role: Role,
    /// Who invited.
    pub invited_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
}

/// A planned invitation: its listing, the token for the mail, the statement.
pub struct Planned {
    /// What lists show.
    pub invitation: Invitation,
    /// The token, for the mail only.
    pub token: String,
    /// Stores it.
    pub statement: Statement,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// Active members plus pending invitations of the scope's firm.
async fn seats_taken(db: &impl Sql, scope: &TenantScope, now: Instant) -> DomainResult<i64> {
    let count: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT (SELECT COUNT(*) FROM firm_memberships WHERE firm_id = ?1 AND is_active = 1)
                  + (SELECT COUNT(*) FROM firm_invitations WHERE firm_id = ?1 AND accepted_at IS NULL
                        AND revoked_at IS NULL AND expires_at > ?2) AS n",
            scope.firm_id(),
            now.millis()
        ),
    )
    .await?;
    Ok(count.map_or(0, |c| c.n))
}

fn over_plan(tier: Tier) -> DomainError {
    DomainError::Conflict {
        field: None,
        detail: format!(
            "the {} plan allows {} active members (pending invitations count); upgrade or deactivate someone first",
            serde_json::to_value(tier).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            plan_limit(tier)
        ),
    }
}

/// Plans an invitation after checking the plan limit and that the address is not a member yet.
pub async fn plan(
    db: &impl Sql,
    scope: &TenantScope,
    tier: Tier,
    invited_by: &str,
    input: NewInvitation,
    now: Instant,
) -> DomainResult<Planned> {
    if members::is_active_member_email(db, scope, input.email.as_str()).await? {
        return Err(DomainError::conflict(
            "email",
            "this address already belongs to an active member",
        ));
    }
    if seats_taken(db, scope, now).await? >= plan_limit(tier) {
        return Err(over_plan(tier));
    }
    let id = new_id("inv", now.millis())?;
    let token = secret_token("fin_")?;
    let expires_at = now.plus_millis(INVITATION_TTL_MS).millis();
    let statement = stmt!(
        "INSERT INTO firm_invitations (id, firm_id, email, role, flags, token_hash, invited_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        id.as_str(),
        scope.firm_id(),
        input.email.as_str(),
        input.role.name(),
        serde_json::to_string(&input.flags).unwrap_or_else(|_| "[]".into()),
        hash_token(&token),
        invited_by,
        now.millis(),
        expires_at
    );
    Ok(Planned {
        invitation: Invitation {
            id,
            email: input.email.as_str().to_owned(),
            role: input.role,
            invited_by: invited_by.to_owned(),
            created_at: now.millis(),
            expires_at,
        },
        token,
        statement,
    })
}

/// The firm's pending invitations, newest first.
pub async fn pending(
    db: &impl Sql,
    scope: &TenantScope,
    now: Instant,
) -> DomainResult<Vec<Invitation>> {
    query_as(
        db,
        stmt!(
            "SELECT id, email, role, invited_by, created_at, expires_at FROM firm_invitations
              WHERE firm_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?2
              ORDER BY created_at DESC LIMIT 200",
            scope.firm_id(),
            now.millis()
        ),
    )
    .await
}

/// Withdraws a pending invitation; false when the firm has none with that id.
pub async fn revoke(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    now: Instant,
) -> DomainResult<bool> {
    let changed = db
        .execute(stmt!(
            "UPDATE firm_invitations SET revoked_at = ?1 WHERE id = ?2 AND firm_id = ?3 AND accepted_at IS NULL AND revoked_at IS NULL",
            now.millis(),
            id,
            scope.firm_id()
        ))
        .await?;
    Ok(changed > 0)
}

/// A pending invitation found by its token.
#[derive(Debug, Clone, Deserialize)]
pub struct Found {
    /// `inv_…`
    pub id: String,
    /// The firm.
    pub firm_id: String,
    /// Invitee address.
    pub email: String,
    /// Role on joining.
    pub role: Role,
    /// Flags on joining (JSON text).
    pub flags: String,
    /// The firm's plan.
    pub tier: Tier,
}

/// The live invitation a token names.
pub async fn find(db: &impl Sql, token: &str, now: Instant) -> DomainResult<Option<Found>> {
    query_one(
        db,
        stmt!(
            "SELECT i.id, i.firm_id, i.email, i.role, i.flags, f.tier FROM firm_invitations i JOIN firm_firms f ON f.id = i.firm_id
              WHERE i.token_hash = ?1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?2",
            hash_token(token.trim()),
            now.millis()
        ),
    )
    .await
}

/// A checked acceptance: the token, and for people without an account, a name and password.
pub struct Acceptance {
    /// The mailed token.
    pub token: String,
    /// Display name for a new account.
    pub name: Option<String>,
    /// Password for a new account.
    pub password: Option<String>,
}

impl Acceptance {
    /// Reads `{"token", "name"?, "password"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["token", "name", "password"]);
        let token = input.string(&mut v, "token", true).map(str::to_owned);
        let name = input
            .string(&mut v, "name", false)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let password = input.string(&mut v, "password", false).map(str::to_owned);
        v.finish()?;
        let token =
            token.ok_or_else(|| DomainError::invalid("token", "required", "token is required"))?;
        Ok(Self {
            token,
            name,
            password,
        })
    }

    /// For a new account: the name and a password that meets the policy.
    pub fn new_account(&self, email: &EmailAddress) -> DomainResult<(String, NewPassword)> {
        let mut v = Validator::new();
        if self.name.is_none() {
            v.add(
                "name",
                "required",
                "name is required to create your account",
            );
        }
        let password = match &self.password {
            Some(p) => v.take(NewPassword::parse("password", p, Some(email))),
            None => {
                v.add(
                    "password",
                    "required",
                    "password is required to create your account",
                );
                None
            }
        };
        v.finish()?;
        match (self.name.clone(), password) {
            (Some(name), Some(password)) => Ok((name, password)),
            _ => Err(DomainError::invalid(
                "password",
                "required",
                "password is required",
            )),
        }
    }
}

/// Statements that turn the invitation into a membership of `user_id`.
pub fn accept(found: &Found, user_id: &str, now: Instant) -> Vec<Statement> {
    vec![
        stmt!(
            "UPDATE firm_invitations SET accepted_at = ?1 WHERE id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
            now.millis(),
            found.id.as_str()
        ),
        stmt!(
            "INSERT INTO firm_memberships (firm_id, user_id, role, flags, is_active, invited_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
             ON CONFLICT (firm_id, user_id) DO UPDATE SET role = excluded.role, flags = excluded.flags, is_active = 1",
            found.firm_id.as_str(),
            user_id,
            found.role.name(),
            found.flags.as_str(),
            now.millis()
        ),
    ]
}

/// The invitation link is no good.
pub fn refused() -> DomainError {
    DomainError::Gone("the invitation is invalid, expired, withdrawn or already used".into())
}

/// Whether the firm still has a seat for one more active member (checked at acceptance).
pub async fn seat_free(db: &impl Sql, found: &Found) -> DomainResult<bool> {
    let count: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM firm_memberships WHERE firm_id = ?1 AND is_active = 1",
            found.firm_id.as_str()
        ),
    )
    .await?;
    Ok(count.map_or(0, |c| c.n) < plan_limit(found.tier))
}

/// The acceptance would exceed the plan.
pub fn no_seat(tier: Tier) -> DomainError {
    over_plan(tier)
}
