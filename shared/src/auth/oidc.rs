//! Sign-in with OpenID Connect providers (Google, Microsoft): authorization code
//! flow with PKCE (S256), `state` and `nonce`, ID tokens verified against the
//! provider's published keys (RS256 only), and accounts linked by provider subject,
//! or, the first time, by an e-mail address the provider says it has verified.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Duration;
use jwt_compact::alg::{Rsa, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt as _, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sessions::hash_token;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::random_bytes;
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::stmt;

/// How long an authorization request may take: 10 minutes.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// Providers Firmament knows, by the name used in routes and settings.
pub const PROVIDERS: &[&str] = &["google", "microsoft"];

/// The parts of a provider's discovery document that the flow uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// Issuer identifier; ID tokens must carry exactly this `iss`.
    pub issuer: String,
    /// Where the user signs in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// The provider's public keys.
    pub jwks_uri: String,
}

/// A provider as configured for this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// `google` or `microsoft`.
    pub name: String,
    /// Issuer URL (discovery is at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
}

impl Provider {
    /// Checks the provider name of a route.
    pub fn parse_name(raw: &str) -> DomainResult<&'static str> {
        PROVIDERS
            .iter()
            .find(|p| **p == raw)
            .copied()
            .ok_or(DomainError::NotFound("identity provider"))
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

fn random_token() -> DomainResult<String> {
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE challenge of a verifier (RFC 7636, S256).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A started authorization request.
pub struct Started {
    /// Where to send the user.
    pub authorization_url: String,
    /// Stores the request's state.
    pub statement: Statement,
}

fn query_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What the start of a sign-in carries along to its callback.
pub struct StartRequest<'a> {
    /// The firm asked for (id or slug).
    pub firm: Option<&'a str>,
    /// Answer the callback with cookies.
    pub browser: bool,
    /// Passed to the provider to preselect the account.
    pub login_hint: Option<&'a str>,
}

/// Starts the flow: a fresh state, nonce and PKCE verifier, and the provider URL.
pub fn start(
    provider: &Provider,
    discovery: &Discovery,
    redirect_uri: &str,
    request: &StartRequest<'_>,
    now: Instant,
) -> DomainResult<Started> {
    let state = random_token()?;
    let nonce = random_token()?;
    let verifier = random_token()?;
    let mut url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email%20profile&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        discovery.authorization_endpoint,
        query_encode(&provider.client_id),
        query_encode(redirect_uri),
        state,
        nonce,
        challenge_of(&verifier)
    );
    if let Some(hint) = request.login_hint.filter(|h| h.len() <= 254) {
        url.push_str(&format!("&login_hint={}", query_encode(hint)));
    }
    let statement = stmt!(
        "INSERT INTO auth_oidc_states (state_hash, provider, nonce, code_verifier, firm, browser, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        hash_token(&state),
        provider.name.as_str(),
        nonce,
        verifier,
        request.firm.map(str::to_owned),
        request.browser,
        now.millis(),
        now.plus_millis(STATE_TTL_MS).millis()
    );
    Ok(Started {
        authorization_url: url,
        statement,
    })
}

/// A pending authorization request, taken back at the callback.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pending {
    /// The provider it was started for.
    pub provider: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier for the token request.
    pub code_verifier: String,
    /// The firm asked for.
    pub firm: Option<String>,
    /// Answer with cookies (stored as 0/1).
    pub browser: i64,
}

/// Takes the pending request of `state` (once: the row is deleted).
pub async fn take(
    db: &impl Sql,
    provider: &str,
    state: &str,
    now: Instant,
) -> DomainResult<Option<Pending>> {
    query_one(
        db,
        stmt!(
            "DELETE FROM auth_oidc_states WHERE state_hash = ?1 AND provider = ?2 AND expires_at > ?3
          RETURNING provider, nonce, code_verifier, firm, browser",
            hash_token(state.trim()),
            provider,
            now.millis()
        ),
    )
    .await
}

/// The facts of a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable subject id.
    pub subject: String,
    /// The address, lower-case.
    pub email: Option<String>,
    /// Whether the provider verified it.
    pub email_verified: bool,
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<serde_json::Value>,
    /// Microsoft's "email domain owner verified" optional claim.
    xms_edov: Option<serde_json::Value>,
}

