//! HTTP handlers of the identity module.

use edge::http::{self, read_json};
use edge::ratelimit::{self, Limit};
use edge::session::{self, auth_entry, Grant, SIGN_IN_LIMIT};
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
use shared::kernel::audit::{Category, Entry, Origin, Outcome, Severity, PLATFORM_CHAIN};
use shared::kernel::sql::Sql as _;
use shared::kernel::validate::{Input, Validator};
use shared::mail;
use shared::DomainError;
use worker::{Env, Request, Response};

mod account;
mod factors;
mod machine_keys;
mod signing_in;

use account::*;
use factors::*;
use machine_keys::*;
use signing_in::*;

pub(super) type Handled = Result<Response, DomainError>;

pub(super) const MFA_LIMIT: Limit = Limit {
    binding: "MFA_LIMITER",
    limit: 5,
    period_secs: 60,
};

pub(super) const RECOVERY_LIMIT: Limit = Limit {
    binding: "RECOVERY_LIMITER",
    limit: 5,
    period_secs: 60,
};

pub(super) const REFRESH_LIMIT: Limit = Limit {
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
        "getMe" => get_me(req, env, cx).await,
        "updateMe" => update_me(req, env, cx).await,
        "listApiKeys" => list_api_keys(req, env, cx).await,
        "revokeApiKey" => revoke_api_key(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// Sensitive MFA changes need a recent second factor once one exists.
pub(super) async fn stepped_up(
    db: &D1,
    claims: &VerifiedClaims,
    cx: &RequestContext,
) -> Result<(), DomainError> {
    mfa::require_step_up(claims, mfa::enabled(db, claims.user_id()).await?, cx.now)
}

/// Records a change to the account's security (the entry's actor is its holder) and
/// tells the holder through the notifications module (a critical notice: in-app in
/// the firm it happened in, and by e-mail whatever their preferences).
pub(super) async fn security_change(
    db: &D1,
    env: &Env,
    cx: &RequestContext,
    origin: &Origin,
    entry: Entry,
    notice: &str,
) {
    let holder = entry.actor.clone();
    let chain = entry.chain.clone();
    edge::audit::record(db, entry, origin, cx.now).await;
    let Some(user_id) = holder else {
        return;
    };
    let told = async {
        let event = shared::notify::request::security_notice(&chain, &user_id, notice, cx.now)?;
        edge::events::write_and_publish(env, db, Vec::new(), &[event], cx.now, &cx.request_id).await
    };
    if let Err(e) = told.await {
        edge::log::event(
            "warn",
            &cx.request_id,
            "security notice not requested",
            json!({"error": e.to_string()}),
        );
    }
}
