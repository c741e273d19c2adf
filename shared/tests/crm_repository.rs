//! The CRM's SQL on in-memory SQLite built from the migrations: a lead is scored
//! as it is written, converted into an account, a contact and a deal in one batch;
//! a deal moves to won and leaves what the win model learns from; a lost race is a
//! 412 with nothing written; another firm sees nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod support;

use futures_executor::block_on;
use serde_json::json;
use shared::crm::activity::{ActivityKind, NewActivity, Subject};
use shared::crm::deal::{DealFields, DealMove, DealStatus};
use shared::crm::forecast::Period;
use shared::crm::lead::{LeadFields, LeadFilter, LeadStatus};
use shared::crm::pipeline::{starter, NewPipeline, PipelinePatch};
use shared::crm::repository::{
    accounts, convert, deals, forecasts, leads, pipelines, rules, timeline,
};
use shared::crm::scoring::{RuleInput, Trigger};
use shared::kernel::paging::PageRequest;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::DomainError;
use support::at;

const NOW: i64 = 1_800_000_000_000; // 2027-01-15
const DAY: i64 = 86_400_000;

fn firm(db: &MemoryDb, slug: &str) -> (TenantScope, String) {
    support::provision(db, slug, "UTC", NOW)
}

fn page() -> PageRequest {
    PageRequest::parse(None, None).unwrap()
}

