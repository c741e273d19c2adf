//! Sign-in, lockout, sessions and the audit chain, on in-memory SQLite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::json;
use shared::auth::sessions::{self, Refresh};
use shared::auth::signin::{self, Credentials, Failure, LOCK_MS};
use shared::firm::members;
use shared::firm::provision::{self, ProvisionFirm};
use shared::kernel::audit::{self, Category, Entry, Origin, Outcome, Severity};
use shared::kernel::sql::Sql;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::time::Instant;

const T0: i64 = 1_790_000_000_000;
const PASSWORD: &str = "correct horse battery";

fn at(ms: i64) -> Instant {
    Instant::from_millis(T0 + ms)
}

fn firm(db: &MemoryDb, slug: &str, email: &str) -> provision::Provisioned {
    let body = json!({"name": "Acme", "slug": slug, "owner": {"email": email, "password": PASSWORD, "name": "Ada"}});
    let plan = provision::plan(
        ProvisionFirm::parse(&body).unwrap(),
        &Origin::default(),
        at(0),
    )
    .unwrap();
    block_on(db.batch(plan.statements.clone())).unwrap();
    plan
}

fn creds(email: &str, password: &str) -> Credentials {
    Credentials::parse(&json!({"email": email, "password": password})).unwrap()
}

#[test]
fn the_right_password_signs_in_and_unknown_addresses_fail_alike() {
    let db = MemoryDb::migrated().unwrap();
    let plan = firm(&db, "acme", "ada@acme.test");
    let ok = block_on(signin::authenticate(
        &db,
        &creds("ADA@acme.test", PASSWORD),
        at(1),
    ))
    .unwrap()
    .unwrap();
    assert_eq!(ok.id, plan.owner.id);
    let unknown = block_on(signin::authenticate(
        &db,
        &creds("nobody@acme.test", PASSWORD),
        at(1),
    ))
    .unwrap();
    assert_eq!(unknown, Err(Failure::UnknownAccount));
    let wrong = block_on(signin::authenticate(
        &db,
        &creds("ada@acme.test", "wrong password!"),
        at(1),
    ))
    .unwrap();
    assert!(matches!(
        wrong,
        Err(Failure::WrongPassword { locked: false, .. })
    ));
}

#[test]
fn five_failures_lock_the_account_and_locks_double() {
    let db = MemoryDb::migrated().unwrap();
    firm(&db, "acme", "ada@acme.test");
    let wrong = creds("ada@acme.test", "wrong password!");
    for i in 1..=4 {
        let r = block_on(signin::authenticate(&db, &wrong, at(i))).unwrap();
        assert!(
            matches!(r, Err(Failure::WrongPassword { locked: false, .. })),
            "failure {i}"
        );
    }
    let fifth = block_on(signin::authenticate(&db, &wrong, at(5))).unwrap();
    assert!(matches!(
        fifth,
        Err(Failure::WrongPassword { locked: true, .. })
    ));
    // The right password during the lock is refused too.
    let during = block_on(signin::authenticate(
        &db,
        &creds("ada@acme.test", PASSWORD),
        at(LOCK_MS - 1000),
    ))
    .unwrap();
    assert!(matches!(during, Err(Failure::Locked { .. })));
    // After the lock, a second run of failures locks for twice as long.
    for i in 0..5 {
        block_on(signin::authenticate(&db, &wrong, at(LOCK_MS + 10 + i)))
            .unwrap()
            .unwrap_err();
    }
    let still = block_on(signin::authenticate(
        &db,
        &creds("ada@acme.test", PASSWORD),
        at(LOCK_MS + 10 + LOCK_MS + 1000),
    ))
    .unwrap();
    assert!(
        matches!(still, Err(Failure::Locked { .. })),
        "second lock lasts 30 minutes"
    );
    let after = block_on(signin::authenticate(
        &db,
        &creds("ada@acme.test", PASSWORD),
        at(LOCK_MS + 20 + 2 * LOCK_MS),
    ))
    .unwrap();
    assert!(after.is_ok());
}

