//! The catalogue of public domain events: each type's name, version, description,
//! the JSON Schema of its `data` and an example. The schemas are generated from the
//! Rust types that emitters use ([`DomainEvent`]), natively, into `event_types.json`;
//! a test regenerates it and fails when the committed file differs, so the published
//! contract cannot drift from what the code sends. Workers serve the file as it is
//! (`GET /v1/events/types`, the `webhooks` section of the OpenAPI document).

use serde::Serialize;

use crate::kernel::error::DomainResult;
use crate::kernel::events::EventEnvelope;
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;

/// The generated catalogue, as served.
pub const EVENT_TYPES_JSON: &str = include_str!("event_types.json");

/// A public domain event: its `data` is this type, serialised.
pub trait DomainEvent: Serialize {
    /// The type name (`firm.created`).
    const TYPE: &'static str;
    /// The version of the shape of `data`; bumped on any incompatible change.
    const VERSION: u32;
    /// What happened, in a sentence, for the people who subscribe to it.
    const DESCRIPTION: &'static str;
    /// A realistic example of `data`.
    fn example() -> Self;

    /// The envelope of this event in `scope`'s firm at `now`.
    fn envelope(&self, scope: &TenantScope, now: Instant) -> DomainResult<EventEnvelope>
    where
        Self: Sized,
    {
        let data = serde_json::to_value(self)
            .map_err(|e| crate::DomainError::Unavailable(format!("event data: {e}")))?;
        let mut event = EventEnvelope::new(scope, Self::TYPE, now, data)?;
        event.schema_version = Self::VERSION;
        Ok(event)
    }
}

/// Lists every public event type, once each: `$visit!(Type)` for each. Add a new
/// event here and run the catalogue test with `UPDATE_CATALOGUE=1`.
#[macro_export]
macro_rules! for_each_event_type {
    ($visit:ident) => {
        $visit!($crate::firm::provision::FirmCreated);
        $visit!($crate::firm::members::MemberDeactivated);
        $visit!($crate::jobs::events::JobsSlaBreached);
        $visit!($crate::webhooks::events::WebhookTest);
        $visit!($crate::webhooks::events::EndpointDisabled);
        $visit!($crate::webhooks::events::MessageExhausted);
        $visit!($crate::webhooks::events::MessageRecovered);
        $visit!($crate::crm::events::DealWon);
        $visit!($crate::crm::events::DealLost);
        $visit!($crate::crm::automation::DealStageEntered);
        $visit!($crate::clients::events::AccountLinked);
    };
}

/// Whether `kind` is a type in the published catalogue.
pub fn is_published(kind: &str) -> bool {
    published_types().contains(&kind)
}

/// Every type in the published catalogue, in catalogue order.
pub fn published_types() -> Vec<&'static str> {
    let mut types = Vec::new();
    macro_rules! push {
        ($t:ty) => {
            types.push(<$t as DomainEvent>::TYPE);
        };
    }
    for_each_event_type!(push);
    types
}

/// The catalogued example of `kind`'s data, when `kind` is published.
pub fn example(kind: &str) -> Option<serde_json::Value> {
    let catalogue: serde_json::Value = serde_json::from_str(EVENT_TYPES_JSON).ok()?;
    catalogue
        .get("items")?
        .as_array()?
        .iter()
        .find(|item| item.get("type").and_then(serde_json::Value::as_str) == Some(kind))?
        .get("example")
        .cloned()
}

#[cfg(feature = "schema")]
pub mod generate;
