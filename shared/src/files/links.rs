//! Download links our worker signs: HMAC-SHA256 over the object, its firm, who
//! the link was issued to, and when it expires. A link's lifetime follows the
//! file's classification (public and internal 60 minutes, confidential 15,
//! personal and highly restricted 5). Nothing but the signature proves a link, so
//! a changed character, another object or a late fetch is refused alike.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::time::Instant;
use crate::wire_enum;

wire_enum!(
    /// How sensitive a file is (`core.md`'s levels).
    Classification, "of" {
        /// Public.
        Pub = "PUB",
        /// Internal.
        Int = "INT",
        /// Confidential (the default for documents).
        Conf = "CONF",
        /// Restricted personal data.
        RPii = "R-PII",
        /// Highly restricted.
        Hr = "HR",
    }
);

impl Classification {
    /// How long a link to such a file lives.
    pub fn link_lifetime_ms(self) -> i64 {
        60_000
            * match self {
                Classification::Pub | Classification::Int => 60,
                Classification::Conf => 15,
                Classification::RPii | Classification::Hr => 5,
            }
    }
}

/// What a link grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The object (`fil_…`).
    pub object_id: String,
    /// Its firm.
    pub firm_id: String,
    /// Who it was issued to (`usr_…`), or `public` for a firm's logo.
    pub actor: String,
    /// When it stops working (Unix ms).
    pub expires_at: i64,
}

impl Grant {
    /// The firm a checked link acts in: only our signature makes a grant.
    pub fn scope(&self) -> crate::kernel::tenant::TenantScope {
        crate::kernel::tenant::TenantScope::new(&self.firm_id, None)
    }
}

/// Signs and checks links with one secret key.
pub struct LinkSigner {
    key: Vec<u8>,
}

fn refused() -> DomainError {
    DomainError::Gone("the download link is expired, altered or not for this file".into())
}

impl LinkSigner {
    /// A signer keyed by `key` (at least 32 bytes).
    pub fn new(key: &[u8]) -> DomainResult<Self> {
        if key.len() < 32 {
            return Err(DomainError::Unavailable(
                "the link key is shorter than 32 bytes".into(),
            ));
        }
        Ok(Self { key: key.to_vec() })
    }

    fn mac(&self, payload: &str) -> DomainResult<Vec<u8>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .map_err(|_| DomainError::Unavailable("link key".into()))?;
        mac.update(payload.as_bytes());
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// The token of `grant`: `<base64url payload>.<base64url signature>`.
    pub fn sign(&self, grant: &Grant) -> DomainResult<String> {
        let payload = format!(
            "{}|{}|{}|{}",
            grant.object_id, grant.firm_id, grant.actor, grant.expires_at
        );
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.mac(&payload)?)
        ))
    }

    /// The grant `token` proves for `object_id` at `now`; 410 otherwise.
    pub fn check(&self, token: &str, object_id: &str, now: Instant) -> DomainResult<Grant> {
        let (payload, signature) = token.split_once('.').ok_or_else(refused)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(refused)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| refused())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).map_err(|_| refused())?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| refused())?;
        let mut parts = payload.split('|');
        let (Some(object), Some(firm), Some(actor), Some(expires), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(refused());
        };
        let expires_at: i64 = expires.parse().map_err(|_| refused())?;
        if object != object_id || now.millis() >= expires_at {
            return Err(refused());
        }
        Ok(Grant {
            object_id: object.to_owned(),
            firm_id: firm.to_owned(),
            actor: actor.to_owned(),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_for_its_object_until_it_expires() {
        let signer = LinkSigner::new(&[7u8; 32]).unwrap();
        let now = Instant::from_millis(1_000_000);
        let grant = Grant {
            object_id: "fil_1".into(),
            firm_id: "frm_a".into(),
            actor: "usr_1".into(),
            expires_at: now.millis() + Classification::Conf.link_lifetime_ms(),
        };
        let token = signer.sign(&grant).unwrap();
        assert_eq!(signer.check(&token, "fil_1", now).unwrap(), grant);
        assert!(
            signer.check(&token, "fil_2", now).is_err(),
            "another object"
        );
        assert!(
            signer
                .check(&token, "fil_1", now.plus_millis(15 * 60_000))
                .is_err(),
            "expired"
        );
        let mut altered = token.clone();
        altered.insert(3, 'x');
        assert!(signer.check(&altered, "fil_1", now).is_err());
        let other = LinkSigner::new(&[8u8; 32]).unwrap();
        assert!(other.check(&token, "fil_1", now).is_err(), "another key");
        assert!(LinkSigner::new(&[1u8; 16]).is_err());
        assert_eq!(Classification::Hr.link_lifetime_ms(), 5 * 60_000);
        assert_eq!(Classification::Int.link_lifetime_ms(), 60 * 60_000);
    }
}
