//! Background work: the firm.created event reaches its consumer through the queue,
//! a duplicate delivery changes nothing, and the cron sweep republishes what is due.

use std::time::Duration;

use firmament_e2e::{call, eventually, fire_cron, TestFirm};

fn provisioning(firm: &TestFirm) -> serde_json::Value {
    call("GET", "/v1/firm/provisioning")
        .token(&firm.token)
        .send()
        .json()
}

fn only_event(firm: &TestFirm) -> serde_json::Value {
    let events = call("GET", "/v1/firm/events")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );
    events["items"][0].clone()
}

#[test]
fn provisioning_is_finished_by_the_queue_consumer() {
    let firm = TestFirm::provision();
    let done = eventually(Duration::from_secs(20), || {
        let p = provisioning(&firm);
        p["provisioned_at"].is_i64().then_some(p)
    })
    .expect("the firm.created consumer never ran");
    assert_eq!(done["steps"].as_array().unwrap().len(), 1);
    assert_eq!(done["steps"][0]["step"], "provisioned");
    let event = only_event(&firm);
    assert_eq!(event["type"], "firm.created");
    assert!(event["published_at"].is_i64());
}

#[test]
fn an_event_delivered_twice_is_acted_on_once() {
    let firm = TestFirm::provision();
    eventually(Duration::from_secs(20), || {
        (only_event(&firm)["deliveries"] == 1).then_some(())
    })
    .expect("first delivery");
    let first = provisioning(&firm);
    let event_id = only_event(&firm)["id"].as_str().unwrap().to_owned();

    let reply = call("POST", &format!("/v1/firm/events/{event_id}/redeliver"))
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert!(
        only_event(&firm)["published_at"].is_null(),
        "waiting for the sweep"
    );

    // The cron sweep republishes it; the consumer sees it a second time.
    fire_cron();
    let event = eventually(Duration::from_secs(20), || {
        let e = only_event(&firm);
        (e["deliveries"] == 2).then_some(e)
    })
    .expect("the redelivered event never reached the consumer");
    assert_eq!(event["consumers"], 1);
    assert_eq!(event["publications"], 2);
    assert!(event["published_at"].is_i64());
    assert_eq!(provisioning(&firm), first, "the duplicate changed nothing");
}

#[test]
fn redelivery_needs_a_well_formed_event_id_of_the_firm() {
    let firm = TestFirm::provision();
    call("POST", "/v1/firm/events/not-an-id/redeliver")
        .token(&firm.token)
        .send()
        .problem(422);
    call(
        "POST",
        "/v1/firm/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV/redeliver",
    )
    .token(&firm.token)
    .send()
    .problem(404);
}

#[test]
fn event_log_pages_with_a_cursor() {
    let firm = TestFirm::provision();
    let page = call("GET", "/v1/firm/events?limit=1")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null());
    call("GET", "/v1/firm/events?limit=0")
        .token(&firm.token)
        .send()
        .problem(422);
    call("GET", "/v1/firm/events?cursor=%%%")
        .token(&firm.token)
        .send()
        .problem(422);
}
