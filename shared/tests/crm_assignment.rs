//! Assignment on in-memory SQLite built from the migrations: new leads without an
//! owner take turns among a rule's members, a territory keeps its own rotation,
//! members who may not work CRM records are never chosen, and deactivating a
//! member hands their open leads and deals to others (once, however often the
//! event arrives).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod support;

use futures_executor::block_on;
use serde_json::json;
use shared::crm::assignment::AssignmentInput;
use shared::crm::deal::DealFields;
use shared::crm::lead::LeadFields;
use shared::crm::pipeline::{starter, NewPipeline};
use shared::crm::repository::{assignment, deals, leads, pipelines};
use shared::firm::members::{self, MemberPatch};
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::{stmt, DomainError};
use support::at;

const NOW: i64 = 1_800_000_000_000;

/// A firm with its owner and three more members: two managers and a read-only one.
fn firm(db: &MemoryDb) -> (TenantScope, String, [String; 3]) {
    let (scope, owner) = support::provision(db, "acme", "UTC", NOW);
    let firm_id = scope.firm_id().to_owned();
    let people = [
        ("usr_01JD7X3V9T2Q4M8K6P1R5S0WAA", "manager"),
        ("usr_01JD7X3V9T2Q4M8K6P1R5S0WBB", "manager"),
        ("usr_01JD7X3V9T2Q4M8K6P1R5S0WCC", "readonly"),
    ];
    for (id, role) in people {
        block_on(db.batch(vec![
            stmt!(
                "INSERT INTO auth_users (id, email, name, created_at, updated_at) VALUES (?1, ?2, 'P', 0, 0)",
                id,
                format!("{id}@acme.test")
            ),
            stmt!(
                "INSERT INTO firm_memberships (firm_id, user_id, role, created_at) VALUES (?1, ?2, ?3, 0)",
                firm_id.as_str(),
                id,
                role
            ),
        ]))
        .unwrap();
    }
    (scope, owner, people.map(|(id, _)| id.to_owned()))
}

fn lead(db: &MemoryDb, scope: &TenantScope, body: serde_json::Value) -> shared::crm::lead::Lead {
    let fields = LeadFields::parse(&body, true).unwrap();
    block_on(leads::insert(db, scope, &fields, "form", at(NOW))).unwrap()
}

fn rule(
    db: &MemoryDb,
    scope: &TenantScope,
    body: serde_json::Value,
) -> Result<String, DomainError> {
    let input = AssignmentInput::parse(&body).unwrap();
    block_on(assignment::create(db, scope, &input, at(NOW))).map(|r| r.id)
}

#[test]
fn unowned_leads_take_turns_and_a_territory_keeps_its_own_rotation() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner, [a, b, c]) = firm(&db);
    // Nothing set up: everyone who may work CRM records, in turn.
    let first: Vec<Option<String>> = (0..3)
        .map(|i| lead(&db, &scope, json!({"contact_name": format!("L{i}")})).owner_id)
        .collect();
    let mut expected = vec![owner.clone(), a.clone(), b.clone()];
    expected.sort();
    assert_eq!(first, expected.into_iter().map(Some).collect::<Vec<_>>());
    // A named owner is kept.
    assert_eq!(
        lead(&db, &scope, json!({"contact_name": "Y", "owner_id": a})).owner_id,
        Some(a.clone())
    );
    // The read-only member cannot be named in a rule.
    let refused = rule(
        &db,
        &scope,
        json!({"name": "RR", "method": "round_robin", "users": [a, c]}),
    );
    assert!(
        matches!(
            refused,
            Err(DomainError::Conflict {
                field: Some("users"),
                ..
            })
        ),
        "{refused:?}"
    );
    rule(
        &db,
        &scope,
        json!({"name": "DACH", "method": "territory", "priority": 10,
        "field": "country", "territories": {"DE": [a, b], "AT": [b]}}),
    )
    .unwrap();
    rule(
        &db,
        &scope,
        json!({"name": "Referrals", "method": "source", "priority": 5,
        "sources": ["referral"], "users": [owner]}),
    )
    .unwrap();
    let owners: Vec<String> = ["DE", "AT", "DE", "DE", "AT"]
        .iter()
        .map(|c| {
            lead(
                &db,
                &scope,
                json!({"contact_name": "T", "country": c, "source": "referral"}),
            )
            .owner_id
            .unwrap()
        })
        .collect();
    assert_eq!(
        owners,
        vec![a.clone(), b.clone(), b.clone(), a.clone(), b.clone()]
    );
    let referred = lead(
        &db,
        &scope,
        json!({"contact_name": "R", "country": "FR", "source": "referral"}),
    );
    assert_eq!(referred.owner_id, Some(owner.clone()));
}

