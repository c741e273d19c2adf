//! Deliveries and their attempts. The `webhooks` queue carries a [`Send`] (which
//! delivery, which attempt, due when); a sender claims the delivery with one
//! conditional update, so a message redelivered by the queue, or a stale one, sends
//! nothing. After the attempt, [`record`] writes it, decides what comes next on the
//! schedule (or the endpoint's `Retry-After`), and keeps the endpoint's failure
//! streak, all in one batch guarded by the claim.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::endpoint::{self, Row};
use super::events::{
    self as webhook_events, feeds_back, EndpointDisabled, MessageExhausted, MessageRecovered,
};
use super::{
    DeliveryStatus, DisabledReason, ErrorClass, Trigger, DISABLE_AFTER_FAILING_MS, EXCERPT_CHARS,
    FAILURE_SPREAD_MS, LATE_AFTER_MS, RETENTION_MS, RETRY_AFTER_CAP_SECS, SCHEDULE,
};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::EventEnvelope;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{Input, Validator};
use crate::stmt;

/// How long a claim holds a delivery: the longest timeout and a margin. A sender
/// that dies holding one is found by the sweep after it.
pub const LEASE_MS: i64 = 90_000;
/// Deliveries the sweep sends per tick.
pub const SWEEP_BATCH: i64 = 100;
/// Exhausted deliveries one recovery resends at most.
pub const MAX_RECOVER: i64 = 1_000;

/// What a `webhooks` queue message asks: attempt `attempt` of a delivery, due at
/// `due_at` (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    /// `whd_…`.
    pub delivery_id: String,
    /// Its firm.
    pub firm_id: String,
    /// The 1-based number of the attempt this message is for.
    pub attempt: i64,
    /// When it is due.
    pub due_at: i64,
}

/// A delivery a sender holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claimed {
    /// `whd_…`.
    pub id: String,
    /// Its firm.
    pub firm_id: String,
    /// The message (`msg_…`: the `webhook-id`).
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attempts before this one.
    pub attempts: i64,
    /// What started it.
    pub trigger: Trigger,
    /// The claim token.
    pub claimed_by: String,
    /// When it was claimed (Unix ms).
    #[serde(rename = "updated_at")]
    pub claimed_at: i64,
    /// The previous attempt's error, when one failed.
    pub last_error: Option<String>,
    /// The exact body to send.
    pub body: String,
}

impl Claimed {
    /// The number of the attempt being made.
    pub fn number(&self) -> i64 {
        self.attempts + 1
    }
}

/// Claims the attempt `send` is for with `token`; `None` when it is stale (already
/// made, rescheduled, or the delivery finished).
pub async fn claim(
    db: &impl Sql,
    send: &Send,
    token: &str,
    now: Instant,
) -> DomainResult<Option<Claimed>> {
    query_one(
        db,
        stmt!(
            "UPDATE webhooks_deliveries SET status = 'sending', claimed_by = ?1, lease_expires_at = ?2, updated_at = ?3
              WHERE id = ?4 AND status IN ('pending', 'retrying') AND attempts = ?5 AND next_attempt_at = ?6
          RETURNING id, firm_id, message_id, endpoint_id, type, attempts, trigger, claimed_by, updated_at, last_error,
                    (SELECT body FROM webhooks_messages m WHERE m.id = message_id) AS body",
            token,
            now.millis() + LEASE_MS,
            now.millis(),
            send.delivery_id.as_str(),
            send.attempt - 1,
            send.due_at
        ),
    )
    .await
}

/// Gives a claimed delivery back without an attempt, due again at `due_at` (an
/// endpoint over its rate limit, or paused); the queue message to send for it.
pub async fn release(
    db: &impl Sql,
    claimed: &Claimed,
    due_at: Instant,
    now: Instant,
) -> DomainResult<Option<Send>> {
    let changed = db
        .execute(stmt!(
            "UPDATE webhooks_deliveries SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
                    claimed_by = NULL, lease_expires_at = NULL, next_attempt_at = ?1, updated_at = ?2
              WHERE id = ?3 AND claimed_by = ?4 AND status = 'sending'",
            due_at.millis(),
            now.millis(),
            claimed.id.as_str(),
            claimed.claimed_by.as_str()
        ))
        .await?;
    Ok((changed > 0).then(|| Send {
        delivery_id: claimed.id.clone(),
        firm_id: claimed.firm_id.clone(),
        attempt: claimed.number(),
        due_at: due_at.millis(),
    }))
}

