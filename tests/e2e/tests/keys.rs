//! Encryption at rest: the firm's data keys, rotation that moves sealed values onto
//! the new key, and sealed values that refuse to open anywhere but where they were
//! sealed — even for an operator who copies them inside the database.

use firmament_e2e::{call, d1_execute, receiver_script, receiver_url, unique, Reply, TestFirm};
use serde_json::{json, Value};

fn endpoint(firm: &TestFirm) -> (String, String) {
    let name = unique("keys");
    receiver_script(&name, &[], json!([]), json!({"status": 204}));
    let reply = call("POST", "/v1/webhooks/endpoints")
        .token(&firm.token)
        .json(&json!({"name": "ERP", "url": receiver_url(&format!("/hooks/{name}")), "event_types": ["*"]}))
        .send();
    assert_eq!(reply.status, 201, "{}", reply.text);
    let v = reply.json();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

fn secret(firm: &TestFirm, id: &str) -> Reply {
    call("GET", &format!("/v1/webhooks/endpoints/{id}/secret"))
        .token(&firm.token)
        .send()
}

fn keys(firm: &TestFirm) -> Vec<Value> {
    let reply = call("GET", "/v1/firm/keys").token(&firm.token).send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["items"].as_array().unwrap().clone()
}

#[test]
fn rotation_moves_sealed_values_to_the_new_key_and_they_still_open() {
    let firm = TestFirm::provision();
    let (id, original) = endpoint(&firm);
    let before = keys(&firm);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(
        (before[0]["version"].as_i64(), before[0]["status"].as_str()),
        (Some(1), Some("active"))
    );
    assert!(
        before[0]["uses"].as_i64().unwrap() >= 1,
        "the endpoint's secret counts"
    );
    // The secret is stored sealed under version 1, never in clear.
    let stored = d1_execute(&format!(
        "SELECT secret FROM webhooks_endpoints WHERE id = '{id}'"
    ));
    let sealed = stored[0]["secret"].as_str().unwrap();
    assert!(sealed.starts_with("enc:v1:1:"), "{sealed}");
    assert!(!sealed.contains(&original));

    let rotated = call("POST", "/v1/firm/keys/rotate")
        .token(&firm.token)
        .send();
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert_eq!(rotated.json()["version"], 2);
    assert!(rotated.json()["resealed"].as_i64().unwrap() >= 1);
    let after = keys(&firm);
    let states: Vec<(i64, &str)> = after
        .iter()
        .map(|k| {
            (
                k["version"].as_i64().unwrap(),
                k["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, vec![(2, "active"), (1, "retired")]);
    let stored = d1_execute(&format!(
        "SELECT secret FROM webhooks_endpoints WHERE id = '{id}'"
    ));
    assert!(stored[0]["secret"]
        .as_str()
        .unwrap()
        .starts_with("enc:v1:2:"));
    let reply = secret(&firm, &id);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["secret"], original.as_str());
    // The rotation is in the audit log.
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "firm.key_rotated"));
}

#[test]
fn a_sealed_value_copied_to_another_row_does_not_open() {
    let firm = TestFirm::provision();
    let (first, _) = endpoint(&firm);
    let (second, second_secret) = endpoint(&firm);
    assert_eq!(
        secret(&firm, &second).json()["secret"],
        second_secret.as_str()
    );
    // Someone with the database copies the first endpoint's sealed secret onto the second.
    d1_execute(&format!(
        "UPDATE webhooks_endpoints SET secret = (SELECT secret FROM webhooks_endpoints WHERE id = '{first}') WHERE id = '{second}'"
    ));
    let reply = secret(&firm, &second);
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(!reply.text.contains("whsec_"), "{}", reply.text);
    // The first one still opens where it was sealed.
    assert_eq!(secret(&firm, &first).status, 200);
}

#[test]
fn keys_are_the_firm_admins_and_each_firm_has_its_own() {
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    endpoint(&firm);
    for role in ["staff", "manager", "readonly"] {
        let token = firm.token_as(role);
        assert_eq!(
            call("GET", "/v1/firm/keys").token(&token).send().status,
            403,
            "{role}"
        );
        let reply = call("POST", "/v1/firm/keys/rotate").token(&token).send();
        assert_eq!(reply.problem(403)["status"], 403, "{role}");
    }
    assert_eq!(
        call("GET", "/v1/firm/keys").send().problem(401)["status"],
        401
    );
    assert_eq!(
        call("POST", "/v1/firm/keys/rotate")
            .token("not-a-token")
            .send()
            .status,
        401
    );
    // Rotating one firm's key leaves the other's alone.
    for _ in 0..2 {
        assert_eq!(
            call("POST", "/v1/firm/keys/rotate")
                .token(&other.token)
                .send()
                .status,
            201
        );
    }
    assert_eq!(keys(&firm).len(), 1);
    assert_eq!(keys(&other).len(), 2);
}
