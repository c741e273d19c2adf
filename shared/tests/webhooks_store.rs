//! Outbound webhooks on in-memory SQLite built from the real migrations: fan-out
//! idempotency, claims, the Svix schedule and `Retry-After`, 410, exhaustion and
//! its event, resend and recovery, the sweep, auto-disable after five days of
//! failure, rotation overlap, retention, and another firm's rows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::{json, Value};
use shared::kernel::events::EventEnvelope;
use shared::kernel::paging::PageRequest;
use shared::kernel::secrets::SecretBox;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::kernel::vault::{self, Keyring};
use shared::webhooks::delivery::{self, Attempted, Next, Send};
use shared::webhooks::destination::Policy;
use shared::webhooks::endpoint::{self, Action, Rotation};
use shared::webhooks::message;
use shared::webhooks::signature;
use shared::webhooks::{DeliveryStatus, DisabledReason, EndpointStatus, ErrorClass, Trigger};
use shared::DomainError;

const NOW: i64 = 1_790_000_000_000;
const KEYS: &str = "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn at(ms: i64) -> Instant {
    Instant::from_millis(NOW + ms)
}

fn keys(db: &MemoryDb, firm: &str) -> Keyring {
    block_on(vault::keyring(
        db,
        &SecretBox::from_config(KEYS).unwrap(),
        firm,
        at(0),
    ))
    .unwrap()
}

fn scope(firm: &str) -> TenantScope {
    TenantScope::for_tests(firm, None)
}

fn create(db: &MemoryDb, firm: &str, body: Value) -> (String, signature::Secret) {
    let settings = endpoint::parse_new(&body, Policy::default()).unwrap();
    let (id, secret, stmt) =
        endpoint::insert(&scope(firm), &settings, &keys(db, firm), "usr_1", at(0)).unwrap();
    block_on(db.batch(vec![stmt])).unwrap();
    (id, secret)
}

fn hook(db: &MemoryDb, firm: &str, types: Value) -> String {
    create(
        db,
        firm,
        json!({"name": "ERP", "url": "https://hooks.example.com/in", "event_types": types}),
    )
    .0
}

fn event(firm: &str, id: &str, kind: &str) -> EventEnvelope {
    EventEnvelope {
        id: id.into(),
        kind: kind.into(),
        firm_id: firm.into(),
        occurred_at: at(0).to_rfc3339(),
        schema_version: 1,
        data: json!({"firm_id": firm, "slug": "acme", "owner_user_id": "usr_1"}),
    }
}

/// Fans `event` out and writes it; the queue messages for the deliveries it created.
fn publish(db: &MemoryDb, e: &EventEnvelope, now: Instant) -> Vec<Send> {
    let endpoints = block_on(endpoint::receiving(db, &e.firm_id)).unwrap();
    let Some(fanout) = message::fan_out(e, &endpoints, None, now).unwrap() else {
        return Vec::new();
    };
    let outcomes = block_on(db.batch(fanout.statements.clone())).unwrap();
    let changes: Vec<u64> = outcomes.iter().map(|o| o.changes).collect();
    fanout.sends(&changes)
}

fn claim(db: &MemoryDb, send: &Send, token: &str, now: Instant) -> delivery::Claimed {
    block_on(delivery::claim(db, send, token, now))
        .unwrap()
        .expect("a claim")
}

fn attempt(
    db: &MemoryDb,
    send: &Send,
    now: Instant,
    result: Attempted,
) -> (Next, Vec<EventEnvelope>) {
    let claimed = claim(db, send, &format!("tok_{}", send.attempt), now);
    let endpoint = block_on(endpoint::by_id(db, &claimed.endpoint_id))
        .unwrap()
        .unwrap();
    block_on(delivery::record(db, &claimed, &endpoint, &result, now, 0.5)).unwrap()
}

fn status(n: u16) -> Attempted {
    Attempted::answered(0, 12, n, "answer")
}

fn get(db: &MemoryDb, firm: &str, id: &str) -> delivery::Delivery {
    block_on(delivery::get(db, &scope(firm), id)).unwrap().0
}

