//! The clients module worker: the firm's clients and their portal users. Staff
//! reach clients through `/v1/clients`, a client's portal users reach their own
//! client through `/v1/portal`. Reachable only through the gateway's service
//! binding; it still verifies the caller's token itself. It takes `crm.deal.won`:
//! the won deal's account becomes a client (or is linked to the one it is).

use shared::kernel::events::EventEnvelope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::Env;

mod handlers;

edge::module_worker!(shared::api::CLIENTS, handlers::dispatch, events: crate::consume);

/// Acts on an event the dispatcher hands over (idempotent by event id), then
/// publishes the link it recorded (the outbox sweep sends it if this fails).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    let db = edge::D1::from_env(&env)?;
    if let Some(linked) = shared::clients::events::handle(&db, &event, now).await? {
        edge::events::publish(&env, &db, &[linked], now, &event.id).await;
    }
    Ok(())
}