/// Cancels a claimed delivery whose endpoint is gone or disabled.
pub async fn cancel(db: &impl Sql, claimed: &Claimed, now: Instant) -> DomainResult<()> {
    db.execute(stmt!(
        "UPDATE webhooks_deliveries SET status = 'cancelled', claimed_by = NULL, lease_expires_at = NULL,
                next_attempt_at = NULL, completed_at = ?1, updated_at = ?1
          WHERE id = ?2 AND claimed_by = ?3",
        now.millis(),
        claimed.id.as_str(),
        claimed.claimed_by.as_str()
    ))
    .await?;
    Ok(())
}

/// How many attempts to the endpoint are ahead of `claimed` within the second
/// before `now`: those made, and those in flight that were claimed before it
/// (claim time, then id, orders concurrent senders, so exactly the first ones of
/// a burst go and the rest wait their turn).
pub async fn ahead_of(db: &impl Sql, claimed: &Claimed, now: Instant) -> DomainResult<i64> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let row: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT (SELECT COUNT(*) FROM webhooks_attempts WHERE endpoint_id = ?1 AND started_at > ?2)
                  + (SELECT COUNT(*) FROM webhooks_deliveries WHERE endpoint_id = ?1 AND status = 'sending' AND id != ?3
                        AND (updated_at < ?4 OR (updated_at = ?4 AND id < ?3))) AS n",
            claimed.endpoint_id.as_str(),
            now.millis() - 1_000,
            claimed.id.as_str(),
            claimed.claimed_at
        ),
    )
    .await?;
    Ok(row.map_or(0, |c| c.n))
}

/// What one attempt came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempted {
    /// When the request started (Unix ms).
    pub started_at: i64,
    /// How long until the answer (or the failure).
    pub duration_ms: i64,
    /// The answer's status, when there was one.
    pub status: Option<u16>,
    /// Why it failed; `None` with a 2xx status is success.
    pub error_class: Option<ErrorClass>,
    /// What went wrong, in words.
    pub error: Option<String>,
    /// The answer's text, cut to 5,000 characters.
    pub excerpt: Option<String>,
    /// The answer's headers (JSON object).
    pub headers: Option<Value>,
    /// Seconds the answer's `Retry-After` asked for.
    pub retry_after_secs: Option<i64>,
}

impl Attempted {
    /// An answer: 2xx is success, anything else (a redirect too) a failure.
    pub fn answered(started_at: i64, duration_ms: i64, status: u16, text: &str) -> Self {
        let ok = (200..300).contains(&status);
        Self {
            started_at,
            duration_ms,
            status: Some(status),
            error_class: (!ok).then_some(ErrorClass::HttpStatus),
            error: (!ok).then(|| {
                if (300..400).contains(&status) {
                    format!("HTTP {status}: redirects are not followed")
                } else {
                    format!("HTTP {status}")
                }
            }),
            excerpt: Some(text.chars().take(EXCERPT_CHARS).collect()),
            ..Self::default()
        }
    }

    /// No answer: `class` says why.
    pub fn failed(
        started_at: i64,
        duration_ms: i64,
        class: ErrorClass,
        error: impl Into<String>,
    ) -> Self {
        Self {
            started_at,
            duration_ms,
            error_class: Some(class),
            error: Some(error.into()),
            ..Self::default()
        }
    }

