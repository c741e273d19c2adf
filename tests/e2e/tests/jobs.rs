//! Background jobs on the real runtime: the jobs queue, the runner's claim and
//! lease, retries on the policy, the dead-letter list and reprocessing with the
//! original key, scheduled jobs through the cron, SLA breaches as events, daily
//! retention, and the API's refusals. Jobs of the probe types are handed to the
//! probe module (tests/sims/probe), whose answers a test scripts.
//!
//! Tests that play the clock forward (the cron's test time) reap, send and run
//! every firm's jobs, so they hold `CLOCK` alone; the others share it.

use std::sync::RwLock;
use std::time::Duration;

use firmament_e2e::{
    call, eventually, fire_cron_ahead, fire_cron_at, probe_deliveries, probe_job_plan, probe_jobs,
    unique, unix_now, Reply, TestFirm,
};
use serde_json::{json, Value};

static CLOCK: RwLock<()> = RwLock::new(());

const CID: &str = "7d1f4a9c-3b2e-4f6a-8c5d-0e9b1a2c3d4e";

fn start(firm: &TestFirm, body: Value) -> Reply {
    call("POST", "/v1/jobs")
        .token(&firm.token)
        .json(&body)
        .send()
}

fn started(firm: &TestFirm, body: Value) -> Value {
    let reply = start(firm, body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn job(firm: &TestFirm, id: &str) -> Value {
    let reply = call("GET", &format!("/v1/jobs/{id}"))
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn until_status(firm: &TestFirm, id: &str, status: &str, secs: u64) -> Value {
    eventually(Duration::from_secs(secs), || {
        let j = job(firm, id);
        (j["status"] == status).then_some(j)
    })
    .unwrap_or_else(|| panic!("job {id} never became {status}: {}", job(firm, id)))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_job_started_by_hand_runs_once_is_listed_and_counted() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let key = unique("once");
    let body = json!({"type": "probe.run", "priority": "high",
                      "payload": {"idempotency_key": key, "correlation_id": CID, "report_id": "rep_1"}});
    let first = started(&firm, body.clone());
    let job_id = id(&first);
    assert!(job_id.starts_with("job_"), "{first}");
    assert_eq!(first["payload"]["tenant_id"], firm.id());
    assert_eq!(first["manual"], true);
    assert_eq!(
        first["max_attempts"], 1,
        "a run a person starts is not retried unasked"
    );

    let done = until_status(&firm, &job_id, "completed", 20);
    assert_eq!(done["result"]["ran"], job_id.as_str());
    let attempts = done["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "completed");
    // The module got it once, with the job's key and a traceparent carrying the
    // correlation id as its trace.
    let handed = probe_jobs(firm.id());
    assert_eq!(handed.len(), 1, "{handed:?}");
    assert_eq!(handed[0]["idempotency_key"], key.as_str());
    let trace = CID.replace('-', "");
    assert!(handed[0]["traceparent"]
        .as_str()
        .unwrap()
        .starts_with(&format!("00-{trace}-")));

    // The same key again answers with the same job; nothing new runs.
    let again = start(&firm, body);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(id(&again.json()), job_id);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(probe_jobs(firm.id()).len(), 1);

    let listed = call(
        "GET",
        "/v1/jobs?type=probe.run&status=completed&priority=high",
    )
    .token(&firm.token)
    .send()
    .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let none = call("GET", "/v1/jobs?status=dlq")
        .token(&firm.token)
        .send()
        .json();
    assert!(none["items"].as_array().unwrap().is_empty());
    let metrics = call("GET", "/v1/jobs/metrics?window=7d")
        .token(&firm.token)
        .send();
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    let m = metrics.json();
    assert_eq!(m["categories"]["maintenance"]["completed"], 1, "{m}");
    assert!(m["categories"]["maintenance"]["run_ms"]["p50"]
        .as_i64()
        .is_some());
    assert_eq!(m["categories"]["export"]["completed"], 0);
    let types = call("GET", "/v1/jobs/types")
        .token(&firm.token)
        .send()
        .json();
    assert!(types["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["type"] == "jobs.purge_history"));
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "jobs.started"),
        "{audit}"
    );
}

#[test]
fn the_payload_contract_and_the_request_are_checked_before_anything_is_written() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"type": "probe.run", "payload": {"secret": "s3cr3t"}}),
            "payload.secret",
            "banned",
        ),
        (
            json!({"type": "probe.run", "payload": {"deep": [{"Password": "x"}]}}),
            "payload.deep[0].Password",
            "banned",
        ),
        (
            json!({"type": "probe.run", "payload": {"blob": "x".repeat(11_000)}}),
            "payload",
            "too_large",
        ),
        (
            json!({"type": "probe.run", "payload": {"tenant_id": other.id()}}),
            "payload.tenant_id",
            "tenant",
        ),
        (
            json!({"type": "probe.run", "payload": {"correlation_id": "nope"}}),
            "payload.correlation_id",
            "format",
        ),
        (
            json!({"type": "probe.sync", "payload": {}}),
            "payload.connection_id",
            "required",
        ),
        (json!({"type": "calendar.pull"}), "type", "enum"),
        (json!({"payload": {}}), "type", "required"),
        (
            json!({"type": "probe.run", "payload": [1]}),
            "payload",
            "type",
        ),
        (
            json!({"type": "probe.run", "max_attempts": 0}),
            "max_attempts",
            "range",
        ),
        (
            json!({"type": "probe.run", "priority": "urgent"}),
            "priority",
            "enum",
        ),
        (
            json!({"type": "probe.run", "run_at": "tomorrow"}),
            "run_at",
            "format",
        ),
        (
            json!({"type": "probe.run", "colour": "red"}),
            "colour",
            "unknown",
        ),
        (
            json!({"type": "jobs.purge_history", "payload": {"as_of": (unix_now() + 3_600) * 1_000}}),
            "payload.as_of",
            "range",
        ),
    ];
    for (body, field, rule) in cases {
        let reply = start(&firm, body.clone());
        let problem = reply.problem(422);
        let fields = reply.error_fields();
        assert!(
            fields.iter().any(|f| f == field),
            "{body}: {fields:?} {problem}"
        );
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["rule"] == rule),
            "{body}: {problem}"
        );
    }
    let listed = call("GET", "/v1/jobs").token(&firm.token).send().json();
    assert!(
        listed["items"].as_array().unwrap().is_empty(),
        "nothing was written: {listed}"
    );
    // Not JSON at all.
    call("POST", "/v1/jobs")
        .token(&firm.token)
        .raw("application/json", b"{".to_vec())
        .send()
        .problem(400);
}

