//! The gateway: the only public worker. It gives every request an id, answers CORS
//! preflights, enforces the body limit, checks the bearer token of protected routes,
//! and forwards `/v1/...` to the module worker that owns the route over a service
//! binding. Its cron sweeps the outbox (platform-wide, not a module's concern).

use edge::http::{self, RouteProblem};
use edge::{config, RequestContext};
use serde_json::json;
use shared::api::{self, Auth, Match, Route};
use shared::kernel::idempotency;
use shared::kernel::sql::Sql as _;
use shared::DomainError;
use worker::{
    event, Context, Env, Headers, Method, Request, RequestInit, Response, ScheduleContext,
    ScheduledEvent,
};

mod cors;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let cx = RequestContext::of(&req);
    let origin = http::header(&req, "origin");
    let allowed_origins = config::text(&env, "CORS_ALLOWED_ORIGINS").unwrap_or_default();
    let method = http::method(&req);
    let mut served = edge::log::Served {
        method: &method,
        ..Default::default()
    };
    let response = if req.method() == Method::Options {
        cors::preflight(&allowed_origins, origin.as_deref(), &cx.request_id)
    } else {
        let response = serve(req, &env, &cx, &mut served).await;
        match origin {
            None => response,
            Some(_) => cors::decorate(response, &allowed_origins, origin.as_deref()),
        }
    };
    served.status = response.status_code();
    edge::log::request(&cx.request_id, &served, cx.now);
    Ok(http::with_header(response, "x-request-id", &cx.request_id))
}

async fn serve(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    served: &mut edge::log::Served<'_>,
) -> Response {
    let method = http::method(&req);
    let path = req.path();
    let found = api::resolve(&method, &path);
    if let Match::Found(route, _) = &found {
        served.route = Some(route.path);
    }
    match found {
        Match::NotFound => http::route_problem(
            &RouteProblem {
                status: 404,
                kind: "not-found",
                title: "Not found",
                detail: format!("no route {path}"),
            },
            &cx.request_id,
        ),
        Match::MethodNotAllowed(allowed) => http::with_header(
            http::route_problem(
                &RouteProblem {
                    status: 405,
                    kind: "method-not-allowed",
                    title: "Method not allowed",
                    detail: format!("{path} accepts {}", allowed.join(", ")),
                },
                &cx.request_id,
            ),
            "allow",
            &allowed.join(", "),
        ),
        Match::Found(route, _) => match route.operation {
            "getHealth" => health(env, cx).await,
            "getOpenApi" => http::raw_json(200, openapi_text().to_owned(), &cx.request_id),
            "listEventTypes" => http::raw_json(
                200,
                shared::catalogue::EVENT_TYPES_JSON.to_owned(),
                &cx.request_id,
            ),
            _ => forward(req, env, cx, route, served)
                .await
                .unwrap_or_else(|e| http::problem(&e, &cx.request_id)),
        },
    }
}

/// The OpenAPI document, built once per isolate: it is the same for every request
/// (about 180 KB, with every time zone and currency), so it is not rebuilt for each.
fn openapi_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| api::openapi::document().to_string())
}

async fn health(env: &Env, cx: &RequestContext) -> Response {
    let checks = edge::bindings::probe(env).await;
    let healthy = checks.iter().all(|(_, outcome)| outcome.is_ok());
    let mut report = serde_json::Map::new();
    for (name, outcome) in &checks {
        if let Err(e) = outcome {
            edge::log::event(
                "error",
                &cx.request_id,
                "health check failed",
                json!({"check": name, "error": e.to_string()}),
            );
        }
        report.insert(
            (*name).to_owned(),
            if outcome.is_ok() { "ok" } else { "failing" }.into(),
        );
    }
    let status = if healthy { "ok" } else { "degraded" };
    http::json(
        if healthy { 200 } else { 503 },
        &json!({"status": status, "checks": report}),
        &cx.request_id,
    )
}

