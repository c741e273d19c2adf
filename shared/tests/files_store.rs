//! Stored objects on in-memory SQLite from the real migrations: the quota is
//! reserved with the row (nothing written when it does not fit), multipart parts
//! are checked and may be sent again, completion needs every part, an aborted
//! upload frees its reservation, and one firm never sees another's files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use shared::files::links::Classification;
use shared::files::rules::{Declared, Use};
use shared::files::store::{self, Transfer, Upload};
use shared::firm::model::Tier;
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;

const MIB: u64 = 1024 * 1024;
const GB: u64 = 1_000_000_000;

fn at(ms: i64) -> Instant {
    Instant::from_millis(1_800_000_000_000 + ms)
}

fn upload(name: &str, media: &str, size: u64, transfer: Transfer) -> Upload {
    Upload {
        declared: Declared {
            name: name.into(),
            media_type: media.into(),
            size,
            usage: Use::Document,
        },
        transfer,
        classification: Classification::Conf,
        sha256: None,
    }
}

fn pdf(size: u64) -> Upload {
    upload(
        "report.pdf",
        "application/pdf",
        size,
        Transfer::Multipart {
            part_size: 90 * MIB,
        },
    )
}

#[test]
fn the_quota_is_reserved_with_the_row_and_freed_by_an_abort() {
    let db = MemoryDb::migrated().unwrap();
    let a = TenantScope::for_tests("frm_a", None);
    // Five files of 2 GB fill the starter plan's 10 GB exactly.
    let rows: Vec<_> = (0..5)
        .map(|i| {
            block_on(store::reserve(
                &db,
                &a,
                Tier::Starter,
                &pdf(2 * GB),
                ("usr_1", 1),
                at(i),
            ))
            .unwrap()
        })
        .collect();
    let big = &rows[0];
    assert_eq!(big.status, "uploading");
    assert_eq!(big.r2_key, format!("firms/frm_a/files/{}", big.id));
    assert_eq!(
        (big.part_size, big.parts),
        (Some(90 * MIB as i64), Some(22))
    );
    // One more megabyte does not fit, and nothing is written.
    let refused = block_on(store::reserve(
        &db,
        &a,
        Tier::Starter,
        &pdf(MIB),
        ("usr_1", 1),
        at(6),
    ));
    assert!(
        matches!(
            refused,
            Err(DomainError::Conflict {
                field: Some("size"),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(block_on(store::usage(&db, "frm_a")).unwrap(), 10 * GB);
    // Another firm's quota is its own.
    let b = TenantScope::for_tests("frm_b", None);
    assert!(block_on(store::reserve(
        &db,
        &b,
        Tier::Starter,
        &pdf(2 * GB),
        ("usr_2", 1),
        at(7)
    ))
    .is_ok());
    assert!(matches!(
        block_on(store::get(&db, &b, &big.id)),
        Err(DomainError::NotFound(_))
    ));
    // Aborting frees the reservation.
    block_on(db.batch(store::mark_aborted(&big.id, at(8)))).unwrap();
    assert_eq!(block_on(store::usage(&db, "frm_a")).unwrap(), 8 * GB);
    assert!(block_on(store::reserve(
        &db,
        &a,
        Tier::Starter,
        &pdf(MIB),
        ("usr_1", 1),
        at(9)
    ))
    .is_ok());
    // One request carries at most 95 MiB.
    let single = upload("scan.pdf", "application/pdf", 96 * MIB, Transfer::Single);
    assert!(block_on(store::reserve(
        &db,
        &a,
        Tier::Starter,
        &single,
        ("usr_1", 1),
        at(5)
    ))
    .is_err());
}

#[test]
fn parts_are_checked_may_be_sent_again_and_completion_needs_them_all() {
    let db = MemoryDb::migrated().unwrap();
    let a = TenantScope::for_tests("frm_a", None);
    let size = 50 * MIB + 123;
    let row = block_on(store::reserve(
        &db,
        &a,
        Tier::Starter,
        &upload(
            "video.mp4",
            "video/mp4",
            size,
            Transfer::Multipart {
                part_size: 16 * MIB,
            },
        ),
        ("usr_1", 1),
        at(0),
    ))
    .unwrap();
    assert_eq!(row.parts, Some(4));
    assert_eq!(
        store::expected_part_size(&row, 1).unwrap(),
        (16 * MIB) as i64
    );
    assert_eq!(
        store::expected_part_size(&row, 4).unwrap(),
        (2 * MIB + 123) as i64
    );
    assert!(store::expected_part_size(&row, 5).is_err());
    assert!(store::expected_part_size(&row, 0).is_err());
    block_on(db.batch(store::record_part(
        &row.id,
        1,
        "etag-1",
        (16 * MIB) as i64,
        at(1),
    )))
    .unwrap();
    block_on(db.batch(store::record_part(
        &row.id,
        3,
        "etag-3",
        (16 * MIB) as i64,
        at(2),
    )))
    .unwrap();
    let received = block_on(store::parts(&db, &row.id)).unwrap();
    match store::all_parts(&row, &received) {
        Err(DomainError::Conflict { detail, .. }) => assert!(detail.ends_with("2, 4"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // A dropped connection: part 3 is sent again and replaces the first copy.
    block_on(db.batch(store::record_part(
        &row.id,
        3,
        "etag-3b",
        (16 * MIB) as i64,
        at(3),
    )))
    .unwrap();
    block_on(db.batch(store::record_part(
        &row.id,
        2,
        "etag-2",
        (16 * MIB) as i64,
        at(4),
    )))
    .unwrap();
    block_on(db.batch(store::record_part(
        &row.id,
        4,
        "etag-4",
        (2 * MIB + 123) as i64,
        at(5),
    )))
    .unwrap();
    let all = store::all_parts(&row, &block_on(store::parts(&db, &row.id)).unwrap()).unwrap();
    assert_eq!(
        all.iter().map(|p| p.etag.as_str()).collect::<Vec<_>>(),
        vec!["etag-1", "etag-2", "etag-3b", "etag-4"]
    );
    block_on(db.execute(store::mark_stored(&row.id, &"ab".repeat(32), at(6)))).unwrap();
    let stored = block_on(store::get(&db, &a, &row.id)).unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.sha256.as_deref()),
        ("stored", Some("ab".repeat(32).as_str()))
    );
    assert!(
        store::require_uploading(&stored).is_err(),
        "a stored file takes no more bytes"
    );
    // An upload idle for a day is found for the hourly abort.
    let idle = block_on(store::idle_uploads(&db, at(25 * 3_600_000), 10)).unwrap();
    assert!(idle.is_empty(), "the stored one is not idle");
}
