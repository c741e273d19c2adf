//! The deployment's root key (`SECRETS_KEYS`): AES-256-GCM with a key id, so it
//! can rotate (the first configured key seals, every configured key opens). It
//! wraps the per-owner data keys of [`super::vault`], which seal the values at
//! rest; associated data binds each wrapped key to its owner and version.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::error::{DomainError, DomainResult};
use super::id::random_bytes;

/// Seals and opens values with the current key; opens with any configured key.
pub struct SecretBox {
    keys: Vec<(String, Aes256Gcm)>,
    /// The sealing key's bytes, from which purpose keys are derived.
    current: Vec<u8>,
}

fn unavailable(why: &str) -> DomainError {
    DomainError::Unavailable(format!("secrets key: {why}"))
}

impl SecretBox {
    /// From `kid:base64url(32 bytes)[,kid:…]`; the first key seals.
    pub fn from_config(spec: &str) -> DomainResult<Self> {
        let mut keys = Vec::new();
        let mut current = Vec::new();
        for entry in spec.split(',').filter(|e| !e.trim().is_empty()) {
            let (kid, key) = entry
                .trim()
                .split_once(':')
                .ok_or_else(|| unavailable("expected kid:base64key"))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .map_err(|_| unavailable("key is not base64url"))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| unavailable("key must be 32 bytes"))?;
            if keys.is_empty() {
                current = bytes;
            }
            keys.push((kid.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(unavailable("no key configured"));
        }
        Ok(Self { keys, current })
    }

    /// A 32-byte key for one purpose (`label`), derived from the sealing key with
    /// HMAC-SHA256 (HKDF-Expand of one block): the same in every worker, and
    /// useless for anything but that purpose.
    pub fn derive(&self, label: &[u8]) -> DomainResult<Vec<u8>> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.current)
            .map_err(|_| unavailable("key"))?;
        mac.update(label);
        mac.update(&[1]);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// The key id that seals.
    pub fn current_kid(&self) -> &str {
        self.keys.first().map_or("", |(kid, _)| kid.as_str())
    }

    /// `v1.<kid>.<base64url(nonce ‖ ciphertext)>`
    pub fn seal(&self, plaintext: &[u8], owner: &str) -> DomainResult<String> {
        let (kid, cipher) = self
            .keys
            .first()
            .ok_or_else(|| unavailable("no key configured"))?;
        let mut nonce = [0u8; 12];
        random_bytes(&mut nonce)?;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| unavailable("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("v1.{kid}.{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a sealed value of `owner`; fails if it was changed or belongs elsewhere.
    pub fn open(&self, sealed: &str, owner: &str) -> DomainResult<Vec<u8>> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(unavailable("sealed value has an unknown format"));
        };
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(|| unavailable("sealed with a key that is not configured"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| unavailable("sealed value is not base64url"))?;
        let (nonce, ciphertext) = bytes
            .split_at_checked(12)
            .ok_or_else(|| unavailable("sealed value is too short"))?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| unavailable("sealed value does not open"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const KEY_B: &str = "b:HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo";

    #[test]
    fn sealed_values_open_only_for_their_owner_and_key() {
        let boxed = SecretBox::from_config(KEY_A).unwrap();
        let sealed = boxed.seal(b"totp secret", "usr_1").unwrap();
        assert!(sealed.starts_with("v1.a."));
        assert_eq!(boxed.open(&sealed, "usr_1").unwrap(), b"totp secret");
        assert!(boxed.open(&sealed, "usr_2").is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(boxed.open(&tampered, "usr_1").is_err());
        assert_ne!(
            boxed.seal(b"totp secret", "usr_1").unwrap(),
            sealed,
            "fresh nonce each time"
        );
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = SecretBox::from_config(KEY_A)
            .unwrap()
            .seal(b"x", "o")
            .unwrap();
        let rotated = SecretBox::from_config(&format!("{KEY_B},{KEY_A}")).unwrap();
        assert_eq!(rotated.open(&old, "o").unwrap(), b"x");
        assert!(rotated.seal(b"x", "o").unwrap().starts_with("v1.b."));
        assert!(SecretBox::from_config("").is_err());
        assert!(SecretBox::from_config("k:c2hvcnQ").is_err());
    }

    #[test]
    fn purpose_keys_follow_the_sealing_key() {
        let a = SecretBox::from_config(KEY_A).unwrap();
        let links = a.derive(b"files/download-links/v1").unwrap();
        assert_eq!(links.len(), 32);
        assert_eq!(links, a.derive(b"files/download-links/v1").unwrap());
        assert_ne!(links, a.derive(b"other").unwrap());
        let b = SecretBox::from_config(&format!("{KEY_B},{KEY_A}")).unwrap();
        assert_ne!(links, b.derive(b"files/download-links/v1").unwrap());
    }
}
