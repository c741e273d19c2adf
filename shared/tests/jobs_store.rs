//! The jobs system on in-memory SQLite built from the real migrations: enqueue in
//! the caller's batch, idempotency, claims and leases, the reaper, retries and the
//! dead-letter list, reprocessing with the original key, cancel, fairness, SLA and
//! retention.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::{json, Value};
use shared::jobs::admin::{self, Bulk, Cancelled, DeadFilter, JobFilter};
use shared::jobs::metrics::{self, Window};
use shared::jobs::store::{self, ClaimResult, Claimed, Dispatch, Failure, Next, Outcome};
use shared::jobs::types::{self, JobType, DEFAULT_POLICY};
use shared::jobs::{Category, DeadStatus, ErrorClass, Priority, Status};
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::{stmt, DomainError};

const NOW: i64 = 1_790_000_000_000;
const CID: &str = "0b5e3a4c-2f1d-4c1e-9a7b-3d2f1e0c9b8a";

fn at(ms: i64) -> Instant {
    Instant::from_millis(NOW + ms)
}

fn extra() -> Vec<JobType<'static>> {
    types::parse_extra(
        "export:probe.export=probe,sync:probe.sync=probe,maintenance:probe.run=probe",
    )
}

fn payload(firm: &str, key: &str) -> Value {
    json!({"tenant_id": firm, "correlation_id": CID, "idempotency_key": key, "connection_id": "con_1"})
}

/// Enqueues a job of `kind` and writes it (alone in its batch); returns its first message.
fn enqueue(
    db: &MemoryDb,
    firm: &str,
    kind: &str,
    key: &str,
    run_at: Option<Instant>,
    max: Option<u32>,
) -> Dispatch {
    let extra = extra();
    let scope = TenantScope::for_tests(firm, None);
    let p = payload(firm, key);
    let job = store::NewJob {
        job_type: types::find(&extra, kind).unwrap(),
        payload: &p,
        payload_version: "1.0",
        priority: Priority::Normal,
        run_at,
        max_attempts: max,
        manual: false,
        created_by: None,
    };
    let e = store::enqueue(&scope, &job, at(0)).unwrap();
    block_on(db.batch(vec![e.statement])).unwrap();
    e.dispatch
}

fn claim(db: &MemoryDb, d: &Dispatch, token: &str, now: Instant) -> Claimed {
    match block_on(store::claim(db, d, token, now)).unwrap() {
        ClaimResult::Claimed(c) => *c,
        other => panic!("expected a claim, got {other:?}"),
    }
}

fn failure(class: ErrorClass) -> Outcome {
    Outcome::Failed(Failure {
        class,
        status: Some(503),
        error: "HTTP 503 from the provider".into(),
        retry_after_secs: None,
        timed_out: false,
    })
}

fn job(db: &MemoryDb, firm: &str, id: &str) -> admin::JobRecord {
    block_on(admin::get(db, &TenantScope::for_tests(firm, None), id)).unwrap()
}