#[test]
fn a_lead_is_scored_converted_and_its_deal_won() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    let pipeline = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    assert!(pipeline.is_default);
    for body in [
        json!({"name": "Decision maker", "trigger": "job_title_match", "points": 30,
               "conditions": [{"field": "title", "op": "contains", "value": "director"}]}),
        json!({"name": "Pricing page", "trigger": "page_visited", "points": 25, "max_applications": 2,
               "conditions": [{"field": "signal.url", "op": "contains", "value": "pricing"}]}),
    ] {
        block_on(rules::create(
            &db,
            &scope,
            &RuleInput::parse(&body).unwrap(),
            at(NOW),
        ))
        .unwrap();
    }
    let fields = LeadFields::parse(
        &json!({"contact_name": "Grace Hopper", "company_name": "Cobol Co", "title": "Finance Director",
                "email": "grace@cobol.example", "budget_minor": 5_000_000, "currency": "USD", "source": "referral"}),
        true,
    )
    .unwrap();
    let lead = block_on(leads::insert(&db, &scope, &fields, &owner, at(NOW))).unwrap();
    assert_eq!(lead.score, 30);
    let props = json!({"url": "https://firm.example/pricing"});
    let lead = block_on(leads::signal(
        &db,
        &scope,
        &lead.id,
        Trigger::PageVisited,
        props.as_object().unwrap(),
        &owner,
        at(NOW + 1),
    ))
    .unwrap();
    assert_eq!(lead.score, 55);
    let why = block_on(leads::explain(&db, &scope, &lead.id, at(NOW + 2))).unwrap();
    assert_eq!(why.adjustments.len(), 2);
    assert!(why.adjustments[1]
        .adjustment
        .reason
        .contains("title contains"));

    // A stale etag changes nothing.
    let qualify =
        LeadFields::parse(&json!({"status": "qualified", "title": "Analyst"}), false).unwrap();
    let err = block_on(leads::update(
        &db,
        &scope,
        &lead.id,
        &qualify,
        Some(lead.version - 1),
        &owner,
        at(NOW + 3),
    ))
    .unwrap_err();
    assert!(matches!(err, DomainError::PreconditionFailed(_)));
    let lead = block_on(leads::update(
        &db,
        &scope,
        &lead.id,
        &qualify,
        Some(lead.version),
        &owner,
        at(NOW + 3),
    ))
    .unwrap();
    assert_eq!(
        (lead.status, lead.score),
        (LeadStatus::Qualified, 25),
        "the title no longer matches"
    );

    let converted = block_on(convert::convert(
        &db,
        &scope,
        &lead.id,
        &convert::Conversion::default(),
        "USD",
        &owner,
        at(NOW + 4),
    ))
    .unwrap();
    assert_eq!(converted.lead.status, LeadStatus::Converted);
    assert_eq!(converted.account.name, "Cobol Co");
    assert_eq!(
        converted.contact.account_id.as_deref(),
        Some(converted.account.id.as_str())
    );
    let deal = converted.deal;
    assert_eq!(
        (deal.value_minor, deal.stage_id.as_str()),
        (5_000_000, pipeline.stages[0].id.as_str())
    );
    assert_eq!(
        deal.account_id.as_deref(),
        Some(converted.account.id.as_str())
    );
    assert!(block_on(convert::convert(
        &db,
        &scope,
        &lead.id,
        &convert::Conversion::default(),
        "USD",
        &owner,
        at(NOW + 5)
    ))
    .is_err());

    // Activity keeps the deal fresh; moving to lost needs a reason; won keeps a snapshot.
    let logged = block_on(timeline::log(
        &db,
        &scope,
        Subject::Deal,
        &deal.id,
        NewActivity::parse(&json!({"kind": "call", "summary": "Scoping call"})).unwrap(),
        &owner,
        at(NOW + 10 * DAY),
    ))
    .unwrap();
    assert_eq!(logged.kind, ActivityKind::Call);
    let lost = &pipeline.stages[5];
    let planned = DealMove::parse(&json!({"stage_id": lost.id})).unwrap();
    assert!(block_on(deals::plan_move(
        &db,
        &scope,
        &deal.id,
        &planned,
        None,
        at(NOW + 11 * DAY)
    ))
    .is_err());
    let won = &pipeline.stages[4];
    let movement = DealMove::parse(&json!({"stage_id": won.id})).unwrap();
    let (before, after, p) = block_on(deals::plan_move(
        &db,
        &scope,
        &deal.id,
        &movement,
        None,
        at(NOW + 12 * DAY),
    ))
    .unwrap();
    let moved = block_on(deals::finish_move(
        &db,
        &scope,
        &before,
        &after,
        &p,
        &owner,
        Vec::new(),
        at(NOW + 12 * DAY),
    ))
    .unwrap();
    assert_eq!(moved.deal.status, DealStatus::Won);
    let outcomes = block_on(forecasts::outcomes(&db, &scope)).unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(
        (outcomes[0].snapshot.idle_days - 2.0).abs() < 0.01,
        "{:?}",
        outcomes[0].snapshot
    );
    let history = block_on(timeline::list(
        &db,
        &scope,
        Subject::Deal,
        &deal.id,
        None,
        &page(),
    ))
    .unwrap();
    let kinds: Vec<ActivityKind> = history.items.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![ActivityKind::Won, ActivityKind::Call, ActivityKind::Created]
    );

    // The won deal counts in January's forecast, credited to its owner.
    let rows = block_on(forecasts::forecast(
        &db,
        &scope,
        Period::Month,
        chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        2,
        None,
    ))
    .unwrap();
    assert_eq!(rows[0].row.period, "2027-01");
    assert_eq!(rows[0].row.won_minor, 5_000_000);
    assert_eq!(rows[1].row.owner_id.as_deref(), Some(owner.as_str()));

    // Another firm sees none of it.
    let (other, other_owner) = firm(&db, "other");
    assert!(matches!(
        block_on(leads::get(&db, &other, &lead.id)),
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        block_on(deals::get(&db, &other, &deal.id)),
        Err(DomainError::NotFound(_))
    ));
    assert!(
        block_on(leads::list(&db, &other, &LeadFilter::default(), &page()))
            .unwrap()
            .items
            .is_empty()
    );
    assert!(block_on(timeline::log(
        &db,
        &other,
        Subject::Deal,
        &deal.id,
        NewActivity::parse(&json!({"kind": "note", "summary": "x"})).unwrap(),
        &other_owner,
        at(NOW)
    ))
    .is_err());
    assert!(block_on(accounts::get(&db, &other, &converted.account.id)).is_err());
}

