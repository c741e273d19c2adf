//! From a domain event to a message and its deliveries. The message's body is the
//! Standard Webhooks envelope `{type, timestamp, data}`, fixed once: every attempt
//! signs and sends exactly these bytes. The message and one delivery per endpoint
//! whose filter covers the type are written in one batch, idempotent on (firm,
//! event) and (endpoint, message), so a redelivered event adds nothing.

use serde::Serialize;
use serde_json::{json, Value};

use super::delivery::Send;
use super::endpoint::Row;
use super::{EndpointStatus, MAX_BODY_BYTES};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::EventEnvelope;
use crate::kernel::id::new_id;
use crate::kernel::sql::Statement;
use crate::kernel::time::Instant;
use crate::stmt;

/// The body sent for an event: the envelope with `data`, or, past 64 KiB, a thin
/// one naming the event and where to read it.
pub fn body(kind: &str, occurred_at: &str, event_id: &str, data: &Value) -> String {
    #[derive(Serialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        timestamp: &'a str,
        data: &'a Value,
    }
    let full = serde_json::to_string(&Envelope {
        kind,
        timestamp: occurred_at,
        data,
    })
    .unwrap_or_default();
    if full.len() <= MAX_BODY_BYTES && !full.is_empty() {
        return full;
    }
    let thin = json!({"event_id": event_id, "thin": true, "url": format!("/v1/events/{event_id}")});
    serde_json::to_string(&Envelope {
        kind,
        timestamp: occurred_at,
        data: &thin,
    })
    .unwrap_or_default()
}

/// A message and its deliveries, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Fanout {
    /// The message's id (`msg_…`) if this call created it; an existing one is reused.
    pub message_id: String,
    /// The batch: the message, then one statement per delivery (in `deliveries` order).
    pub statements: Vec<Statement>,
    /// For each delivery statement: the queue message to send if it wrote a row
    /// (`None` for an endpoint that is paused: its delivery waits).
    pub deliveries: Vec<Option<Send>>,
}

impl Fanout {
    /// The queue messages to send, given how many rows each statement of the batch
    /// wrote (the message's first): only deliveries this batch created go out.
    pub fn sends(&self, changes: &[u64]) -> Vec<Send> {
        self.deliveries
            .iter()
            .enumerate()
            .filter(|(i, _)| changes.get(i + 1).is_some_and(|n| *n > 0))
            .filter_map(|(_, send)| send.clone())
            .collect()
    }
}

/// The message for `event` and a delivery for each of `endpoints` that wants its
/// type and existed when it happened (`only` sends to the one endpoint named,
/// whatever its filter: a test).
/// `None` when no endpoint wants it.
pub fn fan_out(
    event: &EventEnvelope,
    endpoints: &[Row],
    only: Option<&str>,
    now: Instant,
) -> DomainResult<Option<Fanout>> {
    let occurred = Instant::parse("occurred_at", &event.occurred_at).unwrap_or(now);
    // An endpoint receives what happens from its creation on, not what happened
    // before it existed and reached the queue late.
    let chosen: Vec<&Row> = endpoints
        .iter()
        .filter(|e| e.firm_id == event.firm_id && e.status != EndpointStatus::Disabled)
        .filter(|e| match only {
            Some(id) => e.id == id,
            None => e.wants(&event.kind) && e.created_at <= occurred.millis(),
        })
        .collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    let message_id = new_id("msg", now.millis())?;
    let body = body(&event.kind, &event.occurred_at, &event.id, &event.data);
    let mut statements = vec![stmt!(
        "INSERT INTO webhooks_messages (id, firm_id, event_id, type, occurred_at, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (firm_id, event_id) DO NOTHING",
        message_id.as_str(),
        event.firm_id.as_str(),
        event.id.as_str(),
        event.kind.as_str(),
        occurred.millis(),
        body,
        now.millis()
    )];
    let mut deliveries = Vec::new();
    for endpoint in chosen {
        let id = new_id("whd", now.millis())?;
        statements.push(stmt!(
            "INSERT INTO webhooks_deliveries (id, firm_id, message_id, endpoint_id, type, status, next_attempt_at, created_at, updated_at)
             SELECT ?1, ?2, m.id, ?3, ?4, 'pending', ?5, ?5, ?5 FROM webhooks_messages m
              WHERE m.firm_id = ?2 AND m.event_id = ?6
             ON CONFLICT (endpoint_id, message_id) DO NOTHING",
            id.as_str(),
            event.firm_id.as_str(),
            endpoint.id.as_str(),
            event.kind.as_str(),
            now.millis(),
            event.id.as_str()
        ));
        deliveries.push((endpoint.status == EndpointStatus::Active).then(|| Send {
            delivery_id: id,
            firm_id: event.firm_id.clone(),
            attempt: 1,
            due_at: now.millis(),
        }));
    }
    Ok(Some(Fanout {
        message_id,
        statements,
        deliveries,
    }))
}

