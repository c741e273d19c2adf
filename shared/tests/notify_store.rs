//! The notification pipeline on in-memory SQLite from the real migrations: only the
//! firm's own people are told, preferences and the suppression list are read in
//! bulk, a large request is split into chunks bound to the parent's sealed
//! variables, and held mail and digests leave once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::{json, Map, Value};
use shared::kernel::events::EventEnvelope;
use shared::kernel::secrets::SecretBox;
use shared::kernel::sql::{query_as, Sql};
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::kernel::vault;
use shared::notify::{self, store, Recipient};
use shared::stmt;

fn at(ms: i64) -> Instant {
    Instant::from_millis(1_800_000_000_000 + ms)
}

/// A firm `frm_a` with `n` active members `usr_0000`… and one outsider `usr_out`.
fn firm(n: usize) -> MemoryDb {
    let db = MemoryDb::migrated().unwrap();
    let mut statements = vec![stmt!(
        "INSERT INTO firm_firms (id, name, slug, timezone, currency, created_at, updated_at)
         VALUES ('frm_a', 'Acme', 'acme', 'UTC', 'USD', 0, 0)"
    )];
    for i in 0..n {
        let id = format!("usr_{i:04}");
        statements.push(stmt!(
            "INSERT INTO auth_users (id, email, name, created_at, updated_at) VALUES (?1, ?2, 'P', 0, 0)",
            id.as_str(),
            format!("p{i}@acme.test")
        ));
        statements.push(stmt!(
            "INSERT INTO firm_memberships (firm_id, user_id, role, created_at) VALUES ('frm_a', ?1, 'staff', 0)",
            id.as_str()
        ));
    }
    statements.push(stmt!(
        "INSERT INTO auth_users (id, email, name, created_at, updated_at) VALUES ('usr_out', 'out@else.test', 'O', 0, 0)"
    ));
    block_on(db.batch(statements)).unwrap();
    db
}

fn count(db: &MemoryDb, sql: &'static str) -> i64 {
    let rows: Vec<Value> = block_on(query_as(db, stmt!(sql))).unwrap();
    rows[0]["n"].as_i64().unwrap()
}

fn consume(
    db: &MemoryDb,
    event: &EventEnvelope,
    keys: Option<&vault::Keyring>,
    now: Instant,
) -> Vec<EventEnvelope> {
    let request = store::parse(event).unwrap();
    if let Some((statements, children)) = store::split(event, &request, now).unwrap() {
        block_on(db.batch(statements)).unwrap();
        return children;
    }
    let vars = store::variables(event, &request, keys).unwrap();
    let planned = block_on(store::plan(db, event, &request, &vars, now)).unwrap();
    block_on(db.batch(planned.statements)).unwrap();
    Vec::new()
}

#[test]
fn a_large_request_is_split_and_only_the_firms_people_are_told() {
    let db = firm(120);
    let scope = TenantScope::for_tests("frm_a", None);
    let root = SecretBox::from_config("a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap();
    let keys = block_on(vault::keyring(&db, &root, "frm_a", at(0))).unwrap();
    // One member wants a digest; one address is suppressed.
    block_on(
        db.execute(
            store::save_settings(
                "frm_a",
                "usr_0007",
                &store::parse_settings(&json!({"digest": "daily"}), &Default::default()).unwrap(),
                at(0),
            )
            .unwrap(),
        ),
    )
    .unwrap();
    block_on(db.execute(stmt!(
        "INSERT INTO notify_suppressions (address, reason, created_at) VALUES ('p9@acme.test', 'hard_bounce', 0)"
    )))
    .unwrap();
    let mut recipients: Vec<Recipient> = (0..120)
        .map(|i| Recipient::user(&format!("usr_{i:04}")))
        .collect();
    recipients.push(Recipient::user("usr_out"));
    recipients.push(Recipient::user("usr_nobody"));
    let mut vars = Map::new();
    vars.insert("name".into(), json!("ERP"));
    vars.insert("url".into(), json!("https://erp.acme.test/hooks"));
    vars.insert("why".into(), json!("it answered 410"));
    let mut secret = Map::new();
    secret.insert(
        "link".into(),
        json!("https://app.test/settings/webhooks/whe_1"),
    );
    let parent = notify::request(
        &scope,
        "webhooks.endpoint_disabled",
        recipients,
        vars,
        Some((&keys, secret)),
        at(0),
    )
    .unwrap();
    let children = consume(&db, &parent, Some(&keys), at(1));
    assert_eq!(children.len(), 3, "122 recipients in chunks of 50");
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM notify_notifications"),
        0
    );
    for child in &children {
        assert!(consume(&db, child, Some(&keys), at(2)).is_empty());
    }
    // 120 members told; the outsider and the unknown id never.
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM notify_notifications"),
        120
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM notify_notifications WHERE recipient = 'usr_out'"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM notify_deliveries WHERE channel = 'email' AND status = 'queued'"), 118);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM notify_deliveries WHERE status = 'digest' AND user_id = 'usr_0007'"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM notify_deliveries WHERE status = 'suppressed'"
        ),
        1
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM kernel_mail_outbox"),
        118
    );
    // The sealed link, bound to the parent, opened in every chunk.
    let bodies: Vec<Value> = block_on(query_as(
        &db,
        stmt!("SELECT body_text FROM kernel_mail_outbox LIMIT 1"),
    ))
    .unwrap();
    assert!(bodies[0]["body_text"]
        .as_str()
        .unwrap()
        .contains("https://app.test/settings/webhooks/whe_1"));
    // A redelivered chunk changes nothing: it fails on uniqueness as a whole.
    let again = store::parse(&children[0]).unwrap();
    let vars = store::variables(&children[0], &again, Some(&keys)).unwrap();
    let planned = block_on(store::plan(&db, &children[0], &again, &vars, at(3))).unwrap();
    assert!(block_on(db.batch(planned.statements)).is_err());
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM kernel_mail_outbox"),
        118
    );
    // The digest goes at its local hour (08:00 by default), once.
    let eight =
        Instant::from_millis((at(0).millis() / 86_400_000 + 1) * 86_400_000 + 8 * 3_600_000);
    assert_eq!(
        block_on(store::flush_digests(&db, eight.plus_millis(-3_600_000)))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(block_on(store::flush_digests(&db, eight)).unwrap().len(), 1);
    assert_eq!(
        block_on(store::flush_digests(&db, eight.plus_millis(3_600_000)))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM kernel_mail_outbox"),
        119
    );
}