    /// Whether the endpoint took the message.
    pub fn succeeded(&self) -> bool {
        self.error_class.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What happens after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Delivered.
    Succeeded,
    /// The next attempt, queued with its delay.
    Retry(Send),
    /// Given up on.
    Exhausted,
    /// The endpoint answered 410: it is disabled and its waiting deliveries cancelled.
    Gone,
    /// Another sender holds the delivery now (this one's lease ran out).
    Lost,
}

/// The delay before the next attempt after failed attempt `number` (scheduled;
/// a 429 or 503 with `Retry-After` waits what it asks, up to 12 hours), or `None`
/// when the delivery is done for.
pub fn next_delay(number: i64, max_attempts: i64, attempted: &Attempted, unit: f64) -> Option<i64> {
    if number >= max_attempts {
        return None;
    }
    let scheduled = SCHEDULE.delay_after(u32::try_from(number).ok()?, unit)?;
    let asked = match attempted.status {
        Some(429 | 503) => attempted
            .retry_after_secs
            .map(|s| s.clamp(0, RETRY_AFTER_CAP_SECS)),
        _ => None,
    };
    // The receiver knows when it can take more: its ask replaces the schedule's
    // delay (never under the schedule's first step, so a `Retry-After: 0` cannot
    // make us hammer it).
    let floor = SCHEDULE.delay_after(1, 0.5).unwrap_or(5);
    Some(asked.map_or(scheduled, |a| a.max(floor)))
}

/// Records `attempted` for `claimed` to `endpoint` and decides what comes next.
/// Returns the decision and the events it raised (already in the batch's outbox;
/// the caller publishes them).
pub async fn record(
    db: &impl Sql,
    claimed: &Claimed,
    endpoint: &Row,
    attempted: &Attempted,
    now: Instant,
    unit: f64,
) -> DomainResult<(Next, Vec<EventEnvelope>)> {
    let number = claimed.number();
    let success = attempted.succeeded();
    let gone = attempted.status == Some(410);
    let final_failure = matches!(attempted.error_class, Some(ErrorClass::BlockedDestination))
        || gone
        || claimed.trigger != Trigger::Scheduled;
    let delay = if success || final_failure {
        None
    } else {
        next_delay(number, endpoint.max_attempts, attempted, unit)
    };
    let next = if success {
        Next::Succeeded
    } else if gone {
        Next::Gone
    } else if let Some(delay) = delay {
        Next::Retry(Send {
            delivery_id: claimed.id.clone(),
            firm_id: claimed.firm_id.clone(),
            attempt: number + 1,
            due_at: now.millis() + delay * 1_000,
        })
    } else {
        Next::Exhausted
    };
    let (status, next_at) = match &next {
        Next::Succeeded => (DeliveryStatus::Succeeded, None),
        Next::Retry(send) => (DeliveryStatus::Retrying, Some(send.due_at)),
        _ => (DeliveryStatus::Exhausted, None),
    };
    let finished = next_at.is_none().then_some(now.millis());
    let mut statements = vec![
        stmt!(
            "INSERT INTO webhooks_attempts (delivery_id, number, firm_id, endpoint_id, message_id, trigger, started_at,
                    duration_ms, succeeded, status_code, error_class, error, response_excerpt, response_headers)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
              WHERE EXISTS (SELECT 1 FROM webhooks_deliveries WHERE id = ?1 AND claimed_by = ?15 AND status = 'sending')",
            claimed.id.as_str(),
            number,
            claimed.firm_id.as_str(),
            claimed.endpoint_id.as_str(),
            claimed.message_id.as_str(),
            claimed.trigger.name(),
            attempted.started_at,
            attempted.duration_ms,
            success,
            attempted.status.map(i64::from),
            attempted.error_class.map(ErrorClass::name),
            attempted.error.clone(),
            attempted.excerpt.clone(),
            attempted.headers.as_ref().map(Value::to_string),
            claimed.claimed_by.as_str()
        ),
        stmt!(
            "UPDATE webhooks_deliveries SET status = ?1, attempts = ?2, next_attempt_at = ?3, claimed_by = NULL,
                    lease_expires_at = NULL, trigger = CASE WHEN ?3 IS NULL THEN trigger ELSE 'scheduled' END,
                    last_status = ?4, last_error = ?5, completed_at = ?6, updated_at = ?7
              WHERE id = ?8 AND claimed_by = ?9 AND status = 'sending'",
            status.name(),
            number,
            next_at,
            attempted.status.map(i64::from),
            attempted.error.clone(),
            finished,
            now.millis(),
            claimed.id.as_str(),
            claimed.claimed_by.as_str()
        ),
    ];
    // The endpoint's streak: a success ends it; a failure starts it or extends it.
    let attempt_exists = "EXISTS (SELECT 1 FROM webhooks_attempts WHERE delivery_id = ?3 AND number = ?4 AND started_at = ?5)";
    statements.push(if success {
        Statement::new(
            format!(
                "UPDATE webhooks_endpoints SET failing_since = NULL, last_success_at = ?1 WHERE id = ?2 AND {attempt_exists}"
            ),
            vec![now.millis().into(), claimed.endpoint_id.as_str().into(), claimed.id.as_str().into(), number.into(), attempted.started_at.into()],
        )
    } else {
        Statement::new(
            format!(
                "UPDATE webhooks_endpoints SET failing_since = COALESCE(failing_since, ?1), last_failure_at = ?1 WHERE id = ?2 AND {attempt_exists}"
            ),
            vec![now.millis().into(), claimed.endpoint_id.as_str().into(), claimed.id.as_str().into(), number.into(), attempted.started_at.into()],
        )
    });
    let mut raised = Vec::new();
    match &next {
        Next::Gone => {
            statements.push(endpoint::disable(&endpoint.id, DisabledReason::Gone, now));
            statements.push(endpoint::cancel_waiting(&endpoint.id, now));
            raised.push(webhook_events::raise(
                &claimed.firm_id,
                &EndpointDisabled {
                    endpoint_id: endpoint.id.clone(),
                    url: endpoint.url.clone(),
                    reason: DisabledReason::Gone.name().into(),
                    failing_since: None,
                },
                now,
            )?);
        }
        Next::Exhausted if !feeds_back(&claimed.kind) => raised.push(webhook_events::raise(
            &claimed.firm_id,
            &MessageExhausted {
                message_id: claimed.message_id.clone(),
                endpoint_id: claimed.endpoint_id.clone(),
                event_type: claimed.kind.clone(),
                attempts: number,
                last_status: attempted.status.map(i64::from),
            },
            now,
        )?),
        Next::Succeeded
            if claimed.trigger != Trigger::Scheduled
                && claimed.last_error.is_some()
                && !feeds_back(&claimed.kind) =>
        {
            raised.push(webhook_events::raise(
                &claimed.firm_id,
                &MessageRecovered {
                    message_id: claimed.message_id.clone(),
                    endpoint_id: claimed.endpoint_id.clone(),
                    event_type: claimed.kind.clone(),
                    attempts: number,
                },
                now,
            )?)
        }
        _ => {}
    }
    let (envelopes, outbox): (Vec<_>, Vec<_>) = raised.into_iter().unzip();
    statements.extend(outbox);
    let outcomes = db.batch(statements).await?;
    let recorded = outcomes.get(1).is_some_and(|o| o.changes > 0);
    if !recorded {
        return Ok((Next::Lost, Vec::new()));
    }
    Ok((next, envelopes))
}

