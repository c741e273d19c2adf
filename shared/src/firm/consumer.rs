//! What the firm module does when events arrive. Every side effect is idempotent and
//! goes in one batch with the consumer's receipt, so a duplicate delivery is counted
//! and changes nothing else.

use crate::kernel::error::DomainResult;
use crate::kernel::events::{receipt, EventEnvelope};
use crate::kernel::sql::Sql;
use crate::kernel::time::Instant;

use super::provision::FIRM_CREATED;
use super::repository::{complete_step, mark_provisioned};

/// Name under which this consumer's receipts are kept.
pub const CONSUMER: &str = "firm";
/// The step recorded when a new firm's background provisioning is done.
pub const STEP_PROVISIONED: &str = "provisioned";

/// Acts on one delivered event. Returns whether the event concerned this consumer.
pub async fn handle(db: &impl Sql, event: &EventEnvelope, now: Instant) -> DomainResult<bool> {
    if event.kind != FIRM_CREATED {
        return Ok(false);
    }
    db.batch(vec![
        receipt(CONSUMER, event, now),
        complete_step(&event.firm_id, STEP_PROVISIONED, &event.id, now),
        mark_provisioned(&event.firm_id, now),
    ])
    .await?;
    Ok(true)
}
