//! Outbound webhooks on the real runtime: endpoints, signed deliveries verified by
//! the Standard Webhooks reference library in the receiver simulator, the retry
//! schedule on the cron's test clock, `Retry-After`, redirects, timeouts, 410,
//! rotation overlap, destinations that resolve to private addresses, pause and
//! resume, resend and recovery, health, and the API's refusals.
//!
//! Tests that play the clock forward (the cron's test time) send every firm's late
//! deliveries, so they hold `CLOCK` alone; the others share it.

use std::sync::RwLock;
use std::time::Duration;

use firmament_e2e::{
    call, eventually, fire_cron_ahead, mailbox, receiver_deliveries, receiver_dns, receiver_script,
    receiver_url, sample_path, unique, Reply, TestFirm,
};
use serde_json::{json, Value};

static CLOCK: RwLock<()> = RwLock::new(());

/// A hook of the receiver answering `default`, and the URL that reaches it.
fn hook(default_status: u16) -> (String, String) {
    let name = unique("hook");
    receiver_script(&name, &[], json!([]), json!({"status": default_status}));
    let url = receiver_url(&format!("/hooks/{name}"));
    (name, url)
}

fn create(firm: &TestFirm, body: Value) -> Reply {
    call("POST", "/v1/webhooks/endpoints")
        .token(&firm.token)
        .json(&body)
        .send()
}

