//! Getting outbox events onto the `events` queue, and taking them off it.

use serde_json::json;
use shared::kernel::events::{self, EventEnvelope};
use shared::kernel::sql::Sql;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::Env;

use crate::d1::D1;
use crate::log;

/// Binding name of the events queue producer.
pub const EVENTS_QUEUE: &str = "EVENTS";

/// Sends `batch` to the queue (each body is the envelope's JSON text) and marks the
/// events published. Failure is logged, not returned: the outbox sweep retries.
pub async fn publish(env: &Env, db: &D1, batch: &[EventEnvelope], now: Instant, request_id: &str) {
    if let Err(e) = try_publish(env, db, batch, now).await {
        log::event(
            "warn",
            request_id,
            "event publication deferred to the outbox sweep",
            json!({"error": e.to_string()}),
        );
    }
}

async fn try_publish(
    env: &Env,
    db: &D1,
    batch: &[EventEnvelope],
    now: Instant,
) -> Result<(), DomainError> {
    if batch.is_empty() {
        return Ok(());
    }
    let bodies = batch
        .iter()
        .map(|e| serde_json::to_string(e).map_err(|e| DomainError::Unavailable(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    send_all(env, EVENTS_QUEUE, bodies).await?;
    let ids: Vec<String> = batch.iter().map(|e| e.id.clone()).collect();
    db.batch(events::mark_published(&ids, now)).await?;
    Ok(())
}

/// Writes `with` (a change) and the outbox rows of `events` in one batch, then
/// publishes the events (a failed send is left to the outbox sweep).
pub async fn write_and_publish(
    env: &Env,
    db: &D1,
    with: Vec<shared::kernel::sql::Statement>,
    batch: &[EventEnvelope],
    now: Instant,
    request_id: &str,
) -> Result<(), DomainError> {
    let mut statements = with;
    for event in batch {
        statements.push(events::record(event, now)?);
    }
    db.batch(statements).await?;
    publish(env, db, batch, now, request_id).await;
    Ok(())
}

/// Republishes every overdue outbox event; returns how many it sent.
pub async fn sweep_outbox(env: &Env, now: Instant) -> Result<usize, DomainError> {
    let db = D1::from_env(env)?;
    let due = events::due(&db, now).await?;
    try_publish(env, &db, &due, now).await?;
    Ok(due.len())
}

/// Paths a worker serves only to other workers over service bindings. The gateway
/// forwards only the route table's paths, so none of these is reachable from outside.
pub const INTERNAL_PREFIX: &str = "/_internal/";
/// Where the dispatcher hands a subscribed module an event (POST, the envelope as JSON).
pub const DELIVERY_PATH: &str = "/_internal/events";
/// Where the platform clock ticks a background worker (POST, `x-scheduled-time` in Unix ms).
pub const TICK_PATH: &str = "/_internal/tick";

/// The subscriber side of fan-out: parses the envelope the dispatcher sent and runs
/// `consume` on it. 204 when the module took it; a problem otherwise (4xx: the event
/// can never be taken, so the dispatcher dead-letters it at once; 5xx: retry later).
pub async fn serve_delivery<F, Fut>(
    mut req: worker::Request,
    env: &Env,
    cx: &crate::RequestContext,
    worker_name: &str,
    consume: F,
) -> Result<worker::Response, DomainError>
where
    F: FnOnce(Env, EventEnvelope, Instant) -> Fut,
    Fut: std::future::Future<Output = Result<(), DomainError>>,
{
    if req.path() != DELIVERY_PATH || crate::http::method(&req) != "POST" {
        return Err(DomainError::NotFound("route"));
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|e| DomainError::BadRequest(format!("event body: {e}")))?;
    let event: EventEnvelope = serde_json::from_slice(&bytes)
        .map_err(|e| DomainError::BadRequest(format!("not an event envelope: {e}")))?;
    let started = crate::now();
    let fields = serde_json::json!({"event.id": event.id, "event.type": event.kind, "firm.id": event.firm_id});
    let outcome = consume(env.clone(), event, cx.now).await;
    let error = outcome.as_ref().err().map(ToString::to_string);
    log::task(
        worker_name,
        "event",
        &cx.request_id,
        started,
        error.as_deref(),
        fields,
    );
    outcome?;
    Ok(crate::http::empty(204, &cx.request_id))
}

/// Sends JSON texts to a queue now, in batches of 100 (the most one send takes).
pub async fn send_all(env: &Env, queue: &str, bodies: Vec<String>) -> Result<(), DomainError> {
    send_delayed(env, queue, bodies.into_iter().map(|b| (b, 0)).collect()).await
}

/// Sends JSON texts to a queue, each held back its own delay in seconds (0–43,200),
/// in batches of 100.
pub async fn send_delayed(
    env: &Env,
    queue: &str,
    messages: Vec<(String, i64)>,
) -> Result<(), DomainError> {
    let q = crate::bindings::queue(env, queue)?;
    for chunk in messages.chunks(100) {
        let batch: Vec<worker::SendMessage<String>> = chunk
            .iter()
            .map(|(body, delay)| {
                let delay = u32::try_from((*delay).clamp(0, 43_200)).unwrap_or(0);
                worker::MessageBuilder::new(body.clone())
                    .delay_seconds(delay)
                    .build()
            })
            .collect();
        q.send_batch(batch)
            .await
            .map_err(|e| DomainError::Unavailable(format!("queue send: {e}")))?;
    }
    Ok(())
}

/// Sends one JSON text to a queue, held back `delay_secs` (0–43,200).
pub async fn send_later(
    env: &Env,
    queue: &str,
    body: String,
    delay_secs: i64,
) -> Result<(), DomainError> {
    send_delayed(env, queue, vec![(body, delay_secs)]).await
}

/// Ticks a background worker over its service binding with the platform clock's
/// time (the cron's scheduled time, which tests may set ahead to play a later hour).
pub async fn tick(env: &Env, binding: &str, scheduled_ms: i64) -> Result<(), DomainError> {
    let service = env
        .service(binding)
        .map_err(|e| DomainError::Unavailable(format!("service binding {binding}: {e}")))?;
    let headers = worker::Headers::new();
    let _ = headers.set("x-scheduled-time", &scheduled_ms.to_string());
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_headers(headers);
    let request = worker::Request::new_with_init(&format!("https://internal{TICK_PATH}"), &init)
        .map_err(|e| DomainError::Unavailable(format!("tick: {e}")))?;
    let answer = service
        .fetch_request(request)
        .await
        .map_err(|e| DomainError::Unavailable(format!("tick {binding}: {e}")))?;
    if answer.status_code() >= 300 {
        return Err(DomainError::Unavailable(format!(
            "tick {binding}: HTTP {}",
            answer.status_code()
        )));
    }
    Ok(())
}

/// The background side of a worker's internal path: the platform clock's tick
/// (`TICK_PATH`) runs `tick` at the scheduled time and answers (and logs) what it
/// did; any other path is not found.
pub async fn serve_tick<F, Fut>(
    req: &worker::Request,
    cx: &crate::RequestContext,
    worker_name: &str,
    tick: F,
) -> Result<worker::Response, DomainError>
where
    F: FnOnce(Instant) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, DomainError>>,
{
    if req.path() != TICK_PATH || crate::http::method(req) != "POST" {
        return Err(DomainError::NotFound("route"));
    }
    let started = crate::now();
    match tick(tick_time(req)).await {
        Ok(done) => {
            log::task(
                worker_name,
                "tick",
                &cx.request_id,
                started,
                None,
                done.clone(),
            );
            Ok(crate::http::json(200, &done, &cx.request_id))
        }
        Err(e) => {
            log::task(
                worker_name,
                "tick",
                &cx.request_id,
                started,
                Some(&e.to_string()),
                serde_json::Value::Null,
            );
            Err(e)
        }
    }
}

/// The scheduled time a tick carries, or the runtime's clock.
pub fn tick_time(req: &worker::Request) -> Instant {
    crate::http::header(req, "x-scheduled-time")
        .and_then(|t| t.parse::<i64>().ok())
        .map_or_else(crate::now, Instant::from_millis)
}