#[test]
fn failures_older_than_the_window_are_forgotten() {
    let db = MemoryDb::migrated().unwrap();
    firm(&db, "acme", "ada@acme.test");
    let wrong = creds("ada@acme.test", "wrong password!");
    for i in 0..4 {
        block_on(signin::authenticate(&db, &wrong, at(i)))
            .unwrap()
            .unwrap_err();
    }
    let later = block_on(signin::authenticate(
        &db,
        &wrong,
        at(signin::FAILURE_WINDOW_MS + 1),
    ))
    .unwrap();
    assert!(matches!(
        later,
        Err(Failure::WrongPassword { locked: false, .. })
    ));
}

#[test]
fn credentials_name_their_bad_fields() {
    assert!(Credentials::parse(&json!({"email": "x", "password": ""})).is_err());
    assert!(Credentials::parse(&json!({"email": "a@b.co"})).is_err());
    assert!(Credentials::parse(&json!({"email": "a@b.co", "password": "p", "extra": 1})).is_err());
}

#[test]
fn refresh_tokens_rotate_and_reuse_revokes_the_session() {
    let db = MemoryDb::migrated().unwrap();
    let plan = firm(&db, "acme", "ada@acme.test");
    let origin = Origin::default();
    let s = sessions::open(
        &plan.owner.id,
        &plan.firm.id,
        &["pwd".into()],
        None,
        &origin,
        at(0),
    )
    .unwrap();
    block_on(db.batch(s.statements)).unwrap();
    let Refresh::Rotated {
        refresh_token: second,
        session_id,
        ..
    } = block_on(sessions::rotate(&db, &s.refresh_token, at(1))).unwrap()
    else {
        panic!("first rotation")
    };
    assert_eq!(session_id, s.id);
    let Refresh::Rotated {
        refresh_token: third,
        ..
    } = block_on(sessions::rotate(&db, &second, at(2))).unwrap()
    else {
        panic!("second rotation")
    };
    // The first token again: reuse. The session is revoked, so even the newest token fails.
    assert!(matches!(
        block_on(sessions::rotate(&db, &s.refresh_token, at(3))).unwrap(),
        Refresh::Reused { .. }
    ));
    assert_eq!(
        block_on(sessions::rotate(&db, &third, at(4))).unwrap(),
        Refresh::Invalid
    );
    assert!(!block_on(sessions::is_live(&db, &s.id, at(4))).unwrap());
    assert_eq!(
        block_on(sessions::rotate(&db, "frt_unknown", at(4))).unwrap(),
        Refresh::Invalid
    );
    // Tokens are stored only hashed.
    let stored =
        block_on(db.query(shared::stmt!("SELECT token_hash FROM auth_refresh_tokens"))).unwrap();
    assert!(stored
        .iter()
        .all(|r| !r["token_hash"].as_str().unwrap().starts_with("frt_")));
}

#[test]
fn sessions_expire_and_only_their_owner_revokes_them() {
    let db = MemoryDb::migrated().unwrap();
    let a = firm(&db, "acme", "ada@acme.test");
    let b = firm(&db, "beta", "bo@beta.test");
    let s = sessions::open(
        &a.owner.id,
        &a.firm.id,
        &["pwd".into()],
        None,
        &Origin::default(),
        at(0),
    )
    .unwrap();
    block_on(db.batch(s.statements)).unwrap();
    assert!(!block_on(sessions::revoke_own(&db, &b.owner.id, &s.id, "user", at(1))).unwrap());
    let live = block_on(sessions::live_for_user(&db, &a.owner.id, at(1))).unwrap();
    assert!(
        live.iter().any(|v| v.id == s.id),
        "provisioning opened one session, this is another"
    );
    assert_eq!(
        block_on(sessions::rotate(
            &db,
            &s.refresh_token,
            at(sessions::SESSION_TTL_MS)
        ))
        .unwrap(),
        Refresh::Invalid
    );
    assert!(block_on(sessions::revoke_own(&db, &a.owner.id, &s.id, "user", at(1))).unwrap());
    assert!(block_on(sessions::live_for_user(&db, &a.owner.id, at(1)))
        .unwrap()
        .iter()
        .all(|v| v.id != s.id));
}

