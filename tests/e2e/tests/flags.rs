//! Feature flags end to end: a firm admin defines flags, every signed-in caller
//! gets OpenFeature results from the snapshot the workers read, a rollout widened
//! from 10 % to 20 % keeps everyone it had, experiments count one exposure per
//! person and day with a sample-ratio check, and the admin API holds its rules.

use std::time::Duration;

use firmament_e2e::{call, eventually, Reply, TestFirm};
use serde_json::{json, Value};

fn put(firm: &TestFirm, key: &str, body: Value) -> Reply {
    call("PUT", &format!("/v1/flags/{key}"))
        .token(&firm.token)
        .json(&body)
        .send()
}

/// A token for a synthetic member `n` of `firm` (a staff role).
fn member(firm: &TestFirm, n: usize) -> String {
    firm.token_with(|c| {
        c["sub"] = json!(format!("usr_01JD{n:022}"));
        c["role"] = json!("staff");
        c["flags"] = json!([]);
    })
}

fn evaluate(token: &str, body: Value) -> Value {
    let reply = call("POST", "/v1/flag-evaluations")
        .token(token)
        .json(&body)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn rollout(weight: u32) -> Value {
    json!({"enabled": true, "description": "New dashboard", "rules": [{"serve": {"split": [
        {"variant": "on", "weight": weight}, {"variant": "off", "weight": 10_000 - weight}]}}]})
}

fn members_on(tokens: &[String], key: &str) -> Vec<usize> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| evaluate(t, json!({"keys": [key]}))["flags"][key]["value"] == true)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_rollout_widened_from_10_to_20_percent_keeps_the_first_10() {
    let firm = TestFirm::provision();
    let created = put(&firm, "new-dashboard", rollout(1_000));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let tokens: Vec<String> = (0..300).map(|n| member(&firm, n)).collect();
    let ten = members_on(&tokens, "new-dashboard");
    let one = evaluate(&tokens[ten[0]], json!({"keys": ["new-dashboard"]}));
    let r = &one["flags"]["new-dashboard"];
    assert_eq!(
        (r["reason"].as_str(), r["variant"].as_str()),
        (Some("SPLIT"), Some("on"))
    );
    assert!(r["bucket"].as_i64().unwrap() < 1_000);
    let widened = call("PUT", "/v1/flags/new-dashboard")
        .token(&firm.token)
        .header("if-match", "\"1\"")
        .json(&rollout(2_000))
        .send();
    assert_eq!(widened.status, 200, "{}", widened.text);
    // Every worker sees the change within 90 s (locally at once).
    let twenty = eventually(Duration::from_secs(90), || {
        let now = members_on(&tokens, "new-dashboard");
        (now.len() > ten.len()).then_some(now)
    })
    .expect("the wider rollout is served");
    assert!(
        ten.iter().all(|m| twenty.contains(m)),
        "nobody already in drops out: {ten:?} ⊄ {twenty:?}"
    );
    // 300 people: the shares land near 10 % and 20 %.
    assert!((10..=55).contains(&ten.len()), "{}", ten.len());
    assert!((35..=90).contains(&twenty.len()), "{}", twenty.len());
}

