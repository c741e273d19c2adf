//! Bearer-token verification with the keys from the environment, shared by the
//! gateway and every module worker (which re-check: no module trusts a header alone).

use shared::auth::claims::VerifiedClaims;
use shared::auth::token::{TokenSigner, TokenVerifier};
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{Env, Request};

use crate::config;

/// Token issuer name (`JWT_ISSUER`, default `firmament`).
pub fn issuer(env: &Env) -> String {
    config::text(env, "JWT_ISSUER").unwrap_or_else(|| "firmament".to_owned())
}

/// Token audience (`JWT_AUDIENCE`, default `firmament-api`).
pub fn audience(env: &Env) -> String {
    config::text(env, "JWT_AUDIENCE").unwrap_or_else(|| "firmament-api".to_owned())
}

fn misconfigured(e: shared::auth::token::ConfigError) -> DomainError {
    DomainError::Unavailable(e.to_string())
}

/// The verifier over `JWT_VERIFY_KEYS`.
pub fn verifier(env: &Env) -> Result<TokenVerifier, DomainError> {
    TokenVerifier::from_config(
        &config::required(env, "JWT_VERIFY_KEYS")?,
        &issuer(env),
        &audience(env),
    )
    .map_err(misconfigured)
}

/// The signer over `JWT_SIGNING_KEY` (only workers that issue tokens have it).
pub fn signer(env: &Env) -> Result<TokenSigner, DomainError> {
    TokenSigner::from_config(
        &config::required(env, "JWT_SIGNING_KEY")?,
        &issuer(env),
        &audience(env),
    )
    .map_err(misconfigured)
}

/// The bearer token of a request, if it carries one.
pub fn bearer(req: &Request) -> Result<String, DomainError> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .ok_or_else(|| {
            DomainError::Unauthenticated("an Authorization: Bearer token is required".to_owned())
        })?;
    match header.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(DomainError::Unauthenticated(
            "the Authorization header must be 'Bearer <token>'".to_owned(),
        )),
    }
}

/// Verifies the request's bearer credential at `now`: an access token (checked
/// locally) or an API key (looked up in D1).
pub async fn authenticate(
    req: &Request,
    env: &Env,
    now: Instant,
) -> Result<VerifiedClaims, DomainError> {
    let token = bearer(req)?;
    if shared::auth::api_keys::is_api_key(&token) {
        let db = crate::D1::from_env(env)?;
        return shared::auth::api_keys::authenticate(&db, &token, now).await;
    }
    verifier(env)?.verify(&token, now)
}

/// The answer to a successful sign-in, refresh, firm switch or provisioning: a new
/// access token for `claims`, the session's refresh token, and where the bearer is.
pub fn session_body(
    env: &Env,
    claims: shared::auth::claims::AccessClaims,
    refresh_token: &str,
    memberships: &[shared::firm::members::Membership],
    now: Instant,
) -> Result<serde_json::Value, DomainError> {
    let firm_id = claims.firm.clone();
    let role = claims.role;
    let session_id = claims.sid.clone();
    let issued = signer(env)?.issue(claims, now)?;
    Ok(serde_json::json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "refresh_token": refresh_token,
        "session_id": session_id,
        "firm_id": firm_id,
        "role": role,
        "memberships": memberships,
    }))
}
