//! Second factors: the sign-in challenge, TOTP, text messages, step-up.

use super::*;

/// Reads `{"code"}` or `{"recovery_code"}` (plus any `extra` fields) from a body.
pub(super) fn proof_of(
    body: &serde_json::Value,
    extra: &[&str],
) -> Result<(Proof, Vec<Option<String>>), DomainError> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    let mut known = vec!["code", "recovery_code", "sms_code"];
    known.extend_from_slice(extra);
    input.reject_unknown(&mut v, &known);
    let code = input.string(&mut v, "code", false);
    let recovery = input.string(&mut v, "recovery_code", false);
    let sms = input.string(&mut v, "sms_code", false);
    let extras = extra
        .iter()
        .map(|k| input.string(&mut v, k, true).map(str::to_owned))
        .collect();
    v.finish()?;
    Ok((Proof::parse(code, recovery, sms)?, extras))
}

pub(super) fn wrong_factor() -> DomainError {
    DomainError::Unauthenticated("the code is wrong, expired or already used".into())
}

pub(super) async fn answer_challenge(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (db, origin) = session::guard(env, &req, cx, &MFA_LIMIT, "mfa.rate_limited").await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let (proof, extras) = proof_of(&body, &["challenge"])?;
    let token = extras.into_iter().next().flatten().unwrap_or_default();
    let Some(challenged) = mfa::attempt(&db, &token, cx.now).await? else {
        return Err(DomainError::Unauthenticated(
            "the challenge is unknown, expired or used up; sign in again".into(),
        ));
    };
    if !mfa::verify(
        &db,
        &edge::keys::existing(env, &db, &challenged.user_id).await?,
        &challenged.user_id,
        &proof,
        cx.now,
    )
    .await?
    {
        let entry = auth_entry(
            &challenged.firm_id,
            "mfa.failed",
            Severity::Warning,
            Outcome::Failure,
        )
        .on(&challenged.user_id);
        edge::audit::record(&db, entry, &origin, cx.now).await;
        return Err(wrong_factor());
    }
    let Some(membership) =
        members::active_in(&db, &challenged.user_id, &challenged.firm_id).await?
    else {
        return Err(DomainError::Forbidden(
            "this account has no active membership in that firm".into(),
        ));
    };
    db.execute(mfa::close_challenge(&token, cx.now)).await?;
    let amr = vec!["pwd".to_owned(), proof.method().to_owned()];
    let response = session::start(
        &db,
        env,
        cx,
        &origin,
        Grant {
            user_id: &challenged.user_id,
            membership: &membership,
            amr: &amr,
            mfa_at: Some(cx.now.secs()),
            browser: auth::wants_cookies(&req),
        },
    )
    .await?;
    let method = if matches!(proof, Proof::RecoveryCode(_)) {
        "recovery_code"
    } else {
        "totp"
    };
    let entry = auth_entry(
        &membership.firm_id,
        "sign_in.succeeded",
        Severity::Info,
        Outcome::Success,
    )
    .by(&challenged.user_id)
    .with(json!({"method": "pwd", "second_factor": method}));
    edge::audit::record(&db, entry, &origin, cx.now).await;
    Ok(response)
}

pub(super) async fn get_mfa(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let status = mfa::status(&D1::from_env(env)?, claims.user_id()).await?;
    Ok(http::json(200, &status, &cx.request_id))
}

pub(super) async fn enrol_totp(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    ratelimit::check(env, &MFA_LIMIT, &format!("user:{}", claims.user_id())).await?;
    let db = D1::from_env(env)?;
    stepped_up(&db, &claims, cx).await?;
    let email = users::email_of(&db, claims.user_id()).await?;
    let enrolment = mfa::start_enrolment(
        &db,
        &edge::keys::keyring(env, &db, claims.user_id(), cx.now).await?,
        claims.user_id(),
        &email,
        cx.now,
    )
    .await?;
    Ok(http::json(201, &enrolment, &cx.request_id))
}

