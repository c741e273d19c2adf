//! "Who am I": the profile, firm, role and flags the console builds its
//! navigation from, and the person's own changes to their name and language.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use firmament_e2e::{call, join, TestFirm};
use serde_json::json;

#[test]
fn the_owner_sees_their_profile_firm_role_and_firms() {
    let firm = TestFirm::provision();
    let reply = call("GET", "/v1/me").token(&firm.token).send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let me = reply.json();
    assert_eq!(me["user"]["email"], firm.owner_email());
    assert_eq!(me["user"]["language"], json!(null));
    assert_eq!(me["role"], "firm_admin");
    assert_eq!(me["firm"]["id"], firm.id());
    assert_eq!(me["firm"]["timezone"], "Europe/Paris");
    assert_eq!(me["firm"]["currency"], "EUR");
    assert_eq!(me["client"], json!(null));
    let firms = me["firms"].as_array().unwrap();
    assert_eq!(firms.len(), 1);
    assert_eq!(firms[0]["firm_id"], firm.id());
    // A member's token says their own role and flags, not the owner's.
    let member = join(&firm, "staff");
    let seen = call("GET", "/v1/me").token(&member.token).send().json();
    assert_eq!(seen["role"], "staff");
    assert_eq!(seen["user"]["id"], member.user_id);
    assert_eq!(seen["firm"]["id"], firm.id());
}

#[test]
fn a_person_changes_their_name_and_language() {
    let firm = TestFirm::provision();
    let member = join(&firm, "readonly");
    let changed = call("PATCH", "/v1/me")
        .token(&member.token)
        .json(&json!({"name": "  Grace Hopper ", "language": "fr"}))
        .send();
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["user"]["name"], "Grace Hopper");
    assert_eq!(changed.json()["user"]["language"], "fr");
    // Even a read-only member changes their own profile; the owner's is untouched.
    let owner = call("GET", "/v1/me").token(&firm.token).send().json();
    assert_ne!(owner["user"]["name"], "Grace Hopper");
    // null goes back to the firm's language.
    let back = call("PATCH", "/v1/me")
        .token(&member.token)
        .json(&json!({"language": null}))
        .send();
    assert_eq!(back.json()["user"]["language"], json!(null));
    assert_eq!(back.json()["user"]["name"], "Grace Hopper");
    // The change is in the firm's audit log, without the values.
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "profile.updated")
        .expect("audited");
    assert!(!entry.to_string().contains("Grace"), "{entry}");
}

#[test]
fn bad_changes_name_each_field_and_change_nothing() {
    let firm = TestFirm::provision();
    let reply = call("PATCH", "/v1/me")
        .token(&firm.token)
        .json(&json!({"name": "", "language": "klingon", "role": "firm_admin"}))
        .send();
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["language", "name", "role"]);
    call("PATCH", "/v1/me")
        .token(&firm.token)
        .json(&json!({}))
        .send()
        .problem(422);
    let me = call("GET", "/v1/me").token(&firm.token).send().json();
    assert_eq!(me["user"]["language"], json!(null));
    assert!(!me["user"]["name"].as_str().unwrap().is_empty());
}

#[test]
fn no_credentials_or_a_machine_key_get_no_profile() {
    call("GET", "/v1/me").send().problem(401);
    call("GET", "/v1/me")
        .token("not-a-token")
        .send()
        .problem(401);
    call("PATCH", "/v1/me")
        .json(&json!({"name": "Nobody"}))
        .send()
        .problem(401);
    let firm = TestFirm::provision();
    let created = call("POST", "/v1/auth/api-keys")
        .token(&firm.token)
        .json(&json!({"name": "robot", "scopes": ["settings:read"]}))
        .send();
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.json()["key"].as_str().unwrap().to_owned();
    call("GET", "/v1/me").token(&key).send().problem(403);
    // Another firm's owner sees only their own firm.
    let other = TestFirm::provision();
    let seen = call("GET", "/v1/me").token(&other.token).send().json();
    let firms = seen["firms"].as_array().unwrap();
    assert_eq!(firms.len(), 1);
    assert_eq!(firms[0]["firm_id"], other.id());
}
