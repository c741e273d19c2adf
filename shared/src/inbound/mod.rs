//! Verifying the signatures providers put on the webhooks they send us: one
//! verifier per scheme, each tested against the example its provider publishes, so
//! that every module receives provider callbacks through one tested door.
//!
//! - [`twilio`]: `X-Twilio-Signature` (HMAC-SHA1 of the URL and sorted form fields,
//!   or of the URL carrying `bodySHA256` for JSON bodies).
//! - [`square`]: `x-square-hmacsha256-signature` (HMAC-SHA256 of the notification URL
//!   and the body).
//! - [`docusign`]: `X-DocuSign-Signature-1..N` (HMAC-SHA256 of the body, one header
//!   per Connect key).
//! - [`quickbooks`]: `intuit-signature` (HMAC-SHA256 of the body with the app's
//!   verifier token).
//! - [`xero`]: `x-xero-signature` (HMAC-SHA256 of the body with the webhook key).
//! - Standard Webhooks (`webhook-id`/`-timestamp`/`-signature`):
//!   [`crate::webhooks::signature::verify`], the same code that signs our own.
//!
//! Every verifier takes the body exactly as received: a re-serialised JSON body is
//! a different message and fails, as it should.

pub mod docusign;
pub mod quickbooks;
pub mod square;
pub mod twilio;
pub mod xero;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Whether the base64 text `given` is the base64 of `expected`, compared in
/// constant time over the decoded bytes.
pub(crate) fn base64_matches(given: &str, expected: &[u8]) -> bool {
    STANDARD
        .decode(given.trim())
        .is_ok_and(|bytes| bool::from(bytes.ct_eq(expected)))
}

/// HMAC-SHA256 keyed with `key` over `parts` in order; `None` for an empty key,
/// which no provider issues and which must never verify anything.
pub(crate) fn hmac_sha256(key: &str, parts: &[&[u8]]) -> Option<Vec<u8>> {
    if key.is_empty() {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().to_vec())
}

/// The scheme DocuSign, QuickBooks and Xero share: the header is the base64
/// HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 bytes.
pub(crate) fn body_hmac_matches(key: &str, body: &[u8], signature: &str) -> bool {
    hmac_sha256(key, &[body]).is_some_and(|mac| base64_matches(signature, &mac))
}
