//! The notifications worker: the dispatcher hands it `notification.requested`
//! events, which it turns into in-app items and e-mail through the pipeline of
//! `shared::notify`; it serves each person's inbox and preferences; every minute it
//! releases e-mail held for quiet hours and sends the digests that are due.

use edge::D1;
use serde_json::json;
use shared::kernel::events::{self, EventEnvelope};
use shared::kernel::sql::{violates_unique, Sql as _};
use shared::kernel::time::Instant;
use shared::notify::store;
use shared::DomainError;
use worker::Env;

mod handlers;

edge::module_worker!(shared::api::NOTIFICATIONS, handlers::dispatch, events: crate::consume, tick: crate::tick);

/// Acts on one event (idempotent: a redelivery finds its receipt, and a
/// concurrent duplicate fails on the notifications' uniqueness and is taken as done).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    let Some(request) = store::parse(&event) else {
        return Ok(());
    };
    let db = D1::from_env(&env)?;
    if events::seen(&db, store::CONSUMER, &event.id).await? {
        return Ok(());
    }
    if let Some((statements, children)) = store::split(&event, &request, now)? {
        db.batch(statements).await?;
        edge::events::publish(&env, &db, &children, now, &event.id).await;
        return Ok(());
    }
    let keys = match &request.sealed {
        Some(_) => Some(edge::keys::existing(&env, &db, &event.firm_id).await?),
        None => None,
    };
    let vars = store::variables(&event, &request, keys.as_ref())?;
    let planned = store::plan(&db, &event, &request, &vars, now).await?;
    match db.batch(planned.statements).await {
        Ok(_) => {}
        Err(e) if violates_unique(&e, "notify_notifications") => return Ok(()),
        Err(e) => return Err(e),
    }
    if !planned.mail_ids.is_empty() {
        edge::mail::deliver(&env, &db, Some(&planned.mail_ids), now, &event.id).await;
    }
    Ok(())
}

/// The minute's work: held e-mail whose quiet hours ended, digests that are due.
pub(crate) async fn tick(
    env: &Env,
    now: Instant,
    request_id: &str,
) -> Result<serde_json::Value, DomainError> {
    let db = D1::from_env(env)?;
    let released = store::release_held(&db, now).await?;
    let digests = store::flush_digests(&db, now).await?;
    let mut all = released.clone();
    all.extend(digests.iter().cloned());
    if !all.is_empty() {
        edge::mail::deliver(env, &db, Some(&all), now, request_id).await;
    }
    Ok(json!({"released": released.len(), "digests": digests.len()}))
}