#[test]
fn the_job_is_written_with_the_change_or_not_at_all() {
    let db = MemoryDb::migrated().unwrap();
    let scope = TenantScope::for_tests("frm_a", None);
    let extra = extra();
    let p = payload("frm_a", "k1");
    let job = store::NewJob {
        job_type: types::find(&extra, "probe.run").unwrap(),
        payload: &p,
        payload_version: "1.0",
        priority: Priority::High,
        run_at: None,
        max_attempts: None,
        manual: false,
        created_by: None,
    };
    let e = store::enqueue(&scope, &job, at(0)).unwrap();
    // The change that causes the job fails (a duplicate primary key): neither lands.
    let change = stmt!("INSERT INTO jobs_attempts (job_id, number, firm_id, started_at) VALUES ('x', 1, 'frm_a', 0)");
    block_on(db.batch(vec![change.clone()])).unwrap();
    assert!(block_on(db.batch(vec![e.statement.clone(), change])).is_err());
    assert!(block_on(store::by_key(&db, &scope, "k1")).is_err());
    // With a good change both land, and the same key again inserts nothing.
    block_on(db.batch(vec![e.statement.clone()])).unwrap();
    let again = store::enqueue(&scope, &job, at(5)).unwrap();
    block_on(db.batch(vec![again.statement])).unwrap();
    assert_eq!(
        block_on(store::by_key(&db, &scope, "k1")).unwrap(),
        e.job_id
    );
    let all = block_on(admin::list(
        &db,
        &scope,
        &JobFilter::default(),
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(all.items[0].priority, Priority::High);
    assert_eq!(e.dispatch.delay_secs(at(0)), Some(0));
}

#[test]
fn a_claim_is_taken_once_and_a_stale_message_claims_nothing() {
    let db = MemoryDb::migrated().unwrap();
    let d = enqueue(&db, "frm_a", "probe.run", "k", None, None);
    let c = claim(&db, &d, "runner-1", at(10));
    assert_eq!(c.attempt_count, 1);
    assert_eq!(c.idempotency_key, "k");
    // The queue redelivers the same message: nothing.
    assert_eq!(
        block_on(store::claim(&db, &d, "runner-2", at(20))).unwrap(),
        ClaimResult::Stale
    );
    let next = block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &Outcome::Completed(Some(json!({"ok": 1}))),
        at(10),
        at(50),
        0.5,
    ))
    .unwrap();
    assert_eq!(next, Next::Completed);
    let j = job(&db, "frm_a", &d.job_id);
    assert_eq!(j.status, Status::Completed);
    assert_eq!(j.result, Some(json!({"ok": 1})));
    let attempts = block_on(admin::attempts(
        &db,
        &TenantScope::for_tests("frm_a", None),
        &d.job_id,
    ))
    .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome.as_deref(), Some("completed"));
    assert_eq!(attempts[0].duration_ms, Some(40));
    // Another firm sees nothing of it.
    assert!(matches!(
        block_on(admin::get(
            &db,
            &TenantScope::for_tests("frm_b", None),
            &d.job_id
        )),
        Err(DomainError::NotFound(_))
    ));
}