/// A waiting delivery as the sweep and a resume find it.
#[derive(Deserialize)]
struct Due {
    id: String,
    firm_id: String,
    attempts: i64,
    next_attempt_at: i64,
}

impl Due {
    /// The queue message for its next attempt, due when the row says.
    fn send(self) -> Send {
        Send {
            delivery_id: self.id,
            firm_id: self.firm_id,
            attempt: self.attempts + 1,
            due_at: self.next_attempt_at,
        }
    }
}

/// The minute's sweep: deliveries due more than two minutes ago whose endpoint is
/// active (their queue message was lost), and deliveries whose sender died holding
/// them (lease expired; given back as due now). Returns the queue messages to send.
pub async fn sweep(db: &impl Sql, now: Instant) -> DomainResult<Vec<Send>> {
    db.execute(stmt!(
        "UPDATE webhooks_deliveries SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
                claimed_by = NULL, lease_expires_at = NULL, next_attempt_at = ?1, updated_at = ?1
          WHERE status = 'sending' AND lease_expires_at < ?1",
        now.millis()
    ))
    .await?;
    let due: Vec<Due> = query_as(
        db,
        stmt!(
            "SELECT d.id, d.firm_id, d.attempts, d.next_attempt_at FROM webhooks_deliveries d
               JOIN webhooks_endpoints e ON e.id = d.endpoint_id AND e.status = 'active'
              WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= ?1
              ORDER BY d.next_attempt_at LIMIT ?2",
            now.millis() - LATE_AFTER_MS,
            SWEEP_BATCH
        ),
    )
    .await?;
    let lost: Vec<Due> = query_as(
        db,
        stmt!(
            "SELECT id, firm_id, attempts, next_attempt_at FROM webhooks_deliveries
              WHERE status IN ('pending', 'retrying') AND next_attempt_at = ?1 LIMIT ?2",
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await?;
    Ok(due.into_iter().chain(lost).map(Due::send).collect())
}

/// The queue messages for an endpoint's waiting deliveries due by `now` (after a
/// resume), oldest first, at most [`SWEEP_BATCH`].
pub async fn waiting_for(
    db: &impl Sql,
    endpoint_id: &str,
    now: Instant,
) -> DomainResult<Vec<Send>> {
    let due: Vec<Due> = query_as(
        db,
        stmt!(
            "SELECT id, firm_id, attempts, next_attempt_at FROM webhooks_deliveries
              WHERE endpoint_id = ?1 AND status IN ('pending', 'retrying') AND next_attempt_at <= ?2
              ORDER BY next_attempt_at LIMIT ?3",
            endpoint_id,
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await?;
    Ok(due.into_iter().map(Due::send).collect())
}

/// A delivery as listed: where it stands, with its message's type and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `whd_…`.
    pub id: String,
    /// The message (`msg_…`).
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: Option<i64>,
    /// What started the current or last attempt.
    pub trigger: Trigger,
    /// The last answer's status.
    pub last_status: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// When it finished.
    pub completed_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str =
    "id, message_id, endpoint_id, type, status, attempts, next_attempt_at, trigger, last_status,
    last_error, created_at, updated_at, completed_at";

/// Filters of the delivery log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this endpoint's.
    pub endpoint_id: Option<String>,
    /// Only this message's.
    pub message_id: Option<String>,
    /// Only in this status.
    pub status: Option<DeliveryStatus>,
    /// Only of this type.
    pub kind: Option<String>,
    /// Created at or after (Unix ms).
    pub created_from: Option<i64>,
    /// Created before (Unix ms).
    pub created_to: Option<i64>,
}

impl Filter {
    /// Reads the filters of a list request (`get` answers a query parameter); each
    /// malformed one is a 422 naming it.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let parsed = |name: &str| get(name);
        let id = |v: &mut Validator, name: &str, prefix: &str| {
            parsed(name).and_then(|s| v.take(crate::kernel::id::parse(name, prefix, s)))
        };
        let endpoint_id = id(&mut v, "endpoint_id", "whe");
        let message_id = id(&mut v, "message_id", "msg");
        let status = parsed("status").and_then(|s| v.take(DeliveryStatus::parse("status", s)));
        let kind = parsed("type").and_then(|s| {
            if crate::kernel::events::is_type_name(s) {
                Some(s.to_owned())
            } else {
                v.add(
                    "type",
                    "format",
                    "type must be an event type (`invoice.paid`)",
                );
                None
            }
        });
        let time = |v: &mut Validator, name: &str| {
            parsed(name)
                .and_then(|s| v.take(Instant::parse(name, s)))
                .map(Instant::millis)
        };
        let created_from = time(&mut v, "created_from");
        let created_to = time(&mut v, "created_to");
        v.finish()?;
        Ok(Self {
            endpoint_id,
            message_id,
            status,
            kind,
            created_from,
            created_to,
        })
    }
}

/// A page of the scope's deliveries, newest first.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &Filter,
    page: &PageRequest,
) -> DomainResult<Page<Delivery>> {
    let rows: Vec<Delivery> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhooks_deliveries
                  WHERE firm_id = ?1 AND (?2 IS NULL OR id < ?2) AND (?3 IS NULL OR endpoint_id = ?3)
                    AND (?4 IS NULL OR message_id = ?4) AND (?5 IS NULL OR status = ?5) AND (?6 IS NULL OR type = ?6)
                    AND (?7 IS NULL OR created_at >= ?7) AND (?8 IS NULL OR created_at < ?8)
                  ORDER BY id DESC LIMIT ?9"
            ),
            vec![
                scope.firm_id().into(),
                page.after.clone().into(),
                filter.endpoint_id.clone().into(),
                filter.message_id.clone().into(),
                filter.status.map(DeliveryStatus::name).into(),
                filter.kind.clone().into(),
                filter.created_from.into(),
                filter.created_to.into(),
                page.fetch_limit().into(),
            ],
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |r| r.id.clone()))
}

