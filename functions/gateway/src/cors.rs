//! CORS: origins come from `CORS_ALLOWED_ORIGINS` (comma-separated, or `*`).

use edge::http::with_header;
use worker::{Headers, Response};

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str =
    "authorization, content-type, idempotency-key, if-match, x-request-id, x-csrf-token, x-session-mode";
const EXPOSE_HEADERS: &str = "etag, location, retry-after, x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset";

fn allowed(allowed_origins: &str, origin: Option<&str>) -> Option<String> {
    let origin = origin?;
    allowed_origins
        .split(',')
        .map(str::trim)
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
        .then(|| origin.to_owned())
}

/// The answer to an `OPTIONS` preflight.
pub fn preflight(allowed_origins: &str, origin: Option<&str>, request_id: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("x-request-id", request_id);
    let _ = headers.set("vary", "Origin");
    if let Some(origin) = allowed(allowed_origins, origin) {
        let _ = headers.set("access-control-allow-origin", &origin);
        let _ = headers.set("access-control-allow-methods", ALLOW_METHODS);
        let _ = headers.set("access-control-allow-headers", ALLOW_HEADERS);
        let _ = headers.set("access-control-allow-credentials", "true");
        let _ = headers.set("access-control-max-age", "600");
    }
    Response::builder()
        .with_status(204)
        .with_headers(headers)
        .empty()
}

/// Adds CORS headers to a response when the origin is allowed.
pub fn decorate(response: Response, allowed_origins: &str, origin: Option<&str>) -> Response {
    let response = with_header(response, "vary", "Origin");
    match allowed(allowed_origins, origin) {
        Some(origin) => {
            let response = with_header(response, "access-control-allow-origin", &origin);
            let response = with_header(response, "access-control-allow-credentials", "true");
            with_header(response, "access-control-expose-headers", EXPOSE_HEADERS)
        }
        None => response,
    }
}
