//! Passwords: checked against the policy, then kept only as Argon2id hashes with the
//! OWASP minimum cost (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::kernel::error::DomainError;
use crate::kernel::id::random_bytes;
use crate::kernel::validate::EmailAddress;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_LENGTH: usize = 256;

/// Argon2id memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const ITERATIONS: u32 = 2;
/// Argon2id lanes.
pub const LANES: u32 = 1;

fn hasher() -> Result<Argon2<'static>, DomainError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|e| DomainError::Unavailable(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A password that met the policy, not yet hashed.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the policy: length, and not the account's own e-mail address.
    pub fn parse(
        field: &str,
        raw: &str,
        email: Option<&EmailAddress>,
    ) -> Result<Self, DomainError> {
        let len = raw.chars().count();
        if len < MIN_LENGTH {
            return Err(DomainError::invalid(
                field,
                "too_short",
                format!("{field} must be at least {MIN_LENGTH} characters"),
            ));
        }
        if len > MAX_LENGTH {
            return Err(DomainError::invalid(
                field,
                "too_long",
                format!("{field} must be at most {MAX_LENGTH} characters"),
            ));
        }
        if email.is_some_and(|e| e.as_str().eq_ignore_ascii_case(raw.trim())) {
            return Err(DomainError::invalid(
                field,
                "weak",
                format!("{field} must not be the e-mail address"),
            ));
        }
        if is_common(raw) {
            return Err(DomainError::invalid(
                field,
                "common",
                format!("{field} is one of the most used passwords (or one with digits added); choose another"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The PHC-format Argon2id hash with a fresh random salt.
    pub fn hash(&self) -> Result<String, DomainError> {
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| DomainError::Unavailable(e.to_string()))?;
        hasher()?
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::Unavailable(e.to_string()))
    }
}

/// The 10,000 most used passwords (Mark Burnett's list, public domain), lower-case,
/// those of 6 characters or more, sorted bytewise.
const COMMON: &str = include_str!("common-passwords.txt");

/// Whether a password is a common one, alone, repeated, or wrapped in digits and
/// symbols (`password123456`, `!qwerty123456`), or a short unit repeated
/// (`abcabcabcabc`, `aaaaaaaaaaaa`).
pub fn is_common(raw: &str) -> bool {
    let lower = raw.trim().to_lowercase();
    let list: Vec<&str> = COMMON.lines().collect();
    let in_list = |candidate: &str| candidate.len() >= 6 && list.binary_search(&candidate).is_ok();
    let stem = lower.trim_matches(|c: char| {
        c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
    });
    let chars: Vec<char> = lower.chars().collect();
    let repeated_unit = (1..=chars.len() / 2).any(|unit| {
        chars.len().is_multiple_of(unit)
            && chars
                .chunks(unit)
                .all(|chunk| chars.get(..unit) == Some(chunk))
    });
    in_list(&lower) || in_list(stem) || repeated_unit
}

/// True when `password` matches the stored PHC hash (constant-time comparison
/// inside the argon2 crate).
pub fn verify(password: &str, stored_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored_hash) else {
        return false;
    };
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_and_self_named_passwords() {
        let email = EmailAddress::parse("email", "ada.lovelace@example.com").unwrap();
        assert!(NewPassword::parse("password", "short", None).is_err());
        assert!(NewPassword::parse("password", "ada.lovelace@example.com", Some(&email)).is_err());
        assert!(NewPassword::parse("password", &"x".repeat(257), None).is_err());
        assert!(NewPassword::parse("password", "correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_even_dressed_up() {
        for weak in [
            "password123456",
            "qwertyuiop12",
            "!!baseball2024!!",
            "abcabcabcabc",
            "zzzzzzzzzzzz",
            "Football1234567",
        ] {
            assert!(is_common(weak), "{weak}");
            assert!(
                NewPassword::parse("password", weak, None).is_err(),
                "{weak}"
            );
        }
        for strong in [
            "correct horse battery",
            "tangerine-otter-41-flask",
            "Demo password 2026!",
        ] {
            assert!(!is_common(strong), "{strong}");
        }
        let sorted = COMMON.lines().collect::<Vec<_>>();
        assert!(
            sorted.windows(2).all(|w| w[0] < w[1]),
            "the list must stay sorted"
        );
        assert!(sorted.len() > 7000);
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = NewPassword::parse("password", "correct horse battery", None)
            .unwrap()
            .hash()
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse batterx", &hash));
        assert!(!verify("correct horse battery", "not a hash"));
    }
}
