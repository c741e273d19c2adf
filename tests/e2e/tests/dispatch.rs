//! Event fan-out: every subscribed module gets each event, a failing module is
//! retried alone on its schedule (played forward with the cron's test clock), a
//! module that refuses an event dead-letters it, and a firm admin replays it.
//! The probe module (tests/sims/probe) is subscribed to every type in these runs.

use std::time::{Duration, Instant};

use firmament_e2e::{
    call, eventually, fire_cron_ahead, probe_deliveries, probe_fails, unique, TestFirm,
};
use serde_json::Value;

fn created_event_id(firm: &TestFirm) -> String {
    let events = call("GET", "/v1/firm/events")
        .token(&firm.token)
        .send()
        .json();
    events["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn delivery(firm: &TestFirm, event_id: &str, subscriber: &str) -> Value {
    let reply = call("GET", &format!("/v1/events/{event_id}"))
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["deliveries"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["subscriber"] == subscriber).cloned())
        .unwrap_or(Value::Null)
}

fn answers(firm: &TestFirm) -> Vec<i64> {
    probe_deliveries(firm.id())
        .iter()
        .filter_map(|d| d["answered"].as_i64())
        .collect()
}

#[test]
fn a_module_that_fails_twice_gets_the_event_once_in_effect_and_the_others_once() {
    let slug = unique("fanout");
    probe_fails(&slug, 2, 503);
    let firm = TestFirm::provision_as(&slug);
    let event_id = created_event_id(&firm);

    // The firm module took it at once; the probe failed and waits for its retry.
    let firm_delivery = eventually(Duration::from_secs(20), || {
        let d = delivery(&firm, &event_id, "firm");
        (d["status"] == "delivered").then_some(d)
    })
    .expect("the firm module never got firm.created");
    assert_eq!(firm_delivery["attempts"], 1);

    // Play the clock forward until the probe's schedule brings the third attempt.
    let start = Instant::now();
    while !answers(&firm).contains(&204) && start.elapsed() < Duration::from_secs(40) {
        fire_cron_ahead(3_600);
        std::thread::sleep(Duration::from_millis(700));
    }
    assert_eq!(answers(&firm), [503, 503, 204], "the probe's hand-overs");
    let probe = eventually(Duration::from_secs(10), || {
        let d = delivery(&firm, &event_id, "probe");
        (d["status"] == "delivered").then_some(d)
    })
    .expect("the probe's delivery is recorded");
    assert_eq!(probe["attempts"], 3);
    assert!(probe["last_error"].is_null());

    // The retries were the probe's alone: the firm module saw the event once.
    assert_eq!(delivery(&firm, &event_id, "firm")["attempts"], 1);
    let log = call("GET", "/v1/firm/events")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(log["items"][0]["deliveries"], 1, "{log}");
}

#[test]
fn a_redelivered_event_reaches_no_module_twice() {
    let firm = TestFirm::provision();
    let event_id = created_event_id(&firm);
    eventually(Duration::from_secs(20), || {
        (delivery(&firm, &event_id, "probe")["status"] == "delivered").then_some(())
    })
    .expect("first hand-over");

    let reply = call("POST", &format!("/v1/firm/events/{event_id}/redeliver"))
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 202, "{}", reply.text);
    firmament_e2e::fire_cron();
    // The queue brought it to the dispatcher again, which handed it to nobody.
    eventually(Duration::from_secs(20), || {
        (delivery(&firm, &event_id, "probe")["seen"] == 2
            && delivery(&firm, &event_id, "firm")["seen"] == 2)
            .then_some(())
    })
    .expect("the dispatcher saw the duplicate");
    assert_eq!(answers(&firm), [204]);
    assert_eq!(delivery(&firm, &event_id, "firm")["attempts"], 1);
    let log = call("GET", "/v1/firm/events")
        .token(&firm.token)
        .send()
        .json();
    let logged = &log["items"][0];
    assert_eq!(
        (
            logged["publications"].as_i64(),
            logged["deliveries"].as_i64()
        ),
        (Some(2), Some(1))
    );
}

