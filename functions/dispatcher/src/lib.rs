//! The event dispatcher: the one consumer of the `events` queue. Each event goes to
//! every module subscribed to its type (`shared::dispatch::subscriptions`) over that
//! module's service binding; each (event, module) delivery is claimed, recorded and
//! retried on its own, so a failing module never makes the others see an event twice.

use edge::events::EVENTS_QUEUE;
use edge::{config, D1};
use futures_util::future::join_all;
use serde_json::json;
use shared::dispatch::deliveries::{self, Outcome, Redelivery};
use shared::dispatch::subscriptions::{self, Subscription, SUBSCRIPTIONS};
use shared::kernel::events::EventEnvelope;
use shared::kernel::retry::{retryable_status, unit_sample};
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{event, Context, Env, MessageBatch};

mod handlers;

edge::module_worker!(shared::api::DISPATCHER, handlers::dispatch, internal: handlers::internal);

/// Hand-overs in flight at once (a worker may hold six connections open).
const CONCURRENCY: usize = 6;

/// What a queue message asks for.
enum Work {
    /// An event fresh from the outbox: every subscriber that has not had it.
    Fresh(EventEnvelope),
    /// One retry of one subscriber.
    Retry(Redelivery),
}

fn parse(text: &str) -> Option<Work> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if value.get("subscriber").is_some() {
        serde_json::from_value(value).ok().map(Work::Retry)
    } else {
        serde_json::from_value(value).ok().map(Work::Fresh)
    }
}

#[event(queue)]
async fn queue(
    batch: MessageBatch<serde_json::Value>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    let db = D1::from_env(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let extra = config::text(&env, "EXTRA_SUBSCRIPTIONS").unwrap_or_default();
    let extra = subscriptions::parse_extra(&extra);
    let table: Vec<&Subscription> = SUBSCRIPTIONS.iter().chain(extra.iter()).collect();
    edge::queue::consume(&batch, CONCURRENCY, "dispatcher", parse, |work| {
        run(&env, &db, &table, work)
    })
    .await;
    Ok(())
}

/// Claims what `work` asks for and hands each claimed delivery over.
async fn run(
    env: &Env,
    db: &D1,
    table: &[&Subscription<'_>],
    work: Work,
) -> Result<(), DomainError> {
    let now = edge::now();
    let (event, claims) = match work {
        Work::Fresh(event) => {
            let modules = subscriptions::subscribers(table.iter().copied(), &event.kind);
            let claims = deliveries::claim_new(db, &event, &modules, now).await?;
            (event, claims)
        }
        Work::Retry(r) => {
            let claim =
                deliveries::claim_retry(db, &r.event.id, &r.subscriber, r.attempt, now).await?;
            (r.event, claim.into_iter().collect())
        }
    };
    let outcomes = join_all(claims.iter().map(|c| hand_over(env, &c.subscriber, &event))).await;
    let now = edge::now();
    for (claim, outcome) in claims.iter().zip(outcomes) {
        if let Outcome::Failed { error, .. } = &outcome {
            edge::log::event(
                "warn",
                "dispatcher",
                "a module did not take an event",
                json!({"event_id": event.id, "subscriber": claim.subscriber, "attempt": claim.attempts, "error": error}),
            );
        }
        let retry = deliveries::record(
            db,
            &event,
            &claim.subscriber,
            claim.attempts,
            &outcome,
            now,
            unit_sample(),
        )
        .await?;
        if let Some(retry) = retry {
            schedule(env, &retry).await;
        }
    }
    Ok(())
}

/// Posts the event to `module`'s delivery path over its service binding.
async fn hand_over(env: &Env, module: &str, event: &EventEnvelope) -> Outcome {
    let failed = |error: String, permanent: bool| Outcome::Failed { error, permanent };
    let binding = subscriptions::binding(module);
    let service = match env.service(&binding) {
        Ok(s) => s,
        Err(e) => return failed(format!("no service binding {binding}: {e}"), false),
    };
    let Ok(body) = serde_json::to_string(event) else {
        return failed("the event does not serialise".into(), true);
    };
    let headers = worker::Headers::new();
    let _ = headers.set("content-type", "application/json");
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let url = format!("https://internal{}", edge::events::DELIVERY_PATH);
    let request = match worker::Request::new_with_init(&url, &init) {
        Ok(r) => r,
        Err(e) => return failed(format!("request: {e}"), false),
    };
    match service.fetch_request(request).await {
        Ok(mut answer) if answer.status_code() < 300 => {
            let _ = answer.bytes().await;
            Outcome::Delivered
        }
        Ok(mut answer) => {
            let status = answer.status_code();
            let text: String = answer
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect();
            failed(format!("HTTP {status}: {text}"), !retryable_status(status))
        }
        Err(e) => failed(format!("{binding}: {e}"), false),
    }
}

/// Queues a targeted retry with its delay. A retry further out than the queue can
/// hold, or a send that fails, is left to the sweep, which finds it overdue.
async fn schedule(env: &Env, retry: &Redelivery) {
    if retry.delay_secs > deliveries::MAX_QUEUE_DELAY_SECS {
        return;
    }
    let Ok(body) = serde_json::to_string(retry) else {
        return;
    };
    if let Err(e) = edge::events::send_later(env, EVENTS_QUEUE, body, retry.delay_secs).await {
        edge::log::event(
            "warn",
            "dispatcher",
            "retry left to the sweep",
            json!({"event_id": retry.event.id, "subscriber": retry.subscriber, "error": e.to_string()}),
        );
    }
}

/// Queues hand-overs due now (replays, and what the sweep found overdue).
pub(crate) async fn resend(env: &Env, due: &[Redelivery]) -> Result<usize, DomainError> {
    let bodies: Vec<String> = due
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .collect();
    let sent = bodies.len();
    edge::events::send_all(env, EVENTS_QUEUE, bodies).await?;
    Ok(sent)
}

/// The every-minute sweep: resends overdue and lost hand-overs.
pub(crate) async fn sweep(env: &Env, now: Instant) -> Result<usize, DomainError> {
    let db = D1::from_env(env)?;
    let due = deliveries::overdue(&db, now).await?;
    resend(env, &due).await
}
