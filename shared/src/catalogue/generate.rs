//! Builds the catalogue document from the event types (native only: the `schema`
//! feature brings schemars, which the workers never carry).

use serde_json::{json, Value};

use super::DomainEvent;

fn entry<T: DomainEvent + schemars::JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    let group = T::TYPE.split('.').next().unwrap_or_default();
    json!({
        "type": T::TYPE,
        "group": group,
        "version": T::VERSION,
        "description": T::DESCRIPTION,
        "deprecated": false,
        "schema": schema,
        "example": T::example(),
    })
}

/// The whole catalogue, sorted by type name.
pub fn catalogue() -> Value {
    let mut items: Vec<Value> = Vec::new();
    macro_rules! add {
        ($t:ty) => {
            items.push(entry::<$t>());
        };
    }
    crate::for_each_event_type!(add);
    items.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    json!({ "items": items })
}
