//! Event fan-out bookkeeping on in-memory SQLite built from the real migrations:
//! claims, per-subscriber retries, dead letters and replay.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::json;
use shared::dispatch::deliveries::{self, DeadFilter, Outcome, SCHEDULE};
use shared::kernel::events::{self, EventEnvelope};
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;

const NOW: i64 = 1_790_000_000_000;

fn at(ms: i64) -> Instant {
    Instant::from_millis(NOW + ms)
}

fn event(db: &MemoryDb, firm: &str) -> EventEnvelope {
    let scope = TenantScope::for_tests(firm, None);
    let e = EventEnvelope::new(&scope, "client.created", at(0), json!({"id": "cli_1"})).unwrap();
    block_on(db.batch(vec![events::record(&e, at(0)).unwrap()])).unwrap();
    e
}

fn failed() -> Outcome {
    Outcome::Failed {
        error: "HTTP 500".into(),
        permanent: false,
    }
}

#[test]
fn a_redelivered_event_is_claimed_once_per_subscriber() {
    let db = MemoryDb::migrated().unwrap();
    let e = event(&db, "frm_a");
    let first = block_on(deliveries::claim_new(&db, &e, &["firm", "webhooks"], at(0))).unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.attempts == 1));
    let again = block_on(deliveries::claim_new(&db, &e, &["firm", "webhooks"], at(1))).unwrap();
    assert!(again.is_empty(), "{again:?}");
    // A module subscribed later still gets it.
    let late = block_on(deliveries::claim_new(&db, &e, &["firm", "crm"], at(2))).unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].subscriber, "crm");
}

#[test]
fn a_failing_subscriber_is_retried_alone_on_its_schedule() {
    let db = MemoryDb::migrated().unwrap();
    let e = event(&db, "frm_a");
    block_on(deliveries::claim_new(&db, &e, &["firm", "probe"], at(0))).unwrap();
    let ok = block_on(deliveries::record(
        &db,
        &e,
        "firm",
        1,
        &Outcome::Delivered,
        at(10),
        0.5,
    ))
    .unwrap();
    assert_eq!(ok, None);
    let retry = block_on(deliveries::record(
        &db,
        &e,
        "probe",
        1,
        &failed(),
        at(10),
        0.5,
    ))
    .unwrap()
    .expect("a retry");
    assert_eq!((retry.attempt, retry.delay_secs), (2, 5));
    assert_eq!(retry.subscriber, "probe");

    // A stale or duplicate retry message claims nothing; the right one claims once.
    assert!(
        block_on(deliveries::claim_retry(&db, &e.id, "probe", 3, at(6_000)))
            .unwrap()
            .is_none()
    );
    assert!(
        block_on(deliveries::claim_retry(&db, &e.id, "firm", 2, at(6_000)))
            .unwrap()
            .is_none()
    );
    let claim = block_on(deliveries::claim_retry(&db, &e.id, "probe", 2, at(6_000))).unwrap();
    assert_eq!(claim.map(|c| c.attempts), Some(2));
    assert!(
        block_on(deliveries::claim_retry(&db, &e.id, "probe", 2, at(6_001)))
            .unwrap()
            .is_none()
    );
    let retry = block_on(deliveries::record(
        &db,
        &e,
        "probe",
        2,
        &failed(),
        at(7_000),
        0.5,
    ))
    .unwrap();
    assert_eq!(retry.map(|r| r.delay_secs), Some(30));
    block_on(deliveries::claim_retry(&db, &e.id, "probe", 3, at(40_000)))
        .unwrap()
        .unwrap();
    block_on(deliveries::record(
        &db,
        &e,
        "probe",
        3,
        &Outcome::Delivered,
        at(41_000),
        0.5,
    ))
    .unwrap();

    let scope = TenantScope::for_tests("frm_a", None);
    let views = block_on(deliveries::of_event(&db, &scope, &e.id)).unwrap();
    let summary: Vec<_> = views
        .iter()
        .map(|v| (v.subscriber.as_str(), v.status.as_str(), v.attempts))
        .collect();
    assert_eq!(
        summary,
        [("firm", "delivered", 1), ("probe", "delivered", 3)]
    );
    assert!(block_on(deliveries::of_event(
        &db,
        &TenantScope::for_tests("frm_b", None),
        &e.id
    ))
    .unwrap()
    .is_empty());
}

