//! The delivery of one event to one subscribing module: claimed before each attempt
//! (so two dispatchers never hand the same attempt over twice), retried on its own
//! schedule, and left `dead` for a firm admin once the schedule is spent.

use serde::{Deserialize, Serialize};

use crate::kernel::error::DomainResult;
use crate::kernel::events::EventEnvelope;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::retry::Schedule;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// How long a claimed attempt may run before another dispatcher may take it over.
pub const LEASE_MS: i64 = 60_000;
/// A retry this late has lost its queue message; the sweep sends a new one.
pub const SWEEP_LATE_MS: i64 = 120_000;
/// Most deliveries one sweep or one bulk replay touches.
pub const SWEEP_BATCH: i64 = 100;
/// Longest delay a queue message may carry (Cloudflare Queues: 12 h).
pub const MAX_QUEUE_DELAY_SECS: i64 = 43_200;

/// Delays after each failed hand-over to a module: 8 attempts over about 4 hours,
/// enough to ride out a bad deploy of one module without paging anyone.
pub const SCHEDULE: Schedule = Schedule::Table {
    delays: &[5, 30, 120, 600, 1_800, 3_600, 10_800],
    jitter_from: 300,
};

/// A delivery attempt this dispatcher now holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claim {
    /// The module to hand the event to.
    pub subscriber: String,
    /// Which attempt this is (1-based).
    pub attempts: i64,
}

/// How a hand-over went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The module took the event.
    Delivered,
    /// The module failed; `permanent` when retrying cannot help (it refused the event).
    Failed {
        /// What went wrong, for the dead-letter list.
        error: String,
        /// No retry.
        permanent: bool,
    },
}

/// A targeted hand-over still to make: one subscriber, one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redelivery {
    /// The event.
    pub event: EventEnvelope,
    /// The module.
    pub subscriber: String,
    /// The attempt number the message is for; any other is stale.
    pub attempt: i64,
    /// Seconds the queue should hold the message.
    #[serde(default, skip_serializing)]
    pub delay_secs: i64,
}

