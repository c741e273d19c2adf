//! The console's only way to the server: the public `/v1` API, same origin, with
//! the browser session's cookies (the access token is HttpOnly: the page never
//! holds it) and the CSRF token echoed on every unsafe request.

use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

/// A refused request, as problem+json says it: the status, a sentence, and the
/// fields it names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problem {
    /// HTTP status (0 when the server could not be reached).
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// (field, message) pairs from `errors`.
    pub fields: Vec<(String, String)>,
    /// The problem type's slug (`step-up-required` …), empty when unknown.
    pub kind: String,
}

impl Problem {
    fn offline() -> Self {
        Self {
            status: 0,
            detail: crate::messages::t("error.offline").to_owned(),
            fields: Vec::new(),
            kind: String::new(),
        }
    }

    /// An answer the console cannot read (a bug, or a proxy's page).
    pub fn unexpected() -> Self {
        Self {
            status: 0,
            detail: crate::messages::t("error.unknown").to_owned(),
            fields: Vec::new(),
            kind: String::new(),
        }
    }

    fn of(status: u16, body: &Value) -> Self {
        let fields = body
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| (text(e, "field"), text(e, "message")))
                    .collect()
            })
            .unwrap_or_default();
        let detail = text(body, "detail");
        let kind = text(body, "type")
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Self {
            kind,
            status,
            detail: if detail.is_empty() {
                crate::messages::t("error.unknown").to_owned()
            } else {
                detail
            },
            fields,
        }
    }

    /// The fields a rule of `shared/` refused in the browser, as the server
    /// would name them (nothing is sent).
    pub fn checked(errors: Vec<shared::DomainError>) -> Self {
        let fields = errors
            .into_iter()
            .flat_map(|e| match e {
                shared::DomainError::Validation(list) => list
                    .into_iter()
                    .map(|f| (f.field, f.message))
                    .collect::<Vec<_>>(),
                other => vec![(String::new(), other.to_string())],
            })
            .collect();
        Self {
            status: 422,
            detail: String::new(),
            fields,
            kind: "validation".to_owned(),
        }
    }

    /// What a rule of `shared/` refused, said beside the form's `field` (one input
    /// that stands for the field the rule names: a price typed in major units
    /// for `unit_price_minor`, a signer for `signed_by`).
    pub fn checked_at(field: &str, error: shared::DomainError) -> Self {
        let mut p = Self::checked(vec![error]);
        for f in &mut p.fields {
            field.clone_into(&mut f.0);
        }
        p
    }

    /// A refusal of one field found in the browser.
    pub fn refused(field: &str, message: &str) -> Self {
        Self {
            status: 422,
            detail: String::new(),
            fields: vec![(field.to_owned(), message.to_owned())],
            kind: "validation".to_owned(),
        }
    }

    /// The messages for `field` and for its parts (`event_types[1]`,
    /// `owner.email` under `owner`), if the server named any.
    pub fn field(&self, field: &str) -> Option<String> {
        let of_field = |f: &str| {
            f == field
                || f.strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
        };
        let messages: Vec<&str> = self
            .fields
            .iter()
            .filter(|(f, _)| of_field(f))
            .map(|(_, m)| m.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }
}

/// The text at `key` of a JSON object ("" when absent).
pub fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The value of cookie `name` readable by the page (only the CSRF token is).
fn cookie(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let cookies = document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?
        .cookie()
        .ok()?;
    shared::auth::browser::cookie(&cookies, name).map(str::to_owned)
}

/// Sends `method path` with an optional JSON body; the answer's JSON, or the problem.
pub async fn call(method: &str, path: &str, body: Option<&Value>) -> Result<Value, Problem> {
    send(method, path, body, &[]).await
}

/// Like [`call`], for a creation sent with `key` (`Idempotency-Key`): sent again
/// after a lost answer, it answers the first creation instead of making another.
pub async fn call_idempotent(
    method: &str,
    path: &str,
    body: &Value,
    key: &str,
) -> Result<Value, Problem> {
    send(method, path, Some(body), &[("idempotency-key", key)]).await
}

/// Like [`call`], for a change to a record read at `etag` (`If-Match`): someone
/// else's change in between is a 412 problem.
pub async fn call_if_match(
    method: &str,
    path: &str,
    body: &Value,
    etag: &str,
) -> Result<Value, Problem> {
    send(method, path, Some(body), &[("if-match", etag)]).await
}

/// Sends `text` as the body of `POST path` with its media type (a CSV import);
/// the answer's JSON, or the problem.
pub async fn post_text(path: &str, media_type: &str, text: String) -> Result<Value, Problem> {
    send_raw("POST", path, Some((media_type, text)), &[]).await
}

/// The headers every request carries: cookie sessions, JSON, and the CSRF token.
fn headers() -> Result<Headers, Problem> {
    let headers = Headers::new().map_err(|_| Problem::offline())?;
    let _ = headers.set(shared::auth::browser::MODE_HEADER, "cookie");
    let _ = headers.set("accept", "application/json");
    if let Some(csrf) = cookie(shared::auth::browser::CSRF_COOKIE) {
        let _ = headers.set(shared::auth::browser::CSRF_HEADER, &csrf);
    }
    Ok(headers)
}

/// The JSON of an answer, or its problem.
fn answer_of(status: u16, text: &str) -> Result<Value, Problem> {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        Err(Problem::of(status, &value))
    }
}

async fn send(
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> Result<Value, Problem> {
    let body = body.map(|b| ("application/json", b.to_string()));
    send_raw(method, path, body, extra).await
}

async fn send_raw(
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
    extra: &[(&str, &str)],
) -> Result<Value, Problem> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = headers()?;
    if let Some((media_type, body)) = body {
        let _ = headers.set("content-type", media_type);
        init.set_body(&wasm_bindgen::JsValue::from_str(&body));
    }
    for (name, value) in extra {
        let _ = headers.set(name, value);
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| Problem::offline())?;
    let window = web_sys::window().ok_or_else(Problem::offline)?;
    let answer = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| Problem::offline())?;
    let response: Response = answer.dyn_into().map_err(|_| Problem::offline())?;
    let status = response.status();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    answer_of(status, &text)
}

/// Sends the bytes of `file` with `PUT path`, telling `progress` the share sent
/// so far (0.0–1.0) as it goes: fetch cannot report an upload's progress, so this
/// one request uses XMLHttpRequest.
pub async fn upload(
    path: &str,
    file: &web_sys::File,
    progress: impl Fn(f64) + 'static,
) -> Result<Value, Problem> {
    use wasm_bindgen::closure::Closure;
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| Problem::offline())?;
    xhr.open("PUT", path).map_err(|_| Problem::offline())?;
    let _ = xhr.set_request_header(shared::auth::browser::MODE_HEADER, "cookie");
    let _ = xhr.set_request_header("accept", "application/json");
    let _ = xhr.set_request_header("content-type", &file.type_());
    if let Some(csrf) = cookie(shared::auth::browser::CSRF_COOKIE) {
        let _ = xhr.set_request_header(shared::auth::browser::CSRF_HEADER, &csrf);
    }
    let on_progress =
        Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                progress(e.loaded() / e.total());
            }
        });
    if let Ok(target) = xhr.upload() {
        target.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        let finished = Closure::once_into_js(move || {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        });
        xhr.set_onloadend(Some(finished.unchecked_ref()));
    });
    xhr.send_with_opt_blob(Some(file))
        .map_err(|_| Problem::offline())?;
    let _ = JsFuture::from(done).await;
    drop(on_progress);
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Err(Problem::offline());
    }
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    answer_of(status, &text)
}
