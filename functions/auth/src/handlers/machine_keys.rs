//! API keys for machines.

use super::*;

pub(super) async fn create_api_key(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    claims.require(Area::Admin, Access::Write)?;
    let db = D1::from_env(env)?;
    stepped_up(&db, &claims, cx).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let created = api_keys::create(&scope, &user_id, NewApiKey::parse(&body)?, cx.now)?;
    db.execute(created.statement).await?;
    let entry = Entry::new(scope.firm_id(), Category::Permissions, "api_key.created", Severity::Warning, Outcome::Success)
        .by(&user_id)
        .on(&created.view.id)
        .with(json!({"name": created.view.name, "prefix": created.view.prefix, "scopes": created.view.scopes}));
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    let mut body = serde_json::to_value(&created.view).unwrap_or_default();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("key".to_owned(), created.key.into());
    }
    Ok(http::json(201, &body, &cx.request_id))
}

pub(super) async fn list_api_keys(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let keys = api_keys::list(&D1::from_env(env)?, &scope).await?;
    Ok(http::unpaged(&keys, &cx.request_id))
}

pub(super) async fn revoke_api_key(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    claims.require(Area::Admin, Access::Write)?;
    let key_id = http::path_id(params, "key_id")?;
    let db = D1::from_env(env)?;
    if !api_keys::revoke(&db, &scope, &key_id, cx.now).await? {
        return Err(DomainError::NotFound("API key"));
    }
    let entry = Entry::new(
        scope.firm_id(),
        Category::Permissions,
        "api_key.revoked",
        Severity::Info,
        Outcome::Success,
    )
    .by(&user_id)
    .on(&key_id);
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::empty(204, &cx.request_id))
}
