//! What the CRM's repository tests share: a clock and a provisioned firm.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code; each file uses part

use futures_executor::block_on;
use serde_json::json;
use shared::crm::deal::DealFields;
use shared::crm::pipeline::{starter, NewPipeline};
use shared::crm::repository::{deals, pipelines};
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

/// Provisions firm `slug` in `zone` at `now` with the starter pipeline and an
/// open deal of 1,000 USD cents; returns its scope, owner and deal id.
pub fn firm_with_deal(
    db: &MemoryDb,
    slug: &str,
    zone: &str,
    now: i64,
) -> (TenantScope, String, String) {
    let (scope, owner) = provision(db, slug, zone, now);
    let pipeline = block_on(pipelines::create(
        db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(now),
    ))
    .unwrap();
    let fields = DealFields::parse(
        &json!({"name": "Audit", "pipeline_id": pipeline.id, "value_minor": 1000}),
        true,
    )
    .unwrap();
    let (deal, statements) = block_on(deals::plan_insert(
        db,
        &scope,
        &fields,
        "USD",
        None,
        &[],
        &owner,
        at(now),
    ))
    .unwrap();
    block_on(db.batch(statements)).unwrap();
    (scope, owner, deal.id)
}
