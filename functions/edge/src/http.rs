//! HTTP in and out: JSON bodies with a size limit, JSON responses, RFC 9457
//! problem+json for every error (the one place `DomainError` becomes a status), CORS.

use serde::Serialize;
use serde_json::json;
use shared::kernel::error::FieldError;
use shared::DomainError;
use worker::{Headers, Request, Response};

/// Media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP status and a problem kind that have no domain meaning (routing failures).
pub struct RouteProblem {
    /// Status code.
    pub status: u16,
    /// Problem slug.
    pub kind: &'static str,
    /// Title.
    pub title: &'static str,
    /// Detail.
    pub detail: String,
}

fn status_of(err: &DomainError) -> u16 {
    match err {
        DomainError::Validation(_) => 422,
        DomainError::BadRequest(_) => 400,
        DomainError::PayloadTooLarge { .. } => 413,
        DomainError::Unauthenticated(_) => 401,
        DomainError::Forbidden(_) | DomainError::StepUpRequired => 403,
        DomainError::NotFound(_) => 404,
        DomainError::Conflict { .. } => 409,
        DomainError::PreconditionFailed(_) => 412,
        DomainError::Gone(_) => 410,
        DomainError::RateLimited { .. } => 429,
        DomainError::Unavailable(_) => 503,
        DomainError::UnsupportedMediaType(_) => 415,
    }
}

fn title_of(err: &DomainError) -> &'static str {
    match err {
        DomainError::Validation(_) => "The request has invalid fields",
        DomainError::BadRequest(_) => "The request could not be read",
        DomainError::PayloadTooLarge { .. } => "The request body is too large",
        DomainError::Unauthenticated(_) => "Authentication is required",
        DomainError::Forbidden(_) => "Not allowed",
        DomainError::StepUpRequired => "A recent second factor is required",
        DomainError::NotFound(_) => "Not found",
        DomainError::Conflict { .. } => "Conflict with the current state",
        DomainError::PreconditionFailed(_) => "The resource has changed",
        DomainError::Gone(_) => "The link no longer works",
        DomainError::RateLimited { .. } => "Too many requests",
        DomainError::Unavailable(_) => "Temporarily unavailable",
        DomainError::UnsupportedMediaType(_) => "The content is not of a type this accepts",
    }
}

fn problem_type(kind: &str) -> String {
    format!("urn:firmament:problem:{kind}")
}

fn detail_of(err: &DomainError) -> String {
    match err {
        // A dependency failure is logged in full; the caller learns only that it happened.
        DomainError::Unavailable(_) => {
            "a service this request needs is unavailable; try again shortly".to_owned()
        }
        other => other.detail(),
    }
}

fn base_headers(content_type: &str, request_id: &str) -> Headers {
    let headers = Headers::new();
    let _ = headers.set("content-type", content_type);
    let _ = headers.set("x-request-id", request_id);
    let _ = headers.set("cache-control", "no-store");
    headers
}

fn body_response(status: u16, content_type: &str, body: String, request_id: &str) -> Response {
    let headers = base_headers(content_type, request_id);
    Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes())
}

/// A JSON response.
pub fn json(status: u16, value: &impl Serialize, request_id: &str) -> Response {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    body_response(status, "application/json", body, request_id)
}

/// A response with a body of any media type (XML metadata and the like).
pub fn document(status: u16, content_type: &str, body: String, request_id: &str) -> Response {
    body_response(status, content_type, body, request_id)
}

/// A response whose JSON body is already text (idempotent replays).
pub fn raw_json(status: u16, body: String, request_id: &str) -> Response {
    body_response(status, "application/json", body, request_id)
}

/// The problem+json response for a domain error.
pub fn problem(err: &DomainError, request_id: &str) -> Response {
    let status = status_of(err);
    if status >= 500 {
        crate::log::event(
            "error",
            request_id,
            "request failed",
            json!({"error": err.to_string()}),
        );
    }
    let errors = match err {
        DomainError::Validation(errs) => serde_json::to_value::<&Vec<FieldError>>(errs).ok(),
        DomainError::Conflict {
            field: Some(field),
            detail,
        } => Some(json!([{"field": field, "rule": "conflict", "message": detail}])),
        _ => None,
    };
    let mut body = json!({
        "type": problem_type(err.kind()),
        "title": title_of(err),
        "status": status,
        "detail": detail_of(err),
        "request_id": request_id,
    });
    if let (Some(errors), Some(obj)) = (errors, body.as_object_mut()) {
        obj.insert("errors".to_owned(), errors);
    }
    let response = body_response(status, PROBLEM_JSON, body.to_string(), request_id);
    match err {
        DomainError::Unauthenticated(_) => {
            let _ = response.headers().set("www-authenticate", "Bearer");
        }
        DomainError::RateLimited { retry_after_secs } => {
            let _ = response
                .headers()
                .set("retry-after", &retry_after_secs.to_string());
        }
        _ => {}
    }
    response
}

/// A problem response for a routing failure.
pub fn route_problem(p: &RouteProblem, request_id: &str) -> Response {
    let body = json!({
        "type": problem_type(p.kind),
        "title": p.title,
        "status": p.status,
        "detail": p.detail,
        "request_id": request_id,
    });
    body_response(p.status, PROBLEM_JSON, body.to_string(), request_id)
}

