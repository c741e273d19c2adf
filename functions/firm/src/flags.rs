//! The flags admin API (firm admins) and evaluation for any signed-in caller.

use edge::http;
use edge::{RequestContext, D1};
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area};
use shared::flags::model::valid_key;
use shared::flags::store;
use shared::kernel::audit::Category;
use shared::kernel::etag::parse_if_match;
use shared::DomainError;
use worker::{Env, Request};

type Handled = Result<worker::Response, DomainError>;
type Params = [(&'static str, String)];

fn flag_key(params: &Params) -> Result<String, DomainError> {
    let key = params
        .iter()
        .find(|(n, _)| *n == "flag_key")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if valid_key(&key) {
        Ok(key)
    } else {
        Err(DomainError::NotFound("flag"))
    }
}

/// Writes the firm's snapshot after a change. The change is already in D1, so a
/// failed KV write is logged, not answered: the minute's tick writes the snapshot of
/// every firm whose flags changed in the last five minutes.
async fn republish(env: &Env, db: &D1, firm_id: &str, cx: &RequestContext) {
    if let Err(e) = edge::flags::publish(env, db, firm_id).await {
        edge::log::event(
            "warn",
            &cx.request_id,
            "flag snapshot not written; the tick will write it",
            json!({"firm.id": firm_id, "error": e.to_string()}),
        );
    }
}

/// The minute's part: rewrites the snapshots of firms whose flags changed lately.
pub async fn republish_recent(
    env: &Env,
    now: shared::kernel::time::Instant,
) -> Result<usize, DomainError> {
    let db = D1::from_env(env)?;
    let firms = store::recently_changed(&db, now).await?;
    for firm in &firms {
        edge::flags::publish(env, &db, firm).await?;
    }
    Ok(firms.len())
}

pub async fn list(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope) = cx.authorize(&req, env, Area::Admin, Access::Read).await?;
    let page = http::page_request(&req)?;
    let flags = store::list(&D1::from_env(env)?, &scope, &page, cx.now).await?;
    Ok(http::json(200, &flags, &cx.request_id))
}

pub async fn get(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope) = cx.authorize(&req, env, Area::Admin, Access::Read).await?;
    let flag = store::get(&D1::from_env(env)?, &scope, &flag_key(params)?, cx.now).await?;
    Ok(http::with_header(
        http::json(200, &flag, &cx.request_id),
        "etag",
        &flag.etag,
    ))
}

/// Creates or replaces a flag; the snapshot every worker reads is rewritten at once.
pub async fn put(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = cx.authorize(&req, env, Area::Admin, Access::Write).await?;
    let key = flag_key(params)?;
    let expected = parse_if_match(http::header(&req, "if-match").as_deref())?;
    let body = http::optional_json_body(&mut req, edge::config::body_limit(env)).await?;
    let input = store::parse_input(&body)?;
    let db = D1::from_env(env)?;
    let (flag, created) =
        store::put(&db, &scope, &key, input, expected, claims.user_id(), cx.now).await?;
    republish(env, &db, scope.firm_id(), cx).await;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        if created { "flag.created" } else { "flag.updated" },
        json!({"key": key, "version": flag.flag.version, "enabled": flag.flag.enabled, "kind": flag.flag.kind}),
    )
    .await;
    Ok(http::with_header(
        http::json(if created { 201 } else { 200 }, &flag, &cx.request_id),
        "etag",
        &flag.etag,
    ))
}

pub async fn delete(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = cx.authorize(&req, env, Area::Admin, Access::Write).await?;
    let key = flag_key(params)?;
    let db = D1::from_env(env)?;
    store::delete(&db, &scope, &key, claims.user_id(), cx.now).await?;
    republish(env, &db, scope.firm_id(), cx).await;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "flag.deleted",
        json!({"key": key}),
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

/// An experiment's arms and its sample-ratio check (see `store::experiment`).
pub async fn exposures(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope) = cx.authorize(&req, env, Area::Admin, Access::Read).await?;
    let key = flag_key(params)?;
    let db = D1::from_env(env)?;
    let flag = store::get(&db, &scope, &key, cx.now).await?;
    let since = store::since_day(http::query_param(&req, "since").as_deref(), cx.now)?;
    let counts = store::exposures(&db, &scope, &key, &since).await?;
    let report = store::experiment(&flag.flag, &since, &counts);
    Ok(http::json(200, &report, &cx.request_id))
}

/// Evaluates the firm's flags (or `keys`) for the caller from the same snapshot
/// the workers use: what the console and the portal ask.
pub async fn evaluate(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let body = http::optional_json_body(&mut req, edge::config::body_limit(env)).await?;
    let ask = store::parse_evaluation(&body)?;
    let keys = ask.keys;
    let snapshot = edge::flags::snapshot(env, claims.firm_id()).await?;
    let ctx = edge::flags::context(&claims, Some((ask.version, ask.custom)));
    let wanted: Vec<String> = if keys.is_empty() {
        snapshot.flags.keys().cloned().collect()
    } else {
        keys
    };
    let mut out = serde_json::Map::new();
    for key in wanted {
        let resolution =
            edge::flags::resolve(env, cx, &snapshot, &key, &ctx, None, Value::Null).await;
        out.insert(key, serde_json::to_value(resolution).unwrap_or_default());
    }
    Ok(http::json(
        200,
        &json!({"snapshot_version": snapshot.version, "flags": out}),
        &cx.request_id,
    ))
}
