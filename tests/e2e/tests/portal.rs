//! Clients and their portal users, end to end: staff create clients and invite
//! portal users; a portal user signs in with a portal role bound to their client,
//! sees only that client, and never reaches the firm's own areas; a portal admin
//! manages their own client's users; archiving the client closes its portal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use firmament_e2e::{call, decode_claims, mailed_token, unique, unique_ip, Reply, TestFirm};
use serde_json::{json, Value};

const PASSWORD: &str = "portal person pass phrase";

fn create_client(firm: &TestFirm, name: &str) -> Value {
    let reply = call("POST", "/v1/clients")
        .token(&firm.token)
        .json(&json!({"name": name, "email": format!("{}@client.test", unique("books"))}))
        .send();
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn staff_invite(firm: &TestFirm, client_id: &str, body: Value) -> Reply {
    call("POST", &format!("/v1/clients/{client_id}/portal-users"))
        .token(&firm.token)
        .json(&body)
        .send()
}

fn accept(token: &str, bearer: Option<&str>) -> Reply {
    let mut c = call("POST", "/v1/portal/invitations/accept");
    if let Some(t) = bearer {
        c = c.token(t);
    }
    c.json(&json!({"token": token, "name": "Portal Person", "password": PASSWORD}))
        .send()
}

fn sign_in(email: &str) -> Reply {
    call("POST", "/v1/auth/sign-in")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
}

/// A new person joins `client_id`'s portal through an invitation sent by `invite`;
/// returns (email, user id, session body).
fn joined(invite: impl FnOnce(&str) -> Reply) -> (String, String, Value) {
    let email = format!("{}@client.test", unique("person"));
    let invited = invite(&email);
    assert_eq!(invited.status, 201, "{}", invited.text);
    let token = mailed_token(&email, "portal/accept-invitation#token=").unwrap();
    let accepted = accept(&token, None);
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    let user_id = accepted.json()["user_id"].as_str().unwrap().to_owned();
    let session = sign_in(&email);
    assert_eq!(session.status, 200, "{}", session.text);
    (email, user_id, session.json())
}

fn bearer(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn a_portal_user_sees_only_their_own_client() {
    let firm = TestFirm::provision();
    let mine = create_client(&firm, "Mine Ltd");
    let theirs = create_client(&firm, "Theirs Ltd");
    let (_, user_id, session) =
        joined(|email| staff_invite(&firm, &id(&mine), json!({"email": email})));
    assert_eq!(session["role"], "portal_member");
    assert_eq!(session["client_id"], id(&mine));
    assert_eq!(session["memberships"][0]["client_name"], "Mine Ltd");
    let token = bearer(&session);
    let claims = decode_claims(&token);
    assert_eq!(claims["client"], id(&mine));
    assert_eq!(
        claims["flags"],
        json!([
            "can_upload_documents",
            "can_view_billing",
            "can_message_team",
            "can_view_projects"
        ])
    );

    let own = call("GET", "/v1/portal/client").token(&token).send();
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["name"], "Mine Ltd");
    let users = call("GET", "/v1/portal/users").token(&token).send().json();
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    assert_eq!(users["items"][0]["user_id"], user_id.as_str());

    // The firm's own routes, including the other client, are closed to a portal user.
    for path in [
        format!("/v1/clients/{}", id(&theirs)),
        format!("/v1/clients/{}", id(&mine)),
        "/v1/clients".to_owned(),
        "/v1/firm".to_owned(),
        "/v1/firm/members".to_owned(),
        "/v1/firm/audit".to_owned(),
    ] {
        call("GET", &path).token(&token).send().problem(403);
    }
    call("POST", "/v1/clients")
        .token(&token)
        .json(&json!({"name": "Sneaky"}))
        .send()
        .problem(403);
    // A member of the portal may not manage its users.
    call("PATCH", &format!("/v1/portal/users/{user_id}"))
        .token(&token)
        .json(&json!({"role": "admin"}))
        .send()
        .problem(403);
    // Staff do not use the portal's doors.
    call("GET", "/v1/portal/client")
        .token(&firm.token)
        .send()
        .problem(403);

    // Portal users are not members: the member list and the plan do not count them.
    let members = call("GET", "/v1/firm/members")
        .token(&firm.token)
        .send()
        .json();
    assert!(members["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["user_id"] != user_id.as_str()));
    let listed = call("GET", &format!("/v1/clients/{}/portal-users", id(&mine)))
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(listed["items"][0]["role"], "member");
    let none = call("GET", &format!("/v1/clients/{}/portal-users", id(&theirs)))
        .token(&firm.token)
        .send()
        .json();
    assert!(none["items"].as_array().unwrap().is_empty());
}

#[test]
fn portal_tokens_must_name_their_client() {
    let firm = TestFirm::provision();
    let mine = create_client(&firm, "Mine Ltd");
    // A portal role without a client, and a staff role with one, are both refused.
    let no_client = firm.token_with(|c| c["role"] = json!("portal_admin"));
    call("GET", "/v1/portal/client")
        .token(&no_client)
        .send()
        .problem(401);
    let staff_with_client = firm.token_with(|c| c["client"] = json!(id(&mine)));
    call("GET", "/v1/clients")
        .token(&staff_with_client)
        .send()
        .problem(401);
}

#[test]
fn a_portal_admin_manages_their_own_clients_users_only() {
    let firm = TestFirm::provision();
    let mine = create_client(&firm, "Mine Ltd");
    let theirs = create_client(&firm, "Theirs Ltd");
    let (_, _, admin) =
        joined(|email| staff_invite(&firm, &id(&mine), json!({"email": email, "role": "admin"})));
    assert_eq!(admin["role"], "portal_admin");
    let admin = bearer(&admin);
    let (viewer_email, viewer_id, viewer) = joined(|email| {
        call("POST", "/v1/portal/users")
            .token(&admin)
            .json(&json!({"email": email, "role": "viewer", "flags": ["can_view_projects"]}))
            .send()
    });
    assert_eq!(viewer["role"], "portal_viewer");
    assert_eq!(
        decode_claims(&bearer(&viewer))["flags"],
        json!(["can_view_projects"])
    );
    let (_, other_id, _) =
        joined(|email| staff_invite(&firm, &id(&theirs), json!({"email": email})));

    // The admin cannot touch the other client's user, nor invite with staff powers.
    call("PATCH", &format!("/v1/portal/users/{other_id}"))
        .token(&admin)
        .json(&json!({"is_active": false}))
        .send()
        .problem(404);
    let bad = call("POST", "/v1/portal/users")
        .token(&admin)
        .json(
            &json!({"email": "x@client.test", "role": "firm_admin", "flags": ["can_manage_users"]}),
        )
        .send();
    bad.problem(422);
    assert_eq!(sorted(bad.error_fields()), ["flags[0]", "role"]);
    // A viewer never manages users.
    call("POST", "/v1/portal/users")
        .token(&bearer(&viewer))
        .json(&json!({"email": "y@client.test"}))
        .send()
        .problem(403);

    // Deactivating the viewer ends their session and their sign-in.
    let off = call("PATCH", &format!("/v1/portal/users/{viewer_id}"))
        .token(&admin)
        .json(&json!({"is_active": false}))
        .send();
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.json()["is_active"], false);
    call("POST", "/v1/auth/refresh")
        .json(&json!({"refresh_token": viewer["refresh_token"]}))
        .send()
        .problem(401);
    assert_eq!(sign_in(&viewer_email).status, 403);
    // The firm's audit log recorded it.
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "portal_user.invited",
        "portal_user.joined",
        "portal_user.changed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[test]
fn archiving_a_client_closes_its_portal() {
    let firm = TestFirm::provision();
    let mine = create_client(&firm, "Mine Ltd");
    let (email, _, session) =
        joined(|email| staff_invite(&firm, &id(&mine), json!({"email": email})));
    let path = format!("/v1/clients/{}", id(&mine));
    let stale = call("PATCH", &path)
        .token(&firm.token)
        .header("if-match", "\"7\"")
        .json(&json!({"status": "archived"}))
        .send();
    stale.problem(412);
    let archived = call("PATCH", &path)
        .token(&firm.token)
        .header("if-match", mine["etag"].as_str().unwrap())
        .json(&json!({"status": "archived"}))
        .send();
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(archived.json()["status"], "archived");
    assert_eq!(archived.header("etag"), Some("\"2\""));
    call("POST", "/v1/auth/refresh")
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .problem(401);
    assert_eq!(sign_in(&email).status, 403);
    staff_invite(&firm, &id(&mine), json!({"email": "new@client.test"})).problem(409);
    let active = call("GET", "/v1/clients?status=active")
        .token(&firm.token)
        .send()
        .json();
    assert!(active["items"].as_array().unwrap().is_empty());
}

#[test]
fn someone_with_an_account_joins_a_portal_and_switches_firms() {
    let staff_firm = TestFirm::provision();
    let client_firm = TestFirm::provision();
    let mine = create_client(&client_firm, "Mine Ltd");
    // The owner of one firm is a client of another.
    let email = staff_firm.owner_email();
    assert_eq!(
        staff_invite(&client_firm, &id(&mine), json!({"email": email})).status,
        201
    );
    let token = mailed_token(&email, "portal/accept-invitation#token=").unwrap();
    accept(&token, None).problem(401);
    accept(&token, Some(&client_firm.token)).problem(403);
    let joined = accept(&token, Some(&staff_firm.token));
    assert_eq!(joined.status, 201, "{}", joined.text);
    assert_eq!(joined.json()["new_account"], false);
    accept(&token, Some(&staff_firm.token)).problem(410);
    let switched = call("POST", "/v1/auth/switch-firm")
        .token(&staff_firm.token)
        .json(&json!({"firm": client_firm.firm["slug"]}))
        .send();
    assert_eq!(switched.status, 200, "{}", switched.text);
    assert_eq!(switched.json()["role"], "portal_member");
    let portal = bearer(&switched.json());
    assert_eq!(
        call("GET", "/v1/portal/client")
            .token(&portal)
            .send()
            .json()["id"],
        id(&mine)
    );
    // Staff of a firm are never invited to its own portal.
    staff_invite(
        &client_firm,
        &id(&mine),
        json!({"email": client_firm.owner_email()}),
    )
    .problem(409);
}

#[test]
fn client_routes_check_input_credentials_roles_and_firm() {
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let mine = create_client(&firm, "Mine Ltd");
    let path = format!("/v1/clients/{}", id(&mine));

    let bad = call("POST", "/v1/clients")
        .token(&firm.token)
        .json(&json!({"kind": "robot", "email": "nope", "colour": "red"}))
        .send();
    bad.problem(422);
    assert_eq!(
        sorted(bad.error_fields()),
        ["colour", "email", "kind", "name"]
    );
    call("PATCH", &path)
        .token(&firm.token)
        .json(&json!({}))
        .send()
        .problem(422);
    call("GET", "/v1/clients/not-an-id")
        .token(&firm.token)
        .send()
        .problem(422);
    call("GET", "/v1/clients?status=gone")
        .token(&firm.token)
        .send()
        .problem(422);
    let invite = staff_invite(&firm, &id(&mine), json!({"email": "bad", "role": "boss"}));
    invite.problem(422);
    assert_eq!(sorted(invite.error_fields()), ["email", "role"]);
    call("POST", "/v1/portal/invitations/accept")
        .json(&json!({"token": "fpi_forged"}))
        .send()
        .problem(410);

    // Credentials.
    call("GET", "/v1/clients").send().problem(401);
    call("GET", "/v1/clients")
        .token("not.a.token")
        .send()
        .problem(401);
    call("GET", "/v1/portal/client").send().problem(401);

    // Roles: reading clients is CRM read, writing is CRM write (or the flag).
    let as_role = |role: &str, flags: Value| {
        firm.token_with(|c| {
            c["role"] = json!(role);
            c["flags"] = flags;
        })
    };
    for (role, read, write) in [
        ("firm_admin", 200, 201),
        ("manager", 200, 201),
        ("staff", 200, 403),
        ("readonly", 200, 403),
        ("billing", 403, 403),
    ] {
        let token = as_role(role, json!([]));
        assert_eq!(
            call("GET", "/v1/clients").token(&token).send().status,
            read,
            "{role} read"
        );
        let created = call("POST", "/v1/clients")
            .token(&token)
            .json(&json!({"name": "By role"}))
            .send();
        assert_eq!(created.status, write, "{role} write: {}", created.text);
        assert_eq!(
            staff_invite_as(&token, &id(&mine)).status,
            if write == 201 { 201 } else { 403 },
            "{role} invite"
        );
    }
    let staff_with_flag = as_role("staff", json!(["can_manage_clients"]));
    assert_eq!(
        call("POST", "/v1/clients")
            .token(&staff_with_flag)
            .json(&json!({"name": "Flagged"}))
            .send()
            .status,
        201
    );

    // Another firm sees nothing of this one's clients.
    call("GET", &path).token(&other.token).send().problem(404);
    call("PATCH", &path)
        .token(&other.token)
        .json(&json!({"name": "Mine now"}))
        .send()
        .problem(404);
    staff_invite(&other, &id(&mine), json!({"email": "x@client.test"})).problem(404);
    call("GET", &format!("{path}/portal-users"))
        .token(&other.token)
        .send()
        .problem(404);
    let theirs = call("GET", "/v1/clients").token(&other.token).send().json();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    assert_eq!(
        call("GET", &path).token(&firm.token).send().json()["name"],
        "Mine Ltd"
    );
}

fn sorted(mut fields: Vec<String>) -> Vec<String> {
    fields.sort();
    fields
}

fn staff_invite_as(token: &str, client_id: &str) -> Reply {
    call("POST", &format!("/v1/clients/{client_id}/portal-users"))
        .token(token)
        .json(&json!({"email": format!("{}@client.test", unique("invitee"))}))
        .send()
}

#[test]
fn client_creation_is_idempotent_and_invitations_can_be_withdrawn() {
    let firm = TestFirm::provision();
    let key = unique("idem");
    let first = call("POST", "/v1/clients")
        .token(&firm.token)
        .header("idempotency-key", &key)
        .json(&json!({"name": "Once Ltd"}))
        .send();
    let again = call("POST", "/v1/clients")
        .token(&firm.token)
        .header("idempotency-key", &key)
        .json(&json!({"name": "Once Ltd"}))
        .send();
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.json()["id"], again.json()["id"]);
    let client = id(&first.json());
    let email = format!("{}@client.test", unique("withdrawn"));
    let invitation = staff_invite(&firm, &client, json!({"email": email})).json();
    staff_invite(&firm, &client, json!({"email": email})).problem(409);
    let pending = call("GET", &format!("/v1/clients/{client}/portal-invitations"))
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(pending["items"][0]["email"], email.as_str());
    let path = format!(
        "/v1/clients/{client}/portal-invitations/{}",
        id(&invitation)
    );
    assert_eq!(call("DELETE", &path).token(&firm.token).send().status, 204);
    call("DELETE", &path).token(&firm.token).send().problem(404);
    let token = mailed_token(&email, "portal/accept-invitation#token=").unwrap();
    accept(&token, None).problem(410);
}

#[test]
fn staff_search_and_filter_the_client_list() {
    let firm = TestFirm::provision();
    let marker = unique("zebra");
    create_client(&firm, &format!("{marker} Holdings"));
    let person = call("POST", "/v1/clients")
        .token(&firm.token)
        .json(&json!({"name": format!("{marker} Person"), "kind": "individual"}))
        .send()
        .json();
    create_client(&firm, "Unrelated Ltd");
    let names = |query: &str| -> Vec<String> {
        let reply = call("GET", &format!("/v1/clients?{query}"))
            .token(&firm.token)
            .send();
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&format!("q={}", marker.to_uppercase())).len(), 2);
    assert_eq!(
        names(&format!("q={marker}&kind=individual")),
        [format!("{marker} Person")]
    );
    assert_eq!(names("q=%25%25%25").len(), 0); // "%%%" is text, not a wildcard
                                               // Another firm finds none of them.
    let other = TestFirm::provision();
    let theirs = call("GET", &format!("/v1/clients?q={marker}"))
        .token(&other.token)
        .send();
    assert_eq!(theirs.json()["items"].as_array().unwrap().len(), 0);
    // Bad filters are named.
    let reply = call("GET", "/v1/clients?kind=robot&status=gone")
        .token(&firm.token)
        .send();
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["kind", "status"]);
    // The longest search allowed is answered (D1 would refuse it as a LIKE pattern).
    let longest = "0".repeat(100);
    let reply = call("GET", &format!("/v1/clients?q={longest}"))
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    call("GET", "/v1/clients?q=")
        .token(&firm.token)
        .send()
        .problem(422);
    let long = "x".repeat(101);
    call("GET", &format!("/v1/clients?q={long}"))
        .token(&firm.token)
        .send()
        .problem(422);
    assert_eq!(id(&person).len(), 30);
}
