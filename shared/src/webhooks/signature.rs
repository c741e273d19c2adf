//! Standard Webhooks signatures: `whsec_` secrets, `webhook-signature` headers of
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per live secret so
//! that a rotation never breaks a receiver, and verification with a timestamp
//! tolerance against replays. Outbound deliveries sign with it; inbound providers
//! that follow the specification are verified with it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::kernel::error::DomainError;

/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from now, either way, seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// Random bytes in a new secret.
pub const SECRET_BYTES: usize = 32;

/// A signing secret (its key bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A fresh random secret.
    pub fn generate() -> Result<Self, DomainError> {
        let mut key = vec![0u8; SECRET_BYTES];
        crate::kernel::id::random_bytes(&mut key)?;
        Ok(Self(key))
    }

    /// Parses `whsec_<base64>` (the prefix may be absent, as receivers accept);
    /// a 422 naming `field` when it is not base64 of 24 to 64 bytes.
    pub fn parse(field: &str, text: &str) -> Result<Self, DomainError> {
        let body = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .unwrap_or(text.trim());
        match STANDARD.decode(body) {
            Ok(key) if (24..=64).contains(&key.len()) => Ok(Self(key)),
            _ => Err(DomainError::invalid(
                field,
                "format",
                format!("{field} must be whsec_ followed by base64 of 24 to 64 bytes"),
            )),
        }
    }

    /// The text form, `whsec_<base64>`.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The base64 HMAC-SHA256 of `id.timestamp.body` under this secret.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

/// The headers of one signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `webhook-id`: the message id, the same on every retry.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of this attempt.
    pub timestamp: i64,
    /// `webhook-signature`: one `v1,<base64>` per secret, space-separated.
    pub signature: String,
}

impl Signed {
    /// The three headers as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", self.timestamp.to_string()),
            ("webhook-signature", self.signature.clone()),
        ]
    }
}

/// Signs `body` (the exact bytes sent) as message `id` at `timestamp` with every
/// secret in `secrets` (the current one, and the previous one during a rotation).
pub fn sign(id: &str, timestamp: i64, body: &[u8], secrets: &[&Secret]) -> Signed {
    let signature = secrets
        .iter()
        .map(|s| format!("v1,{}", STANDARD.encode(s.mac(id, timestamp, body))))
        .collect::<Vec<_>>()
        .join(" ");
    Signed {
        id: id.to_owned(),
        timestamp,
        signature,
    }
}

/// Why a delivery did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// A header is missing or malformed.
    MissingHeaders,
    /// The timestamp is further than the tolerance from now.
    Stale,
    /// No signature matches the secret.
    BadSignature,
}

/// Verifies a delivery: `id`, `timestamp` and `signature` are the three headers'
/// values, `body` the raw bytes received, `now_secs` the receiver's clock. Any one
/// `v1` signature matching `secret` passes (compared in constant time).
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), Rejected> {
    if id.is_empty() || signature.is_empty() {
        return Err(Rejected::MissingHeaders);
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Rejected::MissingHeaders)?;
    if (now_secs - ts).abs() > TOLERANCE_SECS {
        return Err(Rejected::Stale);
    }
    let expected = secret.mac(id, ts, body);
    let matched = signature.split(' ').any(|part| {
        part.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|given| bool::from(given.ct_eq(&expected)))
    });
    if matched {
        Ok(())
    } else {
        Err(Rejected::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification (also Svix's docs).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specification_example_signs_and_verifies() {
        let secret = Secret::parse("secret", SECRET).unwrap();
        let signed = sign(ID, TS, BODY, &[&secret]);
        assert_eq!(signed.signature, EXPECTED);
        assert_eq!(secret.expose(), SECRET);
        assert_eq!(
            verify(&secret, ID, "1614265330", EXPECTED, BODY, TS + 10),
            Ok(())
        );
    }

    #[test]
    fn tampering_staleness_and_missing_parts_are_refused() {
        let secret = Secret::parse("secret", SECRET).unwrap();
        let other = Secret::generate().unwrap();
        let ts = TS.to_string();
        assert_eq!(
            verify(&secret, ID, &ts, EXPECTED, br#"{"test": 2432232315}"#, TS),
            Err(Rejected::BadSignature)
        );
        assert_eq!(
            verify(&secret, "msg_other", &ts, EXPECTED, BODY, TS),
            Err(Rejected::BadSignature)
        );
        assert_eq!(
            verify(&other, ID, &ts, EXPECTED, BODY, TS),
            Err(Rejected::BadSignature)
        );
        assert_eq!(
            verify(&secret, ID, &ts, EXPECTED, BODY, TS + 301),
            Err(Rejected::Stale)
        );
        assert_eq!(
            verify(&secret, ID, &ts, EXPECTED, BODY, TS - 301),
            Err(Rejected::Stale)
        );
        assert_eq!(
            verify(&secret, ID, "soon", EXPECTED, BODY, TS),
            Err(Rejected::MissingHeaders)
        );
        assert_eq!(
            verify(&secret, "", &ts, EXPECTED, BODY, TS),
            Err(Rejected::MissingHeaders)
        );
        assert_eq!(
            verify(&secret, ID, &ts, "v2,abc v1,!!", BODY, TS),
            Err(Rejected::BadSignature)
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_and_each_verifies() {
        let old = Secret::generate().unwrap();
        let new = Secret::generate().unwrap();
        let signed = sign(ID, TS, BODY, &[&new, &old]);
        assert_eq!(signed.signature.split(' ').count(), 2);
        for s in [&old, &new] {
            assert_eq!(
                verify(s, ID, &TS.to_string(), &signed.signature, BODY, TS),
                Ok(())
            );
        }
    }

    #[test]
    fn secrets_parse_strictly_and_never_print() {
        assert!(Secret::parse("secret", "whsec_short").is_err());
        assert!(Secret::parse("secret", "whsec_***").is_err());
        let s = Secret::generate().unwrap();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(Secret::parse("secret", &s.expose()).unwrap(), s);
        assert_eq!(format!("{s:?}"), "Secret(…)");
    }
}
