//! The malware-scanner port: every new object is sent as
//! `POST {SCANNER_URL}/scan` with `{"url", "sha256", "size"}` (the url a
//! 15-minute signed link to the bytes), signed with headers `X-Scan-Timestamp`
//! (Unix seconds) and `X-Scan-Signature` = hex HMAC-SHA256(secret, timestamp + "." +
//! body). The answer is `{"status": "clean" | "infected" | "error", "signature",
//! "engine"}`; anything else, or no answer, is retried on the schedule below.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::kernel::error::{DomainError, DomainResult};

/// How long the scanner's fetch link lives.
pub const LINK_LIFETIME_MS: i64 = 15 * 60_000;
/// Waits before each retry of a scan that got no verdict: 1 min, 5 min, 30 min,
/// 2 h, 6 h; then the scan is `failed` and the firm's admins are told.
pub const RETRY_AFTER_MS: &[i64] = &[60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];

/// The wait before attempt `attempts + 1` after `attempts` attempts without a
/// verdict, or `None` once the schedule is spent (the scan has failed).
pub fn retry_after(attempts: i64) -> Option<i64> {
    usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| RETRY_AFTER_MS.get(i).copied())
}

/// What is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanRequest {
    /// A signed link to the bytes.
    pub url: String,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Their size.
    pub size: u64,
}

/// The headers and body of a signed scan request at `timestamp`.
pub fn sign(
    secret: &[u8],
    request: &ScanRequest,
    timestamp: i64,
) -> DomainResult<(Vec<(&'static str, String)>, String)> {
    let body = serde_json::to_string(request)
        .map_err(|e| DomainError::Unavailable(format!("scan request: {e}")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| DomainError::Unavailable("scanner secret".into()))?;
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((
        vec![
            ("x-scan-timestamp", timestamp.to_string()),
            ("x-scan-signature", signature),
            ("content-type", "application/json".to_owned()),
        ],
        body,
    ))
}

/// The scanner's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Verdict {
    /// `clean`, `infected` or `error`.
    pub status: String,
    /// What it found.
    #[serde(default)]
    pub signature: Option<String>,
    /// Which engine answered.
    #[serde(default)]
    pub engine: Option<String>,
}

/// What a verdict does to the object: its scan status, and whether to try again.
pub fn outcome(verdict: &Verdict) -> (&'static str, bool) {
    match verdict.status.as_str() {
        "clean" => ("clean", false),
        "infected" => ("flagged", false),
        _ => ("pending", true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // Computed with Python's hmac module over the same timestamp and body.
        let (headers, body) = sign(
            b"scanner-secret-0123456789abcdef",
            &ScanRequest {
                url: "https://files.example/x".into(),
                sha256: "00".into(),
                size: 3,
            },
            1_790_000_000,
        )
        .unwrap();
        assert_eq!(
            body,
            r#"{"url":"https://files.example/x","sha256":"00","size":3}"#
        );
        assert_eq!(
            headers[1],
            (
                "x-scan-signature",
                "1d6505c775e33b1ffc77a4f9cd33209f4b66e02661a217ea8bf7ff43ec00a9fe".to_owned()
            )
        );
        let v = |s: &str| Verdict {
            status: s.into(),
            signature: None,
            engine: None,
        };
        assert_eq!(outcome(&v("infected")), ("flagged", false));
        assert_eq!(outcome(&v("clean")), ("clean", false));
        assert_eq!(outcome(&v("error")), ("pending", true));
        assert_eq!(retry_after(1), Some(60_000));
        assert_eq!(retry_after(5), Some(21_600_000));
        assert_eq!(retry_after(6), None);
        assert_eq!(retry_after(0), None);
    }
}
