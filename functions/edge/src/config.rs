//! Settings read from the worker's environment (wrangler vars and secrets).

use shared::DomainError;
use worker::Env;

/// Default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// A var or secret as text, if set.
pub fn text(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .ok()
        .or_else(|| env.var(name).map(|v| v.to_string()).ok())
        .filter(|s| !s.is_empty())
}

/// A required var or secret; its absence is a deployment mistake (503, logged).
pub fn required(env: &Env, name: &str) -> Result<String, DomainError> {
    text(env, name).ok_or_else(|| DomainError::Unavailable(format!("setting {name} is missing")))
}

/// The request body limit in bytes (`MAX_BODY_BYTES`, default 1 MiB).
pub fn body_limit(env: &Env) -> usize {
    text(env, "MAX_BODY_BYTES")
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_BODY_LIMIT)
}
