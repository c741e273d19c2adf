//! The HTTP side of OpenID Connect: the provider's discovery document and key set
//! (cached per isolate for an hour; the key set is fetched again when a token names
//! a key it does not have, which is how provider key rotation shows), and the
//! authorization-code exchange.

use std::cell::RefCell;
use std::collections::HashMap;

use shared::auth::oidc::{Discovery, Provider};
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::config;

const CACHE_MS: i64 = 60 * 60 * 1000;

thread_local! {
    static CACHE: RefCell<HashMap<String, (i64, serde_json::Value)>> = RefCell::new(HashMap::new());
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::Unavailable(format!("identity provider {what}: {e}"))
}

async fn get_json(url: &str) -> Result<serde_json::Value, DomainError> {
    let headers = Headers::new();
    let _ = headers.set("accept", "application/json");
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(url, &init).map_err(|e| unavailable(url, e))?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| unavailable(url, e))?;
    if response.status_code() != 200 {
        return Err(unavailable(
            url,
            format!("answered {}", response.status_code()),
        ));
    }
    response.json().await.map_err(|e| unavailable(url, e))
}

async fn cached(url: &str, now: Instant, refresh: bool) -> Result<serde_json::Value, DomainError> {
    let hit = CACHE.with(|c| {
        c.borrow()
            .get(url)
            .filter(|(at, _)| !refresh && now.millis() - at < CACHE_MS)
            .map(|(_, v)| v.clone())
    });
    if let Some(value) = hit {
        return Ok(value);
    }
    let value = get_json(url).await?;
    CACHE.with(|c| {
        c.borrow_mut()
            .insert(url.to_owned(), (now.millis(), value.clone()))
    });
    Ok(value)
}

/// The configured provider `name` (`OIDC_<NAME>_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`).
pub fn provider(env: &Env, name: &str) -> Result<(Provider, String), DomainError> {
    let prefix = format!("OIDC_{}", name.to_ascii_uppercase());
    let issuer = config::text(env, &format!("{prefix}_ISSUER"));
    let client_id = config::text(env, &format!("{prefix}_CLIENT_ID"));
    let secret = config::text(env, &format!("{prefix}_CLIENT_SECRET"));
    match (issuer, client_id, secret) {
        (Some(issuer), Some(client_id), Some(secret)) => Ok((
            Provider {
                name: name.to_owned(),
                issuer,
                client_id,
            },
            secret,
        )),
        _ => Err(DomainError::NotFound("identity provider")),
    }
}

/// The provider's discovery document.
pub async fn discovery(provider: &Provider, now: Instant) -> Result<Discovery, DomainError> {
    let value = cached(&provider.discovery_url(), now, false).await?;
    serde_json::from_value(value).map_err(|e| unavailable("discovery document", e))
}

/// The provider's key set; fetched afresh when it lacks `kid`.
pub async fn keys(
    discovery: &Discovery,
    kid: Option<&str>,
    now: Instant,
) -> Result<serde_json::Value, DomainError> {
    let has = |jwks: &serde_json::Value| {
        kid.is_none_or(|kid| {
            jwks.get("keys")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|keys| {
                    keys.iter()
                        .any(|k| k.get("kid").and_then(serde_json::Value::as_str) == Some(kid))
                })
        })
    };
    let jwks = cached(&discovery.jwks_uri, now, false).await?;
    if has(&jwks) {
        return Ok(jwks);
    }
    cached(&discovery.jwks_uri, now, true).await
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Exchanges an authorization code for the ID token (client_secret_post, PKCE verifier).
pub async fn exchange(
    provider: &Provider,
    secret: &str,
    discovery: &Discovery,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, DomainError> {
    let headers = Headers::new();
    let _ = headers.set("accept", "application/json");
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    let body = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", &provider.client_id),
        ("client_secret", secret),
        ("code_verifier", verifier),
    ]);
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(&discovery.token_endpoint, &init)
        .map_err(|e| unavailable("token endpoint", e))?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| unavailable("token endpoint", e))?;
    let status = response.status_code();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if status != 200 {
        // A bad or reused code is the caller's problem, not an outage.
        let error = answer
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("error");
        return Err(DomainError::Unauthenticated(format!(
            "the identity provider refused the sign-in ({error})"
        )));
    }
    answer
        .get("id_token")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| unavailable("token endpoint", "no id_token in the answer"))
}