#[test]
fn pipelines_keep_one_default_and_guard_stages_in_use() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    let first = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    let mut second_body = starter();
    second_body["name"] = json!("Renewals");
    second_body["is_default"] = json!(false);
    let second = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&second_body).unwrap(),
        at(NOW),
    ))
    .unwrap();
    assert!(
        block_on(pipelines::get(&db, &scope, &first.id))
            .unwrap()
            .is_default,
        "the first stays default"
    );
    assert!(!second.is_default);
    assert!(matches!(
        block_on(pipelines::create(
            &db,
            &scope,
            NewPipeline::parse(&starter()).unwrap(),
            at(NOW)
        )),
        Err(DomainError::Conflict {
            field: Some("name"),
            ..
        })
    ));
    let promote = PipelinePatch::parse(&json!({"is_default": true})).unwrap();
    let second = block_on(pipelines::update(
        &db,
        &scope,
        &second.id,
        &promote,
        Some(second.version),
        at(NOW + 1),
    ))
    .unwrap();
    assert!(second.is_default);
    assert!(
        !block_on(pipelines::get(&db, &scope, &first.id))
            .unwrap()
            .is_default
    );

    let deal = block_on(deals::insert(
        &db,
        &scope,
        &DealFields::parse(&json!({"name": "Audit", "pipeline_id": first.id}), true).unwrap(),
        "EUR",
        &owner,
        at(NOW),
    ))
    .unwrap();
    assert_eq!(deal.currency, "EUR");
    // Dropping the stage that holds the deal is refused; dropping another works.
    let keep: Vec<serde_json::Value> = first
        .stages
        .iter()
        .skip(1)
        .map(|s| json!({"id": s.id, "name": s.name, "kind": s.kind}))
        .collect();
    let patch = PipelinePatch::parse(&json!({"stages": keep})).unwrap();
    assert!(matches!(
        block_on(pipelines::update(
            &db,
            &scope,
            &first.id,
            &patch,
            None,
            at(NOW + 2)
        )),
        Err(DomainError::Conflict { .. })
    ));
    let mut keep: Vec<serde_json::Value> = first
        .stages
        .iter()
        .filter(|s| s.id != first.stages[1].id)
        .map(|s| json!({"id": s.id, "name": s.name, "kind": s.kind}))
        .collect();
    keep.insert(1, json!({"name": "Workshop", "probability": 40}));
    let patch = PipelinePatch::parse(&json!({"stages": keep})).unwrap();
    let changed = block_on(pipelines::update(
        &db,
        &scope,
        &first.id,
        &patch,
        None,
        at(NOW + 2),
    ))
    .unwrap();
    let names: Vec<&str> = changed.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Qualified",
            "Workshop",
            "Proposal sent",
            "Negotiation",
            "Won",
            "Lost"
        ]
    );
}

#[test]
fn the_lead_list_filters_and_pages_newest_first() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    for i in 0..5 {
        let f = LeadFields::parse(&json!({"contact_name": format!("Person {i}"), "tags": if i % 2 == 0 { json!(["vip"]) } else { json!([]) }}), true).unwrap();
        block_on(leads::insert(&db, &scope, &f, &owner, at(NOW + i))).unwrap();
    }
    let vip = LeadFilter::parse(|k| (k == "tag").then_some("VIP")).unwrap();
    let first = block_on(leads::list(
        &db,
        &scope,
        &vip,
        &PageRequest::parse(Some("2"), None).unwrap(),
    ))
    .unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|l| l.contact_name.as_str())
            .collect::<Vec<_>>(),
        vec!["Person 4", "Person 2"]
    );
    let cursor = first.next_cursor.clone().unwrap();
    let rest = block_on(leads::list(
        &db,
        &scope,
        &vip,
        &PageRequest::parse(Some("2"), Some(&cursor)).unwrap(),
    ))
    .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    let q = LeadFilter::parse(|k| (k == "q").then_some("person 3")).unwrap();
    assert_eq!(
        block_on(leads::list(&db, &scope, &q, &page()))
            .unwrap()
            .items
            .len(),
        1
    );
}

