//! HTTP handlers of the webhooks worker: the firm's endpoints (create, read,
//! change, delete, pause, resume, disable, secret, rotation, test, recovery,
//! health) and the delivery log (list, one with its attempts, resend). Only a firm
//! admin, or a member with `can_manage_settings`, reaches them; reading a secret
//! is for firm admins alone. Every change is audited.

use edge::http::{self, read_json};
use edge::{RequestContext, D1};
use serde_json::{json, Value};
use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::kernel::audit::Category;
use shared::kernel::etag::parse_if_match;
use shared::kernel::sql::Sql as _;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::webhooks::delivery::{self, Filter};
use shared::webhooks::endpoint::{self, Action, Row};
use shared::webhooks::{health, message, EndpointStatus, ErrorClass};

use crate::send::Verdict;
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;
type Params = [(&'static str, String)];

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Vec<(&'static str, String)>,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "listWebhookEndpoints" => list(req, env, cx).await,
        "createWebhookEndpoint" => create(req, env, cx).await,
        "getWebhookEndpoint" => get(req, env, cx, &params).await,
        "updateWebhookEndpoint" => update(req, env, cx, &params).await,
        "deleteWebhookEndpoint" => delete(req, env, cx, &params).await,
        "pauseWebhookEndpoint" => act(req, env, cx, &params, Action::Pause).await,
        "resumeWebhookEndpoint" => act(req, env, cx, &params, Action::Resume).await,
        "disableWebhookEndpoint" => act(req, env, cx, &params, Action::Disable).await,
        "getWebhookEndpointSecret" => secret(req, env, cx, &params).await,
        "rotateWebhookEndpointSecret" => rotate(req, env, cx, &params).await,
        "sendWebhookTest" => test(req, env, cx, &params).await,
        "recoverWebhookEndpoint" => recover(req, env, cx, &params).await,
        "getWebhookEndpointHealth" => get_health(req, env, cx, &params).await,
        "listWebhookDeliveries" => list_deliveries(req, env, cx).await,
        "getWebhookDelivery" => get_delivery(req, env, cx, &params).await,
        "resendWebhookDelivery" => resend(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

async fn reader(req: &Request, env: &Env, cx: &RequestContext) -> Result<TenantScope, DomainError> {
    Ok(cx
        .authorize(req, env, Area::Integrations, Access::Read)
        .await?
        .1)
}

async fn writer(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
) -> Result<(VerifiedClaims, TenantScope), DomainError> {
    cx.authorize(req, env, Area::Integrations, Access::Write)
        .await
}

fn answer(row: &Row, status: u16, cx: &RequestContext) -> Response {
    let view = row.view(cx.now);
    let response = http::json(status, &view, &cx.request_id);
    http::with_header(response, "etag", &view.etag)
}

/// The endpoint with its new secret: shown once, when it is made.
fn with_secret(
    row: &Row,
    secret: &shared::webhooks::signature::Secret,
    cx: &RequestContext,
) -> Result<Value, DomainError> {
    let mut view = serde_json::to_value(row.view(cx.now))
        .map_err(|e| DomainError::Unavailable(e.to_string()))?;
    if let Some(obj) = view.as_object_mut() {
        obj.insert("secret".into(), json!(secret.expose()));
    }
    Ok(view)
}

/// Refuses a URL whose host resolves to an address deliveries may not reach. A
/// name with no address yet (DNS set up after the endpoint, as often happens) or a
/// resolver that does not answer leaves the check to each attempt, which judges
/// the name again and fails with class `dns` until it resolves.
async fn check_resolves(env: &Env, url: &str) -> Result<(), DomainError> {
    match crate::send::judge(env, url, crate::policy(env)).await {
        Verdict::Go(_) | Verdict::Unknown(_) | Verdict::Refused(ErrorClass::Dns, _) => Ok(()),
        Verdict::Refused(_, why) => Err(DomainError::invalid(
            "url",
            "blocked_destination",
            format!("url: {why}"),
        )),
    }
}

/// Refuses a client that is not the firm's.
async fn check_client(
    db: &D1,
    scope: &TenantScope,
    client_id: Option<&str>,
) -> Result<(), DomainError> {
    if let Some(client_id) = client_id {
        if shared::clients::repository::get(db, scope, client_id)
            .await
            .is_err()
        {
            return Err(DomainError::invalid(
                "client_id",
                "unknown",
                "client_id names no client of this firm",
            ));
        }
    }
    Ok(())
}

async fn list(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let page = http::page_request(&req)?;
    let status = http::query_param(&req, "status")
        .map(|s| EndpointStatus::parse("status", &s))
        .transpose()?;
    let rows = endpoint::list(&D1::from_env(env)?, &scope, status, &page).await?;
    let items: Vec<_> = rows.items.iter().map(|r| r.view(cx.now)).collect();
    Ok(http::json(
        200,
        &json!({"items": items, "next_cursor": rows.next_cursor}),
        &cx.request_id,
    ))
}

async fn create(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let (_, body) = read_json(&mut req, edge::config::body_limit(env)).await?;
    let settings = endpoint::parse_new(&body, crate::policy(env))?;
    let db = D1::from_env(env)?;
    check_client(&db, &scope, settings.client_id.clone().flatten().as_deref()).await?;
    check_resolves(env, settings.url.as_deref().unwrap_or_default()).await?;
    let keys = edge::keys::keyring(env, &db, scope.firm_id(), cx.now).await?;
    let (id, secret, statement) =
        endpoint::insert(&scope, &settings, &keys, claims.user_id(), cx.now)?;
    let mut statements = vec![statement];
    statements.extend(keys.usage());
    let inserted = db.batch(statements).await?.first().map_or(0, |o| o.changes);
    if inserted == 0 {
        return Err(DomainError::Conflict {
            field: None,
            detail: format!(
                "a firm may have at most {} webhook endpoints",
                endpoint::MAX_ENDPOINTS
            ),
        });
    }
    let row = endpoint::get(&db, &scope, &id).await?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "webhooks.endpoint.created",
        json!({"endpoint_id": id, "url": row.url}),
    )
    .await;
    let view = with_secret(&row, &secret, cx)?;
    let response = http::json(201, &view, &cx.request_id);
    Ok(http::with_header(
        response,
        "location",
        &format!("/v1/webhooks/endpoints/{id}"),
    ))
}

async fn get(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let row = endpoint::get(&D1::from_env(env)?, &scope, &id).await?;
    Ok(answer(&row, 200, cx))
}

async fn update(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    endpoint::get(&db, &scope, &id).await?;
    let expected = parse_if_match(http::header(&req, "if-match").as_deref())?;
    let (_, body) = read_json(&mut req, edge::config::body_limit(env)).await?;
    let settings = endpoint::parse_patch(&body, crate::policy(env))?;
    check_client(&db, &scope, settings.client_id.clone().flatten().as_deref()).await?;
    if let Some(url) = &settings.url {
        check_resolves(env, url).await?;
    }
    let keys = edge::keys::keyring(env, &db, scope.firm_id(), cx.now).await?;
    let row = endpoint::update(&db, &scope, &id, &settings, expected, &keys, cx.now).await?;
    let changed: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "webhooks.endpoint.updated",
        json!({"endpoint_id": id, "fields": changed}),
    )
    .await;
    Ok(answer(&row, 200, cx))
}

async fn delete(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    endpoint::delete(&db, &scope, &id, cx.now).await?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "webhooks.endpoint.deleted",
        json!({"endpoint_id": id}),
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

async fn act(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    action: Action,
) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    let (before, row) = endpoint::act(&db, &scope, &id, action, cx.now).await?;
    if row.status != before {
        let name = match action {
            Action::Pause => "webhooks.endpoint.paused",
            Action::Resume => "webhooks.endpoint.resumed",
            Action::Disable => "webhooks.endpoint.disabled",
        };
        edge::audit::member_action(
            &db,
            &req,
            cx,
            &claims,
            Category::Config,
            name,
            json!({"endpoint_id": id, "from": before.name()}),
        )
        .await;
    }
    if action == Action::Resume {
        let waiting = delivery::waiting_for(&db, &id, cx.now).await?;
        crate::start(env, &waiting, cx.now, &cx.request_id).await;
    }
    Ok(answer(&row, 200, cx))
}

async fn secret(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    endpoint::may_read_secret(claims.role(), claims.is_api_key())?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    let row = endpoint::get(&db, &scope, &id).await?;
    let secret = row.current_secret(&edge::keys::existing(env, &db, scope.firm_id()).await?)?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::DataAccess,
        "webhooks.secret.read",
        json!({"endpoint_id": id}),
    )
    .await;
    Ok(http::json(
        200,
        &json!({"endpoint_id": id, "secret": secret.expose(), "previous_secret_expires_at": row.view(cx.now).previous_secret_expires_at}),
        &cx.request_id,
    ))
}

async fn rotate(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    endpoint::get(&db, &scope, &id).await?;
    let body = http::optional_json_body(&mut req, edge::config::body_limit(env)).await?;
    let rotation = endpoint::parse_rotation(&body)?;
    let (secret, row) = endpoint::rotate(
        &db,
        &scope,
        &id,
        rotation,
        &edge::keys::keyring(env, &db, scope.firm_id(), cx.now).await?,
        cx.now,
    )
    .await?;
    edge::audit::member_action(&db, &req, cx, &claims, Category::Config, "webhooks.secret.rotated", json!({"endpoint_id": id, "overlap_hours": rotation.overlap_hours, "forced": rotation.force}))
    .await;
    let view = with_secret(&row, &secret, cx)?;
    Ok(http::json(200, &view, &cx.request_id))
}

async fn test(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    let row = endpoint::get(&db, &scope, &id).await?;
    let body = http::optional_json_body(&mut req, edge::config::body_limit(env)).await?;
    let (kind, data) = message::parse_test(&body, &id, claims.user_id())?;
    if row.status != EndpointStatus::Active {
        return Err(DomainError::Conflict {
            field: None,
            detail: format!(
                "the endpoint is {}; resume it to send a test",
                row.status.name()
            ),
        });
    }
    let event = message::test_event(scope.firm_id(), &kind, data, cx.now)?;
    let fanout = message::fan_out(&event, std::slice::from_ref(&row), Some(&id), cx.now)?
        .ok_or(DomainError::NotFound("endpoint"))?;
    let outcomes = db.batch(fanout.statements.clone()).await?;
    let changes: Vec<u64> = outcomes.iter().map(|o| o.changes).collect();
    let sends = fanout.sends(&changes);
    crate::start(env, &sends, cx.now, &cx.request_id).await;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "webhooks.test.sent",
        json!({"endpoint_id": id, "type": kind}),
    )
    .await;
    Ok(http::json(
        202,
        &json!({"message_id": fanout.message_id, "delivery_id": sends.first().map(|s| s.delivery_id.clone()), "type": kind}),
        &cx.request_id,
    ))
}