#[test]
fn a_scheduled_job_waits_for_its_time_and_far_ones_for_the_sweep() {
    let db = MemoryDb::migrated().unwrap();
    let soon = enqueue(&db, "frm_a", "probe.run", "soon", Some(at(60_000)), None);
    assert_eq!(soon.delay_secs(at(0)), Some(60));
    let far = enqueue(
        &db,
        "frm_a",
        "probe.run",
        "far",
        Some(at(13 * 3_600_000)),
        None,
    );
    assert_eq!(far.delay_secs(at(0)), None, "beyond the queue's 12 h");
    // The sweep sends neither now (the near one was sent at enqueue).
    assert!(block_on(store::sweep(&db, at(1_000))).unwrap().is_empty());
    // Two hours on, the far one is within reach; the near one, never claimed, is
    // late (its send was lost) and is sent again.
    let sent = block_on(store::sweep(&db, at(2 * 3_600_000))).unwrap();
    let mut ids: Vec<&str> = sent.iter().map(|d| d.job_id.as_str()).collect();
    ids.sort_unstable();
    let mut want = [far.job_id.as_str(), soon.job_id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let far_sent = sent.iter().find(|d| d.job_id == far.job_id).unwrap();
    assert_eq!(far_sent.delay_secs(at(2 * 3_600_000)), Some(11 * 3_600));
    // Once sent they are not sent again until late.
    assert!(block_on(store::sweep(&db, at(2 * 3_600_000 + 60_000)))
        .unwrap()
        .is_empty());
    // A message for another due time claims nothing; the right one does.
    let wrong = Dispatch {
        due_at: soon.due_at + 1,
        ..soon.clone()
    };
    assert_eq!(
        block_on(store::claim(&db, &wrong, "r", at(61_000))).unwrap(),
        ClaimResult::Stale
    );
    claim(&db, &soon, "r", at(61_000));
}

#[test]
fn failures_retry_on_the_policy_then_dead_letter_and_reprocess_with_the_original_key() {
    let db = MemoryDb::migrated().unwrap();
    let scope = TenantScope::for_tests("frm_a", None);
    let mut d = enqueue(&db, "frm_a", "probe.run", "send-42", None, Some(3));
    let mut t = 0;
    for attempt in 1..=3 {
        let c = claim(&db, &d, &format!("r{attempt}"), at(t));
        assert_eq!(c.attempt_count, attempt);
        let next = block_on(store::finish(
            &db,
            &c,
            &DEFAULT_POLICY,
            &failure(ErrorClass::Retryable),
            at(t),
            at(t + 100),
            0.5,
        ))
        .unwrap();
        match next {
            Next::Retry(r) => {
                // 2 s, then 4 s (the jitter sample 0.5 is the midpoint).
                assert_eq!(r.due_at - (NOW + t + 100), 1_000 * (1 << attempt));
                assert_eq!(r.attempt, attempt + 1);
                t = r.due_at - NOW;
                d = r;
            }
            Next::DeadLettered => assert_eq!(attempt, 3),
            other => panic!("{other:?}"),
        }
    }
    let j = job(&db, "frm_a", &d.job_id);
    assert_eq!(
        (j.status, j.attempt_count, j.error_class),
        (Status::Dlq, 3, Some(ErrorClass::Retryable))
    );
    let page = PageRequest::parse(None, None).unwrap();
    let letters = block_on(admin::dead_letters(
        &db,
        &scope,
        &DeadFilter::default(),
        &page,
    ))
    .unwrap();
    assert_eq!(letters.items.len(), 1);
    let entry = &letters.items[0];
    assert_eq!(
        (entry.status, entry.attempt_count),
        (DeadStatus::PendingReview, 3)
    );
    assert_eq!(entry.payload["connection_id"], "con_1");

    // Reprocess: a new job with the original key, which a new enqueue with that key
    // does not collide with.
    let r = block_on(admin::reprocess(
        &db,
        &scope,
        &entry.id,
        "usr_m",
        Some("provider fixed"),
        at(t + 10_000),
    ))
    .unwrap();
    assert_ne!(r.job_id, d.job_id);
    let again = block_on(admin::reprocess(
        &db,
        &scope,
        &entry.id,
        "usr_m",
        None,
        at(t + 10_001),
    ));
    assert!(
        matches!(again, Err(DomainError::Conflict { .. })),
        "{again:?}"
    );
    let c = claim(&db, &r.dispatch, "r4", at(t + 10_000));
    assert_eq!(c.idempotency_key, "send-42");
    assert_eq!(c.reprocess_of.as_deref(), Some(entry.id.as_str()));
    // It fails for good this time: the entry reopens instead of a second one.
    let next = block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &failure(ErrorClass::NonRetryable),
        at(t + 10_000),
        at(t + 10_100),
        0.5,
    ))
    .unwrap();
    assert_eq!(next, Next::DeadLettered);
    let entry = block_on(admin::dead_letter(&db, &scope, &entry.id)).unwrap();
    assert_eq!(
        (entry.status, entry.reprocess_count, entry.attempt_count),
        (DeadStatus::PendingReview, 1, 4)
    );
    assert_eq!(entry.notes.as_deref(), Some("provider fixed"));
    // Reprocessed again, it completes and resolves the entry.
    let r = block_on(admin::reprocess(
        &db,
        &scope,
        &entry.id,
        "usr_m",
        None,
        at(t + 20_000),
    ))
    .unwrap();
    let c = claim(&db, &r.dispatch, "r5", at(t + 20_000));
    block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(t + 20_000),
        at(t + 20_001),
        0.5,
    ))
    .unwrap();
    let entry = block_on(admin::dead_letter(&db, &scope, &entry.id)).unwrap();
    assert_eq!(entry.status, DeadStatus::Resolved);
    assert!(entry.closed_at.is_some());
    assert!(matches!(
        block_on(admin::discard(
            &db,
            &scope,
            &entry.id,
            "usr_m",
            None,
            at(t + 30_000)
        )),
        Err(DomainError::Conflict { .. })
    ));
}

