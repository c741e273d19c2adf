//! Domain events and the transactional outbox. A change that other modules care
//! about appends an [`EventEnvelope`] to `kernel_outbox` in the same batch as the
//! change; the runtime then publishes it to the `events` queue and marks it sent.
//! A sweep republishes whatever was not marked, so delivery is at least once and
//! consumers record a receipt per event id to act once.

use serde::{Deserialize, Serialize};

use super::error::DomainResult;
use super::id::new_id;
use super::paging::{Page, PageRequest};
use super::sql::{query_as, Sql, Statement};
use super::tenant::TenantScope;
use super::time::Instant;
use crate::stmt;

/// How long the request that wrote an event has to publish it before the sweep does.
pub const PUBLISH_GRACE_MS: i64 = 30_000;
/// Most events one sweep republishes (a queue batch send takes at most 100).
pub const SWEEP_BATCH: i64 = 100;

/// What travels on the `events` queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Unique event id (`evt_…`); consumers deduplicate on it.
    pub id: String,
    /// Dotted event type, `<module>.<fact>` (`firm.created`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm the event belongs to.
    pub firm_id: String,
    /// When the change happened (RFC 3339).
    pub occurred_at: String,
    /// Version of `data`'s shape for this type.
    pub schema_version: u32,
    /// The event's facts.
    pub data: serde_json::Value,
}

impl EventEnvelope {
    /// A new event of `kind` in `scope`'s firm.
    pub fn new(
        scope: &TenantScope,
        kind: &str,
        now: Instant,
        data: serde_json::Value,
    ) -> DomainResult<Self> {
        Ok(Self {
            id: new_id("evt", now.millis())?,
            kind: kind.to_owned(),
            firm_id: scope.firm_id().to_owned(),
            occurred_at: now.to_rfc3339(),
            schema_version: 1,
            data,
        })
    }
}

impl EventEnvelope {
    /// The firm an event of our own outbox belongs to (the queue is trusted: only
    /// our workers write to it).
    pub fn scope(&self) -> TenantScope {
        TenantScope::new(&self.firm_id, None)
    }
}

/// The statement that appends `event` to the outbox; put it in the change's batch.
pub fn record(event: &EventEnvelope, now: Instant) -> DomainResult<Statement> {
    let payload =
        serde_json::to_string(event).map_err(|e| crate::DomainError::Unavailable(e.to_string()))?;
    Ok(stmt!(
        "INSERT INTO kernel_outbox (id, firm_id, type, payload, created_at, available_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        event.id.as_str(),
        event.firm_id.as_str(),
        event.kind.as_str(),
        payload,
        now.millis(),
        now.plus_millis(PUBLISH_GRACE_MS).millis()
    ))
}

/// Marks events as handed to the queue.
pub fn mark_published(ids: &[String], now: Instant) -> Vec<Statement> {
    ids.iter()
        .map(|id| {
            stmt!(
                "UPDATE kernel_outbox SET published_at = ?1, attempts = attempts + 1 WHERE id = ?2",
                now.millis(),
                id.as_str()
            )
        })
        .collect()
}

#[derive(Deserialize)]
struct PayloadRow {
    payload: String,
}

/// Events whose publication is overdue, oldest first.
pub async fn due(db: &impl Sql, now: Instant) -> DomainResult<Vec<EventEnvelope>> {
    let rows: Vec<PayloadRow> = query_as(
        db,
        stmt!(
            "SELECT payload FROM kernel_outbox WHERE published_at IS NULL AND available_at <= ?1 ORDER BY id LIMIT ?2",
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| serde_json::from_str(&r.payload).ok())
        .collect())
}

/// Puts one of the firm's events back in line for delivery; the next sweep sends it.
/// Returns false when the firm has no such event.
pub async fn redeliver(
    db: &impl Sql,
    scope: &TenantScope,
    event_id: &str,
    now: Instant,
) -> DomainResult<bool> {
    let changed = db
        .execute(stmt!(
            "UPDATE kernel_outbox SET published_at = NULL, available_at = ?1 WHERE id = ?2 AND firm_id = ?3",
            now.millis(),
            event_id,
            scope.firm_id()
        ))
        .await?;
    Ok(changed > 0)
}

/// One row of a firm's event log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    /// Event id.
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was written (Unix ms).
    pub created_at: i64,
    /// When it was last handed to the queue (Unix ms), if it has been.
    pub published_at: Option<i64>,
    /// How many times the queue has carried it.
    pub publications: i64,
    /// How many deliveries consumers have seen (duplicates included).
    pub deliveries: i64,
    /// How many consumers have acted on it.
    pub consumers: i64,
}

