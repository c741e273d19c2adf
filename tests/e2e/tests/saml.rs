//! SAML single sign-on per firm, against a test identity provider that signs with
//! signxml (tests/sims/saml_idp.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use firmament_e2e::{call, decode_claims, unique, Reply, TestFirm};
use serde_json::json;

const IDP: &str = "https://idp.example.test";

fn idp_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sims/saml_idp.py")
}

/// A directory with a fresh IdP key and certificate.
fn idp_keys() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("idp"));
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("python3")
        .arg(idp_script())
        .arg("keys")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn configure(firm: &TestFirm, keys: &Path, extra: serde_json::Value) -> Reply {
    let mut body = json!({
        "idp_entity_id": IDP,
        "idp_sso_url": "https://idp.example.test/sso",
        "idp_certificate": std::fs::read_to_string(keys.join("idp.crt")).unwrap(),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    call("PUT", "/v1/sso/saml")
        .token(&firm.token)
        .json(&body)
        .send()
}

/// Starts a sign-in and returns the SAMLRequest the SP sent to the IdP.
fn authn_request(slug: &str) -> String {
    let started = call("GET", &format!("/v1/sso/saml/{slug}/login")).send();
    assert_eq!(started.status, 302, "{}", started.text);
    let location = started.header("location").unwrap().to_owned();
    assert!(location.starts_with("https://idp.example.test/sso?SAMLRequest="));
    let raw = location.split_once("SAMLRequest=").unwrap().1;
    url_decode(raw)
}

fn url_decode(raw: &str) -> String {
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The IdP's signed answer (base64) to `request` for `email`.
fn idp_answer(keys: &Path, request: &str, email: &str, flags: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(idp_script())
        .arg("respond")
        .arg(keys)
        .args([
            "--request",
            request,
            "--issuer",
            IDP,
            "--email",
            email,
            "--name",
            "Pat Jones",
        ])
        .args(flags)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn post_acs(slug: &str, response: &str) -> Reply {
    call("POST", &format!("/v1/sso/saml/{slug}/acs"))
        .raw(
            "application/x-www-form-urlencoded",
            format!("SAMLResponse={}&RelayState=x", url_encode(response)).into_bytes(),
        )
        .send()
}

fn slug(firm: &TestFirm) -> String {
    firm.firm["slug"].as_str().unwrap().to_owned()
}

#[test]
fn a_signed_assertion_signs_in_and_creates_the_member_just_in_time() {
    let firm = TestFirm::provision();
    let keys = idp_keys();
    let configured = configure(&firm, &keys, json!({"default_role": "manager"}));
    assert_eq!(configured.status, 200, "{}", configured.text);
    let acs = configured.json()["acs_url"].as_str().unwrap().to_owned();
    let metadata = call("GET", &format!("/v1/sso/saml/{}/metadata", slug(&firm))).send();
    assert_eq!(metadata.status, 200);
    assert!(
        metadata.text.contains(&format!("Location=\"{acs}\""))
            && metadata.text.contains("entityID=")
    );
    let email = format!("{}@people.test", unique("sso"));
    let answer = idp_answer(&keys, &authn_request(&slug(&firm)), &email, &[]);
    let signed_in = post_acs(&slug(&firm), &answer);
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let claims = decode_claims(signed_in.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["saml"]));
    assert_eq!(claims["role"], "manager");
    assert_eq!(claims["firm"], firm.id());
    // The same assertion again: a replay.
    post_acs(&slug(&firm), &answer).problem(401);
    // The member now exists; a second sign-in finds them.
    let again = post_acs(
        &slug(&firm),
        &idp_answer(&keys, &authn_request(&slug(&firm)), &email, &[]),
    );
    assert_eq!(again.status, 200, "{}", again.text);
    let members = call("GET", "/v1/firm/members")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(
        members["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["email"] == email.as_str())
            .count(),
        1
    );
}

#[test]
fn expired_misdirected_tampered_unsigned_and_foreign_assertions_are_refused() {
    let firm = TestFirm::provision();
    let keys = idp_keys();
    assert_eq!(configure(&firm, &keys, json!({})).status, 200);
    let s = slug(&firm);
    let email = format!("{}@people.test", unique("sso"));
    post_acs(
        &s,
        &idp_answer(&keys, &authn_request(&s), &email, &["--expired"]),
    )
    .problem(401);
    post_acs(
        &s,
        &idp_answer(
            &keys,
            &authn_request(&s),
            &email,
            &["--audience", "https://someone-else.test"],
        ),
    )
    .problem(401);
    post_acs(
        &s,
        &idp_answer(&keys, &authn_request(&s), &email, &["--unsolicited"]),
    )
    .problem(401);
    let good = String::from_utf8(
        STANDARD
            .decode(idp_answer(&keys, &authn_request(&s), &email, &[]))
            .unwrap(),
    )
    .unwrap();
    let tampered = good.replace(&email, "eve@people.test");
    post_acs(&s, &STANDARD.encode(tampered)).problem(401);
    let start = good.find("<ds:Signature").unwrap();
    let end = good.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &good[..start], &good[end..]);
    post_acs(&s, &STANDARD.encode(unsigned)).problem(401);
    let stranger = idp_keys();
    post_acs(&s, &idp_answer(&stranger, &authn_request(&s), &email, &[])).problem(401);
    post_acs(&s, "not base64 !!").problem(422);
    call("POST", &format!("/v1/sso/saml/{s}/acs"))
        .raw(
            "application/x-www-form-urlencoded",
            b"RelayState=x".to_vec(),
        )
        .send()
        .problem(422);
    call("GET", "/v1/sso/saml/no-such-firm-here/login")
        .send()
        .problem(404);
    let refused = call("GET", "/v1/firm/audit?limit=100")
        .token(&firm.token)
        .send()
        .text;
    assert!(refused.contains("saml.assertion_refused"));
}

#[test]
fn configuration_is_checked_and_for_admins() {
    let firm = TestFirm::provision();
    let keys = idp_keys();
    let bad_cert = call("PUT", "/v1/sso/saml").token(&firm.token)
        .json(&json!({"idp_entity_id": IDP, "idp_sso_url": "https://idp.example.test/sso", "idp_certificate": "not a certificate"})).send();
    bad_cert.problem(422);
    assert_eq!(bad_cert.error_fields(), ["idp_certificate"]);
    let admin_role = configure(&firm, &keys, json!({"default_role": "firm_admin"}));
    admin_role.problem(422);
    assert_eq!(admin_role.error_fields(), ["default_role"]);
    configure(&firm, &keys, json!({"idp_sso_url": "ftp://idp"})).problem(422);
    let partner = firm.token_with(|c| {
        c["role"] = json!("partner");
        c["flags"] = json!([]);
    });
    call("PUT", "/v1/sso/saml")
        .token(&partner)
        .json(&json!({}))
        .send()
        .problem(403);
    call("GET", "/v1/sso/saml")
        .token(&partner)
        .send()
        .problem(403);
    // Before any configuration: no IdP yet, but our identifiers to give it.
    let before = call("GET", "/v1/sso/saml").token(&firm.token).send();
    assert_eq!(before.status, 200, "{}", before.text);
    assert!(before.json()["config"].is_null());
    assert!(before.json()["acs_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!(
            "/v1/sso/saml/{}/acs",
            firm.firm["slug"].as_str().unwrap()
        )));
    assert_eq!(configure(&firm, &keys, json!({})).status, 200);
    assert_eq!(
        call("GET", "/v1/sso/saml").token(&firm.token).send().json()["config"]["idp_entity_id"],
        IDP
    );
    call("PUT", "/v1/sso/saml")
        .json(&json!({}))
        .send()
        .problem(401);
}

#[test]
fn idp_initiated_sign_in_works_only_where_the_firm_allows_it() {
    let firm = TestFirm::provision();
    let keys = idp_keys();
    assert_eq!(
        configure(&firm, &keys, json!({"allow_idp_initiated": true})).status,
        200
    );
    let s = slug(&firm);
    let email = format!("{}@people.test", unique("sso"));
    // The IdP answers without a request of ours (it still needs the SP's endpoints).
    let signed_in = post_acs(
        &s,
        &idp_answer(&keys, &authn_request(&s), &email, &["--unsolicited"]),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(
        decode_claims(signed_in.json()["access_token"].as_str().unwrap())["role"],
        "staff"
    );
}
