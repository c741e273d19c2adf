//! Structured logs: one JSON line per log event, with OpenTelemetry's names so the
//! platform's log search (and any collector) can filter by field: `timestamp` (UTC),
//! `severity_text` and `severity_number`, `body` (at most 1,000 characters),
//! `request.id`, `trace_id` and `span_id`, and the event's own `attributes`.
//!
//! The gateway writes one line per request ([`request`]: `http.route` — the route
//! template, never the raw path with its query —, status, duration, firm, user,
//! outcome, `error.type`); background work writes one line per task ([`task`]: a
//! tick, an event delivery, a queue message). Never pass a password, token, secret
//! or sealed value here: nothing in a line is redacted after the fact.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use shared::kernel::time::Instant;

/// Longest `body`, in characters.
pub const MAX_BODY_CHARS: usize = 1_000;

fn severity_number(level: &str) -> u8 {
    match level {
        "debug" => 5,
        "warn" => 13,
        "error" => 17,
        _ => 9,
    }
}

/// The trace a request id belongs to: every line of one request, in every worker it
/// reaches, shares it (the id crosses bindings as `x-request-id`); a job's trace is
/// its correlation id's.
pub fn trace_id(request_id: &str) -> String {
    let digest = Sha256::digest(request_id.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn span_id(request_id: &str, body: &str) -> String {
    let digest = Sha256::digest(format!("{request_id}\u{0}{body}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The line of one log event (what [`event`] prints), for tests and callers that
/// add fields of their own at the top level.
pub fn line(
    level: &str,
    request_id: &str,
    message: &str,
    top: Map<String, Value>,
    attributes: Value,
) -> Value {
    let body: String = message.chars().take(MAX_BODY_CHARS).collect();
    let mut out = Map::new();
    out.insert("timestamp".into(), crate::now().to_rfc3339().into());
    out.insert("severity_text".into(), level.to_ascii_uppercase().into());
    out.insert("severity_number".into(), severity_number(level).into());
    out.insert("body".into(), body.as_str().into());
    out.insert("request.id".into(), request_id.into());
    out.insert("trace_id".into(), trace_id(request_id).into());
    out.insert("span_id".into(), span_id(request_id, &body).into());
    out.extend(top);
    if !attributes.is_null() {
        out.insert("attributes".into(), attributes);
    }
    Value::Object(out)
}

fn print(level: &str, line: &Value) {
    if level == "error" {
        worker::console_error!("{line}");
    } else {
        worker::console_log!("{line}");
    }
}

/// Logs `message` at `level` (`debug`, `info`, `warn`, `error`) for the request or
/// task `request_id`, with `fields` as its attributes.
pub fn event(level: &str, request_id: &str, message: &str, fields: Value) {
    print(level, &line(level, request_id, message, Map::new(), fields));
}

/// How a request or task ended, from its status.
pub fn outcome(status: u16) -> &'static str {
    match status {
        0..=399 => "success",
        400..=499 => "refused",
        _ => "failed",
    }
}

/// What the gateway knows about a request it served.
#[derive(Debug, Default)]
pub struct Served<'a> {
    /// `GET`, `POST` …
    pub method: &'a str,
    /// The route template (`/v1/clients/{client_id}`), `None` when no route matched.
    pub route: Option<&'static str>,
    /// The answer's status.
    pub status: u16,
    /// The caller's firm, once their token was verified.
    pub firm_id: Option<String>,
    /// The caller (`usr_…`), once their token was verified.
    pub user_id: Option<String>,
}

/// The one line of a request the gateway served.
pub fn request(request_id: &str, served: &Served<'_>, started: Instant) {
    let level = if served.status >= 500 {
        "error"
    } else {
        "info"
    };
    let mut top = Map::new();
    top.insert("http.request.method".into(), served.method.into());
    top.insert(
        "http.route".into(),
        served.route.unwrap_or("(no route)").into(),
    );
    top.insert("http.response.status_code".into(), served.status.into());
    top.insert(
        "duration_ms".into(),
        (crate::now().millis() - started.millis()).max(0).into(),
    );
    top.insert("outcome".into(), outcome(served.status).into());
    if served.status >= 400 {
        top.insert("error.type".into(), served.status.to_string().into());
    }
    if let Some(firm) = &served.firm_id {
        top.insert("firm.id".into(), firm.as_str().into());
    }
    if let Some(user) = &served.user_id {
        top.insert("enduser.id".into(), user.as_str().into());
    }
    print(level, &line(level, request_id, "request", top, Value::Null));
}

/// The one line of a background task (`kind`: `tick`, `event`, `queue`, `job`) of
/// `worker`, with the error that failed it, if any.
pub fn task(
    worker: &str,
    kind: &str,
    request_id: &str,
    started: Instant,
    error: Option<&str>,
    fields: Value,
) {
    let level = if error.is_some() { "error" } else { "info" };
    let mut top = Map::new();
    top.insert("task.worker".into(), worker.into());
    top.insert("task.kind".into(), kind.into());
    top.insert(
        "duration_ms".into(),
        (crate::now().millis() - started.millis()).max(0).into(),
    );
    top.insert(
        "outcome".into(),
        if error.is_some() { "failed" } else { "success" }.into(),
    );
    if let Some(error) = error {
        top.insert("error.type".into(), json!("task"));
        top.insert(
            "error.message".into(),
            error
                .chars()
                .take(MAX_BODY_CHARS)
                .collect::<String>()
                .into(),
        );
    }
    print(
        level,
        &line(level, request_id, &format!("{worker} {kind}"), top, fields),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_follow_the_request_id_and_bodies_are_bounded() {
        assert_eq!(trace_id("req_1"), trace_id("req_1"));
        assert_ne!(trace_id("req_1"), trace_id("req_2"));
        assert_eq!(trace_id("req_1").len(), 32);
        assert_eq!(outcome(204), "success");
        assert_eq!(outcome(422), "refused");
        assert_eq!(outcome(503), "failed");
        assert_eq!(severity_number("warn"), 13);
    }
}
