//! HTTP handlers of the firm module: parse, authorise, call the domain, answer.

use edge::http::{self, read_json};
use edge::idempotency::{Begin, Idempotency};
use edge::ratelimit::{self, Limit};
use edge::{auth, config, RequestContext, D1};
use serde_json::json;
use shared::auth::roles::{Access, Area};
use shared::firm::invitations::{self, Acceptance, NewInvitation};
use shared::firm::members::{self, MemberPatch};
use shared::firm::model::Firm;
use shared::firm::provision::{self, ProvisionFirm};
use shared::firm::repository;
use shared::firm::settings::FirmPatch;
use shared::kernel::audit::{self, Category, Entry, Outcome, Severity};
use shared::kernel::etag::parse_if_match;
use shared::kernel::events;
use shared::kernel::sql::Sql as _;
use shared::kernel::vault;
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
        "listMembers" => list_members(req, env, cx).await,
        "updateMember" => update_member(req, env, cx, &params).await,
        "createInvitation" => create_invitation(req, env, cx).await,
        "listInvitations" => list_invitations(req, env, cx).await,
        "revokeInvitation" => revoke_invitation(req, env, cx, &params).await,
        "acceptInvitation" => accept_invitation(req, env, cx).await,
        "verifyFirmAudit" => verify_audit(req, env, cx).await,
        "listFirmKeys" => list_keys(req, env, cx).await,
        "rotateFirmKey" => rotate_key(req, env, cx).await,
        "listFlags" => crate::flags::list(req, env, cx).await,
        "getFlag" => crate::flags::get(req, env, cx, &params).await,
        "putFlag" => crate::flags::put(req, env, cx, &params).await,
        "deleteFlag" => crate::flags::delete(req, env, cx, &params).await,
        "getFlagExposures" => crate::flags::exposures(req, env, cx, &params).await,
        "evaluateFlags" => crate::flags::evaluate(req, env, cx).await,
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

const SIGN_UP_LIMIT: Limit = Limit {
    binding: "SIGN_UP_LIMITER",
    limit: 5,
    period_secs: 60,
};

async fn provision_firm(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let client = cx.origin(&req).ip.unwrap_or_else(|| "unknown".to_owned());
    ratelimit::check(env, &SIGN_UP_LIMIT, &client).await?;
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
    let page = http::page_request(&req)?;
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
    let event_id = http::path_id(params, "event_id")?;
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
    let page = http::page_request(&req)?;
    let records = audit::list(&D1::from_env(env)?, &scope, &page).await?;
    Ok(http::json(200, &records, &cx.request_id))
}

async fn verify_audit(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let report = audit::verify(&D1::from_env(env)?, scope.firm_id()).await?;
    Ok(http::json(200, &report, &cx.request_id))
}

async fn list_keys(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope) = cx.authorize(&req, env, Area::Admin, Access::Read).await?;
    let items = vault::versions(&D1::from_env(env)?, scope.firm_id()).await?;
    Ok(http::json(200, &json!({"items": items}), &cx.request_id))
}

/// A new data key for the firm; the first batch of its sealed values moves onto it
/// at once, the rest with the daily key run.
async fn rotate_key(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.authorize(&req, env, Area::Admin, Access::Write).await?;
    let db = D1::from_env(env)?;
    let root = edge::keys::root(env)?;
    let version = vault::rotate(&db, &root, scope.firm_id(), cx.now).await?;
    let resealed = vault::reseal_owner(&db, &root, scope.firm_id()).await?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "firm.key_rotated",
        json!({"version": version, "resealed": resealed}),
    )
    .await;
    Ok(http::json(
        201,
        &json!({"version": version, "resealed": resealed}),
        &cx.request_id,
    ))
}

fn permissions_entry(
    scope: &shared::kernel::tenant::TenantScope,
    action: &'static str,
    actor: &str,
    target: &str,
) -> Entry {
    Entry::new(
        scope.firm_id(),
        Category::Permissions,
        action,
        Severity::Warning,
        Outcome::Success,
    )
    .by(actor)
    .on(target)
}