/// An endpoint of `firm` for `url` receiving `types`, with `extra` fields; its id
/// and secret.
fn endpoint(firm: &TestFirm, url: &str, types: Value, extra: Value) -> (String, String) {
    let mut body = json!({"name": "Firm ERP", "url": url, "event_types": types});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let reply = create(firm, body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    let v = reply.json();
    (s(&v["id"]), s(&v["secret"]))
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn post(firm: &TestFirm, path: &str, body: Value) -> Reply {
    call("POST", path).token(&firm.token).json(&body).send()
}

fn get(firm: &TestFirm, path: &str) -> Value {
    let reply = call("GET", path).token(&firm.token).send();
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.json()
}

/// Sends a test message to the endpoint; the delivery's id.
fn test_message(firm: &TestFirm, endpoint_id: &str) -> String {
    let reply = post(
        firm,
        &format!("/v1/webhooks/endpoints/{endpoint_id}/test"),
        json!({}),
    );
    assert_eq!(reply.status, 202, "{}", reply.text);
    s(&reply.json()["delivery_id"])
}

fn delivery(firm: &TestFirm, id: &str) -> Value {
    get(firm, &format!("/v1/webhooks/deliveries/{id}"))
}

/// Waits until the delivery has `attempts` attempts and is not sending; returns it.
fn after_attempts(firm: &TestFirm, id: &str, attempts: usize) -> Value {
    eventually(Duration::from_secs(20), || {
        let d = delivery(firm, id);
        let n = d["attempts"].as_array().map_or(0, Vec::len);
        (n >= attempts && d["status"] != "sending").then_some(d)
    })
    .unwrap_or_else(|| {
        panic!(
            "delivery {id} never made {attempts} attempts: {}",
            delivery(firm, id)
        )
    })
}

fn received(name: &str, count: usize) -> Vec<Value> {
    eventually(Duration::from_secs(20), || {
        let got = receiver_deliveries(name);
        (got.len() >= count).then_some(got)
    })
    .unwrap_or_else(|| {
        panic!(
            "hook {name} never got {count} deliveries: {:?}",
            receiver_deliveries(name)
        )
    })
}

#[test]
fn a_test_message_arrives_signed_as_the_reference_library_expects() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let (name, url) = hook(204);
    let (id, secret) = endpoint(
        &firm,
        &url,
        json!(["webhook.test"]),
        json!({"headers": {"X-Tenant": "acme"}, "description": "our ERP"}),
    );
    assert!(secret.starts_with("whsec_"));
    receiver_script(&name, &[&secret], json!([]), json!({"status": 204}));
    let delivery_id = test_message(&firm, &id);
    let got = received(&name, 1);
    let first = &got[0];
    assert_eq!(first["verified_with"], json!([0]), "{first}");
    assert_eq!(first["type"], "webhook.test");
    assert!(s(&first["id"]).starts_with("msg_"));
    assert_eq!(first["headers"]["x-tenant"], "acme");
    assert_eq!(first["headers"]["user-agent"], "Firmament-Webhooks/1.0");
    assert_eq!(first["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(&s(&first["body"])).unwrap_or_default();
    assert_eq!(body["data"]["endpoint_id"], id.as_str());
    assert!(body["timestamp"].is_string());
    // The log shows the attempt; the endpoint is healthy.
    let d = after_attempts(&firm, &delivery_id, 1);
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["attempts"][0]["status_code"], 204);
    assert_eq!(d["payload"], body);
    let health = get(&firm, &format!("/v1/webhooks/endpoints/{id}/health"));
    assert_eq!(health["windows"][0]["window"], "24h");
    assert_eq!(health["windows"][0]["attempts"], 1);
    assert_eq!(health["windows"][0]["success_rate"], 100.0);
    assert_eq!(health["windows"][0]["rating"], "green");
    assert!(health["windows"][1]["latency_ms"]["p95"].is_i64());
    // Resending makes one more attempt with the same webhook-id.
    let reply = post(
        &firm,
        &format!("/v1/webhooks/deliveries/{delivery_id}/resend"),
        json!({}),
    );
    assert_eq!(reply.status, 202, "{}", reply.text);
    let got = received(&name, 2);
    assert_eq!(got[1]["id"], got[0]["id"]);
    assert_eq!(got[1]["verified_with"], json!([0]));
    let d = after_attempts(&firm, &delivery_id, 2);
    assert_eq!(d["attempts"][1]["trigger"], "manual");
}

#[test]
fn the_old_secret_signs_beside_the_new_one_until_revoked() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let (name, url) = hook(204);
    let (id, first) = endpoint(&firm, &url, json!(["*"]), json!({}));
    let reply = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/rotate-secret"),
        json!({}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rotated = reply.json();
    let second = s(&rotated["secret"]);
    assert_ne!(first, second);
    assert!(rotated["previous_secret_expires_at"].is_i64());
    receiver_script(&name, &[&first, &second], json!([]), json!({"status": 200}));
    test_message(&firm, &id);
    assert_eq!(received(&name, 1)[0]["verified_with"], json!([0, 1]));
    // Inside the overlap a second rotation needs force.
    let again = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/rotate-secret"),
        json!({}),
    );
    assert_eq!(
        again.problem(409)["detail"]
            .as_str()
            .map(|d| d.contains("force")),
        Some(true)
    );
    let revoked = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/rotate-secret"),
        json!({"overlap_hours": 0, "force": true}),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let third = s(&revoked.json()["secret"]);
    receiver_script(
        &name,
        &[&first, &second, &third],
        json!([]),
        json!({"status": 200}),
    );
    test_message(&firm, &id);
    let got = received(&name, 2);
    assert_eq!(got[1]["verified_with"], json!([2]), "{got:#?}");
    // The admin reads the current secret; the read is audited.
    let read = get(&firm, &format!("/v1/webhooks/endpoints/{id}/secret"));
    assert_eq!(read["secret"], third.as_str());
    let audit = get(&firm, "/v1/firm/audit?limit=50");
    let actions: Vec<String> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| s(&e["action"]))
        .collect();
    for action in [
        "webhooks.endpoint.created",
        "webhooks.secret.rotated",
        "webhooks.secret.read",
        "webhooks.test.sent",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[test]
fn failures_are_retried_on_the_schedule_and_honour_retry_after() {
    let _alone = CLOCK.write();
    let firm = TestFirm::provision();
    let (name, url) = hook(500);
    let (id, secret) = endpoint(&firm, &url, json!(["*"]), json!({}));
    let down = json!({"status": 500, "body": "database down"});
    receiver_script(
        &name,
        &[&secret],
        json!([down, down, down, down, {"status": 429, "retry_after": 3600}]),
        json!({"status": 204}),
    );
    let delivery_id = test_message(&firm, &id);
    // Attempt n fails; the next is due after the schedule's delay (±10 % from 5 min).
    let schedule = [5_i64, 300, 1_800, 7_200];
    for (n, delay) in schedule.iter().enumerate() {
        let d = after_attempts(&firm, &delivery_id, n + 1);
        assert_eq!(d["status"], "retrying", "{d}");
        let last = &d["attempts"][n];
        assert_eq!(last["status_code"], 500);
        assert_eq!(last["response_excerpt"], "database down");
        assert_eq!(last["error_class"], "http_status");
        let finished =
            last["started_at"].as_i64().unwrap_or(0) + last["duration_ms"].as_i64().unwrap_or(0);
        let gap = d["next_attempt_at"].as_i64().unwrap_or(0) - finished;
        let (low, high) = if *delay >= 300 {
            (delay * 900 - 1_000, delay * 1_100 + 1_000)
        } else {
            (delay * 1_000 - 1_000, delay * 1_000 + 1_000)
        };
        assert!(
            (low..=high).contains(&gap),
            "attempt {} waited {gap} ms, expected about {delay} s",
            n + 1
        );
        // Play the clock past the due time: the minute's sweep sends it.
        let ahead =
            (d["next_attempt_at"].as_i64().unwrap_or(0) / 1_000) - firmament_e2e::unix_now() + 125;
        fire_cron_ahead(ahead.max(125));
    }
    // The fifth attempt meets a 429 asking for an hour.
    let d = after_attempts(&firm, &delivery_id, 5);
    let last = &d["attempts"][4];
    assert_eq!(last["status_code"], 429);
    let finished =
        last["started_at"].as_i64().unwrap_or(0) + last["duration_ms"].as_i64().unwrap_or(0);
    let gap = d["next_attempt_at"].as_i64().unwrap_or(0) - finished;
    assert!(
        (3_600_000 - 1_000..=3_600_000 + 1_000).contains(&gap),
        "Retry-After: waited {gap} ms"
    );
    let ahead =
        (d["next_attempt_at"].as_i64().unwrap_or(0) / 1_000) - firmament_e2e::unix_now() + 125;
    fire_cron_ahead(ahead);
    let d = after_attempts(&firm, &delivery_id, 6);
    assert_eq!(d["status"], "succeeded", "{d}");
    // Every attempt carried the same webhook-id and verified.
    let got = received(&name, 6);
    assert!(got
        .iter()
        .all(|g| g["id"] == got[0]["id"] && g["verified_with"] == json!([0])));
    // The endpoint's streak ended with the success.
    let e = get(&firm, &format!("/v1/webhooks/endpoints/{id}"));
    assert!(e["failing_since"].is_null());
    assert!(e["last_failure_at"].is_i64());
}

#[test]
fn redirects_are_not_followed_and_slow_endpoints_time_out() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let (elsewhere, target) = hook(204);
    let (name, url) = hook(204);
    let (id, _) = endpoint(
        &firm,
        &url,
        json!(["*"]),
        json!({"timeout_secs": 1, "max_attempts": 2}),
    );
    receiver_script(
        &name,
        &[],
        json!([{"status": 302, "location": target}, {"delay_ms": 2500, "status": 200}]),
        json!({"status": 204}),
    );
    let delivery_id = test_message(&firm, &id);
    let d = after_attempts(&firm, &delivery_id, 1);
    assert_eq!(d["attempts"][0]["status_code"], 302);
    assert!(s(&d["attempts"][0]["error"]).contains("redirects are not followed"));
    assert!(
        receiver_deliveries(&elsewhere).is_empty(),
        "the redirect was followed"
    );
    // The second attempt (5 s later) meets a reply slower than the 1 s timeout.
    let d = eventually(Duration::from_secs(30), || {
        let d = delivery(&firm, &delivery_id);
        (d["status"] == "exhausted").then_some(d)
    })
    .unwrap_or_else(|| panic!("never exhausted: {}", delivery(&firm, &delivery_id)));
    assert_eq!(d["attempts"][1]["error_class"], "timeout");
    assert!(d["attempts"][1]["status_code"].is_null());
}

#[test]
fn gone_disables_the_endpoint_tells_the_admins_and_raises_an_event() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    // A second endpoint of the firm listens for operational events.
    let (watcher, watcher_url) = hook(204);
    let (_, watcher_secret) = endpoint(
        &firm,
        &watcher_url,
        json!(["webhook.endpoint.*"]),
        json!({}),
    );
    receiver_script(
        &watcher,
        &[&watcher_secret],
        json!([]),
        json!({"status": 204}),
    );
    let (name, url) = hook(410);
    let (id, _) = endpoint(&firm, &url, json!(["webhook.test"]), json!({}));
    let delivery_id = test_message(&firm, &id);
    let d = after_attempts(&firm, &delivery_id, 1);
    assert_eq!(d["status"], "exhausted");
    assert_eq!(received(&name, 1).len(), 1);
    let e = get(&firm, &format!("/v1/webhooks/endpoints/{id}"));
    assert_eq!(
        (e["status"].as_str(), e["disabled_reason"].as_str()),
        (Some("disabled"), Some("gone"))
    );
    // The event went through the events queue and the dispatcher to the watcher.
    let got = received(&watcher, 1);
    assert_eq!(got[0]["type"], "webhook.endpoint.disabled");
    assert_eq!(got[0]["verified_with"], json!([0]));
    let body: Value = serde_json::from_str(&s(&got[0]["body"])).unwrap_or_default();
    assert_eq!(body["data"]["endpoint_id"], id.as_str());
    assert_eq!(body["data"]["reason"], "gone");
    // The firm's admin was mailed.
    let mail = eventually(Duration::from_secs(10), || {
        let m = mailbox(&firm.owner_email());
        m.iter()
            .find(|m| s(&m["Subject"]).contains("stopped sending webhooks"))
            .cloned()
    });
    assert!(
        mail.is_some(),
        "no notice mailed: {:?}",
        mailbox(&firm.owner_email())
    );
    // A disabled endpoint takes no test; resuming makes it active again.
    let refused = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/test"),
        json!({}),
    );
    refused.problem(409);
    let resumed = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/resume"),
        json!({}),
    );
    assert_eq!(resumed.json()["status"], "active");
}