#[test]
fn a_non_retryable_failure_dead_letters_at_once_and_rate_limits_wait_as_asked() {
    let db = MemoryDb::migrated().unwrap();
    let d = enqueue(&db, "frm_a", "probe.run", "nr", None, None);
    let c = claim(&db, &d, "r", at(0));
    let next = block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &failure(ErrorClass::NonRetryable),
        at(0),
        at(1),
        0.5,
    ))
    .unwrap();
    assert_eq!(next, Next::DeadLettered);
    assert_eq!(job(&db, "frm_a", &d.job_id).attempt_count, 1);

    let d = enqueue(&db, "frm_a", "probe.run", "rl", None, None);
    let c = claim(&db, &d, "r", at(0));
    let limited = Outcome::Failed(Failure {
        class: ErrorClass::RateLimited,
        status: Some(429),
        error: "HTTP 429".into(),
        retry_after_secs: Some(90),
        timed_out: false,
    });
    match block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &limited,
        at(0),
        at(1),
        0.5,
    ))
    .unwrap()
    {
        Next::Retry(r) => assert_eq!(r.due_at, NOW + 1 + 90_000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_expired_lease_is_taken_over_and_the_late_runner_changes_nothing() {
    let db = MemoryDb::migrated().unwrap();
    let d = enqueue(&db, "frm_a", "probe.run", "lease", None, Some(2));
    let first = claim(&db, &d, "slow", at(0));
    // Renewal keeps it while the runner lives.
    assert!(block_on(store::renew(&db, &first, at(20_000))).unwrap());
    assert_eq!(block_on(store::reap(&db, at(60_000))).unwrap(), 0);
    // The runner goes silent; its lease runs out and the reaper takes it back.
    assert_eq!(
        block_on(store::reap(&db, at(20_000 + store::LEASE_MS + 1))).unwrap(),
        1
    );
    let sent = block_on(store::sweep(&db, at(20_000 + store::LEASE_MS + 2))).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attempt, 2);
    let second = claim(&db, &sent[0], "fresh", at(90_000));
    assert_eq!(second.attempt_count, 2);
    // The first runner wakes: it can neither renew nor record.
    assert!(!block_on(store::renew(&db, &first, at(91_000))).unwrap());
    let late = block_on(store::finish(
        &db,
        &first,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(0),
        at(92_000),
        0.5,
    ))
    .unwrap();
    assert_eq!(late, Next::LostLease);
    block_on(store::finish(
        &db,
        &second,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(90_000),
        at(93_000),
        0.5,
    ))
    .unwrap();
    let attempts = block_on(admin::attempts(
        &db,
        &TenantScope::for_tests("frm_a", None),
        &d.job_id,
    ))
    .unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_deref()).collect();
    assert_eq!(outcomes, [Some("lost"), Some("completed")]);

    // A lost runner on the last attempt dead-letters the job.
    let d = enqueue(&db, "frm_a", "probe.run", "lease-last", None, Some(1));
    claim(&db, &d, "dies", at(0));
    block_on(store::reap(&db, at(store::LEASE_MS + 1))).unwrap();
    let j = job(&db, "frm_a", &d.job_id);
    assert_eq!(
        (j.status, j.error_class),
        (Status::Dlq, Some(ErrorClass::Transient))
    );
}

