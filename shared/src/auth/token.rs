//! Access tokens: Ed25519-signed JWTs (`EdDSA`, the only algorithm accepted), with a
//! `kid` so two keys can be live during a rotation, and `iss`, `aud`, `exp`, `nbf`
//! checked on every verification (RFC 8725).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::Duration;
use ed25519_compact::{KeyPair, PublicKey, SecretKey, Seed};
use jwt_compact::alg::Ed25519;
use jwt_compact::{AlgorithmExt as _, Claims, Header, TimeOptions, UntrustedToken};

use super::claims::{AccessClaims, VerifiedClaims};
use crate::kernel::error::DomainError;
use crate::kernel::time::Instant;

/// Lifetime of an access token: short, because verification is local at the edge
/// and revocation must bite quickly.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Clock skew tolerated between workers.
pub const LEEWAY_SECS: i64 = 30;
/// The one signature algorithm tokens may name.
pub const ALGORITHM: &str = "EdDSA";

/// A configuration value that cannot be used (a deployment mistake, not a caller's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {name}: {reason}")]
pub struct ConfigError {
    /// Which setting.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn decode_key(name: &'static str, raw: &str) -> Result<Vec<u8>, ConfigError> {
    let raw = raw.trim();
    URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(raw))
        .map_err(|_| ConfigError {
            name,
            reason: "key is not base64".into(),
        })
}

fn split_kid<'a>(name: &'static str, entry: &'a str) -> Result<(&'a str, &'a str), ConfigError> {
    entry
        .trim()
        .split_once(':')
        .filter(|(kid, _)| !kid.is_empty())
        .ok_or(ConfigError {
            name,
            reason: "expected kid:base64key".into(),
        })
}

/// Issues access tokens with the current signing key.
pub struct TokenSigner {
    kid: String,
    key: SecretKey,
    issuer: String,
    audience: String,
}

