//! Our Standard Webhooks signing, exposed for the reference implementation to
//! judge (tests/oracles/standard_webhooks.py drives it).
//!
//! - `webhook-oracle sign`: prints JSON lines of deliveries signed by us (one and
//!   two secrets, assorted bodies): `{"secrets", "id", "timestamp", "body", "signature"}`.
//! - `webhook-oracle verify`: reads such lines (signed by someone else) on stdin and
//!   prints `ok` or the reason we refuse, one line each, judged at each timestamp.

use std::io::BufRead as _;

use serde_json::{json, Value};
use shared::webhooks::signature::{self, Secret};

fn main() -> Result<(), String> {
    match std::env::args().nth(1).as_deref() {
        Some("sign") => {
            let bodies = [
                r#"{"type":"client.created","timestamp":"2026-11-26T09:00:00.000Z","data":{"id":"cli_1"}}"#.to_owned(),
                r#"{"test": 2432232314}"#.to_owned(),
                json!({"type": "webhook.test", "data": {"note": "ünïcödé — and \"quotes\""}}).to_string(),
                json!({"type": "document.uploaded", "data": {"blob": "x".repeat(70_000)}}).to_string(),
            ];
            for (i, body) in bodies.iter().enumerate() {
                let current = Secret::generate().map_err(|e| e.detail())?;
                let previous = Secret::generate().map_err(|e| e.detail())?;
                let rotating = i % 2 == 1;
                let secrets: Vec<&Secret> = if rotating {
                    vec![&current, &previous]
                } else {
                    vec![&current]
                };
                let id = format!("msg_{i:026}");
                let timestamp = 1_795_000_000 + i as i64;
                let signed = signature::sign(&id, timestamp, body.as_bytes(), &secrets);
                let line = json!({
                    "secrets": secrets.iter().map(|s| s.expose()).collect::<Vec<_>>(),
                    "id": id, "timestamp": timestamp, "body": body, "signature": signed.signature,
                });
                println!("{line}");
            }
            Ok(())
        }
        Some("verify") => {
            for line in std::io::stdin().lock().lines() {
                let line = line.map_err(|e| e.to_string())?;
                let case: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
                let text = |k: &str| {
                    case.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let secret = Secret::parse("secret", &text("secret")).map_err(|e| e.detail())?;
                let ts = case
                    .get("timestamp")
                    .and_then(Value::as_i64)
                    .unwrap_or_default();
                let verdict = signature::verify(
                    &secret,
                    &text("id"),
                    &ts.to_string(),
                    &text("signature"),
                    text("body").as_bytes(),
                    ts,
                );
                println!(
                    "{}",
                    verdict.map_or_else(|r| format!("{r:?}"), |()| "ok".to_owned())
                );
            }
            Ok(())
        }
        _ => Err("usage: webhook-oracle sign|verify".into()),
    }
}
