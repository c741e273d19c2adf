//! The jobs worker: the one consumer of the `jobs` queue. Each message names a job
//! and the attempt it is for; the runner claims the row (one conditional update,
//! which also keeps each firm to its share of a category), runs the handler while
//! renewing its lease, and records the outcome: completed, a retry on the type's
//! policy (a fresh message carrying its delay), or the dead-letter list. Jobs of
//! other modules are handed to them over their service bindings.

use std::time::Duration;

use edge::{config, D1};
use futures_util::future::{select, Either};
use serde_json::{json, Value};
use shared::jobs::store::{self, ClaimResult, Claimed, Dispatch, Failure, Next, Outcome};
use shared::jobs::types::{self, JobType, DEFAULT_POLICY, PURGE_HISTORY};
use shared::jobs::ErrorClass;
use shared::kernel::retry::unit_sample;
use shared::kernel::sql::Sql as _;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{event, Context, Env, MessageBatch};

mod handlers;

edge::module_worker!(shared::api::JOBS, handlers::dispatch, internal: handlers::internal);

/// Jobs run at once by one invocation (a worker may hold six connections open).
const CONCURRENCY: usize = 6;
/// The queue that receives the messages the jobs queue gave up on.
const DEAD_LETTER_QUEUE: &str = "firmament-jobs-dlq";
/// Longest response text of a failed hand-over kept as the job's error.
const ERROR_EXCERPT: usize = 500;

/// The job types this deployment runs: the platform's and `EXTRA_JOB_TYPES`.
pub(crate) fn extra_types(env: &Env) -> String {
    config::text(env, "EXTRA_JOB_TYPES").unwrap_or_default()
}