pub(super) async fn confirm_totp(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    ratelimit::check(env, &MFA_LIMIT, &format!("user:{}", claims.user_id())).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = Input::body(&body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["code"]);
    let code = input.string(&mut v, "code", true).map(str::to_owned);
    v.finish()?;
    let db = D1::from_env(env)?;
    let codes = mfa::confirm_enrolment(
        &db,
        &edge::keys::existing(env, &db, claims.user_id()).await?,
        claims.user_id(),
        &code.unwrap_or_default(),
        cx.now,
    )
    .await?;
    db.execute(sessions::record_second_factor(claims.session_id(), cx.now))
        .await?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.totp_enrolled",
        Severity::Info,
        Outcome::Success,
    )
    .by(claims.user_id());
    security_change(
        &db,
        env,
        cx,
        &cx.origin(&req),
        entry,
        "an authenticator app was added as a second factor",
    )
    .await;
    Ok(http::json(
        200,
        &json!({"recovery_codes": codes}),
        &cx.request_id,
    ))
}

pub(super) async fn remove_totp(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let db = D1::from_env(env)?;
    if !mfa::enabled(&db, claims.user_id()).await? {
        return Err(DomainError::NotFound("authenticator"));
    }
    stepped_up(&db, &claims, cx).await?;
    db.batch(mfa::remove(claims.user_id())).await?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.totp_removed",
        Severity::Warning,
        Outcome::Success,
    )
    .by(claims.user_id());
    security_change(
        &db,
        env,
        cx,
        &cx.origin(&req),
        entry,
        "the authenticator app was removed",
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

pub(super) async fn regenerate_recovery_codes(
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let db = D1::from_env(env)?;
    if !mfa::enabled(&db, claims.user_id()).await? {
        return Err(DomainError::NotFound("authenticator"));
    }
    stepped_up(&db, &claims, cx).await?;
    let (codes, statements) = mfa::new_recovery_codes(claims.user_id(), cx.now)?;
    db.batch(statements).await?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.recovery_codes_regenerated",
        Severity::Warning,
        Outcome::Success,
    )
    .by(claims.user_id());
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    Ok(http::json(
        200,
        &json!({"recovery_codes": codes}),
        &cx.request_id,
    ))
}

