//! Square's webhook signature: `x-square-hmacsha256-signature` is the base64
//! HMAC-SHA256, keyed with the subscription's signature key, of the notification
//! URL (exactly as configured) followed by the raw body.

/// Verifies a Square notification to `notification_url` with `body` (raw bytes).
pub fn verify(signature_key: &str, notification_url: &str, body: &[u8], signature: &str) -> bool {
    !notification_url.is_empty()
        && super::hmac_sha256(signature_key, &[notification_url.as_bytes(), body])
            .is_some_and(|mac| super::base64_matches(signature, &mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors Square publishes in its SDKs' webhook-signature tests.
    const BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    const SIGNATURE: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    const KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
    const URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";

    #[test]
    fn the_published_vectors_verify() {
        assert!(verify(KEY, URL, BODY.as_bytes(), SIGNATURE));
        assert!(verify(
            "signature-key",
            "https://webhook.site/webhooks",
            br#"{"data":{"type":"webhooks","id":"fake_id"}}"#,
            "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA="
        ));
        assert!(verify(
            "signature-key",
            "https://webhook.site/webhooks",
            br#"{"data":{"type":"webhooks","id":">id<"}}"#,
            "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="
        ));
    }

    #[test]
    fn a_changed_url_body_or_key_is_refused() {
        assert!(!verify(
            KEY,
            "https://webhook.site/other",
            BODY.as_bytes(),
            SIGNATURE
        ));
        assert!(!verify(
            KEY,
            URL,
            BODY.replace("MLEF", "MLEG").as_bytes(),
            SIGNATURE
        ));
        assert!(!verify("another-key", URL, BODY.as_bytes(), SIGNATURE));
        assert!(!verify("", URL, BODY.as_bytes(), SIGNATURE));
        assert!(!verify(KEY, URL, BODY.as_bytes(), ""));
    }
}
