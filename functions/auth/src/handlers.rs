//! HTTP handlers of the identity module.

use edge::http::{self, read_json};
use edge::ratelimit::{self, Limit};
use edge::session::{self, auth_entry, limited, Grant, SIGN_IN_LIMIT};
use edge::{auth, config, RequestContext, D1};
use serde_json::json;
use shared::auth::api_keys::{self, NewApiKey};
use shared::auth::claims::{AccessClaims, VerifiedClaims};
use shared::auth::mfa::{self, Proof};
use shared::auth::recovery::{self, ChangePassword, Purpose, ResetPassword};
use shared::auth::roles::{Access, Area};
use shared::auth::sessions::{self, Refresh};
use shared::auth::signin::{self, Credentials, Failure};
use shared::auth::sms;
use shared::auth::users;
use shared::firm::members;
use shared::kernel::audit::{Category, Entry, Outcome, Severity, PLATFORM_CHAIN};
use shared::kernel::id;
use shared::kernel::secrets::SecretBox;
use shared::kernel::sql::Sql as _;
use shared::kernel::validate::{Input, Validator};
use shared::mail;
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;

const MFA_LIMIT: Limit = Limit {
    binding: "MFA_LIMITER",
    limit: 5,
    period_secs: 60,
};
const RECOVERY_LIMIT: Limit = Limit {
    binding: "RECOVERY_LIMITER",
    limit: 5,
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
        "answerMfaChallenge" => answer_challenge(req, env, cx).await,
        "getMfa" => get_mfa(req, env, cx).await,
        "enrolTotp" => enrol_totp(req, env, cx).await,
        "confirmTotp" => confirm_totp(req, env, cx).await,
        "removeTotp" => remove_totp(req, env, cx).await,
        "regenerateRecoveryCodes" => regenerate_recovery_codes(req, env, cx).await,
        "stepUp" => step_up(req, env, cx).await,
        "enrolSms" => enrol_sms(req, env, cx).await,
        "confirmSms" => confirm_sms(req, env, cx).await,
        "removeSms" => remove_sms(req, env, cx).await,
        "sendChallengeSms" => send_challenge_sms(req, env, cx).await,
        "sendSmsCode" => send_sms_code(req, env, cx).await,
        "createApiKey" => create_api_key(req, env, cx).await,
        "forgotPassword" => forgot_password(req, env, cx).await,
        "changePassword" => change_password(req, env, cx).await,
        "resetPassword" => reset_password(req, env, cx).await,
        "requestEmailVerification" => request_verification(req, env, cx).await,
        "verifyEmail" => verify_email(req, env, cx).await,
        "listApiKeys" => list_api_keys(req, env, cx).await,
        "revokeApiKey" => revoke_api_key(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
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
fn refresh_token_of(req: &Request, body: &serde_json::Value) -> Result<String, DomainError> {
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

async fn sign_out(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn switch_firm(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn list_sessions(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn revoke_session(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let raw = http::path_param(params, "session_id");
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

fn secret_box(env: &Env) -> Result<SecretBox, DomainError> {
    SecretBox::from_config(&config::required(env, "SECRETS_KEYS")?)
}

/// Reads `{"code"}` or `{"recovery_code"}` (plus any `extra` fields) from a body.
fn proof_of(
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

fn wrong_factor() -> DomainError {
    DomainError::Unauthenticated("the code is wrong, expired or already used".into())
}

async fn answer_challenge(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(env, &MFA_LIMIT, &origin, &db, cx, "mfa.rate_limited").await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let (proof, extras) = proof_of(&body, &["challenge"])?;
    let token = extras.into_iter().next().flatten().unwrap_or_default();
    let Some(challenged) = mfa::attempt(&db, &token, cx.now).await? else {
        return Err(DomainError::Unauthenticated(
            "the challenge is unknown, expired or used up; sign in again".into(),
        ));
    };
    if !mfa::verify(&db, &secret_box(env)?, &challenged.user_id, &proof, cx.now).await? {
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

async fn get_mfa(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let status = mfa::status(&D1::from_env(env)?, claims.user_id()).await?;
    Ok(http::json(200, &status, &cx.request_id))
}

/// Sensitive MFA changes need a recent second factor once one exists.
async fn stepped_up(
    db: &D1,
    claims: &VerifiedClaims,
    cx: &RequestContext,
) -> Result<(), DomainError> {
    mfa::require_step_up(claims, mfa::enabled(db, claims.user_id()).await?, cx.now)
}

async fn enrol_totp(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    ratelimit::check(env, &MFA_LIMIT, &format!("user:{}", claims.user_id())).await?;
    let db = D1::from_env(env)?;
    stepped_up(&db, &claims, cx).await?;
    let email = users::email_of(&db, claims.user_id()).await?;
    let enrolment =
        mfa::start_enrolment(&db, &secret_box(env)?, claims.user_id(), &email, cx.now).await?;
    Ok(http::json(201, &enrolment, &cx.request_id))
}

async fn confirm_totp(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
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
        &secret_box(env)?,
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
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    notify(
        &db,
        env,
        cx,
        claims.user_id(),
        "an authenticator app was added as a second factor",
    )
    .await;
    Ok(http::json(
        200,
        &json!({"recovery_codes": codes}),
        &cx.request_id,
    ))
}

async fn remove_totp(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    notify(
        &db,
        env,
        cx,
        claims.user_id(),
        "the authenticator app was removed",
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

async fn regenerate_recovery_codes(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn step_up(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    claims.person()?;
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(env, &MFA_LIMIT, &origin, &db, cx, "mfa.rate_limited").await?;
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
    if !mfa::verify(&db, &secret_box(env)?, claims.user_id(), &proof, cx.now).await? {
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

async fn create_api_key(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn list_api_keys(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    claims.require(Area::Admin, Access::Read)?;
    let keys = api_keys::list(&D1::from_env(env)?, &scope).await?;
    Ok(http::unpaged(&keys, &cx.request_id))
}

async fn revoke_api_key(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &[(&'static str, String)],
) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    claims.require(Area::Admin, Access::Write)?;
    let raw = http::path_param(params, "key_id");
    let key_id = id::parse("key_id", "key", raw)?;
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

fn app_url(env: &Env) -> String {
    config::text(env, "APP_URL").unwrap_or_else(|| "https://app.firmament.app".to_owned())
}

async fn forgot_password(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(
        env,
        &RECOVERY_LIMIT,
        &origin,
        &db,
        cx,
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

async fn reset_password(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(
        env,
        &RECOVERY_LIMIT,
        &origin,
        &db,
        cx,
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
    edge::audit::record(&db, entry, &origin, cx.now).await;
    notify(&db, env, cx, &consumed.user_id, "your password was reset").await;
    Ok(http::empty(204, &cx.request_id))
}

async fn request_verification(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn verify_email(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(
        env,
        &RECOVERY_LIMIT,
        &origin,
        &db,
        cx,
        "email.verify_rate_limited",
    )
    .await?;
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

/// Sends a second-factor code to the user's confirmed phone.
async fn text_code(
    db: &D1,
    env: &Env,
    user_id: &str,
    cx: &RequestContext,
) -> Result<String, DomainError> {
    let phone = sms::factor(db, user_id)
        .await?
        .filter(|f| f.confirmed_at.is_some())
        .ok_or_else(|| {
            DomainError::invalid(
                "method",
                "no_phone",
                "no confirmed phone for text-message codes",
            )
        })?
        .phone;
    let (code, stored) = sms::new_code(db, user_id, sms::Purpose::SecondFactor, cx.now).await?;
    db.execute(stored).await?;
    edge::sms::send(env, &phone, &sms::message(&code)).await?;
    Ok(sms::hint(&phone))
}

async fn enrol_sms(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

async fn confirm_sms(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
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
        return Err(DomainError::invalid(
            "sms_code",
            "mismatch",
            "the code is wrong, expired or already used",
        ));
    }
    let first_factor = mfa::status(&db, &user_id).await?.recovery_codes_left == 0;
    let mut statements = vec![
        sms::confirm(&user_id, cx.now),
        sessions::record_second_factor(claims.session_id(), cx.now),
    ];
    let mut codes = Vec::new();
    if first_factor {
        let (fresh, stored) = mfa::new_recovery_codes(&user_id, cx.now)?;
        statements.extend(stored);
        codes = fresh;
    }
    db.batch(statements).await?;
    let entry = auth_entry(
        claims.firm_id(),
        "mfa.sms_enrolled",
        Severity::Info,
        Outcome::Success,
    )
    .by(&user_id);
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    notify(
        &db,
        env,
        cx,
        &user_id,
        "a phone was added as a second factor",
    )
    .await;
    Ok(http::json(
        200,
        &json!({"recovery_codes": codes}),
        &cx.request_id,
    ))
}

async fn remove_sms(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    notify(
        &db,
        env,
        cx,
        &user_id,
        "the phone was removed as a second factor",
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

async fn send_challenge_sms(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let db = D1::from_env(env)?;
    let origin = cx.origin(&req);
    limited(env, &MFA_LIMIT, &origin, &db, cx, "mfa.rate_limited").await?;
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

async fn send_sms_code(req: Request, env: &Env, cx: &RequestContext) -> Handled {
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

/// Mails the account holder that `change` happened (best effort: queued, and retried
/// by the sweep if the first delivery fails).
async fn notify(db: &D1, env: &Env, cx: &RequestContext, user_id: &str, change: &str) {
    let sent = async {
        let address = users::email_of(db, user_id).await?;
        edge::mail::queue_and_send(
            db,
            env,
            cx,
            &address,
            mail::templates::security_notice(change),
            Vec::new(),
        )
        .await
    };
    if let Err(e) = sent.await {
        edge::log::event(
            "warn",
            &cx.request_id,
            "security notice not queued",
            json!({"error": e.to_string()}),
        );
    }
}

async fn change_password(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let claims = cx.claims(&req, env).await?;
    let user_id = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    stepped_up(&db, &claims, cx).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let change = ChangePassword::parse(&body)?;
    if !recovery::is_current_password(&db, &user_id, &change.current_password).await? {
        return Err(DomainError::invalid(
            "current_password",
            "mismatch",
            "current_password is not the account's password",
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
    edge::audit::record(&db, entry, &cx.origin(&req), cx.now).await;
    notify(&db, env, cx, &user_id, "your password was changed").await;
    Ok(http::empty(204, &cx.request_id))
}
