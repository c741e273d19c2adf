//! Clients and their portal users, on in-memory SQLite built from the migrations:
//! a portal user's access comes out of the same membership query as staff, and a
//! scope made from their token reaches only their own client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::json;
use shared::auth::claims::AccessClaims;
use shared::auth::roles::{Flag, Role};
use shared::auth::token::{TokenSigner, TokenVerifier};
use shared::auth::users;
use shared::clients::model::{ClientFilter, ClientPatch, ClientStatus, NewClient};
use shared::clients::portal::{self, Found, NewPortalInvitation, PortalUserPatch};
use shared::clients::repository;
use shared::firm::members;
use shared::firm::provision::{self, ProvisionFirm};
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;

const NOW: i64 = 1_790_000_000_000;
const SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn now() -> Instant {
    Instant::from_millis(NOW)
}

/// Signs and verifies `claims` the way a request's token is, and scopes them.
fn scope_of(claims: AccessClaims) -> TenantScope {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let seed = ed25519_compact::Seed::from_slice(&URL_SAFE_NO_PAD.decode(SEED).unwrap()).unwrap();
    let public = URL_SAFE_NO_PAD.encode(ed25519_compact::KeyPair::from_seed(seed).pk.as_ref());
    let signer = TokenSigner::from_config(&format!("k:{SEED}"), "firmament", "api").unwrap();
    let verifier = TokenVerifier::from_config(&format!("k:{public}"), "firmament", "api").unwrap();
    let token = signer.issue(claims, now()).unwrap();
    verifier.verify(&token.token, now()).unwrap().scope()
}

fn firm(db: &MemoryDb, slug: &str) -> (TenantScope, String) {
    let plan = provision::plan(
        ProvisionFirm::parse(&json!({"name": "Acme LLP", "slug": slug,
            "owner": {"email": format!("owner@{slug}.test"), "password": "correct horse battery", "name": "Ada"}}))
        .unwrap(),
        &shared::kernel::audit::Origin::default(),
        now(),
    )
    .unwrap();
    block_on(db.batch(plan.statements.clone())).unwrap();
    let owner = plan.owner_claims.sub.clone();
    (scope_of(plan.owner_claims), owner)
}

fn client(db: &MemoryDb, scope: &TenantScope, owner: &str, name: &str) -> String {
    let (client, statement) = repository::insert(
        scope,
        NewClient::parse(&json!({"name": name})).unwrap(),
        owner,
        now(),
    )
    .unwrap();
    block_on(db.execute(statement)).unwrap();
    client.id
}

/// Invites `email` to the client's portal, accepts as a new user, returns the user id.
fn portal_user(
    db: &MemoryDb,
    scope: &TenantScope,
    owner: &str,
    client_id: &str,
    email: &str,
    body: serde_json::Value,
) -> String {
    let mut body = body;
    body["email"] = json!(email);
    let planned = block_on(portal::plan_invitation(
        db,
        scope,
        client_id,
        owner,
        NewPortalInvitation::parse(&body).unwrap(),
        now(),
    ))
    .unwrap();
    block_on(db.execute(planned.statement)).unwrap();
    let found = block_on(portal::find(db, &planned.token, now()))
        .unwrap()
        .unwrap();
    let user_id = format!("usr_{}", email.replace(['@', '.'], "_"));
    let address = shared::kernel::validate::EmailAddress::parse("email", email).unwrap();
    let mut statements = vec![users::insert(&user_id, &address, "Pat", "hash", now())];
    statements.extend(portal::accept(&found, &user_id, now()));
    block_on(db.batch(statements)).unwrap();
    assert!(
        block_on(portal::find(db, &planned.token, now()))
            .unwrap()
            .is_none(),
        "single use"
    );
    user_id
}

