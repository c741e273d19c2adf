//! What the CRM's repository tests share: a clock and a provisioned firm.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code; each file uses part

use futures_executor::block_on;
use serde_json::json;
use shared::firm::provision::{self, ProvisionFirm};
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;

/// An instant from Unix ms.
pub fn at(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

/// Provisions firm `slug` in time zone `zone` at `now` (Unix ms) with its owner
/// Ada; returns the firm's scope and the owner's user id.
pub fn provision(db: &MemoryDb, slug: &str, zone: &str, now: i64) -> (TenantScope, String) {
    let plan = provision::plan(
        ProvisionFirm::parse(&json!({"name": "Acme LLP", "slug": slug, "timezone": zone,
            "owner": {"email": format!("owner@{slug}.test"), "password": "correct horse battery", "name": "Ada"}}))
        .unwrap(),
        &shared::kernel::audit::Origin::default(),
        at(now),
    )
    .unwrap();
    block_on(db.batch(plan.statements.clone())).unwrap();
    (
        TenantScope::for_tests(&plan.owner_claims.firm, None),
        plan.owner_claims.sub.clone(),
    )
}
