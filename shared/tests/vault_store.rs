//! Envelope encryption against the real schema: values bound to their place, key
//! rotation with re-sealing, root-key rotation, and crypto-shredding.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::Value;
use shared::kernel::secrets::SecretBox;
use shared::kernel::sql::{query_as, Sql, Statement};
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::time::Instant;
use shared::kernel::vault::{self, Field, SEALED_COLUMNS};
use shared::stmt;
use shared::DomainError;

const ROOT_A: &str = "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const ROOT_B: &str = "b:HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo";

fn at(ms: i64) -> Instant {
    Instant::from_millis(1_800_000_000_000 + ms)
}

fn root(spec: &str) -> SecretBox {
    SecretBox::from_config(spec).unwrap()
}

/// A table with a sealed column, as a module would have.
fn db() -> MemoryDb {
    let db = MemoryDb::migrated().unwrap();
    block_on(db.execute(stmt!(
        "CREATE TABLE t_notes (id TEXT PRIMARY KEY, firm_id TEXT NOT NULL, body TEXT)"
    )))
    .unwrap();
    db
}

fn put(db: &MemoryDb, id: &str, firm: &str, body: &str) {
    block_on(db.execute(stmt!(
        "INSERT INTO t_notes (id, firm_id, body) VALUES (?1, ?2, ?3)",
        id,
        firm,
        body
    )))
    .unwrap();
}

fn body(db: &MemoryDb, id: &str) -> String {
    let rows: Vec<Value> = block_on(query_as(
        db,
        stmt!("SELECT body FROM t_notes WHERE id = ?1", id),
    ))
    .unwrap();
    rows[0]["body"].as_str().unwrap().to_owned()
}

const NOTES: vault::SealedColumn = vault::SealedColumn {
    table: "t_notes",
    column: "body",
    owner: "firm_id",
    row: "id",
};

#[test]
fn a_value_opens_only_where_it_was_sealed() {
    let db = db();
    let ring = block_on(vault::keyring(&db, &root(ROOT_A), "frm_a", at(0))).unwrap();
    let other = block_on(vault::keyring(&db, &root(ROOT_A), "frm_b", at(0))).unwrap();
    let here = Field::new("t_notes", "body", "n1");
    let sealed = ring.seal(here, b"tax id 12-3456789").unwrap();
    assert!(sealed.starts_with("enc:v1:1:"), "{sealed}");
    assert!(!sealed.contains("3456789"));
    assert_eq!(ring.open(here, &sealed).unwrap(), b"tax id 12-3456789");
    // Copied to another row, column, table or firm, it does not open.
    for elsewhere in [
        Field::new("t_notes", "body", "n2"),
        Field::new("t_notes", "title", "n1"),
        Field::new("t_other", "body", "n1"),
    ] {
        assert!(ring.open(elsewhere, &sealed).is_err(), "{elsewhere:?}");
    }
    assert!(other.open(here, &sealed).is_err(), "another firm's key");
    // Tampering is detected.
    let mut tampered = sealed.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(ring.open(here, &tampered).is_err());
    // Each seal has a fresh nonce; the count of uses reaches the key row.
    assert_ne!(ring.seal(here, b"tax id 12-3456789").unwrap(), sealed);
    block_on(db.execute(ring.usage().unwrap())).unwrap();
    let keys = block_on(vault::versions(&db, "frm_a")).unwrap();
    assert_eq!(
        (keys.len(), keys[0].uses, keys[0].status.as_str()),
        (1, 2, "active")
    );
    // The stored key is wrapped, never plain: nothing in the row is 32 raw bytes.
    let rows: Vec<Value> = block_on(query_as(
        &db,
        stmt!("SELECT wrapped FROM kernel_data_keys WHERE owner = 'frm_a'"),
    ))
    .unwrap();
    assert!(rows[0]["wrapped"].as_str().unwrap().starts_with("v1.a."));
}

#[test]
fn a_copied_row_fails_to_open_in_the_database() {
    let db = db();
    let ring = block_on(vault::keyring(&db, &root(ROOT_A), "frm_a", at(0))).unwrap();
    put(
        &db,
        "n1",
        "frm_a",
        &ring
            .seal(Field::new("t_notes", "body", "n1"), b"secret one")
            .unwrap(),
    );
    put(
        &db,
        "n2",
        "frm_a",
        &ring
            .seal(Field::new("t_notes", "body", "n2"), b"secret two")
            .unwrap(),
    );
    block_on(db.execute(stmt!(
        "UPDATE t_notes SET body = (SELECT body FROM t_notes WHERE id = 'n1') WHERE id = 'n2'"
    )))
    .unwrap();
    let moved = body(&db, "n2");
    assert!(ring
        .open(Field::new("t_notes", "body", "n2"), &moved)
        .is_err());
}

