//! Getting jobs onto the `jobs` queue. A module enqueues with
//! `shared::jobs::store::enqueue`, puts the statement in the batch of the change
//! that causes the job, and once that batch is written calls [`start`] with the
//! message: the queue holds it until the job is due. A send that fails, or a job
//! due beyond the queue's 12 h, is sent by the jobs worker's every-minute sweep.

use serde::Deserialize;
use serde_json::{json, Value};
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

/// Where a module that runs jobs receives them from the jobs worker (POST).
pub const JOB_PATH: &str = "/_internal/jobs";

/// A job as the jobs worker hands it to the module that runs it.
#[derive(Debug, Clone, Deserialize)]
pub struct JobRequest {
    /// `job_…`
    pub job_id: String,
    /// Its registered type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm it runs for.
    pub firm_id: String,
    /// 1 for the first try.
    pub attempt: i64,
    /// What it works on.
    pub payload: Value,
    /// Carried into every log line of the job.
    pub correlation_id: String,
}

/// Why an attempt failed, as the jobs worker classifies it: by `status` (429
/// rate limited, 408/425/5xx retried, any other 4xx final), waiting
/// `retry_after_secs` when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The HTTP status answered.
    pub status: u16,
    /// What went wrong (kept on the attempt).
    pub error: String,
    /// When to come back.
    pub retry_after_secs: Option<i64>,
}

/// The module side of a job: reads what the jobs worker sent and runs `run` on
/// it; a result is a 200 with its JSON, a failure its status (with
/// `Retry-After`). Every attempt is a log line with the job's correlation id.
pub async fn serve_job<F, Fut>(
    mut req: worker::Request,
    cx: &crate::RequestContext,
    worker_name: &str,
    run: F,
) -> Result<worker::Response, DomainError>
where
    F: FnOnce(JobRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Value, JobFailure>>,
{
    if req.path() != JOB_PATH || crate::http::method(&req) != "POST" {
        return Err(DomainError::NotFound("route"));
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|e| DomainError::BadRequest(format!("job body: {e}")))?;
    let job: JobRequest = serde_json::from_slice(&bytes)
        .map_err(|e| DomainError::BadRequest(format!("not a job: {e}")))?;
    let started = crate::now();
    let about = json!({"job_id": job.job_id, "type": job.kind, "attempt": job.attempt,
                       "correlation_id": job.correlation_id});
    match run(job).await {
        Ok(done) => {
            log::task(
                worker_name,
                "job",
                &cx.request_id,
                started,
                None,
                json!({"job": about, "result": done}),
            );
            Ok(crate::http::json(200, &done, &cx.request_id))
        }
        Err(failure) => {
            log::event(
                "warn",
                &cx.request_id,
                "job attempt failed",
                json!({"job": about, "status": failure.status, "error": failure.error}),
            );
            let body = json!({"status": failure.status, "detail": failure.error});
            let response = crate::http::json(failure.status, &body, &cx.request_id);
            Ok(match failure.retry_after_secs {
                Some(secs) => crate::http::with_header(response, "retry-after", &secs.to_string()),
                None => response,
            })
        }
    }
}