async fn forward(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    route: &Route,
    served: &mut edge::log::Served<'_>,
) -> Result<Response, DomainError> {
    if route.auth == Auth::Bearer {
        let claims = cx.claims(&req, env).await?;
        served.firm_id = Some(claims.firm_id().to_owned());
        served.user_id = Some(claims.user_id().to_owned());
    }
    let has_body = !matches!(req.method(), Method::Get | Method::Head);
    // A file's bytes go through as the stream they arrive in (up to 95 MiB, never
    // held here); every other body is read whole under the JSON limit.
    let stream = if route.binary {
        http::require_length(&req, shared::files::rules::SINGLE_MAX)?;
        req.inner().body()
    } else {
        None
    };
    let body = if has_body && stream.is_none() {
        http::read_body(&mut req, config::body_limit(env)).await?
    } else {
        Vec::new()
    };
    let binding = route.module.ok_or(DomainError::NotFound("route"))?;
    let service = env
        .service(binding)
        .map_err(|e| DomainError::Unavailable(format!("service binding {binding}: {e}")))?;
    // The raw URL string: parsing it with the `url` crate would pull its IDNA tables into the wasm.
    let url = req.inner().url();
    let headers = Headers::new();
    for (name, value) in req.headers().entries() {
        let _ = headers.append(&name, &value);
    }
    let _ = headers.set("x-request-id", &cx.request_id);
    let mut init = RequestInit::new();
    // A module's redirect is the client's to follow (fetch would follow it into the binding).
    init.with_method(req.method())
        .with_headers(headers)
        .with_redirect(worker::RequestRedirect::Manual);
    if let Some(stream) = stream {
        init.with_body(Some(stream.into()));
    } else if !body.is_empty() {
        init.with_body(Some(
            worker::js_sys::Uint8Array::from(body.as_slice()).into(),
        ));
    }
    let inner = Request::new_with_init(&url, &init)
        .map_err(|e| DomainError::Unavailable(format!("forward: {e}")))?;
    let answer = service
        .fetch_request(inner)
        .await
        .map_err(|e| DomainError::Unavailable(format!("module {binding}: {e}")))?;
    // Modules answer with the request id already; without an Origin there are no
    // CORS headers to add, so the module's answer goes out as it is.
    if http::header(&req, "origin").is_none() {
        return Ok(answer);
    }
    // A fetched response's headers are immutable: copy them so the gateway can add its
    // own, and hand the body stream through untouched.
    let headers = Headers::new();
    for (name, value) in answer.headers().entries() {
        let _ = headers.append(&name, &value);
    }
    let (builder, body) = answer.into_parts();
    Ok(builder.with_headers(headers).body(body))
}

/// Background workers the platform clock ticks every minute, over their bindings.
const TICKED: &[&str] = &[
    "DISPATCHER",
    "JOBS",
    "WEBHOOKS",
    "FIRM",
    "NOTIFICATIONS",
    "FILES",
    "CRM",
];

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now = edge::now();
    // The scheduled time is the clock of the ticked sweeps, so a test can play a
    // later hour by firing the cron with a time ahead.
    let scheduled_ms = event.schedule() as i64;
    for binding in TICKED {
        if let Err(e) = edge::events::tick(&env, binding, scheduled_ms).await {
            edge::log::event(
                "error",
                "cron",
                "tick failed",
                json!({"worker": binding, "error": e.to_string()}),
            );
        }
    }
    match edge::events::sweep_outbox(&env, now).await {
        Ok(sent) => edge::log::event(
            "info",
            "cron",
            "outbox sweep",
            json!({"cron": event.cron(), "scheduled_ms": scheduled_ms, "republished": sent}),
        ),
        Err(e) => edge::log::event(
            "error",
            "cron",
            "outbox sweep failed",
            json!({"error": e.to_string()}),
        ),
    }
    if let Ok(db) = edge::D1::from_env(&env) {
        let sent = edge::mail::deliver(&env, &db, None, now, "cron").await;
        if sent > 0 {
            edge::log::event("info", "cron", "mail sweep", json!({"sent": sent}));
        }
        if let Err(e) = db.execute(idempotency::purge_expired(now)).await {
            edge::log::event(
                "error",
                "cron",
                "idempotency purge failed",
                json!({"error": e.to_string()}),
            );
        }
    }
}