#[test]
fn rotation_reseals_everything_and_old_values_open_meanwhile() {
    let db = db();
    let r = root(ROOT_A);
    let ring = block_on(vault::keyring(&db, &r, "frm_a", at(0))).unwrap();
    for i in 0..1_203 {
        let id = format!("n{i:04}");
        put(
            &db,
            &id,
            "frm_a",
            &ring
                .seal(Field::new("t_notes", "body", &id), id.as_bytes())
                .unwrap(),
        );
    }
    put(&db, "x1", "frm_b", "untouched: another firm");
    assert_eq!(
        block_on(vault::rotate(&db, &r, "frm_a", at(10))).unwrap(),
        2
    );
    let rotated = block_on(vault::keyring(&db, &r, "frm_a", at(20))).unwrap();
    assert_eq!(rotated.active_version(), Some(2));
    // Values of version 1 still open before the re-seal.
    let old = body(&db, "n0007");
    assert_eq!(
        rotated
            .open(Field::new("t_notes", "body", "n0007"), &old)
            .unwrap(),
        b"n0007"
    );
    // The re-seal moves at most a batch at a time until nothing is left.
    let mut moved = Vec::new();
    loop {
        let n = block_on(vault::reseal(&db, &rotated, &NOTES)).unwrap();
        if n == 0 {
            break;
        }
        moved.push(n);
    }
    assert_eq!(moved, vec![500, 500, 203]);
    for id in ["n0000", "n0600", "n1202"] {
        let now = body(&db, id);
        assert!(now.starts_with("enc:v1:2:"));
        assert_eq!(
            rotated
                .open(Field::new("t_notes", "body", id), &now)
                .unwrap(),
            id.as_bytes()
        );
    }
    assert_eq!(body(&db, "x1"), "untouched: another firm");
    let keys = block_on(vault::versions(&db, "frm_a")).unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.version, k.status.as_str(), k.uses))
            .collect::<Vec<_>>(),
        vec![(2, "active", 1_203), (1, "retired", 0)]
    );
}

#[test]
fn the_root_key_rotates_without_losing_a_data_key() {
    let db = db();
    let ring = block_on(vault::keyring(&db, &root(ROOT_A), "frm_a", at(0))).unwrap();
    let here = Field::new("t_notes", "body", "n1");
    let sealed = ring.seal(here, b"kept").unwrap();
    let both = root(&format!("{ROOT_B},{ROOT_A}"));
    assert_eq!(block_on(vault::rewrap(&db, &both)).unwrap(), 1);
    assert_eq!(block_on(vault::rewrap(&db, &both)).unwrap(), 0);
    // The old root key can now go.
    let only_b = root(ROOT_B);
    let reread = block_on(vault::existing(&db, &only_b, "frm_a")).unwrap();
    assert_eq!(reread.open(here, &sealed).unwrap(), b"kept");
}

#[test]
fn destroying_the_keys_shreds_every_value_they_sealed() {
    let db = db();
    let r = root(ROOT_A);
    let ring = block_on(vault::keyring(&db, &r, "frm_a", at(0))).unwrap();
    let here = Field::new("t_notes", "body", "n1");
    put(
        &db,
        "n1",
        "frm_a",
        &ring.seal(here, b"client bank details").unwrap(),
    );
    // A backup copy of the row taken before the shredding.
    let backup = body(&db, "n1");
    assert_eq!(block_on(vault::destroy(&db, "frm_a", at(5))).unwrap(), 1);
    let after = block_on(vault::existing(&db, &r, "frm_a")).unwrap();
    assert!(matches!(
        after.open(here, &backup),
        Err(DomainError::Gone(_))
    ));
    assert!(matches!(
        after.seal(here, b"new"),
        Err(DomainError::Gone(_))
    ));
    // No fresh key appears for a shredded owner, nor may one be rotated in.
    let again = block_on(vault::keyring(&db, &r, "frm_a", at(6))).unwrap();
    assert!(again.open(here, &backup).is_err());
    assert!(matches!(
        block_on(vault::rotate(&db, &r, "frm_a", at(7))),
        Err(DomainError::Gone(_))
    ));
    // The key material is gone from the table itself.
    let rows: Vec<Value> = block_on(query_as(
        &db,
        stmt!("SELECT wrapped, status FROM kernel_data_keys WHERE owner = 'frm_a'"),
    ))
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["wrapped"].is_null());
    assert_eq!(rows[0]["status"], "destroyed");
    // Another firm is untouched.
    let other = block_on(vault::keyring(&db, &r, "frm_b", at(8))).unwrap();
    let theirs = other.seal(here, b"x").unwrap();
    assert_eq!(other.open(here, &theirs).unwrap(), b"x");
}

