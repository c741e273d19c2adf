//! Sign-in with Google and Microsoft through OpenID Connect (against the simulator).

use firmament_e2e::{call, decode_claims, oidc_rotate, oidc_user, unique_ip, Reply, TestFirm};

/// Starts a sign-in and lets the provider sign `email` in; returns the callback URL.
fn through_provider(provider: &str, email: &str, extra: &str) -> String {
    let started = call(
        "GET",
        &format!("/v1/auth/oidc/{provider}/start?login_hint={email}{extra}"),
    )
    .header("cf-connecting-ip", &unique_ip())
    .send();
    assert_eq!(started.status, 302, "{}", started.text);
    let authorize = started.header("location").unwrap().to_owned();
    assert_eq!(started.json()["authorization_url"], authorize.as_str());
    for param in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "scope=openid%20email%20profile",
    ] {
        assert!(
            authorize.contains(param),
            "{param} missing from {authorize}"
        );
    }
    let back = call("GET", &authorize).send();
    assert_eq!(back.status, 302, "provider: {}", back.text);
    back.header("location").unwrap().to_owned()
}

fn finish(callback: &str) -> Reply {
    call("GET", callback)
        .header("cf-connecting-ip", &unique_ip())
        .send()
}

#[test]
fn google_signs_in_an_account_with_the_same_verified_address() {
    let firm = TestFirm::provision();
    let callback = through_provider("google", &firm.owner_email(), "");
    let signed_in = finish(&callback);
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let claims = decode_claims(signed_in.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["oidc"]));
    assert_eq!(claims["firm"], firm.id());
    // The same callback (code and state) cannot be used twice.
    finish(&callback).problem(401);
    // Later sign-ins find the account by the provider's subject.
    assert_eq!(
        finish(&through_provider("google", &firm.owner_email(), "")).status,
        200
    );
    let audit = call("GET", "/v1/firm/audit?limit=100")
        .token(&firm.token)
        .send()
        .text;
    assert!(audit.contains("oidc"), "sign-in by oidc is audited");
}

#[test]
fn microsoft_works_the_same_way_and_provider_key_rotation_is_followed() {
    let firm = TestFirm::provision();
    assert_eq!(
        finish(&through_provider("microsoft", &firm.owner_email(), "")).status,
        200
    );
    oidc_rotate("microsoft");
    let after = finish(&through_provider("microsoft", &firm.owner_email(), ""));
    assert_eq!(after.status, 200, "new signing key fetched: {}", after.text);
}

#[test]
fn unverified_or_unknown_addresses_do_not_sign_in() {
    let firm = TestFirm::provision();
    oidc_user(&firm.owner_email(), false);
    finish(&through_provider("google", &firm.owner_email(), "")).problem(403);
    finish(&through_provider("google", "nobody-here@nowhere.test", "")).problem(403);
}

#[test]
fn bad_callbacks_are_refused() {
    let firm = TestFirm::provision();
    let callback = through_provider("google", &firm.owner_email(), "");
    let forged_state = callback.replace("state=", "state=x");
    finish(&forged_state).problem(401);
    let path = callback.split("/v1/").nth(1).unwrap();
    let without_code: String = format!("/v1/{}", path)
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let missing = finish(&without_code);
    missing.problem(422);
    assert_eq!(missing.error_fields(), ["code", "state"]);
    finish("/v1/auth/oidc/google/callback?error=access_denied").problem(401);
    call("GET", "/v1/auth/oidc/myspace/start")
        .send()
        .problem(404);
    // The google state does not work at microsoft's callback.
    let cross = callback.replace("/oidc/google/", "/oidc/microsoft/");
    finish(&cross).problem(401);
}

#[test]
fn a_browser_gets_cookies_from_the_callback() {
    let firm = TestFirm::provision();
    let signed_in = finish(&through_provider(
        "google",
        &firm.owner_email(),
        "&mode=cookie",
    ));
    // The browser goes back to the console, signed in by cookies.
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert!(signed_in.header("location").unwrap().ends_with("/"));
    assert!(signed_in.json().get("access_token").is_none());
    let (_, attrs) = signed_in.set_cookie("fm_access").unwrap();
    assert!(attrs.contains("HttpOnly"));
}