/// One attempt as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based.
    pub number: i64,
    /// What started it.
    pub trigger: Trigger,
    /// Unix ms.
    pub started_at: i64,
    /// Until the answer.
    pub duration_ms: i64,
    /// Whether the endpoint took it.
    #[serde(deserialize_with = "crate::kernel::sql::columns::bool_from_int")]
    pub succeeded: bool,
    /// The answer's status.
    pub status_code: Option<i64>,
    /// Why it failed.
    pub error_class: Option<ErrorClass>,
    /// What went wrong.
    pub error: Option<String>,
    /// The answer's text (at most 5,000 characters).
    pub response_excerpt: Option<String>,
    /// The answer's headers.
    #[serde(deserialize_with = "crate::kernel::sql::columns::json_from_optional_text")]
    pub response_headers: Option<Value>,
}

/// One delivery of the scope with its attempts and its message's body.
pub async fn get(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
) -> DomainResult<(Delivery, Vec<Attempt>, Value)> {
    let delivery: Delivery = query_one(
        db,
        Statement::new(
            format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhooks_deliveries WHERE id = ?1 AND firm_id = ?2"
            ),
            vec![id.into(), scope.firm_id().into()],
        ),
    )
    .await?
    .ok_or(DomainError::NotFound("delivery"))?;
    let attempts = query_as(
        db,
        stmt!(
            "SELECT number, trigger, started_at, duration_ms, succeeded, status_code, error_class, error,
                    response_excerpt, response_headers
               FROM webhooks_attempts WHERE delivery_id = ?1 AND firm_id = ?2 ORDER BY number",
            id,
            scope.firm_id()
        ),
    )
    .await?;
    #[derive(Deserialize)]
    struct Body {
        body: String,
    }
    let body: Option<Body> = query_one(
        db,
        stmt!(
            "SELECT body FROM webhooks_messages WHERE id = ?1 AND firm_id = ?2",
            delivery.message_id.as_str(),
            scope.firm_id()
        ),
    )
    .await?;
    let body = body
        .and_then(|b| serde_json::from_str(&b.body).ok())
        .unwrap_or(Value::Null);
    Ok((delivery, attempts, body))
}

