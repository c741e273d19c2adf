//! Password sign-in, refresh, sign-out, sessions and firm switching.

use super::*;

pub(super) async fn sign_in(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (db, origin) =
        session::guard(env, &req, cx, &SIGN_IN_LIMIT, "sign_in.rate_limited").await?;
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
    if mfa::enabled(&db, &account.id).await? {
        // The password was right; the session waits for the second factor.
        let status = mfa::status(&db, &account.id).await?;
        let mut methods = Vec::new();
        if status.totp {
            methods.push("totp");
        }
        if status.sms {
            methods.push("sms");
        }
        methods.push("recovery_code");
        let challenge = mfa::open_challenge(&account.id, &membership.firm_id, cx.now)?;
        db.batch(vec![
            challenge.statement,
            signin::record_success(&account.id),
        ])
        .await?;
        let entry = auth_entry(
            &membership.firm_id,
            "sign_in.mfa_challenged",
            Severity::Info,
            Outcome::Success,
        )
        .by(&account.id);
        edge::audit::record(&db, entry, &origin, cx.now).await;
        let body = json!({
            "mfa_required": true,
            "challenge": challenge.token,
            "methods": methods,
            "expires_in": mfa::CHALLENGE_TTL_MS / 1000,
        });
        return Ok(ratelimit::policy(
            http::json(200, &body, &cx.request_id),
            &SIGN_IN_LIMIT,
        ));
    }
    let amr = vec!["pwd".to_owned()];
    let response = session::start(
        &db,
        env,
        cx,
        &origin,
        Grant {
            user_id: &account.id,
            membership: &membership,
            amr: &amr,
            mfa_at: None,
            browser: auth::wants_cookies(&req),
        },
    )
    .await?;
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

/// The refresh token from the body, or for a browser from its cookie (after the
/// CSRF check).
pub(super) fn refresh_token_of(
    req: &Request,
    body: &serde_json::Value,
) -> Result<String, DomainError> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["refresh_token"]);
    let cookies = req
        .headers()
        .get("cookie")
        .ok()
        .flatten()
        .unwrap_or_default();
    let from_cookie =
        match shared::auth::browser::cookie(&cookies, shared::auth::browser::REFRESH_COOKIE) {
            Some(token) if body.get("refresh_token").is_none() => {
                auth::check_csrf(req, &cookies)?;
                Some(token.to_owned())
            }
            _ => None,
        };
    let token = match from_cookie {
        Some(token) => Some(token),
        None => input
            .string(&mut v, "refresh_token", true)
            .map(str::to_owned),
    };
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

pub(super) fn invalid_refresh() -> DomainError {
    DomainError::Unauthenticated("the refresh token is not valid; sign in again".into())
}

pub(super) async fn refresh(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (db, origin) =
        session::guard(env, &req, cx, &REFRESH_LIMIT, "refresh.rate_limited").await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let presented = refresh_token_of(&req, &body)?;
    let browser = auth::wants_cookies(&req) || body.get("refresh_token").is_none();
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
            mfa_at,
            refresh_token,
        } => {
            // The role may have changed, or the membership ended, since the last token.
            let Some(membership) = members::active_in(&db, &user_id, &firm_id).await? else {
                db.execute(sessions::revoke(&session_id, "membership_ended", cx.now))
                    .await?;
                return Err(invalid_refresh());
            };
            let claims = AccessClaims::for_member(&user_id, &membership, &session_id, &amr, mfa_at);
            let all = members::active_for_user(&db, &user_id).await?;
            let body = auth::session_body(env, claims, &refresh_token, &all, cx.now)?;
            Ok(ratelimit::policy(
                session::respond(body, browser, cx)?,
                &REFRESH_LIMIT,
            ))
        }
    }
}

pub(super) async fn sign_out(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
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
    Ok(http::with_cookies(
        http::empty(204, &cx.request_id),
        &shared::auth::browser::cleared_cookies(),
    ))
}

pub(super) async fn switch_firm(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
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
    let response = session::start(
        &db,
        env,
        cx,
        &origin,
        Grant {
            user_id: claims.user_id(),
            membership: &membership,
            amr: claims.methods(),
            mfa_at: claims.mfa_at(),
            browser: auth::wants_cookies(&req),
        },
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

pub(super) async fn list_sessions(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
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
    Ok(http::unpaged(&items, &cx.request_id))
}

pub(super) async fn revoke_session(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let session_id = http::path_id(params, "session_id")?;
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
