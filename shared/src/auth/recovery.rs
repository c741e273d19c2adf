//! Account recovery and e-mail verification: single-use, hashed, one-hour tokens
//! sent by mail. A password reset revokes every session of the account.

use serde::Deserialize;

use super::password::NewPassword;
use super::sessions::hash_token;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::secret_token;
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::kernel::validate::{EmailAddress, Input, Validator};
use crate::stmt;

/// How long a mailed token works: one hour.
pub const TOKEN_TTL_MS: i64 = 60 * 60 * 1000;

/// What a mailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choosing a new password.
    PasswordReset,
    /// Proving the address.
    EmailVerification,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "frs_",
            Purpose::EmailVerification => "fev_",
        }
    }
}

/// Plans a token for `purpose`; the token goes only into the mail.
pub fn issue(
    purpose: Purpose,
    user_id: &str,
    email: &str,
    now: Instant,
) -> DomainResult<(String, Statement)> {
    let token = secret_token(purpose.prefix())?;
    let statement = stmt!(
        "INSERT INTO auth_tokens (token_hash, purpose, user_id, email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        hash_token(&token),
        purpose.name(),
        user_id,
        email,
        now.millis(),
        now.plus_millis(TOKEN_TTL_MS).millis()
    );
    Ok((token, statement))
}

/// Whose token it was.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Consumed {
    /// The account.
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
}

/// Whose live token this is, without spending it.
pub async fn peek(
    db: &impl Sql,
    purpose: Purpose,
    token: &str,
    now: Instant,
) -> DomainResult<Option<Consumed>> {
    query_one(
        db,
        stmt!(
            "SELECT user_id, email FROM auth_tokens WHERE token_hash = ?1 AND purpose = ?2 AND used_at IS NULL AND expires_at > ?3",
            hash_token(token.trim()),
            purpose.name(),
            now.millis()
        ),
    )
    .await
}

/// Spends a token: only the first use of a live token succeeds.
pub async fn consume(
    db: &impl Sql,
    purpose: Purpose,
    token: &str,
    now: Instant,
) -> DomainResult<Option<Consumed>> {
    query_one(
        db,
        stmt!(
            "UPDATE auth_tokens SET used_at = ?1
              WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1
          RETURNING user_id, email",
            now.millis(),
            hash_token(token.trim()),
            purpose.name()
        ),
    )
    .await
}

fn invalid_token() -> DomainError {
    DomainError::Gone("the link is invalid, expired or already used; ask for a new one".into())
}

/// Reads `{"email"}` for a reset request.
pub fn parse_forgot(body: &serde_json::Value) -> DomainResult<EmailAddress> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["email"]);
    let email = input
        .string(&mut v, "email", true)
        .and_then(|s| v.take(EmailAddress::parse("email", s)));
    v.finish()?;
    email.ok_or_else(|| DomainError::invalid("email", "required", "email is required"))
}

/// Reads `{"token"}` (and, for a reset, `"password"`).
fn read_token(input: &Input<'_>, v: &mut Validator) -> Option<String> {
    let token = input
        .string(v, "token", true)
        .map(str::trim)
        .map(str::to_owned);
    if token.as_ref().is_some_and(|t| t.len() > 100) {
        v.add("token", "format", "token is not a token from our mail");
    }
    token
}

/// A checked password reset: the token and the new password.
pub struct ResetPassword {
    /// The token from the mail.
    pub token: String,
    password: String,
}

impl ResetPassword {
    /// Reads `{"token", "password"}`; the policy is checked once the account is known.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["token", "password"]);
        let token = read_token(&input, &mut v);
        let password = input.string(&mut v, "password", true).map(str::to_owned);
        v.finish()?;
        match (token, password) {
            (Some(token), Some(password)) => Ok(Self { token, password }),
            _ => Err(invalid_token()),
        }
    }

    /// Checks the new password against the policy for `email` before the token is spent.
    pub fn check_policy(&self, email: Option<&EmailAddress>) -> DomainResult<NewPassword> {
        NewPassword::parse("password", &self.password, email)
    }
}

/// Reads `{"token"}` for a verification.
pub fn parse_verification(body: &serde_json::Value) -> DomainResult<String> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["token"]);
    let token = read_token(&input, &mut v);
    v.finish()?;
    token.ok_or_else(invalid_token)
}