#[test]
fn a_deactivated_members_open_work_goes_to_others_once() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner, [a, b, _]) = firm(&db);
    rule(
        &db,
        &scope,
        json!({"name": "Team", "method": "round_robin", "users": [a, b]}),
    )
    .unwrap();
    let pipeline = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    let mine: Vec<String> = (0..4)
        .map(|i| {
            lead(
                &db,
                &scope,
                json!({"contact_name": format!("L{i}"), "owner_id": a}),
            )
            .id
        })
        .collect();
    let lost = lead(&db, &scope, json!({"contact_name": "Gone", "owner_id": a}));
    block_on(leads::lose(
        &db,
        &scope,
        &lost.id,
        "No budget",
        &owner,
        at(NOW),
    ))
    .unwrap();
    let fields = DealFields::parse(
        &json!({"name": "Audit", "pipeline_id": pipeline.id, "value_minor": 100_000, "currency": "USD",
                "owner_id": a, "splits": [{"user_id": a, "percent": 70}, {"user_id": owner, "percent": 30}]}),
        true,
    )
    .unwrap();
    let (deal, statements) = block_on(deals::plan_insert(
        &db,
        &scope,
        &fields,
        "USD",
        None,
        &[],
        &owner,
        at(NOW),
    ))
    .unwrap();
    block_on(db.batch(statements)).unwrap();

    let (_, made) = block_on(members::update(
        &db,
        &scope,
        &a,
        &MemberPatch::parse(&json!({"is_active": false})).unwrap(),
        at(NOW + 1000),
    ))
    .unwrap();
    let event = made
        .iter()
        .find(|e| e.kind == "firm.member_deactivated")
        .expect("deactivation is an event");
    let (done, statements, notices) = block_on(assignment::handle(&db, event, at(NOW + 2000)))
        .unwrap()
        .unwrap();
    block_on(db.batch(statements)).unwrap();
    assert_eq!((done.leads, done.deals), (4, 1));
    // b hears once that five records are theirs now.
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].data["template"], "crm.work_reassigned");
    assert_eq!(notices[0].data["variables"]["count"], "5");
    for id in &mine {
        let l = block_on(leads::get(&db, &scope, id)).unwrap();
        assert_eq!(l.owner_id, Some(b.clone()), "only b is left in the rule");
    }
    // A closed lead keeps its owner, as history.
    assert_eq!(
        block_on(leads::get(&db, &scope, &lost.id))
            .unwrap()
            .owner_id,
        Some(a.clone())
    );
    let deal = block_on(deals::get(&db, &scope, &deal.id)).unwrap();
    assert_eq!(deal.owner_id, b);
    let shares: Vec<(String, i64)> = deal
        .splits
        .iter()
        .map(|s| (s.user_id.clone(), s.percent))
        .collect();
    assert_eq!(shares, vec![(owner.clone(), 30), (b.clone(), 70)]);
    // The timeline says why.
    let entries = block_on(db.query(stmt!(
        "SELECT summary FROM crm_activities WHERE firm_id = ?1 AND subject_id = ?2 AND kind = 'changed'",
        scope.firm_id(),
        deal.id.as_str()
    )))
    .unwrap();
    assert_eq!(entries.len(), 1);
    // The event again: nothing left to move.
    let (again, _, told_again) = block_on(assignment::handle(&db, event, at(NOW + 3000)))
        .unwrap()
        .unwrap();
    assert_eq!((again.leads, again.deals), (0, 0));
    assert!(told_again.is_empty(), "nobody is told twice");
    let deal_again = block_on(deals::get(&db, &scope, &deal.id)).unwrap();
    assert_eq!(deal_again.version, deal.version);
}
