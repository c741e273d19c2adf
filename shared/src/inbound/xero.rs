//! Xero webhooks: the `x-xero-signature` header is the base64 HMAC-SHA256 of the
//! raw body, keyed with the app's webhook key (its text, not base64-decoded).
//!
//! Xero checks a new subscription with "intent to receive" deliveries, some signed
//! wrongly on purpose: the receiver must answer 401 to a bad signature and 200 to a
//! good one, so a caller answers exactly that from [`verify`].

/// The header Xero signs with.
pub const HEADER: &str = "x-xero-signature";

/// Verifies a Xero delivery `body` (raw bytes) against the header value.
pub fn verify(webhook_key: &str, body: &[u8], signature: &str) -> bool {
    super::body_hmac_matches(webhook_key, body, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Xero publishes its recipe and a sample payload but no signed vector; the
    // signature below was made from that payload with Python's standard `hmac`
    // module (an implementation that is not ours), following Xero's recipe.
    const KEY: &str = "firmament-xero-webhook-key";
    const BODY: &str = r#"{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777","resourceId":"717f2bfc-c6d4-41fd-b238-3f2f0c0cf777","eventDateUtc":"2017-06-21T01:15:39.902","eventType":"Update","eventCategory":"CONTACT","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f","tenantType":"ORGANISATION"}],"lastEventSequence":1,"firstEventSequence":1,"entropy":"S0m3r4Nd0mt3xt"}"#;
    const SIGNATURE: &str = "oBoZ3HEPP5DYZqx3Bg11uY9ztcyeV1hKd1vrUD5gTL0=";

    #[test]
    fn a_delivery_signed_by_the_recipe_verifies() {
        assert!(verify(KEY, BODY.as_bytes(), SIGNATURE));
    }

    #[test]
    fn an_intent_to_receive_with_a_wrong_signature_is_refused() {
        // The intent-to-receive check sends the same body with a wrong signature
        // and expects a refusal.
        assert!(!verify(
            KEY,
            BODY.as_bytes(),
            "wrong/signature+0000000000000000000000="
        ));
        assert!(!verify(
            KEY,
            BODY.replace("Update", "Create").as_bytes(),
            SIGNATURE
        ));
        assert!(!verify("another-key", BODY.as_bytes(), SIGNATURE));
        assert!(!verify("", BODY.as_bytes(), SIGNATURE));
    }
}