#[test]
fn paused_endpoints_keep_deliveries_and_recovery_resends_what_failed() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let (name, url) = hook(500);
    let (id, secret) = endpoint(
        &firm,
        &url,
        json!(["webhook.test"]),
        json!({"max_attempts": 1}),
    );
    receiver_script(&name, &[&secret], json!([]), json!({"status": 500}));
    let since = chrono_now();
    let first = test_message(&firm, &id);
    let second = test_message(&firm, &id);
    for d in [&first, &second] {
        assert_eq!(after_attempts(&firm, d, 1)["status"], "exhausted");
    }
    // Recovery resends both, one attempt each, and they now succeed.
    receiver_script(&name, &[&secret], json!([]), json!({"status": 200}));
    let reply = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/recover"),
        json!({"since": since}),
    );
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert_eq!(reply.json()["deliveries"], 2);
    for d in [&first, &second] {
        let done = after_attempts(&firm, d, 2);
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["attempts"][1]["trigger"], "replay");
    }
    let listed = get(
        &firm,
        &format!("/v1/webhooks/deliveries?endpoint_id={id}&status=succeeded"),
    );
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    // Paused: a test is refused, resume brings it back.
    let paused = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/pause"),
        json!({}),
    );
    assert_eq!(paused.json()["status"], "paused");
    post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/test"),
        json!({}),
    )
    .problem(409);
    post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/recover"),
        json!({"since": since}),
    )
    .problem(409);
    let resumed = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/resume"),
        json!({}),
    );
    assert_eq!(resumed.json()["status"], "active");
}

