//! Exports plain `extern "C"` loops over the production code paths, so that
//! `scripts/bench` can time them in Node's V8 (workerd's engine) without any
//! JavaScript glue: Argon2id password verification with the production cost, and
//! access-token verification. No randomness is involved, so the module
//! has no imports.

use shared::auth::password;
use shared::auth::token::TokenVerifier;
use shared::kernel::time::Instant;

/// An Argon2id hash of "correct horse battery" with the production parameters.
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM";
const PUBLIC: &str = "k:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg";
const NOW_MS: i64 = 1_790_000_000_000;

/// Verifies the password `n` times; returns how many matched (all, if the hash is right).
#[no_mangle]
pub extern "C" fn argon2_verify(n: u32) -> u32 {
    (0..n)
        .filter(|_| password::verify("correct horse battery", HASH))
        .count() as u32
}

/// An access token signed with `SEED` at `NOW_MS` (signing draws random noise,
/// which this import-free module cannot, so the token is made natively).
const TOKEN: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsiLCJ0eXAiOiJKV1QifQ.eyJleHAiOjE3OTAwMDA5MDAsIm5iZiI6MTc5MDAwMDAwMCwiaWF0IjoxNzkwMDAwMDAwLCJzdWIiOiJ1c3JfMDFKRDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiLCJmaXJtIjoiZnJtXzAxSkQwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwicm9sZSI6ImZpcm1fYWRtaW4iLCJmbGFncyI6WyJjYW5fbWFuYWdlX3VzZXJzIiwiY2FuX21hbmFnZV9jbGllbnRzIiwiY2FuX21hbmFnZV9iaWxsaW5nIiwiY2FuX21hbmFnZV9zZXR0aW5ncyIsImNhbl92aWV3X3JlcG9ydHMiXSwic2lkIjoic2VzXzAxSkQwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwiYW1yIjpbInB3ZCJdLCJpc3MiOiJmaXJtYW1lbnQiLCJhdWQiOiJmaXJtYW1lbnQtYXBpIn0.L60aLh14f-Y3YR0Pwpo0xddh9IH3xE0Wx_E1AA-RqErxu7fsFGxzR5jDgV0pcrLo5BujFCiOjSpu76p5usC9Bw";

/// Verifies one access token `n` times (key parsing included, as each request does);
/// returns how many verified.
#[no_mangle]
pub extern "C" fn token_verify(n: u32) -> u32 {
    (0..n)
        .filter(|_| {
            TokenVerifier::from_config(PUBLIC, "firmament", "firmament-api")
                .is_ok_and(|v| v.verify(TOKEN, Instant::from_millis(NOW_MS + 1000)).is_ok())
        })
        .count() as u32
}

/// The webhook secret of the bench (Standard Webhooks' published example key).
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Signs a 1 KiB delivery body `n` times as a delivery does (secret parsed from
/// its text, HMAC-SHA256 of id.timestamp.body, header built); returns how many
/// produced a `v1` signature.
#[no_mangle]
pub extern "C" fn webhook_sign(n: u32) -> u32 {
    let body = [b'x'; 1_024];
    (0..n)
        .filter(|i| {
            shared::webhooks::signature::Secret::parse("secret", WEBHOOK_SECRET).is_ok_and(|s| {
                shared::webhooks::signature::sign(
                    "msg_01JD7X3V9T2Q4M8K6P1R5S0W3Z",
                    1_790_000_000 + i64::from(*i),
                    &body,
                    &[&s],
                )
                .signature
                .starts_with("v1,")
            })
        })
        .count() as u32
}

/// A firm's flag snapshot as workers read it from KV: 20 flags, each with a
/// role rule, a version rule and a 10 % rollout.
fn snapshot_text() -> String {
    let flags: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#""flag-{i:02}": {{"key": "flag-{i:02}", "type": "boolean", "kind": "release", "enabled": true,
                   "variants": {{"on": true, "off": false}}, "default_variant": "off", "off_variant": "off",
                   "salt": "flag-{i:02}", "version": 3, "rules": [
                     {{"conditions": [{{"attribute": "role", "op": "in", "values": ["partner"]}}], "serve": {{"variant": "on"}}}},
                     {{"conditions": [{{"attribute": "version", "op": "semver_gte", "values": ["2.0.0"]}}], "serve": {{"variant": "on"}}}},
                     {{"serve": {{"split": [{{"variant": "on", "weight": 1000}}, {{"variant": "off", "weight": 9000}}]}}}}]}}"#
            )
        })
        .collect();
    format!(r#"{{"version": 1, "flags": {{{}}}}}"#, flags.join(","))
}

/// Evaluates one flag `n` times for different people (staff, no version: the split
/// decides); returns how many answered by a rule of the flag.
#[no_mangle]
pub extern "C" fn flag_evaluate(n: u32) -> u32 {
    let Ok(snapshot) = serde_json::from_str::<shared::flags::store::Snapshot>(&snapshot_text())
    else {
        return 0;
    };
    let flag = snapshot.flags.get("flag-07");
    (0..n)
        .filter(|i| {
            let ctx = shared::flags::Context {
                firm: "frm_01JD0000000000000000000000".into(),
                member: Some(format!("usr_{i:026}")),
                role: Some("staff".into()),
                ..Default::default()
            };
            let r = shared::flags::evaluate(
                "flag-07",
                flag,
                &ctx,
                None,
                serde_json::Value::Bool(false),
            );
            r.reason == shared::flags::Reason::Split
        })
        .count() as u32
}

/// Parses the 20-flag snapshot `n` times (what a request pays once, before its
/// first evaluation); returns how many parsed.
#[no_mangle]
pub extern "C" fn flag_snapshot_parse(n: u32) -> u32 {
    let text = snapshot_text();
    (0..n)
        .filter(|_| {
            serde_json::from_str::<shared::flags::store::Snapshot>(&text)
                .is_ok_and(|s| s.flags.len() == 20)
        })
        .count() as u32
}