/// A freshly signed token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl TokenSigner {
    /// From `kid:base64(32-byte Ed25519 seed)`.
    pub fn from_config(spec: &str, issuer: &str, audience: &str) -> Result<Self, ConfigError> {
        const NAME: &str = "JWT_SIGNING_KEY";
        let (kid, key) = split_kid(NAME, spec)?;
        let seed = Seed::from_slice(&decode_key(NAME, key)?).map_err(|_| ConfigError {
            name: NAME,
            reason: "seed must be 32 bytes".into(),
        })?;
        // `from_seed` panics on an all-zero seed; `try_from_seed` says so instead.
        let pair = KeyPair::try_from_seed(seed).map_err(|_| ConfigError {
            name: NAME,
            reason: "seed must not be all zeros".into(),
        })?;
        Ok(Self {
            kid: kid.to_owned(),
            key: pair.sk,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Signs `claims` (its `iss` and `aud` are overwritten with this signer's) at `now`.
    pub fn issue(
        &self,
        mut claims: AccessClaims,
        now: Instant,
    ) -> Result<IssuedToken, DomainError> {
        claims.iss.clone_from(&self.issuer);
        claims.aud.clone_from(&self.audience);
        let issued = now.to_chrono();
        let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || issued);
        let claims = Claims::new(claims)
            .set_duration_and_issuance(&options, Duration::seconds(ACCESS_TTL_SECS))
            .set_not_before(issued);
        let header = Header::empty()
            .with_key_id(self.kid.clone())
            .with_token_type("JWT");
        let token = Ed25519
            .token(&header, &claims, &self.key)
            .map_err(|e| DomainError::Unavailable(format!("token signing: {e}")))?;
        Ok(IssuedToken {
            token,
            expires_in: ACCESS_TTL_SECS,
        })
    }
}

/// Verifies access tokens against the live public keys.
pub struct TokenVerifier {
    keys: Vec<(String, PublicKey)>,
    issuer: String,
    audience: String,
}

fn unauthenticated(why: &str) -> DomainError {
    DomainError::Unauthenticated(why.to_owned())
}

impl TokenVerifier {
    /// From `kid:base64(32-byte public key)[,kid:base64(…)]`.
    pub fn from_config(spec: &str, issuer: &str, audience: &str) -> Result<Self, ConfigError> {
        const NAME: &str = "JWT_VERIFY_KEYS";
        let mut keys = Vec::new();
        for entry in spec.split(',').filter(|e| !e.trim().is_empty()) {
            let (kid, key) = split_kid(NAME, entry)?;
            let key = PublicKey::from_slice(&decode_key(NAME, key)?).map_err(|_| ConfigError {
                name: NAME,
                reason: "public key must be 32 bytes".into(),
            })?;
            keys.push((kid.to_owned(), key));
        }
        if keys.is_empty() {
            return Err(ConfigError {
                name: NAME,
                reason: "no key configured".into(),
            });
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Checks the token's algorithm, key id, signature, validity window, issuer and
    /// audience; anything off is `Unauthenticated` with a reason that leaks nothing.
    pub fn verify(&self, token: &str, now: Instant) -> Result<VerifiedClaims, DomainError> {
        let untrusted = UntrustedToken::new(token)
            .map_err(|_| unauthenticated("the access token is malformed"))?;
        if untrusted.algorithm() != ALGORITHM {
            return Err(unauthenticated(
                "the access token's algorithm is not accepted",
            ));
        }
        let kid = untrusted
            .header()
            .key_id
            .as_deref()
            .ok_or_else(|| unauthenticated("the access token names no key"))?;
        let (_, key) =
            self.keys.iter().find(|(k, _)| k == kid).ok_or_else(|| {
                unauthenticated("the access token was signed with an unknown key")
            })?;
        let token = Ed25519
            .validator::<AccessClaims>(key)
            .validate(&untrusted)
            .map_err(|_| unauthenticated("the access token's signature is invalid"))?;
        let at = now.to_chrono();
        let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || at);
        let claims = token.claims();
        claims
            .validate_expiration(&options)
            .map_err(|_| unauthenticated("the access token has expired"))?
            .validate_maturity(&options)
            .map_err(|_| unauthenticated("the access token is not valid yet"))?;
        if claims.custom.iss != self.issuer || claims.custom.aud != self.audience {
            return Err(unauthenticated(
                "the access token was issued for another service",
            ));
        }
        // A portal role always names its client, and only a portal role does.
        if claims.custom.role.is_portal() != claims.custom.client.is_some() {
            return Err(unauthenticated(
                "the access token's role and client do not match",
            ));
        }
        let expires_at = claims.expiration.map_or(0, |e| e.timestamp());
        Ok(VerifiedClaims {
            claims: claims.custom.clone(),
            expires_at,
            api_key: None,
        })
    }
}

/// Access tokens this isolate has already verified, so a client's next requests
/// with the same token skip the signature check until it expires. Only a token
/// that verified is ever stored, and it is found only by its exact text; API keys
/// are never cached (their revocation takes effect on the next request).
pub struct VerifiedTokens {
    entries: std::collections::HashMap<String, VerifiedClaims>,
    capacity: usize,
}

impl VerifiedTokens {
    /// An empty cache holding at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: std::collections::HashMap::new(),
            capacity,
        }
    }

    /// The claims of `token` if it was verified and has not expired by `now`.
    pub fn get(&self, token: &str, now: Instant) -> Option<VerifiedClaims> {
        self.entries
            .get(token)
            .filter(|c| c.expires_at() > now.secs())
            .cloned()
    }

    /// Remembers a verified token; when full, expired entries go first, then all.
    pub fn put(&mut self, token: &str, claims: &VerifiedClaims, now: Instant) {
        if claims.is_api_key() || self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, c| c.expires_at() > now.secs());
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(token.to_owned(), claims.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::roles::{Flag, Role};
    use jwt_compact::alg::{Hs256, Hs256Key};

    const SEED_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const NOW: i64 = 1_780_000_000_000;

    fn public_of(seed: &str) -> String {
        let bytes = URL_SAFE_NO_PAD.decode(seed).unwrap();
        let kp = KeyPair::from_seed(Seed::from_slice(&bytes).unwrap());
        URL_SAFE_NO_PAD.encode(kp.pk.as_ref())
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            sub: "usr_1".into(),
            firm: "frm_1".into(),
            role: Role::FirmAdmin,
            client: None,
            flags: vec![Flag::CanManageSettings],
            sid: "ses_1".into(),
            amr: vec!["pwd".into()],
            mfa_at: None,
            iss: String::new(),
            aud: String::new(),
        }
    }

    fn signer(kid: &str) -> TokenSigner {
        TokenSigner::from_config(&format!("{kid}:{SEED_A}"), "firmament", "firmament-api").unwrap()
    }

    fn verifier(keys: &str) -> TokenVerifier {
        TokenVerifier::from_config(keys, "firmament", "firmament-api").unwrap()
    }

    #[test]
    fn a_fresh_token_verifies_with_its_claims() {
        let t = signer("k1")
            .issue(claims(), Instant::from_millis(NOW))
            .unwrap();
        let v = verifier(&format!(
            "k0:{},k1:{}",
            public_of("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"),
            public_of(SEED_A)
        ));
        let c = v
            .verify(&t.token, Instant::from_millis(NOW + 1000))
            .unwrap();
        assert_eq!(c.firm_id(), "frm_1");
        assert_eq!(c.role(), Role::FirmAdmin);
        assert_eq!(c.expires_at(), NOW / 1000 + ACCESS_TTL_SECS);
    }

    #[test]
    fn time_window_is_enforced_with_leeway() {
        let t = signer("k1")
            .issue(claims(), Instant::from_millis(NOW))
            .unwrap();
        let v = verifier(&format!("k1:{}", public_of(SEED_A)));
        let expired = NOW + (ACCESS_TTL_SECS + LEEWAY_SECS + 1) * 1000;
        assert!(v.verify(&t.token, Instant::from_millis(expired)).is_err());
        let early = NOW - (LEEWAY_SECS + 1) * 1000;
        assert!(v.verify(&t.token, Instant::from_millis(early)).is_err());
        assert!(v
            .verify(&t.token, Instant::from_millis(NOW + LEEWAY_SECS * 1000))
            .is_ok());
    }

    #[test]
    fn unknown_kid_wrong_audience_and_tampering_are_refused() {
        let t = signer("k9")
            .issue(claims(), Instant::from_millis(NOW))
            .unwrap();
        let now = Instant::from_millis(NOW);
        assert!(verifier(&format!("k1:{}", public_of(SEED_A)))
            .verify(&t.token, now)
            .is_err());
        let other_aud = TokenVerifier::from_config(
            &format!("k9:{}", public_of(SEED_A)),
            "firmament",
            "elsewhere",
        )
        .unwrap();
        assert!(other_aud.verify(&t.token, now).is_err());
        let mut parts: Vec<String> = t.token.split('.').map(str::to_owned).collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["role"] = "firm_admin".into();
        payload["firm"] = "frm_2".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        assert!(verifier(&format!("k9:{}", public_of(SEED_A)))
            .verify(&parts.join("."), now)
            .is_err());
    }

    #[test]
    fn other_algorithms_are_refused() {
        let now = Instant::from_millis(NOW);
        let v = verifier(&format!("k1:{}", public_of(SEED_A)));
        // HS256 signed with the public key as the secret (algorithm confusion).
        let key = Hs256Key::new(URL_SAFE_NO_PAD.decode(public_of(SEED_A)).unwrap());
        let options = TimeOptions::new(Duration::seconds(0), move || now.to_chrono());
        let c = Claims::new(claims()).set_duration_and_issuance(&options, Duration::minutes(5));
        let hs = Hs256
            .token(&Header::empty().with_key_id("k1"), &c, &key)
            .unwrap();
        assert!(v.verify(&hs, now).is_err());
        // alg: none with no signature.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        assert!(v.verify(&format!("{header}.{body}."), now).is_err());
        assert!(v.verify("not-a-token", now).is_err());
    }

    #[test]
    fn bad_configuration_is_reported() {
        assert!(TokenSigner::from_config("nokid", "i", "a").is_err());
        assert!(TokenSigner::from_config("k:c2hvcnQ", "i", "a").is_err());
        assert!(TokenSigner::from_config(&format!("k:{}", "A".repeat(43)), "i", "a").is_err());
        assert!(TokenVerifier::from_config("", "i", "a").is_err());
    }

    #[test]
    fn verified_tokens_are_remembered_until_they_expire() {
        let signer = signer("k1");
        let verifier = TokenVerifier::from_config(
            &format!("k1:{}", public_of(SEED_A)),
            "firmament",
            "firmament-api",
        )
        .unwrap();
        let now = Instant::from_millis(NOW);
        let token = signer.issue(claims(), now).unwrap().token;
        let other = signer
            .issue(claims(), Instant::from_millis(NOW + 1000))
            .unwrap()
            .token;
        let verified = verifier.verify(&token, now).unwrap();
        let mut cache = VerifiedTokens::new(1);
        assert!(cache.get(&token, now).is_none());
        cache.put(&token, &verified, now);
        assert_eq!(cache.get(&token, now), Some(verified.clone()));
        // Another text (even of a valid token) is not a hit, and an expired entry is gone.
        assert!(cache.get(&other, now).is_none());
        let expiry = Instant::from_millis(verified.expires_at() * 1000);
        assert!(cache.get(&token, expiry).is_none());
        // Full: the newcomer replaces what was there.
        let other_claims = verifier.verify(&other, now).unwrap();
        cache.put(&other, &other_claims, now);
        assert!(cache.get(&token, now).is_none());
        assert!(cache.get(&other, now).is_some());
    }
}