#[test]
fn a_spent_schedule_dead_letters_and_replay_starts_it_again() {
    let db = MemoryDb::migrated().unwrap();
    let e = event(&db, "frm_a");
    block_on(deliveries::claim_new(&db, &e, &["probe"], at(0))).unwrap();
    let mut clock = 0;
    let attempts = i64::from(SCHEDULE.max_attempts());
    for attempt in 1..=attempts {
        if attempt > 1 {
            block_on(deliveries::claim_retry(
                &db,
                &e.id,
                "probe",
                attempt,
                at(clock),
            ))
            .unwrap()
            .unwrap();
        }
        let retry = block_on(deliveries::record(
            &db,
            &e,
            "probe",
            attempt,
            &failed(),
            at(clock),
            0.5,
        ))
        .unwrap();
        assert_eq!(retry.is_some(), attempt < attempts, "attempt {attempt}");
        clock += retry.map_or(0, |r| r.delay_secs * 1_000) + 1;
    }
    let scope = TenantScope::for_tests("frm_a", None);
    let other = TenantScope::for_tests("frm_b", None);
    let page = PageRequest::parse(None, None).unwrap();
    let dead = block_on(deliveries::dead(&db, &scope, &DeadFilter::default(), &page)).unwrap();
    assert_eq!(dead.items.len(), 1);
    assert_eq!(dead.items[0].attempts, attempts);
    assert_eq!(dead.items[0].last_error.as_deref(), Some("HTTP 500"));
    assert!(
        block_on(deliveries::dead(&db, &other, &DeadFilter::default(), &page))
            .unwrap()
            .items
            .is_empty()
    );

    // Another firm cannot replay it; its own admin can, once.
    assert!(block_on(deliveries::replay(
        &db,
        &other,
        Some(&e.id),
        &DeadFilter::default(),
        at(clock)
    ))
    .unwrap()
    .is_empty());
    let replayed = block_on(deliveries::replay(
        &db,
        &scope,
        Some(&e.id),
        &DeadFilter::default(),
        at(clock),
    ))
    .unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        (replayed[0].attempt, replayed[0].event.id.as_str()),
        (1, e.id.as_str())
    );
    assert!(block_on(deliveries::replay(
        &db,
        &scope,
        Some(&e.id),
        &DeadFilter::default(),
        at(clock)
    ))
    .unwrap()
    .is_empty());
    let claim = block_on(deliveries::claim_retry(
        &db,
        &e.id,
        "probe",
        1,
        at(clock + 1),
    ))
    .unwrap();
    assert!(claim.is_some());
}

#[test]
fn a_permanent_refusal_dead_letters_at_once() {
    let db = MemoryDb::migrated().unwrap();
    let e = event(&db, "frm_a");
    block_on(deliveries::claim_new(&db, &e, &["probe"], at(0))).unwrap();
    let refused = Outcome::Failed {
        error: "HTTP 422".into(),
        permanent: true,
    };
    assert_eq!(
        block_on(deliveries::record(
            &db,
            &e,
            "probe",
            1,
            &refused,
            at(1),
            0.5
        ))
        .unwrap(),
        None
    );
    let views = block_on(deliveries::of_event(
        &db,
        &TenantScope::for_tests("frm_a", None),
        &e.id,
    ))
    .unwrap();
    assert_eq!(views[0].status, "dead");
}

#[test]
fn the_sweep_resends_overdue_attempts_and_lost_claims() {
    let db = MemoryDb::migrated().unwrap();
    let e = event(&db, "frm_a");
    block_on(deliveries::claim_new(&db, &e, &["firm", "probe"], at(0))).unwrap();
    block_on(deliveries::record(
        &db,
        &e,
        "probe",
        1,
        &failed(),
        at(0),
        0.5,
    ))
    .unwrap();
    // Within its lease the crashed "firm" attempt is not resent; the probe's retry is not late yet.
    assert!(block_on(deliveries::overdue(&db, at(30_000)))
        .unwrap()
        .is_empty());
    let due = block_on(deliveries::overdue(
        &db,
        at(deliveries::LEASE_MS + deliveries::SWEEP_LATE_MS + 1),
    ))
    .unwrap();
    let mut found: Vec<_> = due
        .iter()
        .map(|r| (r.subscriber.as_str(), r.attempt))
        .collect();
    found.sort_unstable();
    assert_eq!(found, [("firm", 2), ("probe", 2)]);
}