/// Resends one delivery now as a single manual attempt (same `webhook-id`). A
/// delivery whose attempt is in flight is a 409; one whose endpoint is not active
/// is a 409 too.
pub async fn resend(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    now: Instant,
) -> DomainResult<Send> {
    let (delivery, _, _) = get(db, scope, id).await?;
    let endpoint = endpoint::get(db, scope, &delivery.endpoint_id)
        .await
        .map_err(|_| DomainError::Conflict {
            field: None,
            detail: "the delivery's endpoint was deleted".into(),
        })?;
    if endpoint.status != super::EndpointStatus::Active {
        return Err(DomainError::Conflict {
            field: None,
            detail: format!(
                "the endpoint is {}; resume it first",
                endpoint.status.name()
            ),
        });
    }
    let changed = db
        .execute(stmt!(
            "UPDATE webhooks_deliveries SET status = 'pending', trigger = 'manual', next_attempt_at = ?1,
                    completed_at = NULL, updated_at = ?1
              WHERE id = ?2 AND firm_id = ?3 AND status != 'sending'",
            now.millis(),
            id,
            scope.firm_id()
        ))
        .await?;
    if changed == 0 {
        return Err(DomainError::Conflict {
            field: None,
            detail: "an attempt of this delivery is in flight; try again when it is done".into(),
        });
    }
    Ok(Send {
        delivery_id: delivery.id,
        firm_id: scope.firm_id().to_owned(),
        attempt: delivery.attempts + 1,
        due_at: now.millis(),
    })
}

