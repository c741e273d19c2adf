//! Browser sessions: tokens in HttpOnly cookies, CSRF double-submit on unsafe requests.

use firmament_e2e::{call, unique_ip, Reply, TestFirm, OWNER_PASSWORD};
use serde_json::json;

struct Jar {
    access: String,
    refresh: String,
    csrf: String,
}

impl Jar {
    fn from(reply: &Reply) -> Self {
        let get = |name: &str| reply.set_cookie(name).map(|(v, _)| v).unwrap_or_default();
        Self {
            access: get("fm_access"),
            refresh: get("fm_refresh"),
            csrf: get("fm_csrf"),
        }
    }

    fn header(&self) -> String {
        format!(
            "fm_access={}; fm_refresh={}; fm_csrf={}",
            self.access, self.refresh, self.csrf
        )
    }
}

fn browser_sign_in(firm: &TestFirm) -> (Reply, Jar) {
    let reply = call("POST", "/v1/auth/sign-in")
        .header("cf-connecting-ip", &unique_ip())
        .header("x-session-mode", "cookie")
        .json(&json!({"email": firm.owner_email(), "password": OWNER_PASSWORD}))
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let jar = Jar::from(&reply);
    (reply, jar)
}

#[test]
fn a_browser_sign_in_sets_http_only_cookies_and_no_tokens_in_the_body() {
    let firm = TestFirm::provision();
    let (reply, jar) = browser_sign_in(&firm);
    let body = reply.json();
    assert!(
        body.get("access_token").is_none() && body.get("refresh_token").is_none(),
        "{body}"
    );
    assert_eq!(body["csrf_token"].as_str(), Some(jar.csrf.as_str()));
    let (_, access_attrs) = reply.set_cookie("fm_access").unwrap();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=900",
    ] {
        assert!(
            access_attrs.contains(attr),
            "fm_access lacks {attr}: {access_attrs}"
        );
    }
    let (_, refresh_attrs) = reply.set_cookie("fm_refresh").unwrap();
    assert!(refresh_attrs.contains("Path=/v1/auth") && refresh_attrs.contains("HttpOnly"));
    let (_, csrf_attrs) = reply.set_cookie("fm_csrf").unwrap();
    assert!(
        !csrf_attrs.contains("HttpOnly"),
        "the page must read the CSRF token"
    );
    // Reads need only the cookie.
    let me = call("GET", "/v1/firm")
        .header("cookie", &jar.header())
        .send();
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["id"], firm.id());
}

#[test]
fn unsafe_requests_by_cookie_need_the_csrf_token() {
    let firm = TestFirm::provision();
    let (_, jar) = browser_sign_in(&firm);
    let patch = |csrf: Option<&str>| {
        let mut c = call("PATCH", "/v1/firm").header("cookie", &jar.header());
        if let Some(t) = csrf {
            c = c.header("x-csrf-token", t);
        }
        c.json(&json!({"name": "Changed from the browser"})).send()
    };
    patch(None).problem(403);
    patch(Some("not-the-token")).problem(403);
    let ok = patch(Some(&jar.csrf));
    assert_eq!(ok.status, 200, "{}", ok.text);
    // A bearer token needs no CSRF token: no cookie is involved.
    assert_eq!(
        call("PATCH", "/v1/firm")
            .token(&firm.token)
            .json(&json!({"name": "By bearer"}))
            .send()
            .status,
        200
    );
}

#[test]
fn the_browser_refreshes_and_signs_out_with_cookies() {
    let firm = TestFirm::provision();
    let (_, jar) = browser_sign_in(&firm);
    let refresh = |jar: &Jar, csrf: &str| {
        call("POST", "/v1/auth/refresh")
            .header("cf-connecting-ip", &unique_ip())
            .header("cookie", &jar.header())
            .header("x-csrf-token", csrf)
            .json(&json!({}))
            .send()
    };
    refresh(&jar, "wrong").problem(403);
    let renewed = refresh(&jar, &jar.csrf);
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let fresh = Jar::from(&renewed);
    assert!(!fresh.refresh.is_empty() && fresh.refresh != jar.refresh);
    // The old refresh cookie again: reuse, the session ends.
    refresh(&jar, &jar.csrf).problem(401);
    refresh(&fresh, &fresh.csrf).problem(401);

    let (_, jar) = browser_sign_in(&firm);
    let out = call("POST", "/v1/auth/sign-out")
        .header("cookie", &jar.header())
        .header("x-csrf-token", &jar.csrf)
        .send();
    assert_eq!(out.status, 204, "{}", out.text);
    let (value, attrs) = out.set_cookie("fm_access").unwrap();
    assert!(value.is_empty() && attrs.contains("Max-Age=0"));
    refresh(&jar, &jar.csrf).problem(401);
}