#[test]
fn results_carry_openfeature_reasons_and_targeting_by_role() {
    let firm = TestFirm::provision();
    assert_eq!(
        put(&firm, "ops.read-only", json!({"kind": "ops"})).status,
        201
    );
    assert_eq!(
        put(&firm, "partner-reports", json!({"enabled": true, "kind": "permission", "default_variant": "off",
            "rules": [{"name": "partners", "conditions": [{"attribute": "role", "op": "in", "values": ["partner"]}],
                       "serve": {"variant": "on"}}]}))
        .status,
        201
    );
    assert_eq!(
        put(&firm, "theme", json!({"type": "string", "enabled": true, "variants": {"light": "light", "dark": "dark"},
            "default_variant": "dark", "off_variant": "light"}))
        .status,
        201
    );
    let all = evaluate(&firm.token_as("staff"), json!({}));
    let flags = &all["flags"];
    assert_eq!(flags.as_object().unwrap().len(), 3, "{all}");
    assert_eq!(
        (
            flags["ops.read-only"]["reason"].as_str(),
            flags["ops.read-only"]["value"].clone()
        ),
        (Some("DISABLED"), json!(false))
    );
    assert_eq!(flags["partner-reports"]["reason"], "DEFAULT");
    assert_eq!(
        (
            flags["theme"]["reason"].as_str(),
            flags["theme"]["value"].as_str()
        ),
        (Some("STATIC"), Some("dark"))
    );
    let partner = evaluate(
        &firm.token_as("partner"),
        json!({"keys": ["partner-reports", "nope"]}),
    );
    assert_eq!(
        partner["flags"]["partner-reports"]["reason"],
        "TARGETING_MATCH"
    );
    assert_eq!(partner["flags"]["partner-reports"]["value"], true);
    assert_eq!(
        (
            partner["flags"]["nope"]["reason"].as_str(),
            partner["flags"]["nope"]["error_code"].as_str()
        ),
        (Some("ERROR"), Some("FLAG_NOT_FOUND"))
    );
    // Custom attributes and versions from the client.
    assert_eq!(
        put(
            &firm,
            "mobile-v2",
            json!({"enabled": true, "default_variant": "off", "rules": [
            {"conditions": [{"attribute": "version", "op": "semver_gte", "values": ["2.0.0"]},
                            {"attribute": "custom.platform", "op": "eq", "values": ["ios"]}],
             "serve": {"variant": "on"}}]})
        )
        .status,
        201
    );
    let old = evaluate(
        &firm.token,
        json!({"keys": ["mobile-v2"], "version": "1.9.9", "custom": {"platform": "ios"}}),
    );
    let new = evaluate(
        &firm.token,
        json!({"keys": ["mobile-v2"], "version": "2.1.0", "custom": {"platform": "ios"}}),
    );
    assert_eq!(
        (
            old["flags"]["mobile-v2"]["value"].clone(),
            new["flags"]["mobile-v2"]["value"].clone()
        ),
        (json!(false), json!(true))
    );
}

