//! Getting jobs onto the `jobs` queue. A module enqueues with
//! `shared::jobs::store::enqueue`, puts the statement in the batch of the change
//! that causes the job, and once that batch is written calls [`start`] with the
//! message: the queue holds it until the job is due. A send that fails, or a job
//! due beyond the queue's 12 h, is sent by the jobs worker's every-minute sweep.

use serde_json::json;
use shared::jobs::store::Dispatch;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::Env;

use crate::log;

/// Binding name of the jobs queue producer.
pub const JOBS_QUEUE: &str = "JOBS";

/// Sends the messages that run `dispatches`, each held until its job is due; those
/// beyond the queue's reach are skipped (the sweep sends them). Returns how many
/// were sent.
pub async fn send(env: &Env, dispatches: &[Dispatch], now: Instant) -> Result<usize, DomainError> {
    let messages: Vec<(String, i64)> = dispatches
        .iter()
        .filter_map(|d| {
            let delay = d.delay_secs(now)?;
            serde_json::to_string(d).ok().map(|body| (body, delay))
        })
        .collect();
    let sent = messages.len();
    crate::events::send_delayed(env, JOBS_QUEUE, messages).await?;
    Ok(sent)
}

/// [`send`] after a request's batch: a failure is logged, not returned, because
/// the job is written and the sweep will send it.
pub async fn start(env: &Env, dispatches: &[Dispatch], now: Instant, request_id: &str) {
    if let Err(e) = send(env, dispatches, now).await {
        log::event(
            "warn",
            request_id,
            "job start deferred to the jobs sweep",
            json!({"error": e.to_string(), "jobs": dispatches.iter().map(|d| d.job_id.as_str()).collect::<Vec<_>>()}),
        );
    }
}