/// The firm's events, newest first.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    page: &PageRequest,
) -> DomainResult<Page<EventRecord>> {
    let rows: Vec<EventRecord> = query_as(
        db,
        stmt!(
            "SELECT o.id, o.type, o.created_at, o.published_at, o.attempts AS publications,
                    COALESCE(SUM(r.deliveries), 0) AS deliveries, COUNT(r.event_id) AS consumers
               FROM kernel_outbox o LEFT JOIN kernel_event_receipts r ON r.event_id = o.id
              WHERE o.firm_id = ?1 AND (?2 IS NULL OR o.id < ?2)
              GROUP BY o.id ORDER BY o.id DESC LIMIT ?3",
            scope.firm_id(),
            page.after.clone(),
            page.fetch_limit()
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |r| r.id.clone()))
}

/// One of the firm's events as it was published, or `NotFound`.
pub async fn get(
    db: &impl Sql,
    scope: &TenantScope,
    event_id: &str,
) -> DomainResult<EventEnvelope> {
    let rows: Vec<PayloadRow> = query_as(
        db,
        stmt!(
            "SELECT payload FROM kernel_outbox WHERE id = ?1 AND firm_id = ?2",
            event_id,
            scope.firm_id()
        ),
    )
    .await?;
    rows.into_iter()
        .next()
        .and_then(|r| serde_json::from_str(&r.payload).ok())
        .ok_or(crate::DomainError::NotFound("event"))
}

/// The receipt a consumer writes in the same batch as its side effects: the first
/// delivery inserts it, each duplicate only counts.
pub fn receipt(consumer: &str, event: &EventEnvelope, now: Instant) -> Statement {
    stmt!(
        "INSERT INTO kernel_event_receipts (consumer, event_id, firm_id, first_seen_at, last_seen_at, deliveries)
         VALUES (?1, ?2, ?3, ?4, ?4, 1)
         ON CONFLICT (consumer, event_id) DO UPDATE SET deliveries = deliveries + 1, last_seen_at = excluded.last_seen_at",
        consumer,
        event.id.as_str(),
        event.firm_id.as_str(),
        now.millis()
    )
}

/// Whether `consumer` has already acted on `event_id`.
pub async fn seen(db: &impl Sql, consumer: &str, event_id: &str) -> DomainResult<bool> {
    let rows = db
        .query(stmt!(
            "SELECT 1 AS seen FROM kernel_event_receipts WHERE consumer = ?1 AND event_id = ?2",
            consumer,
            event_id
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// Whether an event-type pattern covers `kind`: `*` covers every type, `group.*`
/// every type under that prefix (`client.*` covers `client.created` and
/// `client.portal.opened`), anything else only itself.
pub fn pattern_matches(pattern: &str, kind: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => kind
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == kind,
    }
}

/// Whether `kind` is a well-formed event type name: two or more dot-separated
/// segments of `[a-z0-9_]`, at most 100 characters.
pub fn is_type_name(kind: &str) -> bool {
    kind.len() <= 100
        && kind.split('.').count() >= 2
        && kind.split('.').all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        })
}

/// Parses an event-type filter (`*`, `group.*`, or a type name) named `field`.
pub fn parse_pattern(field: &str, raw: &str) -> DomainResult<String> {
    let ok = raw == "*"
        || raw.strip_suffix(".*").is_some_and(|p| {
            !p.is_empty() && p.split('.').all(|s| is_type_name(&format!("{s}.x")))
        })
        || is_type_name(raw);
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(crate::DomainError::invalid(
            field,
            "pattern",
            "must be an event type (`invoice.paid`), a group (`invoice.*`) or `*`",
        ))
    }
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn patterns_cover_what_they_name_and_nothing_else() {
        let cases = [
            ("*", "firm.created", true),
            ("firm.created", "firm.created", true),
            ("firm.created", "firm.updated", false),
            ("firm.*", "firm.created", true),
            ("firm.*", "firmament.created", false),
            ("firm.*", "firm", false),
            ("client.*", "client.portal.opened", true),
            ("client.portal.*", "client.created", false),
        ];
        for (pattern, kind, expected) in cases {
            assert_eq!(
                pattern_matches(pattern, kind),
                expected,
                "{pattern} ~ {kind}"
            );
        }
    }

    #[test]
    fn filters_are_parsed_strictly() {
        for ok in [
            "*",
            "invoice.*",
            "invoice.paid",
            "client.portal.*",
            "a_b.c_1",
        ] {
            assert!(parse_pattern("f", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "invoice",
            ".*",
            "Invoice.paid",
            "invoice..paid",
            "invoice.*.x",
            "*.paid",
            "in voice.x",
        ] {
            assert!(parse_pattern("f", bad).is_err(), "{bad}");
        }
    }
}
