//! HTTP handlers of the identity module.

use edge::http::{self, read_json};
use edge::ratelimit::{self, Limit};
use edge::{auth, config, RequestContext, D1};
use serde_json::json;
use shared::auth::claims::AccessClaims;
use shared::auth::sessions::{self, Refresh};
use shared::auth::signin::{self, Credentials, Failure};
use shared::firm::members::{self, Membership};
use shared::kernel::audit::{Category, Entry, Origin, Outcome, Severity, PLATFORM_CHAIN};
use shared::kernel::id;
use shared::kernel::sql::Sql as _;
use shared::kernel::validate::{Input, Validator};
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;

const SIGN_IN_LIMIT: Limit = Limit {
    binding: "SIGN_IN_LIMITER",
    limit: 10,
    period_secs: 60,
};
const REFRESH_LIMIT: Limit = Limit {
    binding: "REFRESH_LIMITER",
    limit: 20,
    period_secs: 60,
};

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Vec<(&'static str, String)>,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "signIn" => sign_in(req, env, cx).await,
        "refreshSession" => refresh(req, env, cx).await,
        "signOut" => sign_out(req, env, cx).await,
        "switchFirm" => switch_firm(req, env, cx).await,
        "listSessions" => list_sessions(req, env, cx).await,
        "revokeSession" => revoke_session(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// The rate-limit key of a client: its IP, or one shared bucket when unknown.
fn client_key(origin: &Origin) -> String {
    origin.ip.clone().unwrap_or_else(|| "unknown".to_owned())
}

fn auth_entry(chain: &str, action: &'static str, severity: Severity, outcome: Outcome) -> Entry {
    Entry::new(chain, Category::Auth, action, severity, outcome)
}

async fn limited(
    env: &Env,
    limit: &Limit,
    origin: &Origin,
    db: &D1,
    cx: &RequestContext,
    action: &'static str,
) -> Result<(), DomainError> {
    if let Err(e) = ratelimit::check(env, limit, &client_key(origin)).await {
        if matches!(e, DomainError::RateLimited { .. }) {
            edge::audit::record(
                db,
                auth_entry(PLATFORM_CHAIN, action, Severity::Warning, Outcome::Denied),
                origin,
                cx.now,
            )
            .await;
        }
        return Err(e);
    }
    Ok(())
}

/// Opens a session for `user_id` in `membership` and answers with its tokens.
async fn start_session(
    db: &D1,
    env: &Env,
    cx: &RequestContext,
    origin: &Origin,
    user_id: &str,
    membership: &Membership,
    amr: &[String],
) -> Handled {
    let session = sessions::open(user_id, &membership.firm_id, amr, origin, cx.now)?;
    let mut statements = session.statements;
    statements.push(signin::record_success(user_id));
    statements.push(members::touch(
        user_id,
        &membership.firm_id,
        cx.now.millis(),
    ));
    let claims = AccessClaims::for_member(user_id, membership, &session.id, amr);
    let all = members::active_for_user(db, user_id).await?;
    let body = auth::session_body(env, claims, &session.refresh_token, &all, cx.now)?;
    db.batch(statements).await?;
    Ok(http::json(200, &body, &cx.request_id))
}

async fn sign_in(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(
        env,
        &SIGN_IN_LIMIT,
        &origin,
        &db,
        cx,
        "sign_in.rate_limited",
    )
    .await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let creds = Credentials::parse(&body)?;
    let account = match signin::authenticate(&db, &creds, cx.now).await? {
        Ok(account) => account,
        Err(failure) => {
            // A known account's failures go to its (first) firm's chain, where the
            // firm's admins see them; unknown addresses to the platform chain.
            let chain = match &failure {
                Failure::WrongPassword { user_id, .. } | Failure::Locked { user_id } => {
                    members::active_for_user(&db, user_id)
                        .await?
                        .into_iter()
                        .next()
                        .map_or_else(|| PLATFORM_CHAIN.to_owned(), |m| m.firm_id)
                }
                Failure::UnknownAccount => PLATFORM_CHAIN.to_owned(),
            };
            let entry = match &failure {
                Failure::UnknownAccount => auth_entry(
                    PLATFORM_CHAIN,
                    "sign_in.failed",
                    Severity::Warning,
                    Outcome::Failure,
                )
                .with(json!({"reason": "unknown_account"})),
                Failure::WrongPassword { user_id, locked } => {
                    let (action, severity) = if *locked {
                        ("sign_in.locked_out", Severity::Critical)
                    } else {
                        ("sign_in.failed", Severity::Warning)
                    };
                    auth_entry(&chain, action, severity, Outcome::Failure)
                        .on(user_id)
                        .with(json!({"reason": "wrong_password"}))
                }
                Failure::Locked { user_id } => auth_entry(
                    &chain,
                    "sign_in.refused_locked",
                    Severity::Warning,
                    Outcome::Denied,
                )
                .on(user_id),
            };
            edge::audit::record(&db, entry, &origin, cx.now).await;
            return Err(signin::refused());
        }
    };
    let membership = match &creds.firm {
        Some(firm) => members::active_in(&db, &account.id, firm).await?,
        None => members::active_for_user(&db, &account.id)
            .await?
            .into_iter()
            .next(),
    };
    let Some(membership) = membership else {
        let entry = auth_entry(
            PLATFORM_CHAIN,
            "sign_in.no_membership",
            Severity::Warning,
            Outcome::Denied,
        )
        .by(&account.id);
        edge::audit::record(&db, entry, &origin, cx.now).await;
        return Err(DomainError::Forbidden(
            "this account has no active membership in that firm".into(),
        ));
    };
    let amr = vec!["pwd".to_owned()];
    let response = start_session(&db, env, cx, &origin, &account.id, &membership, &amr).await?;
    let entry = auth_entry(
        &membership.firm_id,
        "sign_in.succeeded",
        Severity::Info,
        Outcome::Success,
    )
    .by(&account.id)
    .with(json!({"method": "pwd"}));
    edge::audit::record(&db, entry, &origin, cx.now).await;
    Ok(ratelimit::policy(response, &SIGN_IN_LIMIT))
}

fn refresh_token_of(body: &serde_json::Value) -> Result<String, DomainError> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["refresh_token"]);
    let token = input
        .string(&mut v, "refresh_token", true)
        .map(str::to_owned);
    if token.as_ref().is_some_and(|t| t.len() > 200) {
        v.add(
            "refresh_token",
            "format",
            "refresh_token is not a refresh token",
        );
    }
    v.finish()?;
    token.ok_or_else(|| {
        DomainError::invalid("refresh_token", "required", "refresh_token is required")
    })
}