#[test]
fn a_portal_user_signs_into_their_client_only() {
    let db = MemoryDb::migrated().unwrap();
    let (staff, owner) = firm(&db, "acme");
    let mine = client(&db, &staff, &owner, "Mine Ltd");
    let theirs = client(&db, &staff, &owner, "Theirs Ltd");
    let pat = portal_user(&db, &staff, &owner, &mine, "pat@mine.test", json!({}));

    let access = block_on(members::active_for_user(&db, &pat)).unwrap();
    assert_eq!(access.len(), 1);
    assert_eq!(access[0].role, Role::PortalMember);
    assert_eq!(access[0].client_id.as_deref(), Some(mine.as_str()));
    assert_eq!(access[0].client_name.as_deref(), Some("Mine Ltd"));
    assert_eq!(
        access[0].flags,
        Flag::PORTAL.to_vec(),
        "every portal flag by default"
    );
    let in_firm = block_on(members::active_in(&db, &pat, "acme"))
        .unwrap()
        .unwrap();

    let scope = scope_of(AccessClaims::for_member(&pat, &in_firm, "ses_1", &[], None));
    assert_eq!(scope.client_id(), Some(mine.as_str()));
    assert_eq!(
        block_on(repository::get(&db, &scope, &mine)).unwrap().name,
        "Mine Ltd"
    );
    assert_eq!(
        block_on(repository::get(&db, &scope, &theirs)).unwrap_err(),
        DomainError::NotFound("client")
    );
    let page = block_on(repository::list(
        &db,
        &scope,
        &Default::default(),
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(block_on(portal::list(&db, &scope, &theirs)).is_err());
    // Staff see both clients and the portal user, who is not a member.
    let all = block_on(repository::list(
        &db,
        &staff,
        &Default::default(),
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert_eq!(all.items.len(), 2);
    assert_eq!(
        block_on(portal::list(&db, &staff, &mine)).unwrap()[0].user_id,
        pat
    );
    assert!(block_on(members::list(&db, &staff))
        .unwrap()
        .iter()
        .all(|m| m.user_id != pat));
}

#[test]
fn invitations_keep_one_access_per_person_and_firm() {
    let db = MemoryDb::migrated().unwrap();
    let (staff, owner) = firm(&db, "acme");
    let mine = client(&db, &staff, &owner, "Mine Ltd");
    let theirs = client(&db, &staff, &owner, "Theirs Ltd");
    portal_user(
        &db,
        &staff,
        &owner,
        &mine,
        "pat@mine.test",
        json!({"role": "viewer", "flags": []}),
    );
    let again = |email: &str, client_id: &str| {
        block_on(portal::plan_invitation(
            &db,
            &staff,
            client_id,
            &owner,
            NewPortalInvitation::parse(&json!({"email": email})).unwrap(),
            now(),
        ))
        .err()
    };
    assert!(matches!(
        again("pat@mine.test", &theirs),
        Some(DomainError::Conflict { .. })
    ));
    assert!(matches!(
        again("owner@acme.test", &mine),
        Some(DomainError::Conflict { .. })
    ));
    assert_eq!(
        again("someone@else.test", "cli_01JD0000000000000000000000"),
        Some(DomainError::NotFound("client"))
    );
    assert!(
        NewPortalInvitation::parse(&json!({"email": "x@y.test", "role": "firm_admin"})).is_err()
    );
    assert!(NewPortalInvitation::parse(
        &json!({"email": "x@y.test", "flags": ["can_manage_users"]})
    )
    .is_err());
}

#[test]
fn a_second_acceptance_in_the_same_firm_is_refused() {
    let db = MemoryDb::migrated().unwrap();
    let (staff, owner) = firm(&db, "acme");
    let mine = client(&db, &staff, &owner, "Mine Ltd");
    let theirs = client(&db, &staff, &owner, "Theirs Ltd");
    // Pat, deactivated at one client, is invited to another; meanwhile the first
    // client takes Pat back. Accepting now would move Pat silently: refused.
    let pat = portal_user(&db, &staff, &owner, &mine, "pat@mine.test", json!({}));
    let toggle = |on: bool| {
        let patch = PortalUserPatch::parse(&json!({"is_active": on})).unwrap();
        block_on(portal::update(&db, &staff, &mine, &pat, &patch, now())).unwrap();
    };
    toggle(false);
    let planned = block_on(portal::plan_invitation(
        &db,
        &staff,
        &theirs,
        &owner,
        NewPortalInvitation::parse(&json!({"email": "pat@mine.test"})).unwrap(),
        now(),
    ))
    .unwrap();
    block_on(db.execute(planned.statement)).unwrap();
    let second = block_on(portal::find(&db, &planned.token, now()))
        .unwrap()
        .unwrap();
    block_on(portal::check_acceptable(&db, &second, &pat)).unwrap();
    toggle(true);
    let refused = block_on(portal::check_acceptable(&db, &second, &pat)).unwrap_err();
    assert!(
        matches!(refused, DomainError::Conflict { .. }),
        "{refused:?}"
    );
    // The firm's own staff are refused too.
    let owner_invite = Found {
        email: "owner@acme.test".into(),
        ..second
    };
    assert!(block_on(portal::check_acceptable(&db, &owner_invite, &owner)).is_err());
}

#[test]
fn archiving_the_client_or_deactivating_the_user_ends_access() {
    let db = MemoryDb::migrated().unwrap();
    let (staff, owner) = firm(&db, "acme");
    let mine = client(&db, &staff, &owner, "Mine Ltd");
    let pat = portal_user(
        &db,
        &staff,
        &owner,
        &mine,
        "pat@mine.test",
        json!({"role": "admin"}),
    );
    let later = Instant::from_millis(NOW + 1000);

    let off = PortalUserPatch::parse(&json!({"is_active": false})).unwrap();
    let user = block_on(portal::update(&db, &staff, &mine, &pat, &off, later)).unwrap();
    assert!(!user.is_active);
    assert!(block_on(members::active_for_user(&db, &pat))
        .unwrap()
        .is_empty());
    let on = PortalUserPatch::parse(&json!({"is_active": true, "role": "viewer"})).unwrap();
    block_on(portal::update(&db, &staff, &mine, &pat, &on, later)).unwrap();
    let access = block_on(members::active_for_user(&db, &pat)).unwrap();
    assert_eq!(access[0].role, Role::PortalViewer);

    let archive = ClientPatch::parse(&json!({"status": "archived"})).unwrap();
    let archived = block_on(repository::update(
        &db,
        &staff,
        &mine,
        &archive,
        Some(1),
        later,
    ))
    .unwrap();
    assert_eq!(archived.status, ClientStatus::Archived);
    assert_eq!(archived.version, 2);
    assert!(block_on(members::active_for_user(&db, &pat))
        .unwrap()
        .is_empty());
    let stale = block_on(repository::update(
        &db,
        &staff,
        &mine,
        &archive,
        Some(1),
        later,
    ))
    .unwrap_err();
    assert!(matches!(stale, DomainError::PreconditionFailed(_)));
}

#[test]
fn another_firm_sees_none_of_it() {
    let db = MemoryDb::migrated().unwrap();
    let (a, owner) = firm(&db, "acme");
    let (b, _) = firm(&db, "other");
    let mine = client(&db, &a, &owner, "Mine Ltd");
    assert_eq!(
        block_on(repository::get(&db, &b, &mine)).unwrap_err(),
        DomainError::NotFound("client")
    );
    let patch = ClientPatch::parse(&json!({"name": "Stolen"})).unwrap();
    assert!(block_on(repository::update(&db, &b, &mine, &patch, None, now())).is_err());
    assert!(block_on(portal::list(&db, &b, &mine)).is_err());
    assert_eq!(
        block_on(repository::get(&db, &a, &mine)).unwrap().name,
        "Mine Ltd"
    );
}

#[test]
fn the_list_searches_names_and_addresses_and_narrows_by_kind_and_status() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "search");
    let (other, other_owner) = firm(&db, "other-firm");
    let add = |scope: &TenantScope, by: &str, body: serde_json::Value| {
        let (client, statement) =
            repository::insert(scope, NewClient::parse(&body).unwrap(), by, now()).unwrap();
        block_on(db.execute(statement)).unwrap();
        client.id
    };
    add(
        &scope,
        &owner,
        json!({"name": "Acme Ltd", "email": "books@acme.test"}),
    );
    let ada = add(
        &scope,
        &owner,
        json!({"name": "Ada Byron", "kind": "individual"}),
    );
    add(
        &scope,
        &owner,
        json!({"name": "Globex", "email": "ACME-partner@globex.test"}),
    );
    add(&scope, &owner, json!({"name": "100% Organic"}));
    add(&other, &other_owner, json!({"name": "Acme Abroad"}));
    let names = |filter: &[(&str, &str)]| -> Vec<String> {
        let get = |name: &str| filter.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let filter = ClientFilter::parse(get).unwrap();
        block_on(repository::list(
            &db,
            &scope,
            &filter,
            &PageRequest::parse(None, None).unwrap(),
        ))
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.name)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
    };
    // (Made in one millisecond, the clients' order is their ids' random part: sorted here.)
    // Name or address, any case; another firm's Acme is not found.
    assert_eq!(names(&[("q", "acme")]), ["Acme Ltd", "Globex"]);
    // % is a character, not a wildcard.
    assert_eq!(names(&[("q", "0%")]), ["100% Organic"]);
    assert_eq!(names(&[("q", "a%e")]), Vec::<String>::new());
    assert_eq!(names(&[("kind", "individual")]), ["Ada Byron"]);
    block_on(repository::update(
        &db,
        &scope,
        &ada,
        &ClientPatch::parse(&json!({"status": "archived"})).unwrap(),
        None,
        now(),
    ))
    .unwrap();
    assert_eq!(
        names(&[("status", "archived"), ("q", "BYRON")]),
        ["Ada Byron"]
    );
    assert_eq!(
        names(&[("status", "active"), ("kind", "individual")]),
        Vec::<String>::new()
    );
}
