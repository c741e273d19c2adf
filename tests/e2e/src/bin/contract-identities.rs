//! Sets up the people the API contract run (schemathesis) acts as, through the
//! public API of a running stack, and prints them as a Web Fuzzing Commons auth
//! document: the owners of two separate firms (peers, who must never see each
//! other's objects) and a portal user of a client of the first firm. Each signs in
//! through `POST /v1/auth/sign-in` whenever schemathesis needs a fresh token.
//!
//! Needs the e2e environment (`FIRMAMENT_URL`, `FIRMAMENT_MAIL_URL`); run by
//! `tests/run-e2e --contract`.
#![allow(clippy::print_stdout)] // the document is the output

use firmament_e2e::{call, mailed_token, unique, unique_ip, TestFirm, OWNER_PASSWORD};
use serde_json::{json, Value};

const PORTAL_PASSWORD: &str = "portal person pass phrase";

fn main() -> Result<(), String> {
    let first = TestFirm::provision_as(&unique("contract-a"));
    let second = TestFirm::provision_as(&unique("contract-b"));
    let client = call("POST", "/v1/clients")
        .token(&first.token)
        .json(&json!({"name": "Contract Client Ltd"}))
        .send();
    let client_id = text(&client.json(), "id")?;
    let portal_email = format!("{}@client.test", unique("contract-portal"));
    let invited = call("POST", &format!("/v1/clients/{client_id}/portal-users"))
        .token(&first.token)
        .json(&json!({"email": portal_email, "role": "admin"}))
        .send();
    if invited.status != 201 {
        return Err(format!(
            "portal invitation: {} {}",
            invited.status, invited.text
        ));
    }
    let token = mailed_token(&portal_email, "portal/accept-invitation#token=")
        .ok_or("the portal invitation was not mailed")?;
    let accepted = call("POST", "/v1/portal/invitations/accept")
        .json(&json!({"token": token, "name": "Portal Person", "password": PORTAL_PASSWORD}))
        .send();
    if accepted.status != 201 {
        return Err(format!(
            "portal acceptance: {} {}",
            accepted.status, accepted.text
        ));
    }
    let document = json!({
        "schemaVersion": "0.1.0",
        "auth": [
            person("firm-a-owner", &first.owner_email(), OWNER_PASSWORD),
            person("firm-b-owner", &second.owner_email(), OWNER_PASSWORD),
            person("portal-admin", &portal_email, PORTAL_PASSWORD),
        ]
    });
    println!("{document:#}");
    Ok(())
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {key} in {value}"))
}

/// One identity: signs in from its own address, so the run's fuzzing of sign-in
/// (which counts failures per address) never locks it out.
fn person(name: &str, email: &str, password: &str) -> Value {
    json!({
        "name": name,
        "loginEndpointAuth": {
            "endpoint": "/v1/auth/sign-in",
            "verb": "POST",
            "contentType": "application/json",
            "payloadRaw": json!({"email": email, "password": password}).to_string(),
            "headers": [{"name": "cf-connecting-ip", "value": unique_ip()}],
            "token": {
                "extractFrom": "body",
                "extractSelector": "/access_token",
                "sendIn": "header",
                "sendName": "Authorization",
                "sendTemplate": "Bearer {token}"
            }
        }
    })
}
