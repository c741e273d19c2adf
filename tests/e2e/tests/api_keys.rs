//! API keys: created by firm admins, shown once, scoped, revocable, firm-bound.

use firmament_e2e::{call, TestFirm};
use serde_json::{json, Value};

fn create(firm: &TestFirm, scopes: Value) -> Value {
    let reply = call("POST", "/v1/auth/api-keys")
        .token(&firm.token)
        .json(&json!({"name": "Zapier sync", "scopes": scopes}))
        .send();
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

#[test]
fn a_key_acts_within_its_scopes_and_its_firm() {
    let firm = TestFirm::provision();
    let created = create(&firm, json!(["settings:read"]));
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with(&format!("fmk_{}_", created["prefix"].as_str().unwrap())));
    let seen = call("GET", "/v1/firm").token(key).send();
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json()["id"], firm.id());
    // No write scope: refused. No admin scope: no event log.
    call("PATCH", "/v1/firm")
        .token(key)
        .json(&json!({"name": "By key"}))
        .send()
        .problem(403);
    call("GET", "/v1/firm/events")
        .token(key)
        .send()
        .problem(403);
    // Person-only routes refuse keys.
    call("GET", "/v1/auth/sessions")
        .token(key)
        .send()
        .problem(403);
    call("POST", "/v1/auth/api-keys")
        .token(key)
        .json(&json!({"name": "x", "scopes": ["crm:read"]}))
        .send()
        .problem(403);
    let writer = create(&firm, json!(["settings:write"]));
    let changed = call("PATCH", "/v1/firm")
        .token(writer["key"].as_str().unwrap())
        .json(&json!({"name": "By key"}))
        .send();
    assert_eq!(changed.status, 200, "{}", changed.text);
}

#[test]
fn keys_are_listed_without_secrets_and_revocation_bites_at_once() {
    let firm = TestFirm::provision();
    let created = create(&firm, json!(["settings:read", "crm:write"]));
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(call("GET", "/v1/firm").token(&key).send().status, 200);
    let listed = call("GET", "/v1/auth/api-keys").token(&firm.token).send();
    assert!(!listed.text.contains(&key), "the secret is never listed");
    let item = listed.json()["items"][0].clone();
    assert_eq!(item["id"], created["id"]);
    assert_eq!(item["scopes"], json!(["settings:read", "crm:write"]));
    assert!(item["last_used_at"].is_i64());
    let revoked = call(
        "DELETE",
        &format!("/v1/auth/api-keys/{}", created["id"].as_str().unwrap()),
    )
    .token(&firm.token)
    .send();
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    call("GET", "/v1/firm").token(&key).send().problem(401);
    call(
        "DELETE",
        &format!("/v1/auth/api-keys/{}", created["id"].as_str().unwrap()),
    )
    .token(&firm.token)
    .send()
    .problem(404);
    let actions = call("GET", "/v1/firm/audit?limit=100")
        .token(&firm.token)
        .send()
        .text;
    assert!(actions.contains("api_key.created") && actions.contains("api_key.revoked"));
    assert!(!actions.contains(&key), "the key is not in the audit log");
}

#[test]
fn forged_and_foreign_keys_are_refused() {
    let a = TestFirm::provision();
    let b = TestFirm::provision();
    let created = create(&a, json!(["settings:read"]));
    let key = created["key"].as_str().unwrap();
    // Right prefix, wrong secret.
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    call("GET", "/v1/firm").token(&forged).send().problem(401);
    call("GET", "/v1/firm")
        .token("fmk_nothing_here")
        .send()
        .problem(401);
    call("GET", "/v1/firm").token("fmk_").send().problem(401);
    // B cannot see or revoke A's keys.
    let theirs = call("GET", "/v1/auth/api-keys")
        .token(&b.token)
        .send()
        .json();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    call(
        "DELETE",
        &format!("/v1/auth/api-keys/{}", created["id"].as_str().unwrap()),
    )
    .token(&b.token)
    .send()
    .problem(404);
    assert_eq!(call("GET", "/v1/firm").token(key).send().status, 200);
}

#[test]
fn only_admins_create_keys_and_bad_requests_name_the_field() {
    let firm = TestFirm::provision();
    let partner = firm.token_with(|c| {
        c["role"] = json!("partner");
        c["flags"] = json!([]);
    });
    call("POST", "/v1/auth/api-keys")
        .token(&partner)
        .json(&json!({"name": "x", "scopes": ["crm:read"]}))
        .send()
        .problem(403);
    call("GET", "/v1/auth/api-keys")
        .token(&partner)
        .send()
        .problem(403);
    call("POST", "/v1/auth/api-keys")
        .json(&json!({"name": "x", "scopes": ["crm:read"]}))
        .send()
        .problem(401);
    for (body, field) in [
        (json!({"name": "x", "scopes": ["admin:write"]}), "scopes[0]"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "", "scopes": ["crm:read"]}), "name"),
        (
            json!({"name": "x", "scopes": ["crm:read"], "expires_in_days": 9999}),
            "expires_in_days",
        ),
    ] {
        let reply = call("POST", "/v1/auth/api-keys")
            .token(&firm.token)
            .json(&body)
            .send();
        reply.problem(422);
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    call("DELETE", "/v1/auth/api-keys/not-a-key")
        .token(&firm.token)
        .send()
        .problem(422);
}
