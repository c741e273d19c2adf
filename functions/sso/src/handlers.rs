//! HTTP handlers of the single sign-on module.

use edge::http;
use edge::session::{self, auth_entry, limited, Grant, SIGN_IN_LIMIT};
use edge::{auth, config, RequestContext, D1};
use serde_json::json;
use shared::auth::oidc::{self, StartRequest};
use shared::firm::members;
use shared::kernel::audit::{Outcome, Severity, PLATFORM_CHAIN};
use shared::kernel::sql::Sql as _;
use shared::kernel::validate::Validator;
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
        "startOidc" => start_oidc(req, env, cx, &params).await,
        "finishOidc" => finish_oidc(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

fn callback_url(env: &Env, provider: &str) -> String {
    let base =
        config::text(env, "API_URL").unwrap_or_else(|| "https://api.firmament.app".to_owned());
    format!(
        "{}/v1/auth/oidc/{provider}/callback",
        base.trim_end_matches('/')
    )
}

async fn start_oidc(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(env, &SIGN_IN_LIMIT, &origin, &db, cx, "oidc.rate_limited").await?;
    let name = oidc::Provider::parse_name(http::path_param(params, "provider"))?;
    let (provider, _) = edge::oidc::provider(env, name)?;
    let discovery = edge::oidc::discovery(&provider, cx.now).await?;
    let firm = http::query_param(&req, "firm").filter(|f| (1..=64).contains(&f.len()));
    let hint = http::query_param(&req, "login_hint");
    let request = StartRequest {
        firm: firm.as_deref(),
        browser: auth::wants_cookies(&req)
            || http::query_param(&req, "mode").as_deref() == Some("cookie"),
        login_hint: hint.as_deref(),
    };
    let started = oidc::start(
        &provider,
        &discovery,
        &callback_url(env, name),
        &request,
        cx.now,
    )?;
    db.execute(started.statement).await?;
    let answer = http::json(
        302,
        &json!({"authorization_url": started.authorization_url}),
        &cx.request_id,
    );
    Ok(http::with_header(
        answer,
        "location",
        &started.authorization_url,
    ))
}

async fn finish_oidc(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(env, &SIGN_IN_LIMIT, &origin, &db, cx, "oidc.rate_limited").await?;
    let name = oidc::Provider::parse_name(http::path_param(params, "provider"))?;
    if let Some(error) = http::query_param(&req, "error") {
        return Err(DomainError::Unauthenticated(format!(
            "the identity provider did not sign you in ({error})"
        )));
    }
    let mut v = Validator::new();
    let code = http::query_param(&req, "code").filter(|c| (1..=2048).contains(&c.len()));
    let state = http::query_param(&req, "state").filter(|s| (1..=256).contains(&s.len()));
    if code.is_none() {
        v.add("code", "required", "code is required");
    }
    if state.is_none() {
        v.add("state", "required", "state is required");
    }
    v.finish()?;
    let (code, state) = (code.unwrap_or_default(), state.unwrap_or_default());
    let Some(pending) = oidc::take(&db, name, &state, cx.now).await? else {
        return Err(DomainError::Unauthenticated(
            "the sign-in request is unknown, expired or already used; start again".into(),
        ));
    };
    let (provider, secret) = edge::oidc::provider(env, name)?;
    let discovery = edge::oidc::discovery(&provider, cx.now).await?;
    let id_token = edge::oidc::exchange(
        &provider,
        &secret,
        &discovery,
        &code,
        &callback_url(env, name),
        &pending.code_verifier,
    )
    .await?;
    let jwks = edge::oidc::keys(&discovery, oidc::key_id(&id_token).as_deref(), cx.now).await?;
    let identity = match oidc::verify_id_token(
        &id_token,
        &jwks,
        &discovery,
        &provider.client_id,
        &pending.nonce,
        cx.now,
    ) {
        Ok(identity) => identity,
        Err(e) => {
            let entry = auth_entry(
                PLATFORM_CHAIN,
                "oidc.token_refused",
                Severity::Warning,
                Outcome::Denied,
            )
            .with(json!({"provider": name}));
            edge::audit::record(&db, entry, &origin, cx.now).await;
            return Err(e);
        }
    };
    let user_id = oidc::account_of(&db, name, &identity, cx.now).await?;
    let membership = match &pending.firm {
        Some(firm) => members::active_in(&db, &user_id, firm).await?,
        None => members::active_for_user(&db, &user_id)
            .await?
            .into_iter()
            .next(),
    };
    let Some(membership) = membership else {
        return Err(DomainError::Forbidden(
            "this account has no active membership in that firm".into(),
        ));
    };
    let amr = vec!["oidc".to_owned()];
    let grant = Grant {
        user_id: &user_id,
        membership: &membership,
        amr: &amr,
        mfa_at: None,
        browser: pending.browser != 0,
    };
    let response = session::start(&db, env, cx, &origin, grant).await?;
    let entry = auth_entry(
        &membership.firm_id,
        "sign_in.succeeded",
        Severity::Info,
        Outcome::Success,
    )
    .by(&user_id)
    .with(json!({"method": "oidc", "provider": name}));
    edge::audit::record(&db, entry, &origin, cx.now).await;
    Ok(response)
}