#[test]
fn memberships_are_found_by_id_or_slug() {
    let db = MemoryDb::migrated().unwrap();
    let a = firm(&db, "acme", "ada@acme.test");
    let all = block_on(members::active_for_user(&db, &a.owner.id)).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].firm_slug, "acme");
    assert_eq!(all[0].flags.len(), 5);
    assert!(block_on(members::active_in(&db, &a.owner.id, "acme"))
        .unwrap()
        .is_some());
    assert!(block_on(members::active_in(&db, &a.owner.id, &a.firm.id))
        .unwrap()
        .is_some());
    assert!(block_on(members::active_in(&db, &a.owner.id, "beta"))
        .unwrap()
        .is_none());
}

#[test]
fn the_audit_chain_detects_edits_and_removals() {
    let db = MemoryDb::migrated().unwrap();
    let origin = Origin {
        ip: Some("203.0.113.9".into()),
        user_agent: Some("test".into()),
        request_id: Some("req_1".into()),
    };
    for (i, action) in ["sign_in.succeeded", "sign_in.failed", "session.revoked"]
        .into_iter()
        .enumerate()
    {
        let entry = Entry::new(
            "frm_a",
            Category::Auth,
            action,
            Severity::Info,
            Outcome::Success,
        )
        .by("usr_1");
        let record = block_on(audit::append(&db, entry, &origin, at(i as i64))).unwrap();
        assert_eq!(record.seq, i as i64 + 1);
    }
    block_on(audit::append(
        &db,
        Entry::new(
            "frm_b",
            Category::Auth,
            "x",
            Severity::Info,
            Outcome::Success,
        ),
        &origin,
        at(9),
    ))
    .unwrap();
    let report = block_on(audit::verify(&db, "frm_a")).unwrap();
    assert!(report.intact && report.entries == 3);
    block_on(db.execute(shared::stmt!(
        "UPDATE kernel_audit_events SET outcome = 'failure' WHERE chain = 'frm_a' AND seq = 2"
    )))
    .unwrap();
    let edited = block_on(audit::verify(&db, "frm_a")).unwrap();
    assert_eq!((edited.intact, edited.first_broken_seq), (false, Some(2)));
    block_on(db.execute(shared::stmt!(
        "UPDATE kernel_audit_events SET outcome = 'success' WHERE chain = 'frm_a' AND seq = 2"
    )))
    .unwrap();
    block_on(db.execute(shared::stmt!(
        "DELETE FROM kernel_audit_events WHERE chain = 'frm_a' AND seq = 2"
    )))
    .unwrap();
    assert_eq!(
        block_on(audit::verify(&db, "frm_a"))
            .unwrap()
            .first_broken_seq,
        Some(2)
    );
    assert!(
        block_on(audit::verify(&db, "frm_b")).unwrap().intact,
        "chains are independent"
    );
}

const SECRETS: &str = "s1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

