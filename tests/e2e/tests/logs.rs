//! Structured logs: one JSON line per request with the route template, status,
//! duration and caller, and never a secret — the test uses every kind of secret the
//! API handles, then searches the whole log for each.

use data_encoding::BASE32_NOPAD;
use firmament_e2e::{
    call, eventually, log_lines, log_text, receiver_script, receiver_url, unique, unique_ip,
    unix_now, TestFirm, OWNER_PASSWORD,
};
use serde_json::json;
use shared::auth::totp::Totp;
use std::time::Duration;

#[test]
fn no_secret_used_reaches_the_log() {
    let firm = TestFirm::provision();
    let mut secrets: Vec<String> = vec![OWNER_PASSWORD.to_owned(), firm.token.clone()];
    // Sign-in: access and refresh tokens, then a refresh.
    let session = firm.sign_in(OWNER_PASSWORD, &unique_ip()).json();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = call("POST", "/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh}))
        .send()
        .json();
    secrets.push(session["access_token"].as_str().unwrap().to_owned());
    secrets.push(refresh);
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    // An API key (shown once).
    let key = call("POST", "/v1/auth/api-keys")
        .token(&firm.token)
        .json(&json!({"name": "Sync", "scopes": ["settings:read"]}))
        .send()
        .json();
    let key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(call("GET", "/v1/firm").token(&key).send().status, 200);
    secrets.push(key);
    // A webhook endpoint's signing secret.
    let name = unique("logs");
    receiver_script(&name, &[], json!([]), json!({"status": 204}));
    let hook = call("POST", "/v1/webhooks/endpoints")
        .token(&firm.token)
        .json(
            &json!({"name": "ERP", "url": receiver_url(&format!("/hooks/{name}")),
                       "event_types": ["*"], "headers": {"X-Api-Token": "hdr-secret-7c1e"}}),
        )
        .send()
        .json();
    secrets.push(hook["secret"].as_str().unwrap().to_owned());
    secrets.push("hdr-secret-7c1e".to_owned());
    // A second factor: the TOTP secret, the codes, the recovery codes.
    let enrol = call("POST", "/v1/auth/mfa/totp")
        .token(&firm.token)
        .send()
        .json();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let totp = Totp::from_bytes(BASE32_NOPAD.decode(secret.as_bytes()).unwrap());
    let code = format!("{:06}", totp.code_at(unix_now(), 6));
    let confirmed = call("POST", "/v1/auth/mfa/totp/confirm")
        .token(&firm.token)
        .json(&json!({"code": code}))
        .send();
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    for c in confirmed.json()["recovery_codes"].as_array().unwrap() {
        secrets.push(c.as_str().unwrap().to_owned());
    }
    secrets.push(secret);
    // An upload: its bytes, its signed download link, the download.
    let content = format!("private ledger line {}\n", unique("ledger"));
    let declared = call("POST", "/v1/files")
        .token(&firm.token)
        .json(&json!({"name": "ledger.txt", "media_type": "text/plain", "size": content.len(), "usage": "document"}))
        .send()
        .json();
    let file_id = declared["id"].as_str().unwrap().to_owned();
    let stored = call("PUT", &format!("/v1/files/{file_id}/content"))
        .token(&firm.token)
        .raw("text/plain", content.clone().into_bytes())
        .send();
    assert_eq!(stored.status, 200, "{}", stored.text);
    let link = call("POST", &format!("/v1/files/{file_id}/links"))
        .token(&firm.token)
        .send()
        .json();
    let url = link["url"].as_str().unwrap().to_owned();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let fetched = call(
        "GET",
        &format!("/v1/files/{file_id}/download?token={token}"),
    )
    .send();
    assert_eq!(fetched.bytes, content.as_bytes());
    secrets.push(content.trim_end().to_owned());
    secrets.push(token);
    // A wrong password is not logged either.
    let wrong = "wrong password that must not be logged";
    firm.sign_in(wrong, &unique_ip());
    secrets.push(wrong.to_owned());

    // The request lines are written as the answers go out; wait for the last one.
    eventually(Duration::from_secs(10), || {
        log_lines()
            .iter()
            .any(|l| l["http.route"] == "/v1/auth/sign-in" && l["http.response.status_code"] == 401)
            .then_some(())
    })
    .expect("the last request's line");
    let text = log_text();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret reached the log: {s}");
    }
    // The sealed forms stay out too.
    assert!(!text.contains("enc:v1:"), "a sealed value reached the log");
}

#[test]
fn each_request_has_one_line_with_route_status_duration_and_caller() {
    let firm = TestFirm::provision();
    let reply = call("GET", "/v1/firm/members?limit=5")
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 200);
    let request_id = reply.header("x-request-id").unwrap().to_owned();
    let missing = call("GET", "/v1/clients/cli_00000000000000000000000000")
        .token(&firm.token)
        .send();
    let missing_id = missing.header("x-request-id").unwrap().to_owned();
    let lines = eventually(Duration::from_secs(10), || {
        let lines: Vec<_> = log_lines()
            .into_iter()
            .filter(|l| {
                l["request.id"] == request_id.as_str() || l["request.id"] == missing_id.as_str()
            })
            .filter(|l| l["body"] == "request")
            .collect();
        (lines.len() == 2).then_some(lines)
    })
    .expect("one request line each");
    let ok = lines
        .iter()
        .find(|l| l["request.id"] == request_id.as_str())
        .unwrap();
    assert_eq!(
        ok["http.route"], "/v1/firm/members",
        "the template, never the raw path"
    );
    assert_eq!(ok["http.request.method"], "GET");
    assert_eq!(ok["http.response.status_code"], 200);
    assert_eq!(ok["outcome"], "success");
    assert_eq!(ok["firm.id"], firm.id());
    assert_eq!(ok["enduser.id"], firm.owner["id"]);
    assert_eq!(ok["severity_text"], "INFO");
    assert_eq!(ok["severity_number"], 9);
    assert!(ok["duration_ms"].as_i64().unwrap() >= 0);
    assert_eq!(ok["trace_id"].as_str().unwrap().len(), 32);
    assert!(ok["timestamp"].as_str().unwrap().ends_with('Z'));
    let gone = lines
        .iter()
        .find(|l| l["request.id"] == missing_id.as_str())
        .unwrap();
    assert_eq!(gone["http.route"], "/v1/clients/{client_id}");
    assert_eq!(gone["http.response.status_code"], 404);
    assert_eq!(gone["outcome"], "refused");
    assert_eq!(gone["error.type"], "404");
    let ours = serde_json::to_string(&log_lines()).unwrap();
    assert!(
        !ours.contains("limit=5"),
        "no raw query strings in our lines"
    );
}