/// The token was not accepted.
pub fn token_refused() -> DomainError {
    invalid_token()
}

#[derive(Deserialize)]
struct Found {
    id: String,
    email: String,
}

/// The account with this address, if any.
pub async fn account_for(
    db: &impl Sql,
    email: &EmailAddress,
) -> DomainResult<Option<(String, String)>> {
    let found: Option<Found> = query_one(
        db,
        stmt!(
            "SELECT id, email FROM auth_users WHERE email = ?1",
            email.as_str()
        ),
    )
    .await?;
    Ok(found.map(|f| (f.id, f.email)))
}

/// Sets a new password, lifts any lockout, and ends every session of the account.
pub fn reset_statements(user_id: &str, password_hash: &str, now: Instant) -> Vec<Statement> {
    password_statements(user_id, password_hash, None, "password_reset", now)
}

/// Sets a new password chosen while signed in: every other session ends.
pub fn change_statements(
    user_id: &str,
    password_hash: &str,
    current_session: &str,
    now: Instant,
) -> Vec<Statement> {
    password_statements(
        user_id,
        password_hash,
        Some(current_session),
        "password_changed",
        now,
    )
}

fn password_statements(
    user_id: &str,
    password_hash: &str,
    keep_session: Option<&str>,
    reason: &str,
    now: Instant,
) -> Vec<Statement> {
    vec![
        stmt!(
            "UPDATE auth_users SET password_hash = ?1, updated_at = ?2, failed_attempts = 0, failure_window_start = NULL,
                    locked_until = NULL, lockouts = 0 WHERE id = ?3",
            password_hash,
            now.millis(),
            user_id
        ),
        stmt!(
            "UPDATE auth_sessions SET revoked_at = ?1, revoked_reason = ?2
              WHERE user_id = ?3 AND revoked_at IS NULL AND (?4 IS NULL OR id != ?4)",
            now.millis(),
            reason,
            user_id,
            keep_session.map(str::to_owned)
        ),
        stmt!(
            "UPDATE auth_tokens SET used_at = ?1 WHERE user_id = ?2 AND purpose = 'password_reset' AND used_at IS NULL",
            now.millis(),
            user_id
        ),
    ]
}

/// Marks the address verified.
pub fn mark_verified(user_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE auth_users SET email_verified_at = COALESCE(email_verified_at, ?1) WHERE id = ?2",
        now.millis(),
        user_id
    )
}

/// A checked password change: the current password and the new one.
pub struct ChangePassword {
    /// As typed.
    pub current_password: String,
    new_password: String,
}

impl ChangePassword {
    /// Reads `{"current_password", "new_password"}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["current_password", "new_password"]);
        let current = input
            .string(&mut v, "current_password", true)
            .map(str::to_owned);
        let new = input
            .string(&mut v, "new_password", true)
            .map(str::to_owned);
        v.finish()?;
        match (current, new) {
            (Some(current_password), Some(new_password)) => Ok(Self {
                current_password,
                new_password,
            }),
            _ => Err(DomainError::invalid(
                "new_password",
                "required",
                "new_password is required",
            )),
        }
    }

    /// The new password checked against the policy for `email`, and not the current one.
    pub fn check_policy(&self, email: Option<&EmailAddress>) -> DomainResult<NewPassword> {
        if self.new_password == self.current_password {
            return Err(DomainError::invalid(
                "new_password",
                "unchanged",
                "new_password must differ from the current one",
            ));
        }
        NewPassword::parse("new_password", &self.new_password, email)
    }
}

#[derive(Deserialize)]
struct Hash {
    password_hash: Option<String>,
}

/// Whether `password` is the account's current password.
pub async fn is_current_password(
    db: &impl Sql,
    user_id: &str,
    password: &str,
) -> DomainResult<bool> {
    let row: Option<Hash> = query_one(
        db,
        stmt!(
            "SELECT password_hash FROM auth_users WHERE id = ?1",
            user_id
        ),
    )
    .await?;
    Ok(row
        .and_then(|r| r.password_hash)
        .is_some_and(|hash| super::password::verify(password, &hash)))
}
