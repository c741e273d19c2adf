//! Browser sessions: the same tokens as the API gives, carried in cookies instead of
//! JavaScript — `HttpOnly; Secure; SameSite=Lax` for the tokens — with a CSRF
//! double-submit token (a readable cookie the page echoes in `X-CSRF-Token`)
//! required on every unsafe request that authenticates by cookie.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::kernel::error::DomainResult;
use crate::kernel::id::random_bytes;

/// Cookie holding the access token.
pub const ACCESS_COOKIE: &str = "fm_access";
/// Cookie holding the refresh token (sent only to the auth routes).
pub const REFRESH_COOKIE: &str = "fm_refresh";
/// Cookie holding the CSRF token (readable by the page).
pub const CSRF_COOKIE: &str = "fm_csrf";
/// Header the page echoes the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Request header that asks for cookies instead of tokens in the body.
pub const MODE_HEADER: &str = "x-session-mode";

/// Whether a method changes state (and so needs the CSRF token).
pub fn is_unsafe(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A fresh CSRF token.
pub fn new_csrf_token() -> DomainResult<String> {
    let mut bytes = [0u8; 24];
    random_bytes(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether the echoed header matches the cookie (constant time).
pub fn csrf_ok(cookie_value: Option<&str>, header_value: Option<&str>) -> bool {
    match (cookie_value, header_value) {
        (Some(c), Some(h)) if !c.is_empty() => c.as_bytes().ct_eq(h.trim().as_bytes()).into(),
        _ => false,
    }
}

fn set(name: &str, value: &str, path: &str, max_age: i64, http_only: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; Secure; SameSite=Lax{}",
        if http_only { "; HttpOnly" } else { "" }
    )
}

/// `Set-Cookie` values for a signed-in browser.
pub fn session_cookies(
    access: &str,
    access_ttl_secs: i64,
    refresh: &str,
    refresh_ttl_secs: i64,
    csrf: &str,
) -> Vec<String> {
    vec![
        set(ACCESS_COOKIE, access, "/", access_ttl_secs, true),
        set(REFRESH_COOKIE, refresh, "/v1/auth", refresh_ttl_secs, true),
        set(CSRF_COOKIE, csrf, "/", refresh_ttl_secs, false),
    ]
}

/// The `Set-Cookie` value that replaces only the access token (after a step-up).
pub fn access_cookie(access: &str, access_ttl_secs: i64) -> String {
    set(ACCESS_COOKIE, access, "/", access_ttl_secs, true)
}

/// `Set-Cookie` values that sign a browser out.
pub fn cleared_cookies() -> Vec<String> {
    vec![
        set(ACCESS_COOKIE, "", "/", 0, true),
        set(REFRESH_COOKIE, "", "/v1/auth", 0, true),
        set(CSRF_COOKIE, "", "/", 0, false),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_the_header() {
        let header = "theme=dark; fm_access=abc.def.ghi; fm_csrf=\"t0k\"";
        assert_eq!(cookie(header, ACCESS_COOKIE), Some("abc.def.ghi"));
        assert_eq!(cookie(header, CSRF_COOKIE), Some("t0k"));
        assert_eq!(cookie(header, REFRESH_COOKIE), None);
        assert_eq!(cookie("fm_access=", ACCESS_COOKIE), None);
    }

    #[test]
    fn token_cookies_are_http_only_and_the_csrf_one_is_readable() {
        let set = session_cookies("a", 900, "r", 2_592_000, "c");
        assert!(
            set[0].starts_with("fm_access=a; Path=/; Max-Age=900; Secure; SameSite=Lax; HttpOnly")
        );
        assert!(set[1].contains("Path=/v1/auth") && set[1].ends_with("HttpOnly"));
        assert!(!set[2].contains("HttpOnly"));
        assert!(cleared_cookies().iter().all(|c| c.contains("Max-Age=0")));
    }

    #[test]
    fn csrf_needs_both_halves_equal() {
        assert!(csrf_ok(Some("x1"), Some("x1")));
        assert!(!csrf_ok(Some("x1"), Some("x2")));
        assert!(!csrf_ok(Some("x1"), None));
        assert!(!csrf_ok(None, Some("x1")));
        assert!(!csrf_ok(Some(""), Some("")));
        assert!(is_unsafe("POST") && !is_unsafe("GET"));
    }
}
