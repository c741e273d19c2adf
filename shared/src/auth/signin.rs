//! Password sign-in: credentials, the account they name, and the per-account
//! lockout (5 failures within 15 minutes lock the account for 15 minutes, doubling
//! with each consecutive lock). Counting happens in one atomic UPDATE in D1, so
//! concurrent failures are all counted and lock exactly once.

use serde::Deserialize;

use super::password;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::kernel::validate::{EmailAddress, Input, Validator};
use crate::stmt;

/// Failures within [`FAILURE_WINDOW_MS`] that lock the account.
pub const MAX_FAILURES: i64 = 5;
/// The window failures are counted in: 15 minutes.
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// The first lock: 15 minutes; each consecutive lock doubles it.
pub const LOCK_MS: i64 = 15 * 60 * 1000;
/// Doublings stop here (15 min × 2^6 = 16 h).
pub const MAX_DOUBLINGS: i64 = 6;

/// The one answer to every failed sign-in, whatever the cause, so that it reveals
/// neither whether the address has an account nor whether it is locked.
pub fn refused() -> DomainError {
    DomainError::Unauthenticated(
        "the e-mail address or password is wrong, or the account is locked for a while".into(),
    )
}

/// A hash of a random password with the production parameters, verified against
/// when the address is unknown so that the answer takes as long as for a real one.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Zmlyb2FtZW50LWR1bW15$2cbFNL8Q7HyBPHrFYvBuoZRKh0e0W/9Ul7e0fLUOWiE";

/// Checked sign-in input.
pub struct Credentials {
    /// The address.
    pub email: EmailAddress,
    /// The password as typed.
    pub password: String,
    /// The firm to sign into (id or slug); the first membership when absent.
    pub firm: Option<String>,
}

impl Credentials {
    /// Reads `{"email", "password", "firm"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["email", "password", "firm"]);
        let email = input
            .string(&mut v, "email", true)
            .and_then(|s| v.take(EmailAddress::parse("email", s)));
        let password = input.string(&mut v, "password", true).map(str::to_owned);
        if password
            .as_ref()
            .is_some_and(|p| p.is_empty() || p.chars().count() > password::MAX_LENGTH)
        {
            v.add(
                "password",
                "length",
                format!("password must be 1 to {} characters", password::MAX_LENGTH),
            );
        }
        let firm = input
            .string(&mut v, "firm", false)
            .map(|s| s.trim().to_owned());
        v.finish()?;
        match (email, password) {
            (Some(email), Some(password)) => Ok(Self {
                email,
                password,
                firm,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "invalid",
                "the request is incomplete",
            )),
        }
    }
}

/// The account an address names, with its lock state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// `usr_…`
    pub id: String,
    /// Address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// PHC hash; `None` for accounts that sign in only through SSO.
    pub password_hash: Option<String>,
    /// Locked until this Unix ms, if locked.
    pub locked_until: Option<i64>,
}

/// Why a sign-in failed (told to the audit log, never to the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No account has this address.
    UnknownAccount,
    /// Wrong password; `locked` when this failure locked the account.
    WrongPassword {
        /// The account.
        user_id: String,
        /// Whether the account is locked now.
        locked: bool,
    },
    /// The account was already locked (the password was not considered).
    Locked {
        /// The account.
        user_id: String,
    },
}

/// Looks up the account and checks the password, counting failures. Takes about the
/// same time whether or not the account exists or is locked.
pub async fn authenticate(
    db: &impl Sql,
    creds: &Credentials,
    now: Instant,
) -> DomainResult<Result<Account, Failure>> {
    let account: Option<Account> = query_one(
        db,
        stmt!(
            "SELECT id, email, name, password_hash, locked_until FROM auth_users WHERE email = ?1",
            creds.email.as_str()
        ),
    )
    .await?;
    let Some(account) = account else {
        password::verify(&creds.password, DUMMY_HASH);
        return Ok(Err(Failure::UnknownAccount));
    };
    let matches = password::verify(
        &creds.password,
        account.password_hash.as_deref().unwrap_or(DUMMY_HASH),
    ) && account.password_hash.is_some();
    if account
        .locked_until
        .is_some_and(|until| until > now.millis())
    {
        return Ok(Err(Failure::Locked {
            user_id: account.id,
        }));
    }
    if !matches {
        let locked = record_failure(db, &account.id, now).await?;
        return Ok(Err(Failure::WrongPassword {
            user_id: account.id,
            locked,
        }));
    }
    Ok(Ok(account))
}

#[derive(Deserialize)]
struct LockState {
    failed_attempts: i64,
}

/// Counts one failure atomically; returns whether this failure locked the account
/// (only the locking update restarts the count at zero).
pub async fn record_failure(db: &impl Sql, user_id: &str, now: Instant) -> DomainResult<bool> {
    let state: Option<LockState> = query_one(db, failure_statement(user_id, now)).await?;
    Ok(state.is_some_and(|s| s.failed_attempts == 0))
}

fn failure_statement(user_id: &str, now: Instant) -> Statement {
    // `next` is the failure count including this one; at MAX_FAILURES the account
    // locks, the count restarts, and the next lock will last twice as long.
    let next = "(CASE WHEN failure_window_start IS NULL OR failure_window_start <= ?1 - ?2 THEN 1 ELSE failed_attempts + 1 END)";
    Statement::new(
        format!(
            "UPDATE auth_users SET
                locked_until = CASE WHEN {next} >= ?3 THEN ?1 + ?4 * (1 << MIN(lockouts, ?5)) ELSE locked_until END,
                lockouts = CASE WHEN {next} >= ?3 THEN lockouts + 1 ELSE lockouts END,
                failure_window_start = CASE WHEN {next} >= ?3 THEN NULL
                                            WHEN {next} = 1 THEN ?1 ELSE failure_window_start END,
                failed_attempts = CASE WHEN {next} >= ?3 THEN 0 ELSE {next} END
              WHERE id = ?6
          RETURNING failed_attempts"
        ),
        vec![
            now.millis().into(),
            FAILURE_WINDOW_MS.into(),
            MAX_FAILURES.into(),
            LOCK_MS.into(),
            MAX_DOUBLINGS.into(),
            user_id.into(),
        ],
    )
}

/// Clears the failure count and the lock history after a successful sign-in.
pub fn record_success(user_id: &str) -> Statement {
    stmt!(
        "UPDATE auth_users SET failed_attempts = 0, failure_window_start = NULL, locked_until = NULL, lockouts = 0 WHERE id = ?1",
        user_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHash;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let real = password::NewPassword::parse("p", "some long password", None)
            .unwrap()
            .hash()
            .unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(parsed.params, real.params);
        assert_eq!(parsed.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }
}
