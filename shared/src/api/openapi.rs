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
        "startJob" => (Some("StartJob"), Some("Job")),
        "getJob" | "cancelJob" | "retryJob" => (None, Some("Job")),
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

/// One `webhooks` entry per catalogued event type: the Standard Webhooks payload
/// (`type`, `timestamp`, `data`) a firm's endpoint receives, with the type's schema
/// as `data`, and the signature headers.
fn webhooks() -> Value {
    let catalogue: Value =
        serde_json::from_str(crate::catalogue::EVENT_TYPES_JSON).unwrap_or_default();
    let mut hooks = Map::new();
    let field = |item: &Value, key: &str| item.get(key).cloned().unwrap_or(Value::Null);
    let items = catalogue.get("items").and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        let Some(kind) = item.get("type").and_then(Value::as_str) else {
            continue;
        };
        let mut data = field(item, "schema");
        if let Value::Object(schema) = &mut data {
            schema.remove("$schema");
        }
        let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
        hooks.insert(
            kind.to_owned(),
            json!({"post": {
                "operationId": format!("webhook.{kind}"),
                "summary": field(item, "description"),
                "description": format!("Version {} of `{kind}`. Verify the signature as Standard Webhooks 1.0 describes before trusting the body.", field(item, "version")),
                "parameters": [
                    header("webhook-id", "The message id (`msg_…`); the same on every retry, so deduplicate on it."),
                    header("webhook-timestamp", "Unix seconds of this attempt; refuse one far from your clock."),
                    header("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per live secret.")
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["type", "timestamp", "data"],
                    "properties": {
                        "type": {"const": kind},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "data": data
                    }
                }, "example": {"type": kind, "timestamp": "2026-11-26T09:30:00Z", "data": field(item, "example")}}}},
                "responses": {"2XX": {"description": "Taken; any other answer is retried on the schedule."}}
            }}),
        );
    }
    hooks.into()
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
        "webhooks": webhooks(),
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
        // Every catalogued event type is a webhook.
        let hooks = doc["webhooks"].as_object().unwrap();
        assert!(hooks.contains_key("firm.created"));
        assert_eq!(
            hooks["firm.created"]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["properties"]["data"]["required"],
            json!(["firm_id", "slug", "owner_user_id"])
        );
        // Every schema referenced exists.
        let text = doc.to_string();
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(text.contains(&format!("#/components/schemas/{name}")) || name == "Problem");
        }
    }
}