async fn recover(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    endpoint::get(&db, &scope, &id).await?;
    let (_, body) = read_json(&mut req, edge::config::body_limit(env)).await?;
    let (since, until) = delivery::parse_recovery(&body, cx.now)?;
    let sends = delivery::recover(&db, &scope, &id, since, until, cx.now).await?;
    crate::start(env, &sends, cx.now, &cx.request_id).await;
    edge::audit::member_action(&db, &req, cx, &claims, Category::Config, "webhooks.endpoint.recovered", json!({"endpoint_id": id, "since": since.to_rfc3339(), "until": until.map(Instant::to_rfc3339), "deliveries": sends.len()}))
    .await;
    Ok(http::json(
        202,
        &json!({"endpoint_id": id, "deliveries": sends.len()}),
        &cx.request_id,
    ))
}

async fn get_health(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let id = http::path_id(params, "endpoint_id")?;
    let db = D1::from_env(env)?;
    let row = endpoint::get(&db, &scope, &id).await?;
    let h = health::of(&db, &row, cx.now).await?;
    Ok(http::json(200, &h, &cx.request_id))
}

async fn list_deliveries(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let filter = Filter::parse(|name| query.get(name))?;
    let rows = delivery::list(&D1::from_env(env)?, &scope, &filter, &page).await?;
    Ok(http::json(200, &rows, &cx.request_id))
}

async fn get_delivery(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let id = http::path_id(params, "delivery_id")?;
    let (delivery, attempts, body) = delivery::get(&D1::from_env(env)?, &scope, &id).await?;
    let mut value =
        serde_json::to_value(delivery).map_err(|e| DomainError::Unavailable(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("attempts".into(), json!(attempts));
        obj.insert("payload".into(), body);
    }
    Ok(http::json(200, &value, &cx.request_id))
}

async fn resend(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "delivery_id")?;
    let db = D1::from_env(env)?;
    let send = delivery::resend(&db, &scope, &id, cx.now).await?;
    crate::start(env, std::slice::from_ref(&send), cx.now, &cx.request_id).await;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "webhooks.delivery.resent",
        json!({"delivery_id": id}),
    )
    .await;
    Ok(http::json(
        202,
        &json!({"delivery_id": id, "attempt": send.attempt}),
        &cx.request_id,
    ))
}
