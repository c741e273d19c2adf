//! The mail outbox on in-memory SQLite: an attempt owns its message for a while, so
//! a sweep running beside the request that queued it (or beside another sweep)
//! never sends it twice, and a message whose attempt died is taken over later.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::time::Instant;
use shared::mail::{self, CLAIM_MS};

const T: i64 = 1_790_000_000_000;

fn at(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

#[test]
fn the_queuing_request_holds_the_first_claim() {
    let db = MemoryDb::migrated().unwrap();
    let (id, statement) = mail::enqueue("pat@client.test", "Hello", "Body", at(T)).unwrap();
    block_on(db.execute(statement)).unwrap();
    // A sweep now finds nothing: the request is sending it.
    assert!(block_on(mail::claim_due(&db, at(T + 10)))
        .unwrap()
        .is_empty());
    assert_eq!(
        block_on(mail::queued(&db, std::slice::from_ref(&id)))
            .unwrap()
            .len(),
        1
    );
    // Had the request died, a sweep after the claim takes it over, once.
    let taken = block_on(mail::claim_due(&db, at(T + CLAIM_MS))).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, id);
    assert!(block_on(mail::claim_due(&db, at(T + CLAIM_MS)))
        .unwrap()
        .is_empty());
    // A failed attempt is retried by the next sweep.
    block_on(db.execute(mail::mark_failed(
        &id,
        "provider down",
        at(T + CLAIM_MS + 1),
    )))
    .unwrap();
    assert_eq!(
        block_on(mail::claim_due(&db, at(T + CLAIM_MS + 2)))
            .unwrap()
            .len(),
        1
    );
    // Once sent it is nobody's any more.
    block_on(db.execute(mail::mark_sent(&id, "pm-1", at(T + CLAIM_MS + 3)))).unwrap();
    assert!(block_on(mail::queued(&db, std::slice::from_ref(&id)))
        .unwrap()
        .is_empty());
    assert!(block_on(mail::claim_due(&db, at(T + 10 * CLAIM_MS)))
        .unwrap()
        .is_empty());
}
