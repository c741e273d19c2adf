//! Sending text messages through Twilio's Messages API
//! (`POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json`, HTTP Basic auth).

use base64::Engine as _;
use shared::DomainError;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::config;

/// Sends `body` to `to`; returns Twilio's message sid.
pub async fn send(env: &Env, to: &str, body: &str) -> Result<String, DomainError> {
    let base =
        config::text(env, "TWILIO_API_URL").unwrap_or_else(|| "https://api.twilio.com".to_owned());
    let sid = config::required(env, "TWILIO_ACCOUNT_SID")?;
    let token = config::required(env, "TWILIO_AUTH_TOKEN")?;
    let from = config::required(env, "TWILIO_FROM")?;
    let url = format!(
        "{}/2010-04-01/Accounts/{sid}/Messages.json",
        base.trim_end_matches('/')
    );
    let headers = Headers::new();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let _ = headers.set("authorization", &format!("Basic {credentials}"));
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    let _ = headers.set("accept", "application/json");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("To", to)
        .append_pair("From", &from)
        .append_pair("Body", body)
        .finish();
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(form.into()));
    let request = Request::new_with_init(&url, &init)
        .map_err(|e| DomainError::Unavailable(format!("sms: {e}")))?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| DomainError::Unavailable(format!("sms provider unreachable: {e}")))?;
    let status = response.status_code();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    match status {
        200 | 201 => Ok(answer
            .get("sid")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned()),
        // 21211 and friends: the number itself is refused, which is the caller's to fix.
        400 if answer
            .get("code")
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|c| (21200..21700).contains(&c)) =>
        {
            Err(DomainError::invalid(
                "phone",
                "undeliverable",
                "text messages cannot be sent to this number",
            ))
        }
        _ => Err(DomainError::Unavailable(format!(
            "sms provider answered {status}: {}",
            answer
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("no message")
        ))),
    }
}