/// The event of a test message to one endpoint: `kind` (default `webhook.test`)
/// with `data` (default the catalogue's example of the type). The event id is
/// `test_<uuid>`, never a domain event's.
pub fn test_event(
    firm_id: &str,
    kind: &str,
    data: Value,
    now: Instant,
) -> DomainResult<EventEnvelope> {
    Ok(EventEnvelope {
        id: format!("test_{}", crate::kernel::id::uuid_v4()?),
        kind: kind.to_owned(),
        firm_id: firm_id.to_owned(),
        occurred_at: now.to_rfc3339(),
        schema_version: 1,
        data,
    })
}

/// Parses a test request `{type?, data?}`: a catalogued type, and data that is a
/// JSON object (the type's example when absent).
pub fn parse_test(body: &Value, endpoint_id: &str, user_id: &str) -> DomainResult<(String, Value)> {
    use crate::kernel::validate::{Input, Validator};
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["type", "data"]);
    let kind = input
        .string(&mut v, "type", false)
        .unwrap_or(super::TEST_TYPE)
        .to_owned();
    let published = crate::catalogue::is_published(&kind);
    if !published {
        v.add(
            "type".to_owned(),
            "unknown_type",
            "type must be an event type of the catalogue (GET /v1/events/types)".to_owned(),
        );
    }
    let data = match input.raw("data") {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        Some(_) => {
            v.add(
                "data".to_owned(),
                "type",
                "data must be an object".to_owned(),
            );
            Value::Null
        }
        None if kind == super::TEST_TYPE => serde_json::to_value(super::events::WebhookTest {
            endpoint_id: endpoint_id.to_owned(),
            requested_by: user_id.to_owned(),
            message: "Hello from Firmament".into(),
        })
        .map_err(|e| DomainError::Unavailable(e.to_string()))?,
        None => crate::catalogue::example(&kind).unwrap_or(Value::Null),
    };
    v.finish()?;
    Ok((kind, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_the_envelope_until_it_is_too_big() {
        let small = body(
            "firm.created",
            "2026-11-26T09:00:00.000Z",
            "evt_1",
            &json!({"a": 1}),
        );
        assert_eq!(
            small,
            r#"{"type":"firm.created","timestamp":"2026-11-26T09:00:00.000Z","data":{"a":1}}"#
        );
        let big = body(
            "firm.created",
            "2026-11-26T09:00:00.000Z",
            "evt_1",
            &json!({"blob": "x".repeat(MAX_BODY_BYTES)}),
        );
        let parsed: Value = serde_json::from_str(&big).unwrap();
        assert_eq!(parsed["data"]["thin"], true);
        assert_eq!(parsed["data"]["url"], "/v1/events/evt_1");
    }

    #[test]
    fn a_test_needs_a_catalogued_type_and_object_data() {
        let (kind, data) = parse_test(&json!({}), "whe_1", "usr_1").unwrap();
        assert_eq!(kind, "webhook.test");
        assert_eq!(data["endpoint_id"], "whe_1");
        let (_, data) = parse_test(&json!({"type": "firm.created"}), "whe_1", "usr_1").unwrap();
        assert!(
            data.get("slug").is_some(),
            "the catalogue's example: {data}"
        );
        let err = parse_test(
            &json!({"type": "nope.nothing", "data": 3}),
            "whe_1",
            "usr_1",
        )
        .unwrap_err();
        let DomainError::Validation(errs) = err else {
            panic!()
        };
        let rules: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert_eq!(rules, [("type", "unknown_type"), ("data", "type")]);
    }
}
