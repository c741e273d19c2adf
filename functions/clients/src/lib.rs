//! The clients module worker: the firm's clients and their portal users. Staff
//! reach clients through `/v1/clients`, a client's portal users reach their own
//! client through `/v1/portal`. Reachable only through the gateway's service
//! binding; it still verifies the caller's token itself.

use edge::http;
use edge::RequestContext;
use shared::api::{self, Match};
use shared::DomainError;
use worker::{event, Context, Env, Request, Response};

mod handlers;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let cx = RequestContext::of(&req);
    let method = req.method().to_string();
    let path = req.path();
    let result = match api::resolve(&method, &path) {
        Match::Found(route, params) if route.module == api::CLIENTS => {
            handlers::dispatch(route.operation, params, req, &env, &cx).await
        }
        _ => Err(DomainError::NotFound("route")),
    };
    Ok(result.unwrap_or_else(|e| http::problem(&e, &cx.request_id)))
}
