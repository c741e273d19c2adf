//! The firm module worker. Reachable only through the gateway's service binding; it
//! still verifies the caller's token itself.

use edge::http;
use edge::RequestContext;
use shared::api::{self, Match};
use shared::DomainError;
use worker::{event, Context, Env, MessageBatch, Request, Response};

mod handlers;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let cx = RequestContext::of(&req);
    let method = req.method().to_string();
    let path = req.path();
    let result = match api::resolve(&method, &path) {
        Match::Found(route, params) if route.module == api::FIRM => {
            handlers::dispatch(route.operation, params, req, &env, &cx).await
        }
        _ => Err(DomainError::NotFound("route")),
    };
    Ok(result.unwrap_or_else(|e| http::problem(&e, &cx.request_id)))
}

#[event(queue)]
async fn queue(
    batch: MessageBatch<serde_json::Value>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    let db = edge::D1::from_env(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    edge::events::consume(batch, shared::firm::consumer::CONSUMER, |event| {
        let db = &db;
        async move { shared::firm::consumer::handle(db, &event, edge::now()).await }
    })
    .await;
    Ok(())
}
