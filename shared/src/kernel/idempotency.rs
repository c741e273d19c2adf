//! `Idempotency-Key` on POST: the first response to a key is stored in the same
//! batch as the change it reports, so a retry gets that response back and never
//! repeats the change. A key reused with a different request is refused.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::{DomainError, DomainResult};
use super::sql::{query_one, Sql, Statement};
use super::time::Instant;
use crate::stmt;

/// How long a stored response is replayed (then the sweep forgets it).
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A checked key with the scope it was used in (a firm id, or `public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    scope: String,
    key: String,
    fingerprint: String,
}

/// A response stored for replay.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    fingerprint: String,
}

impl IdempotencyKey {
    /// Parses the header value; `method`, `path` and `body` identify the request.
    pub fn parse(
        scope: &str,
        raw: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> DomainResult<Self> {
        let key = raw.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                "format",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ));
        }
        let mut hash = Sha256::new();
        hash.update(method.as_bytes());
        hash.update([0]);
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(body);
        let fingerprint = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            scope: scope.to_owned(),
            key: key.to_owned(),
            fingerprint,
        })
    }

    /// The stored response for this key, if the same request was answered before.
    pub async fn replay(
        &self,
        db: &impl Sql,
        now: Instant,
    ) -> DomainResult<Option<StoredResponse>> {
        let stored: Option<StoredResponse> = query_one(
            db,
            stmt!(
                "SELECT status, body, fingerprint FROM kernel_idempotency WHERE scope = ?1 AND key = ?2 AND created_at > ?3",
                self.scope.as_str(),
                self.key.as_str(),
                now.millis() - RETENTION_MS
            ),
        )
        .await?;
        match stored {
            Some(s) if s.fingerprint != self.fingerprint => Err(DomainError::conflict(
                "Idempotency-Key",
                "this Idempotency-Key was already used for a different request",
            )),
            other => Ok(other),
        }
    }

    /// The statement that stores `body` as this key's response; put it in the batch
    /// of the change so both happen or neither does.
    pub fn store(&self, status: u16, body: &str, now: Instant) -> Statement {
        stmt!(
            "INSERT INTO kernel_idempotency (scope, key, fingerprint, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
               body = excluded.body, created_at = excluded.created_at WHERE kernel_idempotency.created_at <= ?7",
            self.scope.as_str(),
            self.key.as_str(),
            self.fingerprint.as_str(),
            i64::from(status),
            body,
            now.millis(),
            now.millis() - RETENTION_MS
        )
    }
}

/// Forgets responses older than the retention window.
pub fn purge_expired(now: Instant) -> Statement {
    stmt!(
        "DELETE FROM kernel_idempotency WHERE created_at <= ?1",
        now.millis() - RETENTION_MS
    )
}
