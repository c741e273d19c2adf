//! HTTP handlers of the single sign-on module.

use edge::http;
use edge::session::{self, auth_entry, Grant, SIGN_IN_LIMIT};
use edge::{auth, config, RequestContext, D1};
use serde_json::json;
use shared::auth::oidc::{self, StartRequest};
use shared::auth::roles::{Access, Area};
use shared::auth::saml::{dsig, sp, xml};
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
        "getSamlConfig" => get_saml_config(req, env, cx).await,
        "putSamlConfig" => put_saml_config(req, env, cx).await,
        "getSamlMetadata" => saml_metadata(env, cx, &params).await,
        "startSaml" => start_saml(req, env, cx, &params).await,
        "finishSaml" => finish_saml(req, env, cx, &params).await,
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
    let (db, _) = session::guard(env, &req, cx, &SIGN_IN_LIMIT, "oidc.rate_limited").await?;
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
    let (db, origin) = session::guard(env, &req, cx, &SIGN_IN_LIMIT, "oidc.rate_limited").await?;
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
    let browser = grant.browser;
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
    Ok(session::back_from_provider(env, browser, response))
}

fn api_url(env: &Env) -> String {
    config::text(env, "API_URL").unwrap_or_else(|| "https://api.firmament.app".to_owned())
}

async fn firm_saml(
    db: &D1,
    params: &[(&'static str, String)],
) -> Result<sp::FirmSaml, DomainError> {
    let slug = http::path_param(params, "slug");
    sp::for_slug(db, slug)
        .await?
        .ok_or(DomainError::NotFound("SAML configuration"))
}

async fn get_saml_config(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let db = D1::from_env(env)?;
    let firm = shared::firm::repository::get(&db, &scope).await?;
    // Not configured yet: `config` is null, and our side's identifiers are still
    // answered, since the identity provider needs them first.
    let config = sp::for_slug(&db, &firm.slug)
        .await?
        .map(|found| found.config);
    let (entity_id, acs_url) = sp::endpoints(&api_url(env), &firm.slug);
    Ok(http::json(
        200,
        &json!({"config": config, "sp_entity_id": entity_id, "acs_url": acs_url}),
        &cx.request_id,
    ))
}

async fn put_saml_config(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    claims.require(Area::Admin, Access::Write)?;
    let db = D1::from_env(env)?;
    shared::auth::mfa::require_step_up(
        &claims,
        shared::auth::mfa::enabled(&db, &user_id).await?,
        cx.now,
    )?;
    let (_, body) = http::read_json(&mut req, config::body_limit(env)).await?;
    let saml = sp::SamlConfig::parse(&body)?;
    db.execute(saml.store(scope.firm_id(), cx.now)).await?;
    let firm = shared::firm::repository::get(&db, &scope).await?;
    let entry = shared::kernel::audit::Entry::new(
        scope.firm_id(),
        shared::kernel::audit::Category::Config,
        "sso.saml_configured",
        Severity::Warning,
        Outcome::Success,
    )
    .by(&user_id)
    .with(json!({"idp_entity_id": saml.idp_entity_id}));
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    let (entity_id, acs_url) = sp::endpoints(&api_url(env), &firm.slug);
    Ok(http::json(
        200,
        &json!({"config": saml, "sp_entity_id": entity_id, "acs_url": acs_url}),
        &cx.request_id,
    ))
}

async fn saml_metadata(
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let db = D1::from_env(env)?;
    firm_saml(&db, params).await?;
    let (entity_id, acs_url) = sp::endpoints(&api_url(env), http::path_param(params, "slug"));
    Ok(http::document(
        200,
        "application/samlmetadata+xml",
        sp::metadata(&entity_id, &acs_url),
        &cx.request_id,
    ))
}

async fn start_saml(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (db, _) = session::guard(env, &req, cx, &SIGN_IN_LIMIT, "saml.rate_limited").await?;
    let firm = firm_saml(&db, params).await?;
    let (entity_id, acs_url) = sp::endpoints(&api_url(env), http::path_param(params, "slug"));
    let browser =
        auth::wants_cookies(&req) || http::query_param(&req, "mode").as_deref() == Some("cookie");
    let (request, stored) = sp::authn_request(
        &firm.firm_id,
        &firm.config,
        &entity_id,
        &acs_url,
        browser,
        cx.now,
    )?;
    db.execute(stored).await?;
    let separator = if firm.config.idp_sso_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{separator}{}",
        firm.config.idp_sso_url,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLRequest", &request)
            .finish()
    );
    let answer = http::json(302, &json!({"authorization_url": location}), &cx.request_id);
    Ok(http::with_header(answer, "location", &location))
}

async fn finish_saml(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (db, origin) = session::guard(env, &req, cx, &SIGN_IN_LIMIT, "saml.rate_limited").await?;
    let firm = firm_saml(&db, params).await?;
    let body = http::read_body(&mut req, config::body_limit(env)).await?;
    let encoded = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "SAMLResponse")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            DomainError::invalid(
                "SAMLResponse",
                "required",
                "SAMLResponse is required (HTTP-POST binding)",
            )
        })?;
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.split_whitespace().collect::<String>())
        .map_err(|_| {
            DomainError::invalid("SAMLResponse", "format", "SAMLResponse must be base64")
        })?;
    let text = String::from_utf8(decoded).map_err(|_| {
        DomainError::invalid("SAMLResponse", "format", "SAMLResponse must be UTF-8 XML")
    })?;
    let document = xml::parse(&text)?;
    let key = dsig::idp_key(&firm.config.idp_certificate)?;
    let refused_entry = |why: &str| {
        shared::kernel::audit::Entry::new(
            &firm.firm_id,
            shared::kernel::audit::Category::Auth,
            "saml.assertion_refused",
            Severity::Warning,
            Outcome::Denied,
        )
        .with(json!({"reason": why}))
    };
    let assertion = match dsig::verified_assertion(&document, &key) {
        Ok(a) => a,
        Err(e) => {
            edge::audit::record(&db, refused_entry(&e.detail()), &origin, cx.now).await;
            return Err(e);
        }
    };
    let (entity_id, acs_url) = sp::endpoints(&api_url(env), http::path_param(params, "slug"));
    let person = match sp::check(assertion, &firm.config, &entity_id, &acs_url, cx.now) {
        Ok(p) => p,
        Err(e) => {
            edge::audit::record(&db, refused_entry(&e.detail()), &origin, cx.now).await;
            return Err(e);
        }
    };
    let browser = sp::answered(&db, &firm, &person, cx.now).await?;
    if let Err(e) = db.execute(sp::remember(&firm.firm_id, &person)).await {
        if shared::kernel::sql::violates_unique(&e, "sso_saml_assertions.firm_id") {
            edge::audit::record(&db, refused_entry("replayed assertion"), &origin, cx.now).await;
            return Err(DomainError::Unauthenticated(
                "the SAML assertion was already used".into(),
            ));
        }
        return Err(e);
    }
    let (user_id, membership) = sp::member_for(&db, &firm, &person, cx.now).await?;
    let amr = vec!["saml".to_owned()];
    let grant = Grant {
        user_id: &user_id,
        membership: &membership,
        amr: &amr,
        mfa_at: None,
        browser,
    };
    let response = session::start(&db, env, cx, &origin, grant).await?;
    let entry = auth_entry(
        &firm.firm_id,
        "sign_in.succeeded",
        Severity::Info,
        Outcome::Success,
    )
    .by(&user_id)
    .with(json!({"method": "saml"}));
    edge::audit::record(&db, entry, &origin, cx.now).await;
    Ok(session::back_from_provider(env, browser, response))
}