#[test]
fn a_firm_runs_at_most_its_share_of_a_category_and_others_are_not_held_up() {
    let db = MemoryDb::migrated().unwrap();
    // Exports: one at a time per firm.
    let a1 = enqueue(&db, "frm_a", "probe.export", "e1", None, None);
    let a2 = enqueue(&db, "frm_a", "probe.export", "e2", None, None);
    let b1 = enqueue(&db, "frm_b", "probe.export", "e1", None, None);
    let first = claim(&db, &a1, "r1", at(1));
    assert_eq!(
        block_on(store::claim(&db, &a2, "r2", at(2))).unwrap(),
        ClaimResult::Waiting
    );
    claim(&db, &b1, "r3", at(3));
    // The slot frees; the waiting job is handed it.
    block_on(store::finish(
        &db,
        &first,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(1),
        at(10),
        0.5,
    ))
    .unwrap();
    let next = block_on(store::next_waiting(&db, "frm_a", Category::Export, at(11)))
        .unwrap()
        .unwrap();
    assert_eq!(next.job_id, a2.job_id);
    claim(&db, &next, "r2", at(12));
    // Sync allows two.
    let s: Vec<Dispatch> = (0..3)
        .map(|i| enqueue(&db, "frm_a", "probe.sync", &format!("s{i}"), None, None))
        .collect();
    claim(&db, &s[0], "x", at(20));
    claim(&db, &s[1], "y", at(20));
    assert_eq!(
        block_on(store::claim(&db, &s[2], "z", at(20))).unwrap(),
        ClaimResult::Waiting
    );
}

#[test]
fn cancel_stops_a_pending_job_and_a_running_one_after_its_attempt() {
    let db = MemoryDb::migrated().unwrap();
    let scope = TenantScope::for_tests("frm_a", None);
    let later = enqueue(
        &db,
        "frm_a",
        "probe.run",
        "later",
        Some(at(3_600_000)),
        None,
    );
    assert_eq!(
        block_on(admin::cancel(&db, &scope, &later.job_id, at(1))).unwrap(),
        Cancelled::Now
    );
    assert!(matches!(
        block_on(admin::cancel(&db, &scope, &later.job_id, at(2))),
        Err(DomainError::Conflict { .. })
    ));
    assert!(
        block_on(store::sweep(&db, at(3_600_000 + store::LATE_MS * 2)))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        block_on(store::claim(&db, &later, "r", at(3_600_000))).unwrap(),
        ClaimResult::Stale
    );

    let running = enqueue(&db, "frm_a", "probe.run", "running", None, None);
    let c = claim(&db, &running, "r", at(0));
    assert_eq!(
        block_on(admin::cancel(&db, &scope, &running.job_id, at(1))).unwrap(),
        Cancelled::AfterAttempt
    );
    // Its attempt fails: no retry, no dead letter, cancelled.
    let next = block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &failure(ErrorClass::Retryable),
        at(0),
        at(5),
        0.5,
    ))
    .unwrap();
    assert_eq!(next, Next::Cancelled);
    let page = PageRequest::parse(None, None).unwrap();
    assert!(block_on(admin::dead_letters(
        &db,
        &scope,
        &DeadFilter::default(),
        &page
    ))
    .unwrap()
    .items
    .is_empty());
    // Another firm cannot cancel it.
    assert!(matches!(
        block_on(admin::cancel(
            &db,
            &TenantScope::for_tests("frm_b", None),
            &later.job_id,
            at(3)
        )),
        Err(DomainError::NotFound(_))
    ));
}