pub(super) async fn step_up(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let (db, origin) = session::guard(env, &req, cx, &MFA_LIMIT, "mfa.rate_limited").await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let (proof, _) = proof_of(&body, &[])?;
    if !mfa::enabled(&db, claims.user_id()).await? {
        return Err(DomainError::invalid(
            "code",
            "no_factor",
            "enrol an authenticator first",
        ));
    }
    if !sessions::is_live(&db, claims.session_id(), cx.now).await? {
        return Err(DomainError::Unauthenticated(
            "the session has ended; sign in again".into(),
        ));
    }
    if !mfa::verify(
        &db,
        &edge::keys::existing(env, &db, claims.user_id()).await?,
        claims.user_id(),
        &proof,
        cx.now,
    )
    .await?
    {
        let entry = auth_entry(
            claims.firm_id(),
            "mfa.step_up_failed",
            Severity::Warning,
            Outcome::Failure,
        )
        .by(claims.user_id());
        edge::audit::record(&db, entry, &origin, cx.now).await;
        return Err(wrong_factor());
    }
    db.execute(sessions::record_second_factor(claims.session_id(), cx.now))
        .await?;
    let Some(membership) = members::active_in(&db, claims.user_id(), claims.firm_id()).await?
    else {
        return Err(DomainError::Forbidden(
            "this account has no active membership in that firm".into(),
        ));
    };
    let mut amr = claims.methods().to_vec();
    if !amr.iter().any(|m| m == proof.method()) {
        amr.push(proof.method().to_owned());
    }
    let fresh = AccessClaims::for_member(
        claims.user_id(),
        &membership,
        claims.session_id(),
        &amr,
        Some(cx.now.secs()),
    );
    let issued = auth::signer(env)?.issue(fresh, cx.now)?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.stepped_up",
        Severity::Info,
        Outcome::Success,
    )
    .by(claims.user_id());
    edge::audit::record(&db, entry, &origin, cx.now).await;
    let answer = http::json(
        200,
        &json!({"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}),
        &cx.request_id,
    );
    if auth::wants_cookies(&req) {
        let cookie = shared::auth::browser::access_cookie(&issued.token, issued.expires_in);
        return Ok(http::with_cookies(answer, &[cookie]));
    }
    Ok(answer)
}

/// Sends a second-factor code to the user's confirmed phone.
pub(super) async fn text_code(
    db: &D1,
    env: &Env,
    user_id: &str,
    cx: &RequestContext,
) -> Result<String, DomainError> {
    let phone = sms::factor(db, user_id)
        .await?
        .filter(|f| f.confirmed_at.is_some())
        .ok_or_else(|| {
            DomainError::conflict("method", "no confirmed phone for text-message codes")
        })?
        .phone;
    let (code, stored) = sms::new_code(db, user_id, sms::Purpose::SecondFactor, cx.now).await?;
    db.execute(stored).await?;
    edge::sms::send(env, &phone, &sms::message(&code)).await?;
    Ok(sms::hint(&phone))
}

pub(super) async fn enrol_sms(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    stepped_up(&db, &claims, cx).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = Input::body(&body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["phone"]);
    let phone = input
        .string(&mut v, "phone", true)
        .and_then(|p| v.take(sms::parse_phone("phone", p)));
    v.finish()?;
    let phone =
        phone.ok_or_else(|| DomainError::invalid("phone", "required", "phone is required"))?;
    let (code, stored) = sms::new_code(&db, &user_id, sms::Purpose::Enrol, cx.now).await?;
    db.batch(vec![sms::enrol(&user_id, &phone, cx.now), stored])
        .await?;
    edge::sms::send(env, &phone, &sms::message(&code)).await?;
    Ok(http::json(
        202,
        &json!({"status": "a code is on its way", "phone_hint": sms::hint(&phone)}),
        &cx.request_id,
    ))
}

pub(super) async fn confirm_sms(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = Input::body(&body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["sms_code"]);
    let code = input.string(&mut v, "sms_code", true).map(str::to_owned);
    v.finish()?;
    let db = D1::from_env(env)?;
    if sms::factor(&db, &user_id).await?.is_none() {
        return Err(DomainError::NotFound("phone enrolment"));
    }
    if !sms::verify(
        &db,
        &user_id,
        sms::Purpose::Enrol,
        &code.unwrap_or_default(),
        cx.now,
    )
    .await?
    {
        return Err(mfa::wrong_code());
    }
    let (codes, mut statements) = mfa::codes_if_none(&db, &user_id, cx.now).await?;
    statements.push(sms::confirm(&user_id, cx.now));
    statements.push(sessions::record_second_factor(claims.session_id(), cx.now));
    db.batch(statements).await?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.sms_enrolled",
        Severity::Info,
        Outcome::Success,
    )
    .by(&user_id);
    security_change(
        &db,
        env,
        cx,
        &cx.origin(&req),
        entry,
        "a phone was added as a second factor",
    )
    .await;
    Ok(http::json(
        200,
        &json!({"recovery_codes": codes}),
        &cx.request_id,
    ))
}

pub(super) async fn remove_sms(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    if sms::factor(&db, &user_id).await?.is_none() {
        return Err(DomainError::NotFound("phone"));
    }
    stepped_up(&db, &claims, cx).await?;
    db.execute(sms::remove(&user_id)).await?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.sms_removed",
        Severity::Warning,
        Outcome::Success,
    )
    .by(&user_id);
    security_change(
        &db,
        env,
        cx,
        &cx.origin(&req),
        entry,
        "the phone was removed as a second factor",
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

pub(super) async fn send_challenge_sms(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    let (db, _) = session::guard(env, &req, cx, &MFA_LIMIT, "mfa.rate_limited").await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = Input::body(&body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["challenge"]);
    let token = input.string(&mut v, "challenge", true).map(str::to_owned);
    v.finish()?;
    let Some(challenged) = mfa::peek(&db, &token.unwrap_or_default(), cx.now).await? else {
        return Err(DomainError::Unauthenticated(
            "the challenge is unknown, expired or used up; sign in again".into(),
        ));
    };
    let hint = text_code(&db, env, &challenged.user_id, cx).await?;
    Ok(http::json(
        202,
        &json!({"status": "a code is on its way", "phone_hint": hint}),
        &cx.request_id,
    ))
}

pub(super) async fn send_sms_code(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    let hint = text_code(&db, env, &user_id, cx).await?;
    Ok(http::json(
        202,
        &json!({"status": "a code is on its way", "phone_hint": hint}),
        &cx.request_id,
    ))
}