#[event(queue)]
async fn queue(batch: MessageBatch<Value>, env: Env, _ctx: Context) -> worker::Result<()> {
    let db = D1::from_env(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let spec = extra_types(&env);
    let extra = types::parse_extra(&spec);
    let parse = |text: &str| serde_json::from_str::<Dispatch>(text).ok();
    if batch.queue() == DEAD_LETTER_QUEUE {
        edge::queue::consume(&batch, CONCURRENCY, "jobs", parse, |dispatch| {
            undeliverable(&db, dispatch)
        })
        .await;
    } else {
        edge::queue::consume(&batch, CONCURRENCY, "jobs", parse, |dispatch| {
            let (env, db, extra) = (&env, &db, &extra);
            async move { run(env, db, extra, &dispatch).await }
        })
        .await;
    }
    Ok(())
}

/// A message the jobs queue gave up on: the job it was for is failed and
/// dead-lettered (if it was still waiting for it).
async fn undeliverable(db: &D1, dispatch: Dispatch) -> Result<(), DomainError> {
    if store::fail_undeliverable(db, &dispatch, edge::now()).await? {
        edge::log::event(
            "error",
            "jobs",
            "the queue gave up on a job; it is dead-lettered",
            json!({"job_id": dispatch.job_id, "attempt": dispatch.attempt}),
        );
    }
    Ok(())
}

/// Claims the attempt `dispatch` is for, runs it, records the outcome and sends
/// what comes next (a retry, or the job waiting for the slot this one frees).
async fn run(
    env: &Env,
    db: &D1,
    extra: &[JobType<'_>],
    dispatch: &Dispatch,
) -> Result<(), DomainError> {
    let started = edge::now();
    let token = shared::kernel::id::new_id("run", started.millis())?;
    let claimed = match store::claim(db, dispatch, &token, started).await? {
        ClaimResult::Claimed(c) => *c,
        // A stale message, or a firm over its share: a finishing job or the sweep
        // sends the job again when its turn comes.
        ClaimResult::Waiting | ClaimResult::Stale => return Ok(()),
    };
    let kind = types::find(extra, &claimed.kind);
    let outcome = match kind {
        Some(kind) => execute(env, db, kind, &claimed, started).await,
        None => Outcome::Failed(Failure {
            class: ErrorClass::NonRetryable,
            status: None,
            error: format!("no handler is registered for job type {}", claimed.kind),
            retry_after_secs: None,
            timed_out: false,
        }),
    };
    let policy = kind.map_or(DEFAULT_POLICY, |k| k.policy);
    let next = store::finish(
        db,
        &claimed,
        &policy,
        &outcome,
        started,
        edge::now(),
        unit_sample(),
    )
    .await?;
    edge::log::event(
        "info",
        &claimed.correlation_id,
        "job attempt finished",
        json!({"job_id": claimed.id, "type": claimed.kind, "attempt": claimed.attempt_count, "next": format!("{next:?}")}),
    );
    match next {
        Next::Retry(retry) => {
            if let Err(e) = edge::jobs::send(env, &[retry], edge::now()).await {
                edge::log::event(
                    "warn",
                    &claimed.correlation_id,
                    "retry left to the sweep",
                    json!({"error": e.to_string()}),
                );
            }
        }
        Next::LostLease => {}
        Next::Completed | Next::DeadLettered | Next::Cancelled => {
            // The slot this job held is free: hand it to the next waiting job.
            if let Some(waiting) =
                store::next_waiting(db, &claimed.firm_id, claimed.category, edge::now()).await?
            {
                edge::jobs::start(env, &[waiting], edge::now(), &claimed.correlation_id).await;
            }
        }
    }
    Ok(())
}

/// Runs the handler, renewing the lease every third of it and cutting the attempt
/// off at the type's run timeout.
async fn execute(
    env: &Env,
    db: &D1,
    kind: &JobType<'_>,
    claimed: &Claimed,
    started: Instant,
) -> Outcome {
    let work = perform(env, db, kind, claimed);
    futures_util::pin_mut!(work);
    let deadline = started.millis() + kind.policy.run_timeout_ms;
    loop {
        let remaining = deadline - edge::now().millis();
        if remaining <= 0 {
            return Outcome::Failed(Failure {
                class: ErrorClass::Transient,
                status: None,
                error: format!(
                    "the attempt ran past the type's {} ms run timeout",
                    kind.policy.run_timeout_ms
                ),
                retry_after_secs: None,
                timed_out: true,
            });
        }
        let wait = u64::try_from(remaining.min(store::RENEW_EVERY_MS)).unwrap_or(1);
        let tick = Box::pin(worker::Delay::from(Duration::from_millis(wait)));
        match select(work.as_mut(), tick).await {
            Either::Left((outcome, _)) => return outcome,
            Either::Right(((), _)) => {
                if let Ok(false) = store::renew(db, claimed, edge::now()).await {
                    // Another runner has the job now; its outcome is the one kept.
                    return Outcome::Failed(Failure {
                        class: ErrorClass::Transient,
                        status: None,
                        error: "the lease was taken over".into(),
                        retry_after_secs: None,
                        timed_out: false,
                    });
                }
            }
        }
    }
}

/// Runs the job: the jobs worker's own types here, any other module's over its
/// service binding.
async fn perform(env: &Env, db: &D1, kind: &JobType<'_>, claimed: &Claimed) -> Outcome {
    if kind.module == "jobs" {
        return builtin(db, claimed).await;
    }
    hand_over(env, kind.module, claimed).await
}

async fn builtin(db: &D1, claimed: &Claimed) -> Outcome {
    let payload: Value = serde_json::from_str(&claimed.payload).unwrap_or(Value::Null);
    let result = match claimed.kind.as_str() {
        PURGE_HISTORY => {
            let as_of = payload
                .get("as_of")
                .and_then(Value::as_i64)
                .map_or_else(edge::now, Instant::from_millis);
            store::purge(db, &claimed.firm_id, as_of)
                .await
                .map(|purged| json!(purged))
        }
        other => Err(DomainError::BadRequest(format!(
            "the jobs worker has no handler for {other}"
        ))),
    };
    match result {
        Ok(value) => Outcome::Completed(Some(value)),
        Err(e) => Outcome::Failed(Failure {
            class: match e {
                DomainError::Unavailable(_) => ErrorClass::Transient,
                _ => ErrorClass::NonRetryable,
            },
            status: None,
            error: e.to_string(),
            retry_after_secs: None,
            timed_out: false,
        }),
    }
}

/// The W3C `traceparent` of an outbound call inside a job: the trace is the job's
/// correlation id, the span fresh.
fn traceparent(correlation_id: &str) -> String {
    let trace: String = correlation_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let mut span = [0u8; 8];
    let _ = shared::kernel::id::random_bytes(&mut span);
    let span: String = span.iter().map(|b| format!("{b:02x}")).collect();
    format!("00-{trace:0>32}-{span}-01")
}

/// Hands the job to `module` (`POST /_internal/jobs` over its service binding). A
/// 2xx is success (its JSON body the result); any other status is classified by
/// [`ErrorClass::of_status`], with `Retry-After` for rate limits; no answer at all
/// is transient.
async fn hand_over(env: &Env, module: &str, claimed: &Claimed) -> Outcome {
    let failed =
        |class: ErrorClass, status: Option<u16>, error: String, retry_after_secs: Option<i64>| {
            Outcome::Failed(Failure {
                class,
                status,
                error,
                retry_after_secs,
                timed_out: false,
            })
        };
    let binding = module.to_ascii_uppercase();
    let service = match env.service(&binding) {
        Ok(s) => s,
        Err(e) => {
            return failed(
                ErrorClass::Transient,
                None,
                format!("no service binding {binding}: {e}"),
                None,
            )
        }
    };
    let body = json!({
        "job_id": claimed.id,
        "type": claimed.kind,
        "firm_id": claimed.firm_id,
        "attempt": claimed.attempt_count,
        "payload_version": claimed.payload_version,
        "payload": serde_json::from_str::<Value>(&claimed.payload).unwrap_or(Value::Null),
        "idempotency_key": claimed.idempotency_key,
        "correlation_id": claimed.correlation_id,
    });
    let headers = worker::Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("traceparent", &traceparent(&claimed.correlation_id));
    let _ = headers.set("x-correlation-id", &claimed.correlation_id);
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(body.to_string().into()));
    let url = format!("https://internal{}", edge::jobs::JOB_PATH);
    let request = match worker::Request::new_with_init(&url, &init) {
        Ok(r) => r,
        Err(e) => return failed(ErrorClass::Transient, None, format!("request: {e}"), None),
    };
    match service.fetch_request(request).await {
        Ok(mut answer) if answer.status_code() < 300 => {
            let text = answer.text().await.unwrap_or_default();
            Outcome::Completed(serde_json::from_str(&text).ok())
        }
        Ok(mut answer) => {
            let status = answer.status_code();
            let retry_after = edge::http::retry_after_secs(&answer);
            let text: String = answer
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(ERROR_EXCERPT)
                .collect();
            failed(
                ErrorClass::of_status(status),
                Some(status),
                format!("HTTP {status}: {text}"),
                retry_after,
            )
        }
        Err(e) => failed(ErrorClass::Transient, None, format!("{binding}: {e}"), None),
    }
}

/// The every-minute tick: the reaper, the SLA check, the daily retention jobs and
/// the sweep, in that order (so a job reaped or newly due is sent in the same tick).
pub(crate) async fn tick(env: &Env, now: Instant, request_id: &str) -> Result<Value, DomainError> {
    let db = D1::from_env(env)?;
    let reaped = store::reap(&db, now).await?;
    let breaches = store::sla_breaches(&db, now).await?;
    if !breaches.is_empty() {
        let (events, statements) = shared::jobs::events::sla_breached(&breaches, now)?;
        db.batch(statements).await?;
        edge::events::publish(env, &db, &events, now, request_id).await;
    }
    let mut purges = 0;
    if shared::kernel::time::is_daily_tick(now) {
        let firms = store::firms_with_history(&db, now).await?;
        let enqueued = store::purge_jobs(&firms, now)?;
        purges = enqueued.len();
        if !enqueued.is_empty() {
            db.batch(enqueued.iter().map(|e| e.statement.clone()).collect())
                .await?;
            // A firm's job for the day may exist already: its message claims nothing.
            let starts: Vec<Dispatch> = enqueued.into_iter().map(|e| e.dispatch).collect();
            edge::jobs::start(env, &starts, now, request_id).await;
        }
    }
    let due = store::sweep(&db, now).await?;
    let sent = edge::jobs::send(env, &due, now).await?;
    Ok(
        json!({"at": now.millis(), "reaped": reaped, "sla_breaches": breaches.len(), "purges": purges, "sent": sent}),
    )
}