#[test]
fn retry_now_makes_a_waiting_job_due_and_filters_find_jobs() {
    let db = MemoryDb::migrated().unwrap();
    let scope = TenantScope::for_tests("frm_a", None);
    let d = enqueue(&db, "frm_a", "probe.run", "wait", Some(at(600_000)), None);
    let now = block_on(admin::retry_now(&db, &scope, &d.job_id, at(5))).unwrap();
    assert_eq!(now.due_at, NOW + 5);
    // The old message is stale, the new one claims.
    assert_eq!(
        block_on(store::claim(&db, &d, "old", at(600_000))).unwrap(),
        ClaimResult::Stale
    );
    let c = claim(&db, &now, "new", at(6));
    assert!(matches!(
        block_on(admin::retry_now(&db, &scope, &d.job_id, at(7))),
        Err(DomainError::Conflict { .. })
    ));
    block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(6),
        at(8),
        0.5,
    ))
    .unwrap();
    enqueue(&db, "frm_a", "probe.export", "x", None, None);
    let page = PageRequest::parse(None, None).unwrap();
    let get = |q: &'static [(&'static str, &'static str)]| {
        let filter =
            JobFilter::parse(|k| q.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)).unwrap();
        block_on(admin::list(&db, &scope, &filter, &page))
            .unwrap()
            .items
            .len()
    };
    assert_eq!(get(&[("status", "completed")]), 1);
    assert_eq!(get(&[("category", "export")]), 1);
    assert_eq!(get(&[("type", "probe.run"), ("status", "pending")]), 0);
    assert_eq!(get(&[("correlation_id", CID)]), 2);
    assert!(JobFilter::parse(|k| (k == "status").then_some("finished")).is_err());
}

#[test]
fn bulk_reprocess_takes_only_matching_entries_pending_review() {
    let db = MemoryDb::migrated().unwrap();
    let scope = TenantScope::for_tests("frm_a", None);
    for (kind, key) in [
        ("probe.run", "a"),
        ("probe.run", "b"),
        ("probe.export", "c"),
    ] {
        let d = enqueue(&db, "frm_a", kind, key, None, Some(1));
        let c = claim(&db, &d, "r", at(0));
        block_on(store::finish(
            &db,
            &c,
            &DEFAULT_POLICY,
            &failure(ErrorClass::Retryable),
            at(0),
            at(1),
            0.5,
        ))
        .unwrap();
    }
    let filter = DeadFilter::parse(|k| (k == "type").then_some("probe.run")).unwrap();
    let (touched, jobs) = block_on(admin::bulk(
        &db,
        &scope,
        &filter,
        Bulk::Reprocess,
        "usr_m",
        None,
        at(10),
    ))
    .unwrap();
    assert_eq!((touched.len(), jobs.len()), (2, 2));
    let (touched, _) = block_on(admin::bulk(
        &db,
        &scope,
        &DeadFilter::default(),
        Bulk::Discard,
        "usr_m",
        Some("obsolete"),
        at(11),
    ))
    .unwrap();
    assert_eq!(touched.len(), 1, "only the export is still pending review");
    // Another firm's bulk touches nothing of this one.
    let other = TenantScope::for_tests("frm_b", None);
    let (touched, _) = block_on(admin::bulk(
        &db,
        &other,
        &DeadFilter::default(),
        Bulk::Discard,
        "usr_x",
        None,
        at(12),
    ))
    .unwrap();
    assert!(touched.is_empty());
}

#[test]
fn sla_breaches_are_flagged_once_and_counted() {
    let db = MemoryDb::migrated().unwrap();
    let d = enqueue(&db, "frm_a", "probe.run", "slow", None, None);
    // Normal priority: 15 minutes from due to start.
    assert!(block_on(store::sla_breaches(&db, at(14 * 60_000)))
        .unwrap()
        .is_empty());
    let found = block_on(store::sla_breaches(&db, at(16 * 60_000))).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].job_id, d.job_id);
    assert!(block_on(store::sla_breaches(&db, at(17 * 60_000)))
        .unwrap()
        .is_empty());
    let m = block_on(metrics::compute(
        &db,
        &TenantScope::for_tests("frm_a", None),
        Window::Day,
        at(17 * 60_000),
    ))
    .unwrap();
    assert_eq!(m.sla_breaches, 1);
    let maintenance = &m.categories["maintenance"];
    assert_eq!(
        (maintenance.queued, maintenance.oldest_due_ms),
        (1, Some(17 * 60_000))
    );
}

