//! Password reset and change, address verification.

use super::*;

pub(super) fn app_url(env: &Env) -> String {
    config::text(env, "APP_URL").unwrap_or_else(|| "https://app.firmament.app".to_owned())
}

pub(super) async fn forgot_password(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (db, origin) = session::guard(
        env,
        &req,
        cx,
        &RECOVERY_LIMIT,
        "password.reset_rate_limited",
    )
    .await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let email = recovery::parse_forgot(&body)?;
    // The answer is the same whether or not the address has an account.
    if let Some((user_id, address)) = recovery::account_for(&db, &email).await? {
        let (token, stored) = recovery::issue(Purpose::PasswordReset, &user_id, &address, cx.now)?;
        edge::mail::queue_and_send(
            &db,
            env,
            cx,
            &address,
            mail::templates::password_reset(&app_url(env), &token),
            vec![stored],
        )
        .await?;
        let entry = auth_entry(
            PLATFORM_CHAIN,
            "password.reset_requested",
            Severity::Info,
            Outcome::Success,
        )
        .on(&user_id);
        edge::audit::record(&db, entry, &origin, cx.now).await;
    }
    let answer = json!({"status": "if an account uses this address, a link to reset its password is on its way"});
    Ok(ratelimit::policy(
        http::json(202, &answer, &cx.request_id),
        &RECOVERY_LIMIT,
    ))
}

pub(super) async fn reset_password(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (db, origin) = session::guard(
        env,
        &req,
        cx,
        &RECOVERY_LIMIT,
        "password.reset_rate_limited",
    )
    .await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let reset = ResetPassword::parse(&body)?;
    let Some(holder) = recovery::peek(&db, Purpose::PasswordReset, &reset.token, cx.now).await?
    else {
        return Err(recovery::token_refused());
    };
    let email = shared::kernel::validate::EmailAddress::parse("email", &holder.email).ok();
    let hash = reset.check_policy(email.as_ref())?.hash()?;
    let Some(consumed) =
        recovery::consume(&db, Purpose::PasswordReset, &reset.token, cx.now).await?
    else {
        return Err(recovery::token_refused());
    };
    db.batch(recovery::reset_statements(&consumed.user_id, &hash, cx.now))
        .await?;
    let entry = auth_entry(
        PLATFORM_CHAIN,
        "password.reset",
        Severity::Warning,
        Outcome::Success,
    )
    .by(&consumed.user_id)
    .with(json!({"effect": "every session revoked"}));
    security_change(&db, env, cx, &origin, entry, "your password was reset").await;
    Ok(http::empty(204, &cx.request_id))
}

pub(super) async fn request_verification(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    let address = users::email_of(&db, &user_id).await?;
    let (token, stored) = recovery::issue(Purpose::EmailVerification, &user_id, &address, cx.now)?;
    edge::mail::queue_and_send(
        &db,
        env,
        cx,
        &address,
        mail::templates::email_verification(&app_url(env), &token),
        vec![stored],
    )
    .await?;
    Ok(http::json(
        202,
        &json!({"status": "a confirmation link is on its way"}),
        &cx.request_id,
    ))
}

pub(super) async fn verify_email(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (db, origin) =
        session::guard(env, &req, cx, &RECOVERY_LIMIT, "email.verify_rate_limited").await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let token = recovery::parse_verification(&body)?;
    let Some(consumed) = recovery::consume(&db, Purpose::EmailVerification, &token, cx.now).await?
    else {
        return Err(recovery::token_refused());
    };
    db.execute(recovery::mark_verified(&consumed.user_id, cx.now))
        .await?;
    let entry = auth_entry(
        PLATFORM_CHAIN,
        "email.verified",
        Severity::Info,
        Outcome::Success,
    )
    .by(&consumed.user_id);
    edge::audit::record(&db, entry, &origin, cx.now).await;
    Ok(http::empty(204, &cx.request_id))
}

pub(super) async fn change_password(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    stepped_up(&db, &claims, cx).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let change = ChangePassword::parse(&body)?;
    if !recovery::is_current_password(&db, &user_id, &change.current_password).await? {
        return Err(DomainError::Forbidden(
            "current_password is not the account's password".into(),
        ));
    }
    let email = shared::kernel::validate::EmailAddress::parse(
        "email",
        &users::email_of(&db, &user_id).await?,
    )
    .ok();
    let hash = change.check_policy(email.as_ref())?.hash()?;
    db.batch(recovery::change_statements(
        &user_id,
        &hash,
        claims.session_id(),
        cx.now,
    ))
    .await?;
    let entry = auth_entry(
        claims.firm_id(),
        "password.changed",
        Severity::Warning,
        Outcome::Success,
    )
    .by(&user_id)
    .with(json!({"effect": "other sessions revoked"}));
    security_change(
        &db,
        env,
        cx,
        &cx.origin(&req),
        entry,
        "your password was changed",
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

/// Who is signed in, where, and with what rights: the console builds its
/// navigation from `role` and `flags` with the permission matrix of `shared/`, and
/// offers `firms` to switch to.
pub(super) async fn get_me(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?;
    let db = D1::from_env(env)?;
    let me = me(&db, &claims, user_id).await?;
    Ok(http::json(200, &me, &cx.request_id))
}

/// Changes one's own name or console language.
pub(super) async fn update_me(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let patch = users::ProfilePatch::parse(&body)?;
    let db = D1::from_env(env)?;
    db.execute(patch.statement(&user_id, cx.now)).await?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Auth,
        "profile.updated",
        json!({"fields": patch.fields()}),
    )
    .await;
    let me = me(&db, &claims, &user_id).await?;
    Ok(http::json(200, &me, &cx.request_id))
}

async fn me(
    db: &D1,
    claims: &VerifiedClaims,
    user_id: &str,
) -> Result<serde_json::Value, DomainError> {
    let profile = users::profile(db, user_id).await?;
    let firm = shared::firm::repository::get(db, &claims.scope()).await?;
    let firms = members::active_for_user(db, user_id).await?;
    let client_name = firms
        .iter()
        .find(|m| m.firm_id == claims.firm_id())
        .and_then(|m| m.client_name.clone());
    Ok(json!({
        "user": profile,
        "firm": {
            "id": firm.id, "name": firm.name, "slug": firm.slug, "locale": firm.locale,
            "timezone": firm.timezone, "currency": firm.currency,
        },
        "role": claims.role(),
        "flags": claims.flags(),
        "client": claims.client_id().map(|id| json!({"id": id, "name": client_name})),
        "firms": firms,
        "session_id": claims.session_id(),
    }))
}
