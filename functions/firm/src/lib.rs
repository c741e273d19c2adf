//! The firm module worker. Reachable only through the gateway's service binding; it
//! still verifies the caller's token itself. It subscribes to `firm.created` to
//! finish a new firm's provisioning in the background, and runs the daily key work
//! on the platform clock's tick.

use shared::kernel::events::EventEnvelope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::Env;

mod flags;
mod handlers;

edge::module_worker!(shared::api::FIRM, handlers::dispatch, events: crate::consume, tick: crate::tick);

/// Acts on an event the dispatcher hands over (idempotent by event id).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    let db = edge::D1::from_env(&env)?;
    shared::firm::consumer::handle(&db, &event, now).await?;
    Ok(())
}

/// The minute's work: rewrite the flag snapshots of firms whose flags changed
/// lately; once a day, the data keys' rotation, re-sealing and re-wrapping.
pub(crate) async fn tick(
    env: &Env,
    now: Instant,
    _request_id: &str,
) -> Result<serde_json::Value, DomainError> {
    let snapshots = flags::republish_recent(env, now).await?;
    if !shared::kernel::time::is_daily_tick(now) {
        return Ok(serde_json::json!({"flag_snapshots": snapshots, "keys": null}));
    }
    let db = edge::D1::from_env(env)?;
    let done = shared::kernel::vault::maintain(&db, &edge::keys::root(env)?, now).await?;
    Ok(serde_json::json!({"flag_snapshots": snapshots, "keys": done}))
}
