//! HTTP handlers of the clients module: parse, authorise, call the domain, answer.
//!
//! The portal-user routes come in two doors onto the same code: staff name the
//! client in the path and need CRM rights; a client's portal admin uses `/v1/portal`
//! and acts on their own client, taken from their token, never from the request.

use edge::http::{self, read_json};
use edge::idempotency::{Begin, Idempotency};
use edge::{config, RequestContext, D1};
use serde_json::json;
use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::clients::model::{Client, ClientFilter, ClientPatch, ClientStatus, NewClient};
use shared::clients::portal::{self, NewPortalInvitation, PortalUserPatch};
use shared::clients::repository;
use shared::firm::invitations::Acceptance;
use shared::kernel::audit::{Category, Entry, Outcome, Severity};
use shared::kernel::etag::parse_if_match;
use shared::kernel::sql::Sql as _;
use shared::kernel::tenant::TenantScope;
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
        "createClient" => create_client(req, env, cx).await,
        "listClients" => list_clients(req, env, cx).await,
        "getClient" => get_client(req, env, cx, &params).await,
        "updateClient" => update_client(req, env, cx, &params).await,
        "getPortalClient" => get_client(req, env, cx, &params).await,
        "inviteClientPortalUser" | "invitePortalUser" => invite(req, env, cx, &params).await,
        "listClientPortalUsers" | "listPortalUsers" => list_users(req, env, cx, &params).await,
        "updateClientPortalUser" | "updatePortalUser" => update_user(req, env, cx, &params).await,
        "listClientPortalInvitations" => list_invitations(req, env, cx, &params).await,
        "revokeClientPortalInvitation" => revoke_invitation(req, env, cx, &params).await,
        "acceptPortalInvitation" => accept(req, env, cx).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// The client a request is about, after checking the caller may have `access` to
/// it: staff name it in the path (CRM rights), a portal user is bound to their own
/// (portal account rights).
async fn target(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    access: Access,
) -> Result<(VerifiedClaims, TenantScope, String), DomainError> {
    let (claims, scope) = cx.scope(req, env).await?;
    let raw = http::path_param(params, "client_id");
    let client_id = if raw.is_empty() {
        claims.require(Area::PortalAccount, access)?;
        scope
            .client_id()
            .ok_or_else(|| {
                DomainError::Forbidden("this route is for a client's portal users".into())
            })?
            .to_owned()
    } else {
        claims.require(Area::Crm, access)?;
        http::path_id(params, "client_id")?
    };
    Ok((claims, scope, client_id))
}

/// A client as answered: its fields and its etag.
fn client_json(client: &Client) -> serde_json::Value {
    let mut value = serde_json::to_value(client).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("etag".to_owned(), client.etag().into());
    }
    value
}

fn client_response(client: &Client, status: u16, cx: &RequestContext) -> Response {
    http::with_header(
        http::json(status, &client_json(client), &cx.request_id),
        "etag",
        &client.etag(),
    )
}

/// An audit entry of a change to who may see a client's records.
fn entry(firm_id: &str, action: &'static str, actor: &str, target: &str) -> Entry {
    Entry::new(
        firm_id,
        Category::Permissions,
        action,
        Severity::Info,
        Outcome::Success,
    )
    .by(actor)
    .on(target)
}

async fn create_client(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Crm, Access::Write)?;
    let (bytes, body) = read_json(&mut req, config::body_limit(env)).await?;
    let db = D1::from_env(env)?;
    let idempotency =
        match Idempotency::begin(&req, scope.firm_id(), "/v1/clients", &bytes, &db, cx).await? {
            Begin::Replay(answer) => return Ok(answer),
            Begin::Proceed(idempotency) => idempotency,
        };
    let input = NewClient::parse(&body)?;
    let (client, statement) = repository::insert(&scope, input, claims.user_id(), cx.now)?;
    let mut statements = vec![statement];
    idempotency.store(&mut statements, 201, &client_json(&client).to_string(), cx);
    if let Err(e) = db.batch(statements).await {
        return match idempotency.recover(&db, cx).await {
            Some(answer) => Ok(answer),
            None => Err(e),
        };
    }
    Ok(client_response(&client, 201, cx))
}

async fn list_clients(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Crm, Access::Read)?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let filter = ClientFilter::parse(|name| query.get(name))?;
    let clients = repository::list(&D1::from_env(env)?, &scope, &filter, &page).await?;
    Ok(http::json(200, &clients, &cx.request_id))
}

async fn get_client(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, client_id) = target(&req, env, cx, params, Access::Read).await?;
    let client = repository::get(&D1::from_env(env)?, &scope, &client_id).await?;
    Ok(client_response(&client, 200, cx))
}