#[test]
fn failures_retry_with_backoff_then_dead_letter_and_reprocess_with_the_original_key() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let key = unique("flaky");
    probe_job_plan(
        &key,
        json!([{"status": 503}, {"status": 503}, {"status": 503}]),
    );
    let first = started(
        &firm,
        json!({"type": "probe.run", "max_attempts": 3, "payload": {"idempotency_key": key}}),
    );
    let job_id = id(&first);
    let dead = until_status(&firm, &job_id, "dlq", 40);
    let attempts = dead["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{dead}");
    assert!(attempts.iter().all(|a| a["outcome"] == "failed"
        && a["status_code"] == 503
        && a["error_class"] == "retryable"));
    assert_eq!(dead["error_class"], "retryable");
    // Backoff: about 2 s, then 4 s between the hand-overs (±20 %).
    let handed = probe_jobs(firm.id());
    let starts: Vec<i64> = handed
        .iter()
        .map(|h| h["started"].as_i64().unwrap())
        .collect();
    assert_eq!(starts.len(), 3);
    assert!(starts[1] - starts[0] >= 1_500, "{starts:?}");
    assert!(starts[2] - starts[1] >= 3_000, "{starts:?}");

    let letters = call("GET", "/v1/jobs/dead-letters?type=probe.run")
        .token(&firm.token)
        .send()
        .json();
    let entry = letters["items"][0].clone();
    assert_eq!(entry["job_id"], job_id.as_str(), "{letters}");
    assert_eq!(entry["status"], "pending_review");
    let entry_id = id(&entry);
    let full = call("GET", &format!("/v1/jobs/dead-letters/{entry_id}"))
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(full["payload"]["idempotency_key"], key.as_str());

    // Reprocess: a new job, the original key; the module now succeeds.
    let r = call(
        "POST",
        &format!("/v1/jobs/dead-letters/{entry_id}/reprocess"),
    )
    .token(&firm.token)
    .json(&json!({"notes": "provider is back"}))
    .send();
    assert_eq!(r.status, 202, "{}", r.text);
    let reprocessed = r.json();
    assert_eq!(reprocessed["status"], "reprocessing");
    let new_job = reprocessed["reprocess_job_id"].as_str().unwrap().to_owned();
    assert_ne!(new_job, job_id);
    let done = until_status(&firm, &new_job, "completed", 20);
    assert_eq!(done["idempotency_key"], key.as_str());
    assert_eq!(done["reprocess_of"], entry_id.as_str());
    let handed = probe_jobs(firm.id());
    assert_eq!(handed.last().unwrap()["idempotency_key"], key.as_str());
    assert_eq!(handed.last().unwrap()["job_id"], new_job.as_str());
    let resolved = eventually(Duration::from_secs(5), || {
        let e = call("GET", &format!("/v1/jobs/dead-letters/{entry_id}"))
            .token(&firm.token)
            .send()
            .json();
        (e["status"] == "resolved").then_some(e)
    });
    assert!(
        resolved.is_some(),
        "the entry resolves when its job completes"
    );
    call(
        "POST",
        &format!("/v1/jobs/dead-letters/{entry_id}/reprocess"),
    )
    .token(&firm.token)
    .send()
    .problem(409);
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "jobs.dead_letter.reprocessed"));
}

