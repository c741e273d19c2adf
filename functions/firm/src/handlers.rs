//! HTTP handlers of the firm module: parse, authorise, call the domain, answer.

use edge::http::{self, read_json};
use edge::idempotency::{Begin, Idempotency};
use edge::{auth, config, RequestContext, D1};
use serde_json::json;
use shared::auth::roles::{Access, Area};
use shared::firm::model::{parse_if_match, Firm};
use shared::firm::provision::{self, ProvisionFirm};
use shared::firm::repository;
use shared::firm::settings::FirmPatch;
use shared::kernel::audit::{self, Category, Entry, Outcome, Severity};
use shared::kernel::events;
use shared::kernel::id;
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::Sql as _;
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Vec<(&'static str, String)>,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "provisionFirm" => provision_firm(req, env, cx).await,
        "getFirm" => get_firm(req, env, cx).await,
        "updateFirm" => update_firm(req, env, cx).await,
        "getFirmProvisioning" => get_provisioning(req, env, cx).await,
        "listFirmEvents" => list_events(req, env, cx).await,
        "redeliverFirmEvent" => redeliver_event(req, env, cx, &params).await,
        "listFirmAudit" => list_audit(req, env, cx).await,
        "verifyFirmAudit" => verify_audit(req, env, cx).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

fn firm_json(firm: &Firm) -> serde_json::Value {
    let mut value = serde_json::to_value(firm).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("etag".to_owned(), firm.etag().into());
    }
    value
}

fn firm_response(firm: &Firm, status: u16, cx: &RequestContext) -> Response {
    http::with_header(
        http::json(status, &firm_json(firm), &cx.request_id),
        "etag",
        &firm.etag(),
    )
}

async fn provision_firm(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (bytes, body) = read_json(&mut req, config::body_limit(env)).await?;
    let db = D1::from_env(env)?;
    let idempotency = match Idempotency::begin(&req, "public", "/v1/firms", &bytes, &db, cx).await?
    {
        Begin::Replay(answer) => return Ok(answer),
        Begin::Proceed(idempotency) => idempotency,
    };
    let input = ProvisionFirm::parse(&body)?;
    let origin = cx.origin(&req);
    let plan = provision::plan(input, &origin, cx.now)?;
    let token = auth::signer(env)?.issue(plan.owner_claims.clone(), cx.now)?;
    let response_body = json!({
        "firm": firm_json(&plan.firm),
        "owner": plan.owner,
        "access_token": token.token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
    })
    .to_string();
    let mut statements = plan.statements;
    idempotency.store(&mut statements, 201, &response_body, cx);
    if let Err(e) = db.batch(statements).await {
        return match idempotency.recover(&db, cx).await {
            Some(answer) => Ok(answer),
            None => Err(provision::explain_conflict(e)),
        };
    }
    edge::events::publish(
        env,
        &db,
        std::slice::from_ref(&plan.event),
        cx.now,
        &cx.request_id,
    )
    .await;
    let entry = Entry::new(
        &plan.firm.id,
        Category::Config,
        "firm.provisioned",
        Severity::Info,
        Outcome::Success,
    )
    .by(&plan.owner.id)
    .on(&plan.firm.id)
    .with(json!({"slug": plan.firm.slug}));
    edge::audit::record(&db, entry, &origin, cx.now).await;
    let response = http::raw_json(201, response_body, &cx.request_id);
    let response = http::with_header(response, "location", "/v1/firm");
    Ok(http::with_header(response, "etag", &plan.firm.etag()))
}

async fn get_firm(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Settings, Access::Read)?;
    let firm = repository::get(&D1::from_env(env)?, &scope).await?;
    Ok(firm_response(&firm, 200, cx))
}

async fn update_firm(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Settings, Access::Write)?;
    let expected = parse_if_match(http::header(&req, "if-match").as_deref())?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let patch = FirmPatch::parse(&body)?;
    let firm = repository::update(&D1::from_env(env)?, &scope, &patch, expected, cx.now).await?;
    Ok(firm_response(&firm, 200, cx))
}

async fn get_provisioning(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Settings, Access::Read)?;
    let db = D1::from_env(env)?;
    let firm = repository::get(&db, &scope).await?;
    let steps = repository::steps(&db, &scope).await?;
    Ok(http::json(
        200,
        &json!({"provisioned_at": firm.provisioned_at, "steps": steps}),
        &cx.request_id,
    ))
}

async fn list_events(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let page = PageRequest::parse(
        http::query_param(&req, "limit").as_deref(),
        http::query_param(&req, "cursor").as_deref(),
    )?;
    let events = events::list(&D1::from_env(env)?, &scope, &page).await?;
    Ok(http::json(200, &events, &cx.request_id))
}

async fn redeliver_event(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Write)?;
    let raw = params
        .iter()
        .find(|(k, _)| *k == "event_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let event_id = id::parse("event_id", "evt", raw)?;
    if !events::redeliver(&D1::from_env(env)?, &scope, &event_id, cx.now).await? {
        return Err(DomainError::NotFound("event"));
    }
    Ok(http::json(
        202,
        &json!({"event_id": event_id, "status": "queued"}),
        &cx.request_id,
    ))
}

async fn list_audit(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let page = PageRequest::parse(
        http::query_param(&req, "limit").as_deref(),
        http::query_param(&req, "cursor").as_deref(),
    )?;
    let records = audit::list(&D1::from_env(env)?, &scope, &page).await?;
    Ok(http::json(200, &records, &cx.request_id))
}

async fn verify_audit(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let report = audit::verify(&D1::from_env(env)?, scope.firm_id()).await?;
    Ok(http::json(200, &report, &cx.request_id))
}
