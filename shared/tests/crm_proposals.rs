//! Proposals on in-memory SQLite: an acceptance that comes after `valid_until`
//! expires the proposal instead, and the daily sweep expires a sent proposal only
//! once its last day is over in the firm's own time zone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod support;

use chrono::NaiveDate;
use futures_executor::block_on;
use serde_json::json;
use shared::crm::proposal::{ProposalFields, ProposalStatus};
use shared::crm::repository::proposals;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::DomainError;
use support::at;

/// 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000_000 - 1_800_000_000_000 % 86_400_000 + 8 * 3_600_000;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn firm_with_deal(db: &MemoryDb, slug: &str, zone: &str) -> (TenantScope, String, String) {
    support::firm_with_deal(db, slug, zone, NOW)
}

fn sent(db: &MemoryDb, scope: &TenantScope, owner: &str, deal: &str, until: &str) -> String {
    let fields = ProposalFields::parse(
        &json!({"title": "Offer", "valid_until": until,
                "lines": [{"description": "Work", "quantity": 2, "unit_price_minor": 500}]}),
        true,
    )
    .unwrap();
    let p = block_on(proposals::create(db, scope, deal, &fields, owner, at(NOW))).unwrap();
    block_on(proposals::decide(
        db,
        scope,
        &p.id,
        ProposalStatus::Sent,
        None,
        day("2027-01-15"),
        owner,
        at(NOW),
    ))
    .unwrap();
    p.id
}

#[test]
fn a_late_acceptance_expires_the_proposal() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner, deal) = firm_with_deal(&db, "acme", "UTC");
    let id = sent(&db, &scope, &owner, &deal, "2027-01-20");
    let late = block_on(proposals::decide(
        &db,
        &scope,
        &id,
        ProposalStatus::Accepted,
        None,
        day("2027-01-21"),
        &owner,
        at(NOW),
    ));
    assert!(
        matches!(
            late,
            Err(DomainError::Conflict {
                field: Some("valid_until"),
                ..
            })
        ),
        "{late:?}"
    );
    assert_eq!(
        block_on(proposals::get(&db, &scope, &id)).unwrap().status,
        ProposalStatus::Expired
    );
    // On its last day it is still accepted.
    let id = sent(&db, &scope, &owner, &deal, "2027-01-20");
    let on_time = block_on(proposals::decide(
        &db,
        &scope,
        &id,
        ProposalStatus::Accepted,
        None,
        day("2027-01-20"),
        &owner,
        at(NOW),
    ))
    .unwrap();
    assert_eq!(on_time.status, ProposalStatus::Accepted);
}

#[test]
fn the_sweep_waits_for_the_end_of_the_last_day_where_the_firm_is() {
    let db = MemoryDb::migrated().unwrap();
    let (west, owner_w, deal_w) = firm_with_deal(&db, "west", "America/Los_Angeles");
    let (east, owner_e, deal_e) = firm_with_deal(&db, "east", "Asia/Tokyo");
    let w = sent(&db, &west, &owner_w, &deal_w, "2027-01-20");
    let e = sent(&db, &east, &owner_e, &deal_e, "2027-01-20");
    // 2027-01-21T00:00Z: already the 21st in Tokyo, still the 20th in Los Angeles.
    let midnight = at(NOW - 8 * 3_600_000 + 6 * 86_400_000);
    assert_eq!(block_on(proposals::expire_due(&db, midnight)).unwrap(), 1);
    assert_eq!(
        block_on(proposals::get(&db, &east, &e)).unwrap().status,
        ProposalStatus::Expired
    );
    assert_eq!(
        block_on(proposals::get(&db, &west, &w)).unwrap().status,
        ProposalStatus::Sent
    );
    // A day later it is over there too; the expired one is not touched again.
    assert_eq!(
        block_on(proposals::expire_due(
            &db,
            at(midnight.millis() + 86_400_000)
        ))
        .unwrap(),
        1
    );
    assert_eq!(
        block_on(proposals::get(&db, &west, &w)).unwrap().status,
        ProposalStatus::Expired
    );
}
