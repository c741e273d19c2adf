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
