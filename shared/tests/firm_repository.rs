//! The firm module's SQL, run on in-memory SQLite built from the real migrations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::json;
use shared::auth::token::{TokenSigner, TokenVerifier};
use shared::firm::consumer;
use shared::firm::model::FirmStatus;
use shared::firm::provision::{self, ProvisionFirm};
use shared::firm::repository;
use shared::firm::settings::FirmPatch;
use shared::kernel::events;
use shared::kernel::idempotency::IdempotencyKey;
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::{violates_unique, Sql};
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;

const NOW: i64 = 1_790_000_000_000;
const SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn public_key() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let seed = ed25519_compact::Seed::from_slice(&URL_SAFE_NO_PAD.decode(SEED).unwrap()).unwrap();
    URL_SAFE_NO_PAD.encode(ed25519_compact::KeyPair::from_seed(seed).pk.as_ref())
}

fn request(slug: &str, email: &str) -> serde_json::Value {
    json!({"name": "Acme LLP", "slug": slug, "timezone": "Europe/London", "currency": "GBP",
           "owner": {"email": email, "password": "correct horse battery", "name": "Ada"}})
}

/// Provisions a firm and returns a scope for it, the way a verified token gives one.
fn provisioned(db: &MemoryDb, slug: &str, email: &str) -> (TenantScope, provision::Provisioned) {
    let plan = provision::plan(
        ProvisionFirm::parse(&request(slug, email)).unwrap(),
        &shared::kernel::audit::Origin::default(),
        Instant::from_millis(NOW),
    )
    .unwrap();
    block_on(db.batch(plan.statements.clone())).unwrap();
    let signer = TokenSigner::from_config(&format!("k:{SEED}"), "firmament", "api").unwrap();
    let verifier =
        TokenVerifier::from_config(&format!("k:{}", public_key()), "firmament", "api").unwrap();
    let token = signer
        .issue(plan.owner_claims.clone(), Instant::from_millis(NOW))
        .unwrap();
    let claims = verifier
        .verify(&token.token, Instant::from_millis(NOW))
        .unwrap();
    (claims.scope(), plan)
}

#[test]
fn provisioning_creates_firm_owner_membership_and_event() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, plan) = provisioned(&db, "acme", "ada@acme.test");
    let firm = block_on(repository::get(&db, &scope)).unwrap();
    assert_eq!(firm, plan.firm);
    assert_eq!(firm.status, FirmStatus::Trial);
    assert_eq!(firm.timezone, "Europe/London");
    let due = block_on(events::due(
        &db,
        Instant::from_millis(NOW + events::PUBLISH_GRACE_MS),
    ))
    .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].kind, "firm.created");
    assert_eq!(due[0].firm_id, firm.id);
    let members = block_on(db.query(shared::stmt!(
        "SELECT role, flags FROM firm_memberships WHERE firm_id = ?1",
        firm.id.as_str()
    )))
    .unwrap();
    assert_eq!(members[0]["role"], "firm_admin");
    assert!(members[0]["flags"]
        .as_str()
        .unwrap()
        .contains("can_manage_settings"));
}

#[test]
fn provisioning_refuses_a_taken_slug_and_writes_nothing() {
    let db = MemoryDb::migrated().unwrap();
    provisioned(&db, "acme", "ada@acme.test");
    let again = provision::plan(
        ProvisionFirm::parse(&request("acme", "bo@other.test")).unwrap(),
        &shared::kernel::audit::Origin::default(),
        Instant::from_millis(NOW),
    )
    .unwrap();
    let err = block_on(db.batch(again.statements)).unwrap_err();
    assert!(violates_unique(&err, "firm_firms.slug"), "{err:?}");
    assert_eq!(
        provision::explain_conflict(err),
        DomainError::conflict("slug", "a firm with this slug already exists")
    );
    let users = block_on(db.query(shared::stmt!(
        "SELECT id FROM auth_users WHERE email = 'bo@other.test'"
    )))
    .unwrap();
    assert!(users.is_empty(), "a failed batch must leave no user behind");
}

#[test]
fn provisioning_input_names_every_bad_field() {
    let err = ProvisionFirm::parse(
        &json!({"name": "", "slug": "A!", "timezone": "Mars/Base", "currency": "XXY",
                                           "owner": {"email": "nope", "password": "short"}}),
    )
    .err()
    .unwrap();
    let DomainError::Validation(errs) = err else {
        panic!("{err:?}")
    };
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "name",
        "slug",
        "timezone",
        "currency",
        "owner.email",
        "owner.name",
        "owner.password",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[test]
fn updates_need_the_current_version() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, _) = provisioned(&db, "acme", "ada@acme.test");
    let patch =
        FirmPatch::parse(&json!({"name": "Acme & Co", "timezone": "America/Chicago"})).unwrap();
    let later = Instant::from_millis(NOW + 1000);
    let updated = block_on(repository::update(&db, &scope, &patch, Some(1), later)).unwrap();
    assert_eq!(updated.name, "Acme & Co");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.etag(), "\"2\"");
    let stale = block_on(repository::update(&db, &scope, &patch, Some(1), later)).unwrap_err();
    assert!(matches!(stale, DomainError::PreconditionFailed(_)));
    // Without If-Match the change applies to whatever is current.
    assert_eq!(
        block_on(repository::update(&db, &scope, &patch, None, later))
            .unwrap()
            .version,
        3
    );
}