/// First sight of `event`: one claimed row per subscriber that has none yet. A
/// subscriber that already has a row (delivered, waiting for a retry, or being
/// handled by another dispatcher) is left alone, so a redelivered queue message
/// changes nothing twice.
pub async fn claim_new(
    db: &impl Sql,
    event: &EventEnvelope,
    subscribers: &[&str],
    now: Instant,
) -> DomainResult<Vec<Claim>> {
    if subscribers.is_empty() {
        return Ok(Vec::new());
    }
    let statements = subscribers
        .iter()
        .map(|subscriber| {
            stmt!(
                "INSERT INTO dispatch_deliveries
                   (event_id, subscriber, firm_id, type, status, attempts, claimed_until, next_attempt_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', 1, ?5, ?6, ?6, ?6)
                 ON CONFLICT (event_id, subscriber) DO UPDATE SET seen = seen + 1
                 RETURNING subscriber, attempts, seen",
                event.id.as_str(),
                *subscriber,
                event.firm_id.as_str(),
                event.kind.as_str(),
                now.plus_millis(LEASE_MS).millis(),
                now.millis()
            )
        })
        .collect();
    #[derive(Deserialize)]
    struct Seen {
        subscriber: String,
        attempts: i64,
        seen: i64,
    }
    let mut claims = Vec::new();
    for row in db.batch(statements).await?.into_iter().flat_map(|o| o.rows) {
        let row: Seen = crate::kernel::sql::from_row(row)?;
        // Only the first sight claims; a duplicate is counted and left alone.
        if row.seen == 1 {
            claims.push(Claim {
                subscriber: row.subscriber,
                attempts: row.attempts,
            });
        }
    }
    Ok(claims)
}

/// Claims attempt `attempt` of one delivery, if that attempt is still the next one
/// and nobody holds it. A stale or duplicate retry message claims nothing.
pub async fn claim_retry(
    db: &impl Sql,
    event_id: &str,
    subscriber: &str,
    attempt: i64,
    now: Instant,
) -> DomainResult<Option<Claim>> {
    let rows: Vec<Claim> = query_as(
        db,
        stmt!(
            "UPDATE dispatch_deliveries
                SET attempts = attempts + 1, claimed_until = ?4, updated_at = ?5
              WHERE event_id = ?1 AND subscriber = ?2 AND status = 'pending'
                AND attempts = ?3 - 1 AND claimed_until < ?5
             RETURNING subscriber, attempts",
            event_id,
            subscriber,
            attempt,
            now.plus_millis(LEASE_MS).millis(),
            now.millis()
        ),
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Records how attempt `attempt` went. Returns the retry to schedule, if any.
/// `unit` is a uniform sample for the schedule's jitter.
pub async fn record(
    db: &impl Sql,
    event: &EventEnvelope,
    subscriber: &str,
    attempt: i64,
    outcome: &Outcome,
    now: Instant,
    unit: f64,
) -> DomainResult<Option<Redelivery>> {
    let (statement, retry) = match outcome {
        Outcome::Delivered => (
            stmt!(
                "UPDATE dispatch_deliveries
                    SET status = 'delivered', delivered_at = ?4, claimed_until = 0, last_error = NULL, updated_at = ?4
                  WHERE event_id = ?1 AND subscriber = ?2 AND attempts = ?3 AND status = 'pending'",
                event.id.as_str(),
                subscriber,
                attempt,
                now.millis()
            ),
            None,
        ),
        Outcome::Failed { error, permanent } => {
            let error: String = error.chars().take(1_000).collect();
            let delay = if *permanent {
                None
            } else {
                u32::try_from(attempt)
                    .ok()
                    .and_then(|n| SCHEDULE.delay_after(n, unit))
            };
            match delay {
                Some(delay) => (
                    stmt!(
                        "UPDATE dispatch_deliveries
                            SET next_attempt_at = ?4, claimed_until = 0, last_error = ?5, updated_at = ?6
                          WHERE event_id = ?1 AND subscriber = ?2 AND attempts = ?3 AND status = 'pending'",
                        event.id.as_str(),
                        subscriber,
                        attempt,
                        now.plus_millis(delay * 1_000).millis(),
                        error,
                        now.millis()
                    ),
                    Some(Redelivery {
                        event: event.clone(),
                        subscriber: subscriber.to_owned(),
                        attempt: attempt + 1,
                        delay_secs: delay,
                    }),
                ),
                None => (
                    stmt!(
                        "UPDATE dispatch_deliveries
                            SET status = 'dead', dead_at = ?4, claimed_until = 0, last_error = ?5, updated_at = ?4
                          WHERE event_id = ?1 AND subscriber = ?2 AND attempts = ?3 AND status = 'pending'",
                        event.id.as_str(),
                        subscriber,
                        attempt,
                        now.millis(),
                        error
                    ),
                    None,
                ),
            }
        }
    };
    let changed = db.execute(statement).await?;
    // Nothing changed: another dispatcher took the attempt over after our lease ran out.
    Ok(if changed > 0 { retry } else { None })
}

#[derive(Deserialize)]
struct DueRow {
    payload: String,
    subscriber: String,
    attempts: i64,
}

fn redeliveries(rows: Vec<DueRow>) -> Vec<Redelivery> {
    rows.into_iter()
        .filter_map(|r| {
            Some(Redelivery {
                event: serde_json::from_str(&r.payload).ok()?,
                subscriber: r.subscriber,
                attempt: r.attempts + 1,
                delay_secs: 0,
            })
        })
        .collect()
}

/// Deliveries whose next attempt is overdue and unclaimed (their queue message was
/// lost, or was too far out for the queue's delay): what the cron sweep resends.
pub async fn overdue(db: &impl Sql, now: Instant) -> DomainResult<Vec<Redelivery>> {
    let rows: Vec<DueRow> = query_as(
        db,
        stmt!(
            "SELECT o.payload, d.subscriber, d.attempts
               FROM dispatch_deliveries d JOIN kernel_outbox o ON o.id = d.event_id
              WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND d.claimed_until < ?2
              ORDER BY d.next_attempt_at LIMIT ?3",
            now.plus_millis(-SWEEP_LATE_MS).millis(),
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await?;
    Ok(redeliveries(rows))
}

/// One delivery as a firm admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The event.
    pub event_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The subscribing module.
    pub subscriber: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made since the event arrived or was last replayed.
    pub attempts: i64,
    /// How many times a person replayed it.
    pub replays: i64,
    /// How many times the queue brought the event (more than 1: duplicates, ignored).
    pub seen: i64,
    /// When the next attempt is due (Unix ms), while pending.
    pub next_attempt_at: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was handed over (Unix ms).
    pub delivered_at: Option<i64>,
    /// When it was given up on (Unix ms).
    pub dead_at: Option<i64>,
}

const VIEW: &str = "SELECT event_id, type, subscriber, status, attempts, replays, seen,
        CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at,
        last_error, delivered_at, dead_at FROM dispatch_deliveries";

/// Every delivery of one of the firm's events.
pub async fn of_event(
    db: &impl Sql,
    scope: &TenantScope,
    event_id: &str,
) -> DomainResult<Vec<DeliveryView>> {
    query_as(
        db,
        Statement::new(
            format!("{VIEW} WHERE firm_id = ?1 AND event_id = ?2 ORDER BY subscriber"),
            vec![scope.firm_id().into(), event_id.into()],
        ),
    )
    .await
}

/// Filters of the dead-letter list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadFilter {
    /// Only this subscriber's.
    pub subscriber: Option<String>,
    /// Only events of this type.
    pub kind: Option<String>,
}

impl DeadFilter {
    /// Reads a filter from query parameters or a body's fields.
    pub fn parse(subscriber: Option<&str>, kind: Option<&str>) -> DomainResult<Self> {
        let mut v = crate::kernel::validate::Validator::new();
        let subscriber = subscriber.and_then(|s| {
            let ok = (1..=40).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if !ok {
                v.add(
                    "subscriber",
                    "pattern",
                    "subscriber must be a module name such as `webhooks`",
                );
            }
            ok.then(|| s.to_owned())
        });
        let kind = kind.and_then(|k| {
            let ok = crate::kernel::events::is_type_name(k);
            if !ok {
                v.add(
                    "type",
                    "pattern",
                    "type must be an event type such as `client.created`",
                );
            }
            ok.then(|| k.to_owned())
        });
        v.finish()?;
        Ok(Self { subscriber, kind })
    }

    /// Reads a bulk-replay body: `{"subscriber"?: …, "type"?: …}`.
    pub fn from_body(body: &serde_json::Value) -> DomainResult<Self> {
        let input = crate::kernel::validate::Input::body(body)?;
        let mut v = crate::kernel::validate::Validator::new();
        input.reject_unknown(&mut v, &["subscriber", "type"]);
        let subscriber = input.string(&mut v, "subscriber", false);
        let kind = input.string(&mut v, "type", false);
        v.finish()?;
        Self::parse(subscriber, kind)
    }
}

/// The firm's dead deliveries, newest event first.
pub async fn dead(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &DeadFilter,
    page: &PageRequest,
) -> DomainResult<Page<DeliveryView>> {
    let rows: Vec<DeliveryView> = query_as(
        db,
        Statement::new(
            format!(
                "{VIEW} WHERE firm_id = ?1 AND status = 'dead' AND (?2 IS NULL OR subscriber = ?2)
                   AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR event_id || '/' || subscriber < ?4)
                 ORDER BY event_id DESC, subscriber DESC LIMIT ?5"
            ),
            vec![
                scope.firm_id().into(),
                filter.subscriber.clone().into(),
                filter.kind.clone().into(),
                page.after.clone().into(),
                page.fetch_limit().into(),
            ],
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |r| {
        format!("{}/{}", r.event_id, r.subscriber)
    }))
}

/// Replays one of the firm's events: `NotFound` when the firm has no such event,
/// `Conflict` when none of its deliveries is dead.
pub async fn replay_event(
    db: &impl Sql,
    scope: &TenantScope,
    event_id: &str,
    now: Instant,
) -> DomainResult<Vec<Redelivery>> {
    crate::kernel::events::get(db, scope, event_id).await?;
    let replayed = replay(db, scope, Some(event_id), &DeadFilter::default(), now).await?;
    if replayed.is_empty() {
        return Err(crate::DomainError::conflict(
            "event_id",
            "no delivery of this event is dead-lettered",
        ));
    }
    Ok(replayed)
}

/// Puts the firm's dead deliveries matching `event_id` (or, without one, `filter`)
/// back in line with a fresh schedule, up to [`SWEEP_BATCH`] of them. Returns the
/// hand-overs to send now.
pub async fn replay(
    db: &impl Sql,
    scope: &TenantScope,
    event_id: Option<&str>,
    filter: &DeadFilter,
    now: Instant,
) -> DomainResult<Vec<Redelivery>> {
    let rows: Vec<DueRow> = query_as(
        db,
        stmt!(
            "UPDATE dispatch_deliveries
                SET status = 'pending', attempts = 0, replays = replays + 1, claimed_until = 0,
                    next_attempt_at = ?5, dead_at = NULL, updated_at = ?5
              WHERE rowid IN (
                    SELECT rowid FROM dispatch_deliveries
                     WHERE firm_id = ?1 AND status = 'dead' AND (?2 IS NULL OR event_id = ?2)
                       AND (?3 IS NULL OR subscriber = ?3) AND (?4 IS NULL OR type = ?4)
                     ORDER BY event_id LIMIT ?6)
             RETURNING (SELECT payload FROM kernel_outbox o WHERE o.id = event_id) AS payload, subscriber, attempts",
            scope.firm_id(),
            event_id,
            filter.subscriber.clone(),
            filter.kind.clone(),
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await?;
    Ok(redeliveries(rows))
}
