//! Feature flags: evaluation with OpenFeature's reasons, rollouts that only ever
//! widen, targeting operators, definitions checked field by field, and the store on
//! in-memory SQLite from the real migrations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use futures_executor::block_on;
use serde_json::{json, Value};
use shared::flags::store::{self, FlagInput};
use shared::flags::{evaluate, Context, ErrorCode, Flag, FlagType, Reason};
use shared::kernel::paging::PageRequest;
use shared::kernel::sqlite::MemoryDb;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;

fn at(ms: i64) -> Instant {
    Instant::from_millis(1_800_000_000_000 + ms)
}

fn flag(body: Value) -> Flag {
    store::define("new-dashboard", store::parse_input(&body).unwrap(), None).unwrap()
}

fn member(id: &str) -> Context {
    Context {
        firm: "frm_a".into(),
        member: Some(id.into()),
        role: Some("staff".into()),
        ..Context::default()
    }
}

fn rollout(percent_bp: u32) -> Flag {
    flag(json!({"enabled": true, "rules": [{"serve": {"split": [
        {"variant": "on", "weight": percent_bp}, {"variant": "off", "weight": 10_000 - percent_bp}]}}]}))
}

#[test]
fn widening_a_rollout_from_10_to_20_percent_keeps_everyone_already_in() {
    let people: Vec<String> = (0..5_000).map(|i| format!("usr_{i:05}")).collect();
    let on = |f: &Flag| -> Vec<&String> {
        people
            .iter()
            .filter(|p| evaluate("new-dashboard", Some(f), &member(p), None, json!(false)).is_on())
            .collect()
    };
    let ten = on(&rollout(1_000));
    let twenty = on(&rollout(2_000));
    assert!(ten.iter().all(|p| twenty.contains(p)), "nobody drops out");
    // The shares land near their weights (binomial, 5,000 people: ±3 σ ≈ ±2.1 %).
    assert!((400..=600).contains(&ten.len()), "{}", ten.len());
    assert!((850..=1_150).contains(&twenty.len()), "{}", twenty.len());
    // Each answer says why.
    let r = evaluate(
        "new-dashboard",
        Some(&rollout(1_000)),
        &member(ten[0]),
        None,
        json!(false),
    );
    assert_eq!(
        (r.reason, r.variant.as_deref(), r.value.clone()),
        (Reason::Split, Some("on"), json!(true))
    );
    assert!(r.bucket.unwrap() < 1_000);
    // The same person always lands in the same bucket; the salt reshuffles.
    let b = shared::flags::bucket("new-dashboard", "usr_00001");
    assert_eq!(b, shared::flags::bucket("new-dashboard", "usr_00001"));
    let salted: Vec<u32> = people
        .iter()
        .take(50)
        .map(|p| shared::flags::bucket("other", p))
        .collect();
    let plain: Vec<u32> = people
        .iter()
        .take(50)
        .map(|p| shared::flags::bucket("new-dashboard", p))
        .collect();
    assert_ne!(salted, plain);
}

#[test]
fn reasons_follow_openfeature() {
    let ctx = member("usr_1");
    let off = flag(json!({}));
    let r = evaluate("k1", Some(&off), &ctx, Some(FlagType::Boolean), json!(true));
    assert_eq!(
        (r.reason, r.value.clone(), r.variant.as_deref()),
        (Reason::Disabled, json!(false), Some("off"))
    );
    let on = flag(json!({"enabled": true}));
    assert_eq!(
        evaluate("k1", Some(&on), &ctx, None, json!(false)).reason,
        Reason::Static
    );
    let missing = evaluate("nope", None, &ctx, None, json!("fallback"));
    assert_eq!(
        (missing.reason, missing.error_code, missing.value),
        (
            Reason::Error,
            Some(ErrorCode::FlagNotFound),
            json!("fallback")
        )
    );
    let wrong = evaluate("k1", Some(&on), &ctx, Some(FlagType::String), json!("x"));
    assert_eq!(wrong.error_code, Some(ErrorCode::TypeMismatch));
    let targeted = flag(json!({"enabled": true, "default_variant": "off", "rules": [
        {"name": "partners", "conditions": [{"attribute": "role", "op": "in", "values": ["partner", "firm_admin"]}],
         "serve": {"variant": "on"}}]}));
    assert_eq!(
        evaluate("k", Some(&targeted), &ctx, None, json!(false)).reason,
        Reason::Default
    );
    let mut partner = member("usr_2");
    partner.role = Some("partner".into());
    let r = evaluate("k", Some(&targeted), &partner, None, json!(false));
    assert_eq!((r.reason, r.is_on()), (Reason::TargetingMatch, true));
    // A split without anyone to bucket is an error, not a guess.
    let nobody = Context::default();
    assert_eq!(
        evaluate("k", Some(&rollout(5_000)), &nobody, None, json!(false)).error_code,
        Some(ErrorCode::TargetingKeyMissing)
    );
}