#[test]
fn an_event_reaches_each_endpoint_whose_filter_covers_it_once() {
    let db = MemoryDb::migrated().unwrap();
    let all = hook(&db, "frm_a", json!(["*"]));
    let firm_group = hook(&db, "frm_a", json!(["firm.*"]));
    let _jobs_only = hook(&db, "frm_a", json!(["jobs.sla_breached"]));
    let _other_firm = hook(&db, "frm_b", json!(["*"]));
    let e = event("frm_a", "evt_1", "firm.created");
    let sends = publish(&db, &e, at(0));
    assert_eq!(sends.len(), 2);
    // Redelivered: nothing new is written or sent.
    assert!(publish(&db, &e, at(10)).is_empty());
    // An event from before the endpoints existed, reaching the queue late, goes nowhere.
    let mut earlier = event("frm_a", "evt_0", "firm.created");
    earlier.occurred_at = at(-1).to_rfc3339();
    assert!(publish(&db, &earlier, at(20)).is_empty());
    let page = block_on(delivery::list(
        &db,
        &scope("frm_a"),
        &delivery::Filter::default(),
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    let mut endpoints: Vec<_> = page.items.iter().map(|d| d.endpoint_id.clone()).collect();
    endpoints.sort();
    let mut expected = vec![all, firm_group];
    expected.sort();
    assert_eq!(endpoints, expected);
    // One message, one webhook-id for both.
    assert_eq!(page.items[0].message_id, page.items[1].message_id);
    // The other firm sees none of it.
    let theirs = block_on(delivery::list(
        &db,
        &scope("frm_b"),
        &delivery::Filter::default(),
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert!(theirs.items.is_empty());
    assert_eq!(
        block_on(delivery::get(&db, &scope("frm_b"), &page.items[0].id)).unwrap_err(),
        DomainError::NotFound("delivery")
    );
}

#[test]
fn failures_follow_the_schedule_then_exhaust_with_an_event() {
    let db = MemoryDb::migrated().unwrap();
    let id = hook(&db, "frm_a", json!(["firm.created"]));
    let mut send = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    let mut now = at(0);
    let mut gaps = Vec::new();
    loop {
        let (next, events) = attempt(&db, &send, now, status(500));
        match next {
            Next::Retry(s) => {
                assert!(events.is_empty());
                gaps.push((s.due_at - now.millis()) / 1_000);
                now = Instant::from_millis(s.due_at);
                send = s;
            }
            Next::Exhausted => {
                assert_eq!(events.len(), 1);
                assert_eq!(events[0].kind, "webhook.message.exhausted");
                assert_eq!(events[0].data["attempts"], 8);
                assert_eq!(events[0].data["last_status"], 500);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(gaps, [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]);
    let d = get(&db, "frm_a", &send.delivery_id);
    assert_eq!(d.status, DeliveryStatus::Exhausted);
    assert_eq!(d.attempts, 8);
    let (_, attempts, body) =
        block_on(delivery::get(&db, &scope("frm_a"), &send.delivery_id)).unwrap();
    assert_eq!(attempts.len(), 8);
    assert_eq!(body["type"], "firm.created");
    let e = block_on(endpoint::get(&db, &scope("frm_a"), &id)).unwrap();
    assert_eq!(e.failing_since, Some(NOW));
}

#[test]
fn a_redelivered_or_stale_queue_message_sends_nothing() {
    let db = MemoryDb::migrated().unwrap();
    hook(&db, "frm_a", json!(["*"]));
    let send = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    let (next, _) = attempt(&db, &send, at(0), status(204));
    assert_eq!(next, Next::Succeeded);
    assert!(block_on(delivery::claim(&db, &send, "again", at(1)))
        .unwrap()
        .is_none());
    // A message for the right attempt but the wrong due time is stale too.
    let other = Send {
        due_at: NOW + 1,
        ..send
    };
    assert!(block_on(delivery::claim(&db, &other, "x", at(1)))
        .unwrap()
        .is_none());
}

#[test]
fn retry_after_is_honoured_up_to_twelve_hours() {
    let db = MemoryDb::migrated().unwrap();
    hook(&db, "frm_a", json!(["*"]));
    let send = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    let mut busy = status(429);
    busy.retry_after_secs = Some(3_600);
    let (next, _) = attempt(&db, &send, at(0), busy.clone());
    let Next::Retry(second) = next else { panic!() };
    assert_eq!(second.due_at, NOW + 3_600_000);
    busy.retry_after_secs = Some(100_000);
    busy.status = Some(503);
    let (next, _) = attempt(&db, &second, at(3_600_000), busy);
    let Next::Retry(third) = next else { panic!() };
    assert_eq!(third.due_at, NOW + 3_600_000 + 12 * 3_600_000);
    // A receiver asking for less than the schedule is taken at its word (never under 5 s).
    let mut soon = status(503);
    soon.retry_after_secs = Some(60);
    assert_eq!(delivery::next_delay(3, 8, &soon, 0.5), Some(60));
    soon.retry_after_secs = Some(0);
    assert_eq!(delivery::next_delay(3, 8, &soon, 0.5), Some(5));
    // Retry-After on other statuses is not a reason to wait longer.
    let mut odd = status(500);
    odd.retry_after_secs = Some(9_999);
    let (next, _) = attempt(&db, &third, Instant::from_millis(third.due_at), odd);
    let Next::Retry(fourth) = next else { panic!() };
    assert_eq!(fourth.due_at - third.due_at, 1_800_000);
}

#[test]
fn gone_disables_the_endpoint_and_cancels_what_waits() {
    let db = MemoryDb::migrated().unwrap();
    let id = hook(&db, "frm_a", json!(["*"]));
    let first = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    let second = publish(&db, &event("frm_a", "evt_2", "firm.created"), at(0))
        .pop()
        .unwrap();
    let (next, events) = attempt(&db, &first, at(0), status(410));
    assert_eq!(next, Next::Gone);
    assert_eq!(events[0].kind, "webhook.endpoint.disabled");
    assert_eq!(events[0].data["reason"], "gone");
    let e = block_on(endpoint::get(&db, &scope("frm_a"), &id)).unwrap();
    assert_eq!(
        (e.status, e.disabled_reason),
        (EndpointStatus::Disabled, Some(DisabledReason::Gone))
    );
    assert_eq!(
        get(&db, "frm_a", &second.delivery_id).status,
        DeliveryStatus::Cancelled
    );
    // A disabled endpoint gets no new deliveries.
    assert!(publish(&db, &event("frm_a", "evt_3", "firm.created"), at(1)).is_empty());
}

#[test]
fn a_redirect_is_a_failure_and_a_blocked_destination_is_final() {
    let db = MemoryDb::migrated().unwrap();
    hook(&db, "frm_a", json!(["*"]));
    let send = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    let (next, _) = attempt(&db, &send, at(0), status(302));
    let Next::Retry(send) = next else { panic!() };
    assert!(get(&db, "frm_a", &send.delivery_id)
        .last_error
        .unwrap()
        .contains("redirects are not followed"));
    let blocked = Attempted::failed(
        0,
        3,
        ErrorClass::BlockedDestination,
        "resolves to 10.0.0.7 (private)",
    );
    let (next, events) = attempt(&db, &send, Instant::from_millis(send.due_at), blocked);
    assert_eq!(next, Next::Exhausted);
    assert_eq!(events.len(), 1);
}

#[test]
fn resend_and_recover_make_one_attempt_each_and_report_recovery() {
    let db = MemoryDb::migrated().unwrap();
    let id = create(
        &db,
        "frm_a",
        json!({"name": "ERP", "url": "https://hooks.example.com/in", "event_types": ["*"], "max_attempts": 1, "rate_limit_per_sec": 2}),
    )
    .0;
    let mut exhausted = Vec::new();
    for n in 0..5 {
        let send = publish(
            &db,
            &event("frm_a", &format!("evt_{n}"), "firm.created"),
            at(n),
        )
        .pop()
        .unwrap();
        assert_eq!(attempt(&db, &send, at(n), status(500)).0, Next::Exhausted);
        exhausted.push(send.delivery_id);
    }
    // Resend one: a single manual attempt; success reports a recovery.
    let resend = block_on(delivery::resend(
        &db,
        &scope("frm_a"),
        &exhausted[0],
        at(100),
    ))
    .unwrap();
    assert_eq!(resend.attempt, 2);
    let (next, events) = attempt(&db, &resend, at(100), status(200));
    assert_eq!(next, Next::Succeeded);
    assert_eq!(events[0].kind, "webhook.message.recovered");
    let (_, attempts, _) = block_on(delivery::get(&db, &scope("frm_a"), &exhausted[0])).unwrap();
    assert_eq!(attempts[1].trigger, Trigger::Manual);
    // Recover the rest since a time: paced at 2 per second, one attempt each.
    let sends = block_on(delivery::recover(
        &db,
        &scope("frm_a"),
        &id,
        at(1),
        None,
        at(200),
    ))
    .unwrap();
    assert_eq!(sends.len(), 4);
    let dues: Vec<i64> = sends.iter().map(|s| s.due_at - NOW - 200).collect();
    assert_eq!(dues, [0, 0, 1_000, 1_000]);
    let (next, _) = attempt(
        &db,
        &sends[0],
        Instant::from_millis(sends[0].due_at),
        status(500),
    );
    assert_eq!(next, Next::Exhausted, "a replay is one attempt");
    // Until bounds the window; another firm cannot recover it.
    let again = block_on(delivery::recover(
        &db,
        &scope("frm_a"),
        &id,
        at(0),
        Some(at(2)),
        at(300),
    ))
    .unwrap();
    assert_eq!(
        again.len(),
        1,
        "only the delivery made at 1 ms is exhausted again"
    );
    assert_eq!(
        block_on(delivery::recover(
            &db,
            &scope("frm_b"),
            &id,
            at(0),
            None,
            at(300)
        ))
        .unwrap_err(),
        DomainError::NotFound("endpoint")
    );
}

#[test]
fn the_sweep_resends_late_deliveries_and_takes_back_dead_claims() {
    let db = MemoryDb::migrated().unwrap();
    hook(&db, "frm_a", json!(["*"]));
    let send = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    // Not yet late.
    assert!(block_on(delivery::sweep(&db, at(60_000)))
        .unwrap()
        .is_empty());
    let late = block_on(delivery::sweep(&db, at(121_000))).unwrap();
    assert_eq!(late, vec![send.clone()]);
    // A sender that claims and dies: after the lease, the sweep gives it back.
    let _held = claim(&db, &send, "dead", at(121_000));
    assert!(block_on(delivery::sweep(&db, at(130_000)))
        .unwrap()
        .is_empty());
    let back = block_on(delivery::sweep(&db, at(121_000 + delivery::LEASE_MS + 1))).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].attempt, 1);
    let (next, _) = attempt(&db, &back[0], at(300_000), status(200));
    assert_eq!(next, Next::Succeeded);
}

#[test]
fn paused_endpoints_keep_their_deliveries_until_resumed() {
    let db = MemoryDb::migrated().unwrap();
    let id = hook(&db, "frm_a", json!(["*"]));
    block_on(endpoint::act(
        &db,
        &scope("frm_a"),
        &id,
        Action::Pause,
        at(0),
    ))
    .unwrap();
    assert!(publish(&db, &event("frm_a", "evt_1", "firm.created"), at(1)).is_empty());
    assert!(block_on(delivery::sweep(&db, at(600_000)))
        .unwrap()
        .is_empty());
    let (before, e) = block_on(endpoint::act(
        &db,
        &scope("frm_a"),
        &id,
        Action::Resume,
        at(700_000),
    ))
    .unwrap();
    assert_eq!(before, EndpointStatus::Paused);
    assert_eq!(e.status, EndpointStatus::Active);
    let waiting = block_on(delivery::waiting_for(&db, &id, at(700_000))).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        attempt(&db, &waiting[0], at(700_000), status(200)).0,
        Next::Succeeded
    );
    // Disabled cannot be paused.
    block_on(endpoint::act(
        &db,
        &scope("frm_a"),
        &id,
        Action::Disable,
        at(800_000),
    ))
    .unwrap();
    assert!(matches!(
        block_on(endpoint::act(
            &db,
            &scope("frm_a"),
            &id,
            Action::Pause,
            at(800_001)
        )),
        Err(DomainError::Conflict { .. })
    ));
}

#[test]
fn five_days_of_spread_failures_disable_an_endpoint() {
    let db = MemoryDb::migrated().unwrap();
    let id = hook(&db, "frm_a", json!(["*"]));
    let day = 86_400_000;
    let mut send = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    // Failures at 0 and 13 h.
    if let (Next::Retry(s), _) = attempt(&db, &send, at(0), status(500)) {
        send = Send {
            due_at: NOW + 13 * 3_600_000,
            ..s
        };
    }
    db.execute(shared::stmt!(
        "UPDATE webhooks_deliveries SET next_attempt_at = ?1",
        send.due_at
    ))
    .pipe(block_on)
    .unwrap();
    attempt(&db, &send, Instant::from_millis(send.due_at), status(500));
    assert!(block_on(delivery::failing(&db, at(4 * day)))
        .unwrap()
        .is_empty());
    let failing = block_on(delivery::failing(&db, at(5 * day))).unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].id, id);
    let (statements, event) = delivery::disable_failing(&failing[0], at(5 * day)).unwrap();
    block_on(db.batch(statements)).unwrap();
    assert_eq!(event.data["reason"], "failing");
    let e = block_on(endpoint::get(&db, &scope("frm_a"), &id)).unwrap();
    assert_eq!(e.disabled_reason, Some(DisabledReason::Failing));
    assert_eq!(
        get(&db, "frm_a", &send.delivery_id).status,
        DeliveryStatus::Cancelled
    );
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

#[test]
fn a_rotated_secret_signs_beside_the_new_one_for_the_overlap() {
    let db = MemoryDb::migrated().unwrap();
    let (id, first) = create(
        &db,
        "frm_a",
        json!({"name": "ERP", "url": "https://hooks.example.com/in", "event_types": ["*"], "headers": {"X-Tenant": "acme"}}),
    );
    let s = scope("frm_a");
    let (second, row) = block_on(endpoint::rotate(
        &db,
        &s,
        &id,
        Rotation {
            overlap_hours: 24,
            force: false,
        },
        &keys(&db, "frm_a"),
        at(0),
    ))
    .unwrap();
    let live = row.live_secrets(&keys(&db, "frm_a"), at(1)).unwrap();
    assert_eq!(live, vec![second.clone(), first.clone()]);
    assert_eq!(
        row.live_secrets(&keys(&db, "frm_a"), at(24 * 3_600_000))
            .unwrap(),
        vec![second.clone()]
    );
    // Inside the window: a 409 unless forced.
    assert!(matches!(
        block_on(endpoint::rotate(
            &db,
            &s,
            &id,
            Rotation {
                overlap_hours: 24,
                force: false
            },
            &keys(&db, "frm_a"),
            at(1_000)
        )),
        Err(DomainError::Conflict {
            field: Some("force"),
            ..
        })
    ));
    let (third, row) = block_on(endpoint::rotate(
        &db,
        &s,
        &id,
        Rotation {
            overlap_hours: 0,
            force: true,
        },
        &keys(&db, "frm_a"),
        at(2_000),
    ))
    .unwrap();
    assert_eq!(
        row.live_secrets(&keys(&db, "frm_a"), at(2_001)).unwrap(),
        vec![third]
    );
    // Secrets and headers are sealed to the endpoint: no plain text in the row.
    assert!(!row.secret.contains("whsec_"));
    assert_eq!(
        row.custom_headers(&keys(&db, "frm_a")).unwrap(),
        vec![("X-Tenant".to_owned(), "acme".to_owned())]
    );
    assert_eq!(row.view(at(0)).header_names, json!(["X-Tenant"]));
}

#[test]
fn updates_check_the_version_and_another_firm_sees_nothing() {
    let db = MemoryDb::migrated().unwrap();
    let id = hook(&db, "frm_a", json!(["*"]));
    let patch = endpoint::parse_patch(
        &json!({"name": "ERP (prod)", "rate_limit_per_sec": 5}),
        Policy::default(),
    )
    .unwrap();
    let row = block_on(endpoint::update(
        &db,
        &scope("frm_a"),
        &id,
        &patch,
        Some(1),
        &keys(&db, "frm_a"),
        at(1),
    ))
    .unwrap();
    assert_eq!(
        (row.name.as_str(), row.rate_limit_per_sec, row.version),
        ("ERP (prod)", Some(5), 2)
    );
    assert!(matches!(
        block_on(endpoint::update(
            &db,
            &scope("frm_a"),
            &id,
            &patch,
            Some(1),
            &keys(&db, "frm_a"),
            at(2)
        )),
        Err(DomainError::PreconditionFailed(_))
    ));
    assert_eq!(
        block_on(endpoint::update(
            &db,
            &scope("frm_b"),
            &id,
            &patch,
            None,
            &keys(&db, "frm_a"),
            at(2)
        ))
        .unwrap_err(),
        DomainError::NotFound("endpoint")
    );
    assert_eq!(
        block_on(endpoint::delete(&db, &scope("frm_b"), &id, at(2))).unwrap_err(),
        DomainError::NotFound("endpoint")
    );
    block_on(endpoint::delete(&db, &scope("frm_a"), &id, at(3))).unwrap();
    assert_eq!(
        block_on(endpoint::get(&db, &scope("frm_a"), &id)).unwrap_err(),
        DomainError::NotFound("endpoint")
    );
}

#[test]
fn retention_removes_old_finished_messages_only() {
    let db = MemoryDb::migrated().unwrap();
    hook(&db, "frm_a", json!(["*"]));
    let done = publish(&db, &event("frm_a", "evt_1", "firm.created"), at(0))
        .pop()
        .unwrap();
    attempt(&db, &done, at(0), status(200));
    let waiting = publish(&db, &event("frm_a", "evt_2", "firm.created"), at(0))
        .pop()
        .unwrap();
    let month = 31 * 86_400_000;
    assert_eq!(block_on(delivery::purge(&db, at(month))).unwrap(), 1);
    assert!(block_on(delivery::get(&db, &scope("frm_a"), &done.delivery_id)).is_err());
    assert_eq!(
        get(&db, "frm_a", &waiting.delivery_id).status,
        DeliveryStatus::Pending
    );
}

#[test]
fn a_burst_to_a_rate_limited_endpoint_goes_out_in_claim_order() {
    let db = MemoryDb::migrated().unwrap();
    create(
        &db,
        "frm_a",
        json!({"name": "ERP", "url": "https://hooks.example.com/in", "event_types": ["*"], "rate_limit_per_sec": 1}),
    );
    let sends: Vec<Send> = (0..3)
        .map(|n| {
            publish(
                &db,
                &event("frm_a", &format!("evt_{n}"), "firm.created"),
                at(0),
            )
            .pop()
            .unwrap()
        })
        .collect();
    let claimed: Vec<_> = sends
        .iter()
        .enumerate()
        .map(|(i, s)| claim(&db, s, &format!("t{i}"), at(10)))
        .collect();
    let mut ahead: Vec<i64> = claimed
        .iter()
        .map(|c| block_on(delivery::ahead_of(&db, c, at(10))).unwrap())
        .collect();
    ahead.sort_unstable();
    assert_eq!(ahead, [0, 1, 2], "exactly one of the burst may go now");
    // Once one attempt is made, the others wait for the second to pass.
    let first = claimed
        .iter()
        .find(|c| block_on(delivery::ahead_of(&db, c, at(10))).unwrap() == 0)
        .unwrap();
    let endpoint = block_on(endpoint::by_id(&db, &first.endpoint_id))
        .unwrap()
        .unwrap();
    block_on(delivery::record(
        &db,
        first,
        &endpoint,
        &Attempted::answered(NOW + 10, 5, 200, ""),
        at(15),
        0.5,
    ))
    .unwrap();
    for c in claimed.iter().filter(|c| c.id != first.id) {
        block_on(delivery::release(&db, c, at(1_010), at(20))).unwrap();
    }
    let later = block_on(delivery::claim(
        &db,
        &Send {
            due_at: NOW + 1_010,
            ..sends[1].clone()
        },
        "x",
        at(1_011),
    ))
    .unwrap()
    .or_else(|| {
        block_on(delivery::claim(
            &db,
            &Send {
                due_at: NOW + 1_010,
                ..sends[0].clone()
            },
            "x",
            at(1_011),
        ))
        .unwrap()
    })
    .unwrap();
    assert_eq!(
        block_on(delivery::ahead_of(&db, &later, at(1_011))).unwrap(),
        0
    );
    assert_eq!(
        block_on(delivery::ahead_of(&db, &later, at(500))).unwrap(),
        1
    );
}
