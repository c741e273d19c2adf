//! Sessions and refresh tokens. A session is one sign-in of one person into one
//! firm; its refresh tokens rotate on every use, and presenting an already-rotated
//! token (a sign that it was stolen) revokes the whole session. Tokens are opaque
//! and stored only as SHA-256 hashes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kernel::audit::Origin;
use crate::kernel::error::DomainResult;
use crate::kernel::id::{new_id, secret_token};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::stmt;

/// How long a session (and so its refresh tokens) lives: 30 days.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Prefix that makes a refresh token recognisable in logs and secret scanners.
pub const REFRESH_PREFIX: &str = "frt_";

/// SHA-256 hex of a presented token (tokens are high-entropy: no salt needed).
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_refresh_token() -> DomainResult<(String, String)> {
    let token = secret_token(REFRESH_PREFIX)?;
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// A session about to be created.
pub struct NewSession {
    /// `ses_…`
    pub id: String,
    /// The first refresh token, shown to the client once.
    pub refresh_token: String,
    /// The statements that create it.
    pub statements: Vec<Statement>,
}

/// Plans a session of `user_id` in `firm_id`, authenticated by `amr`.
pub fn open(
    user_id: &str,
    firm_id: &str,
    amr: &[String],
    mfa_at: Option<i64>,
    origin: &Origin,
    now: Instant,
) -> DomainResult<NewSession> {
    let id = new_id("ses", now.millis())?;
    let (refresh_token, hash) = new_refresh_token()?;
    let expires_at = now.plus_millis(SESSION_TTL_MS).millis();
    let amr = serde_json::to_string(amr).unwrap_or_else(|_| "[]".into());
    let user_agent: Option<String> = origin
        .user_agent
        .as_ref()
        .map(|ua| ua.chars().take(512).collect());
    let statements = vec![
        stmt!(
            "INSERT INTO auth_sessions (id, user_id, firm_id, amr, ip, user_agent, created_at, last_used_at, expires_at, mfa_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
            id.as_str(),
            user_id,
            firm_id,
            amr,
            origin.ip.clone(),
            user_agent,
            now.millis(),
            expires_at,
            mfa_at
        ),
        stmt!(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            hash,
            id.as_str(),
            now.millis(),
            expires_at
        ),
    ];
    Ok(NewSession {
        id,
        refresh_token,
        statements,
    })
}

#[derive(Deserialize)]
struct Presented {
    session_id: String,
    rotated_at: Option<i64>,
    expires_at: i64,
    user_id: String,
    firm_id: String,
    amr: String,
    mfa_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// A fresh token replaced it; the session goes on.
    Rotated {
        /// The session.
        session_id: String,
        /// Its user.
        user_id: String,
        /// Its firm.
        firm_id: String,
        /// How the session was authenticated.
        amr: Vec<String>,
        /// When its holder last proved a second factor (Unix seconds).
        mfa_at: Option<i64>,
        /// The new refresh token, shown once.
        refresh_token: String,
    },
    /// It had already been rotated: the session is now revoked.
    Reused {
        /// The revoked session.
        session_id: String,
        /// Its user.
        user_id: String,
        /// Its firm.
        firm_id: String,
    },
    /// Unknown, expired, or its session is revoked.
    Invalid,
}

/// Rotates a presented refresh token. Two concurrent uses of one token cannot both
/// win: the rotation is conditional on the token being unrotated, and the loser is
/// treated as reuse.
pub async fn rotate(db: &impl Sql, presented: &str, now: Instant) -> DomainResult<Refresh> {
    let old_hash = hash_token(presented.trim());
    let found: Option<Presented> = query_one(
        db,
        stmt!(
            "SELECT t.session_id, t.rotated_at, t.expires_at, s.user_id, s.firm_id, s.amr, s.mfa_at, s.revoked_at
               FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
              WHERE t.token_hash = ?1",
            old_hash.as_str()
        ),
    )
    .await?;
    let Some(found) = found else {
        return Ok(Refresh::Invalid);
    };
    if found.revoked_at.is_some() || found.expires_at <= now.millis() {
        return Ok(Refresh::Invalid);
    }
    let reused = || Refresh::Reused {
        session_id: found.session_id.clone(),
        user_id: found.user_id.clone(),
        firm_id: found.firm_id.clone(),
    };
    if found.rotated_at.is_some() {
        db.execute(revoke(&found.session_id, "refresh_token_reused", now))
            .await?;
        return Ok(reused());
    }
    let (refresh_token, new_hash) = new_refresh_token()?;
    let outcomes = db
        .batch(vec![
            stmt!(
                "UPDATE auth_refresh_tokens SET rotated_at = ?1, replaced_by = ?2 WHERE token_hash = ?3 AND rotated_at IS NULL",
                now.millis(),
                new_hash.as_str(),
                old_hash.as_str()
            ),
            stmt!(
                "INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at, expires_at)
                 SELECT ?1, session_id, ?2, expires_at FROM auth_refresh_tokens WHERE token_hash = ?3 AND replaced_by = ?1",
                new_hash.as_str(),
                now.millis(),
                old_hash.as_str()
            ),
            stmt!("UPDATE auth_sessions SET last_used_at = ?1 WHERE id = ?2", now.millis(), found.session_id.as_str()),
        ])
        .await?;
    if outcomes.first().is_none_or(|o| o.changes == 0) {
        db.execute(revoke(&found.session_id, "refresh_token_reused", now))
            .await?;
        return Ok(reused());
    }
    Ok(Refresh::Rotated {
        session_id: found.session_id,
        user_id: found.user_id,
        firm_id: found.firm_id,
        amr: serde_json::from_str(&found.amr).unwrap_or_default(),
        mfa_at: found.mfa_at,
        refresh_token,
    })
}

/// Records a second factor proved in the session now (step-up).
pub fn record_second_factor(session_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE auth_sessions SET mfa_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        now.secs(),
        session_id
    )
}

