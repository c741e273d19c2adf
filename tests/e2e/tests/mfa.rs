//! Second factors: TOTP enrolment, the sign-in challenge, recovery codes, step-up.

use data_encoding::BASE32_NOPAD;
use firmament_e2e::{call, decode_claims, unique_ip, unix_now, Reply, TestFirm, OWNER_PASSWORD};
use serde_json::{json, Value};
use shared::auth::totp::Totp;

struct Enrolled {
    firm: TestFirm,
    totp: Totp,
    recovery: Vec<String>,
    confirm_code: String,
}

fn code_now(totp: &Totp) -> String {
    format!("{:06}", totp.code_at(unix_now(), 6))
}

fn enrol() -> Enrolled {
    let firm = TestFirm::provision();
    let started = call("POST", "/v1/auth/mfa/totp").token(&firm.token).send();
    assert_eq!(started.status, 201, "{}", started.text);
    let body = started.json();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(body["otpauth_uri"]
        .as_str()
        .unwrap()
        .contains(&format!("secret={secret}")));
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let totp = Totp::from_bytes(BASE32_NOPAD.decode(secret.as_bytes()).unwrap());
    let confirm_code = code_now(&totp);
    let confirmed = call("POST", "/v1/auth/mfa/totp/confirm")
        .token(&firm.token)
        .json(&json!({"code": confirm_code}))
        .send();
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let recovery: Vec<String> = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    Enrolled {
        firm,
        totp,
        recovery,
        confirm_code,
    }
}

fn challenge(firm: &TestFirm) -> String {
    let reply = firm.sign_in(OWNER_PASSWORD, &unique_ip());
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["mfa_required"], true);
    assert!(
        body.get("access_token").is_none(),
        "no tokens before the second factor"
    );
    body["challenge"].as_str().unwrap().to_owned()
}

fn answer(challenge: &str, proof: Value) -> Reply {
    let mut body = proof;
    body["challenge"] = json!(challenge);
    call("POST", "/v1/auth/mfa/challenge")
        .header("cf-connecting-ip", &unique_ip())
        .json(&body)
        .send()
}

#[test]
fn sign_in_with_totp_needs_the_second_factor_and_codes_are_single_use() {
    let e = enrol();
    let status = call("GET", "/v1/auth/mfa")
        .token(&e.firm.token)
        .send()
        .json();
    assert_eq!(status["totp"], true);
    assert_eq!(status["recovery_codes_left"], 10);
    // The code used to confirm is spent.
    let c = challenge(&e.firm);
    answer(&c, json!({"code": e.confirm_code})).problem(401);
    // A recovery code completes the sign-in, once.
    let signed_in = answer(&c, json!({"recovery_code": e.recovery[0]}));
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let claims = decode_claims(signed_in.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert!(claims["mfa_at"].as_i64().unwrap() >= unix_now() - 60);
    answer(&c, json!({"recovery_code": e.recovery[1]})).problem(401);
    let again = challenge(&e.firm);
    answer(&again, json!({"recovery_code": e.recovery[0]})).problem(401);
    assert_eq!(
        call("GET", "/v1/auth/mfa")
            .token(&e.firm.token)
            .send()
            .json()["recovery_codes_left"],
        9
    );
}

#[test]
fn a_challenge_survives_five_wrong_answers_only() {
    let e = enrol();
    let c = challenge(&e.firm);
    for _ in 0..5 {
        answer(&c, json!({"recovery_code": "wrong-guess"})).problem(401);
    }
    answer(&c, json!({"recovery_code": e.recovery[0]})).problem(401);
    answer("mfc_unknown", json!({"code": code_now(&e.totp)})).problem(401);
}

#[test]
fn challenge_answers_are_validated() {
    let e = enrol();
    let c = challenge(&e.firm);
    answer(&c, json!({"code": "123456", "recovery_code": "x"})).problem(422);
    answer(&c, json!({})).problem(422);
    answer(&c, json!({"code": "12ab"})).problem(422);
    let missing = call("POST", "/v1/auth/mfa/challenge")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"code": "123456"}))
        .send();
    missing.problem(422);
    assert_eq!(missing.error_fields(), ["challenge"]);
}

#[test]
fn removing_the_authenticator_needs_a_recent_second_factor() {
    let e = enrol();
    // The provisioning token proved no second factor.
    let refused = call("DELETE", "/v1/auth/mfa/totp")
        .token(&e.firm.token)
        .send();
    assert_eq!(
        refused.problem(403)["type"],
        "urn:firmament:problem:step-up-required"
    );
    call("POST", "/v1/auth/mfa/recovery-codes")
        .token(&e.firm.token)
        .send()
        .problem(403);
    call("POST", "/v1/auth/mfa/totp")
        .token(&e.firm.token)
        .send()
        .problem(403);
    // Step up with a recovery code: a fresh token for the same session.
    let stepped = call("POST", "/v1/auth/mfa/step-up")
        .token(&e.firm.token)
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"recovery_code": e.recovery[2]}))
        .send();
    assert_eq!(stepped.status, 200, "{}", stepped.text);
    let fresh = stepped.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        decode_claims(&fresh)["sid"],
        decode_claims(&e.firm.token)["sid"]
    );
    call("POST", "/v1/auth/mfa/totp")
        .token(&fresh)
        .send()
        .problem(409);
    let regenerated = call("POST", "/v1/auth/mfa/recovery-codes")
        .token(&fresh)
        .send();
    assert_eq!(
        regenerated.json()["recovery_codes"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let removed = call("DELETE", "/v1/auth/mfa/totp").token(&fresh).send();
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(
        call("GET", "/v1/auth/mfa").token(&fresh).send().json()["totp"],
        false
    );
    // Without a factor, password sign-in gives tokens straight away again.
    assert!(e.firm.sign_in(OWNER_PASSWORD, &unique_ip()).json()["access_token"].is_string());
    let actions: Vec<String> = call("GET", "/v1/firm/audit?limit=100")
        .token(&fresh)
        .send()
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_owned())
        .collect();
    for action in [
        "mfa.totp_enrolled",
        "mfa.stepped_up",
        "mfa.totp_removed",
        "mfa.recovery_codes_regenerated",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} missing from {actions:?}"
        );
    }
}

#[test]
fn enrolment_needs_a_signed_in_user_and_a_right_first_code() {
    call("POST", "/v1/auth/mfa/totp").send().problem(401);
    call("GET", "/v1/auth/mfa").send().problem(401);
    let firm = TestFirm::provision();
    assert_eq!(
        call("POST", "/v1/auth/mfa/totp")
            .token(&firm.token)
            .send()
            .status,
        201
    );
    call("POST", "/v1/auth/mfa/totp/confirm")
        .token(&firm.token)
        .json(&json!({"code": "abc"}))
        .send()
        .problem(422);
    call("POST", "/v1/auth/mfa/totp/confirm")
        .token(&firm.token)
        .json(&json!({}))
        .send()
        .problem(422);
    let wrong = call("POST", "/v1/auth/mfa/totp/confirm")
        .token(&firm.token)
        .json(&json!({"code": "000000"}))
        .send();
    assert!(wrong.status == 403 || wrong.status == 200, "{}", wrong.text);
    // Step-up without an enrolled factor is refused.
    call("POST", "/v1/auth/mfa/step-up")
        .token(&TestFirm::provision().token)
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"code": "123456"}))
        .send()
        .problem(422);
    call("DELETE", "/v1/auth/mfa/totp")
        .token(&TestFirm::provision().token)
        .send()
        .problem(404);
}
