//! QuickBooks Online (Intuit) webhooks: the `intuit-signature` header is the base64
//! HMAC-SHA256 of the raw body, keyed with the app's webhook verifier token.

/// The header Intuit signs with.
pub const HEADER: &str = "intuit-signature";

/// Verifies an Intuit notification `body` (raw bytes) against the header value.
pub fn verify(verifier_token: &str, body: &[u8], signature: &str) -> bool {
    super::body_hmac_matches(verifier_token, body, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vector in Intuit's own QuickBooks V3 Java SDK (WebhooksServiceTest).
    const TOKEN: &str = "b5771f19b12ddb4bcdb9f08bdc50bc63878a";
    const SIGNATURE: &str = "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=";
    const BODY: &str = r#"{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}"#;

    #[test]
    fn the_published_vector_verifies() {
        assert!(verify(TOKEN, BODY.as_bytes(), SIGNATURE));
        // Intuit's own negative case: a signature that is not the body's.
        assert!(!verify(TOKEN, BODY.as_bytes(), "1234"));
    }

    #[test]
    fn a_changed_body_or_token_is_refused() {
        assert!(!verify(
            TOKEN,
            BODY.replace("Create", "Delete").as_bytes(),
            SIGNATURE
        ));
        // The same JSON pretty-printed is a different message.
        assert!(!verify(
            TOKEN,
            BODY.replace(",", ", ").as_bytes(),
            SIGNATURE
        ));
        assert!(!verify(
            "b5771f19b12ddb4bcdb9f08bdc50bc63878b",
            BODY.as_bytes(),
            SIGNATURE
        ));
        assert!(!verify("", BODY.as_bytes(), SIGNATURE));
        assert!(!verify(TOKEN, BODY.as_bytes(), ""));
    }
}