/// Wins `deal_id` (moving it to the pipeline's won stage) and returns its event.
fn win(
    db: &MemoryDb,
    scope: &TenantScope,
    owner: &str,
    deal_id: &str,
    won_stage: &str,
    at_ms: i64,
) -> shared::kernel::events::EventEnvelope {
    let movement = DealMove::parse(&json!({"stage_id": won_stage})).unwrap();
    let (before, mut after, p) = block_on(deals::plan_move(
        db,
        scope,
        deal_id,
        &movement,
        None,
        at(at_ms),
    ))
    .unwrap();
    let event = block_on(deals::closing_event(db, scope, &mut after, at(at_ms)))
        .unwrap()
        .unwrap();
    let record = shared::kernel::events::record(&event, at(at_ms)).unwrap();
    block_on(deals::finish_move(
        db,
        scope,
        &before,
        &after,
        &p,
        owner,
        vec![record],
        at(at_ms),
    ))
    .unwrap();
    event
}

#[test]
fn a_won_deal_makes_one_client_and_the_account_a_customer() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    let pipeline = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    let account = block_on(accounts::insert(
        &db,
        &scope,
        &shared::crm::account::AccountFields::parse(&json!({"name": "Cobol & Co"}), true).unwrap(),
        &owner,
        at(NOW),
    ))
    .unwrap();
    let deal = |name: &str| {
        let fields = DealFields::parse(
            &json!({"name": name, "account_id": account.id, "value_minor": 1000}),
            true,
        )
        .unwrap();
        block_on(deals::insert(&db, &scope, &fields, "USD", &owner, at(NOW))).unwrap()
    };
    let first = deal("Audit");
    let won = win(
        &db,
        &scope,
        &owner,
        &first.id,
        &pipeline.stages[4].id,
        NOW + DAY,
    );
    assert_eq!(won.kind, "crm.deal.won");
    assert_eq!(won.data["account_name"], "Cobol & Co");
    // The clients module makes the client once, however often the event arrives.
    let linked = block_on(shared::clients::events::handle(&db, &won, at(NOW + DAY)))
        .unwrap()
        .unwrap();
    assert!(
        block_on(shared::clients::events::handle(&db, &won, at(NOW + DAY)))
            .unwrap()
            .is_none()
    );
    assert_eq!(linked.data["created"], true);
    let client_id = linked.data["client_id"].as_str().unwrap().to_owned();
    let client = block_on(shared::clients::repository::get(&db, &scope, &client_id)).unwrap();
    assert_eq!(client.name, "Cobol & Co");
    // The CRM links the account and the deal, once.
    assert!(block_on(shared::crm::events::handle(&db, &linked, at(NOW + DAY))).unwrap());
    assert!(block_on(shared::crm::events::handle(&db, &linked, at(NOW + DAY))).unwrap());
    let account = block_on(accounts::get(&db, &scope, &account.id)).unwrap();
    assert_eq!(account.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(account.lifecycle, shared::crm::account::Lifecycle::Customer);
    let history = block_on(timeline::list(
        &db,
        &scope,
        Subject::Account,
        &account.id,
        None,
        &page(),
    ))
    .unwrap();
    assert_eq!(
        history
            .items
            .iter()
            .filter(|a| a.summary == "Became a client")
            .count(),
        1
    );
    assert_eq!(
        block_on(deals::get(&db, &scope, &first.id))
            .unwrap()
            .client_id
            .as_deref(),
        Some(client_id.as_str())
    );
    // A second deal of the same account names the client it already is: no new client.
    let second = deal("Tax return");
    let won = win(
        &db,
        &scope,
        &owner,
        &second.id,
        &pipeline.stages[4].id,
        NOW + 2 * DAY,
    );
    assert_eq!(won.data["client_id"], json!(client_id));
    assert!(block_on(shared::clients::events::handle(
        &db,
        &won,
        at(NOW + 2 * DAY)
    ))
    .unwrap()
    .is_none());
    let clients = block_on(db.query(shared::stmt!(
        "SELECT COUNT(*) AS n FROM clients_clients WHERE firm_id = ?1",
        scope.firm_id()
    )))
    .unwrap();
    assert_eq!(clients[0]["n"], 1);
}