#[test]
fn a_refusal_dead_letters_at_once_a_rate_limit_waits_as_asked_and_bulk_actions_take_the_rest() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let refused = unique("refused");
    probe_job_plan(&refused, json!([{"status": 422}]));
    let j = started(
        &firm,
        json!({"type": "probe.run", "max_attempts": 5, "payload": {"idempotency_key": refused}}),
    );
    let dead = until_status(&firm, &id(&j), "dlq", 20);
    assert_eq!(dead["attempt_count"], 1, "a 4xx is not retried");
    assert_eq!(dead["error_class"], "non_retryable");

    let limited = unique("limited");
    probe_job_plan(
        &limited,
        json!([{"status": 429, "retry_after": 2}, {"status": 200}]),
    );
    let j = started(
        &firm,
        json!({"type": "probe.run", "max_attempts": 2, "payload": {"idempotency_key": limited}}),
    );
    let done = until_status(&firm, &id(&j), "completed", 20);
    assert_eq!(done["attempts"][0]["error_class"], "rate_limited");
    let handed: Vec<Value> = probe_jobs(firm.id())
        .into_iter()
        .filter(|h| h["idempotency_key"] == limited.as_str())
        .collect();
    let gap = handed[1]["started"].as_i64().unwrap() - handed[0]["finished"].as_i64().unwrap();
    assert!(gap >= 1_800, "Retry-After: 2 was honoured ({gap} ms)");

    // A second refusal, then bulk: discard the export, reprocess the rest.
    let export = unique("export");
    probe_job_plan(&export, json!([{"status": 400}]));
    let e = started(
        &firm,
        json!({"type": "probe.export", "payload": {"idempotency_key": export}}),
    );
    until_status(&firm, &id(&e), "dlq", 20);
    let bad = call("POST", "/v1/jobs/dead-letters/discard")
        .token(&firm.token)
        .json(&json!({"category": "exports"}))
        .send();
    assert!(
        bad.error_fields().contains(&"category".to_owned()),
        "{}",
        bad.text
    );
    let discarded = call("POST", "/v1/jobs/dead-letters/discard")
        .token(&firm.token)
        .json(&json!({"category": "export", "notes": "obsolete"}))
        .send();
    assert_eq!(discarded.status, 200, "{}", discarded.text);
    assert_eq!(discarded.json()["count"], 1);
    let again = call("POST", "/v1/jobs/dead-letters/reprocess")
        .token(&firm.token)
        .json(&json!({}))
        .send();
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(
        again.json()["count"],
        1,
        "only the refused job was still pending review"
    );
    let open = call("GET", "/v1/jobs/dead-letters?status=pending_review")
        .token(&firm.token)
        .send()
        .json();
    assert!(open["items"].as_array().unwrap().is_empty(), "{open}");
}

