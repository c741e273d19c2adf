//! Provisioning a firm: the happy path, bad input, duplicates, idempotent retries.

use firmament_e2e::{call, decode_claims, unique, TestFirm};
use serde_json::json;

#[test]
fn provisioning_returns_the_firm_and_a_working_owner_token() {
    let slug = unique("acme");
    let reply = call("POST", "/v1/firms")
        .json(&TestFirm::request(&slug))
        .send();
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("location"), Some("/v1/firm"));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["firm"]["slug"], slug.as_str());
    assert_eq!(body["firm"]["status"], "trial");
    assert_eq!(body["firm"]["timezone"], "Europe/Paris");
    assert_eq!(body["firm"]["currency"], "EUR");
    assert!(body["owner"].get("password").is_none() && !reply.text.contains("argon2"));
    let token = body["access_token"].as_str().unwrap();
    let claims = decode_claims(token);
    assert_eq!(claims["role"], "firm_admin");
    assert_eq!(claims["firm"], body["firm"]["id"]);
    let me = call("GET", "/v1/firm").token(token).send();
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["id"], body["firm"]["id"]);
}

#[test]
fn defaults_apply_when_zone_and_currency_are_omitted() {
    let slug = unique("plain");
    let mut req = TestFirm::request(&slug);
    req.as_object_mut().unwrap().remove("timezone");
    req.as_object_mut().unwrap().remove("currency");
    let body = call("POST", "/v1/firms").json(&req).send().json();
    assert_eq!(body["firm"]["timezone"], "America/New_York");
    assert_eq!(body["firm"]["currency"], "USD");
}

#[test]
fn validation_errors_name_every_bad_field() {
    let reply = call("POST", "/v1/firms")
        .json(&json!({"name": "", "slug": "No Spaces", "timezone": "Mars/Base", "currency": "ZZZ",
                      "owner": {"email": "not-an-email", "password": "short", "name": "X"}, "plan": "gold"}))
        .send();
    let body = reply.problem(422);
    let fields = reply.error_fields();
    for f in [
        "name",
        "slug",
        "timezone",
        "currency",
        "owner.email",
        "owner.password",
        "plan",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
    }
    assert!(body["errors"][0]["rule"].is_string());
    let missing = call("POST", "/v1/firms")
        .json(&json!({"slug": unique("x")}))
        .send();
    missing.problem(422);
    assert!(missing.error_fields().contains(&"owner".to_owned()));
}

#[test]
fn malformed_json_and_wrong_content_type_are_400() {
    call("POST", "/v1/firms")
        .raw("application/json", b"{\"name\": ".to_vec())
        .send()
        .problem(400);
    call("POST", "/v1/firms")
        .raw("text/plain", b"{}".to_vec())
        .send()
        .problem(400);
    call("POST", "/v1/firms")
        .raw("application/json", Vec::new())
        .send()
        .problem(400);
    call("POST", "/v1/firms")
        .json(&json!(["not", "an", "object"]))
        .send()
        .problem(422);
}

#[test]
fn bodies_over_one_mebibyte_are_413() {
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let reply = call("POST", "/v1/firms")
        .raw("application/json", big.into_bytes())
        .send();
    reply.problem(413);
}

#[test]
fn a_taken_slug_is_409_naming_the_field() {
    let slug = unique("dup");
    assert_eq!(
        call("POST", "/v1/firms")
            .json(&TestFirm::request(&slug))
            .send()
            .status,
        201
    );
    let mut again = TestFirm::request(&slug);
    again["owner"]["email"] = json!(format!("other@{slug}.example"));
    let reply = call("POST", "/v1/firms").json(&again).send();
    reply.problem(409);
    assert_eq!(reply.error_fields(), ["slug"]);
    // Nothing of the refused request was written: its owner's address is still free.
    let mut fresh = TestFirm::request(&unique("dup2"));
    fresh["owner"]["email"] = again["owner"]["email"].clone();
    assert_eq!(call("POST", "/v1/firms").json(&fresh).send().status, 201);
}

#[test]
fn a_taken_owner_email_is_409() {
    let slug = unique("mail");
    assert_eq!(
        call("POST", "/v1/firms")
            .json(&TestFirm::request(&slug))
            .send()
            .status,
        201
    );
    let mut again = TestFirm::request(&unique("mail2"));
    again["owner"]["email"] = json!(format!("owner@{slug}.test"));
    let reply = call("POST", "/v1/firms").json(&again).send();
    reply.problem(409);
    assert_eq!(reply.error_fields(), ["owner.email"]);
}

#[test]
fn an_idempotency_key_replays_the_first_response() {
    let key = unique("key");
    let req = TestFirm::request(&unique("idem"));
    let first = call("POST", "/v1/firms")
        .header("idempotency-key", &key)
        .json(&req)
        .send();
    assert_eq!(first.status, 201);
    let second = call("POST", "/v1/firms")
        .header("idempotency-key", &key)
        .json(&req)
        .send();
    assert_eq!(second.status, 201);
    assert_eq!(second.text, first.text);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    // Same key, different request: refused, naming the header.
    let mut other = req.clone();
    other["name"] = json!("Another name");
    let reused = call("POST", "/v1/firms")
        .header("idempotency-key", &key)
        .json(&other)
        .send();
    reused.problem(409);
    assert_eq!(reused.error_fields(), ["Idempotency-Key"]);
    // A bad key is refused before anything happens.
    call("POST", "/v1/firms")
        .header("idempotency-key", "has spaces")
        .json(&TestFirm::request(&unique("k")))
        .send()
        .problem(422);
}

#[test]
fn common_and_self_named_passwords_are_refused() {
    for (password, rule) in [
        ("password123456", "common"),
        ("qwertyuiop1!", "common"),
        ("short", "too_short"),
    ] {
        let mut req = TestFirm::request(&unique("pw"));
        req["owner"]["password"] = json!(password);
        let reply = call("POST", "/v1/firms").json(&req).send();
        let body = reply.problem(422);
        assert_eq!(body["errors"][0]["field"], "owner.password", "{password}");
        assert_eq!(body["errors"][0]["rule"], rule, "{password}");
    }
    let slug = unique("self");
    let mut req = TestFirm::request(&slug);
    req["owner"]["password"] = json!(format!("owner@{slug}.test"));
    assert_eq!(
        call("POST", "/v1/firms").json(&req).send().problem(422)["errors"][0]["rule"],
        "weak"
    );
}

#[test]
fn sign_ups_are_limited_per_client_address() {
    let ip = firmament_e2e::unique_ip();
    firmament_e2e::within_one_rate_window(std::time::Duration::from_secs(15));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = call("POST", "/v1/firms")
            .header("cf-connecting-ip", &ip)
            .json(&TestFirm::request(&unique("burst")))
            .send();
        statuses.push(reply.status);
        if reply.status == 429 {
            assert_eq!(reply.header("retry-after"), Some("60"));
        }
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429]);
}