#[test]
fn metrics_give_wait_and_run_percentiles_per_category() {
    let db = MemoryDb::migrated().unwrap();
    for i in 0..4_i64 {
        let d = enqueue(&db, "frm_a", "probe.run", &format!("m{i}"), None, None);
        let c = claim(&db, &d, "r", at(1_000 * (i + 1)));
        block_on(store::finish(
            &db,
            &c,
            &DEFAULT_POLICY,
            &Outcome::Completed(None),
            at(1_000 * (i + 1)),
            at(1_000 * (i + 1) + 100 * (i + 1)),
            0.5,
        ))
        .unwrap();
    }
    let m = block_on(metrics::compute(
        &db,
        &TenantScope::for_tests("frm_a", None),
        Window::Week,
        at(60_000),
    ))
    .unwrap();
    let c = &m.categories["maintenance"];
    assert_eq!(c.completed, 4);
    assert_eq!((c.wait_ms.p50, c.wait_ms.p95), (Some(2_000), Some(4_000)));
    assert_eq!((c.run_ms.p50, c.run_ms.p95), (Some(200), Some(400)));
    assert_eq!(c.success_rate, Some(1.0));
    assert_eq!(m.categories["export"].completed, 0);
    let other = block_on(metrics::compute(
        &db,
        &TenantScope::for_tests("frm_b", None),
        Window::Day,
        at(60_000),
    ))
    .unwrap();
    assert_eq!(other.categories["maintenance"].completed, 0);
}

#[test]
fn retention_purges_old_history_and_keeps_open_dead_letters() {
    let db = MemoryDb::migrated().unwrap();
    let done = enqueue(&db, "frm_a", "probe.run", "done", None, None);
    let c = claim(&db, &done, "r", at(0));
    block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(0),
        at(1),
        0.5,
    ))
    .unwrap();
    let dead = enqueue(&db, "frm_a", "probe.run", "dead", None, Some(1));
    let c = claim(&db, &dead, "r", at(0));
    block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &failure(ErrorClass::Retryable),
        at(0),
        at(1),
        0.5,
    ))
    .unwrap();
    let other = enqueue(&db, "frm_b", "probe.run", "done", None, None);
    let c = claim(&db, &other, "r", at(0));
    block_on(store::finish(
        &db,
        &c,
        &DEFAULT_POLICY,
        &Outcome::Completed(None),
        at(0),
        at(1),
        0.5,
    ))
    .unwrap();

    let day = 86_400_000;
    assert_eq!(
        block_on(store::purge(&db, "frm_a", at(29 * day)))
            .unwrap()
            .jobs,
        0
    );
    let firms = block_on(store::firms_with_history(&db, at(31 * day))).unwrap();
    assert_eq!(firms.len(), 2);
    let purged = block_on(store::purge(&db, "frm_a", at(31 * day))).unwrap();
    assert_eq!(
        (purged.jobs, purged.attempts, purged.dead_letters),
        (1, 2, 0)
    );
    // The dead-lettered job and its entry stay; the other firm's history too.
    assert_eq!(job(&db, "frm_a", &dead.job_id).status, Status::Dlq);
    assert_eq!(job(&db, "frm_b", &other.job_id).status, Status::Completed);
}

#[test]
fn an_undeliverable_message_fails_the_job_it_was_for_only() {
    let db = MemoryDb::migrated().unwrap();
    let d = enqueue(&db, "frm_a", "probe.run", "lost", None, None);
    let stale = Dispatch {
        attempt: 3,
        ..d.clone()
    };
    assert!(!block_on(store::fail_undeliverable(&db, &stale, at(10))).unwrap());
    assert!(block_on(store::fail_undeliverable(&db, &d, at(10))).unwrap());
    let j = job(&db, "frm_a", &d.job_id);
    assert_eq!(j.status, Status::Failed);
    let page = PageRequest::parse(None, None).unwrap();
    let letters = block_on(admin::dead_letters(
        &db,
        &TenantScope::for_tests("frm_a", None),
        &DeadFilter::default(),
        &page,
    ))
    .unwrap();
    assert_eq!(letters.items[0].job_id, d.job_id);
}