#[test]
fn every_operator_compares_as_its_name_says() {
    let served = |conditions: Value, ctx: &Context| {
        let f = flag(json!({"enabled": true, "default_variant": "off",
                            "rules": [{"conditions": conditions, "serve": {"variant": "on"}}]}));
        evaluate("k", Some(&f), ctx, None, json!(false)).is_on()
    };
    let mut ctx = member("usr_9");
    ctx.tier = Some("professional".into());
    ctx.version = Some("2.10.1".into());
    ctx.custom.insert("seats".into(), json!(12));
    ctx.custom
        .insert("signed_up".into(), json!("2026-03-01T00:00:00Z"));
    let cases = [
        (
            json!([{"attribute": "tier", "op": "eq", "values": ["professional"]}]),
            true,
        ),
        (
            json!([{"attribute": "tier", "op": "neq", "values": ["professional"]}]),
            false,
        ),
        (
            json!([{"attribute": "tier", "op": "not_in", "values": ["starter"]}]),
            true,
        ),
        (
            json!([{"attribute": "member", "op": "prefix", "values": ["usr_"]}]),
            true,
        ),
        (
            json!([{"attribute": "custom.seats", "op": "gte", "values": [12]}]),
            true,
        ),
        (
            json!([{"attribute": "custom.seats", "op": "gt", "values": [12]}]),
            false,
        ),
        (
            json!([{"attribute": "custom.seats", "op": "lt", "values": [20]}]),
            true,
        ),
        // 2.10.1 > 2.9.0 as versions, though not as text.
        (
            json!([{"attribute": "version", "op": "semver_gt", "values": ["2.9.0"]}]),
            true,
        ),
        (
            json!([{"attribute": "version", "op": "semver_lte", "values": ["2.10.0"]}]),
            false,
        ),
        (
            json!([{"attribute": "custom.signed_up", "op": "before", "values": ["2026-06-01T00:00:00Z"]}]),
            true,
        ),
        (
            json!([{"attribute": "custom.signed_up", "op": "after", "values": ["2026-06-01T00:00:00Z"]}]),
            false,
        ),
        (
            json!([{"attribute": "portal", "op": "eq", "values": [false]}]),
            true,
        ),
        // Every condition must hold; a missing attribute matches only negations.
        (
            json!([{"attribute": "tier", "op": "eq", "values": ["professional"]},
                {"attribute": "region", "op": "eq", "values": ["eu"]}]),
            false,
        ),
        (
            json!([{"attribute": "region", "op": "not_in", "values": ["eu"]}]),
            true,
        ),
    ];
    for (conditions, expected) in cases {
        assert_eq!(served(conditions.clone(), &ctx), expected, "{conditions}");
    }
}

