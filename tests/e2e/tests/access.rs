//! Credentials and authorisation: missing, forged, expired and misdirected tokens;
//! roles that may not act; one firm's token against another firm's data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use firmament_e2e::{call, sample_path, unix_now, TestFirm};
use serde_json::json;
use shared::api::{Auth, ROUTES};

#[test]
fn no_token_is_401_with_a_bearer_challenge() {
    for (method, path) in [
        ("GET", "/v1/firm"),
        ("PATCH", "/v1/firm"),
        ("GET", "/v1/firm/events"),
        ("GET", "/v1/firm/provisioning"),
    ] {
        let reply = call(method, path).send();
        reply.problem(401);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer"),
            "{method} {path}"
        );
    }
    call("GET", "/v1/firm")
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .problem(401);
    call("GET", "/v1/firm")
        .header("authorization", "Bearer")
        .send()
        .problem(401);
}

/// Every route the table marks as needing a token refuses a request without one,
/// and one with a token signed by a key the deployment does not know.
#[test]
fn every_protected_route_refuses_missing_and_foreign_tokens() {
    let firm = TestFirm::provision();
    let foreign = signed_by_another_key(&firm.token);
    let protected: Vec<_> = ROUTES.iter().filter(|r| r.auth == Auth::Bearer).collect();
    assert!(protected.len() > 40);
    for route in protected {
        let path = sample_path(route.path);
        let missing = call(route.method, &path).send();
        assert_eq!(
            missing.status, 401,
            "{} {path} without a token",
            route.method
        );
        assert_eq!(
            missing.header("www-authenticate"),
            Some("Bearer"),
            "{} {path}",
            route.method
        );
        let wrong = call(route.method, &path).token(&foreign).send();
        assert_eq!(
            wrong.status, 401,
            "{} {path} with a foreign token",
            route.method
        );
    }
}

#[test]
fn forged_tampered_and_misdirected_tokens_are_401() {
    let firm = TestFirm::provision();
    let parts: Vec<&str> = firm.token.split('.').collect();
    // A flipped signature.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    // A payload edited after signing.
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = json!("firm_admin");
    claims["sub"] = json!("usr_someone_else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    // alg: none.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    // Validly signed, but expired / not yet valid / for another audience / another issuer / unknown key.
    let expired = firm.token_with(|c| {
        c["exp"] = json!(unix_now() - 3600);
        c["iat"] = json!(unix_now() - 7200);
        c["nbf"] = json!(unix_now() - 7200);
    });
    let future = firm.token_with(|c| c["nbf"] = json!(unix_now() + 3600));
    let wrong_aud = firm.token_with(|c| c["aud"] = json!("another-api"));
    let wrong_iss = firm.token_with(|c| c["iss"] = json!("someone-else"));
    for (what, token) in [
        ("bad signature", bad_sig),
        ("tampered", tampered),
        ("alg none", none),
        ("expired", expired),
        ("not yet valid", future),
        ("wrong audience", wrong_aud),
        ("wrong issuer", wrong_iss),
        ("garbage", "abc.def.ghi".to_owned()),
    ] {
        let reply = call("GET", "/v1/firm").token(&token).send();
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
    }
}

/// `token`'s claims, signed by a fresh key of an attacker's.
fn signed_by_another_key(token: &str) -> String {
    let pair = ed25519_compact::KeyPair::generate();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"attacker","typ":"JWT"}"#);
    let payload = token.split('.').nth(1).unwrap();
    let input = format!("{header}.{payload}");
    let sig = pair.sk.sign(input.as_bytes(), None);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

#[test]
fn a_token_signed_with_another_key_is_401() {
    let firm = TestFirm::provision();
    let token = signed_by_another_key(&firm.token);
    call("GET", "/v1/firm").token(&token).send().problem(401);
}

#[test]
fn readonly_and_staff_may_read_but_not_change_settings() {
    let firm = TestFirm::provision();
    for role in ["readonly", "staff", "manager", "partner", "billing"] {
        let token = firm.token_with(|c| {
            c["role"] = json!(role);
            c["flags"] = json!([]);
        });
        assert_eq!(
            call("GET", "/v1/firm").token(&token).send().status,
            200,
            "{role} reads"
        );
        let reply = call("PATCH", "/v1/firm")
            .token(&token)
            .json(&json!({"name": "Renamed"}))
            .send();
        reply.problem(403);
        // Event administration is the firm admin's.
        call("GET", "/v1/firm/events")
            .token(&token)
            .send()
            .problem(403);
    }
    // A firm_admin without can_manage_settings may not change settings either.
    let admin_without_flag = firm.token_with(|c| c["flags"] = json!(["can_manage_users"]));
    call("PATCH", "/v1/firm")
        .token(&admin_without_flag)
        .json(&json!({"name": "Renamed"}))
        .send()
        .problem(403);
    // A partner granted can_manage_settings may.
    let partner_with_flag = firm.token_with(|c| {
        c["role"] = json!("partner");
        c["flags"] = json!(["can_manage_settings"]);
    });
    assert_eq!(
        call("PATCH", "/v1/firm")
            .token(&partner_with_flag)
            .json(&json!({"name": "Renamed"}))
            .send()
            .status,
        200
    );
}

#[test]
fn firm_a_never_reads_or_changes_firm_b() {
    let a = TestFirm::provision();
    let b = TestFirm::provision();
    // A's token always lands on A.
    let seen = call("GET", "/v1/firm").token(&a.token).send().json();
    assert_eq!(seen["id"], a.id());
    assert_eq!(
        call("PATCH", "/v1/firm")
            .token(&a.token)
            .json(&json!({"name": "A renamed"}))
            .send()
            .status,
        200
    );
    assert_eq!(
        call("GET", "/v1/firm").token(&b.token).send().json()["name"],
        b.firm["name"]
    );
    // B's events are invisible to A, and A cannot redeliver them.
    let b_events = call("GET", "/v1/firm/events").token(&b.token).send().json();
    let b_event = b_events["items"][0]["id"].as_str().unwrap().to_owned();
    let a_events = call("GET", "/v1/firm/events").token(&a.token).send().json();
    assert!(a_events["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"] != b_event.as_str()));
    call("POST", &format!("/v1/firm/events/{b_event}/redeliver"))
        .token(&a.token)
        .send()
        .problem(404);
    // A token naming B's firm but for A's user, unsigned by the deployment, is refused.
    let mut claims = firmament_e2e::decode_claims(&a.token);
    claims["firm"] = json!(b.id());
    let forged = format!(
        "{}.{}.{}",
        a.token.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        a.token.split('.').nth(2).unwrap()
    );
    call("GET", "/v1/firm").token(&forged).send().problem(401);
}

