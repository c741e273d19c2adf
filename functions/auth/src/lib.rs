//! The identity module worker: password sign-in with lockout, sessions with
//! rotating refresh tokens, firm switching. Reachable only through the gateway.

mod handlers;

edge::module_worker!(shared::api::AUTH, handlers::dispatch);