#[test]
fn one_firm_never_sees_or_changes_another() {
    let db = MemoryDb::migrated().unwrap();
    let (a, _) = provisioned(&db, "acme", "ada@acme.test");
    let (b, plan_b) = provisioned(&db, "beta", "bo@beta.test");
    let patch = FirmPatch::parse(&json!({"name": "Hijacked"})).unwrap();
    block_on(repository::update(
        &db,
        &a,
        &patch,
        None,
        Instant::from_millis(NOW),
    ))
    .unwrap();
    assert_eq!(block_on(repository::get(&db, &b)).unwrap().name, "Acme LLP");
    let b_events = block_on(events::list(
        &db,
        &b,
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert_eq!(b_events.items.len(), 1);
    assert!(!block_on(events::redeliver(
        &db,
        &a,
        &plan_b.event.id,
        Instant::from_millis(NOW)
    ))
    .unwrap());
}

#[test]
fn consumer_acts_once_and_counts_duplicates() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, plan) = provisioned(&db, "acme", "ada@acme.test");
    let t1 = Instant::from_millis(NOW + 10);
    assert!(block_on(consumer::handle(&db, &plan.event, t1)).unwrap());
    assert!(block_on(consumer::handle(
        &db,
        &plan.event,
        Instant::from_millis(NOW + 20)
    ))
    .unwrap());
    let steps = block_on(repository::steps(&db, &scope)).unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].completed_at, t1.millis());
    assert_eq!(
        block_on(repository::get(&db, &scope))
            .unwrap()
            .provisioned_at,
        Some(t1.millis())
    );
    assert!(block_on(events::seen(&db, consumer::CONSUMER, &plan.event.id)).unwrap());
    let log = block_on(events::list(
        &db,
        &scope,
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert_eq!(log.items[0].deliveries, 2);
    assert_eq!(log.items[0].consumers, 1);
}

#[test]
fn outbox_sweep_sees_only_overdue_unpublished_events() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, plan) = provisioned(&db, "acme", "ada@acme.test");
    assert!(
        block_on(events::due(&db, Instant::from_millis(NOW)))
            .unwrap()
            .is_empty(),
        "inside the grace period"
    );
    block_on(db.batch(events::mark_published(
        std::slice::from_ref(&plan.event.id),
        Instant::from_millis(NOW),
    )))
    .unwrap();
    assert!(
        block_on(events::due(&db, Instant::from_millis(NOW + 60_000)))
            .unwrap()
            .is_empty()
    );
    assert!(block_on(events::redeliver(
        &db,
        &scope,
        &plan.event.id,
        Instant::from_millis(NOW + 60_000)
    ))
    .unwrap());
    let due = block_on(events::due(&db, Instant::from_millis(NOW + 60_000))).unwrap();
    assert_eq!(due, vec![plan.event]);
}

#[test]
fn idempotency_replays_the_same_request_and_refuses_a_different_one() {
    let db = MemoryDb::migrated().unwrap();
    let now = Instant::from_millis(NOW);
    let key = IdempotencyKey::parse("public", "k-1", "POST", "/v1/firms", b"{\"a\":1}").unwrap();
    assert!(block_on(key.replay(&db, now)).unwrap().is_none());
    block_on(db.execute(key.store(201, "{\"ok\":true}", now))).unwrap();
    let stored = block_on(key.replay(&db, now)).unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.body.as_str()),
        (201, "{\"ok\":true}")
    );
    let other = IdempotencyKey::parse("public", "k-1", "POST", "/v1/firms", b"{\"a\":2}").unwrap();
    assert!(matches!(
        block_on(other.replay(&db, now)),
        Err(DomainError::Conflict { .. })
    ));
    let elsewhere =
        IdempotencyKey::parse("frm_x", "k-1", "POST", "/v1/firms", b"{\"a\":2}").unwrap();
    assert!(
        block_on(elsewhere.replay(&db, now)).unwrap().is_none(),
        "keys are scoped"
    );
    assert!(IdempotencyKey::parse("public", "", "POST", "/", b"").is_err());
    assert!(IdempotencyKey::parse("public", "bad key", "POST", "/", b"").is_err());
}
