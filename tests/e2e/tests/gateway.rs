//! The gateway's own routes and its handling of requests it cannot route.

use firmament_e2e::{call, sample_path, TestFirm};
use shared::api::ROUTES;

#[test]
fn health_answers_with_a_request_id() {
    let reply = call("GET", "/v1/health").send();
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    for check in ["database", "kv", "files"] {
        assert_eq!(body["checks"][check], "ok", "{check}");
    }
    assert!(reply
        .header("x-request-id")
        .is_some_and(|id| id.starts_with("req_")));
}

#[test]
fn a_callers_plain_request_id_is_kept_and_a_hostile_one_replaced() {
    let kept = call("GET", "/v1/health")
        .header("x-request-id", "trace-123_abc")
        .send();
    assert_eq!(kept.header("x-request-id"), Some("trace-123_abc"));
    let replaced = call("GET", "/v1/health")
        .header("x-request-id", "<script>")
        .send();
    assert_ne!(replaced.header("x-request-id"), Some("<script>"));
}

#[test]
fn unknown_routes_are_problem_404_and_wrong_methods_405() {
    let body = call("GET", "/v1/nowhere").send().problem(404);
    assert!(body["detail"].as_str().unwrap().contains("/v1/nowhere"));
    let reply = call("DELETE", "/v1/firm").send();
    reply.problem(405);
    assert_eq!(reply.header("allow"), Some("GET, PATCH"));
    // A method the runtime does not know is not read as GET.
    for method in ["QUERY", "PROPFIND"] {
        let reply = call(method, "/v1/firm").send();
        reply.problem(405);
        assert_eq!(reply.header("allow"), Some("GET, PATCH"), "{method}");
    }
    call("QUERY", "/v1/health").send().problem(405);
}

#[test]
fn openapi_documents_exactly_the_routes_that_exist() {
    let doc = call("GET", "/v1/openapi.json").send().json();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, ROUTES.len());
    // Every documented operation is served: an anonymous, bodiless call reaches a
    // handler (any answer but a routing 404/405).
    for route in ROUTES {
        let path = sample_path(route.path);
        assert!(!path.contains('{'), "give {path} a sample parameter");
        let reply = call(route.method, &path).send();
        assert_ne!(reply.status, 405, "{} {path}", route.method);
        if reply.status == 404 {
            assert_ne!(
                reply.json()["detail"],
                format!("no route {path}"),
                "{} {path} is documented but not routed",
                route.method
            );
        }
        assert!(doc["paths"][route.path][route.method.to_ascii_lowercase()].is_object());
    }
}

#[test]
fn cors_preflight_allows_configured_origins_only() {
    let ok = call("OPTIONS", "/v1/firm")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "PATCH")
        .send();
    assert_eq!(ok.status, 204);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(ok
        .header("access-control-allow-headers")
        .unwrap()
        .contains("if-match"));
    let other = call("OPTIONS", "/v1/firm")
        .header("origin", "https://evil.example")
        .send();
    assert_eq!(other.header("access-control-allow-origin"), None);
    let firm = TestFirm::provision();
    let get = call("GET", "/v1/firm")
        .token(&firm.token)
        .header("origin", "http://localhost:3000")
        .send();
    assert_eq!(
        get.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(get
        .header("access-control-expose-headers")
        .unwrap()
        .contains("etag"));
}
