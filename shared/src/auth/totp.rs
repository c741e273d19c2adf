//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits,
//! 30-second steps, one step of drift either way, and no code accepted twice: a
//! verification returns the step it matched, and the caller stores it as the
//! floor for the next one.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use qrcodegen::{QrCode, QrCodeEcc};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::random_bytes;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps of clock drift tolerated either way.
pub const DRIFT_STEPS: i64 = 1;
/// Secret length in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "Firmament";

/// A shared TOTP secret.
pub struct Totp {
    secret: Vec<u8>,
}

impl Totp {
    /// A fresh random secret.
    pub fn generate() -> DomainResult<Self> {
        let mut secret = vec![0u8; SECRET_BYTES];
        random_bytes(&mut secret)?;
        Ok(Self { secret })
    }

    /// From raw secret bytes.
    pub fn from_bytes(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    /// The raw secret (to seal for storage).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The secret in base32, as typed into an authenticator app.
    pub fn secret_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.secret)
    }

    /// The HOTP value of `counter` with `digits` digits (RFC 4226 §5.3).
    pub fn hotp(&self, counter: u64, digits: u32) -> u32 {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.secret) else {
            return 0;
        };
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
        let word = digest
            .get(offset..offset + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u32::from_be_bytes(b) & 0x7fff_ffff);
        word % 10u32.pow(digits)
    }

    /// The code for Unix time `unix_secs`.
    pub fn code_at(&self, unix_secs: i64, digits: u32) -> u32 {
        self.hotp(step_of(unix_secs), digits)
    }

    /// The step that `code` matches at `unix_secs` (within the drift), if any is
    /// later than `last_used_step`. Compares in constant time.
    pub fn verify(&self, code: &str, unix_secs: i64, last_used_step: Option<i64>) -> Option<i64> {
        let code = code.trim().replace(' ', "");
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = i64::try_from(step_of(unix_secs)).unwrap_or(0);
        (now - DRIFT_STEPS..=now + DRIFT_STEPS)
            .filter(|step| *step >= 0 && last_used_step.is_none_or(|last| *step > last))
            .find(|step| {
                let expected = format!(
                    "{:0width$}",
                    self.hotp(*step as u64, DIGITS),
                    width = DIGITS as usize
                );
                bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
            })
    }

    /// The `otpauth://` URI that authenticator apps read from a QR code.
    pub fn uri(&self, account: &str) -> String {
        let label = format!("{ISSUER}:{account}");
        format!(
            "otpauth://totp/{}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            percent_encode(&label),
            self.secret_base32()
        )
    }
}

fn step_of(unix_secs: i64) -> u64 {
    u64::try_from(unix_secs.max(0) / STEP_SECS).unwrap_or(0)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b':' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `text` as a QR code in SVG (black modules on white, 4-module quiet zone).
pub fn qr_svg(text: &str) -> DomainResult<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| DomainError::invalid("uri", "too_long", "the text does not fit a QR code"))?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows: (time, 8-digit code).
    const VECTORS: [(i64, u32); 6] = [
        (59, 94_287_082),
        (1_111_111_109, 7_081_804),
        (1_111_111_111, 14_050_471),
        (1_234_567_890, 89_005_924),
        (2_000_000_000, 69_279_037),
        (20_000_000_000, 65_353_130),
    ];

    fn rfc() -> Totp {
        Totp::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc_6238_appendix_codes() {
        for (time, code) in VECTORS {
            assert_eq!(rfc().code_at(time, 8), code, "t={time}");
            assert_eq!(rfc().code_at(time, 6), code % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn codes_verify_within_one_step_and_never_twice() {
        let t = 1_234_567_890;
        let code = format!("{:06}", rfc().code_at(t, 6));
        let step = rfc().verify(&code, t, None).unwrap();
        assert_eq!(step, t / 30);
        assert_eq!(
            rfc().verify(&code, t + 30, None),
            Some(step),
            "one step late is fine"
        );
        assert_eq!(
            rfc().verify(&code, t - 30, None),
            Some(step),
            "one step early is fine"
        );
        assert_eq!(
            rfc().verify(&code, t + 60, None),
            None,
            "two steps late is not"
        );
        assert_eq!(
            rfc().verify(&code, t, Some(step)),
            None,
            "used codes are spent"
        );
        assert_eq!(rfc().verify("12345", t, None), None);
        assert_eq!(rfc().verify("abcdef", t, None), None);
    }

    #[test]
    fn uri_and_qr_code() {
        let uri = rfc().uri("ada@acme.test");
        assert_eq!(
            uri,
            "otpauth://totp/Firmament:ada@acme.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Firmament&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path d=\"M"));
        assert_eq!(Totp::generate().unwrap().secret().len(), SECRET_BYTES);
    }
}
