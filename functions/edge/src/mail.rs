//! Delivering queued mail through the provider's HTTP API (Postmark's "send a single
//! email" contract: `POST {MAIL_API_URL}/email` with `X-Postmark-Server-Token`).

use serde_json::json;
use shared::kernel::sql::Sql as _;
use shared::kernel::time::Instant;
use shared::mail::{self, Message};
use shared::DomainError;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::{config, log, D1};

struct Provider {
    url: String,
    token: String,
    from: String,
}

fn provider(env: &Env) -> Result<Provider, DomainError> {
    let base = config::text(env, "MAIL_API_URL")
        .unwrap_or_else(|| "https://api.postmarkapp.com".to_owned());
    Ok(Provider {
        url: format!("{}/email", base.trim_end_matches('/')),
        token: config::required(env, "MAIL_API_TOKEN")?,
        from: config::text(env, "MAIL_FROM")
            .unwrap_or_else(|| "Firmament <no-reply@firmament.app>".to_owned()),
    })
}

async fn send(provider: &Provider, message: &Message) -> Result<String, String> {
    let headers = Headers::new();
    let _ = headers.set("accept", "application/json");
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("x-postmark-server-token", &provider.token);
    let body = json!({
        "From": provider.from,
        "To": message.to_addr,
        "Subject": message.subject,
        "TextBody": message.body_text,
        "MessageStream": "outbound",
    });
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.to_string().into()));
    let request = Request::new_with_init(&provider.url, &init).map_err(|e| e.to_string())?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| format!("mail provider unreachable: {e}"))?;
    let status = response.status_code();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    let code = answer.get("ErrorCode").and_then(serde_json::Value::as_i64);
    match (status, code) {
        (200, Some(0)) => Ok(answer
            .get("MessageID")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()),
        _ => Err(format!(
            "mail provider answered {status}: {}",
            answer
                .get("Message")
                .and_then(|v| v.as_str())
                .unwrap_or("no message")
        )),
    }
}

/// Attempts every due message (or only `only`); records each outcome. Returns how
/// many were delivered. Failures are logged and left to the sweep's next run.
pub async fn deliver(
    env: &Env,
    db: &D1,
    only: Option<&[String]>,
    now: Instant,
    request_id: &str,
) -> usize {
    let provider = match provider(env) {
        Ok(p) => p,
        Err(e) => {
            log::event(
                "error",
                request_id,
                "mail not configured",
                json!({"error": e.to_string()}),
            );
            return 0;
        }
    };
    let due = match only {
        Some(ids) => mail::queued(db, ids).await,
        None => mail::claim_due(db, now).await,
    };
    let due = match due {
        Ok(due) => due,
        Err(e) => {
            log::event(
                "error",
                request_id,
                "mail outbox unreadable",
                json!({"error": e.to_string()}),
            );
            return 0;
        }
    };
    let mut sent = 0;
    for message in &due {
        let outcome = match send(&provider, message).await {
            Ok(provider_id) => {
                sent += 1;
                mail::mark_sent(&message.id, &provider_id, now)
            }
            Err(error) => {
                log::event(
                    "warn",
                    request_id,
                    "mail delivery failed; will retry",
                    json!({"mail_id": message.id, "error": error}),
                );
                mail::mark_failed(&message.id, &error, now)
            }
        };
        if let Err(e) = db.execute(outcome).await {
            log::event(
                "error",
                request_id,
                "mail outcome not recorded",
                json!({"mail_id": message.id, "error": e.to_string()}),
            );
        }
    }
    sent
}

/// Queues `message` to `to` in one batch with `extra` (the change it reports), then
/// tries to deliver it at once; the sweep retries if that fails.
pub async fn queue_and_send(
    db: &D1,
    env: &Env,
    cx: &crate::RequestContext,
    to: &str,
    message: (String, String),
    extra: Vec<shared::kernel::sql::Statement>,
) -> Result<(), DomainError> {
    let (subject, body) = message;
    let (mail_id, queued) = mail::enqueue(to, &subject, &body, cx.now)?;
    let mut statements = extra;
    statements.push(queued);
    db.batch(statements).await?;
    deliver(
        env,
        db,
        Some(std::slice::from_ref(&mail_id)),
        cx.now,
        &cx.request_id,
    )
    .await;
    Ok(())
}
