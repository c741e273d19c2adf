//! What a handler knows about the request it serves.

use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::kernel::audit::Origin;
use shared::kernel::id::new_id;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{Env, Request};

use crate::auth;

/// Per-request facts: its id, its time, and (once checked) the caller's claims.
pub struct RequestContext {
    /// Correlates logs and responses across workers.
    pub request_id: String,
    /// The time the request is served at.
    pub now: Instant,
}

/// A request id passed in by the caller or the gateway is kept if it is short and plain.
fn acceptable_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl RequestContext {
    /// The context of `req`: its `x-request-id` if acceptable, else a new one.
    pub fn of(req: &Request) -> Self {
        let now = crate::now();
        let request_id = req
            .headers()
            .get("x-request-id")
            .ok()
            .flatten()
            .filter(|id| acceptable_request_id(id))
            .or_else(|| new_id("req", now.millis()).ok())
            .unwrap_or_else(|| format!("req_{}", now.millis()));
        Self { request_id, now }
    }

    /// Where the request came from, for the audit log. On Cloudflare the edge sets
    /// `cf-connecting-ip`; a client cannot forge it there.
    pub fn origin(&self, req: &Request) -> Origin {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .ok()
                .flatten()
                .filter(|v| !v.is_empty())
        };
        Origin {
            ip: header("cf-connecting-ip").map(|ip| ip.chars().take(64).collect()),
            user_agent: header("user-agent").map(|ua| ua.chars().take(512).collect()),
            request_id: Some(self.request_id.clone()),
        }
    }

    /// Verifies the bearer token of `req`.
    pub async fn claims(&self, req: &Request, env: &Env) -> Result<VerifiedClaims, DomainError> {
        auth::authenticate(req, env, self.now).await
    }

    /// The caller's verified claims and the tenant scope they give.
    pub async fn scope(
        &self,
        req: &Request,
        env: &Env,
    ) -> Result<(VerifiedClaims, TenantScope), DomainError> {
        let claims = self.claims(req, env).await?;
        let scope = claims.scope();
        Ok((claims, scope))
    }

    /// [`Self::scope`] for a caller whose role and flags allow `access` to `area`
    /// (401 without a valid token, 403 without the right).
    pub async fn authorize(
        &self,
        req: &Request,
        env: &Env,
        area: Area,
        access: Access,
    ) -> Result<(VerifiedClaims, TenantScope), DomainError> {
        let (claims, scope) = self.scope(req, env).await?;
        claims.require(area, access)?;
        Ok((claims, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn request_ids_from_outside_are_bounded() {
        assert!(acceptable_request_id("req_01JD"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id(&"a".repeat(65)));
    }
}
