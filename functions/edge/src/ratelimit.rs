//! Request rate limits through the platform's Rate Limiting binding: per-location
//! counters with a 10 or 60 second period, cheap enough to sit in front of every
//! sign-in. It is coarse (each Cloudflare location counts on its own), so it guards
//! against floods; exact per-account limits (lockout) are counted in D1.

use shared::DomainError;
use worker::{Env, RateLimiter, Response};

/// A limit as configured on a binding (kept in step with the wrangler config).
pub struct Limit {
    /// Binding name.
    pub binding: &'static str,
    /// Requests allowed per period.
    pub limit: u32,
    /// Period in seconds.
    pub period_secs: u64,
}

/// Counts one request under `key`; `RateLimited` once the limit is reached.
pub async fn check(env: &Env, limit: &Limit, key: &str) -> Result<(), DomainError> {
    let limiter: RateLimiter = env
        .rate_limiter(limit.binding)
        .map_err(|e| DomainError::Unavailable(format!("rate limiter {}: {e}", limit.binding)))?;
    let outcome = limiter
        .limit(key.to_owned())
        .await
        .map_err(|e| DomainError::Unavailable(format!("rate limiter {}: {e}", limit.binding)))?;
    if outcome.success {
        Ok(())
    } else {
        Err(DomainError::RateLimited {
            retry_after_secs: limit.period_secs,
        })
    }
}

/// Adds the `RateLimit-Policy` header (IETF draft) naming the limit that applies.
pub fn policy(response: Response, limit: &Limit) -> Response {
    crate::http::with_header(
        response,
        "ratelimit-policy",
        &format!("{};w={}", limit.limit, limit.period_secs),
    )
}
