//! The webhooks worker. It receives every event from the dispatcher (subscription
//! `*`) and turns each published one into a message and a delivery per endpoint
//! whose filter covers it; it is the one consumer of the `webhooks` queue, whose
//! messages it signs and sends ([`send`]); and it serves the endpoints API. Every
//! minute the tick resends late deliveries; once a day it disables endpoints that
//! have failed for five days and purges what is past retention.

use edge::{config, D1};
use serde_json::{json, Value};
use shared::kernel::events::EventEnvelope;
use shared::kernel::sql::Sql as _;
use shared::kernel::time::Instant;
use shared::webhooks::delivery::{self, Send};
use shared::webhooks::destination::Policy;
use shared::webhooks::{endpoint, message, CONCURRENCY};
use shared::DomainError;
use worker::{event, Context, Env, MessageBatch};

mod handlers;
mod send;

edge::module_worker!(shared::api::WEBHOOKS, handlers::dispatch, events: crate::consume, tick: crate::tick);

/// Binding of the `webhooks` queue producer.
const QUEUE: &str = "WEBHOOKS";
/// The queue that receives the messages the `webhooks` queue gave up on.
const DEAD_LETTER_QUEUE: &str = "firmament-webhooks-dlq";
/// The longest delay a queue message can carry, seconds.
const MAX_DELAY_SECS: i64 = 43_200;

/// What this deployment allows beyond public addresses: loopback and plain
/// `http` only when `WEBHOOKS_ALLOW_LOOPBACK` is `true`, which only local
/// development's `.dev.vars` sets (never a deployed config).
pub(crate) fn policy(env: &Env) -> Policy {
    Policy {
        allow_loopback: config::text(env, "WEBHOOKS_ALLOW_LOOPBACK").as_deref() == Some("true"),
    }
}

#[event(queue)]
async fn queue(batch: MessageBatch<Value>, env: Env, _ctx: Context) -> worker::Result<()> {
    let db = D1::from_env(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let parse = |text: &str| serde_json::from_str::<Send>(text).ok();
    if batch.queue() == DEAD_LETTER_QUEUE {
        // The delivery stays due; the minute's sweep finds it late and resends it.
        edge::queue::consume(&batch, CONCURRENCY, "webhooks", parse, |s| async move {
            edge::log::event(
                "error",
                "webhooks",
                "the queue gave up on a delivery message; the sweep will resend it",
                json!({"delivery_id": s.delivery_id, "attempt": s.attempt}),
            );
            Ok(())
        })
        .await;
        return Ok(());
    }
    let keys = edge::keys::root(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let policy = policy(&env);
    edge::queue::consume(&batch, CONCURRENCY, "webhooks", parse, |s| {
        let (env, db, keys) = (&env, &db, &keys);
        async move { send::attempt(env, db, keys, policy, &s).await }
    })
    .await;
    Ok(())
}

/// Queues `sends`, each held until it is due; one due beyond the queue's reach is
/// left to the sweep. Returns how many were sent.
pub(crate) async fn enqueue(env: &Env, sends: &[Send], now: Instant) -> Result<usize, DomainError> {
    let messages: Vec<(String, i64)> = sends
        .iter()
        .filter_map(|s| {
            let delay = (s.due_at - now.millis() + 999).div_euclid(1_000).max(0);
            (delay <= MAX_DELAY_SECS)
                .then(|| serde_json::to_string(s).ok().map(|body| (body, delay)))
                .flatten()
        })
        .collect();
    let sent = messages.len();
    edge::events::send_delayed(env, QUEUE, messages).await?;
    Ok(sent)
}

/// [`enqueue`] after the rows are written: a failure is logged, not returned (the
/// deliveries are stored; the sweep sends them).
pub(crate) async fn start(env: &Env, sends: &[Send], now: Instant, request_id: &str) {
    if sends.is_empty() {
        return;
    }
    if let Err(e) = enqueue(env, sends, now).await {
        edge::log::event(
            "warn",
            request_id,
            "webhook deliveries left to the sweep",
            json!({"error": e.to_string(), "deliveries": sends.len()}),
        );
    }
}

/// An event from the dispatcher: a message and its deliveries, written once
/// (a redelivered event writes and sends nothing).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    if !shared::catalogue::is_published(&event.kind) {
        return Ok(());
    }
    let db = D1::from_env(&env)?;
    let endpoints = endpoint::receiving(&db, &event.firm_id).await?;
    let Some(fanout) = message::fan_out(&event, &endpoints, None, now)? else {
        return Ok(());
    };
    let outcomes = db.batch(fanout.statements.clone()).await?;
    let changes: Vec<u64> = outcomes.iter().map(|o| o.changes).collect();
    let sends = fanout.sends(&changes);
    start(&env, &sends, now, &event.id).await;
    Ok(())
}

/// The every-minute tick: late deliveries and dead claims resent; in a day's first
/// minute, endpoints failing for five days disabled (their admins told) and the
/// log past retention purged.
pub(crate) async fn tick(env: &Env, now: Instant, request_id: &str) -> Result<Value, DomainError> {
    let db = D1::from_env(env)?;
    let due = delivery::sweep(&db, now).await?;
    // The sweep's messages are due already (their due time is in the past).
    let sent = enqueue(env, &due, now).await?;
    let mut disabled = 0;
    let mut purged = 0;
    if shared::kernel::time::is_daily_tick(now) {
        for failing in delivery::failing(&db, now).await? {
            let (statements, event) = delivery::disable_failing(&failing, now)?;
            let notice = send::Disabled {
                firm_id: &failing.firm_id,
                endpoint_id: &failing.id,
                name: &failing.name,
                url: &failing.url,
                why: "every attempt to deliver to it has failed for five days",
            };
            send::tell_admins(env, &db, &notice, statements, now, request_id).await?;
            edge::events::publish(env, &db, std::slice::from_ref(&event), now, request_id).await;
            disabled += 1;
        }
        purged = delivery::purge(&db, now).await?;
    }
    Ok(json!({"at": now.millis(), "sent": sent, "disabled": disabled, "purged": purged}))
}