/// Revokes a session (and so every refresh token of it).
pub fn revoke(session_id: &str, reason: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE auth_sessions SET revoked_at = ?1, revoked_reason = ?2 WHERE id = ?3 AND revoked_at IS NULL",
        now.millis(),
        reason,
        session_id
    )
}

/// Revokes one of `user_id`'s own sessions; false when the user has no such live session.
pub async fn revoke_own(
    db: &impl Sql,
    user_id: &str,
    session_id: &str,
    reason: &str,
    now: Instant,
) -> DomainResult<bool> {
    let changed = db
        .execute(stmt!(
            "UPDATE auth_sessions SET revoked_at = ?1, revoked_reason = ?2 WHERE id = ?3 AND user_id = ?4 AND revoked_at IS NULL",
            now.millis(),
            reason,
            session_id,
            user_id
        ))
        .await?;
    Ok(changed > 0)
}

/// Whether a session is live (exists, unrevoked, unexpired).
pub async fn is_live(db: &impl Sql, session_id: &str, now: Instant) -> DomainResult<bool> {
    let rows = db
        .query(stmt!(
            "SELECT 1 AS live FROM auth_sessions WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
            session_id,
            now.millis()
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// A session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// `ses_…`
    pub id: String,
    /// The firm it is signed into.
    pub firm_id: String,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// Client at sign-in.
    pub user_agent: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last refresh.
    pub last_used_at: i64,
    /// Unix ms.
    pub expires_at: i64,
}

/// The user's live sessions, newest first.
pub async fn live_for_user(
    db: &impl Sql,
    user_id: &str,
    now: Instant,
) -> DomainResult<Vec<SessionView>> {
    query_as(
        db,
        stmt!(
            "SELECT id, firm_id, ip, user_agent, created_at, last_used_at, expires_at FROM auth_sessions
              WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY created_at DESC LIMIT 100",
            user_id,
            now.millis()
        ),
    )
    .await
}
