//! Getting outbox events onto the `events` queue, and taking them off it.

use serde_json::json;
use shared::kernel::events::{self, EventEnvelope};
use shared::kernel::sql::Sql;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{Env, MessageBatch, MessageExt as _};

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
    let q = crate::bindings::queue(env, EVENTS_QUEUE)?;
    for chunk in bodies.chunks(100) {
        let messages: Vec<worker::SendMessage<String>> = chunk
            .iter()
            .map(|b| worker::SendMessage::from(b.clone()))
            .collect();
        q.send_batch(messages)
            .await
            .map_err(|e| DomainError::Unavailable(format!("queue send: {e}")))?;
    }
    let ids: Vec<String> = batch.iter().map(|e| e.id.clone()).collect();
    db.batch(events::mark_published(&ids, now)).await?;
    Ok(())
}

/// Republishes every overdue outbox event; returns how many it sent.
pub async fn sweep_outbox(env: &Env, now: Instant) -> Result<usize, DomainError> {
    let db = D1::from_env(env)?;
    let due = events::due(&db, now).await?;
    try_publish(env, &db, &due, now).await?;
    Ok(due.len())
}

/// Runs `handle` on every message of a batch from the events queue. A message whose
/// body is not an envelope is acknowledged and logged (retrying cannot fix it); a
/// handler error asks the queue to retry that message alone.
pub async fn consume<F, Fut>(batch: MessageBatch<serde_json::Value>, consumer: &str, handle: F)
where
    F: Fn(EventEnvelope) -> Fut,
    Fut: std::future::Future<Output = Result<bool, DomainError>>,
{
    for message in batch.raw_iter() {
        let body = message.body();
        let envelope = body
            .as_string()
            .and_then(|text| serde_json::from_str::<EventEnvelope>(&text).ok())
            .or_else(|| serde_wasm_bindgen::from_value::<EventEnvelope>(body).ok());
        let Some(envelope) = envelope else {
            log::event(
                "warn",
                consumer,
                "dropped a message that is not an event envelope",
                json!({"id": message.id()}),
            );
            message.ack();
            continue;
        };
        let event_id = envelope.id.clone();
        match handle(envelope).await {
            Ok(_) => message.ack(),
            Err(e) => {
                log::event(
                    "error",
                    consumer,
                    "event handling failed; the queue will retry",
                    json!({"event_id": event_id, "error": e.to_string()}),
                );
                message.retry();
            }
        }
    }
}