#[test]
fn definitions_are_checked_field_by_field() {
    let refused = |body: Value| -> Vec<(String, String)> {
        match store::parse_input(&body).and_then(|i| store::define("k-1", i, None)) {
            Err(DomainError::Validation(errors)) => errors
                .into_iter()
                .map(|e| (e.field, e.rule.to_owned()))
                .collect(),
            other => panic!("{body}: {other:?}"),
        }
    };
    let fields = |body: Value| {
        refused(body)
            .into_iter()
            .map(|(f, _)| f)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        refused(
            json!({"enabled": true, "rules": [{"serve": {"split": [{"variant": "on", "weight": 6000},
                                                                       {"variant": "off", "weight": 3000}]}}]})
        ),
        vec![("rules[0].serve.split".to_owned(), "sum".to_owned())]
    );
    assert_eq!(
        fields(json!({"rules": [{"serve": {"variant": "maybe"}}]})),
        vec!["rules[0].serve.variant"]
    );
    assert_eq!(
        fields(json!({"variants": {"on": "yes", "off": false}})),
        vec!["variants.on"]
    );
    assert_eq!(
        fields(
            json!({"type": "string", "variants": {"a": "x"}, "default_variant": "a", "off_variant": "b"})
        ),
        vec!["off_variant"]
    );
    assert_eq!(
        fields(
            json!({"rules": [{"conditions": [{"attribute": "shoe_size", "op": "eq", "values": [9]},
                                                {"attribute": "version", "op": "semver_gt", "values": ["two"]},
                                                {"attribute": "tier", "op": "eq", "values": ["a", "b"]}],
                                 "serve": {"variant": "on"}}]})
        ),
        vec![
            "rules[0].conditions[0].attribute",
            "rules[0].conditions[1].values",
            "rules[0].conditions[2].values"
        ]
    );
    assert_eq!(fields(json!({"type": "number"})), vec!["variants"]);
    assert_eq!(fields(json!({"colour": "red"})), vec!["colour"]);
    assert_eq!(fields(json!({"kind": "sometimes"})), vec!["kind"]);
    assert!(store::define("Bad Key", FlagInput::default_boolean(), None).is_err());
}

#[test]
fn the_store_versions_changes_and_keeps_firms_apart() {
    let db = MemoryDb::migrated().unwrap();
    let a = TenantScope::for_tests("frm_a", None);
    let b = TenantScope::for_tests("frm_b", None);
    let input = |body: Value| store::parse_input(&body).unwrap();
    let (made, created) = block_on(store::put(
        &db,
        &a,
        "beta.reports",
        input(json!({"description": "Reports beta"})),
        Some(0),
        "usr_1",
        at(0),
    ))
    .unwrap();
    assert!(created);
    assert_eq!(
        (made.flag.version, made.etag.as_str(), made.flag.enabled),
        (1, "\"1\"", false)
    );
    assert_eq!(
        made.expires_at,
        Some(at(0).millis() + 90 * 86_400_000),
        "release flags expire in 90 days"
    );
    // A stale version is refused; the right one wins.
    assert!(matches!(
        block_on(store::put(
            &db,
            &a,
            "beta.reports",
            input(json!({"enabled": true})),
            Some(5),
            "usr_1",
            at(1)
        )),
        Err(DomainError::PreconditionFailed(_))
    ));
    let (changed, created) = block_on(store::put(
        &db,
        &a,
        "beta.reports",
        input(json!({"enabled": true})),
        Some(1),
        "usr_2",
        at(2),
    ))
    .unwrap();
    assert!(!created);
    assert_eq!(
        (
            changed.flag.version,
            changed.flag.enabled,
            changed.description.as_str()
        ),
        (2, true, "Reports beta")
    );
    assert_eq!(changed.flag.salt, "beta.reports");
    // Another firm sees none of it.
    assert!(matches!(
        block_on(store::get(&db, &b, "beta.reports", at(3))),
        Err(DomainError::NotFound(_))
    ));
    assert!(block_on(store::snapshot(&db, "frm_b"))
        .unwrap()
        .flags
        .is_empty());
    let snap = block_on(store::snapshot(&db, "frm_a")).unwrap();
    assert_eq!((snap.flags.len(), snap.version), (1, at(2).millis()));
    // One variant served to everyone for 30 days makes a flag stale.
    let later = block_on(store::get(&db, &a, "beta.reports", at(31 * 86_400_000))).unwrap();
    assert!(later.stale);
    let page = block_on(store::list(
        &db,
        &a,
        &PageRequest {
            limit: 10,
            after: None,
        },
        at(4),
    ))
    .unwrap();
    assert_eq!(page.items.len(), 1);
    block_on(store::delete(&db, &a, "beta.reports", "usr_1", at(5))).unwrap();
    assert!(matches!(
        block_on(store::delete(&db, &a, "beta.reports", "usr_1", at(6))),
        Err(DomainError::NotFound(_))
    ));
    let history: Vec<Value> = block_on(shared::kernel::sql::query_as(
        &db,
        shared::stmt!("SELECT version, action, changed_by FROM flags_changes WHERE firm_id = 'frm_a' ORDER BY version"),
    ))
    .unwrap();
    assert_eq!(
        history,
        vec![
            json!({"version": 1, "action": "created", "changed_by": "usr_1"}),
            json!({"version": 2, "action": "updated", "changed_by": "usr_2"}),
            json!({"version": 3, "action": "deleted", "changed_by": "usr_1"}),
        ]
    );
}

