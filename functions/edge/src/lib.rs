//! The runtime side of every Firmament worker: the D1 adapter of the `Sql` port, the
//! request context, JSON bodies with a size limit, problem+json errors, CORS, token
//! verification, event publication and the queue consumer loop. Business rules stay
//! in `shared`; this crate only translates between them and the Workers runtime.

pub mod audit;
pub mod auth;
pub mod bindings;
pub mod config;
pub mod context;
pub mod d1;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod invitation;
pub mod log;
pub mod mail;
pub mod oidc;
pub mod ratelimit;
pub mod session;
pub mod sms;

pub use context::RequestContext;
pub use d1::D1;

use shared::kernel::time::Instant;

/// The runtime's clock.
pub fn now() -> Instant {
    Instant::from_millis(worker::Date::now().as_millis() as i64)
}

/// The `fetch` entry point of a module worker: resolves the request against the
/// shared route table, hands the routes `module` owns to `dispatch` (an async
/// `fn(operation, params, Request, &Env, &RequestContext) -> Result<Response,
/// DomainError>`), and answers anything else, and every error, as problem+json.
#[macro_export]
macro_rules! module_worker {
    ($module:expr, $dispatch:path) => {
        #[worker::event(fetch)]
        async fn fetch(
            req: worker::Request,
            env: worker::Env,
            _ctx: worker::Context,
        ) -> worker::Result<worker::Response> {
            let cx = $crate::RequestContext::of(&req);
            let method = req.method().to_string();
            let path = req.path();
            let result = match shared::api::resolve(&method, &path) {
                shared::api::Match::Found(route, params) if route.module == $module => {
                    $dispatch(route.operation, params, req, &env, &cx).await
                }
                _ => Err(shared::DomainError::NotFound("route")),
            };
            Ok(result.unwrap_or_else(|e| $crate::http::problem(&e, &cx.request_id)))
        }
    };
}
