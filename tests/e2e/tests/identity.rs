//! Identity: password sign-in, lockout, rate limits, refresh-token rotation,
//! sessions, firm switching and the audit trail they leave.

use std::collections::HashSet;

use firmament_e2e::{call, decode_claims, unique_ip, Reply, TestFirm, OWNER_PASSWORD};
use serde_json::{json, Value};

fn refresh(token: &str, ip: &str) -> Reply {
    call("POST", "/v1/auth/refresh")
        .header("cf-connecting-ip", ip)
        .json(&json!({"refresh_token": token}))
        .send()
}

fn audit_actions(firm: &TestFirm) -> Vec<String> {
    let log = call("GET", "/v1/firm/audit?limit=100")
        .token(&firm.token)
        .send();
    assert_eq!(log.status, 200, "{}", log.text);
    log.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn without_request_id(reply: &Reply) -> Value {
    let mut body = reply.json();
    body.as_object_mut().unwrap().remove("request_id");
    body
}

#[test]
fn the_right_password_signs_in_with_access_and_refresh_tokens() {
    let firm = TestFirm::provision();
    let reply = firm.sign_in(OWNER_PASSWORD, &unique_ip());
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("ratelimit-policy"), Some("10;w=60"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["firm_id"], firm.id());
    assert_eq!(body["role"], "firm_admin");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("frt_"));
    assert_eq!(body["memberships"][0]["firm_slug"], firm.firm["slug"]);
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sid"], body["session_id"]);
    assert_eq!(claims["amr"], json!(["pwd"]));
    let me = call("GET", "/v1/firm")
        .token(body["access_token"].as_str().unwrap())
        .send();
    assert_eq!(me.json()["id"], firm.id());
    // The e-mail address is matched case-insensitively.
    let upper = call("POST", "/v1/auth/sign-in")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"email": firm.owner_email().to_uppercase(), "password": OWNER_PASSWORD, "firm": firm.firm["slug"]}))
        .send();
    assert_eq!(upper.status, 200, "{}", upper.text);
    assert!(audit_actions(&firm).contains(&"sign_in.succeeded".to_owned()));
}

#[test]
fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let firm = TestFirm::provision();
    let wrong = firm.sign_in("not the password at all", &unique_ip());
    let unknown = call("POST", "/v1/auth/sign-in")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"email": "nobody-here@nowhere.test", "password": "not the password at all"}))
        .send();
    wrong.problem(401);
    unknown.problem(401);
    assert_eq!(without_request_id(&wrong), without_request_id(&unknown));
    assert!(
        !wrong.text.contains("locked")
            || wrong.text
                == unknown.text.replace(
                    unknown.json()["request_id"].as_str().unwrap(),
                    wrong.json()["request_id"].as_str().unwrap()
                )
    );
}

#[test]
fn five_failures_lock_the_account_even_for_the_right_password() {
    let firm = TestFirm::provision();
    let ip = unique_ip();
    for _ in 0..5 {
        firm.sign_in("not the password at all", &ip).problem(401);
    }
    let locked = firm.sign_in(OWNER_PASSWORD, &ip);
    locked.problem(401);
    let actions = audit_actions(&firm);
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "sign_in.locked_out")
            .count(),
        1,
        "{actions:?}"
    );
    assert!(actions.contains(&"sign_in.refused_locked".to_owned()));
}

#[test]
fn concurrent_failures_are_all_counted_and_lock_once() {
    let firm = TestFirm::provision();
    let ip = unique_ip();
    let email = firm.owner_email();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (ip, email) = (ip.clone(), email.clone());
            std::thread::spawn(move || {
                call("POST", "/v1/auth/sign-in")
                    .header("cf-connecting-ip", &ip)
                    .json(&json!({"email": email, "password": "not the password at all"}))
                    .send()
                    .status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 401);
    }
    firm.sign_in(OWNER_PASSWORD, &ip).problem(401);
    let actions = audit_actions(&firm);
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "sign_in.locked_out")
            .count(),
        1,
        "{actions:?}"
    );
    let failures = actions
        .iter()
        .filter(|a| {
            a.starts_with("sign_in.failed")
                || *a == "sign_in.locked_out"
                || *a == "sign_in.refused_locked"
        })
        .count();
    assert_eq!(failures, 9, "every attempt is on record: {actions:?}");
}

