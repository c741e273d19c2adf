//! Opening a session and answering with its tokens, shared by every worker that
//! signs people in (password and second factor in `auth`, identity providers in
//! `sso`), plus the per-address rate limit those routes share.

use shared::auth::claims::AccessClaims;
use shared::auth::{sessions, signin};
use shared::firm::members::{self, Membership};
use shared::kernel::audit::{Category, Entry, Origin, Outcome, Severity, PLATFORM_CHAIN};
use shared::kernel::sql::Sql as _;
use shared::DomainError;
use worker::{Env, Response};

use crate::ratelimit::{self, Limit};
use crate::{auth, http, RequestContext, D1};

/// Sign-in attempts per client address (shared by every sign-in route).
pub const SIGN_IN_LIMIT: Limit = Limit {
    binding: "SIGN_IN_LIMITER",
    limit: 10,
    period_secs: 60,
};

/// An audit entry of the identity kind.
pub fn auth_entry(
    chain: &str,
    action: &'static str,
    severity: Severity,
    outcome: Outcome,
) -> Entry {
    Entry::new(chain, Category::Auth, action, severity, outcome)
}

/// Counts the request against `limit` for its client address; a refusal is audited.
async fn limited(
    env: &Env,
    limit: &Limit,
    origin: &Origin,
    db: &D1,
    cx: &RequestContext,
    action: &'static str,
) -> Result<(), DomainError> {
    let key = origin.ip.clone().unwrap_or_else(|| "unknown".to_owned());
    if let Err(e) = ratelimit::check(env, limit, &key).await {
        if matches!(e, DomainError::RateLimited { .. }) {
            crate::audit::record(
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

/// The opening of every public identity route: the database, the client's origin,
/// and one count against `limit` for its address (refusals audited as `action`).
pub async fn guard(
    env: &Env,
    req: &worker::Request,
    cx: &RequestContext,
    limit: &Limit,
    action: &'static str,
) -> Result<(D1, Origin), DomainError> {
    let db = D1::from_env(env)?;
    let origin = cx.origin(req);
    limited(env, limit, &origin, &db, cx, action).await?;
    Ok((db, origin))
}

/// Who a new session is for and how they proved it.
pub struct Grant<'a> {
    /// The person.
    pub user_id: &'a str,
    /// The firm and role they sign into.
    pub membership: &'a Membership,
    /// How they authenticated.
    pub amr: &'a [String],
    /// When they last proved a second factor.
    pub mfa_at: Option<i64>,
    /// Answer with cookies (a browser session) instead of tokens in the body.
    pub browser: bool,
}

/// A session answer, as tokens in the body or, for browsers, as cookies.
pub fn respond(
    body: serde_json::Value,
    browser: bool,
    cx: &RequestContext,
) -> Result<Response, DomainError> {
    if !browser {
        return Ok(http::json(200, &body, &cx.request_id));
    }
    let (body, cookies) = auth::into_cookies(body)?;
    Ok(http::with_cookies(
        http::json(200, &body, &cx.request_id),
        &cookies,
    ))
}

/// The answer to someone coming back from an identity provider: a browser gets
/// its session cookies and a `303 See Other` to the console (`APP_URL`) instead
/// of a JSON page; any other client the tokens as they are.
pub fn back_from_provider(env: &Env, browser: bool, response: Response) -> Response {
    if !browser {
        return response;
    }
    let app = crate::config::text(env, "APP_URL").unwrap_or_else(|| "/".to_owned());
    let location = format!("{}/", app.trim_end_matches('/'));
    http::with_header(response.with_status(303), "location", &location)
}

/// Opens a session for the grant and answers with its tokens.
pub async fn start(
    db: &D1,
    env: &Env,
    cx: &RequestContext,
    origin: &Origin,
    grant: Grant<'_>,
) -> Result<Response, DomainError> {
    let Grant {
        user_id,
        membership,
        amr,
        mfa_at,
        browser,
    } = grant;
    let session = sessions::open(user_id, &membership.firm_id, amr, mfa_at, origin, cx.now)?;
    let mut statements = session.statements;
    statements.push(signin::record_success(user_id));
    statements.push(members::touch(user_id, membership, cx.now.millis()));
    let claims = AccessClaims::for_member(user_id, membership, &session.id, amr, mfa_at);
    let all = members::active_for_user(db, user_id).await?;
    let body = auth::session_body(env, claims, &session.refresh_token, &all, cx.now)?;
    db.batch(statements).await?;
    respond(body, browser, cx)
}
