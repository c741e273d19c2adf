//! Members and invitations: invite by mail, accept (new or existing account), plan
//! limits, role changes, deactivation, and the last-admin rule.

use firmament_e2e::{
    call, decode_claims, mailed_token, unique, unique_ip, Reply, TestFirm, OWNER_PASSWORD,
};
use serde_json::{json, Value};

use firmament_e2e::MEMBER_PASSWORD as INVITEE_PASSWORD;

fn invite(firm: &TestFirm, email: &str, role: &str) -> Reply {
    call("POST", "/v1/firm/invitations")
        .token(&firm.token)
        .json(&json!({"email": email, "role": role}))
        .send()
}

fn accept(body: Value, token: Option<&str>) -> Reply {
    let mut c = call("POST", "/v1/firm/invitations/accept");
    if let Some(t) = token {
        c = c.token(t);
    }
    c.json(&body).send()
}

fn sign_in(email: &str, password: &str, firm: Option<&str>) -> Reply {
    let mut body = json!({"email": email, "password": password});
    if let Some(f) = firm {
        body["firm"] = json!(f);
    }
    call("POST", "/v1/auth/sign-in")
        .header("cf-connecting-ip", &unique_ip())
        .json(&body)
        .send()
}

/// Invites a new person as `role`, accepts, signs them in; returns (email, user id, access token).
fn join(firm: &TestFirm, role: &str) -> (String, String, String) {
    let m = firmament_e2e::join(firm, role);
    (m.email, m.user_id, m.token)
}

