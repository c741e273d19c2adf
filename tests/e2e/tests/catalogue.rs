//! The event catalogue: served publicly, published as the OpenAPI document's
//! webhooks, and true of the events the system really emits.

use std::time::Duration;

use firmament_e2e::{call, eventually, TestFirm};
use serde_json::Value;

fn catalogue() -> Value {
    let reply = call("GET", "/v1/events/types").send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

#[test]
fn the_catalogue_is_public_and_is_the_openapi_documents_webhooks() {
    let items = catalogue()["items"].as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty());
    let doc = call("GET", "/v1/openapi.json").send().json();
    let hooks = doc["webhooks"].as_object().cloned().unwrap_or_default();
    assert_eq!(hooks.len(), items.len());
    for item in &items {
        let kind = item["type"].as_str().unwrap();
        let body = &hooks[kind]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(
            body["schema"]["properties"]["data"]["properties"], item["schema"]["properties"],
            "{kind}"
        );
        assert_eq!(body["example"]["data"], item["example"], "{kind}");
    }
}

#[test]
fn an_emitted_event_matches_its_catalogued_schema() {
    let firm = TestFirm::provision();
    let entry = catalogue()["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["type"] == "firm.created").cloned())
        .expect("firm.created is catalogued");
    let events = call("GET", "/v1/firm/events")
        .token(&firm.token)
        .send()
        .json();
    let event_id = events["items"][0]["id"].as_str().unwrap().to_owned();
    let event = eventually(Duration::from_secs(10), || {
        let reply = call("GET", &format!("/v1/events/{event_id}"))
            .token(&firm.token)
            .send();
        (reply.status == 200).then(|| reply.json()["event"].clone())
    })
    .expect("the event is readable");
    assert_eq!(event["type"], "firm.created");
    assert_eq!(event["schema_version"], entry["version"]);
    let data = event["data"].as_object().unwrap();
    let properties = entry["schema"]["properties"].as_object().unwrap();
    let mut sent: Vec<_> = data.keys().collect();
    let mut declared: Vec<_> = properties.keys().collect();
    sent.sort();
    declared.sort();
    assert_eq!(sent, declared, "the data sent is the data declared");
    for (key, value) in data {
        assert_eq!(properties[key]["type"], "string", "{key}");
        assert!(value.is_string(), "{key}");
    }
    assert_eq!(data["firm_id"], firm.id());
}
