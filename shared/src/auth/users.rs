//! User accounts (one person, possibly member of several firms) and the statements
//! that keep them. The `auth_` tables belong to this module; other modules build
//! their batches with these functions rather than writing the SQL themselves.

use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::kernel::validate::EmailAddress;
use crate::stmt;

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// `usr_…`
    pub id: String,
    /// Sign-in address, lower-case, unique.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// Inserts a user with a password hash; fails on `auth_users.email` if the address is taken.
pub fn insert(
    id: &str,
    email: &EmailAddress,
    name: &str,
    password_hash: &str,
    now: Instant,
) -> Statement {
    stmt!(
        "INSERT INTO auth_users (id, email, name, password_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        id,
        email.as_str(),
        name,
        password_hash,
        now.millis()
    )
}

#[derive(Deserialize)]
struct EmailRow {
    email: String,
}

/// The sign-in address of a user.
pub async fn email_of(db: &impl Sql, user_id: &str) -> DomainResult<String> {
    let row: Option<EmailRow> = query_one(
        db,
        stmt!("SELECT email FROM auth_users WHERE id = ?1", user_id),
    )
    .await?;
    row.map(|r| r.email).ok_or(DomainError::NotFound("user"))
}

/// Inserts an account that signs in only through single sign-on (no password); the
/// identity provider vouched for the address.
pub fn insert_without_password(id: &str, email: &str, name: &str, now: Instant) -> Statement {
    stmt!(
        "INSERT INTO auth_users (id, email, name, password_hash, created_at, updated_at, email_verified_at)
         VALUES (?1, ?2, ?3, NULL, ?4, ?4, ?4)",
        id,
        email,
        name,
        now.millis()
    )
}
