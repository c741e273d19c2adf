//! Products, campaigns and contracts on in-memory SQLite: codes and numbers are
//! unique per firm (not across firms), a campaign's results are counted from the
//! leads and deals that name it, and a contract follows an accepted proposal, is
//! numbered, signed once and then keeps its terms.
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
use shared::crm::campaign::CampaignFields;
use shared::crm::contract::{ContractFields, ContractStatus, Signature};
use shared::crm::deal::DealFields;
use shared::crm::lead::LeadFields;
use shared::crm::product::{ProductFields, ProductFilter};
use shared::crm::proposal::{ProposalFields, ProposalStatus};
use shared::crm::repository::contracts::{self, Step};
use shared::crm::repository::{campaigns, deals, leads, products, proposals};
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::DomainError;
use support::at;

const NOW: i64 = 1_800_000_000_000;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 15).unwrap()
}

fn field_of<T: std::fmt::Debug>(r: Result<T, DomainError>) -> String {
    match r {
        Err(DomainError::Validation(list)) => list[0].field.clone(),
        Err(DomainError::Conflict { field, .. }) => field.unwrap_or_default().to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn product_codes_are_unique_in_a_firm_and_the_list_filters() {
    let db = MemoryDb::migrated().unwrap();
    let (acme, _) = support::provision(&db, "acme", "UTC", NOW);
    let (other, _) = support::provision(&db, "other", "UTC", NOW);
    let audit = ProductFields::parse(
        &json!({"code": "AUDIT", "name": "Statutory audit", "kind": "service",
                "unit_price_minor": 900_000, "currency": "EUR", "category": "Assurance"}),
        true,
    )
    .unwrap();
    let made = block_on(products::create(&db, &acme, &audit, at(NOW))).unwrap();
    assert_eq!(
        field_of(block_on(products::create(&db, &acme, &audit, at(NOW + 1)))),
        "code"
    );
    // Another firm may use the code, and cannot see or change acme's product.
    block_on(products::create(&db, &other, &audit, at(NOW))).unwrap();
    assert!(matches!(
        block_on(products::get(&db, &other, &made.id)),
        Err(DomainError::NotFound(_))
    ));
    let books = ProductFields::parse(
        &json!({"code": "BOOKS", "name": "Bookkeeping", "kind": "subscription", "billing_interval": "month",
                "unit_price_minor": 30_000, "currency": "EUR"}),
        true,
    )
    .unwrap();
    let books = block_on(products::create(&db, &acme, &books, at(NOW + 2))).unwrap();
    let archive = ProductFields::parse(&json!({"status": "archived"}), false).unwrap();
    let archived = block_on(products::update(
        &db,
        &acme,
        &books.id,
        &archive,
        Some(1),
        at(NOW + 3),
    ))
    .unwrap();
    assert_eq!((archived.version, archived.status.name()), (2, "archived"));
    // A stale version is a 412; a rename onto a taken code a 409 on `code`.
    assert!(matches!(
        block_on(products::update(
            &db,
            &acme,
            &books.id,
            &archive,
            Some(1),
            at(NOW + 4)
        )),
        Err(DomainError::PreconditionFailed(_))
    ));
    let rename = ProductFields::parse(&json!({"code": "AUDIT"}), false).unwrap();
    assert_eq!(
        field_of(block_on(products::update(
            &db,
            &acme,
            &books.id,
            &rename,
            None,
            at(NOW + 5)
        ))),
        "code"
    );
    let active = ProductFilter::parse(|k| (k == "status").then_some("active")).unwrap();
    let page = block_on(products::list(
        &db,
        &acme,
        &active,
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    let codes: Vec<&str> = page.items.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["AUDIT"]);
    // Pricing a proposal: the archived one and a stranger's are refused by place.
    let refused = block_on(products::offered(
        &db,
        &acme,
        &[
            (0, made.id.clone()),
            (1, books.id.clone()),
            (2, "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV".into()),
        ],
        |i| format!("lines[{i}].product_id"),
    ));
    let Err(DomainError::Validation(list)) = refused else {
        panic!("expected the archived and unknown products refused")
    };
    let named: Vec<(&str, &str)> = list.iter().map(|e| (e.field.as_str(), e.rule)).collect();
    assert_eq!(
        named,
        [
            ("lines[1].product_id", "inactive"),
            ("lines[2].product_id", "unknown")
        ]
    );
}

#[test]
fn a_campaign_counts_the_leads_and_won_deals_that_name_it() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner, deal) = support::firm_with_deal(&db, "acme", "UTC", NOW);
    let fields = CampaignFields::parse(
        &json!({"name": "Spring webinar", "kind": "webinar", "start_on": "2027-03-01", "end_on": "2027-03-31",
                "currency": "USD", "budget_minor": 50_000, "actual_cost_minor": 300, "target_leads": 4}),
        true,
    )
    .unwrap();
    let campaign = block_on(campaigns::create(&db, &scope, &fields, &owner, at(NOW))).unwrap();
    assert_eq!(campaign.results.counts.leads, 0);
    for (name, status) in [
        ("Ada", "qualified"),
        ("Alan", "new"),
        ("Grace", "contacted"),
    ] {
        let lead = LeadFields::parse(
            &json!({"contact_name": name, "campaign_id": campaign.campaign.id, "status": status}),
            true,
        )
        .unwrap();
        block_on(leads::insert(&db, &scope, &lead, &owner, at(NOW))).unwrap();
    }
    // A lead naming no campaign of the firm is refused on its field.
    let stranger = LeadFields::parse(
        &json!({"contact_name": "Eve", "campaign_id": "cmp_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
        true,
    )
    .unwrap();
    assert_eq!(
        field_of(block_on(leads::insert(
            &db,
            &scope,
            &stranger,
            &owner,
            at(NOW)
        ))),
        "campaign_id"
    );
    // The firm's deal joins the campaign and is won.
    let join = DealFields::parse(&json!({"campaign_id": campaign.campaign.id}), false).unwrap();
    block_on(deals::update(
        &db,
        &scope,
        &deal,
        &join,
        None,
        &owner,
        at(NOW + 1),
    ))
    .unwrap();
    block_on(db.execute(shared::stmt!(
        "UPDATE crm_deals SET status = 'won' WHERE id = ?1",
        deal.as_str()
    )))
    .unwrap();
    let seen = block_on(campaigns::get(&db, &scope, &campaign.campaign.id)).unwrap();
    let c = &seen.results.counts;
    assert_eq!(
        (
            c.leads,
            c.qualified_leads,
            c.deals,
            c.deals_won,
            c.won_minor
        ),
        (3, 1, 1, 1, 1000)
    );
    assert_eq!(seen.results.cost_per_lead_minor, Some(100));
    assert_eq!(seen.results.roi_percent, Some(233.3)); // (1000 − 300) / 300
    assert_eq!(seen.results.target_reached_percent, Some(75.0));
    // Completed is final.
    for (status, ok) in [("active", true), ("completed", true), ("active", false)] {
        let step = CampaignFields::parse(&json!({"status": status}), false).unwrap();
        let moved = block_on(campaigns::update(
            &db,
            &scope,
            &campaign.campaign.id,
            &step,
            None,
            at(NOW + 2),
        ));
        assert_eq!(moved.is_ok(), ok, "to {status}: {moved:?}");
    }
    let listed = block_on(campaigns::list(
        &db,
        &scope,
        &Default::default(),
        &PageRequest::parse(None, None).unwrap(),
    ))
    .unwrap();
    assert_eq!(listed.items[0].results.counts.leads, 3);
}

#[test]
fn a_contract_follows_an_accepted_proposal_is_numbered_signed_once_and_keeps_its_terms() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner, deal) = support::firm_with_deal(&db, "acme", "UTC", NOW);
    let (other, _, _) = support::firm_with_deal(&db, "other", "UTC", NOW);
    let offer = ProposalFields::parse(
        &json!({"title": "Audit 2027", "valid_until": "2027-02-28",
                "lines": [{"description": "Audit", "quantity": 1, "unit_price_minor": 750_000}]}),
        true,
    )
    .unwrap();
    let p = block_on(proposals::create(
        &db,
        &scope,
        &deal,
        &offer,
        &owner,
        at(NOW),
    ))
    .unwrap();
    let term = json!({"proposal_id": p.id, "start_on": "2027-02-01", "end_on": "2028-01-31"});
    let from = ContractFields::parse(&term, true).unwrap();
    // Only an accepted proposal makes a contract.
    assert_eq!(
        field_of(block_on(contracts::create(
            &db,
            &scope,
            &deal,
            &from,
            &owner,
            at(NOW)
        ))),
        "proposal_id"
    );
    for to in [ProposalStatus::Sent, ProposalStatus::Accepted] {
        block_on(proposals::decide(
            &db,
            &scope,
            &p.id,
            to,
            None,
            today(),
            &owner,
            at(NOW),
        ))
        .unwrap();
    }
    let c = block_on(contracts::create(
        &db,
        &scope,
        &deal,
        &from,
        &owner,
        at(NOW + 1),
    ))
    .unwrap();
    assert_eq!(
        (
            c.number.as_str(),
            c.title.as_str(),
            c.total_minor,
            c.currency.as_str(),
            c.status
        ),
        (
            "C-0001",
            "Audit 2027",
            750_000,
            "USD",
            ContractStatus::Draft
        )
    );
    let by_hand = ContractFields::parse(
        &json!({"title": "Extra work", "total_minor": 5, "start_on": "2027-02-01", "end_on": "2027-02-01"}),
        true,
    )
    .unwrap();
    let second = block_on(contracts::create(
        &db,
        &scope,
        &deal,
        &by_hand,
        &owner,
        at(NOW + 2),
    ))
    .unwrap();
    assert_eq!(second.number, "C-0002");
    // Another firm numbers from 1 and cannot touch acme's contract.
    assert!(matches!(
        block_on(contracts::get(&db, &other, &c.id)),
        Err(DomainError::NotFound(_))
    ));
    // A draft cannot complete; signing fixes the day and the signer.
    assert_eq!(
        field_of(block_on(contracts::step(
            &db,
            &scope,
            &c.id,
            &Step::Complete,
            today(),
            &owner,
            at(NOW + 3)
        ))),
        "status"
    );
    let signature = Signature::parse(&json!({"signed_by": "Ada Lovelace"}), today()).unwrap();
    let signed = block_on(contracts::step(
        &db,
        &scope,
        &c.id,
        &Step::Sign(signature.clone()),
        today(),
        &owner,
        at(NOW + 4),
    ))
    .unwrap();
    assert_eq!(
        (
            signed.status,
            signed.signed_on.as_deref(),
            signed.signed_by.as_deref()
        ),
        (
            ContractStatus::Active,
            Some("2027-01-15"),
            Some("Ada Lovelace")
        )
    );
    assert_eq!(
        field_of(block_on(contracts::step(
            &db,
            &scope,
            &c.id,
            &Step::Sign(signature),
            today(),
            &owner,
            at(NOW + 5)
        ))),
        "status"
    );
    // Signed: the notes change, the terms do not.
    let total = ContractFields::parse(&json!({"total_minor": 1}), false).unwrap();
    assert_eq!(
        field_of(block_on(contracts::update(
            &db,
            &scope,
            &c.id,
            &total,
            None,
            at(NOW + 6)
        ))),
        "status"
    );
    let notes = ContractFields::parse(&json!({"notes": "Kick-off on 3 Feb"}), false).unwrap();
    let noted = block_on(contracts::update(
        &db,
        &scope,
        &c.id,
        &notes,
        None,
        at(NOW + 7),
    ))
    .unwrap();
    assert_eq!(noted.notes.as_deref(), Some("Kick-off on 3 Feb"));
    let ended = block_on(contracts::step(
        &db,
        &scope,
        &c.id,
        &Step::Terminate("The client sold the company".into()),
        today(),
        &owner,
        at(NOW + 8),
    ))
    .unwrap();
    assert_eq!(
        (
            ended.status,
            ended.termination_reason.as_deref(),
            ended.signed_by.as_deref()
        ),
        (
            ContractStatus::Terminated,
            Some("The client sold the company"),
            Some("Ada Lovelace")
        )
    );
    // Each step is on the deal's timeline.
    let rows = block_on(db.query(shared::stmt!(
        "SELECT summary FROM crm_activities WHERE subject_id = ?1 AND kind = 'contract' ORDER BY id",
        deal.as_str()
    )))
    .unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
}