/// Now, less a second, as RFC 3339.
fn chrono_now() -> String {
    shared::kernel::time::Instant::from_millis((firmament_e2e::unix_now() - 1) * 1_000).to_rfc3339()
}

#[test]
fn destinations_on_private_networks_are_refused_by_address_and_by_name() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let refused = |url: &str, rule: &str| {
        let reply = create(
            &firm,
            json!({"name": "x", "url": url, "event_types": ["*"]}),
        );
        let problem = reply.problem(422);
        let errors = problem["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == "url" && e["rule"] == rule),
            "{url}: {problem}"
        );
    };
    refused("https://10.0.0.1/hook", "blocked_destination");
    refused("https://[fd00::1]/hook", "blocked_destination");
    refused(
        "https://169.254.169.254/latest/meta-data",
        "blocked_destination",
    );
    refused("https://api.private.test/hook", "blocked_destination");
    refused("https://metadata.test/hook", "blocked_destination");
    refused("https://v6.private.test/hook", "blocked_destination");
    refused("ftp://example.com/hook", "scheme");
    // A name with no address yet is saved (DNS often follows the endpoint); each
    // attempt resolves it again and fails as `dns` until it resolves.
    let (pending, _) = endpoint(&firm, "https://nowhere.test/hook", json!(["*"]), json!({}));
    let d = after_attempts(&firm, &test_message(&firm, &pending), 1);
    assert_eq!(d["attempts"][0]["error_class"], "dns", "{d}");
    // A name that was public at save and turns private is refused at the attempt.
    let host = format!("{}.example.test", unique("turncoat"));
    receiver_dns(&host, &["93.184.216.34"]);
    let (id, _) = endpoint(
        &firm,
        &format!("https://{host}/hook"),
        json!(["*"]),
        json!({}),
    );
    receiver_dns(&host, &["10.0.0.9"]);
    let delivery_id = test_message(&firm, &id);
    let d = after_attempts(&firm, &delivery_id, 1);
    assert_eq!(
        d["status"], "exhausted",
        "no retry for a blocked destination"
    );
    assert_eq!(d["attempts"][0]["error_class"], "blocked_destination");
    assert!(s(&d["attempts"][0]["error"]).contains("10.0.0.9"));
}