#[test]
fn an_experiment_counts_each_person_once_a_day_and_checks_its_sample_ratio() {
    let firm = TestFirm::provision();
    let made = put(
        &firm,
        "exp.onboarding",
        json!({"kind": "experiment", "enabled": true, "variants":
        {"control": false, "treatment": true}, "default_variant": "control", "off_variant": "control",
        "rules": [{"serve": {"split": [{"variant": "control", "weight": 5000}, {"variant": "treatment", "weight": 5000}]}}]}),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let tokens: Vec<String> = (0..120).map(|n| member(&firm, 1_000 + n)).collect();
    for _ in 0..2 {
        for t in &tokens {
            evaluate(t, json!({"keys": ["exp.onboarding"]}));
        }
    }
    let reply = call("GET", "/v1/flags/exp.onboarding/exposures")
        .token(&firm.token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = reply.json();
    let arms = report["arms"].as_array().unwrap();
    let total: i64 = arms.iter().map(|a| a["subjects"].as_i64().unwrap()).sum();
    assert_eq!(
        total, 120,
        "one exposure per person, though each was evaluated twice: {report}"
    );
    assert_eq!(
        arms.iter()
            .map(|a| a["weight"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![5000, 5000]
    );
    let check = &report["sample_ratio"];
    let p = check["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(check["mismatch"].as_bool().unwrap(), p < 0.001);
    assert_eq!(check["degrees_of_freedom"], 1);
    // A date before any exposure counts them all; a malformed one is refused.
    assert_eq!(
        call("GET", "/v1/flags/exp.onboarding/exposures?since=2026-01-01")
            .token(&firm.token)
            .send()
            .status,
        200
    );
    let bad = call("GET", "/v1/flags/exp.onboarding/exposures?since=yesterday")
        .token(&firm.token)
        .send();
    assert_eq!(bad.problem(422)["status"], 422);
}

#[test]
fn definitions_are_checked_and_versions_guard_changes() {
    let firm = TestFirm::provision();
    let refused = put(
        &firm,
        "half",
        json!({"enabled": true, "rules": [{"serve": {"split": [
        {"variant": "on", "weight": 5000}, {"variant": "off", "weight": 4000}]}}]}),
    );
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["rules[0].serve.split"]);
    let unknown = put(&firm, "half", json!({"colour": "red"}));
    unknown.problem(422);
    assert_eq!(unknown.error_fields(), vec!["colour"]);
    let wrong_type = put(
        &firm,
        "half",
        json!({"variants": {"on": "yes", "off": false}}),
    );
    assert_eq!(wrong_type.error_fields(), vec!["variants.on"]);
    assert_eq!(
        call("GET", "/v1/flags/half")
            .token(&firm.token)
            .send()
            .status,
        404,
        "nothing half-written"
    );
    assert_eq!(put(&firm, "half", json!({})).status, 201);
    let stale = call("PUT", "/v1/flags/half")
        .token(&firm.token)
        .header("if-match", "\"7\"")
        .json(&json!({"enabled": true}))
        .send();
    assert_eq!(stale.problem(412)["status"], 412);
    assert_eq!(
        call("GET", "/v1/flags/Not%20A%20Key")
            .token(&firm.token)
            .send()
            .status,
        404
    );
    let bad_eval = call("POST", "/v1/flag-evaluations")
        .token(&firm.token)
        .json(&json!({"keys": ["UPPER"]}))
        .send();
    assert_eq!(bad_eval.error_fields(), vec!["keys[0]"]);
    // Deleting keeps the history in the audit log; the flag answers FLAG_NOT_FOUND.
    assert_eq!(
        call("DELETE", "/v1/flags/half")
            .token(&firm.token)
            .send()
            .status,
        204
    );
    let gone = evaluate(&firm.token, json!({"keys": ["half"]}));
    assert_eq!(gone["flags"]["half"]["error_code"], "FLAG_NOT_FOUND");
    let audit = call("GET", "/v1/firm/audit")
        .token(&firm.token)
        .send()
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"flag.created") && actions.contains(&"flag.deleted"),
        "{actions:?}"
    );
}

#[test]
fn flags_are_administered_by_firm_admins_and_stay_in_their_firm() {
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    assert_eq!(
        put(&firm, "secret-feature", json!({"enabled": true})).status,
        201
    );
    for role in ["staff", "manager", "readonly", "billing"] {
        let token = firm.token_as(role);
        assert_eq!(
            call("GET", "/v1/flags").token(&token).send().status,
            403,
            "{role}"
        );
        let reply = call("PUT", "/v1/flags/x1")
            .token(&token)
            .json(&json!({}))
            .send();
        assert_eq!(reply.problem(403)["status"], 403, "{role}");
        // Anyone signed in may ask for their own results.
        assert_eq!(
            call("POST", "/v1/flag-evaluations")
                .token(&token)
                .json(&json!({}))
                .send()
                .status,
            200
        );
    }
    assert_eq!(call("GET", "/v1/flags").send().problem(401)["status"], 401);
    assert_eq!(
        call("POST", "/v1/flag-evaluations")
            .token("nope")
            .json(&json!({}))
            .send()
            .status,
        401
    );
    // Another firm neither sees nor evaluates this firm's flags.
    assert_eq!(
        call("GET", "/v1/flags/secret-feature")
            .token(&other.token)
            .send()
            .status,
        404
    );
    assert_eq!(
        call("DELETE", "/v1/flags/secret-feature")
            .token(&other.token)
            .send()
            .status,
        404
    );
    let theirs = evaluate(&other.token, json!({"keys": ["secret-feature"]}));
    assert_eq!(
        theirs["flags"]["secret-feature"]["error_code"],
        "FLAG_NOT_FOUND"
    );
    let listed = call("GET", "/v1/flags").token(&other.token).send().json();
    assert_eq!(listed["items"], json!([]));
    let mine = call("GET", "/v1/flags?limit=1")
        .token(&firm.token)
        .send()
        .json();
    assert_eq!(mine["items"][0]["key"], "secret-feature");
}

#[test]
fn a_lost_snapshot_write_heals_on_the_next_tick() {
    let firm = TestFirm::provision();
    assert_eq!(put(&firm, "heals", json!({"enabled": true})).status, 201);
    assert_eq!(
        evaluate(&firm.token, json!({"keys": ["heals"]}))["flags"]["heals"]["value"],
        true
    );
    // The snapshot in KV goes stale (as if the write after a change had failed).
    firmament_e2e::kv_put(
        &format!("flags:v1:{}", firm.id()),
        r#"{"version": 0, "flags": {}}"#,
    );
    let stale = evaluate(&firm.token, json!({"keys": ["heals"]}));
    assert_eq!(stale["flags"]["heals"]["error_code"], "FLAG_NOT_FOUND");
    // The minute's tick rewrites the snapshots of firms whose flags changed lately.
    firmament_e2e::fire_cron();
    let healed = eventually(Duration::from_secs(15), || {
        let now = evaluate(&firm.token, json!({"keys": ["heals"]}));
        (now["flags"]["heals"]["value"] == true).then_some(now)
    });
    assert!(healed.is_some(), "the tick wrote the snapshot again");
}
