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

/// The languages the console and the portal are written in (the first is the default).
pub const LANGUAGES: &[&str] = &["en", "fr"];

/// What a person sees and changes of their own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `usr_…`
    pub id: String,
    /// Sign-in address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Whether the address was confirmed.
    pub email_verified: bool,
    /// The language chosen for the console (`None`: the firm's).
    pub language: Option<String>,
}

#[derive(Deserialize)]
struct ProfileRow {
    id: String,
    email: String,
    name: String,
    email_verified_at: Option<i64>,
    language: Option<String>,
}

impl From<ProfileRow> for Profile {
    fn from(row: ProfileRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            name: row.name,
            email_verified: row.email_verified_at.is_some(),
            language: row.language,
        }
    }
}

/// The profile of `user_id`.
pub async fn profile(db: &impl Sql, user_id: &str) -> DomainResult<Profile> {
    let row: Option<ProfileRow> = query_one(
        db,
        stmt!(
            "SELECT id, email, name, email_verified_at, language FROM auth_users WHERE id = ?1",
            user_id
        ),
    )
    .await?;
    row.map(Profile::from).ok_or(DomainError::NotFound("user"))
}

/// A checked change to one's profile; `None` fields stay as they are.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProfilePatch {
    /// New display name (1–255 characters).
    pub name: Option<String>,
    /// New language: `Some(None)` follows the firm's again.
    pub language: Option<Option<String>>,
}

impl ProfilePatch {
    /// Reads `{"name"?, "language"?}` (`language`: one of [`LANGUAGES`] or null).
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        use crate::kernel::validate::{text, Input, Validator};
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "language"]);
        let name = input
            .string(&mut v, "name", false)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let language = match body.get("language") {
            None => None,
            Some(serde_json::Value::Null) => Some(None),
            Some(_) => input
                .string(&mut v, "language", false)
                .and_then(|raw| v.take(parse_language("language", raw)))
                .map(Some),
        };
        v.finish()?;
        let patch = Self { name, language };
        if patch == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one of name, language",
            ));
        }
        Ok(patch)
    }

    /// The names of the fields it changes (for the audit log: never the values).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("language", self.language.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// The statement that applies the change.
    pub fn statement(&self, user_id: &str, now: Instant) -> Statement {
        stmt!(
            "UPDATE auth_users SET name = COALESCE(?1, name),
                    language = CASE WHEN ?2 THEN ?3 ELSE language END, updated_at = ?4
              WHERE id = ?5",
            self.name.clone(),
            self.language.is_some(),
            self.language.clone().flatten(),
            now.millis(),
            user_id
        )
    }
}

/// Checks a console language: one of [`LANGUAGES`].
pub fn parse_language(field: &str, raw: &str) -> DomainResult<String> {
    LANGUAGES
        .iter()
        .find(|l| **l == raw)
        .map(|l| (*l).to_owned())
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                "one_of",
                format!("{field} must be one of {}", LANGUAGES.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_change_names_its_fields() {
        let patch = ProfilePatch::parse(&json!({"name": " Ada ", "language": "fr"})).unwrap();
        assert_eq!(patch.name.as_deref(), Some("Ada"));
        assert_eq!(patch.language, Some(Some("fr".to_owned())));
        let back = ProfilePatch::parse(&json!({"language": null})).unwrap();
        assert_eq!(back.language, Some(None));
        let err = ProfilePatch::parse(&json!({"name": "", "language": "xx", "role": "firm_admin"}))
            .unwrap_err();
        let text = format!("{err:?}");
        for field in ["name", "language", "role"] {
            assert!(text.contains(field), "{field} in {text}");
        }
        assert!(ProfilePatch::parse(&json!({})).is_err());
    }
}
