//! The audit log: append-only, one hash chain per firm, so that a changed, removed
//! or inserted row is detectable by [`verify`]. Never put a password, token or
//! secret in an entry.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{DomainError, DomainResult};
use super::id::new_id;
use super::paging::{Page, PageRequest};
use super::sql::{query_as, query_one, violates_unique, Sql};
use super::tenant::TenantScope;
use super::time::Instant;
use crate::stmt;

/// Chain of events that belong to no firm (a sign-in attempt for an unknown address).
pub const PLATFORM_CHAIN: &str = "platform";
/// `prev_hash` of a chain's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Writers that collide on the chain's tail retry this many times.
const APPEND_ATTEMPTS: usize = 8;

/// What kind of action an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Sign-in, sign-out, tokens, MFA, recovery.
    Auth,
    /// Roles, flags, memberships, API keys.
    Permissions,
    /// Operator access to a firm.
    BreakGlass,
    /// Plan and billing metadata.
    BillingMetadata,
    /// Offboarding and deletion.
    Purge,
    /// Settings and integrations.
    Config,
    /// Reads of sensitive data.
    DataAccess,
    /// The platform itself.
    System,
}

/// How much attention an entry deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Routine.
    Info,
    /// Worth a look (failures, lockouts).
    Warning,
    /// Must be seen (break-glass, reuse of a rotated token).
    Critical,
}

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and failed (wrong password …).
    Failure,
    /// It was refused by policy (locked, forbidden, rate limited).
    Denied,
}

/// Where a request came from, for the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent (truncated to 512 characters).
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

/// One entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Firm id, or [`PLATFORM_CHAIN`].
    pub chain: String,
    /// Kind.
    pub category: Category,
    /// Dotted action name (`sign_in.failed`).
    pub action: &'static str,
    /// Attention.
    pub severity: Severity,
    /// Result.
    pub outcome: Outcome,
    /// Who acted (user id), if known.
    pub actor: Option<String>,
    /// What was acted on.
    pub target: Option<String>,
    /// Extra facts (JSON object).
    pub details: serde_json::Value,
}

impl Entry {
    /// An entry in `scope`'s firm chain.
    pub fn new(
        chain: &str,
        category: Category,
        action: &'static str,
        severity: Severity,
        outcome: Outcome,
    ) -> Self {
        Self {
            chain: chain.to_owned(),
            category,
            action,
            severity,
            outcome,
            actor: None,
            target: None,
            details: serde_json::json!({}),
        }
    }

    /// Sets the actor.
    pub fn by(mut self, actor: &str) -> Self {
        self.actor = Some(actor.to_owned());
        self
    }

    /// Sets the target.
    pub fn on(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }

    /// Sets the details.
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Chain (firm id or `platform`).
    pub chain: String,
    /// Position in the chain.
    pub seq: i64,
    /// `aud_…`
    pub id: String,
    /// Kind.
    pub category: String,
    /// Action.
    pub action: String,
    /// Attention.
    pub severity: String,
    /// Result.
    pub outcome: String,
    /// Who.
    pub actor: Option<String>,
    /// On what.
    pub target: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// JSON text.
    pub details: String,
    /// Unix ms.
    pub at: i64,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

fn text<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Record {
    /// The hash this record must carry, from its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        let content = serde_json::json!([
            self.chain,
            self.seq,
            self.id,
            self.category,
            self.action,
            self.severity,
            self.outcome,
            self.actor,
            self.target,
            self.ip,
            self.user_agent,
            self.request_id,
            self.details,
            self.at
        ]);
        let mut hash = Sha256::new();
        hash.update(self.prev_hash.as_bytes());
        hash.update(b"\n");
        hash.update(content.to_string().as_bytes());
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Deserialize)]
struct Tail {
    seq: i64,
    hash: String,
}