#[test]
fn input_is_checked_field_by_field() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let (_, url) = hook(204);
    let reply = create(
        &firm,
        json!({"url": url, "event_types": ["nope.nothing", "firm.created"], "timeout_secs": 0, "headers": {"webhook-id": "x"}, "extra": 1}),
    );
    let fields = reply.error_fields();
    reply.problem(422);
    for f in [
        "name",
        "event_types[0]",
        "timeout_secs",
        "headers.webhook-id",
        "extra",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let (id, _) = endpoint(&firm, &url, json!(["firm.*"]), json!({}));
    // PATCH with a stale etag is a 412; with the right one it applies.
    let stale = call("PATCH", &format!("/v1/webhooks/endpoints/{id}"))
        .token(&firm.token)
        .header("if-match", "\"7\"")
        .json(&json!({"name": "Renamed"}))
        .send();
    stale.problem(412);
    let ok = call("PATCH", &format!("/v1/webhooks/endpoints/{id}"))
        .token(&firm.token)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "Renamed", "event_types": ["*"], "rate_limit_per_sec": 3}))
        .send();
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["event_types"], json!(["*"]));
    assert_eq!(ok.header("etag"), Some("\"2\""));
    for (body, field) in [
        (json!({"overlap_hours": 500}), "overlap_hours"),
        (json!({"force": "yes"}), "force"),
    ] {
        let reply = post(
            &firm,
            &format!("/v1/webhooks/endpoints/{id}/rotate-secret"),
            body,
        );
        assert!(
            reply.error_fields().contains(&field.to_owned()),
            "{}",
            reply.text
        );
    }
    let bad_test = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/test"),
        json!({"type": "no.such_type"}),
    );
    assert!(bad_test.error_fields().contains(&"type".to_owned()));
    let bad_recover = post(
        &firm,
        &format!("/v1/webhooks/endpoints/{id}/recover"),
        json!({"since": "yesterday"}),
    );
    assert!(bad_recover.error_fields().contains(&"since".to_owned()));
    let bad_filter = call("GET", "/v1/webhooks/deliveries?status=lost")
        .token(&firm.token)
        .send();
    assert!(bad_filter.error_fields().contains(&"status".to_owned()));
    let bad_id = call("GET", "/v1/webhooks/endpoints/abc")
        .token(&firm.token)
        .send();
    assert!(bad_id.error_fields().contains(&"endpoint_id".to_owned()));
    let deleted = call("DELETE", &format!("/v1/webhooks/endpoints/{id}"))
        .token(&firm.token)
        .send();
    assert_eq!(deleted.status, 204);
    call("GET", &format!("/v1/webhooks/endpoints/{id}"))
        .token(&firm.token)
        .send()
        .problem(404);
}