#[test]
fn quiet_deals_go_stale_once_and_their_owner_hears_once() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    let make = |name: &str| {
        let fields = DealFields::parse(
            &json!({"name": name, "value_minor": 10_000, "probability": 40}),
            true,
        )
        .unwrap();
        block_on(deals::insert(&db, &scope, &fields, "USD", &owner, at(NOW))).unwrap()
    };
    let quiet = make("Quiet");
    let busy = make("Busy");
    // The first stage rots after 14 days; the busy deal had a call on day 10.
    block_on(timeline::log(
        &db,
        &scope,
        Subject::Deal,
        &busy.id,
        NewActivity::parse(&json!({"kind": "call", "summary": "Check-in"})).unwrap(),
        &owner,
        at(NOW + 10 * DAY),
    ))
    .unwrap();
    let day15 = at(NOW + 15 * DAY);
    assert!(
        block_on(shared::crm::rotting::newly_stale(&db, at(NOW + 13 * DAY)))
            .unwrap()
            .is_empty()
    );
    let rotten = block_on(shared::crm::rotting::newly_stale(&db, day15)).unwrap();
    assert_eq!(
        rotten.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["Quiet"]
    );
    let reminders = shared::crm::rotting::reminders(&rotten, day15).unwrap();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].data["template"], "crm.deals_stale");
    block_on(db.batch(shared::crm::rotting::mark(&rotten, day15).unwrap())).unwrap();
    assert!(
        block_on(shared::crm::rotting::newly_stale(&db, day15))
            .unwrap()
            .is_empty(),
        "marked once"
    );
    assert!(
        block_on(deals::get(&db, &scope, &quiet.id))
            .unwrap()
            .is_stale
    );
    let report = block_on(shared::crm::rotting::report(&db, &scope, day15)).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(
        (
            report[0].deals,
            report[0].value_minor,
            report[0].weighted_minor,
            report[0].age
        ),
        (1, 10_000, 4_000, "under_30")
    );
    // Logging activity makes it fresh again.
    block_on(timeline::log(
        &db,
        &scope,
        Subject::Deal,
        &quiet.id,
        NewActivity::parse(&json!({"kind": "email", "summary": "Follow-up"})).unwrap(),
        &owner,
        day15,
    ))
    .unwrap();
    assert!(
        !block_on(deals::get(&db, &scope, &quiet.id))
            .unwrap()
            .is_stale
    );
}