fn truthy(value: Option<&serde_json::Value>) -> bool {
    match value {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "true" || s == "1",
        Some(serde_json::Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn rejected(why: &str) -> DomainError {
    DomainError::Unauthenticated(format!("the identity provider's token was refused: {why}"))
}

/// The key id an ID token names (to refresh the key set when it is unknown).
pub fn key_id(id_token: &str) -> Option<String> {
    UntrustedToken::new(id_token).ok()?.header().key_id.clone()
}

/// Verifies an ID token against the provider's key set (`{"keys": [...]}`): RS256
/// signature by the key its `kid` names, issuer, audience, time window, nonce.
pub fn verify_id_token(
    id_token: &str,
    jwks: &serde_json::Value,
    discovery: &Discovery,
    client_id: &str,
    nonce: &str,
    now: Instant,
) -> DomainResult<Identity> {
    let untrusted = UntrustedToken::new(id_token).map_err(|_| rejected("malformed"))?;
    if untrusted.algorithm() != "RS256" {
        return Err(rejected("only RS256 is accepted"));
    }
    let kid = untrusted
        .header()
        .key_id
        .as_deref()
        .ok_or_else(|| rejected("no key id"))?;
    let jwk = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .and_then(|keys| {
            keys.iter()
                .find(|k| k.get("kid").and_then(serde_json::Value::as_str) == Some(kid))
        })
        .ok_or_else(|| rejected("signed with an unknown key"))?;
    let jwk: JsonWebKey<'_> =
        serde_json::from_value(jwk.clone()).map_err(|_| rejected("unusable key"))?;
    let key = RsaPublicKey::try_from(&jwk).map_err(|_| rejected("unusable key"))?;
    let token = Rsa::rs256()
        .validator::<IdClaims>(&key)
        .validate(&untrusted)
        .map_err(|_| rejected("bad signature"))?;
    let at = now.to_chrono();
    let options = TimeOptions::new(Duration::seconds(120), move || at);
    let claims = token.claims();
    claims
        .validate_expiration(&options)
        .map_err(|_| rejected("expired"))?;
    let custom = &claims.custom;
    if custom.iss != discovery.issuer {
        return Err(rejected("wrong issuer"));
    }
    let audience_ok = match &custom.aud {
        serde_json::Value::String(a) => a == client_id,
        serde_json::Value::Array(list) => list.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(rejected("issued for another client"));
    }
    if custom.nonce.as_deref() != Some(nonce) {
        return Err(rejected("nonce does not match"));
    }
    Ok(Identity {
        subject: custom.sub.clone(),
        email: custom.email.as_ref().map(|e| e.trim().to_lowercase()),
        email_verified: truthy(custom.email_verified.as_ref()) || truthy(custom.xms_edov.as_ref()),
    })
}

#[derive(Deserialize)]
struct Linked {
    user_id: String,
}

/// The Firmament account of a verified identity: the one linked to its subject, or
/// (first sign-in) the one with its address if the provider verified that address,
/// which is then linked. Unverified addresses never link.
pub async fn account_of(
    db: &impl Sql,
    provider: &str,
    identity: &Identity,
    now: Instant,
) -> DomainResult<String> {
    let linked: Option<Linked> = query_one(
        db,
        stmt!(
            "SELECT user_id FROM auth_identities WHERE provider = ?1 AND subject = ?2",
            provider,
            identity.subject.as_str()
        ),
    )
    .await?;
    if let Some(linked) = linked {
        return Ok(linked.user_id);
    }
    let Some(email) = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
    else {
        return Err(DomainError::Forbidden(
            "the provider has not verified this e-mail address, so it cannot be linked to an account".into(),
        ));
    };
    let user: Option<Linked> = query_one(
        db,
        stmt!(
            "SELECT id AS user_id FROM auth_users WHERE email = ?1",
            email
        ),
    )
    .await?;
    let user = user.ok_or_else(|| {
        DomainError::Forbidden(
            "no Firmament account uses this address; ask your firm for an invitation".into(),
        )
    })?;
    db.execute(stmt!(
        "INSERT INTO auth_identities (provider, subject, user_id, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (provider, subject) DO NOTHING",
        provider,
        identity.subject.as_str(),
        user.user_id.as_str(),
        email,
        now.millis()
    ))
    .await?;
    Ok(user.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_base64url_sha256_of_the_verifier() {
        // Expected value computed independently (Python: urlsafe_b64encode(sha256(v)) without padding).
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mJ92K9H8V2jdHuBzDNg5MPXKNwMpPM"),
            "0UWFPDHkRR0CFwRfuzlb3JFRbY4RByNEKpheV9cR7CY"
        );
    }

    #[test]
    fn only_known_providers() {
        assert_eq!(Provider::parse_name("google").unwrap(), "google");
        assert!(Provider::parse_name("myspace").is_err());
    }
}
