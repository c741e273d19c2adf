//! The OpenAPI 3.1 document, generated from the route table.

use serde_json::{json, Map, Value};

use super::{Auth, Route, ROUTES};

/// Component schemas, kept as a JSON file: parsed on demand, it costs far less wasm
/// than the same document built by `json!`.
const SCHEMAS: &str = include_str!("schemas.json");

fn schemas() -> Value {
    serde_json::from_str(SCHEMAS).unwrap_or_default()
}

fn bodies(operation: &str) -> (Option<&'static str>, Option<&'static str>) {
    match operation {
        "provisionFirm" => (Some("ProvisionFirm"), Some("Provisioned")),
        "getFirm" => (None, Some("Firm")),
        "updateFirm" => (Some("FirmPatch"), Some("Firm")),
        "signIn" => (Some("SignIn"), Some("Session")),
        "refreshSession" => (Some("Refresh"), Some("Session")),
        "answerMfaChallenge" => (Some("SecondFactor"), Some("Session")),
        "stepUp" => (Some("SecondFactor"), Some("Session")),
        "finishOidc" | "switchFirm" => (None, Some("Session")),
        "createApiKey" => (Some("NewApiKey"), Some("ApiKey")),
        "createInvitation" => (Some("NewInvitation"), None),
        "acceptInvitation" => (Some("AcceptInvitation"), None),
        "resetPassword" => (Some("PasswordReset"), None),
        "changePassword" => (Some("PasswordChange"), None),
        "createClient" => (Some("NewClient"), Some("Client")),
        "getClient" | "getPortalClient" => (None, Some("Client")),
        "updateClient" => (Some("ClientPatch"), Some("Client")),
        "inviteClientPortalUser" | "invitePortalUser" => {
            (Some("NewPortalInvitation"), Some("PortalInvitation"))
        }
        "updateClientPortalUser" | "updatePortalUser" => {
            (Some("PortalUserPatch"), Some("PortalUser"))
        }
        "acceptPortalInvitation" => (Some("AcceptInvitation"), None),
        _ => (None, None),
    }
}

fn operation(r: &Route) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), r.operation.into());
    op.insert("summary".into(), r.summary.into());
    let mut parameters: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if r.idempotent {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255}}));
    }
    if r.method == "PATCH" {
        parameters.push(json!({"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}}));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), parameters.into());
    }
    if r.auth == Auth::Public {
        op.insert("security".into(), json!([]));
    }
    let (request, response) = bodies(r.operation);
    if let Some(schema) = request {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}),
        );
    }
    let success = match response {
        Some(schema) => {
            json!({"description": "Success", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
        }
        None => json!({"description": "Success"}),
    };
    let problem = json!({"description": "Problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    let mut responses = Map::new();
    responses.insert(r.success.to_string(), success);
    responses.insert("default".into(), problem);
    op.insert("responses".into(), responses.into());
    op.into()
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(r.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(r.method.to_ascii_lowercase(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Firmament API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Operations platform for professional-services firms."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let count: usize = paths.values().map(|m| m.as_object().unwrap().len()).sum();
        assert_eq!(count, ROUTES.len());
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
            assert_eq!(op["operationId"], r.operation);
        }
        // Every schema referenced exists.
        let text = doc.to_string();
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(text.contains(&format!("#/components/schemas/{name}")) || name == "Problem");
        }
    }
}