#[test]
fn content_keys_are_per_object_survive_rotation_and_die_with_the_data_key() {
    let db = db();
    let r = root(ROOT_A);
    let ring = block_on(vault::keyring(&db, &r, "frm_a", at(0))).unwrap();
    let file = Field::new("files_objects", "content", "fil_1");
    let (version, key) = ring.content_key(None, file).unwrap();
    assert_eq!(version, 1);
    // The same object's key again, and another object's different key.
    assert_eq!(ring.content_key(Some(1), file).unwrap().1, key);
    let other = ring
        .content_key(None, Field::new("files_objects", "content", "fil_2"))
        .unwrap();
    assert_ne!(other.1, key);
    // Another firm's key for the same object id differs.
    let theirs = block_on(vault::keyring(&db, &r, "frm_b", at(1))).unwrap();
    assert_ne!(theirs.content_key(None, file).unwrap().1, key);
    // After a rotation, new objects take version 2 and old ones keep theirs.
    block_on(vault::rotate(&db, &r, "frm_a", at(2))).unwrap();
    let ring = block_on(vault::existing(&db, &r, "frm_a")).unwrap();
    assert_eq!(ring.content_key(None, file).unwrap().0, 2);
    assert_eq!(ring.content_key(Some(1), file).unwrap().1, key);
    assert!(ring.content_key(Some(9), file).is_err());
    // Shredded: no key derives any more.
    block_on(vault::destroy(&db, "frm_a", at(3))).unwrap();
    let ring = block_on(vault::existing(&db, &r, "frm_a")).unwrap();
    assert!(matches!(
        ring.content_key(Some(1), file),
        Err(DomainError::Gone(_))
    ));
}

#[test]
fn every_registered_sealed_column_exists_in_the_schema() {
    let db = MemoryDb::migrated().unwrap();
    for c in SEALED_COLUMNS {
        let probe = Statement::new(
            format!(
                "SELECT {}, {}, {} FROM {} LIMIT 0",
                c.column, c.owner, c.row, c.table
            ),
            vec![],
        );
        assert!(block_on(db.query(probe)).is_ok(), "{c:?}");
    }
}

#[test]
fn the_daily_run_rotates_old_keys_and_moves_their_values() {
    let db = MemoryDb::migrated().unwrap();
    let r = root(ROOT_A);
    // A person's TOTP secret sealed under a key that is now a year old.
    let ring = block_on(vault::keyring(&db, &r, "usr_1", at(0))).unwrap();
    let field = shared::auth::mfa::totp_field("usr_1");
    block_on(db.execute(stmt!(
        "INSERT INTO auth_users (id, email, name, created_at, updated_at) VALUES ('usr_1', 'a@b.test', 'A', 0, 0)"
    )))
    .unwrap();
    block_on(db.execute(stmt!(
        "INSERT INTO auth_totp_factors (user_id, secret_sealed, created_at) VALUES ('usr_1', ?1, 0)",
        ring.seal(field, b"0123456789abcdefghij").unwrap()
    )))
    .unwrap();
    let young = block_on(vault::maintain(&db, &r, at(1_000))).unwrap();
    assert_eq!(young, vault::Maintenance::default());
    let later = at(vault::MAX_AGE_MS + 1);
    let done = block_on(vault::maintain(&db, &r, later)).unwrap();
    assert_eq!((done.rotated, done.resealed), (1, 1));
    let rows: Vec<Value> = block_on(query_as(
        &db,
        stmt!("SELECT secret_sealed FROM auth_totp_factors WHERE user_id = 'usr_1'"),
    ))
    .unwrap();
    let now = rows[0]["secret_sealed"].as_str().unwrap();
    assert!(now.starts_with("enc:v1:2:"));
    let reread = block_on(vault::existing(&db, &r, "usr_1")).unwrap();
    assert_eq!(reread.open(field, now).unwrap(), b"0123456789abcdefghij");
    assert_eq!(
        block_on(vault::maintain(&db, &r, later)).unwrap(),
        vault::Maintenance::default(),
        "nothing left to do"
    );
}
