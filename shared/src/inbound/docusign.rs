//! DocuSign Connect with HMAC: each delivery carries one header per Connect key the
//! account has active, `X-DocuSign-Signature-1` up to `-100`, each the base64
//! HMAC-SHA256 of the raw body under that key. A delivery is DocuSign's when any
//! header matches any of our keys, which is what lets an account rotate keys: the
//! new key is added, both sign for a while, the old one is removed.

/// The prefix of the signature headers; the suffix is the key's position, 1-based.
pub const HEADER_PREFIX: &str = "x-docusign-signature-";

/// The most keys a Connect account holds, so the most headers worth reading.
pub const MAX_KEYS: usize = 100;

/// The signatures among `headers` (name, value), in no particular order: every
/// header named `X-DocuSign-Signature-<n>` for n in 1..=100, any case.
pub fn signatures<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<&'a str> {
    headers
        .into_iter()
        .filter(|(name, _)| {
            name.get(..HEADER_PREFIX.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(HEADER_PREFIX))
                && name
                    .get(HEADER_PREFIX.len()..)
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| (1..=MAX_KEYS).contains(&n))
        })
        .map(|(_, value)| value)
        .take(MAX_KEYS)
        .collect()
}

/// Verifies a Connect delivery `body` (raw bytes): true when one of `signatures`
/// is the body's HMAC under one of `keys`.
pub fn verify(keys: &[&str], body: &[u8], signatures: &[&str]) -> bool {
    keys.iter().take(MAX_KEYS).any(|key| {
        signatures
            .iter()
            .any(|signature| super::body_hmac_matches(key, body, signature))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // DocuSign publishes its recipe (and code in six languages) but no signed
    // vector; these signatures were made from a Connect JSON (SIM) envelope-completed
    // message with Python's standard `hmac` module, following DocuSign's recipe.
    const BODY: &str = r#"{"event":"envelope-completed","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/9a2b7f43-0000-4e3e-9f1a-0b4b7c2b1c11/envelopes/93be49ab-0000-4aef-a8c2-b6a1c2d0a4a3","retryCount":0,"configurationId":10418022,"generatedDateTime":"2026-11-26T09:30:00.0000000Z","data":{"accountId":"9a2b7f43-0000-4e3e-9f1a-0b4b7c2b1c11","userId":"41e4a8bf-0000-4c43-a6a5-3c0b9a4c3e55","envelopeId":"93be49ab-0000-4aef-a8c2-b6a1c2d0a4a3"}}"#;
    const KEY_1: &str = "firmament-connect-key-1";
    const SIGNATURE_1: &str = "jNj3Nrhkmmr6VI1PXP0lZCMI9G1IIaF0wtXPujRaCrI=";
    const KEY_2: &str = "firmament-connect-key-2";
    const SIGNATURE_2: &str = "wMfRp5p5TKOQHUs/tHlrMYIMsT0jMB1gsv036BT588w=";

    #[test]
    fn a_delivery_verifies_under_either_key_during_a_rotation() {
        let headers = [
            ("Content-Type", "application/json"),
            ("X-DocuSign-Signature-1", SIGNATURE_1),
            ("x-docusign-signature-2", SIGNATURE_2),
            ("X-Authorization-Digest", "HMACSHA256"),
        ];
        let found = signatures(headers);
        assert_eq!(found, vec![SIGNATURE_1, SIGNATURE_2]);
        assert!(verify(&[KEY_1], BODY.as_bytes(), &found));
        assert!(verify(&[KEY_2], BODY.as_bytes(), &found));
        // The old key removed on DocuSign's side: only header 1, under the new key.
        assert!(verify(&["retired", KEY_2], BODY.as_bytes(), &[SIGNATURE_2]));
    }

    #[test]
    fn a_changed_body_unknown_key_or_odd_header_is_refused() {
        let sigs = [SIGNATURE_1, SIGNATURE_2];
        assert!(!verify(
            &[KEY_1],
            BODY.replace("completed", "voided").as_bytes(),
            &sigs
        ));
        assert!(!verify(&["unknown"], BODY.as_bytes(), &sigs));
        assert!(!verify(&[], BODY.as_bytes(), &sigs));
        assert!(!verify(&[KEY_1], BODY.as_bytes(), &[]));
        assert!(!verify(&[""], BODY.as_bytes(), &sigs));
        // Headers outside 1..=100 or not numbered are not signatures.
        let odd = [
            ("X-DocuSign-Signature-0", SIGNATURE_1),
            ("X-DocuSign-Signature-101", SIGNATURE_1),
            ("X-DocuSign-Signature-x", SIGNATURE_1),
            ("X-DocuSign-Signature-", SIGNATURE_1),
        ];
        assert!(signatures(odd).is_empty());
    }
}
