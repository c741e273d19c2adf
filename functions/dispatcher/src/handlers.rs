//! HTTP handlers of the dispatcher: a firm admin's view of how the firm's events
//! reached the modules, its dead letters and their replay; and the platform
//! clock's tick.

use edge::http::{self, read_json};
use edge::{config, RequestContext, D1};
use serde_json::json;
use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::dispatch::deliveries::{self, DeadFilter, Redelivery};
use shared::kernel::audit::Category;
use shared::kernel::events;
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;
type Params = [(&'static str, String)];

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Vec<(&'static str, String)>,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "listDeadEvents" => list_dead(req, env, cx).await,
        "replayDeadEvents" => replay_dead(req, env, cx).await,
        "getEvent" => get_event(req, env, cx, &params).await,
        "replayEvent" => replay_event(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// Paths only other workers reach: the every-minute tick.
pub async fn internal(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    edge::events::serve_tick(&req, cx, "dispatcher", |now| async move {
        Ok(json!({"resent": crate::sweep(env, now).await?}))
    })
    .await
}

async fn get_event(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let event_id = http::path_id(params, "event_id")?;
    let db = D1::from_env(env)?;
    let event = events::get(&db, &scope, &event_id).await?;
    let deliveries = deliveries::of_event(&db, &scope, &event_id).await?;
    Ok(http::json(
        200,
        &json!({"event": event, "deliveries": deliveries}),
        &cx.request_id,
    ))
}

async fn list_dead(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let page = http::page_request(&req)?;
    let filter = DeadFilter::parse(
        http::query_param(&req, "subscriber").as_deref(),
        http::query_param(&req, "type").as_deref(),
    )?;
    let dead = deliveries::dead(&D1::from_env(env)?, &scope, &filter, &page).await?;
    Ok(http::json(200, &dead, &cx.request_id))
}

async fn replay_event(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Write)?;
    let event_id = http::path_id(params, "event_id")?;
    let db = D1::from_env(env)?;
    let replayed = deliveries::replay_event(&db, &scope, &event_id, cx.now).await?;
    let replay = Replay {
        claims: &claims,
        replayed: &replayed,
        filter: json!({"event_id": event_id}),
    };
    finish_replay(&req, env, cx, &db, replay).await
}

async fn replay_dead(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Write)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let filter = DeadFilter::from_body(&body)?;
    let db = D1::from_env(env)?;
    let replayed = deliveries::replay(&db, &scope, None, &filter, cx.now).await?;
    let filter = json!({"subscriber": filter.subscriber, "type": filter.kind});
    let replay = Replay {
        claims: &claims,
        replayed: &replayed,
        filter,
    };
    finish_replay(&req, env, cx, &db, replay).await
}

/// What a replay did and who asked for it.
struct Replay<'a> {
    claims: &'a VerifiedClaims,
    replayed: &'a [Redelivery],
    filter: serde_json::Value,
}

/// Queues the replayed hand-overs, audits the replay and answers with what it did.
async fn finish_replay(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    db: &D1,
    replay: Replay<'_>,
) -> Handled {
    // A send that fails leaves the rows pending; the sweep sends them.
    if let Err(e) = crate::resend(env, replay.replayed).await {
        edge::log::event(
            "warn",
            &cx.request_id,
            "replay left to the sweep",
            json!({"error": e.to_string()}),
        );
    }
    let items: Vec<_> = replay
        .replayed
        .iter()
        .map(|r| json!({"event_id": r.event.id, "subscriber": r.subscriber}))
        .collect();
    edge::audit::member_action(
        db,
        req,
        cx,
        replay.claims,
        Category::System,
        "events.replayed",
        json!({"filter": replay.filter, "replayed": items.len()}),
    )
    .await;
    Ok(http::json(
        202,
        &json!({"replayed": items.len(), "items": items}),
        &cx.request_id,
    ))
}
