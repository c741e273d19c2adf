//! Text-message second factor: an enrolled phone number, and six-digit codes sent
//! to it that work once, for ten minutes, with five tries. Sends are limited per
//! account and hour (enrolment 3, sign-in and step-up codes 5: the original
//! system's limits).

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::sessions::hash_token;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::{new_id, random_bytes};
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::stmt;

/// How long a code works: 10 minutes.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong answers a code survives.
pub const CODE_ATTEMPTS: i64 = 5;
const HOUR_MS: i64 = 60 * 60 * 1000;

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Proving the phone at enrolment.
    Enrol,
    /// A second factor at sign-in or step-up.
    SecondFactor,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::Enrol => "enrol",
            Purpose::SecondFactor => "second_factor",
        }
    }

    /// Codes of this purpose one account may be sent per hour.
    pub fn hourly_limit(self) -> i64 {
        match self {
            Purpose::Enrol => 3,
            Purpose::SecondFactor => 5,
        }
    }
}

/// Checks an E.164 number (`+` and 8 to 15 digits, no leading zero).
pub fn parse_phone(field: &str, raw: &str) -> DomainResult<String> {
    let phone: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = phone.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(phone)
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be an international number such as +14155550123"),
        ))
    }
}

/// The last two digits, for showing which phone a code went to.
pub fn hint(phone: &str) -> String {
    let tail: String = phone
        .chars()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

fn code_hash(user_id: &str, purpose: Purpose, code: &str) -> String {
    hash_token(&format!("{user_id}:{}:{code}", purpose.name()))
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// A code to send and the statement that stores it (after the hourly limit is checked).
pub async fn new_code(
    db: &impl Sql,
    user_id: &str,
    purpose: Purpose,
    now: Instant,
) -> DomainResult<(String, Statement)> {
    let sent: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM auth_sms_codes WHERE user_id = ?1 AND purpose = ?2 AND created_at > ?3",
            user_id,
            purpose.name(),
            now.millis() - HOUR_MS
        ),
    )
    .await?;
    if sent.map_or(0, |c| c.n) >= purpose.hourly_limit() {
        return Err(DomainError::RateLimited {
            retry_after_secs: 3600,
        });
    }
    let mut bytes = [0u8; 8];
    random_bytes(&mut bytes)?;
    let code = format!("{:06}", u64::from_le_bytes(bytes) % 1_000_000);
    let statement = stmt!(
        "INSERT INTO auth_sms_codes (id, user_id, purpose, code_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        new_id("smc", now.millis())?,
        user_id,
        purpose.name(),
        code_hash(user_id, purpose, &code),
        now.millis(),
        now.plus_millis(CODE_TTL_MS).millis()
    );
    Ok((code, statement))
}

/// The text of the message carrying `code`.
pub fn message(code: &str) -> String {
    format!("Your Firmament code is {code}. It expires in 10 minutes. Never share it.")
}

#[derive(Deserialize)]
struct Live {
    id: String,
    code_hash: String,
}

/// Checks `code` against the newest live code of that purpose (counting the try)
/// and spends it when it matches.
pub async fn verify(
    db: &impl Sql,
    user_id: &str,
    purpose: Purpose,
    code: &str,
    now: Instant,
) -> DomainResult<bool> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::invalid(
            "sms_code",
            "format",
            "sms_code must be the 6 digits of the text message",
        ));
    }
    let live: Option<Live> = query_one(
        db,
        stmt!(
            "UPDATE auth_sms_codes SET attempts = attempts + 1
              WHERE id = (SELECT id FROM auth_sms_codes WHERE user_id = ?1 AND purpose = ?2 ORDER BY created_at DESC LIMIT 1)
                AND used_at IS NULL AND expires_at > ?3 AND attempts < ?4
          RETURNING id, code_hash",
            user_id,
            purpose.name(),
            now.millis(),
            CODE_ATTEMPTS
        ),
    )
    .await?;
    let Some(live) = live else {
        return Ok(false);
    };
    let matches: bool = live
        .code_hash
        .as_bytes()
        .ct_eq(code_hash(user_id, purpose, code).as_bytes())
        .into();
    if !matches {
        return Ok(false);
    }
    let spent = db
        .execute(stmt!(
            "UPDATE auth_sms_codes SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL",
            now.millis(),
            live.id.as_str()
        ))
        .await?;
    Ok(spent == 1)
}

/// A user's phone factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    /// The number.
    pub phone: String,
    /// When it was confirmed (Unix ms).
    pub confirmed_at: Option<i64>,
}

/// The user's phone factor, confirmed or not.
pub async fn factor(db: &impl Sql, user_id: &str) -> DomainResult<Option<Factor>> {
    query_one(
        db,
        stmt!(
            "SELECT phone, confirmed_at FROM auth_sms_factors WHERE user_id = ?1",
            user_id
        ),
    )
    .await
}

/// Records (or replaces) an unconfirmed phone.
pub fn enrol(user_id: &str, phone: &str, now: Instant) -> Statement {
    stmt!(
        "INSERT INTO auth_sms_factors (user_id, phone, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, confirmed_at = NULL, created_at = excluded.created_at",
        user_id,
        phone,
        now.millis()
    )
}

/// Confirms the phone.
pub fn confirm(user_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE auth_sms_factors SET confirmed_at = ?1 WHERE user_id = ?2",
        now.millis(),
        user_id
    )
}

/// Removes the phone.
pub fn remove(user_id: &str) -> Statement {
    stmt!("DELETE FROM auth_sms_factors WHERE user_id = ?1", user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_e164() {
        assert_eq!(
            parse_phone("phone", "+1 (415) 555-0123").unwrap(),
            "+14155550123"
        );
        for bad in [
            "4155550123",
            "+0123456789",
            "+1",
            "+1415555012345678",
            "+1415abc0123",
        ] {
            assert!(parse_phone("phone", bad).is_err(), "{bad}");
        }
        assert_eq!(hint("+14155550123"), "…23");
    }
}
