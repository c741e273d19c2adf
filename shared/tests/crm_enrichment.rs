//! Lead lookups on in-memory SQLite: one waiting lookup (and job) per lead, what
//! the provider found fills only what no person typed, a refusal or a last
//! failed attempt closes the lookup as failed, and a retried one keeps waiting
//! with its reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod support;

use futures_executor::block_on;
use serde_json::{json, Map, Value};
use shared::crm::enrichment::{Answer, EnrichmentStatus};
use shared::crm::lead::LeadFields;
use shared::crm::repository::enrichment::{self, Verdict};
use shared::crm::repository::leads;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::DomainError;
use support::at;

const NOW: i64 = 1_800_000_000_000;

fn found() -> Map<String, Value> {
    Map::from_iter([
        ("industry".to_owned(), json!("Machinery")),
        ("title".to_owned(), json!("CTO")),
        ("country".to_owned(), json!("GB")),
        ("company_size".to_owned(), json!("not a number")),
    ])
}

#[test]
fn a_lookup_waits_once_fills_what_nobody_typed_and_closes() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = support::provision(&db, "acme", "UTC", NOW);
    let fields = LeadFields::parse(
        &json!({"contact_name": "Ada", "email": "ada@engines.example", "title": "Founder"}),
        true,
    )
    .unwrap();
    let lead = block_on(leads::insert(&db, &scope, &fields, &owner, at(NOW))).unwrap();
    let (first, dispatch) =
        block_on(enrichment::request(&db, &scope, &lead.id, &owner, at(NOW))).unwrap();
    assert!(dispatch.is_some(), "the first request starts a job");
    let (again, none) = block_on(enrichment::request(
        &db,
        &scope,
        &lead.id,
        &owner,
        at(NOW + 1),
    ))
    .unwrap();
    assert_eq!(
        (again.id.as_str(), none.is_none()),
        (first.id.as_str(), true)
    );
    let jobs = block_on(db.query(shared::stmt!(
        "SELECT type FROM jobs WHERE firm_id = ?1",
        scope.firm_id()
    )))
    .unwrap();
    assert_eq!(jobs.len(), 1, "one job for the waiting lookup: {jobs:?}");
    // The provider slows us down: the lookup keeps waiting, saying why.
    let firm = scope.firm_id().to_owned();
    let slowed = block_on(enrichment::job_outcome(
        &db,
        &firm,
        &first.id,
        Answer::RateLimited(Some(3)),
        1,
        at(NOW + 2),
    ))
    .unwrap();
    assert!(matches!(
        slowed,
        Verdict::Again {
            status: 429,
            retry_after: Some(3),
            ..
        }
    ));
    let waiting = block_on(enrichment::get(&db, &scope, &first.id)).unwrap();
    assert_eq!(waiting.status, EnrichmentStatus::Pending);
    assert!(waiting.error.is_some());
    // Found: the typed title stays, a value the lead's parser refuses is skipped.
    let done = block_on(enrichment::job_outcome(
        &db,
        &firm,
        &first.id,
        Answer::Found(found()),
        2,
        at(NOW + 3),
    ))
    .unwrap();
    let Verdict::Done(e) = done else {
        panic!("found is done")
    };
    assert_eq!(e.status, EnrichmentStatus::Found);
    assert_eq!(e.kept, ["title"]);
    assert!(!e.applied.contains_key("company_size"));
    let after = block_on(leads::get(&db, &scope, &lead.id)).unwrap();
    assert_eq!(
        (
            after.title.as_deref(),
            after.industry.as_deref(),
            after.country.as_deref()
        ),
        (Some("Founder"), Some("Machinery"), Some("GB"))
    );
    // A late answer for a closed lookup changes nothing.
    assert!(block_on(enrichment::job_target(&db, &firm, &first.id))
        .unwrap()
        .is_none());
}

#[test]
fn a_refusal_or_a_last_failed_attempt_closes_the_lookup_as_failed() {
    let db = MemoryDb::migrated().unwrap();
    let (scope, owner) = support::provision(&db, "acme", "UTC", NOW);
    let (other, _) = support::provision(&db, "other", "UTC", NOW);
    let firm = scope.firm_id().to_owned();
    let lead = |name: &str| {
        let f = LeadFields::parse(
            &json!({"contact_name": name, "website": "https://www.busy.example/about"}),
            true,
        )
        .unwrap();
        block_on(leads::insert(&db, &scope, &f, &owner, at(NOW))).unwrap()
    };
    let refused = lead("Bo");
    let (e, _) = block_on(enrichment::request(
        &db,
        &scope,
        &refused.id,
        &owner,
        at(NOW),
    ))
    .unwrap();
    assert_eq!(e.lookup, "domain:busy.example");
    let v = block_on(enrichment::job_outcome(
        &db,
        &firm,
        &e.id,
        Answer::Refused("HTTP 401: bad key".into()),
        1,
        at(NOW + 1),
    ))
    .unwrap();
    assert!(matches!(v, Verdict::Refused(_)));
    assert_eq!(
        block_on(enrichment::get(&db, &scope, &e.id))
            .unwrap()
            .status,
        EnrichmentStatus::Failed
    );
    let tired = lead("Cy");
    let (e, _) = block_on(enrichment::request(&db, &scope, &tired.id, &owner, at(NOW))).unwrap();
    block_on(enrichment::job_outcome(
        &db,
        &firm,
        &e.id,
        Answer::Retry("HTTP 503".into()),
        6,
        at(NOW + 1),
    ))
    .unwrap();
    let closed = block_on(enrichment::get(&db, &scope, &e.id)).unwrap();
    assert_eq!(
        (closed.status, closed.error.as_deref()),
        (EnrichmentStatus::Failed, Some("HTTP 503"))
    );
    // A failed lookup may be asked for again; another firm sees none of it.
    let (again, dispatch) = block_on(enrichment::request(
        &db,
        &scope,
        &tired.id,
        &owner,
        at(NOW + 2),
    ))
    .unwrap();
    assert!(again.id != e.id && dispatch.is_some());
    assert!(matches!(
        block_on(enrichment::latest(&db, &other, &tired.id)),
        Err(DomainError::NotFound(_))
    ));
    // A lead with nothing to look up by is a 409.
    let bare = LeadFields::parse(&json!({"contact_name": "Di"}), true).unwrap();
    let bare = block_on(leads::insert(&db, &scope, &bare, &owner, at(NOW))).unwrap();
    assert!(matches!(
        block_on(enrichment::request(&db, &scope, &bare.id, &owner, at(NOW))),
        Err(DomainError::Conflict { .. })
    ));
}