/// Appends `entry` at the end of its chain, retrying when another writer got there first.
pub async fn append(
    db: &impl Sql,
    entry: Entry,
    origin: &Origin,
    now: Instant,
) -> DomainResult<Record> {
    let mut last_error = DomainError::Unavailable("audit chain is busy".into());
    for _ in 0..APPEND_ATTEMPTS {
        let tail: Option<Tail> = query_one(
            db,
            stmt!("SELECT seq, hash FROM kernel_audit_events WHERE chain = ?1 ORDER BY seq DESC LIMIT 1", entry.chain.as_str()),
        )
        .await?;
        let (seq, prev_hash) = tail.map_or((1, GENESIS.to_owned()), |t| (t.seq + 1, t.hash));
        let mut record = Record {
            chain: entry.chain.clone(),
            seq,
            id: new_id("aud", now.millis())?,
            category: text(entry.category),
            action: entry.action.to_owned(),
            severity: text(entry.severity),
            outcome: text(entry.outcome),
            actor: entry.actor.clone(),
            target: entry.target.clone(),
            ip: origin.ip.clone(),
            user_agent: origin
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(512).collect()),
            request_id: origin.request_id.clone(),
            details: entry.details.to_string(),
            at: now.millis(),
            prev_hash,
            hash: String::new(),
        };
        record.hash = record.expected_hash();
        let inserted = db
            .execute(stmt!(
                "INSERT INTO kernel_audit_events (chain, seq, id, category, action, severity, outcome, actor, target, ip,
                                                  user_agent, request_id, details, at, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                record.chain.as_str(),
                record.seq,
                record.id.as_str(),
                record.category.as_str(),
                record.action.as_str(),
                record.severity.as_str(),
                record.outcome.as_str(),
                record.actor.clone(),
                record.target.clone(),
                record.ip.clone(),
                record.user_agent.clone(),
                record.request_id.clone(),
                record.details.as_str(),
                record.at,
                record.prev_hash.as_str(),
                record.hash.as_str()
            ))
            .await;
        match inserted {
            Ok(_) => return Ok(record),
            Err(e)
                if violates_unique(&e, "kernel_audit_events.chain")
                    || violates_unique(&e, "kernel_audit_events.seq") =>
            {
                last_error = e
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error)
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: i64,
    /// Whether every link and hash is intact.
    pub intact: bool,
    /// The first position whose content, hash or link does not match, if any.
    pub first_broken_seq: Option<i64>,
}

/// Walks the scope's chain from the start and checks every hash and link.
pub async fn verify(db: &impl Sql, chain: &str) -> DomainResult<ChainReport> {
    let mut after = 0i64;
    let mut prev = GENESIS.to_owned();
    let mut entries = 0i64;
    loop {
        let batch: Vec<Record> = query_as(
            db,
            stmt!(
                "SELECT chain, seq, id, category, action, severity, outcome, actor, target, ip, user_agent, request_id,
                        details, at, prev_hash, hash
                   FROM kernel_audit_events WHERE chain = ?1 AND seq > ?2 ORDER BY seq LIMIT 500",
                chain,
                after
            ),
        )
        .await?;
        if batch.is_empty() {
            return Ok(ChainReport {
                entries,
                intact: true,
                first_broken_seq: None,
            });
        }
        for record in batch {
            entries += 1;
            if record.seq != after + 1
                || record.prev_hash != prev
                || record.hash != record.expected_hash()
            {
                return Ok(ChainReport {
                    entries,
                    intact: false,
                    first_broken_seq: Some(after + 1),
                });
            }
            after = record.seq;
            prev = record.hash;
        }
    }
}

/// The scope's audit entries, newest first.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    page: &PageRequest,
) -> DomainResult<Page<Record>> {
    let after: Option<i64> = page.after.as_deref().and_then(|a| a.parse().ok());
    let rows: Vec<Record> = query_as(
        db,
        stmt!(
            "SELECT chain, seq, id, category, action, severity, outcome, actor, target, ip, user_agent, request_id,
                    details, at, prev_hash, hash
               FROM kernel_audit_events WHERE chain = ?1 AND (?2 IS NULL OR seq < ?2) ORDER BY seq DESC LIMIT ?3",
            scope.firm_id(),
            after,
            page.fetch_limit()
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |r| r.seq.to_string()))
}
