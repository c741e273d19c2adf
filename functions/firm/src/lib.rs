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

edge::module_worker!(shared::api::FIRM, handlers::dispatch, internal: handlers::internal);

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
