//! The CRM module worker: pipelines and their stages, accounts and contacts, leads
//! scored by the firm's rules, deals moving to won or lost, the timeline of every
//! record, and the forecast with the firm's win model. Reachable only through the
//! gateway's service binding; it still verifies the caller's token itself. It takes
//! `client.account_linked` (a won deal's account became a client) and
//! `firm.member_deactivated` (their open leads and deals go to others) and, once a day on
//! the platform clock's tick, marks deals gone quiet and reminds their owners.

use shared::kernel::events::EventEnvelope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::Env;

mod handlers;

edge::module_worker!(shared::api::CRM, handlers::dispatch, events: crate::consume, tick: crate::tick);

/// Acts on an event the dispatcher hands over (idempotent by event id).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    let db = edge::D1::from_env(&env)?;
    if shared::crm::events::handle(&db, &event, now).await? {
        return Ok(());
    }
    if let Some((_, statements, notices)) =
        shared::crm::repository::assignment::handle(&db, &event, now).await?
    {
        let request_id = format!("evt:{}", event.id);
        edge::events::write_and_publish(&env, &db, statements, &notices, now, &request_id).await?;
    }
    Ok(())
}

/// The day's work, on the first tick of each UTC day: stale deals marked (with a
/// timeline entry) and their owners told in one batch, then scores whose points
/// faded brought down, then sent proposals past their day expired, then the
/// running month's and quarter's forecast kept for later comparison.
pub(crate) async fn tick(
    env: &Env,
    now: Instant,
    request_id: &str,
) -> Result<serde_json::Value, DomainError> {
    if !shared::kernel::time::is_daily_tick(now) {
        return Ok(serde_json::json!({"stale": null}));
    }
    let db = edge::D1::from_env(env)?;
    let rotten = shared::crm::rotting::newly_stale(&db, now).await?;
    let reminders = shared::crm::rotting::reminders(&rotten, now)?;
    let statements = shared::crm::rotting::mark(&rotten, now)?;
    if !statements.is_empty() {
        edge::events::write_and_publish(env, &db, statements, &reminders, now, request_id).await?;
    }
    let rescored = shared::crm::rotting::rescore_faded(&db, now).await?;
    let expired = shared::crm::repository::proposals::expire_due(&db, now).await?;
    let kept = shared::crm::repository::forecasts::snapshot_all(&db, now).await?;
    Ok(
        serde_json::json!({"stale": rotten.len(), "reminded": reminders.len(), "rescored": rescored,
                          "proposals_expired": expired, "forecast_rows_kept": kept}),
    )
}
