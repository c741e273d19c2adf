//! Feature flags in a worker: the firm's snapshot from KV (cached at the edge for
//! [`CACHE_TTL_SECS`], so a change reaches every worker within 90 s), evaluated
//! locally. Module code asks [`evaluate`]; experiment flags record one exposure per
//! (flag, subject, variant, day) and log it as OpenTelemetry's
//! `feature_flag.evaluation` event.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{json, Value};
use shared::auth::claims::VerifiedClaims;
use shared::flags::store::{self, Snapshot};
use shared::flags::{Context, ErrorCode, FlagKind, FlagType, Reason, Resolution};
use shared::kernel::sql::Sql as _;
use shared::DomainError;
use worker::Env;

use crate::{bindings, log, RequestContext, D1};

/// How long the edge may serve a cached snapshot; with KV's own propagation
/// (up to 60 s) a change is everywhere within 90 s.
pub const CACHE_TTL_SECS: u64 = 30;

fn kv_key(firm_id: &str) -> String {
    format!("flags:v1:{firm_id}")
}

/// Reads the firm's flags from D1 and writes their snapshot to KV: after every
/// change, and whenever a worker finds none.
pub async fn publish(env: &Env, db: &D1, firm_id: &str) -> Result<Snapshot, DomainError> {
    let snapshot = store::snapshot(db, firm_id).await?;
    let text = serde_json::to_string(&snapshot)
        .map_err(|e| DomainError::Unavailable(format!("flags snapshot: {e}")))?;
    bindings::kv(env)?
        .put(&kv_key(firm_id), text)
        .map_err(|e| DomainError::Unavailable(format!("flags snapshot: {e}")))?
        .execute()
        .await
        .map_err(|e| DomainError::Unavailable(format!("flags snapshot: {e}")))?;
    Ok(snapshot)
}

/// The firm's snapshot as workers see it (KV, or D1 once when KV has none yet).
/// The parsed snapshot is kept per isolate for as long as KV answers the same text,
/// so a busy isolate parses each version once (a 20-flag snapshot costs ~80 µs).
pub async fn snapshot(env: &Env, firm_id: &str) -> Result<Rc<Snapshot>, DomainError> {
    let cached = bindings::kv(env)?
        .get(&kv_key(firm_id))
        .cache_ttl(CACHE_TTL_SECS)
        .text()
        .await
        .map_err(|e| DomainError::Unavailable(format!("flags snapshot: {e}")))?;
    let Some(text) = cached else {
        return Ok(Rc::new(publish(env, &D1::from_env(env)?, firm_id).await?));
    };
    let known = PARSED.with(|parsed| {
        parsed
            .borrow()
            .get(firm_id)
            .filter(|(seen, _)| *seen == text)
            .map(|(_, snap)| Rc::clone(snap))
    });
    if let Some(snap) = known {
        return Ok(snap);
    }
    let snap = match serde_json::from_str::<Snapshot>(&text) {
        Ok(s) => Rc::new(s),
        Err(_) => return Ok(Rc::new(publish(env, &D1::from_env(env)?, firm_id).await?)),
    };
    PARSED.with(|parsed| {
        let mut parsed = parsed.borrow_mut();
        if parsed.len() >= 256 {
            parsed.clear();
        }
        parsed.insert(firm_id.to_owned(), (text, Rc::clone(&snap)));
    });
    Ok(snap)
}

/// The evaluation context of a signed-in caller (`extra` adds the client's
/// version and custom attributes).
pub fn context(
    claims: &VerifiedClaims,
    extra: Option<(Option<String>, serde_json::Map<String, Value>)>,
) -> Context {
    let (version, custom) = extra.unwrap_or_default();
    Context {
        firm: claims.firm_id().to_owned(),
        member: Some(claims.user_id().to_owned()),
        role: Some(claims.role().name().to_owned()),
        portal: claims.client_id().is_some(),
        version,
        custom,
        ..Context::default()
    }
}

thread_local! {
    /// Parsed snapshots by firm, with the KV text they were parsed from.
    static PARSED: RefCell<HashMap<String, (String, Rc<Snapshot>)>> = RefCell::new(HashMap::new());
    /// Exposures this isolate already recorded today, so a busy flag writes once.
    static SEEN: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// Evaluates `key` for `ctx` against `snapshot`; an experiment's assignment is
/// recorded as an exposure (once per subject, variant and day).
pub async fn resolve(
    env: &Env,
    cx: &RequestContext,
    snapshot: &Snapshot,
    key: &str,
    ctx: &Context,
    want: Option<FlagType>,
    default: Value,
) -> Resolution {
    let flag = snapshot.flags.get(key);
    let resolution = shared::flags::evaluate(key, flag, ctx, want, default);
    let experiment = flag.is_some_and(|f| f.kind == FlagKind::Experiment);
    if experiment && matches!(resolution.reason, Reason::Split | Reason::TargetingMatch) {
        if let Some(variant) = resolution.variant.as_deref() {
            expose(env, cx, &ctx.firm, key, ctx.subject(), variant).await;
        }
    }
    resolution
}

async fn expose(
    env: &Env,
    cx: &RequestContext,
    firm: &str,
    key: &str,
    subject: &str,
    variant: &str,
) {
    let (request_id, now) = (cx.request_id.as_str(), cx.now);
    let seen_key = format!("{firm}|{key}|{subject}|{variant}|{}", store::day(now));
    let fresh = SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.len() > 10_000 {
            seen.clear();
        }
        seen.insert(seen_key)
    });
    if !fresh {
        return;
    }
    log::event(
        "info",
        request_id,
        "feature_flag.evaluation",
        json!({"feature_flag.key": key, "feature_flag.variant": variant,
               "feature_flag.provider_name": "firmament", "firm.id": firm, "feature_flag.subject": subject}),
    );
    let written = match D1::from_env(env) {
        Ok(db) => db
            .execute(store::exposure(firm, key, subject, variant, now))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        log::event(
            "warn",
            request_id,
            "exposure not recorded",
            json!({"feature_flag.key": key, "error": e.to_string()}),
        );
    }
}

/// The one function module code asks: is boolean flag `key` on for this caller?
/// Anything wrong (no such flag, KV unreachable) answers `default`, with the reason.
pub async fn evaluate(
    env: &Env,
    cx: &RequestContext,
    claims: &VerifiedClaims,
    key: &str,
    default: bool,
) -> Resolution {
    match snapshot(env, claims.firm_id()).await {
        Ok(snap) => {
            let ctx = context(claims, None);
            resolve(
                env,
                cx,
                &snap,
                key,
                &ctx,
                Some(FlagType::Boolean),
                Value::Bool(default),
            )
            .await
        }
        Err(e) => {
            log::event(
                "warn",
                &cx.request_id,
                "flags unavailable; answering the default",
                json!({"feature_flag.key": key, "error": e.to_string()}),
            );
            Resolution::error(key, Value::Bool(default), ErrorCode::General)
        }
    }
}
