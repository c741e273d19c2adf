//! The single sign-on module worker: sign-in through Google and Microsoft (OpenID
//! Connect). It lives apart from the auth worker because identity-provider
//! protocols bring heavy dependencies (RSA now, XML signatures with SAML) that
//! password sign-in and token refresh should not carry.

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
        Match::Found(route, params) if route.module == api::SSO => {
            handlers::dispatch(route.operation, params, req, &env, &cx).await
        }
        _ => Err(DomainError::NotFound("route")),
    };
    Ok(result.unwrap_or_else(|e| http::problem(&e, &cx.request_id)))
}