async fn list_members(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Workspace, Access::Read)?;
    let items = members::list(&D1::from_env(env)?, &scope).await?;
    Ok(http::unpaged(&items, &cx.request_id))
}

async fn update_member(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Write)?;
    let user_id = http::path_id(params, "user_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let patch = MemberPatch::parse(&body)?;
    let db = D1::from_env(env)?;
    let (member, made) = members::update(&db, &scope, &user_id, &patch, cx.now).await?;
    if !made.is_empty() {
        edge::events::publish(env, &db, &made, cx.now, &cx.request_id).await;
    }
    let entry =
        permissions_entry(&scope, "member.changed", claims.user_id(), &user_id).with(json!({
            "role": member.role, "flags": member.flags, "is_active": member.is_active
        }));
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::json(200, &member, &cx.request_id))
}

async fn create_invitation(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Write)?;
    let inviter = claims.person()?.to_owned();
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = NewInvitation::parse(&body)?;
    let db = D1::from_env(env)?;
    let firm = repository::get(&db, &scope).await?;
    let to = input.email().as_str().to_owned();
    let planned = invitations::plan(&db, &scope, firm.tier, &inviter, input, cx.now).await?;
    let app_url =
        config::text(env, "APP_URL").unwrap_or_else(|| "https://app.firmament.app".to_owned());
    let notice = edge::notify::Notice {
        template: "firm.invitation",
        recipients: vec![shared::notify::Recipient::address(&to)],
        variables: edge::notify::vars([("firm_name", firm.name.as_str())]),
        secrets: edge::notify::vars([(
            "link",
            &format!("{app_url}/accept-invitation#token={}", planned.token),
        )]),
    };
    edge::notify::tell(&db, env, cx, &scope, notice, vec![planned.statement])
        .await
        .map_err(|e| {
            if shared::kernel::sql::violates_unique(&e, "firm_invitations.firm_id") {
                DomainError::conflict("email", "this address already has a pending invitation")
            } else {
                e
            }
        })?;
    let entry = permissions_entry(&scope, "member.invited", &inviter, &planned.invitation.id)
        .with(json!({"email": planned.invitation.email, "role": planned.invitation.role}));
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::json(201, &planned.invitation, &cx.request_id))
}

async fn list_invitations(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let items = invitations::pending(&D1::from_env(env)?, &scope, cx.now).await?;
    Ok(http::unpaged(&items, &cx.request_id))
}

async fn revoke_invitation(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Write)?;
    let invitation_id = http::path_id(params, "invitation_id")?;
    let db = D1::from_env(env)?;
    if !invitations::revoke(&db, &scope, &invitation_id, cx.now).await? {
        return Err(DomainError::NotFound("invitation"));
    }
    let entry = permissions_entry(
        &scope,
        "invitation.withdrawn",
        claims.user_id(),
        &invitation_id,
    );
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::empty(204, &cx.request_id))
}

async fn accept_invitation(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let acceptance = Acceptance::parse(&body)?;
    let db = D1::from_env(env)?;
    let Some(found) = invitations::find(&db, &acceptance.token, cx.now).await? else {
        return Err(invitations::refused());
    };
    if !invitations::seat_free(&db, &found).await? {
        return Err(invitations::no_seat(found.tier));
    }
    let edge::invitation::Joining {
        user_id,
        mut statements,
        new_account,
    } = edge::invitation::joining(&db, env, &req, cx, &found.email, &acceptance).await?;
    statements.extend(invitations::accept(&found, &user_id, cx.now));
    db.batch(statements)
        .await
        .map_err(|_| invitations::refused())?;
    let scope_entry = Entry::new(
        &found.firm_id,
        Category::Permissions,
        "member.joined",
        Severity::Info,
        Outcome::Success,
    )
    .by(&user_id)
    .on(&found.id)
    .with(json!({"role": found.role, "new_account": new_account}));
    edge::audit::record(&db, scope_entry, &cx.origin(&req), cx.now).await;
    Ok(http::json(
        201,
        &json!({"firm_id": found.firm_id, "user_id": user_id, "role": found.role, "new_account": new_account}),
        &cx.request_id,
    ))
}