#[test]
fn an_expired_lease_is_taken_over_and_the_late_runner_changes_nothing() {
    let _alone = CLOCK.write();
    let firm = TestFirm::provision();
    let key = unique("lease");
    probe_job_plan(
        &key,
        json!([{"status": 200, "delay_ms": 6_000}, {"status": 200}]),
    );
    let j = started(
        &firm,
        json!({"type": "probe.run", "max_attempts": 3, "payload": {"idempotency_key": key}}),
    );
    let job_id = id(&j);
    until_status(&firm, &job_id, "processing", 20);
    // The runner is stuck in its 6 s hand-over; three minutes on, its lease is gone.
    fire_cron_ahead(180);
    let done = until_status(&firm, &job_id, "completed", 20);
    assert_eq!(done["attempt_count"], 2, "{done}");
    // The first runner answers late: nothing changes.
    std::thread::sleep(Duration::from_secs(7));
    let after = job(&firm, &job_id);
    let outcomes: Vec<&str> = after["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, ["lost", "completed"], "{after}");
    assert_eq!(after["status"], "completed");
    assert_eq!(probe_jobs(firm.id()).len(), 2);
}

#[test]
fn scheduled_jobs_wait_for_their_time_breach_slas_and_cancel_or_retry_on_request() {
    let _alone = CLOCK.write();
    let firm = TestFirm::provision();
    let now = unix_now();
    let rfc = |secs: i64| shared::kernel::time::Instant::from_millis(secs * 1_000).to_rfc3339();
    // Beyond the queue's 12 h: only the cron brings it, and it was due for 5 min
    // by then, past a critical job's 1 min SLA.
    let far = started(
        &firm,
        json!({"type": "probe.run", "priority": "critical", "run_at": rfc(now + 13 * 3_600)}),
    );
    let far_id = id(&far);
    let later = started(
        &firm,
        json!({"type": "probe.run", "run_at": rfc(now + 30 * 86_400)}),
    );
    let soon = started(
        &firm,
        json!({"type": "probe.run", "run_at": rfc(now + 40 * 86_400)}),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(job(&firm, &far_id)["status"], "pending");
    assert!(probe_jobs(firm.id()).is_empty());

    fire_cron_ahead(13 * 3_600 + 300);
    let done = until_status(&firm, &far_id, "completed", 20);
    assert!(done["sla_breached_at"].as_i64().is_some(), "{done}");
    let breach = eventually(Duration::from_secs(20), || {
        probe_deliveries(firm.id())
            .into_iter()
            .find(|d| d["type"] == "jobs.sla_breached")
    });
    assert!(
        breach.is_some(),
        "the breach is a domain event the modules receive"
    );
    let m = call("GET", "/v1/jobs/metrics")
        .token(&firm.token)
        .send()
        .json();
    assert!(m["sla_breaches"].as_i64().unwrap() >= 1, "{m}");

    // Cancel: at once for a pending job, then a 409.
    let c = call("POST", &format!("/v1/jobs/{}/cancel", id(&later)))
        .token(&firm.token)
        .send();
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.json()["status"], "cancelled");
    call("POST", &format!("/v1/jobs/{}/cancel", id(&later)))
        .token(&firm.token)
        .send()
        .problem(409);
    call("POST", &format!("/v1/jobs/{}/retry", id(&later)))
        .token(&firm.token)
        .send()
        .problem(409);
    // Retry now: a job scheduled in 40 days runs at once.
    let r = call("POST", &format!("/v1/jobs/{}/retry", id(&soon)))
        .token(&firm.token)
        .send();
    assert_eq!(r.status, 202, "{}", r.text);
    until_status(&firm, &id(&soon), "completed", 20);
    call("POST", &format!("/v1/jobs/{far_id}/cancel"))
        .token(&firm.token)
        .send()
        .problem(409);

    // Daily retention, 31 days on at midnight: the firm's finished jobs go, and the
    // purge itself is a job of the firm.
    let midnight = (now / 86_400 + 32) * 86_400;
    fire_cron_at(midnight * 1_000);
    let purge = eventually(Duration::from_secs(30), || {
        let listed = call("GET", "/v1/jobs?type=jobs.purge_history&status=completed")
            .token(&firm.token)
            .send()
            .json();
        listed["items"].as_array().and_then(|i| i.first().cloned())
    })
    .expect("the daily purge job ran for the firm");
    assert!(purge["result"]["jobs"].as_i64().unwrap() >= 2, "{purge}");
    call("GET", &format!("/v1/jobs/{far_id}"))
        .token(&firm.token)
        .send()
        .problem(404);
}

#[test]
fn roles_firms_and_ids_are_refused_on_every_jobs_route() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let key = unique("mine");
    probe_job_plan(&key, json!([{"status": 422}]));
    let run_at = shared::kernel::time::Instant::from_millis((unix_now() + 200 * 86_400) * 1_000)
        .to_rfc3339();
    let mine = started(
        &firm,
        json!({"type": "probe.run", "run_at": run_at, "payload": {"idempotency_key": unique("later")}}),
    );
    let failing = started(
        &firm,
        json!({"type": "probe.run", "payload": {"idempotency_key": key}}),
    );
    until_status(&firm, &id(&failing), "dlq", 20);
    let letters = call("GET", "/v1/jobs/dead-letters")
        .token(&firm.token)
        .send()
        .json();
    let entry = id(&letters["items"][0]);
    let job_id = id(&mine);

    // Another firm: every one of this firm's records is a 404; its lists are empty.
    for (method, path) in [
        ("GET", format!("/v1/jobs/{job_id}")),
        ("POST", format!("/v1/jobs/{job_id}/cancel")),
        ("POST", format!("/v1/jobs/{job_id}/retry")),
        ("GET", format!("/v1/jobs/dead-letters/{entry}")),
        ("POST", format!("/v1/jobs/dead-letters/{entry}/reprocess")),
        ("POST", format!("/v1/jobs/dead-letters/{entry}/discard")),
    ] {
        let method: &'static str = if method == "GET" { "GET" } else { "POST" };
        call(method, &path).token(&other.token).send().problem(404);
    }
    let theirs = call("GET", "/v1/jobs").token(&other.token).send().json();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let bulk = call("POST", "/v1/jobs/dead-letters/discard")
        .token(&other.token)
        .send()
        .json();
    assert_eq!(bulk["count"], 0);

    // Roles: managers and up run operations; the others may not even look.
    for (role, allowed) in [
        ("partner", true),
        ("manager", true),
        ("staff", false),
        ("billing", false),
        ("readonly", false),
    ] {
        let token = firm.token_as(role);
        let read = call("GET", "/v1/jobs").token(&token).send();
        let write = call("POST", &format!("/v1/jobs/{job_id}/retry"))
            .token(&token)
            .send();
        if allowed {
            assert_eq!(read.status, 200, "{role}: {}", read.text);
            assert_ne!(write.status, 403, "{role}: {}", write.text);
        } else {
            read.problem(403);
            write.problem(403);
            call("POST", "/v1/jobs")
                .token(&token)
                .json(&json!({"type": "probe.run"}))
                .send()
                .problem(403);
        }
    }
    let portal = firm.token_with(|c| {
        c["role"] = json!("portal_admin");
        c["client"] = json!("cli_01JD0000000000000000000000");
    });
    call("GET", "/v1/jobs/metrics")
        .token(&portal)
        .send()
        .problem(403);
    // Missing and malformed.
    call("GET", "/v1/jobs").send().problem(401);
    call("GET", "/v1/jobs/not-a-job")
        .token(&firm.token)
        .send()
        .problem(422);
    call(
        "GET",
        "/v1/jobs/dead-letters/job_01JD0000000000000000000000",
    )
    .token(&firm.token)
    .send()
    .problem(422);
    call("GET", "/v1/jobs/metrics?window=1y")
        .token(&firm.token)
        .send()
        .problem(422);
    call("GET", "/v1/jobs?status=finished")
        .token(&firm.token)
        .send()
        .problem(422);
    call("POST", &format!("/v1/jobs/dead-letters/{entry}/discard"))
        .token(&firm.token)
        .json(&json!({"note": "typo"}))
        .send()
        .problem(422);
    // Clean up the far job so later clock plays do not run it.
    call("POST", &format!("/v1/jobs/{job_id}/cancel"))
        .token(&firm.token)
        .send();
}
