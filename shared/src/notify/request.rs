//! How a module tells a person something: it writes a `notification.requested`
//! event in the batch of its change (never mail of its own). Variables that are
//! secrets — a link carrying a one-time token — travel sealed under the firm's data
//! key, so the firm's event log, the queue and the dispatcher never hold them in
//! clear; only the notifications module opens them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::templates;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::EventEnvelope;
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::vault::{Field, Keyring};

/// The event type (internal: not in the public catalogue, never sent to webhooks).
pub const REQUESTED: &str = "notification.requested";

/// Who is told: a person with an account, or an address (an invitee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// `usr_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// An e-mail address, for someone without an account in the firm yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Recipient {
    /// A person.
    pub fn user(id: &str) -> Self {
        Self {
            user_id: Some(id.to_owned()),
            email: None,
        }
    }

    /// An address.
    pub fn address(email: &str) -> Self {
        Self {
            user_id: None,
            email: Some(email.to_owned()),
        }
    }
}

/// The event's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    /// The template key.
    pub template: String,
    /// Who.
    pub recipients: Vec<Recipient>,
    /// Variables in clear.
    pub variables: Map<String, Value>,
    /// Secret variables, sealed (see [`sealed_field`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    /// Where the in-app item leads (a console path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The event `sealed` is bound to, when this request is part of a bigger one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_for: Option<String>,
}

/// A variables map from pairs of text.
pub fn vars<const N: usize>(pairs: [(&str, &str); N]) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect()
}

/// Where an event's secret variables are sealed: bound to the event.
pub fn sealed_field(event_id: &str) -> Field<'_> {
    Field::new("kernel_outbox", "notification.sealed", event_id)
}

/// The event asking to tell `recipients` what `template` says. `secrets` are
/// sealed with `keys` (the firm's). Every variable the template needs must be in
/// `variables` or `secrets`.
pub fn request(
    scope: &TenantScope,
    template: &str,
    recipients: Vec<Recipient>,
    variables: Map<String, Value>,
    secrets: Option<(&Keyring, Map<String, Value>)>,
    now: Instant,
) -> DomainResult<EventEnvelope> {
    let t = templates::find(template)
        .ok_or_else(|| DomainError::Unavailable(format!("no notification template {template}")))?;
    for needed in t.variables {
        let given = variables.contains_key(*needed)
            || secrets
                .as_ref()
                .is_some_and(|(_, s)| s.contains_key(*needed));
        if !given {
            return Err(DomainError::Unavailable(format!(
                "notification {template} lacks variable {needed}"
            )));
        }
    }
    let mut event = EventEnvelope::new(scope, REQUESTED, now, Value::Null)?;
    let sealed = match secrets {
        Some((keys, values)) => Some(keys.seal(
            sealed_field(&event.id),
            Value::Object(values).to_string().as_bytes(),
        )?),
        None => None,
    };
    let link = variables
        .get("path")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let data = Requested {
        template: template.to_owned(),
        recipients,
        variables,
        sealed,
        link,
        sealed_for: None,
    };
    event.data = serde_json::to_value(&data)
        .map_err(|e| DomainError::Unavailable(format!("notification: {e}")))?;
    Ok(event)
}

/// The request telling `user_id` that `change` happened to their account's
/// security. `chain` is the firm the change happened in, or the platform chain for
/// a change outside any firm (a password reset), which reaches them by e-mail only.
/// The firm comes from the audit entry the server wrote, never from a request.
pub fn security_notice(
    chain: &str,
    user_id: &str,
    change: &str,
    now: Instant,
) -> DomainResult<EventEnvelope> {
    request(
        &TenantScope::new(chain, None),
        SECURITY_NOTICE,
        vec![Recipient::user(user_id)],
        vars([("change", change), ("path", "/account/security")]),
        None,
        now,
    )
}

/// The template of security notices.
pub const SECURITY_NOTICE: &str = "auth.security_notice";

/// A request telling the firm's active administrators `template` with `variables`
/// (a module's operational alarm: an endpoint disabled, a file quarantined).
pub async fn to_admins(
    db: &impl crate::kernel::sql::Sql,
    firm_id: &str,
    template: &str,
    variables: Map<String, Value>,
    now: Instant,
) -> DomainResult<EventEnvelope> {
    #[derive(Deserialize)]
    struct Admin {
        user_id: String,
    }
    let admins: Vec<Admin> = crate::kernel::sql::query_as(
        db,
        crate::stmt!(
            "SELECT user_id FROM firm_memberships WHERE firm_id = ?1 AND role = 'firm_admin' AND is_active = 1 ORDER BY user_id",
            firm_id
        ),
    )
    .await?;
    request(
        &TenantScope::new(firm_id, None),
        template,
        admins.iter().map(|a| Recipient::user(&a.user_id)).collect(),
        variables,
        None,
        now,
    )
}