/// Reads the request body (at most `limit` bytes).
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, DomainError> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(DomainError::PayloadTooLarge { limit });
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|_| DomainError::BadRequest("the request body could not be read".to_owned()))?;
    if bytes.len() > limit {
        return Err(DomainError::PayloadTooLarge { limit });
    }
    Ok(bytes)
}

/// The declared `Content-Length` of a streamed body, which must be there and at
/// most `limit` (a file's bytes are checked against it as they pass).
pub fn require_length(req: &Request, limit: u64) -> Result<u64, DomainError> {
    let declared = header(req, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            DomainError::invalid(
                "content-length",
                "required",
                "send the body with its Content-Length (no chunked uploads)",
            )
        })?;
    if declared > limit {
        return Err(DomainError::PayloadTooLarge {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        });
    }
    Ok(declared)
}

/// The JSON body of an action whose body is optional (its fields have defaults):
/// an empty body is the empty object; anything else must be JSON, and the action's
/// parser then wants an object (a literal `null` is refused like any non-object).
pub async fn optional_json_body(
    req: &mut Request,
    limit: usize,
) -> Result<serde_json::Value, DomainError> {
    let bytes = read_body(req, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    parse_json(req, &bytes)
}

/// Parses a JSON body already read, checking the content type.
pub fn parse_json(req: &Request, bytes: &[u8]) -> Result<serde_json::Value, DomainError> {
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let is_json = content_type
        .split(';')
        .next()
        .map(|t| {
            t.trim().eq_ignore_ascii_case("application/json")
                || t.trim().to_ascii_lowercase().ends_with("+json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(DomainError::BadRequest(
            "Content-Type must be application/json".to_owned(),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DomainError::BadRequest(
            "a JSON body is required".to_owned(),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| DomainError::BadRequest(format!("the body is not valid JSON ({e})")))
}

/// Reads and parses a JSON body: [`read_body`] then [`parse_json`].
pub async fn read_json(
    req: &mut Request,
    limit: usize,
) -> Result<(Vec<u8>, serde_json::Value), DomainError> {
    let bytes = read_body(req, limit).await?;
    let value = parse_json(req, &bytes)?;
    Ok((bytes, value))
}

/// A header's value, if present.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The request's method exactly as sent. `worker::Method` reads any method it does
/// not know (`QUERY`, `PROPFIND`) as GET, which would serve it as one.
pub fn method(req: &Request) -> String {
    req.inner().method().to_ascii_uppercase()
}

/// Sets a header on a response, ignoring the (impossible for valid names) error.
pub fn with_header(response: Response, name: &str, value: &str) -> Response {
    let _ = response.headers().set(name, value);
    response
}

/// A query-string parameter, percent-decoded (the first one when repeated).
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    Query::of(req).get(name).map(str::to_owned)
}

/// A request's query string, percent-decoded, for parsers that read several
/// parameters by name (`Filter::parse(|name| query.get(name))`).
pub struct Query(Vec<(String, String)>);

impl Query {
    /// The query of `req`.
    pub fn of(req: &Request) -> Self {
        let url = req.inner().url();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        Self(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response with no body (204 and the like).
pub fn empty(status: u16, request_id: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("x-request-id", request_id);
    let _ = headers.set("cache-control", "no-store");
    Response::builder()
        .with_status(status)
        .with_headers(headers)
        .empty()
}

/// A whole list in one page: `{"items": [...], "next_cursor": null}`.
pub fn unpaged<T: Serialize>(items: &[T], request_id: &str) -> Response {
    json(
        200,
        &serde_json::json!({"items": items, "next_cursor": null}),
        request_id,
    )
}

/// A path parameter matched by the route table (empty when absent; ids are then
/// refused by their parser).
pub fn path_param<'a>(params: &'a [(&'static str, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The record id in path parameter `name`, checked against the prefix
/// `shared::api::PATH_IDS` gives it (a 422 problem naming the parameter otherwise).
pub fn path_id(params: &[(&'static str, String)], name: &str) -> Result<String, DomainError> {
    let prefix = shared::api::id_prefix(name).ok_or_else(|| {
        DomainError::Unavailable(format!("path parameter {name} has no id prefix"))
    })?;
    shared::kernel::id::parse(name, prefix, path_param(params, name))
}

/// Adds `Set-Cookie` headers.
pub fn with_cookies(response: Response, cookies: &[String]) -> Response {
    for cookie in cookies {
        let _ = response.headers().append("set-cookie", cookie);
    }
    response
}

/// The `limit` and `cursor` query parameters of a list request, checked.
pub fn page_request(req: &Request) -> Result<shared::kernel::paging::PageRequest, DomainError> {
    shared::kernel::paging::PageRequest::parse(
        query_param(req, "limit").as_deref(),
        query_param(req, "cursor").as_deref(),
    )
}

/// An answer's `Retry-After` in whole seconds (the HTTP-date form is not read).
pub fn retry_after_secs(answer: &Response) -> Option<i64> {
    answer
        .headers()
        .get("retry-after")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<i64>().ok())
}
