//! Second factors: TOTP enrolment and verification, recovery codes, the challenge
//! that sits between a correct password and a session, and the step-up rule for
//! sensitive actions.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Serialize};

use super::claims::VerifiedClaims;
use super::sessions::hash_token;
use super::totp::{qr_svg, Totp};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::random_bytes;
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::kernel::vault::{Field, Keyring};
use crate::stmt;

/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;
/// How long a sign-in challenge waits for its second factor: 5 minutes.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;
/// Wrong second factors a challenge survives.
pub const CHALLENGE_ATTEMPTS: i64 = 5;
/// How recent a second factor must be for a sensitive action: 10 minutes.
pub const STEP_UP_WINDOW_SECS: i64 = 10 * 60;

#[derive(Deserialize)]
struct Factor {
    secret_sealed: String,
    confirmed_at: Option<i64>,
    last_used_step: Option<i64>,
}

async fn factor(db: &impl Sql, user_id: &str) -> DomainResult<Option<Factor>> {
    query_one(
        db,
        stmt!("SELECT secret_sealed, confirmed_at, last_used_step FROM auth_totp_factors WHERE user_id = ?1", user_id),
    )
    .await
}

/// Whether the user has a confirmed second factor.
pub async fn enabled(db: &impl Sql, user_id: &str) -> DomainResult<bool> {
    let totp = factor(db, user_id)
        .await?
        .is_some_and(|f| f.confirmed_at.is_some());
    Ok(totp
        || super::sms::factor(db, user_id)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some()))
}

/// What the user sees of their second factors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// A confirmed TOTP factor exists.
    pub totp: bool,
    /// When it was confirmed (Unix ms).
    pub totp_confirmed_at: Option<i64>,
    /// A confirmed phone exists.
    pub sms: bool,
    /// Its last digits.
    pub sms_phone_hint: Option<String>,
    /// Unused recovery codes left.
    pub recovery_codes_left: i64,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// The user's second-factor status.
pub async fn status(db: &impl Sql, user_id: &str) -> DomainResult<Status> {
    let f = factor(db, user_id).await?;
    let left: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM auth_recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            user_id
        ),
    )
    .await?;
    let confirmed = f.and_then(|f| f.confirmed_at);
    let phone = super::sms::factor(db, user_id)
        .await?
        .filter(|f| f.confirmed_at.is_some());
    Ok(Status {
        totp: confirmed.is_some(),
        totp_confirmed_at: confirmed,
        sms: phone.is_some(),
        sms_phone_hint: phone.map(|f| super::sms::hint(&f.phone)),
        recovery_codes_left: left.map_or(0, |c| c.n),
    })
}

/// Where a person's TOTP secret is sealed: under their own data keys (a person
/// may belong to several firms), bound to their row.
pub fn totp_field(user_id: &str) -> Field<'_> {
    Field::new("auth_totp_factors", "secret_sealed", user_id)
}

/// What an authenticator app needs to enrol.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

/// Starts (or restarts) TOTP enrolment; refused while a confirmed factor exists.
pub async fn start_enrolment(
    db: &impl Sql,
    keys: &Keyring,
    user_id: &str,
    account: &str,
    now: Instant,
) -> DomainResult<Enrolment> {
    if enabled(db, user_id).await? {
        return Err(DomainError::Conflict {
            field: None,
            detail: "an authenticator is already enrolled; remove it first".into(),
        });
    }
    let totp = Totp::generate()?;
    let sealed = keys.seal(totp_field(user_id), totp.secret())?;
    let mut statements = vec![stmt!(
        "INSERT INTO auth_totp_factors (user_id, secret_sealed, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at,
           confirmed_at = NULL, last_used_step = NULL",
        user_id,
        sealed,
        now.millis()
    )];
    statements.extend(keys.usage());
    db.batch(statements).await?;
    let uri = totp.uri(account);
    Ok(Enrolment {
        secret: totp.secret_base32(),
        qr_svg: qr_svg(&uri)?,
        otpauth_uri: uri,
    })
}

/// A code that proves nothing while enrolling a factor: the caller is signed in,
/// so this is a refusal (403), not a sign-in failure.
pub fn wrong_code() -> DomainError {
    DomainError::Forbidden("the code is wrong, expired or already used".into())
}