#[test]
fn totp_enrolment_codes_and_recovery_codes() {
    use shared::auth::mfa::{self, Proof};
    use shared::auth::totp::Totp;
    use shared::kernel::secrets::SecretBox;
    use shared::kernel::vault;
    let db = MemoryDb::migrated().unwrap();
    let plan = firm(&db, "acme", "ada@acme.test");
    let user = plan.owner.id.as_str();
    let root = SecretBox::from_config(SECRETS).unwrap();
    let keys = block_on(vault::keyring(&db, &root, user, at(0))).unwrap();
    let enrol = block_on(mfa::start_enrolment(
        &db,
        &keys,
        user,
        "ada@acme.test",
        at(0),
    ))
    .unwrap();
    assert!(enrol.otpauth_uri.contains(&enrol.secret));
    let totp = Totp::from_bytes(
        data_encoding::BASE32_NOPAD
            .decode(enrol.secret.as_bytes())
            .unwrap(),
    );
    let code = |t: i64| format!("{:06}", totp.code_at(at(t).secs(), 6));
    assert!(!block_on(mfa::enabled(&db, user)).unwrap());
    assert!(
        block_on(mfa::confirm_enrolment(&db, &keys, user, "000000", at(0))).is_err()
            || code(0) == "000000"
    );
    let recovery = block_on(mfa::confirm_enrolment(&db, &keys, user, &code(0), at(0))).unwrap();
    assert_eq!(recovery.len(), 10);
    assert!(block_on(mfa::enabled(&db, user)).unwrap());
    // The enrolment code is spent; the next step's code works once.
    assert!(!block_on(mfa::verify(
        &db,
        &keys,
        user,
        &Proof::Totp(code(0)),
        at(1000)
    ))
    .unwrap());
    assert!(block_on(mfa::verify(
        &db,
        &keys,
        user,
        &Proof::Totp(code(30_000)),
        at(30_000)
    ))
    .unwrap());
    assert!(!block_on(mfa::verify(
        &db,
        &keys,
        user,
        &Proof::Totp(code(30_000)),
        at(31_000)
    ))
    .unwrap());
    // Recovery codes are single-use, with or without the dash and in any case.
    let rc = recovery[3].to_uppercase().replace('-', "");
    assert!(block_on(mfa::verify(
        &db,
        &keys,
        user,
        &Proof::RecoveryCode(rc.clone()),
        at(40_000)
    ))
    .unwrap());
    assert!(!block_on(mfa::verify(
        &db,
        &keys,
        user,
        &Proof::RecoveryCode(rc),
        at(41_000)
    ))
    .unwrap());
    assert_eq!(
        block_on(mfa::status(&db, user))
            .unwrap()
            .recovery_codes_left,
        9
    );
    // A second enrolment is refused while one is confirmed.
    assert!(block_on(mfa::start_enrolment(
        &db,
        &keys,
        user,
        "ada@acme.test",
        at(50_000)
    ))
    .is_err());
    block_on(db.batch(mfa::remove(user))).unwrap();
    assert!(!block_on(mfa::enabled(&db, user)).unwrap());
}

#[test]
fn challenges_expire_and_allow_five_attempts() {
    use shared::auth::mfa;
    let db = MemoryDb::migrated().unwrap();
    let plan = firm(&db, "acme", "ada@acme.test");
    let c = mfa::open_challenge(&plan.owner.id, &plan.firm.id, at(0)).unwrap();
    block_on(db.execute(c.statement)).unwrap();
    for _ in 0..5 {
        assert!(block_on(mfa::attempt(&db, &c.token, at(1)))
            .unwrap()
            .is_some());
    }
    assert!(
        block_on(mfa::attempt(&db, &c.token, at(1)))
            .unwrap()
            .is_none(),
        "out of attempts"
    );
    let d = mfa::open_challenge(&plan.owner.id, &plan.firm.id, at(0)).unwrap();
    block_on(db.execute(d.statement)).unwrap();
    assert!(
        block_on(mfa::attempt(&db, &d.token, at(mfa::CHALLENGE_TTL_MS + 1)))
            .unwrap()
            .is_none(),
        "expired"
    );
    let e = mfa::open_challenge(&plan.owner.id, &plan.firm.id, at(0)).unwrap();
    block_on(db.execute(e.statement)).unwrap();
    block_on(db.execute(mfa::close_challenge(&e.token, at(1)))).unwrap();
    assert!(
        block_on(mfa::attempt(&db, &e.token, at(2)))
            .unwrap()
            .is_none(),
        "used"
    );
}