/// Parses a recovery request `{since, until?}` (RFC 3339). Nothing older than
/// the retention window is kept, so an earlier `since` means "everything kept"; a
/// window that is empty (`since` in the future, `until` not after it) recovers
/// nothing rather than being an error.
pub fn parse_recovery(body: &Value, now: Instant) -> DomainResult<(Instant, Option<Instant>)> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["since", "until"]);
    let since = input
        .string(&mut v, "since", true)
        .and_then(|raw| v.take(Instant::parse("since", raw)));
    let until = input
        .string(&mut v, "until", false)
        .and_then(|raw| v.take(Instant::parse("until", raw)));
    v.finish()?;
    let kept_from = now.millis() - RETENTION_MS;
    since
        .map(|s| (Instant::from_millis(s.millis().max(kept_from)), until))
        .ok_or_else(|| DomainError::invalid("since", "required", "since is required"))
}

/// Resends every exhausted delivery of an endpoint created in `[since, until)`,
/// one attempt each (trigger `replay`), paced by the endpoint's rate limit. Returns
/// the queue messages, each due at its turn.
pub async fn recover(
    db: &impl Sql,
    scope: &TenantScope,
    endpoint_id: &str,
    since: Instant,
    until: Option<Instant>,
    now: Instant,
) -> DomainResult<Vec<Send>> {
    let endpoint = endpoint::get(db, scope, endpoint_id).await?;
    if endpoint.status != super::EndpointStatus::Active {
        return Err(DomainError::Conflict {
            field: None,
            detail: format!(
                "the endpoint is {}; resume it first",
                endpoint.status.name()
            ),
        });
    }
    #[derive(Deserialize)]
    struct Exhausted {
        id: String,
        attempts: i64,
    }
    let rows: Vec<Exhausted> = query_as(
        db,
        stmt!(
            "SELECT id, attempts FROM webhooks_deliveries
              WHERE endpoint_id = ?1 AND firm_id = ?2 AND status = 'exhausted' AND created_at >= ?3 AND (?4 IS NULL OR created_at < ?4)
              ORDER BY id LIMIT ?5",
            endpoint_id,
            scope.firm_id(),
            since.millis(),
            until.map(Instant::millis),
            MAX_RECOVER
        ),
    )
    .await?;
    let per_sec = endpoint.rate_limit_per_sec.unwrap_or(i64::MAX).max(1);
    let mut sends = Vec::new();
    let mut statements = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(i64::MAX);
        let due = now.millis() + (i / per_sec) * 1_000;
        statements.push(stmt!(
            "UPDATE webhooks_deliveries SET status = 'pending', trigger = 'replay', next_attempt_at = ?1,
                    completed_at = NULL, updated_at = ?2
              WHERE id = ?3 AND status = 'exhausted'",
            due,
            now.millis(),
            row.id.as_str()
        ));
        sends.push(Send {
            delivery_id: row.id,
            firm_id: scope.firm_id().to_owned(),
            attempt: row.attempts + 1,
            due_at: due,
        });
    }
    for chunk in statements.chunks(50) {
        db.batch(chunk.to_vec()).await?;
    }
    Ok(sends)
}

/// An endpoint the daily check disables.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Failing {
    /// `whe_…`.
    pub id: String,
    /// Its firm.
    pub firm_id: String,
    /// Its URL.
    pub url: String,
    /// Its name.
    pub name: String,
    /// When its failures began.
    pub failing_since: i64,
}

/// Active endpoints whose every attempt has failed for five days, the failures
/// spread over at least 12 hours.
pub async fn failing(db: &impl Sql, now: Instant) -> DomainResult<Vec<Failing>> {
    query_as(
        db,
        stmt!(
            "SELECT id, firm_id, url, name, failing_since FROM webhooks_endpoints
              WHERE status = 'active' AND failing_since IS NOT NULL AND failing_since <= ?1
                AND last_failure_at - failing_since >= ?2",
            now.millis() - DISABLE_AFTER_FAILING_MS,
            FAILURE_SPREAD_MS
        ),
    )
    .await
}

