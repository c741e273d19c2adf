//! Verifying the signatures providers put on the webhooks they send us: one
//! verifier per scheme, each tested against the example its provider publishes, so
//! that every module receives provider callbacks through one tested door.
//!
//! - [`twilio`]: `X-Twilio-Signature` (HMAC-SHA1 of the URL and sorted form fields,
//!   or of the URL carrying `bodySHA256` for JSON bodies).
//! - [`square`]: `x-square-hmacsha256-signature` (HMAC-SHA256 of the notification URL
//!   and the body).
//! - Standard Webhooks (`webhook-id`/`-timestamp`/`-signature`):
//!   [`crate::webhooks::signature::verify`], the same code that signs our own.

pub mod square;
pub mod twilio;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

/// Whether the base64 text `given` is the base64 of `expected`, compared in
/// constant time over the decoded bytes.
pub(crate) fn base64_matches(given: &str, expected: &[u8]) -> bool {
    STANDARD
        .decode(given.trim())
        .is_ok_and(|bytes| bool::from(bytes.ct_eq(expected)))
}
