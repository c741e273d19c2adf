//! Telling people something from a handler: the notification request goes into
//! the batch of the change that causes it (see `shared::notify`), and is published
//! at once; the notifications module renders and sends it.

use serde_json::{Map, Value};
use shared::kernel::sql::Statement;
use shared::kernel::tenant::TenantScope;
use shared::notify::{self, Recipient};
use shared::DomainError;
use worker::Env;

use crate::{RequestContext, D1};

/// What to tell whom.
pub struct Notice {
    /// The template key.
    pub template: &'static str,
    /// Who.
    pub recipients: Vec<Recipient>,
    /// Variables in clear.
    pub variables: Map<String, Value>,
    /// Variables that are secrets (links with one-time tokens): sealed under the
    /// firm's data key, so the firm's event log never shows them.
    pub secrets: Map<String, Value>,
}

/// Writes `with` (the change) and the request for `notice` in one batch, then
/// publishes the request.
pub async fn tell(
    db: &D1,
    env: &Env,
    cx: &RequestContext,
    scope: &TenantScope,
    notice: Notice,
    with: Vec<Statement>,
) -> Result<(), DomainError> {
    let keys = if notice.secrets.is_empty() {
        None
    } else {
        Some(crate::keys::keyring(env, db, scope.firm_id(), cx.now).await?)
    };
    let event = notify::request(
        scope,
        notice.template,
        notice.recipients,
        notice.variables,
        keys.as_ref().map(|k| (k, notice.secrets)),
        cx.now,
    )?;
    let mut statements = with;
    statements.extend(keys.as_ref().and_then(|k| k.usage()));
    crate::events::write_and_publish(env, db, statements, &[event], cx.now, &cx.request_id).await
}

pub use shared::notify::request::vars;