#[test]
fn exposures_count_once_per_subject_variant_and_day() {
    let db = MemoryDb::migrated().unwrap();
    let a = TenantScope::for_tests("frm_a", None);
    let mut statements = Vec::new();
    for i in 0..30 {
        let variant = if i % 3 == 0 { "treatment" } else { "control" };
        // Each subject is seen three times the same day.
        for _ in 0..3 {
            statements.push(store::exposure(
                "frm_a",
                "exp.pricing",
                &format!("usr_{i}"),
                variant,
                at(i * 1_000),
            ));
        }
    }
    statements.push(store::exposure(
        "frm_b",
        "exp.pricing",
        "usr_x",
        "control",
        at(0),
    ));
    block_on(shared::kernel::sql::Sql::batch(&db, statements)).unwrap();
    let counts = block_on(store::exposures(&db, &a, "exp.pricing", &store::day(at(0)))).unwrap();
    let pairs: Vec<(String, u64)> = counts
        .into_iter()
        .map(|c| (c.variant, c.subjects))
        .collect();
    assert_eq!(
        pairs,
        vec![("control".to_owned(), 20), ("treatment".to_owned(), 10)]
    );
}

#[test]
fn buckets_match_the_shared_vectors() {
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("../src/flags/vectors.json")).unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let b = shared::flags::bucket(v["salt"].as_str().unwrap(), v["subject"].as_str().unwrap());
        assert_eq!(i64::from(b), v["bucket"].as_i64().unwrap(), "{v}");
    }
}

#[test]
fn bodies_are_objects_without_nulls() {
    for body in [
        json!([null, null]),
        json!("on"),
        json!({"enabled": null}),
        json!({"description": null}),
    ] {
        assert!(
            matches!(store::parse_input(&body), Err(DomainError::Validation(_))),
            "{body}"
        );
    }
    assert!(store::parse_evaluation(&json!({"version": null})).is_err());
    assert!(store::parse_evaluation(&json!([])).is_err());
    assert!(store::parse_evaluation(&json!({"keys": ["a-b"], "custom": {"x": 1}})).is_ok());
}

#[test]
fn an_experiment_report_pairs_each_share_with_its_exposures() {
    let f = store::define(
        "exp.x",
        store::parse_input(&json!({"kind": "experiment", "enabled": true, "variants": {"a": false, "b": true},
            "default_variant": "a", "off_variant": "a",
            "rules": [{"serve": {"split": [{"variant": "a", "weight": 5000}, {"variant": "b", "weight": 5000}]}}]}))
        .unwrap(),
        None,
    )
    .unwrap();
    let counts = vec![
        store::VariantExposures {
            variant: "a".into(),
            subjects: 5_200,
        },
        store::VariantExposures {
            variant: "b".into(),
            subjects: 4_800,
        },
    ];
    let report = store::experiment(&f, "2026-01-01", &counts);
    assert_eq!(
        report.arms.iter().map(|a| a.subjects).collect::<Vec<_>>(),
        vec![5_200, 4_800]
    );
    let check = report.sample_ratio.unwrap();
    assert!(
        check.mismatch,
        "5,200 / 4,800 on 50/50 is a broken assignment: {check:?}"
    );
    assert!(store::since_day(Some("2026-02-30"), at(0)).is_err());
    assert_eq!(
        store::since_day(None, Instant::parse("t", "2026-03-31T10:00:00Z").unwrap()).unwrap(),
        "2026-03-01"
    );
}