/// Every role, staff and portal, against one route per area and access: the answer
/// is the permission matrix's (403 where it says no, anything else where it says
/// yes). Flags are off for staff; a portal user holds every portal flag, as new
/// portal users do.
#[test]
fn every_role_gets_the_matrix_answer_on_representative_routes() {
    let firm = TestFirm::provision();
    let client = call("POST", "/v1/clients")
        .token(&firm.token)
        .json(&json!({"name": "Matrix Ltd"}))
        .send()
        .json();
    let client_id = client["id"].as_str().unwrap().to_owned();
    let nobody = "usr_01JD0000000000000000000000";
    // (what, method, path, body)
    let routes: [(&str, &'static str, String, serde_json::Value); 9] = [
        (
            "workspace read",
            "GET",
            "/v1/firm/members".into(),
            json!(null),
        ),
        ("crm read", "GET", "/v1/clients".into(), json!(null)),
        (
            "crm write",
            "PATCH",
            format!("/v1/clients/{client_id}"),
            json!({"kind": "organization"}),
        ),
        ("settings read", "GET", "/v1/firm".into(), json!(null)),
        ("admin read", "GET", "/v1/firm/audit".into(), json!(null)),
        (
            "admin write",
            "PATCH",
            format!("/v1/firm/members/{nobody}"),
            json!({"role": "staff"}),
        ),
        (
            "portal read",
            "GET",
            "/v1/portal/client".into(),
            json!(null),
        ),
        (
            "portal users read",
            "GET",
            "/v1/portal/users".into(),
            json!(null),
        ),
        (
            "portal write",
            "PATCH",
            format!("/v1/portal/users/{nobody}"),
            json!({"role": "member"}),
        ),
    ];
    // Columns follow `routes`: whether the role may.
    let matrix: [(&str, [bool; 9]); 9] = [
        (
            "firm_admin",
            [true, true, true, true, true, true, false, false, false],
        ),
        (
            "partner",
            [true, true, true, true, false, false, false, false, false],
        ),
        (
            "manager",
            [true, true, true, true, false, false, false, false, false],
        ),
        (
            "staff",
            [true, true, false, true, false, false, false, false, false],
        ),
        (
            "billing",
            [true, false, false, true, false, false, false, false, false],
        ),
        (
            "readonly",
            [true, true, false, true, false, false, false, false, false],
        ),
        (
            "portal_admin",
            [false, false, false, false, false, false, true, true, true],
        ),
        (
            "portal_member",
            [false, false, false, false, false, false, true, true, false],
        ),
        (
            "portal_viewer",
            [false, false, false, false, false, false, true, true, false],
        ),
    ];
    for (role, allowed) in matrix {
        let token = firm.token_with(|c| {
            c["role"] = json!(role);
            if role.starts_with("portal_") {
                c["client"] = json!(client_id);
                c["flags"] = json!([
                    "can_upload_documents",
                    "can_view_billing",
                    "can_message_team",
                    "can_view_projects"
                ]);
            } else {
                c["flags"] = json!([]);
            }
        });
        for ((what, method, path, body), may) in routes.iter().zip(allowed) {
            let mut request = call(method, path).token(&token);
            if !body.is_null() {
                request = request.json(body);
            }
            let status = request.send().status;
            assert_eq!(status != 403, may, "{role} {what}: {status}");
            assert!(status < 500, "{role} {what}: {status}");
        }
    }
}
