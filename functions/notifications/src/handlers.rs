//! HTTP handlers of the notifications module: each person's own inbox and
//! preferences (staff and portal users alike; nobody reads another's).

use edge::http;
use edge::{RequestContext, D1};
use serde_json::json;
use shared::kernel::sql::Sql as _;
use shared::notify::store;
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;
type Params = Vec<(&'static str, String)>;

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Params,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "listNotifications" => list(req, env, cx).await,
        "getUnreadNotificationCount" => unread(req, env, cx).await,
        "markNotificationRead" => mark_read(req, env, cx, &params).await,
        "markAllNotificationsRead" => mark_all(req, env, cx).await,
        "getNotificationPreferences" => get_preferences(req, env, cx).await,
        "putNotificationPreferences" => put_preferences(req, env, cx).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// The caller's firm and person.
async fn me(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
) -> Result<(String, String), DomainError> {
    let claims = cx.claims(req, env).await?;
    Ok((claims.firm_id().to_owned(), claims.user_id().to_owned()))
}

async fn list(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (firm, user) = me(&req, env, cx).await?;
    let page = http::page_request(&req)?;
    let unread = match http::query_param(&req, "unread").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(DomainError::invalid(
                "unread",
                "enum",
                "unread must be true or false",
            ));
        }
    };
    let items = store::inbox(&D1::from_env(env)?, &firm, &user, unread, &page).await?;
    Ok(http::json(200, &items, &cx.request_id))
}

async fn unread(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (firm, user) = me(&req, env, cx).await?;
    let n = store::unread_count(&D1::from_env(env)?, &firm, &user).await?;
    Ok(http::json(200, &json!({"unread": n}), &cx.request_id))
}

async fn mark_read(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (firm, user) = me(&req, env, cx).await?;
    let id = http::path_id(params, "notification_id")?;
    store::mark_read(&D1::from_env(env)?, &firm, &user, &id, cx.now).await?;
    Ok(http::empty(204, &cx.request_id))
}

async fn mark_all(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (firm, user) = me(&req, env, cx).await?;
    let marked = store::mark_all_read(&D1::from_env(env)?, &firm, &user, cx.now).await?;
    Ok(http::json(200, &json!({"marked": marked}), &cx.request_id))
}

async fn get_preferences(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (firm, user) = me(&req, env, cx).await?;
    let settings = store::settings(&D1::from_env(env)?, &firm, &user).await?;
    Ok(http::json(
        200,
        &store::settings_answer(&settings),
        &cx.request_id,
    ))
}

async fn put_preferences(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (firm, user) = me(&req, env, cx).await?;
    let (_, body) = http::read_json(&mut req, edge::config::body_limit(env)).await?;
    let db = D1::from_env(env)?;
    let current = store::settings(&db, &firm, &user).await?;
    let next = store::parse_settings(&body, &current)?;
    db.execute(store::save_settings(&firm, &user, &next, cx.now)?)
        .await?;
    Ok(http::json(
        200,
        &store::settings_answer(&next),
        &cx.request_id,
    ))
}