#[test]
fn sign_in_is_rate_limited_per_client_address() {
    let ip = unique_ip();
    firmament_e2e::within_one_rate_window(std::time::Duration::from_secs(15));
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let reply = call("POST", "/v1/auth/sign-in")
            .header("cf-connecting-ip", &ip)
            .json(&json!({"email": "flood@nowhere.test", "password": "whatever it is"}))
            .send();
        if reply.status == 429 {
            assert_eq!(reply.header("retry-after"), Some("60"));
            reply.problem(429);
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    // Another address is not affected.
    assert_eq!(
        call("POST", "/v1/auth/sign-in")
            .header("cf-connecting-ip", &unique_ip())
            .json(&json!({"email": "flood@nowhere.test", "password": "whatever it is"}))
            .send()
            .status,
        401
    );
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let firm = TestFirm::provision();
    let ip = unique_ip();
    let first = firm.sign_in(OWNER_PASSWORD, &ip).json();
    let t1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second = refresh(&t1, &ip);
    assert_eq!(second.status, 200, "{}", second.text);
    let t2 = second.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(t1, t2);
    assert_eq!(second.json()["session_id"], first["session_id"]);
    // The rotated token again: refused, and the session is gone with every token of it.
    refresh(&t1, &ip).problem(401);
    refresh(&t2, &ip).problem(401);
    assert!(audit_actions(&firm).contains(&"session.refresh_token_reused".to_owned()));
}

#[test]
fn refresh_needs_a_refresh_token() {
    let ip = unique_ip();
    call("POST", "/v1/auth/refresh")
        .header("cf-connecting-ip", &ip)
        .json(&json!({}))
        .send()
        .problem(422);
    call("POST", "/v1/auth/refresh")
        .header("cf-connecting-ip", &ip)
        .json(&json!({"refresh_token": 7}))
        .send()
        .problem(422);
    refresh("frt_not-a-real-token", &ip).problem(401);
    refresh(&"x".repeat(500), &ip).problem(422);
}

#[test]
fn sign_out_ends_the_session() {
    let firm = TestFirm::provision();
    let ip = unique_ip();
    let session = firm.sign_in(OWNER_PASSWORD, &ip).json();
    let access = session["access_token"].as_str().unwrap();
    let out = call("POST", "/v1/auth/sign-out").token(access).send();
    assert_eq!(out.status, 204, "{}", out.text);
    refresh(session["refresh_token"].as_str().unwrap(), &ip).problem(401);
    let live = call("GET", "/v1/auth/sessions")
        .token(&firm.token)
        .send()
        .json();
    assert!(live["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["id"] != session["session_id"]));
    call("POST", "/v1/auth/sign-out").send().problem(401);
}

#[test]
fn sessions_are_listed_and_revoked_by_their_owner_only() {
    let a = TestFirm::provision();
    let b = TestFirm::provision();
    let other = a.sign_in(OWNER_PASSWORD, &unique_ip()).json();
    let other_id = other["session_id"].as_str().unwrap().to_owned();
    let listed = call("GET", "/v1/auth/sessions")
        .token(&a.token)
        .send()
        .json();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let ids: HashSet<_> = items
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&other_id));
    // B cannot end A's session; malformed ids are refused; A can.
    call("DELETE", &format!("/v1/auth/sessions/{other_id}"))
        .token(&b.token)
        .send()
        .problem(404);
    call("DELETE", "/v1/auth/sessions/not-a-session")
        .token(&a.token)
        .send()
        .problem(422);
    call("DELETE", &format!("/v1/auth/sessions/{other_id}"))
        .send()
        .problem(401);
    assert_eq!(
        call("DELETE", &format!("/v1/auth/sessions/{other_id}"))
            .token(&a.token)
            .send()
            .status,
        204
    );
    refresh(other["refresh_token"].as_str().unwrap(), &unique_ip()).problem(401);
    call("DELETE", &format!("/v1/auth/sessions/{other_id}"))
        .token(&a.token)
        .send()
        .problem(404);
}

#[test]
fn switching_firm_needs_a_membership_there() {
    let a = TestFirm::provision();
    let b = TestFirm::provision();
    let same = call("POST", "/v1/auth/switch-firm")
        .token(&a.token)
        .json(&json!({"firm": a.firm["slug"]}))
        .send();
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(
        decode_claims(same.json()["access_token"].as_str().unwrap())["firm"],
        a.id()
    );
    call("POST", "/v1/auth/switch-firm")
        .token(&a.token)
        .json(&json!({"firm": b.id()}))
        .send()
        .problem(403);
    let bad = call("POST", "/v1/auth/switch-firm")
        .token(&a.token)
        .json(&json!({"firm": 42}))
        .send();
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["firm"]);
    call("POST", "/v1/auth/switch-firm")
        .json(&json!({"firm": a.id()}))
        .send()
        .problem(401);
}

#[test]
fn the_audit_log_is_for_firm_admins_and_its_chain_verifies() {
    let firm = TestFirm::provision();
    firm.sign_in(OWNER_PASSWORD, &unique_ip());
    firm.sign_in("not the password at all", &unique_ip());
    let actions = audit_actions(&firm);
    assert!(actions.contains(&"firm.provisioned".to_owned()));
    assert!(actions.contains(&"sign_in.failed".to_owned()));
    let report = call("GET", "/v1/firm/audit/verify")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(report["intact"], true);
    assert!(report["entries"].as_i64().unwrap() >= 3);
    let log = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    assert!(
        !log.to_string().contains(OWNER_PASSWORD),
        "no secret in the audit log"
    );
    assert!(
        !log.to_string().contains("frt_"),
        "no refresh token in the audit log"
    );
    let staff = firm.token_with(|c| {
        c["role"] = json!("staff");
        c["flags"] = json!([]);
    });
    call("GET", "/v1/firm/audit")
        .token(&staff)
        .send()
        .problem(403);
    call("GET", "/v1/firm/audit/verify")
        .token(&staff)
        .send()
        .problem(403);
    call("GET", "/v1/firm/audit").send().problem(401);
    call("GET", "/v1/firm/audit?limit=1000")
        .token(&firm.token)
        .send()
        .problem(422);
    // Another firm's admin sees only its own chain.
    let other = TestFirm::provision();
    let theirs = call("GET", "/v1/firm/audit?limit=100")
        .token(&other.token)
        .send()
        .json();
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["chain"] == other.id()));
}
