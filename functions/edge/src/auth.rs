//! Bearer-token verification with the keys from the environment, shared by the
//! gateway and every module worker (which re-check: no module trusts a header alone).

use shared::auth::browser;
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
    let has_authorization = req.headers().get("authorization").ok().flatten().is_some();
    let token = match browser_token(req)? {
        Some(token) if !has_authorization => token,
        _ => bearer(req)?,
    };
    if shared::auth::api_keys::is_api_key(&token) {
        let db = crate::D1::from_env(env)?;
        return shared::auth::api_keys::authenticate(&db, &token, now).await;
    }
    let cached = VERIFIED.with(|cache| {
        cache
            .try_borrow()
            .ok()
            .and_then(|cache| cache.get(&token, now))
    });
    if let Some(claims) = cached {
        return Ok(claims);
    }
    let claims = verifier(env)?.verify(&token, now)?;
    VERIFIED.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            cache.put(&token, &claims, now);
        }
    });
    Ok(claims)
}

/// How many verified access tokens an isolate remembers.
const VERIFIED_CAPACITY: usize = 512;

std::thread_local! {
    /// Tokens this isolate verified. Requests in an isolate interleave only at
    /// awaits and no borrow spans one, so the cell is never busy; if it were, the
    /// token would simply be verified again.
    static VERIFIED: std::cell::RefCell<shared::auth::token::VerifiedTokens> =
        std::cell::RefCell::new(shared::auth::token::VerifiedTokens::new(VERIFIED_CAPACITY));
}

/// The access token of a browser session (the access cookie), after checking the
/// CSRF double-submit on unsafe methods. `None` when the request carries no cookie.
pub fn browser_token(req: &Request) -> Result<Option<String>, DomainError> {
    let cookies = req
        .headers()
        .get("cookie")
        .ok()
        .flatten()
        .unwrap_or_default();
    let Some(access) = browser::cookie(&cookies, browser::ACCESS_COOKIE) else {
        return Ok(None);
    };
    check_csrf(req, &cookies)?;
    Ok(Some(access.to_owned()))
}

/// Refuses an unsafe request whose `X-CSRF-Token` does not echo the CSRF cookie.
pub fn check_csrf(req: &Request, cookies: &str) -> Result<(), DomainError> {
    if browser::is_unsafe(&crate::http::method(req)) {
        let header = req.headers().get(browser::CSRF_HEADER).ok().flatten();
        if !browser::csrf_ok(
            browser::cookie(cookies, browser::CSRF_COOKIE),
            header.as_deref(),
        ) {
            return Err(DomainError::Forbidden(
                "a request authenticated by cookie must echo the fm_csrf cookie in X-CSRF-Token"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Whether the client asked for a cookie session (`X-Session-Mode: cookie`).
pub fn wants_cookies(req: &Request) -> bool {
    req.headers()
        .get(browser::MODE_HEADER)
        .ok()
        .flatten()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("cookie"))
}

/// Turns a session answer into its browser form: the tokens move from the body
/// into cookies, and the body carries the CSRF token instead.
pub fn into_cookies(
    mut body: serde_json::Value,
) -> Result<(serde_json::Value, Vec<String>), DomainError> {
    let take = |body: &mut serde_json::Value, key: &str| {
        body.as_object_mut()
            .and_then(|o| o.remove(key))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let access = take(&mut body, "access_token");
    let refresh = take(&mut body, "refresh_token");
    let csrf = browser::new_csrf_token()?;
    let cookies = browser::session_cookies(
        &access,
        shared::auth::token::ACCESS_TTL_SECS,
        &refresh,
        shared::auth::sessions::SESSION_TTL_MS / 1000,
        &csrf,
    );
    if let Some(obj) = body.as_object_mut() {
        obj.insert("csrf_token".into(), csrf.into());
        obj.insert("session_mode".into(), "cookie".into());
    }
    Ok((body, cookies))
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
    let client_id = claims.client.clone();
    let session_id = claims.sid.clone();
    let issued = signer(env)?.issue(claims, now)?;
    let mut body = serde_json::json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "refresh_token": refresh_token,
        "session_id": session_id,
        "firm_id": firm_id,
        "role": role,
        "memberships": memberships,
    });
    if let (Some(client_id), Some(obj)) = (client_id, body.as_object_mut()) {
        obj.insert("client_id".to_owned(), client_id.into());
    }
    Ok(body)
}
