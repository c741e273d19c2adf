//! Every answer an end-to-end test receives from the API is held against the OpenAPI
//! document: a success must carry exactly the body its operation declares (no body
//! where none is declared, a valid one where one is), and every problem must be a
//! valid `Problem`. The tests reach states no generator can (a dead letter, a
//! rotated secret, a delivery with attempts), so the whole suite judges the document
//! as schemathesis judges it from the outside.
//!
//! `FIRMAMENT_CONTRACT_SAMPLES=FILE` appends each success body to FILE as a JSON line
//! (`operation`, `status`, `body`) and reports contradictions there instead of
//! failing: the way to draft the schemas of a new module's answers.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

use crate::Reply;

type Validators = Mutex<HashMap<String, Option<Arc<jsonschema::Validator>>>>;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(shared::api::openapi::document)
}

/// The validator of the schema at `pointer` in the document (`None`: nothing there).
fn validator(pointer: &str) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Validators::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache
        .entry(pointer.to_owned())
        .or_insert_with(|| {
            let schema = document().pointer(pointer)?;
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": document()["components"],
                "allOf": [schema],
            });
            let built = jsonschema::options()
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
            Some(Arc::new(built))
        })
        .clone()
}

/// `~` and `/` escaped for a JSON pointer segment.
fn segment(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// Holds `reply` to `method path` against the document; panics on a contradiction
/// (or records it in sample mode).
pub fn check(method: &str, path: &str, reply: &Reply) {
    if !path.starts_with("/v1/") {
        return;
    }
    let path = path.split('?').next().unwrap_or(path);
    let shared::api::Match::Found(route, _) = shared::api::resolve(method, path) else {
        return;
    };
    let json_body = reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    let problem_body = reply.header("content-type") == Some("application/problem+json");
    let operation = format!(
        "/paths/{}/{}",
        segment(route.path),
        method.to_ascii_lowercase()
    );
    let mut contradictions = Vec::new();
    if (200..300).contains(&reply.status) || reply.status == route.success {
        let declared = format!(
            "{operation}/responses/{}/content/application~1json/schema",
            reply.status
        );
        let body = reply.json();
        sample(route.operation, reply.status, &body);
        match validator(&declared) {
            None if json_body && !reply.text.is_empty() => contradictions.push(format!(
                "answered {} with a JSON body the document does not declare",
                reply.status
            )),
            None => {}
            Some(_) if !json_body => contradictions.push(format!(
                "answered {} without the JSON body the document declares",
                reply.status
            )),
            Some(v) => contradictions.extend(
                v.iter_errors(&body)
                    .map(|e| format!("at {}: {e}", e.instance_path())),
            ),
        }
    } else if problem_body {
        if let Some(v) = validator("/components/schemas/Problem") {
            contradictions.extend(
                v.iter_errors(&reply.json())
                    .map(|e| format!("problem at {}: {e}", e.instance_path())),
            );
        }
    }
    if contradictions.is_empty() {
        return;
    }
    let report = format!(
        "{method} {path} ({}) contradicts /v1/openapi.json:\n  {}\nbody: {}",
        route.operation,
        contradictions.join("\n  "),
        reply.text
    );
    if !record(
        &json!({"operation": route.operation, "status": reply.status, "contradiction": report}),
    ) {
        panic!("{report}");
    }
}

fn sample(operation: &str, status: u16, body: &Value) {
    record(&json!({"operation": operation, "status": status, "body": body}));
}

/// Appends `line` to the samples file; false when sample mode is off.
fn record(line: &Value) -> bool {
    let Ok(path) = std::env::var("FIRMAMENT_CONTRACT_SAMPLES") else {
        return false;
    };
    let mut text = line.to_string();
    text.push('\n');
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    written.is_ok()
}