#[test]
fn only_admins_and_settings_managers_reach_webhooks_and_only_their_firms() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let (_, url) = hook(204);
    let (id, _) = endpoint(&firm, &url, json!(["*"]), json!({}));
    let delivery_id = test_message(&firm, &id);
    let routes: Vec<_> = shared::api::ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/v1/webhooks/"))
        .collect();
    assert_eq!(routes.len(), 16);
    let staff = firm.token_as("staff");
    let manager = firm.token_as("manager");
    for r in &routes {
        let path = sample_path(r.path);
        // No token, a bad token.
        call(r.method, &path).json(&json!({})).send().problem(401);
        call(r.method, &path)
            .token("not-a-token")
            .json(&json!({}))
            .send()
            .problem(401);
        // Roles without the right.
        for token in [&staff, &manager] {
            call(r.method, &path)
                .token(token)
                .json(&json!({}))
                .send()
                .problem(403);
        }
        // Another firm's endpoint or delivery is not found.
        let theirs = r
            .path
            .replace("{endpoint_id}", &id)
            .replace("{delivery_id}", &delivery_id);
        if theirs != r.path {
            let reply = call(r.method, &theirs)
                .token(&other.token)
                .json(&json!({"since": "2026-01-01T00:00:00Z"}))
                .send();
            assert_eq!(reply.status, 404, "{} {theirs}: {}", r.method, reply.text);
        }
    }
    // A member with can_manage_settings manages endpoints but cannot read a secret.
    let settings = firm.token_with(|c| {
        c["role"] = json!("staff");
        c["flags"] = json!(["can_manage_settings"]);
    });
    let listed = call("GET", "/v1/webhooks/endpoints")
        .token(&settings)
        .send();
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json()["items"][0]["id"], id.as_str());
    assert!(listed.json()["items"][0].get("secret").is_none());
    call("GET", &format!("/v1/webhooks/endpoints/{id}/secret"))
        .token(&settings)
        .send()
        .problem(403);
    // The other firm's list is empty.
    let theirs = call("GET", "/v1/webhooks/endpoints")
        .token(&other.token)
        .send();
    assert_eq!(theirs.json()["items"], json!([]));
    let their_deliveries = call("GET", "/v1/webhooks/deliveries")
        .token(&other.token)
        .send();
    assert_eq!(their_deliveries.json()["items"], json!([]));
}

#[test]
fn a_rate_limited_endpoint_gets_a_burst_one_per_second_and_loses_none() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let (name, url) = hook(204);
    let (id, _) = endpoint(
        &firm,
        &url,
        json!(["webhook.test"]),
        json!({"rate_limit_per_sec": 1}),
    );
    let deliveries: Vec<String> = (0..3).map(|_| test_message(&firm, &id)).collect();
    let got = received(&name, 3);
    assert_eq!(got.len(), 3, "none dropped, none doubled");
    let mut starts: Vec<i64> = deliveries
        .iter()
        .map(|d| {
            after_attempts(&firm, d, 1)["attempts"][0]["started_at"]
                .as_i64()
                .unwrap_or(0)
        })
        .collect();
    starts.sort_unstable();
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= 900,
            "attempts {starts:?} closer than the limit allows"
        );
    }
}

#[test]
fn the_daily_check_leaves_an_endpoint_whose_failures_did_not_spread() {
    let _alone = CLOCK.write();
    let firm = TestFirm::provision();
    let (_, url) = hook(500);
    let (id, _) = endpoint(
        &firm,
        &url,
        json!(["webhook.test"]),
        json!({"max_attempts": 1}),
    );
    let delivery_id = test_message(&firm, &id);
    assert_eq!(
        after_attempts(&firm, &delivery_id, 1)["status"],
        "exhausted"
    );
    let failing_since =
        get(&firm, &format!("/v1/webhooks/endpoints/{id}"))["failing_since"].as_i64();
    assert!(failing_since.is_some());
    // Six days on, in the day's first minute: one failure is not five days of failing.
    let day = 86_400_000;
    let midnight = (firmament_e2e::unix_now() * 1_000 / day + 6) * day;
    firmament_e2e::fire_cron_at(midnight + 1_000);
    let e = get(&firm, &format!("/v1/webhooks/endpoints/{id}"));
    assert_eq!(e["status"], "active", "{e}");
    let health = get(&firm, &format!("/v1/webhooks/endpoints/{id}/health"));
    assert_eq!(health["windows"][0]["rating"], "red");
    assert_eq!(health["failing_since"].as_i64(), failing_since);
}
