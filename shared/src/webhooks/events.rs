//! The webhooks module's public events: the test event an endpoint can be sent,
//! and the operational events a firm's own systems may subscribe to (an endpoint
//! disabled, a message given up on, a message recovered).

use serde::{Deserialize, Serialize};

use crate::catalogue::DomainEvent;
use crate::kernel::error::DomainResult;
use crate::kernel::events::{self, EventEnvelope};
use crate::kernel::sql::Statement;
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;

/// A test message, sent on request to one endpoint to check it receives and verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WebhookTest {
    /// The endpoint it was sent to (`whe_…`).
    pub endpoint_id: String,
    /// Who asked for it.
    pub requested_by: String,
    /// Free text.
    pub message: String,
}

impl DomainEvent for WebhookTest {
    const TYPE: &'static str = super::TEST_TYPE;
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A test message a firm admin sent to one endpoint; it carries no business fact.";
    fn example() -> Self {
        Self {
            endpoint_id: "whe_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            requested_by: "usr_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into(),
            message: "Hello from Firmament".into(),
        }
    }
}

/// An endpoint stopped receiving deliveries without a person asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EndpointDisabled {
    /// The endpoint (`whe_…`).
    pub endpoint_id: String,
    /// Its URL.
    pub url: String,
    /// `failing` (every attempt failed for 5 days) or `gone` (it answered 410).
    pub reason: String,
    /// When its failures began (RFC 3339), for `failing`.
    pub failing_since: Option<String>,
}

impl DomainEvent for EndpointDisabled {
    const TYPE: &'static str = "webhook.endpoint.disabled";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A webhook endpoint was disabled: it answered 410 Gone, or every attempt to it failed for five days. Its waiting deliveries were cancelled.";
    fn example() -> Self {
        Self {
            endpoint_id: "whe_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            url: "https://hooks.example.com/firmament".into(),
            reason: "failing".into(),
            failing_since: Some("2026-11-21T09:30:00.000Z".into()),
        }
    }
}

/// A message's delivery to an endpoint ran out of attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageExhausted {
    /// The message (`msg_…`, its `webhook-id`).
    pub message_id: String,
    /// The endpoint (`whe_…`).
    pub endpoint_id: String,
    /// The message's event type.
    pub event_type: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last HTTP status, when there was an answer.
    pub last_status: Option<i64>,
}

impl DomainEvent for MessageExhausted {
    const TYPE: &'static str = "webhook.message.exhausted";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Every attempt to deliver a message to an endpoint failed; it will not be retried unless resent or recovered.";
    fn example() -> Self {
        Self {
            message_id: "msg_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            endpoint_id: "whe_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into(),
            event_type: "firm.created".into(),
            attempts: 8,
            last_status: Some(503),
        }
    }
}

/// A message that had been given up on reached its endpoint on a resend or recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageRecovered {
    /// The message (`msg_…`).
    pub message_id: String,
    /// The endpoint (`whe_…`).
    pub endpoint_id: String,
    /// The message's event type.
    pub event_type: String,
    /// Attempts made in all.
    pub attempts: i64,
}

impl DomainEvent for MessageRecovered {
    const TYPE: &'static str = "webhook.message.recovered";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A message that had failed for good reached its endpoint on a resend or recovery.";
    fn example() -> Self {
        Self {
            message_id: "msg_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            endpoint_id: "whe_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into(),
            event_type: "firm.created".into(),
            attempts: 9,
        }
    }
}

/// Whether an event about message delivery may itself become a message: a failing
/// endpoint subscribed to `webhook.message.*` must not feed itself forever.
pub fn feeds_back(kind: &str) -> bool {
    kind.starts_with("webhook.message.")
}

/// The envelope of `event` in `firm_id`'s firm, and the outbox statement.
pub fn raise<E: DomainEvent>(
    firm_id: &str,
    event: &E,
    now: Instant,
) -> DomainResult<(EventEnvelope, Statement)> {
    let envelope = event.envelope(&TenantScope::new(firm_id, None), now)?;
    let statement = events::record(&envelope, now)?;
    Ok((envelope, statement))
}
