//! Text-message second factor through the Twilio simulator.

use firmament_e2e::{call, decode_claims, texted_code, unique_ip, TestFirm, OWNER_PASSWORD};
use serde_json::json;

fn phone() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("+1415{:07}", n % 10_000_000)
}

fn enrol(firm: &TestFirm, phone: &str) -> Vec<String> {
    let started = call("POST", "/v1/auth/mfa/sms")
        .token(&firm.token)
        .json(&json!({"phone": phone}))
        .send();
    assert_eq!(started.status, 202, "{}", started.text);
    let code = texted_code(phone).expect("a code was texted");
    let confirmed = call("POST", "/v1/auth/mfa/sms/confirm")
        .token(&firm.token)
        .json(&json!({"sms_code": code}))
        .send();
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_texted_code_completes_sign_in_once() {
    let firm = TestFirm::provision();
    let number = phone();
    let recovery = enrol(&firm, &number);
    assert_eq!(
        recovery.len(),
        10,
        "the first factor comes with recovery codes"
    );
    let status = call("GET", "/v1/auth/mfa").token(&firm.token).send().json();
    assert_eq!(status["sms"], true);
    let challenge = firm.sign_in(OWNER_PASSWORD, &unique_ip()).json();
    assert_eq!(challenge["methods"], json!(["sms", "recovery_code"]));
    let token = challenge["challenge"].as_str().unwrap();
    let sent = call("POST", "/v1/auth/mfa/challenge/sms")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"challenge": token}))
        .send();
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert!(sent.json()["phone_hint"]
        .as_str()
        .unwrap()
        .ends_with(&number[number.len() - 2..]));
    let code = texted_code(&number).unwrap();
    let answer = |code: &str| {
        call("POST", "/v1/auth/mfa/challenge")
            .header("cf-connecting-ip", &unique_ip())
            .json(&json!({"challenge": token, "sms_code": code}))
            .send()
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    answer(wrong).problem(401);
    let ok = answer(&code);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        decode_claims(ok.json()["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "sms"])
    );
    answer(&code).problem(401);
}

#[test]
fn enrolment_checks_the_number_and_the_code() {
    let firm = TestFirm::provision();
    let bad = call("POST", "/v1/auth/mfa/sms")
        .token(&firm.token)
        .json(&json!({"phone": "555-0123"}))
        .send();
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["phone"]);
    call("POST", "/v1/auth/mfa/sms/confirm")
        .token(&firm.token)
        .json(&json!({"sms_code": "123456"}))
        .send()
        .problem(404);
    let number = phone();
    assert_eq!(
        call("POST", "/v1/auth/mfa/sms")
            .token(&firm.token)
            .json(&json!({"phone": number}))
            .send()
            .status,
        202
    );
    call("POST", "/v1/auth/mfa/sms/confirm")
        .token(&firm.token)
        .json(&json!({"sms_code": "12ab"}))
        .send()
        .problem(422);
    let code = texted_code(&number).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    call("POST", "/v1/auth/mfa/sms/confirm")
        .token(&firm.token)
        .json(&json!({"sms_code": wrong}))
        .send()
        .problem(403);
    assert_eq!(
        call("GET", "/v1/auth/mfa").token(&firm.token).send().json()["sms"],
        false
    );
    call("POST", "/v1/auth/mfa/sms")
        .json(&json!({"phone": number}))
        .send()
        .problem(401);
}

#[test]
fn enrolment_texts_are_limited_to_three_an_hour() {
    let firm = TestFirm::provision();
    let number = phone();
    for _ in 0..3 {
        assert_eq!(
            call("POST", "/v1/auth/mfa/sms")
                .token(&firm.token)
                .json(&json!({"phone": number}))
                .send()
                .status,
            202
        );
    }
    let fourth = call("POST", "/v1/auth/mfa/sms")
        .token(&firm.token)
        .json(&json!({"phone": number}))
        .send();
    fourth.problem(429);
    assert_eq!(fourth.header("retry-after"), Some("3600"));
}

#[test]
fn a_texted_code_steps_up_and_removing_the_phone_needs_it() {
    let firm = TestFirm::provision();
    let number = phone();
    enrol(&firm, &number);
    // The provisioning token proved no second factor recently... but confirming did: it
    // recorded one in the session. A fresh sign-in without a factor cannot exist, so
    // use a token minted without mfa_at for the refusal.
    let stale = firm.token_with(|c| {
        c.as_object_mut().unwrap().remove("mfa_at");
    });
    call("DELETE", "/v1/auth/mfa/sms")
        .token(&stale)
        .send()
        .problem(403);
    assert_eq!(
        call("POST", "/v1/auth/mfa/sms/send")
            .token(&stale)
            .send()
            .status,
        202
    );
    let code = texted_code(&number).unwrap();
    let stepped = call("POST", "/v1/auth/mfa/step-up")
        .token(&stale)
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"sms_code": code}))
        .send();
    assert_eq!(stepped.status, 200, "{}", stepped.text);
    let fresh = stepped.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        call("DELETE", "/v1/auth/mfa/sms")
            .token(&fresh)
            .send()
            .status,
        204
    );
    assert_eq!(
        call("GET", "/v1/auth/mfa").token(&fresh).send().json()["sms"],
        false
    );
}
