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
pub mod flags;
pub mod http;
pub mod idempotency;
pub mod invitation;
pub mod jobs;
pub mod keys;
pub mod log;
pub mod mail;
pub mod notify;
pub mod oidc;
pub mod queue;
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
/// A module that subscribes to events adds `events: handler` (an async
/// `fn(Env, EventEnvelope, Instant) -> Result<(), DomainError>`): the dispatcher
/// hands it each event over the service binding (see [`events::serve_delivery`]).
/// A worker the platform clock ticks adds `tick: handler` after its events (an
/// async `fn(&Env, Instant, &str request id) -> Result<serde_json::Value,
/// DomainError>`, see [`events::serve_tick`]), and one that runs jobs `jobs:
/// handler` after its tick (an async `fn(&Env, JobRequest) -> Result<Value,
/// JobFailure>`, see [`jobs::serve_job`]). A worker with other internal paths
/// adds `internal: handler` instead (an async `fn(Request, &Env, &RequestContext)
/// -> Result<Response, DomainError>`).
#[macro_export]
macro_rules! module_worker {
    ($module:expr, $dispatch:path, events: $consume:path, tick: $tick:path, jobs: $jobs:path) => {
        $crate::module_worker!(@fetch $module, $dispatch, |req, env, cx| {
            let name = $module.unwrap_or("module").to_ascii_lowercase();
            if req.path() == $crate::events::DELIVERY_PATH {
                $crate::events::serve_delivery(req, env, cx, &name, $consume).await
            } else if req.path() == $crate::jobs::JOB_PATH {
                $crate::jobs::serve_job(req, cx, &name, |job| $jobs(env, job)).await
            } else {
                $crate::events::serve_tick(&req, cx, &name, |now| $tick(env, now, &cx.request_id)).await
            }
        });
    };
    ($module:expr, $dispatch:path, events: $consume:path, tick: $tick:path) => {
        $crate::module_worker!(@fetch $module, $dispatch, |req, env, cx| {
            let name = $module.unwrap_or("module").to_ascii_lowercase();
            if req.path() == $crate::events::DELIVERY_PATH {
                $crate::events::serve_delivery(req, env, cx, &name, $consume).await
            } else {
                $crate::events::serve_tick(&req, cx, &name, |now| $tick(env, now, &cx.request_id)).await
            }
        });
    };
    ($module:expr, $dispatch:path, events: $consume:path) => {
        $crate::module_worker!(@fetch $module, $dispatch, |req, env, cx| {
            $crate::events::serve_delivery(req, env, cx, &$module.unwrap_or("module").to_ascii_lowercase(), $consume).await
        });
    };
    ($module:expr, $dispatch:path, internal: $internal:path) => {
        $crate::module_worker!(@fetch $module, $dispatch, |req, env, cx| {
            $internal(req, env, cx).await
        });
    };
    ($module:expr, $dispatch:path) => {
        $crate::module_worker!(@fetch $module, $dispatch, |_req, _env, _cx| {
            Err(shared::DomainError::NotFound("route"))
        });
    };
    (@fetch $module:expr, $dispatch:path, |$req:ident, $env:ident, $cx:ident| $internal:block) => {
        #[worker::event(fetch)]
        async fn fetch(
            req: worker::Request,
            env: worker::Env,
            _ctx: worker::Context,
        ) -> worker::Result<worker::Response> {
            let cx = $crate::RequestContext::of(&req);
            let method = $crate::http::method(&req);
            let path = req.path();
            // Paths outside the route table are reachable only over a service
            // binding: the gateway forwards nothing else.
            let result = if path.starts_with($crate::events::INTERNAL_PREFIX) {
                let ($req, $env, $cx) = (req, &env, &cx);
                let internal: Result<worker::Response, shared::DomainError> = $internal;
                internal
            } else {
                match shared::api::resolve(&method, &path) {
                    shared::api::Match::Found(route, params) if route.module == $module => {
                        $dispatch(route.operation, params, req, &env, &cx).await
                    }
                    _ => Err(shared::DomainError::NotFound("route")),
                }
            };
            Ok(result.unwrap_or_else(|e| $crate::http::problem(&e, &cx.request_id)))
        }
    };
}