fn read_code(code: &str) -> DomainResult<String> {
    let code = code.trim().replace(' ', "");
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(DomainError::invalid(
            "code",
            "format",
            "code must be the 6 digits the authenticator shows",
        ))
    }
}

/// Checks a TOTP code and spends its step. Concurrent uses of one code cannot both
/// pass: spending is conditional on the step being newer than the last one spent.
async fn spend_totp(
    db: &impl Sql,
    keys: &Keyring,
    user_id: &str,
    code: &str,
    now: Instant,
    confirmed: bool,
) -> DomainResult<bool> {
    let code = read_code(code)?;
    let Some(f) = factor(db, user_id).await? else {
        return Ok(false);
    };
    if f.confirmed_at.is_some() != confirmed {
        return Ok(false);
    }
    let totp = Totp::from_bytes(keys.open(totp_field(user_id), &f.secret_sealed)?);
    let Some(step) = totp.verify(&code, now.secs(), f.last_used_step) else {
        return Ok(false);
    };
    let changed = db
        .execute(stmt!(
            "UPDATE auth_totp_factors SET last_used_step = ?1, confirmed_at = COALESCE(confirmed_at, ?2)
              WHERE user_id = ?3 AND (last_used_step IS NULL OR last_used_step < ?1)",
            step,
            now.millis(),
            user_id
        ))
        .await?;
    Ok(changed == 1)
}

fn recovery_hash(user_id: &str, code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hash_token(&format!("{user_id}:{normalised}"))
}

/// Fresh recovery codes (`xxxxx-xxxxx`, 50 random bits each) and the statements that
/// replace the user's old ones with them.
pub fn new_recovery_codes(
    user_id: &str,
    now: Instant,
) -> DomainResult<(Vec<String>, Vec<Statement>)> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut statements = vec![stmt!(
        "DELETE FROM auth_recovery_codes WHERE user_id = ?1",
        user_id
    )];
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 7];
        random_bytes(&mut bytes)?;
        let text = BASE32_NOPAD.encode(&bytes).to_ascii_lowercase();
        let code = format!(
            "{}-{}",
            text.get(0..5).unwrap_or_default(),
            text.get(5..10).unwrap_or_default()
        );
        statements.push(stmt!(
            "INSERT INTO auth_recovery_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
            user_id,
            recovery_hash(user_id, &code),
            now.millis()
        ));
        codes.push(code);
    }
    Ok((codes, statements))
}

/// Confirms enrolment with the first code from the app; returns the recovery codes.
pub async fn confirm_enrolment(
    db: &impl Sql,
    keys: &Keyring,
    user_id: &str,
    code: &str,
    now: Instant,
) -> DomainResult<Vec<String>> {
    if !spend_totp(db, keys, user_id, code, now, false).await? {
        return Err(wrong_code());
    }
    let (codes, statements) = codes_if_none(db, user_id, now).await?;
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    Ok(codes)
}

/// Recovery codes come with a person's second factor when they hold none (first
/// factor, or all used): fresh ones and the statements that store them. Otherwise
/// nothing, and the codes they hold stay valid.
pub async fn codes_if_none(
    db: &impl Sql,
    user_id: &str,
    now: Instant,
) -> DomainResult<(Vec<String>, Vec<Statement>)> {
    if status(db, user_id).await?.recovery_codes_left > 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    new_recovery_codes(user_id, now)
}

/// Removes the TOTP factor and every recovery code.
pub fn remove(user_id: &str) -> Vec<Statement> {
    vec![
        stmt!("DELETE FROM auth_totp_factors WHERE user_id = ?1", user_id),
        stmt!(
            "DELETE FROM auth_recovery_codes WHERE user_id = ?1",
            user_id
        ),
    ]
}

/// A second factor presented by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// A code from the authenticator.
    Totp(String),
    /// One of the recovery codes.
    RecoveryCode(String),
    /// A code sent by text message.
    Sms(String),
}