#[test]
fn a_refused_event_is_dead_lettered_and_a_firm_admin_replays_it() {
    let slug = unique("refused");
    probe_fails(&slug, 1, 422);
    let firm = TestFirm::provision_as(&slug);
    let event_id = created_event_id(&firm);

    // 422 means the module can never take it: dead at once, no retry.
    let dead = eventually(Duration::from_secs(20), || {
        let page = call("GET", "/v1/events/dead-letters?subscriber=probe")
            .token(&firm.token)
            .send()
            .json();
        (page["items"].as_array().map(Vec::len) == Some(1)).then_some(page)
    })
    .expect("the refusal is dead-lettered");
    let item = &dead["items"][0];
    assert_eq!(item["event_id"], event_id.as_str());
    assert_eq!(item["type"], "firm.created");
    assert_eq!(item["attempts"], 1);
    assert!(
        item["last_error"].as_str().unwrap().contains("422"),
        "{item}"
    );
    assert!(dead["next_cursor"].is_null());
    let by_type = call("GET", "/v1/events/dead-letters?type=client.created")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(by_type["items"].as_array().map(Vec::len), Some(0));

    let replayed = call("POST", &format!("/v1/events/{event_id}/replay"))
        .token(&firm.token)
        .send();
    assert_eq!(replayed.status, 202, "{}", replayed.text);
    assert_eq!(replayed.json()["replayed"], 1);
    let probe = eventually(Duration::from_secs(20), || {
        let d = delivery(&firm, &event_id, "probe");
        (d["status"] == "delivered").then_some(d)
    })
    .expect("the replay reached the probe");
    assert_eq!(
        (probe["replays"].as_i64(), probe["attempts"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(answers(&firm), [422, 204]);

    // Nothing is dead any more: a second replay has nothing to do.
    call("POST", &format!("/v1/events/{event_id}/replay"))
        .token(&firm.token)
        .send()
        .problem(409);
    let bulk = call("POST", "/v1/events/dead-letters/replay")
        .token(&firm.token)
        .json(&serde_json::json!({"subscriber": "probe"}))
        .send();
    assert_eq!(bulk.status, 202, "{}", bulk.text);
    assert_eq!(bulk.json()["replayed"], 0);

    // The replay is on the audit log.
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "events.replayed"),
        "{audit}"
    );
}

#[test]
fn bulk_replay_takes_every_dead_letter_matching_its_filter() {
    let slug = unique("bulk");
    probe_fails(&slug, 1, 400);
    let firm = TestFirm::provision_as(&slug);
    let event_id = created_event_id(&firm);
    eventually(Duration::from_secs(20), || {
        (delivery(&firm, &event_id, "probe")["status"] == "dead").then_some(())
    })
    .expect("dead-lettered");
    let none = call("POST", "/v1/events/dead-letters/replay")
        .token(&firm.token)
        .json(&serde_json::json!({"type": "client.created"}))
        .send();
    assert_eq!(none.json()["replayed"], 0, "{}", none.text);
    let bulk = call("POST", "/v1/events/dead-letters/replay")
        .token(&firm.token)
        .json(&serde_json::json!({"type": "firm.created", "subscriber": "probe"}))
        .send();
    assert_eq!(bulk.status, 202, "{}", bulk.text);
    assert_eq!(bulk.json()["items"][0]["event_id"], event_id.as_str());
    eventually(Duration::from_secs(20), || {
        (delivery(&firm, &event_id, "probe")["status"] == "delivered").then_some(())
    })
    .expect("replayed");
}

#[test]
fn dead_letters_need_a_firm_admin_of_the_same_firm_and_well_formed_input() {
    let slug = unique("guarded");
    probe_fails(&slug, 1, 422);
    let firm = TestFirm::provision_as(&slug);
    let other = TestFirm::provision();
    let event_id = created_event_id(&firm);
    eventually(Duration::from_secs(20), || {
        (delivery(&firm, &event_id, "probe")["status"] == "dead").then_some(())
    })
    .expect("dead-lettered");

    // No token, or a forged one.
    call("GET", "/v1/events/dead-letters").send().problem(401);
    call("POST", &format!("/v1/events/{event_id}/replay"))
        .token("not.a.token")
        .send()
        .problem(401);
    // Roles below firm admin.
    for role in ["partner", "manager", "staff", "billing", "readonly"] {
        let token = firm.token_as(role);
        call("GET", "/v1/events/dead-letters")
            .token(&token)
            .send()
            .problem(403);
        call("POST", &format!("/v1/events/{event_id}/replay"))
            .token(&token)
            .send()
            .problem(403);
        call("GET", &format!("/v1/events/{event_id}"))
            .token(&token)
            .send()
            .problem(403);
    }
    // Another firm sees nothing of it and cannot replay it.
    call("GET", &format!("/v1/events/{event_id}"))
        .token(&other.token)
        .send()
        .problem(404);
    call("POST", &format!("/v1/events/{event_id}/replay"))
        .token(&other.token)
        .send()
        .problem(404);
    let theirs = call("GET", "/v1/events/dead-letters")
        .token(&other.token)
        .send()
        .json();
    assert_eq!(
        theirs["items"].as_array().map(Vec::len),
        Some(0),
        "{theirs}"
    );
    let bulk = call("POST", "/v1/events/dead-letters/replay")
        .token(&other.token)
        .json(&serde_json::json!({}))
        .send();
    assert_eq!(bulk.json()["replayed"], 0);
    assert_eq!(delivery(&firm, &event_id, "probe")["status"], "dead");

    // Bad input names the field.
    let bad = call("GET", "/v1/events/not-an-id")
        .token(&firm.token)
        .send();
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["event_id"]);
    let bad = call("GET", "/v1/events/dead-letters?subscriber=Probe!")
        .token(&firm.token)
        .send();
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["subscriber"]);
    let bad = call("GET", "/v1/events/dead-letters?type=nodot")
        .token(&firm.token)
        .send();
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["type"]);
    let bad = call("POST", "/v1/events/dead-letters/replay")
        .token(&firm.token)
        .json(&serde_json::json!({"subscriber": 7, "colour": "red"}))
        .send();
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["colour", "subscriber"]);
    call("GET", "/v1/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .token(&firm.token)
        .send()
        .problem(404);
}