#[test]
fn a_move_that_lost_the_race_writes_nothing() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    let pipeline = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    let fields = DealFields::parse(&json!({"name": "Audit", "value_minor": 5000}), true).unwrap();
    let deal = block_on(deals::insert(&db, &scope, &fields, "USD", &owner, at(NOW))).unwrap();
    // Read for a move to won …
    let movement = DealMove::parse(&json!({"stage_id": pipeline.stages[4].id})).unwrap();
    let (before, after, p) = block_on(deals::plan_move(
        &db,
        &scope,
        &deal.id,
        &movement,
        None,
        at(NOW + 1),
    ))
    .unwrap();
    // … while someone else changes the deal.
    let rename = DealFields::parse(&json!({"name": "Audit 2027"}), false).unwrap();
    block_on(deals::update(
        &db,
        &scope,
        &deal.id,
        &rename,
        None,
        &owner,
        at(NOW + 2),
    ))
    .unwrap();
    let event = shared::kernel::events::record(
        &shared::catalogue::DomainEvent::envelope(
            &shared::crm::events::DealLost {
                deal_id: deal.id.clone(),
                deal_name: "x".into(),
                account_id: None,
                value_minor: 1,
                currency: "USD".into(),
                reason: "x".into(),
            },
            &scope,
            at(NOW + 3),
        )
        .unwrap(),
        at(NOW + 3),
    )
    .unwrap();
    let lost = block_on(deals::finish_move(
        &db,
        &scope,
        &before,
        &after,
        &p,
        &owner,
        vec![event],
        at(NOW + 3),
    ));
    assert!(
        matches!(lost, Err(DomainError::PreconditionFailed(_))),
        "{lost:?}"
    );
    // Nothing of the batch stayed: still open, no "won" entry, no outbox row.
    let now = block_on(deals::get(&db, &scope, &deal.id)).unwrap();
    assert_eq!(
        (now.status, now.name.as_str()),
        (DealStatus::Open, "Audit 2027")
    );
    let history = block_on(timeline::list(
        &db,
        &scope,
        Subject::Deal,
        &deal.id,
        None,
        &page(),
    ))
    .unwrap();
    assert!(history.items.iter().all(|a| a.kind != ActivityKind::Won));
    let outbox = block_on(db.query(shared::stmt!(
        "SELECT COUNT(*) AS n FROM kernel_outbox WHERE payload LIKE ?1",
        format!("%{}%", deal.id)
    )))
    .unwrap();
    assert_eq!(outbox[0]["n"], 0);
}

#[test]
fn a_past_month_is_set_against_what_it_was_forecast_to_bring() {
    use chrono::NaiveDate;
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = firm(&db, "acme");
    let pipeline = block_on(pipelines::create(
        &db,
        &scope,
        NewPipeline::parse(&starter()).unwrap(),
        at(NOW),
    ))
    .unwrap();
    let won_stage = pipeline
        .stages
        .iter()
        .find(|s| s.kind == shared::crm::pipeline::StageKind::Won)
        .unwrap()
        .id
        .clone();
    // Two deals expected in January 2027 at 50 %: 1,000 + 3,000 → 2,000 weighted.
    let mut ids = Vec::new();
    for value in [100_000, 300_000] {
        let fields = DealFields::parse(
            &json!({"name": "Audit", "pipeline_id": pipeline.id, "value_minor": value, "currency": "USD",
                    "probability": 50, "expected_close": "2027-01-20"}),
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
        ids.push(deal.id);
    }
    let jan_1 = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let kept = block_on(forecasts::take_snapshot(&db, &scope, jan_1)).unwrap();
    assert_eq!(kept, 2, "the month and the quarter");
    assert_eq!(
        block_on(forecasts::take_snapshot(&db, &scope, jan_1)).unwrap(),
        2
    );
    // Only the larger one is won, on January 16th (NOW is January 15th).
    win(&db, &scope, &owner, &ids[1], &won_stage, NOW + DAY);
    let feb_3 = NaiveDate::from_ymd_opt(2027, 2, 3).unwrap();
    let (periods, rows) =
        block_on(forecasts::accuracy(&db, &scope, Period::Month, 2, feb_3)).unwrap();
    assert_eq!(periods, vec!["2027-01", "2027-02"]);
    let jan = rows.iter().find(|r| r.period == "2027-01").unwrap();
    assert!(jan.complete);
    assert_eq!(jan.forecast_taken_on.as_deref(), Some("2027-01-01"));
    assert_eq!(jan.expected_minor, Some(200_000));
    assert_eq!(jan.actual_minor, 300_000);
    assert_eq!(jan.error_minor, Some(100_000));
    assert_eq!(jan.error_percent, Some(50.0));
    assert!(
        rows.iter().all(|r| r.period != "2026-12"),
        "only the periods asked for"
    );
}