#[test]
fn firms_whose_flags_changed_lately_are_found_for_the_republish() {
    let db = MemoryDb::migrated().unwrap();
    let a = TenantScope::for_tests("frm_a", None);
    block_on(store::put(
        &db,
        &a,
        "k1",
        store::parse_input(&json!({})).unwrap(),
        None,
        "usr_1",
        at(0),
    ))
    .unwrap();
    assert_eq!(
        block_on(store::recently_changed(&db, at(60_000))).unwrap(),
        vec!["frm_a".to_owned()]
    );
    assert!(block_on(store::recently_changed(
        &db,
        at(store::REPUBLISH_WINDOW_MS + 1)
    ))
    .unwrap()
    .is_empty());
}

#[test]
fn the_console_switch_replaces_only_enabled_and_keeps_rules_and_salt() {
    let db = MemoryDb::migrated().unwrap();
    let a = TenantScope::for_tests("frm_a", None);
    let body = json!({"kind": "ops", "description": "Cut-over", "salt": "s1", "rules": [
        {"name": "staff first", "conditions": [{"attribute": "role", "op": "in", "values": ["staff"]}],
         "serve": {"variant": "on"}},
        {"serve": {"split": [{"variant": "on", "weight": 2_500}, {"variant": "off", "weight": 7_500}]}}]});
    let (first, _) = block_on(store::put(
        &db,
        &a,
        "cut-over",
        store::parse_input(&body).unwrap(),
        None,
        "usr_1",
        at(0),
    ))
    .unwrap();
    assert!(!first.flag.enabled);
    // Read back as the list answers it, switched on, sent with the etag it had.
    let listed: Flag = serde_json::from_value(serde_json::to_value(&first).unwrap()).unwrap();
    let switched = store::switched(&listed, &first.description, true);
    let version = first.flag.version;
    let (second, created) = block_on(store::put(
        &db,
        &a,
        "cut-over",
        store::parse_input(&switched).unwrap(),
        Some(version),
        "usr_1",
        at(1_000),
    ))
    .unwrap();
    assert!(!created);
    assert!(second.flag.enabled);
    assert_eq!(second.flag.version, version + 1);
    assert_eq!(second.description, "Cut-over");
    assert_eq!(
        Flag {
            enabled: false,
            version,
            ..second.flag.clone()
        },
        first.flag,
        "nothing but enabled (and the version) changed"
    );
    // Sent again with the old etag: someone else's change is not overwritten.
    let stale = block_on(store::put(
        &db,
        &a,
        "cut-over",
        store::parse_input(&store::switched(&listed, "", false)).unwrap(),
        Some(version),
        "usr_1",
        at(2_000),
    ));
    assert!(
        matches!(stale, Err(DomainError::PreconditionFailed(_))),
        "{stale:?}"
    );
}

#[test]
fn a_rollout_from_the_form_is_off_and_splits_by_its_share_once_on() {
    let quarter = store::rollout("ops", " Cut-over ", "25").unwrap();
    let input = store::parse_input(&quarter).unwrap();
    assert_eq!(input.description.as_deref(), Some("Cut-over"));
    let flag = store::define("cut-over", input, None).unwrap();
    assert!(!flag.enabled);
    assert_eq!(flag.kind, shared::flags::FlagKind::Ops);
    let split = &serde_json::to_value(&flag.rules).unwrap()[0]["serve"]["split"];
    assert_eq!(split[0]["weight"], 2_500);
    assert_eq!(split[1]["weight"], 7_500);
    // Everyone: no rule at all; nothing typed: no description.
    let all = store::rollout("release", "  ", "100").unwrap();
    assert!(all.get("rules").is_none() && all.get("description").is_none());
    // The share and the kind are refused by name.
    for (kind, share, field) in [
        ("release", "150", "share"),
        ("release", "ten", "share"),
        ("nope", "5", "kind"),
    ] {
        match store::rollout(kind, "", share) {
            Err(DomainError::Validation(errors)) => assert_eq!(errors[0].field, field),
            other => panic!("{kind}/{share}: {other:?}"),
        }
    }
}