#[test]
fn an_invited_person_joins_with_a_new_account() {
    let firm = TestFirm::provision();
    let email = format!("{}@people.test", unique("new"));
    let invited = invite(&firm, &email, "staff");
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert_eq!(invited.json()["role"], "staff");
    let pending = call("GET", "/v1/firm/invitations")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    let token = mailed_token(&email, "accept-invitation#token=").unwrap();
    // A new account needs a name and a good password.
    let weak = accept(
        json!({"token": token, "name": "Pat", "password": "password123456"}),
        None,
    );
    weak.problem(422);
    assert_eq!(weak.error_fields(), ["password"]);
    let joined = accept(
        json!({"token": token, "name": "Pat", "password": INVITEE_PASSWORD}),
        None,
    );
    assert_eq!(joined.status, 201, "{}", joined.text);
    assert_eq!(joined.json()["new_account"], true);
    accept(
        json!({"token": token, "name": "Pat", "password": INVITEE_PASSWORD}),
        None,
    )
    .problem(410);
    let session = sign_in(&email, INVITEE_PASSWORD, None);
    assert_eq!(session.status, 200, "{}", session.text);
    assert_eq!(
        decode_claims(session.json()["access_token"].as_str().unwrap())["role"],
        "staff"
    );
    let members = call("GET", "/v1/firm/members")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    assert!(call("GET", "/v1/firm/invitations")
        .token(&firm.token)
        .send()
        .json()["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn someone_with_an_account_joins_a_second_firm_and_switches_between_them() {
    let a = TestFirm::provision();
    let b = TestFirm::provision();
    assert_eq!(invite(&a, &b.owner_email(), "partner").status, 201);
    let token = mailed_token(&b.owner_email(), "accept-invitation#token=").unwrap();
    accept(json!({"token": token}), None).problem(401);
    let stranger = TestFirm::provision();
    accept(json!({"token": token}), Some(&stranger.token)).problem(403);
    let joined = accept(json!({"token": token}), Some(&b.token));
    assert_eq!(joined.status, 201, "{}", joined.text);
    assert_eq!(joined.json()["new_account"], false);
    // One person, two firms: sign-in lists both; switching gives a token for A.
    let session = sign_in(&b.owner_email(), OWNER_PASSWORD, None).json();
    assert_eq!(session["memberships"].as_array().unwrap().len(), 2);
    let switched = call("POST", "/v1/auth/switch-firm")
        .token(&b.token)
        .json(&json!({"firm": a.id()}))
        .send();
    assert_eq!(switched.status, 200, "{}", switched.text);
    let claims = decode_claims(switched.json()["access_token"].as_str().unwrap());
    assert_eq!(
        (claims["firm"].as_str(), claims["role"].as_str()),
        (Some(a.id()), Some("partner"))
    );
    let direct = sign_in(&b.owner_email(), OWNER_PASSWORD, a.firm["slug"].as_str()).json();
    assert_eq!(direct["firm_id"], a.id());
}

#[test]
fn the_plan_limits_active_members_and_pending_invitations() {
    let firm = TestFirm::provision();
    for _ in 0..4 {
        let email = format!("{}@people.test", unique("seat"));
        assert_eq!(invite(&firm, &email, "staff").status, 201);
    }
    let over = invite(&firm, &format!("{}@people.test", unique("seat")), "staff");
    let body = over.problem(409);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("5 active members"),
        "{body}"
    );
    // Withdrawing one frees its seat.
    let pending = call("GET", "/v1/firm/invitations")
        .token(&firm.token)
        .send()
        .json();
    let id = pending["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call("DELETE", &format!("/v1/firm/invitations/{id}"))
            .token(&firm.token)
            .send()
            .status,
        204
    );
    assert_eq!(
        invite(&firm, &format!("{}@people.test", unique("seat")), "staff").status,
        201
    );
}

#[test]
fn roles_change_members_are_deactivated_and_one_admin_always_remains() {
    let firm = TestFirm::provision();
    let (email, user_id, staff_token) = join(&firm, "staff");
    // Staff may not manage members.
    call("PATCH", &format!("/v1/firm/members/{user_id}"))
        .token(&staff_token)
        .json(&json!({"role": "firm_admin"}))
        .send()
        .problem(403);
    let promoted = call("PATCH", &format!("/v1/firm/members/{user_id}"))
        .token(&firm.token)
        .json(&json!({"role": "manager", "flags": ["can_view_reports"]}))
        .send();
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(promoted.json()["role"], "manager");
    assert_eq!(promoted.json()["flags"], json!(["can_view_reports"]));
    // The new role arrives with the next token.
    let session = sign_in(&email, INVITEE_PASSWORD, None).json();
    assert_eq!(
        decode_claims(session["access_token"].as_str().unwrap())["role"],
        "manager"
    );
    // Deactivation ends the member's sessions and sign-ins in this firm.
    let off = call("PATCH", &format!("/v1/firm/members/{user_id}"))
        .token(&firm.token)
        .json(&json!({"is_active": false}))
        .send();
    assert_eq!(off.json()["is_active"], false);
    call("POST", "/v1/auth/refresh")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .problem(401);
    sign_in(&email, INVITEE_PASSWORD, None).problem(403);
    // The owner is the last active firm admin.
    let owner_id = firm.owner["id"].as_str().unwrap();
    call("PATCH", &format!("/v1/firm/members/{owner_id}"))
        .token(&firm.token)
        .json(&json!({"role": "partner"}))
        .send()
        .problem(409);
    call("PATCH", &format!("/v1/firm/members/{owner_id}"))
        .token(&firm.token)
        .json(&json!({"is_active": false}))
        .send()
        .problem(409);
}

#[test]
fn member_and_invitation_requests_are_checked() {
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let bad_role = invite(&firm, "someone@people.test", "owner");
    bad_role.problem(422);
    assert_eq!(bad_role.error_fields(), ["role"]);
    invite(&firm, &firm.owner_email(), "staff").problem(409);
    let email = format!("{}@people.test", unique("dup"));
    assert_eq!(invite(&firm, &email, "staff").status, 201);
    let dup = invite(&firm, &email, "staff");
    dup.problem(409);
    assert_eq!(dup.error_fields(), ["email"]);
    call("POST", "/v1/firm/invitations")
        .json(&json!({"email": email, "role": "staff"}))
        .send()
        .problem(401);
    let other_owner = other.owner["id"].as_str().unwrap();
    call("PATCH", &format!("/v1/firm/members/{other_owner}"))
        .token(&firm.token)
        .json(&json!({"role": "staff"}))
        .send()
        .problem(404);
    call("PATCH", "/v1/firm/members/not-a-user")
        .token(&firm.token)
        .json(&json!({"role": "staff"}))
        .send()
        .problem(422);
    let empty = call(
        "PATCH",
        &format!("/v1/firm/members/{}", firm.owner["id"].as_str().unwrap()),
    )
    .token(&firm.token)
    .json(&json!({}))
    .send();
    empty.problem(422);
    let flags = call(
        "PATCH",
        &format!("/v1/firm/members/{}", firm.owner["id"].as_str().unwrap()),
    )
    .token(&firm.token)
    .json(&json!({"flags": ["can_fly"]}))
    .send();
    flags.problem(422);
    assert_eq!(flags.error_fields(), ["flags[0]"]);
    let other_invites = call("GET", "/v1/firm/invitations")
        .token(&other.token)
        .send()
        .json();
    assert!(other_invites["items"].as_array().unwrap().is_empty());
    accept(
        json!({"token": "fin_made_up", "name": "X", "password": INVITEE_PASSWORD}),
        None,
    )
    .problem(410);
    let staff = firm.token_with(|c| {
        c["role"] = json!("staff");
        c["flags"] = json!([]);
    });
    invite_with(&staff).problem(403);
    assert_eq!(
        call("GET", "/v1/firm/members").token(&staff).send().status,
        200,
        "colleagues are visible to staff"
    );
}

fn invite_with(token: &str) -> Reply {
    call("POST", "/v1/firm/invitations")
        .token(token)
        .json(&json!({"email": "x@people.test", "role": "staff"}))
        .send()
}