/// The statements that disable a failing endpoint, cancel its waiting deliveries
/// and raise `webhook.endpoint.disabled`; with the event to publish.
pub fn disable_failing(
    endpoint: &Failing,
    now: Instant,
) -> DomainResult<(Vec<Statement>, EventEnvelope)> {
    let (event, outbox) = webhook_events::raise(
        &endpoint.firm_id,
        &EndpointDisabled {
            endpoint_id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            reason: DisabledReason::Failing.name().into(),
            failing_since: Some(Instant::from_millis(endpoint.failing_since).to_rfc3339()),
        },
        now,
    )?;
    Ok((
        vec![
            endpoint::disable(&endpoint.id, DisabledReason::Failing, now),
            endpoint::cancel_waiting(&endpoint.id, now),
            outbox,
        ],
        event,
    ))
}

/// Deletes messages, deliveries and attempts older than the retention period (a
/// bounded number per call); returns how many messages went.
pub async fn purge(db: &impl Sql, now: Instant) -> DomainResult<u64> {
    let before = now.millis() - RETENTION_MS;
    let outcomes = db
        .batch(vec![
            stmt!(
                "DELETE FROM webhooks_attempts WHERE started_at < ?1 AND delivery_id IN
                   (SELECT id FROM webhooks_deliveries WHERE created_at < ?1 AND status NOT IN ('pending', 'retrying', 'sending'))",
                before
            ),
            stmt!(
                "DELETE FROM webhooks_deliveries WHERE created_at < ?1 AND status NOT IN ('pending', 'retrying', 'sending')",
                before
            ),
            stmt!(
                "DELETE FROM webhooks_messages WHERE created_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM webhooks_deliveries d WHERE d.message_id = webhooks_messages.id)",
                before
            ),
        ])
        .await?;
    Ok(outcomes.get(2).map_or(0, |o| o.changes))
}

/// The request telling the firm's active administrators that endpoint `name`
/// (`url`) was disabled because `why`; `link` is where they manage it. The firm
/// comes from the endpoint's row (background work has no caller).
pub async fn disabled_notice(
    db: &impl Sql,
    firm_id: &str,
    fields: [(&str, &str); 4],
    now: Instant,
) -> DomainResult<EventEnvelope> {
    crate::notify::request::to_admins(
        db,
        firm_id,
        "webhooks.endpoint_disabled",
        crate::notify::request::vars(fields),
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(err: DomainError) -> Vec<(String, &'static str)> {
        match err {
            DomainError::Validation(errs) => errs.into_iter().map(|e| (e.field, e.rule)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_recovery_window_starts_inside_retention() {
        let now = Instant::parse("now", "2026-11-26T12:00:00Z").unwrap();
        let (since, until) =
            parse_recovery(&json!({"since": "2026-11-25T00:00:00Z"}), now).unwrap();
        assert_eq!(since.to_rfc3339(), "2026-11-25T00:00:00.000Z");
        assert_eq!(until, None);
        // Before retention: everything kept, from the window's start.
        let (since, until) = parse_recovery(
            &json!({"since": "2001-01-01T00:00:00Z", "until": "2026-11-26T00:00:00Z"}),
            now,
        )
        .unwrap();
        assert_eq!(since.millis(), now.millis() - RETENTION_MS);
        assert_eq!(until.unwrap().to_rfc3339(), "2026-11-26T00:00:00.000Z");
        let got = rules(
            parse_recovery(&json!({"since": "yesterday", "until": 5, "x": 1}), now).unwrap_err(),
        );
        assert!(got.contains(&("since".into(), "format")), "{got:?}");
        assert!(got.contains(&("until".into(), "type")), "{got:?}");
        assert!(got.contains(&("x".into(), "unknown")), "{got:?}");
        assert_eq!(
            rules(parse_recovery(&json!({}), now).unwrap_err())[0],
            ("since".into(), "required")
        );
    }

    #[test]
    fn list_filters_name_the_parameter_they_break() {
        let ok = Filter::parse(|n| match n {
            "status" => Some("exhausted"),
            "type" => Some("firm.created"),
            "endpoint_id" => Some("whe_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            _ => None,
        })
        .unwrap();
        assert_eq!(ok.status, Some(DeliveryStatus::Exhausted));
        let got = rules(
            Filter::parse(|n| match n {
                "status" => Some("lost"),
                "type" => Some("Bad Type"),
                "message_id" => Some("whe_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                "created_from" => Some("yesterday"),
                _ => None,
            })
            .unwrap_err(),
        );
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["message_id", "status", "type", "created_from"]);
    }
}