fn invalid_refresh() -> DomainError {
    DomainError::Unauthenticated("the refresh token is not valid; sign in again".into())
}

async fn refresh(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(
        env,
        &REFRESH_LIMIT,
        &origin,
        &db,
        cx,
        "refresh.rate_limited",
    )
    .await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let presented = refresh_token_of(&body)?;
    match sessions::rotate(&db, &presented, cx.now).await? {
        Refresh::Invalid => Err(invalid_refresh()),
        Refresh::Reused {
            session_id,
            user_id,
            firm_id,
        } => {
            let entry = auth_entry(
                &firm_id,
                "session.refresh_token_reused",
                Severity::Critical,
                Outcome::Denied,
            )
            .on(&session_id)
            .with(json!({"user_id": user_id, "effect": "session revoked"}));
            edge::audit::record(&db, entry, &origin, cx.now).await;
            Err(invalid_refresh())
        }
        Refresh::Rotated {
            session_id,
            user_id,
            firm_id,
            amr,
            refresh_token,
        } => {
            // The role may have changed, or the membership ended, since the last token.
            let Some(membership) = members::active_in(&db, &user_id, &firm_id).await? else {
                db.execute(sessions::revoke(&session_id, "membership_ended", cx.now))
                    .await?;
                return Err(invalid_refresh());
            };
            let claims = AccessClaims::for_member(&user_id, &membership, &session_id, &amr);
            let all = members::active_for_user(&db, &user_id).await?;
            let body = auth::session_body(env, claims, &refresh_token, &all, cx.now)?;
            Ok(ratelimit::policy(
                http::json(200, &body, &cx.request_id),
                &REFRESH_LIMIT,
            ))
        }
    }
}

async fn sign_out(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env)?;
    let db = D1::from_env(env)?;
    sessions::revoke_own(
        &db,
        claims.user_id(),
        claims.session_id(),
        "signed_out",
        cx.now,
    )
    .await?;
    let entry = auth_entry(
        claims.firm_id(),
        "sign_out",
        Severity::Info,
        Outcome::Success,
    )
    .by(claims.user_id())
    .on(claims.session_id());
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::empty(204, &cx.request_id))
}

async fn switch_firm(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = Input::body(&body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["firm"]);
    let firm = input
        .string(&mut v, "firm", true)
        .map(|s| s.trim().to_owned());
    v.finish()?;
    let firm = firm.ok_or_else(|| DomainError::invalid("firm", "required", "firm is required"))?;
    let db = D1::from_env(env)?;
    let Some(membership) = members::active_in(&db, claims.user_id(), &firm).await? else {
        return Err(DomainError::Forbidden(
            "you are not an active member of that firm".into(),
        ));
    };
    let origin = cx.origin(&req);
    let response = start_session(
        &db,
        env,
        cx,
        &origin,
        claims.user_id(),
        &membership,
        claims.methods(),
    )
    .await?;
    let entry = auth_entry(
        &membership.firm_id,
        "firm.switched_in",
        Severity::Info,
        Outcome::Success,
    )
    .by(claims.user_id())
    .with(json!({"from_firm": claims.firm_id()}));
    edge::audit::record(&db, entry, &origin, cx.now).await;
    Ok(response)
}

async fn list_sessions(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env)?;
    let live = sessions::live_for_user(&D1::from_env(env)?, claims.user_id(), cx.now).await?;
    let items: Vec<serde_json::Value> = live
        .into_iter()
        .map(|s| {
            let current = s.id == claims.session_id();
            let mut value = serde_json::to_value(s).unwrap_or_default();
            if let Some(obj) = value.as_object_mut() {
                obj.insert("current".to_owned(), current.into());
            }
            value
        })
        .collect();
    Ok(http::json(
        200,
        &json!({"items": items, "next_cursor": null}),
        &cx.request_id,
    ))
}

async fn revoke_session(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let claims = cx.claims(&req, env)?;
    let raw = params
        .iter()
        .find(|(k, _)| *k == "session_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let session_id = id::parse("session_id", "ses", raw)?;
    let db = D1::from_env(env)?;
    if !sessions::revoke_own(
        &db,
        claims.user_id(),
        &session_id,
        "revoked_by_user",
        cx.now,
    )
    .await?
    {
        return Err(DomainError::NotFound("session"));
    }
    let entry = auth_entry(
        claims.firm_id(),
        "session.revoked",
        Severity::Info,
        Outcome::Success,
    )
    .by(claims.user_id())
    .on(&session_id);
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::empty(204, &cx.request_id))
}
