//! Background work: the firm.created event reaches its consumer through the queue
//! and the dispatcher (duplicates and retries: dispatch.rs).

use std::time::Duration;

use firmament_e2e::{call, eventually, TestFirm};

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
