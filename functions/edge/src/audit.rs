//! Writing audit entries from handlers. The action has already happened when its
//! entry is written, so a failure to append is logged loudly, not turned into an
//! error for the caller.

use serde_json::json;
use shared::auth::claims::VerifiedClaims;
use shared::kernel::audit::{self, Category, Entry, Origin, Outcome, Severity};
use shared::kernel::time::Instant;

use crate::{log, D1};

/// Appends `entry` to its chain.
pub async fn record(db: &D1, entry: Entry, origin: &Origin, now: Instant) {
    let action = entry.action;
    let chain = entry.chain.clone();
    if let Err(e) = audit::append(db, entry, origin, now).await {
        let request_id = origin.request_id.as_deref().unwrap_or("-");
        log::event(
            "error",
            request_id,
            "audit entry lost",
            json!({"action": action, "chain": chain, "error": e.to_string()}),
        );
    }
}

/// Appends a member's completed action (`action` in `category`, with `details`) to
/// their firm's chain.
pub async fn member_action(
    db: &D1,
    req: &worker::Request,
    cx: &crate::RequestContext,
    claims: &VerifiedClaims,
    category: Category,
    action: &'static str,
    details: serde_json::Value,
) {
    let entry = Entry::new(
        claims.firm_id(),
        category,
        action,
        Severity::Info,
        Outcome::Success,
    )
    .by(claims.user_id())
    .with(details);
    record(db, entry, &cx.origin(req), cx.now).await;
}
