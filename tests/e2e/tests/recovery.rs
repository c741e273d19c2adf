//! Account recovery and e-mail verification through mail (a Postmark-compatible
//! simulator receives it).

use std::time::Duration;

use firmament_e2e::{
    call, eventually, fail_next_mail, fire_cron, mailbox, mailed_token, unique_ip, TestFirm,
    OWNER_PASSWORD,
};
use serde_json::json;

const NEW_PASSWORD: &str = "a completely new pass phrase";

fn forgot(email: &str) -> firmament_e2e::Reply {
    call("POST", "/v1/auth/password/forgot")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"email": email}))
        .send()
}

fn reset(token: &str, password: &str) -> firmament_e2e::Reply {
    call("POST", "/v1/auth/password/reset")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"token": token, "password": password}))
        .send()
}

#[test]
fn a_reset_link_works_once_and_ends_every_session() {
    let firm = TestFirm::provision();
    let email = firm.owner_email();
    let session = firm.sign_in(OWNER_PASSWORD, &unique_ip()).json();
    let answer = forgot(&email);
    assert_eq!(answer.status, 202, "{}", answer.text);
    let mails = mailbox(&email);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["Subject"], "Reset your Firmament password");
    assert!(mails[0]["From"].as_str().unwrap().contains("firmament"));
    let token = mailed_token(&email, "reset-password#token=").unwrap();
    assert!(token.starts_with("frs_"));
    let done = reset(&token, NEW_PASSWORD);
    assert_eq!(done.status, 204, "{}", done.text);
    // The link is spent.
    let again = reset(&token, "yet another pass phrase");
    again.problem(410);
    // Every session is over; the old password is gone; the new one works.
    call("POST", "/v1/auth/refresh")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .problem(401);
    firm.sign_in(OWNER_PASSWORD, &unique_ip()).problem(401);
    assert_eq!(firm.sign_in(NEW_PASSWORD, &unique_ip()).status, 200);
}

#[test]
fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let known = TestFirm::provision();
    let a = forgot(&known.owner_email());
    let b = forgot("nobody-at-all@nowhere.test");
    assert_eq!((a.status, b.status), (202, 202));
    assert_eq!(a.json()["status"], b.json()["status"]);
    assert!(mailbox("nobody-at-all@nowhere.test").is_empty());
    forgot("not an address").problem(422);
}

#[test]
fn a_weak_new_password_is_refused_without_spending_the_link() {
    let firm = TestFirm::provision();
    forgot(&firm.owner_email());
    let token = mailed_token(&firm.owner_email(), "reset-password#token=").unwrap();
    let weak = reset(&token, "password123456");
    weak.problem(422);
    assert_eq!(weak.error_fields(), ["password"]);
    assert_eq!(reset(&token, NEW_PASSWORD).status, 204);
    reset("frs_made_up", NEW_PASSWORD).problem(410);
    let missing = call("POST", "/v1/auth/password/reset")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"token": token}))
        .send();
    missing.problem(422);
    assert_eq!(missing.error_fields(), ["password"]);
}

#[test]
fn mail_that_fails_is_retried_by_the_cron_sweep() {
    let firm = TestFirm::provision();
    fail_next_mail(&firm.owner_email(), 1);
    assert_eq!(forgot(&firm.owner_email()).status, 202);
    assert!(
        mailbox(&firm.owner_email()).is_empty(),
        "the first attempt failed"
    );
    fire_cron();
    let delivered = eventually(Duration::from_secs(10), || {
        (!mailbox(&firm.owner_email()).is_empty()).then_some(())
    });
    assert!(delivered.is_some(), "the sweep delivered it");
}

#[test]
fn an_address_is_verified_with_a_mailed_token_once() {
    let firm = TestFirm::provision();
    let asked = call("POST", "/v1/auth/email/verification")
        .token(&firm.token)
        .send();
    assert_eq!(asked.status, 202, "{}", asked.text);
    let token = mailed_token(&firm.owner_email(), "verify-email#token=").unwrap();
    let verify = |t: &str| {
        call("POST", "/v1/auth/email/verify")
            .header("cf-connecting-ip", &unique_ip())
            .json(&json!({"token": t}))
            .send()
    };
    assert_eq!(verify(&token).status, 204);
    verify(&token).problem(410);
    // A reset token is not a verification token.
    forgot(&firm.owner_email());
    let reset_token = mailed_token(&firm.owner_email(), "reset-password#token=").unwrap();
    verify(&reset_token).problem(410);
    call("POST", "/v1/auth/email/verification")
        .send()
        .problem(401);
}

#[test]
fn changing_the_password_ends_other_sessions_and_sends_a_notice() {
    let firm = TestFirm::provision();
    let email = firm.owner_email();
    let other = firm.sign_in(OWNER_PASSWORD, &unique_ip()).json();
    let mine = firm.sign_in(OWNER_PASSWORD, &unique_ip()).json();
    let token = mine["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        call("POST", "/v1/auth/password")
            .token(token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let wrong = change("not my password at all", NEW_PASSWORD);
    assert!(wrong.problem(403)["detail"]
        .as_str()
        .unwrap()
        .starts_with("current_password"));
    assert_eq!(
        change(OWNER_PASSWORD, "password123456").error_fields(),
        ["new_password"]
    );
    assert_eq!(
        change(OWNER_PASSWORD, OWNER_PASSWORD).error_fields(),
        ["new_password"]
    );
    assert_eq!(change(OWNER_PASSWORD, NEW_PASSWORD).status, 204);
    // The other session is over; this one goes on.
    let refresh = |t: &serde_json::Value| {
        call("POST", "/v1/auth/refresh")
            .json(&json!({"refresh_token": t["refresh_token"]}))
            .send()
    };
    refresh(&other).problem(401);
    assert_eq!(refresh(&mine).status, 200);
    assert_eq!(firm.sign_in(NEW_PASSWORD, &unique_ip()).status, 200);
    // The notice goes through the notifications pipeline: it arrives shortly.
    let notices: Vec<_> = eventually(Duration::from_secs(15), || {
        let found: Vec<_> = mailbox(&email)
            .into_iter()
            .filter(|m| m["Subject"].as_str().unwrap().contains("security notice"))
            .collect();
        (!found.is_empty()).then_some(found)
    })
    .unwrap_or_default();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0]["TextBody"]
        .as_str()
        .unwrap()
        .contains("your password was changed"));
    call("POST", "/v1/auth/password")
        .json(&json!({"current_password": "x", "new_password": "y"}))
        .send()
        .problem(401);
}
