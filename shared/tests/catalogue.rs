//! The event catalogue is generated from the Rust types; the committed file must be
//! exactly what they generate. `UPDATE_CATALOGUE=1 cargo test -p firmament-shared
//! --test catalogue` rewrites it after an event type changes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use shared::catalogue::{self, generate, DomainEvent};
use shared::firm::provision::FirmCreated;

#[test]
fn the_committed_catalogue_is_what_the_types_generate() {
    let generated = serde_json::to_string_pretty(&generate::catalogue()).unwrap() + "\n";
    if std::env::var_os("UPDATE_CATALOGUE").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/catalogue/event_types.json"
        );
        std::fs::write(path, &generated).unwrap();
        return;
    }
    assert!(
        generated == catalogue::EVENT_TYPES_JSON,
        "src/catalogue/event_types.json is stale: run UPDATE_CATALOGUE=1 cargo test -p firmament-shared --test catalogue"
    );
}

#[test]
fn every_entry_has_a_schema_an_example_and_a_well_formed_name() {
    let doc: serde_json::Value = serde_json::from_str(catalogue::EVENT_TYPES_JSON).unwrap();
    let items = doc["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        let name = item["type"].as_str().unwrap();
        assert!(shared::kernel::events::is_type_name(name), "{name}");
        assert!(catalogue::is_published(name));
        assert_eq!(item["group"], name.split('.').next().unwrap());
        assert!(item["version"].as_u64().unwrap() >= 1);
        assert!(!item["description"].as_str().unwrap().is_empty());
        // Every property the example carries is declared, and every required one is there.
        let properties = item["schema"]["properties"].as_object().unwrap();
        let example = item["example"].as_object().unwrap();
        for key in example.keys() {
            assert!(properties.contains_key(key), "{name}: {key} undeclared");
        }
        for key in item["schema"]["required"].as_array().unwrap() {
            assert!(
                example.contains_key(key.as_str().unwrap()),
                "{name}: {key} missing"
            );
        }
    }
    assert!(!catalogue::is_published("firm.nothing"));
}

#[test]
fn an_envelope_carries_its_types_name_and_version() {
    let scope = shared::kernel::tenant::TenantScope::for_tests("frm_a", None);
    let event = FirmCreated::example()
        .envelope(
            &scope,
            shared::kernel::time::Instant::from_millis(1_790_000_000_000),
        )
        .unwrap();
    assert_eq!(event.kind, FirmCreated::TYPE);
    assert_eq!(event.schema_version, FirmCreated::VERSION);
    let back: FirmCreated = serde_json::from_value(event.data).unwrap();
    assert_eq!(back, FirmCreated::example());
}