impl Proof {
    /// Reads `{"code"}`, `{"recovery_code"}` or `{"sms_code"}` (exactly one).
    pub fn parse(
        code: Option<&str>,
        recovery_code: Option<&str>,
        sms_code: Option<&str>,
    ) -> DomainResult<Self> {
        match (code, recovery_code, sms_code) {
            (Some(code), None, None) => Ok(Proof::Totp(code.to_owned())),
            (None, None, Some(sms)) => Ok(Proof::Sms(sms.to_owned())),
            (None, Some(rc), None) if (1..=64).contains(&rc.len()) => {
                Ok(Proof::RecoveryCode(rc.to_owned()))
            }
            (None, Some(_), None) => Err(DomainError::invalid(
                "recovery_code",
                "format",
                "recovery_code is not a recovery code",
            )),
            _ => Err(DomainError::invalid(
                "code",
                "one_of",
                "send one of code, sms_code or recovery_code",
            )),
        }
    }

    /// The `amr` value this proof adds.
    pub fn method(&self) -> &'static str {
        match self {
            Proof::Sms(_) => "sms",
            Proof::Totp(_) | Proof::RecoveryCode(_) => "otp",
        }
    }
}

/// Checks and spends a second factor of a user with a confirmed factor.
pub async fn verify(
    db: &impl Sql,
    keys: &Keyring,
    user_id: &str,
    proof: &Proof,
    now: Instant,
) -> DomainResult<bool> {
    match proof {
        Proof::Sms(code) => {
            super::sms::verify(db, user_id, super::sms::Purpose::SecondFactor, code, now).await
        }
        Proof::Totp(code) => spend_totp(db, keys, user_id, code, now, true).await,
        Proof::RecoveryCode(code) => {
            let changed = db
                .execute(stmt!(
                    "UPDATE auth_recovery_codes SET used_at = ?1 WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL",
                    now.millis(),
                    user_id,
                    recovery_hash(user_id, code)
                ))
                .await?;
            Ok(changed == 1)
        }
    }
}

/// A challenge opened after a correct password.
pub struct Challenge {
    /// The token the client sends back with its second factor (shown once).
    pub token: String,
    /// The statement that stores it.
    pub statement: Statement,
}

/// Opens a challenge for `user_id` signing into `firm_id`.
pub fn open_challenge(user_id: &str, firm_id: &str, now: Instant) -> DomainResult<Challenge> {
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes)?;
    let token = format!("mfc_{}", URL_SAFE_NO_PAD.encode(bytes));
    let statement = stmt!(
        "INSERT INTO auth_mfa_challenges (id_hash, user_id, firm_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        hash_token(&token),
        user_id,
        firm_id,
        now.millis(),
        now.plus_millis(CHALLENGE_TTL_MS).millis()
    );
    Ok(Challenge { token, statement })
}

/// Whose challenge a token is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Challenged {
    /// The user.
    pub user_id: String,
    /// The firm being signed into.
    pub firm_id: String,
}

/// Counts an attempt on a live challenge and says whose it is; `None` when the
/// challenge is unknown, expired, used, or out of attempts.
pub async fn attempt(db: &impl Sql, token: &str, now: Instant) -> DomainResult<Option<Challenged>> {
    query_one(
        db,
        stmt!(
            "UPDATE auth_mfa_challenges SET attempts = attempts + 1
              WHERE id_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND attempts < ?3
          RETURNING user_id, firm_id",
            hash_token(token.trim()),
            now.millis(),
            CHALLENGE_ATTEMPTS
        ),
    )
    .await
}

/// Whose live challenge a token is, without counting an attempt.
pub async fn peek(db: &impl Sql, token: &str, now: Instant) -> DomainResult<Option<Challenged>> {
    query_one(
        db,
        stmt!(
            "SELECT user_id, firm_id FROM auth_mfa_challenges
              WHERE id_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND attempts < ?3",
            hash_token(token.trim()),
            now.millis(),
            CHALLENGE_ATTEMPTS
        ),
    )
    .await
}

/// Marks a challenge used (it cannot open a second session).
pub fn close_challenge(token: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE auth_mfa_challenges SET used_at = ?1 WHERE id_hash = ?2 AND used_at IS NULL",
        now.millis(),
        hash_token(token.trim())
    )
}

/// Sensitive actions (password, MFA, SSO, API keys) need a second factor from the
/// last ten minutes when the user has one.
pub fn require_step_up(
    claims: &VerifiedClaims,
    mfa_enabled: bool,
    now: Instant,
) -> DomainResult<()> {
    if !mfa_enabled || claims.second_factor_within(now, STEP_UP_WINDOW_SECS) {
        Ok(())
    } else {
        Err(DomainError::StepUpRequired)
    }
}