async fn update_client(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, client_id) = target(&req, env, cx, params, Access::Write).await?;
    let expected = parse_if_match(http::header(&req, "if-match").as_deref())?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let patch = ClientPatch::parse(&body)?;
    let db = D1::from_env(env)?;
    let client = repository::update(&db, &scope, &client_id, &patch, expected, cx.now).await?;
    if patch.status == Some(ClientStatus::Archived) {
        let archived = entry(
            scope.firm_id(),
            "client.archived",
            claims.user_id(),
            &client.id,
        );
        edge::audit::record(&db, archived, &cx.origin(&req), cx.now).await;
    }
    Ok(client_response(&client, 200, cx))
}

async fn invite(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, client_id) = target(&req, env, cx, params, Access::Write).await?;
    let inviter = claims.person()?.to_owned();
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = NewPortalInvitation::parse(&body)?;
    let db = D1::from_env(env)?;
    let firm = shared::firm::repository::get(&db, &scope).await?;
    let to = input.email().as_str().to_owned();
    let planned = portal::plan_invitation(&db, &scope, &client_id, &inviter, input, cx.now).await?;
    let app_url =
        config::text(env, "APP_URL").unwrap_or_else(|| "https://app.firmament.app".to_owned());
    let notice = edge::notify::Notice {
        template: "clients.portal_invitation",
        recipients: vec![shared::notify::Recipient::address(&to)],
        variables: edge::notify::vars([
            ("firm_name", firm.name.as_str()),
            ("client_name", planned.client_name.as_str()),
        ]),
        secrets: edge::notify::vars([(
            "link",
            &format!("{app_url}/portal/accept-invitation#token={}", planned.token),
        )]),
    };
    edge::notify::tell(&db, env, cx, &scope, notice, vec![planned.statement])
        .await
        .map_err(portal::explain_conflict)?;
    let invited = entry(scope.firm_id(), "portal_user.invited", &inviter, &planned.invitation.id)
        .with(json!({"client_id": client_id, "email": planned.invitation.email, "role": planned.invitation.role}));
    edge::audit::record(&db, invited, &cx.origin(&req), cx.now).await;
    Ok(http::json(201, &planned.invitation, &cx.request_id))
}

async fn list_users(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, client_id) = target(&req, env, cx, params, Access::Read).await?;
    let users = portal::list(&D1::from_env(env)?, &scope, &client_id).await?;
    Ok(http::unpaged(&users, &cx.request_id))
}

async fn update_user(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, client_id) = target(&req, env, cx, params, Access::Write).await?;
    let user_id = http::path_id(params, "user_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let patch = PortalUserPatch::parse(&body)?;
    let db = D1::from_env(env)?;
    let user = portal::update(&db, &scope, &client_id, &user_id, &patch, cx.now).await?;
    let changed = entry(scope.firm_id(), "portal_user.changed", claims.user_id(), &user_id)
        .with(json!({"client_id": client_id, "role": user.role, "flags": user.flags, "is_active": user.is_active}));
    edge::audit::record(&db, changed, &cx.origin(&req), cx.now).await;
    Ok(http::json(200, &user, &cx.request_id))
}

async fn list_invitations(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (_, scope, client_id) = target(&req, env, cx, params, Access::Read).await?;
    let items = portal::pending(&D1::from_env(env)?, &scope, &client_id, cx.now).await?;
    Ok(http::unpaged(&items, &cx.request_id))
}

async fn revoke_invitation(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, client_id) = target(&req, env, cx, params, Access::Write).await?;
    let invitation_id = http::path_id(params, "portal_invitation_id")?;
    let db = D1::from_env(env)?;
    if !portal::revoke_invitation(&db, &scope, &client_id, &invitation_id, cx.now).await? {
        return Err(DomainError::NotFound("invitation"));
    }
    let withdrawn = entry(
        scope.firm_id(),
        "portal_invitation.withdrawn",
        claims.user_id(),
        &invitation_id,
    );
    edge::audit::record(&db, withdrawn, &cx.origin(&req), cx.now).await;
    Ok(http::empty(204, &cx.request_id))
}

async fn accept(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let acceptance = Acceptance::parse(&body)?;
    let db = D1::from_env(env)?;
    let Some(found) = portal::find(&db, &acceptance.token, cx.now).await? else {
        return Err(portal::refused());
    };
    let edge::invitation::Joining {
        user_id,
        mut statements,
        new_account,
    } = edge::invitation::joining(&db, env, &req, cx, &found.email, &acceptance).await?;
    portal::check_acceptable(&db, &found, &user_id).await?;
    statements.extend(portal::accept(&found, &user_id, cx.now));
    db.batch(statements).await.map_err(|_| portal::refused())?;
    let joined = entry(&found.firm_id, "portal_user.joined", &user_id, &found.id).with(
        json!({"client_id": found.client_id, "role": found.role, "new_account": new_account}),
    );
    edge::audit::record(&db, joined, &cx.origin(&req), cx.now).await;
    Ok(http::json(
        201,
        &json!({"firm_id": found.firm_id, "client_id": found.client_id, "user_id": user_id,
                "role": found.role, "new_account": new_account}),
        &cx.request_id,
    ))
}
