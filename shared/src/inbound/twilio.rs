//! Twilio's request signature: `X-Twilio-Signature` is the base64 HMAC-SHA1, keyed
//! with the account's auth token, of the full URL Twilio requested followed by each
//! form field's name and value, sorted by name (no separators). A JSON body is not
//! signed field by field: the URL carries `bodySHA256`, the hex SHA-256 of the
//! body, and the URL alone is signed.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The signature Twilio sends for a form POST to `url` with `fields`.
fn expected(auth_token: &str, url: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut sorted: Vec<&(&str, &str)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(b.1)));
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return Vec::new();
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// Verifies a form-encoded callback: `url` exactly as Twilio requested it (scheme,
/// host, path and query), `fields` the decoded form fields, `signature` the header.
pub fn verify_form(auth_token: &str, url: &str, fields: &[(&str, &str)], signature: &str) -> bool {
    !auth_token.is_empty() && super::base64_matches(signature, &expected(auth_token, url, fields))
}

/// Verifies a JSON callback: the URL's signature, and that its `bodySHA256` query
/// parameter is the SHA-256 of `body`.
pub fn verify_json(auth_token: &str, url: &str, body: &[u8], signature: &str) -> bool {
    let claimed = url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("bodySHA256="));
    let actual: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    claimed.is_some_and(|c| c.eq_ignore_ascii_case(&actual))
        && verify_form(auth_token, url, &[], signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Twilio's published example (its security documentation and helper libraries).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const FIELDS: &[(&str, &str)] = &[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ];
    const SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    #[test]
    fn the_published_example_verifies_in_any_field_order() {
        assert!(verify_form(TOKEN, URL, FIELDS, SIGNATURE));
        let mut shuffled = FIELDS.to_vec();
        shuffled.reverse();
        assert!(verify_form(TOKEN, URL, &shuffled, SIGNATURE));
    }

    #[test]
    fn any_change_is_refused() {
        assert!(!verify_form("54321", URL, FIELDS, SIGNATURE));
        assert!(!verify_form(
            TOKEN,
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            FIELDS,
            SIGNATURE
        ));
        let mut changed = FIELDS.to_vec();
        changed[2] = ("Digits", "1235");
        assert!(!verify_form(TOKEN, URL, &changed, SIGNATURE));
        assert!(!verify_form(TOKEN, URL, FIELDS, "not base64"));
        assert!(!verify_form("", URL, FIELDS, SIGNATURE));
    }

    #[test]
    fn a_json_body_is_bound_by_its_hash_in_the_url() {
        let body = br#"{"flow":"FW1","status":"ended"}"#;
        let hash: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let url = format!("https://hooks.example.com/studio?bodySHA256={hash}");
        let signature = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(expected(TOKEN, &url, &[]))
        };
        assert!(verify_json(TOKEN, &url, body, &signature));
        assert!(!verify_json(
            TOKEN,
            &url,
            br#"{"flow":"FW1","status":"failed"}"#,
            &signature
        ));
    }
}
