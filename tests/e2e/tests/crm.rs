//! The CRM end to end: a lead is captured and scored by the firm's rules, worked,
//! qualified and converted into an account, a contact and a deal, which moves across
//! the pipeline to won and shows in the forecast; bad input names its field and
//! writes nothing; each role gets what the permission matrix says; another firm's
//! records are not found on any route.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use firmament_e2e::{call, join, unique, Reply, TestFirm};
use serde_json::{json, Value};

fn post(firm_token: &str, path: &str, body: Value) -> Reply {
    call("POST", path).token(firm_token).json(&body).send()
}

fn ok(reply: Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text);
    reply.json()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The firm's first pipeline: five open-to-closed stages (the starter's shape).
fn pipeline(firm: &TestFirm) -> Value {
    ok(
        post(
            &firm.token,
            "/v1/crm/pipelines",
            json!({"name": "Sales", "stages": [
                {"name": "Qualified", "probability": 10, "rotting_days": 14},
                {"name": "Proposal", "probability": 50},
                {"name": "Negotiation", "probability": 80},
                {"name": "Won", "kind": "won"},
                {"name": "Lost", "kind": "lost"}]}),
        ),
        201,
    )
}

fn lead(firm: &TestFirm, body: Value) -> Value {
    ok(post(&firm.token, "/v1/crm/leads", body), 201)
}

#[test]
fn a_scored_lead_becomes_a_won_deal_in_the_forecast() {
    let firm = TestFirm::provision();
    let pipe = pipeline(&firm);
    assert_eq!(
        pipe["is_default"], true,
        "the first pipeline is the default"
    );
    let stages = pipe["stages"].as_array().unwrap().clone();
    ok(
        post(
            &firm.token,
            "/v1/crm/scoring-rules",
            json!({"name": "Decision maker", "category": "demographic", "trigger": "job_title_match", "points": 30,
               "conditions": [{"field": "title", "op": "contains", "value": "director"}]}),
        ),
        201,
    );
    ok(
        post(
            &firm.token,
            "/v1/crm/scoring-rules",
            json!({"name": "Pricing page", "category": "behavioral", "trigger": "page_visited", "points": 20,
               "max_applications": 2, "decay_days": 30,
               "conditions": [{"field": "signal.url", "op": "contains", "value": "/pricing"}]}),
        ),
        201,
    );
    let captured = lead(
        &firm,
        json!({"contact_name": "Grace Hopper", "company_name": "Cobol Co", "title": "Finance Director",
               "email": "grace@cobol.example", "website": "cobol.example", "budget_minor": 1_200_000,
               "currency": "EUR", "source": "referral", "tags": ["Warm"]}),
    );
    assert_eq!(captured["score"], 30);
    assert_eq!(captured["tags"], json!(["warm"]));
    let lead_id = s(&captured["id"]);
    let signalled = ok(
        post(
            &firm.token,
            &format!("/v1/crm/leads/{lead_id}/signals"),
            json!({"trigger": "page_visited", "properties": {"url": "https://firm.example/pricing"}}),
        ),
        200,
    );
    assert_eq!(signalled["score"], 50);
    let why = ok(
        call("GET", &format!("/v1/crm/leads/{lead_id}/score"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(why["score"], 50);
    let reasons: Vec<String> = why["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| s(&a["reason"]))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("title contains \"director\"")),
        "{reasons:?}"
    );
    assert!(
        why["adjustments"][0]["expires_at"].is_i64(),
        "a decaying rule says when it fades"
    );

    // A stale etag changes nothing; the current one qualifies the lead.
    let stale = call("PATCH", &format!("/v1/crm/leads/{lead_id}"))
        .token(&firm.token)
        .header("if-match", &s(&captured["etag"]))
        .json(&json!({"status": "qualified"}))
        .send();
    assert_eq!(stale.status, 412, "{}", stale.text);
    let qualified = ok(
        call("PATCH", &format!("/v1/crm/leads/{lead_id}"))
            .token(&firm.token)
            .header("if-match", &s(&signalled["etag"]))
            .json(&json!({"status": "qualified"}))
            .send(),
        200,
    );
    assert_eq!(qualified["status"], "qualified");

    let converted = ok(
        post(
            &firm.token,
            &format!("/v1/crm/leads/{lead_id}/convert"),
            json!({"expected_close": "2027-02-15"}),
        ),
        201,
    );
    assert_eq!(converted["lead"]["status"], "converted");
    assert_eq!(converted["account"]["name"], "Cobol Co");
    assert_eq!(converted["account"]["domain"], "cobol.example");
    assert_eq!(
        converted["contact"]["account_id"],
        converted["account"]["id"]
    );
    let deal = &converted["deal"];
    assert_eq!(deal["value_minor"], 1_200_000);
    assert_eq!(deal["currency"], "EUR");
    assert_eq!(deal["stage_name"], "Qualified");
    assert_eq!(deal["weighted_minor"], 120_000, "10 % of the value");
    let deal_id = s(&deal["id"]);
    let again = post(
        &firm.token,
        &format!("/v1/crm/leads/{lead_id}/convert"),
        json!({}),
    );
    assert_eq!(again.status, 409, "{}", again.text);

    // Logged activity, then a move to lost without a reason is refused, then won.
    ok(
        post(
            &firm.token,
            &format!("/v1/crm/deals/{deal_id}/activities"),
            json!({"kind": "meeting", "summary": "Scoping workshop"}),
        ),
        201,
    );
    let no_reason = post(
        &firm.token,
        &format!("/v1/crm/deals/{deal_id}/move"),
        json!({"stage_id": stages[4]["id"]}),
    );
    assert_eq!(no_reason.status, 409, "{}", no_reason.text);
    assert!(
        no_reason.error_fields().contains(&"lost_reason".to_owned()),
        "{}",
        no_reason.text
    );
    let won = ok(
        post(
            &firm.token,
            &format!("/v1/crm/deals/{deal_id}/move"),
            json!({"stage_id": stages[3]["id"]}),
        ),
        200,
    );
    assert_eq!(
        (won["status"].clone(), won["effective_probability"].clone()),
        (json!("won"), json!(100))
    );
    assert!(won["closed_at"].is_i64());
    let timeline = ok(
        call("GET", &format!("/v1/crm/deals/{deal_id}/activities"))
            .token(&firm.token)
            .send(),
        200,
    );
    let kinds: Vec<String> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| s(&a["kind"]))
        .collect();
    assert_eq!(kinds, vec!["won", "meeting", "created"]);
    let lead_timeline = ok(
        call(
            "GET",
            &format!("/v1/crm/leads/{lead_id}/activities?kind=converted"),
        )
        .token(&firm.token)
        .send(),
        200,
    );
    assert_eq!(lead_timeline["items"].as_array().unwrap().len(), 1);

    // The won deal counts in this month's forecast, credited to the owner.
    let forecast = ok(
        call("GET", "/v1/crm/forecast?period=quarter&periods=2")
            .token(&firm.token)
            .send(),
        200,
    );
    let rows = forecast["rows"].as_array().unwrap();
    let total = rows
        .iter()
        .find(|r| r["owner_id"].is_null())
        .expect("a total row");
    assert_eq!(total["won_minor"], 1_200_000);
    assert_eq!(total["currency"], "EUR");
    assert!(
        rows.iter().any(|r| r["owner_id"] == firm.owner["id"]),
        "{rows:?}"
    );
    let adjusted = ok(
        call("PUT", "/v1/crm/forecast/adjustments")
            .token(&firm.token)
            .json(&json!({"period": total["period"], "currency": "EUR", "amount_minor": 1_500_000, "note": "Renewal expected"}))
            .send(),
        200,
    );
    assert_eq!(adjusted["amount_minor"], 1_500_000);
    let forecast = ok(
        call("GET", "/v1/crm/forecast?period=quarter&periods=2")
            .token(&firm.token)
            .send(),
        200,
    );
    let total = forecast["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["owner_id"].is_null())
        .cloned()
        .unwrap();
    assert_eq!(
        total["adjustment"]["amount_minor"], 1_500_000,
        "kept beside the computed figure"
    );
    assert_eq!(total["won_minor"], 1_200_000);
    // Forecast against actual: the running quarter counts what was won so far.
    let accuracy = ok(
        call("GET", "/v1/crm/forecast/accuracy?period=quarter&periods=2")
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(accuracy["periods"].as_array().unwrap().len(), 2);
    let running = accuracy["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["period"] == total["period"])
        .cloned()
        .expect("the running quarter");
    assert_eq!(running["complete"], false);
    assert_eq!(running["actual_minor"], 1_200_000);
    assert_eq!(
        call("GET", "/v1/crm/forecast/accuracy?periods=0")
            .token(&firm.token)
            .send()
            .status,
        422
    );

    // Too little history: the win model says so and predictions use the stages.
    let model = ok(
        call("POST", "/v1/crm/forecast/model/train")
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(
        (model["basis"].clone(), model["outcomes"].clone()),
        (json!("stage"), json!(1))
    );
    let open = ok(
        post(
            &firm.token,
            "/v1/crm/deals",
            json!({"name": "Second engagement", "value_minor": 50_000}),
        ),
        201,
    );
    assert_eq!(open["currency"], "EUR", "the firm's currency by default");
    let prediction = ok(
        call(
            "GET",
            &format!("/v1/crm/deals/{}/prediction", s(&open["id"])),
        )
        .token(&firm.token)
        .send(),
        200,
    );
    assert_eq!(
        (
            prediction["basis"].clone(),
            prediction["probability"].clone()
        ),
        (json!("stage"), json!(10))
    );
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let firm = TestFirm::provision();
    let refused = post(
        &firm.token,
        "/v1/crm/leads",
        json!({"email": "not an address", "country": "France", "company_size": 0, "status": "converted", "colour": "red"}),
    );
    let problem = refused.problem(422);
    assert!(problem["type"].as_str().unwrap().contains("validation"));
    let fields = refused.error_fields();
    for field in [
        "contact_name",
        "email",
        "country",
        "company_size",
        "status",
        "colour",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let leads = ok(call("GET", "/v1/crm/leads").token(&firm.token).send(), 200);
    assert_eq!(leads["items"], json!([]), "nothing written");

    let no_won = post(
        &firm.token,
        "/v1/crm/pipelines",
        json!({"name": "P", "stages": [{"name": "A"}, {"name": "L", "kind": "lost"}]}),
    );
    assert_eq!(no_won.status, 422);
    assert!(no_won.error_fields().contains(&"stages".to_owned()));
    assert_eq!(
        ok(
            call("GET", "/v1/crm/pipelines").token(&firm.token).send(),
            200
        )["items"],
        json!([])
    );

    let no_pipeline = post(&firm.token, "/v1/crm/deals", json!({"name": "Audit"}));
    assert_eq!(no_pipeline.status, 409, "{}", no_pipeline.text);
    pipeline(&firm);
    let owner = s(&firm.owner["id"]);
    let bad_splits = post(
        &firm.token,
        "/v1/crm/deals",
        json!({"name": "Audit", "splits": [{"user_id": owner, "percent": 60}], "probability": 120, "expected_close": "2027-02-30"}),
    );
    assert_eq!(bad_splits.status, 422);
    for field in ["splits", "probability", "expected_close"] {
        assert!(
            bad_splits.error_fields().contains(&field.to_owned()),
            "{field}: {}",
            bad_splits.text
        );
    }
    let stranger = post(
        &firm.token,
        "/v1/crm/deals",
        json!({"name": "Audit", "owner_id": "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
    );
    assert_eq!(stranger.status, 409);
    assert!(stranger.error_fields().contains(&"owner_id".to_owned()));
    assert_eq!(
        ok(call("GET", "/v1/crm/deals").token(&firm.token).send(), 200)["items"],
        json!([])
    );

    let zero = post(
        &firm.token,
        "/v1/crm/scoring-rules",
        json!({"name": "x", "trigger": "industry_match", "points": 0}),
    );
    assert_eq!(zero.status, 422);
    assert!(
        zero.error_fields().contains(&"points".to_owned())
            && zero.error_fields().contains(&"conditions".to_owned())
    );
    let fit_signal = post(
        &firm.token,
        "/v1/crm/leads/led_01ARZ3NDEKTSV4RRFFQ69G5FAV/signals",
        json!({"trigger": "industry_match"}),
    );
    assert_eq!(fit_signal.status, 422, "{}", fit_signal.text);
    let bad_query = call("GET", "/v1/crm/leads?min_score=101&status=gone")
        .token(&firm.token)
        .send();
    assert_eq!(bad_query.status, 422);
    assert!(bad_query.error_fields().contains(&"min_score".to_owned()));
    let bad_forecast = call("GET", "/v1/crm/forecast?periods=99&period=week")
        .token(&firm.token)
        .send();
    assert_eq!(bad_forecast.status, 422);
}

#[test]
fn a_retried_capture_is_answered_once() {
    let firm = TestFirm::provision();
    let key = unique("key");
    let first = call("POST", "/v1/crm/leads")
        .token(&firm.token)
        .header("idempotency-key", &key)
        .json(&json!({"contact_name": "Ada"}))
        .send();
    assert_eq!(first.status, 201);
    let second = call("POST", "/v1/crm/leads")
        .token(&firm.token)
        .header("idempotency-key", &key)
        .json(&json!({"contact_name": "Ada"}))
        .send();
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.json()["id"], second.json()["id"]);
    let leads = ok(call("GET", "/v1/crm/leads").token(&firm.token).send(), 200);
    assert_eq!(leads["items"].as_array().unwrap().len(), 1);
}

#[test]
fn each_role_gets_what_the_matrix_says() {
    let firm = TestFirm::provision();
    pipeline(&firm);
    let captured = lead(&firm, json!({"contact_name": "Ada"}));
    let path = format!("/v1/crm/leads/{}", s(&captured["id"]));
    for (role, reads, writes) in [
        ("partner", 200, 201),
        ("manager", 200, 201),
        ("staff", 200, 403),
        ("readonly", 200, 403),
        ("billing", 403, 403),
    ] {
        let token = firm.token_as(role);
        assert_eq!(
            call("GET", &path).token(&token).send().status,
            reads,
            "{role} reads"
        );
        assert_eq!(
            call("GET", "/v1/crm/forecast").token(&token).send().status,
            reads,
            "{role} forecast"
        );
        let created = post(&token, "/v1/crm/leads", json!({"contact_name": "Bo"}));
        assert_eq!(created.status, writes, "{role} writes: {}", created.text);
    }
    // A member with the can-manage-clients flag writes whatever the role.
    let flagged = firm.token_with(|c| {
        c["role"] = json!("staff");
        c["flags"] = json!(["can_manage_clients"]);
    });
    assert_eq!(
        post(&flagged, "/v1/crm/leads", json!({"contact_name": "Cy"})).status,
        201
    );
    // A client's portal user reaches no CRM record.
    let portal = firm.token_with(|c| {
        c["role"] = json!("portal_admin");
        c["client"] = json!("cli_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    });
    assert_eq!(call("GET", &path).token(&portal).send().status, 403);
    assert_eq!(
        call("GET", "/v1/crm/deals").token(&portal).send().status,
        403
    );
    // The owner of a lead must be an active member: one who joined can be.
    let member = join(&firm, "manager");
    let assigned = call("PATCH", &path)
        .token(&firm.token)
        .json(&json!({"owner_id": member.user_id}))
        .send();
    assert_eq!(ok(assigned, 200)["owner_id"], json!(member.user_id));
    let mine = call("GET", &format!("/v1/crm/leads?owner_id={}", member.user_id))
        .token(&member.token)
        .send();
    assert_eq!(ok(mine, 200)["items"].as_array().unwrap().len(), 1);
}

#[test]
fn another_firm_finds_none_of_it() {
    let a = TestFirm::provision();
    let b = TestFirm::provision();
    let pipe = pipeline(&a);
    let captured = lead(&a, json!({"contact_name": "Ada", "company_name": "A Co"}));
    let lead_id = s(&captured["id"]);
    let deal = ok(
        post(
            &a.token,
            "/v1/crm/deals",
            json!({"name": "Audit", "value_minor": 1000}),
        ),
        201,
    );
    let deal_id = s(&deal["id"]);
    let account = ok(
        post(&a.token, "/v1/crm/accounts", json!({"name": "A Co"})),
        201,
    );
    let account_id = s(&account["id"]);
    let rule = ok(
        post(
            &a.token,
            "/v1/crm/scoring-rules",
            json!({"name": "Any e-mail", "trigger": "email_opened", "points": 5}),
        ),
        201,
    );
    let pipeline_id = s(&pipe["id"]);
    let stage = s(&pipe["stages"][1]["id"]);
    let rule_id = s(&rule["id"]);
    for (method, path, body) in [
        ("GET", format!("/v1/crm/leads/{lead_id}"), None),
        (
            "PATCH",
            format!("/v1/crm/leads/{lead_id}"),
            Some(json!({"title": "CEO"})),
        ),
        (
            "POST",
            format!("/v1/crm/leads/{lead_id}/lose"),
            Some(json!({"reason": "no"})),
        ),
        (
            "POST",
            format!("/v1/crm/leads/{lead_id}/convert"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/v1/crm/leads/{lead_id}/signals"),
            Some(json!({"trigger": "email_opened"})),
        ),
        ("GET", format!("/v1/crm/leads/{lead_id}/score"), None),
        ("GET", format!("/v1/crm/leads/{lead_id}/activities"), None),
        (
            "POST",
            format!("/v1/crm/leads/{lead_id}/activities"),
            Some(json!({"kind": "note", "summary": "x"})),
        ),
        ("GET", format!("/v1/crm/deals/{deal_id}"), None),
        (
            "PATCH",
            format!("/v1/crm/deals/{deal_id}"),
            Some(json!({"name": "Mine now"})),
        ),
        (
            "POST",
            format!("/v1/crm/deals/{deal_id}/move"),
            Some(json!({"stage_id": stage})),
        ),
        ("GET", format!("/v1/crm/deals/{deal_id}/prediction"), None),
        ("GET", format!("/v1/crm/deals/{deal_id}/activities"), None),
        ("GET", format!("/v1/crm/pipelines/{pipeline_id}"), None),
        (
            "PATCH",
            format!("/v1/crm/pipelines/{pipeline_id}"),
            Some(json!({"name": "Ours"})),
        ),
        ("GET", format!("/v1/crm/accounts/{account_id}"), None),
        (
            "PATCH",
            format!("/v1/crm/accounts/{account_id}"),
            Some(json!({"name": "Ours"})),
        ),
        (
            "GET",
            format!("/v1/crm/accounts/{account_id}/activities"),
            None,
        ),
        (
            "PUT",
            format!("/v1/crm/scoring-rules/{rule_id}"),
            Some(json!({"name": "x", "trigger": "email_opened", "points": 1})),
        ),
        ("DELETE", format!("/v1/crm/scoring-rules/{rule_id}"), None),
    ] {
        let mut c = call(method, &path).token(&b.token);
        if let Some(body) = &body {
            c = c.json(body);
        }
        let reply = c.send();
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }
    for list in [
        "/v1/crm/leads",
        "/v1/crm/deals",
        "/v1/crm/accounts",
        "/v1/crm/pipelines",
        "/v1/crm/scoring-rules",
    ] {
        assert_eq!(
            ok(call("GET", list).token(&b.token).send(), 200)["items"],
            json!([]),
            "{list}"
        );
    }
    // Firm B cannot put firm A's pipeline under its own deal either.
    pipeline(&b);
    let borrowed = post(
        &b.token,
        "/v1/crm/deals",
        json!({"name": "x", "pipeline_id": pipeline_id}),
    );
    assert_eq!(borrowed.status, 409, "{}", borrowed.text);
    // Nothing of A changed.
    let still = ok(
        call("GET", &format!("/v1/crm/deals/{deal_id}"))
            .token(&a.token)
            .send(),
        200,
    );
    assert_eq!(
        (still["name"].clone(), still["version"].clone()),
        (json!("Audit"), json!(1))
    );
}

#[test]
fn a_won_deal_becomes_a_client_and_a_quiet_deal_goes_stale() {
    use firmament_e2e::{eventually, fire_cron_at, unix_now};
    use std::time::Duration;
    let firm = TestFirm::provision();
    let pipe = pipeline(&firm);
    let name = unique("Northwind");
    let account = ok(
        post(
            &firm.token,
            "/v1/crm/accounts",
            json!({"name": name, "domain": "northwind.example"}),
        ),
        201,
    );
    let contact = ok(
        post(
            &firm.token,
            "/v1/crm/contacts",
            json!({"name": "Nancy Davolio", "email": "nancy@northwind.example", "account_id": account["id"]}),
        ),
        201,
    );
    let deal = ok(
        post(
            &firm.token,
            "/v1/crm/deals",
            json!({"name": "Bookkeeping", "account_id": account["id"], "contact_id": contact["id"], "value_minor": 90_000}),
        ),
        201,
    );
    let won = post(
        &firm.token,
        &format!("/v1/crm/deals/{}/move", s(&deal["id"])),
        json!({"stage_id": pipe["stages"][3]["id"]}),
    );
    assert_eq!(won.status, 200, "{}", won.text);
    // The clients module makes the client from the event; the CRM hears back.
    let client = eventually(Duration::from_secs(30), || {
        let found = call("GET", &format!("/v1/clients?q={name}"))
            .token(&firm.token)
            .send()
            .json();
        found["items"].as_array().and_then(|i| i.first().cloned())
    })
    .expect("the won deal's account became a client");
    assert_eq!(client["email"], "nancy@northwind.example");
    let linked = eventually(Duration::from_secs(30), || {
        let a = call("GET", &format!("/v1/crm/accounts/{}", s(&account["id"])))
            .token(&firm.token)
            .send()
            .json();
        (a["lifecycle"] == "customer").then_some(a)
    })
    .expect("the account became a customer");
    assert_eq!(linked["client_id"], client["id"]);
    let deal_now = ok(
        call("GET", &format!("/v1/crm/deals/{}", s(&deal["id"])))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(deal_now["client_id"], client["id"]);

    // An open deal with no activity: at the first tick of the day 20 days on, it is
    // stale (its stage rots after 14), in the report, and its owner was told.
    let quiet = ok(
        post(
            &firm.token,
            "/v1/crm/deals",
            json!({"name": unique("Quiet deal"), "value_minor": 40_000}),
        ),
        201,
    );
    let midnight = (unix_now() / 86_400 + 20) * 86_400;
    fire_cron_at(midnight * 1_000);
    let stale = eventually(Duration::from_secs(30), || {
        let d = call("GET", &format!("/v1/crm/deals/{}", s(&quiet["id"])))
            .token(&firm.token)
            .send()
            .json();
        (d["is_stale"] == true).then_some(d)
    });
    assert!(stale.is_some(), "the quiet deal went stale");
    let report = ok(
        call("GET", "/v1/crm/reports/stale-deals")
            .token(&firm.token)
            .send(),
        200,
    );
    let group = &report["items"][0];
    assert_eq!(
        (
            group["deals"].clone(),
            group["value_minor"].clone(),
            group["stage_name"].clone()
        ),
        (json!(1), json!(40_000), json!("Qualified"))
    );
    let told = eventually(Duration::from_secs(30), || {
        let n = call("GET", "/v1/notifications").token(&firm.token).send();
        n.text.contains("went quiet").then_some(())
    });
    assert!(told.is_some(), "the owner was reminded");
    let stale_list = ok(
        call("GET", "/v1/crm/deals?stale=true")
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(stale_list["items"].as_array().unwrap().len(), 1);
}

#[test]
fn assignment_rules_share_new_leads_and_a_departing_member_hands_over() {
    use firmament_e2e::eventually;
    use std::time::Duration;
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let a = join(&firm, "manager");
    let b = join(&firm, "manager");
    let viewer = join(&firm, "readonly");
    // Bad input names its field and writes nothing.
    for (body, field) in [
        (json!({"name": "T", "method": "round_robin"}), "users"),
        (
            json!({"name": "T", "method": "round_robin", "users": [a.user_id, a.user_id]}),
            "users[1]",
        ),
        (
            json!({"name": "T", "method": "territory", "field": "shoe", "territories": {"DE": [a.user_id]}}),
            "field",
        ),
        (
            json!({"name": "T", "method": "value_range", "currency": "EUR", "min_minor": 9, "max_minor": 1, "users": [a.user_id]}),
            "max_minor",
        ),
        (
            json!({"name": "T", "method": "source", "sources": ["tv"], "users": [a.user_id]}),
            "sources[0]",
        ),
    ] {
        let refused = post(&firm.token, "/v1/crm/assignment-rules", body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert!(
            refused.error_fields().contains(&field.to_owned()),
            "{body}: {}",
            refused.text
        );
    }
    // A read-only member may not be given work, nor set rules.
    let refused = post(
        &firm.token,
        "/v1/crm/assignment-rules",
        json!({"name": "T", "method": "round_robin", "users": [viewer.user_id]}),
    );
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.error_fields().contains(&"users".to_owned()));
    let listed = ok(
        call("GET", "/v1/crm/assignment-rules")
            .token(&firm.token)
            .send(),
        200,
    );
    assert!(
        listed["items"].as_array().unwrap().is_empty(),
        "nothing written"
    );
    assert_eq!(
        post(
            &viewer.token,
            "/v1/crm/assignment-rules",
            json!({"name": "T", "method": "round_robin", "users": [a.user_id]})
        )
        .status,
        403
    );
    assert_eq!(call("GET", "/v1/crm/assignment-rules").send().status, 401);

    let rule = ok(
        post(
            &firm.token,
            "/v1/crm/assignment-rules",
            json!({"name": "DACH", "method": "territory", "priority": 10, "field": "country",
                   "territories": {"DE": [a.user_id, b.user_id]}}),
        ),
        201,
    );
    let rule_path = format!("/v1/crm/assignment-rules/{}", s(&rule["id"]));
    // Two leads from Germany: one each, in turn.
    let owners: Vec<String> = (0..4)
        .map(|i| {
            s(&lead(
                &firm,
                json!({"contact_name": format!("D{i}"), "country": "DE"}),
            )["owner_id"])
        })
        .collect();
    assert_eq!(owners[0], owners[2]);
    assert_eq!(owners[1], owners[3]);
    assert_ne!(owners[0], owners[1]);
    assert!(
        owners.iter().all(|o| *o == a.user_id || *o == b.user_id),
        "{owners:?}"
    );

    // Another firm neither sees nor changes it.
    assert_eq!(
        call("PUT", &rule_path)
            .token(&other.token)
            .json(&json!({"name": "Mine", "method": "round_robin", "users": [other.owner["id"]]}))
            .send()
            .status,
        404
    );
    assert_eq!(
        call("DELETE", &rule_path).token(&other.token).send().status,
        404
    );
    let theirs = ok(
        call("GET", "/v1/crm/assignment-rules")
            .token(&other.token)
            .send(),
        200,
    );
    assert!(theirs["items"].as_array().unwrap().is_empty());

    // A replaced rule needs its etag; only b is left in it.
    let stale = call("PUT", &rule_path)
        .token(&firm.token)
        .header("if-match", "\"99\"")
        .json(&json!({"name": "DACH", "method": "territory", "field": "country", "territories": {"DE": [b.user_id]}}))
        .send();
    assert_eq!(stale.status, 412, "{}", stale.text);

    // a leaves the firm: their open leads go to b, the only one left in the rule.
    let gone = call("PATCH", &format!("/v1/firm/members/{}", a.user_id))
        .token(&firm.token)
        .json(&json!({"is_active": false}))
        .send();
    assert_eq!(gone.status, 200, "{}", gone.text);
    let path = format!("/v1/crm/leads?owner_id={}", a.user_id);
    let emptied = eventually(Duration::from_secs(30), || {
        let left = ok(call("GET", &path).token(&firm.token).send(), 200);
        left["items"].as_array().unwrap().is_empty().then_some(())
    });
    assert!(emptied.is_some(), "a's leads were handed over");
    let told = eventually(Duration::from_secs(30), || {
        let n = call("GET", "/v1/notifications").token(&b.token).send();
        n.text
            .contains("2 open leads and deals of New Person are yours now")
            .then_some(())
    });
    assert!(told.is_some(), "b hears what is theirs now");
    let b_leads = ok(
        call("GET", &format!("/v1/crm/leads?owner_id={}", b.user_id))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(b_leads["items"].as_array().unwrap().len(), 4);
    // The two that moved say so in their timelines, naming who had them.
    let reassigned = b_leads["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            let entries = ok(
                call(
                    "GET",
                    &format!("/v1/crm/leads/{}/activities?kind=changed", s(&l["id"])),
                )
                .token(&firm.token)
                .send(),
                200,
            );
            entries["items"].as_array().unwrap().iter().any(|e| {
                e["changes"]["owner_id"]["from"] == json!(a.user_id)
                    && e["changes"]["owner_id"]["to"] == json!(b.user_id)
            })
        })
        .count();
    assert_eq!(reassigned, 2);
    assert_eq!(
        call("DELETE", &rule_path).token(&firm.token).send().status,
        204
    );
    assert_eq!(
        call("DELETE", &rule_path).token(&firm.token).send().status,
        404
    );
}

#[test]
fn leads_import_from_csv_row_by_row_and_export_back() {
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let member = join(&firm, "manager");
    let viewer = join(&firm, "readonly");
    lead(
        &firm,
        json!({"contact_name": "Known", "email": "known@example.com"}),
    );
    let import = |token: &str, file: &str| {
        call("POST", "/v1/crm/leads/import")
            .token(token)
            .raw("text/csv", file.as_bytes().to_vec())
            .send()
    };
    let file = format!(
        "Contact Name,email,country,Budget,currency,tags,owner_email,custom.region\n\
         Ada Lovelace,ada@example.com,DE,\"12,000.50\",EUR,vip;q1,{},north\n\
         ,nobody@example.com,,,,,,\n\
         Bo,known@example.com,,,,,,\n\
         Cy,cy@example.com,Narnia,10,,,ghost@example.com,\n\
         Di,ada@example.com,,,,,,\n\
         Ed,,,,,,,\n",
        member.email
    );
    let report = ok(import(&firm.token, &file), 200);
    assert_eq!(
        (report["created"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(4)),
        "{report}"
    );
    let rows = report["rows"].as_array().unwrap();
    let fields_of = |line: u64| -> Vec<String> {
        let row = rows.iter().find(|r| r["line"] == line).unwrap();
        row["errors"]
            .as_array()
            .map(|e| e.iter().map(|e| s(&e["field"])).collect())
            .unwrap_or_default()
    };
    assert_eq!(rows.len(), 6, "every row answered");
    assert!(fields_of(3).contains(&"contact_name".to_owned()));
    assert_eq!(fields_of(4), vec!["email"], "a lead has it already");
    let cy = fields_of(5);
    for field in ["country", "currency", "owner_email"] {
        assert!(cy.contains(&field.to_owned()), "{cy:?}");
    }
    assert_eq!(fields_of(6), vec!["email"], "an earlier row has it");
    let ada_id = s(&rows[0]["lead_id"]);
    let ada = ok(
        call("GET", &format!("/v1/crm/leads/{ada_id}"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(ada["budget_minor"], 1_200_050);
    assert_eq!(ada["owner_id"], json!(member.user_id));
    assert_eq!(ada["custom_fields"]["region"], "north");
    assert_eq!(ada["tags"], json!(["vip", "q1"]));

    // A file that cannot be read stores nothing and says why.
    let before = ok(
        call("GET", "/v1/crm/leads?limit=100")
            .token(&firm.token)
            .send(),
        200,
    )["items"]
        .as_array()
        .unwrap()
        .len();
    let unknown = import(&firm.token, "contact_name,shoe_size\nAl,44\n");
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert!(unknown
        .error_fields()
        .contains(&"columns.shoe_size".to_owned()));
    let ragged = import(&firm.token, "contact_name,email\nAl\n");
    assert_eq!(ragged.status, 422, "{}", ragged.text);
    let json_body = post(
        &firm.token,
        "/v1/crm/leads/import",
        json!({"contact_name": "Al"}),
    );
    assert_eq!(json_body.status, 400, "{}", json_body.text);
    let after = ok(
        call("GET", "/v1/crm/leads?limit=100")
            .token(&firm.token)
            .send(),
        200,
    )["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    // Roles and credentials.
    assert_eq!(import(&viewer.token, "contact_name\nAl\n").status, 403);
    assert_eq!(
        call("POST", "/v1/crm/leads/import")
            .raw("text/csv", b"contact_name\nAl\n".to_vec())
            .send()
            .status,
        401
    );

    // The export is the list, filtered, as CSV that imports back.
    let export = call("GET", "/v1/crm/leads/export?tag=vip")
        .token(&viewer.token)
        .send();
    assert_eq!(export.status, 200, "{}", export.text);
    assert!(export
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    assert!(export
        .header("content-disposition")
        .unwrap_or_default()
        .contains("attachment"));
    let lines: Vec<&str> = export.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", export.text);
    assert!(lines[0].starts_with("id,contact_name,"));
    assert!(lines[0].ends_with("custom.region"));
    assert!(lines[1].contains(&ada_id));
    // Into another firm: the same lead, new there (its id and score are not taken).
    let moved = ok(
        import(
            &other.token,
            &export.text.replace(&format!(",{},", member.user_id), ",,"),
        ),
        200,
    );
    assert_eq!(moved["created"], 1, "{moved}");
    assert_eq!(
        moved["ignored_columns"],
        json!(["id", "score", "created_at"])
    );
    let theirs = call("GET", "/v1/crm/leads/export")
        .token(&other.token)
        .send();
    assert!(
        !theirs.text.contains(&ada_id),
        "another firm's export has only its own"
    );
    assert!(theirs.text.contains("ada@example.com"));
    let bad = call("GET", "/v1/crm/leads/export?min_score=500")
        .token(&firm.token)
        .send();
    assert_eq!(bad.status, 422, "{}", bad.text);
}

#[test]
fn a_proposal_is_drafted_sent_answered_and_expires_unanswered() {
    use firmament_e2e::{eventually, fire_cron_at, unix_now};
    use std::time::Duration;
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let viewer = join(&firm, "readonly");
    pipeline(&firm);
    let deal = ok(
        post(
            &firm.token,
            "/v1/crm/deals",
            json!({"name": "Audit", "value_minor": 500_000, "currency": "EUR"}),
        ),
        201,
    );
    let deal_id = s(&deal["id"]);
    let day = |offset: i64| {
        let secs = (unix_now() / 86_400 + offset) * 86_400;
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let body = json!({"title": "Audit 2027", "valid_until": day(60), "lines": [
        {"description": "Fieldwork", "quantity": "12.5", "unit_price_minor": 15_000},
        {"description": "Report", "quantity": 1, "unit_price_minor": 99_999}]});
    let path = format!("/v1/crm/deals/{deal_id}/proposals");
    // Bad input names the field and writes nothing.
    for (bad, field) in [
        (
            json!({"title": "x", "valid_until": "2027-02-30", "lines": body["lines"]}),
            "valid_until",
        ),
        (
            json!({"title": "x", "valid_until": day(60), "lines": [{"description": "a", "quantity": 0, "unit_price_minor": 1}]}),
            "lines[0].quantity",
        ),
        (
            json!({"title": "x", "valid_until": day(60), "lines": []}),
            "lines",
        ),
    ] {
        let refused = post(&firm.token, &path, bad.clone());
        assert_eq!(refused.status, 422, "{bad}: {}", refused.text);
        assert!(
            refused.error_fields().contains(&field.to_owned()),
            "{}",
            refused.text
        );
    }
    assert!(
        ok(call("GET", &path).token(&firm.token).send(), 200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(post(&viewer.token, &path, body.clone()).status, 403);
    assert_eq!(post(&other.token, &path, body.clone()).status, 404);
    assert_eq!(call("POST", &path).json(&body).send().status, 401);

    let draft = ok(post(&firm.token, &path, body.clone()), 201);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["currency"], "EUR", "the deal's");
    assert_eq!(draft["total_minor"], 187_500 + 99_999);
    let one = format!("/v1/crm/proposals/{}", s(&draft["id"]));
    assert_eq!(call("GET", &one).token(&other.token).send().status, 404);
    let edited = call("PATCH", &one)
        .token(&firm.token)
        .header("if-match", draft["etag"].as_str().unwrap())
        .json(&json!({"title": "Audit 2027 (revised)", "notes": "Fixed fee for the report"}))
        .send();
    let edited = ok(edited, 200);
    assert_eq!(edited["title"], "Audit 2027 (revised)");
    assert_eq!(
        post(&firm.token, &format!("{one}/accept"), json!({})).status,
        409,
        "a draft is not answered"
    );
    let sent = ok(
        call("POST", &format!("{one}/send"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(sent["status"], "sent");
    let frozen = call("PATCH", &one)
        .token(&firm.token)
        .json(&json!({"title": "Later"}))
        .send();
    assert_eq!(frozen.status, 409, "{}", frozen.text);
    let no_reason = post(&firm.token, &format!("{one}/reject"), json!({}));
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.error_fields().contains(&"reason".to_owned()));
    assert_eq!(
        call("POST", &format!("{one}/accept"))
            .token(&other.token)
            .send()
            .status,
        404
    );
    let accepted = ok(
        call("POST", &format!("{one}/accept"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted["decided_at"].is_i64());

    // A second one, sent and never answered, expires after its day.
    let quick = ok(
        post(
            &firm.token,
            &path,
            json!({"title": "Short offer", "valid_until": day(2), "lines": body["lines"]}),
        ),
        201,
    );
    let quick_path = format!("/v1/crm/proposals/{}", s(&quick["id"]));
    ok(
        call("POST", &format!("{quick_path}/send"))
            .token(&firm.token)
            .send(),
        200,
    );
    fire_cron_at((unix_now() / 86_400 + 5) * 86_400 * 1_000);
    let expired = eventually(Duration::from_secs(30), || {
        let p = ok(call("GET", &quick_path).token(&firm.token).send(), 200);
        (p["status"] == "expired").then_some(p)
    });
    assert!(expired.is_some(), "the unanswered proposal expired");
    assert_eq!(
        ok(call("GET", &one).token(&firm.token).send(), 200)["status"],
        "accepted",
        "an answered one stays answered"
    );
    // The deal's timeline tells the story.
    let story = ok(
        call(
            "GET",
            &format!("/v1/crm/deals/{deal_id}/activities?kind=proposal"),
        )
        .token(&firm.token)
        .send(),
        200,
    );
    let summaries: Vec<String> = story["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["summary"]))
        .collect();
    assert_eq!(summaries.len(), 4, "{summaries:?}");
    assert!(summaries.iter().any(|t| t.starts_with("Proposal accepted")));
    assert!(summaries.iter().any(|t| t.starts_with("Proposal expired")));
}

#[test]
fn entering_a_stage_runs_its_automations_with_the_move() {
    use firmament_e2e::eventually;
    use std::time::Duration;
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let closer = join(&firm, "manager");
    let viewer = join(&firm, "readonly");
    let pipe = pipeline(&firm);
    let pipe_id = s(&pipe["id"]);
    let proposal_stage = s(&pipe["stages"][1]["id"]);
    let autos = format!("/v1/crm/pipelines/{pipe_id}/automations");
    // Bad input names its field; wrong people and stages are refused; nothing written.
    for (body, status, field) in [
        (
            json!({"stage_id": proposal_stage, "action": "dance"}),
            422,
            "action",
        ),
        (
            json!({"stage_id": proposal_stage, "action": "set_probability", "probability": 120}),
            422,
            "probability",
        ),
        (
            json!({"stage_id": proposal_stage, "action": "assign"}),
            422,
            "user_id",
        ),
        (
            json!({"stage_id": proposal_stage, "action": "assign", "user_id": viewer.user_id}),
            409,
            "user_id",
        ),
        (
            json!({"stage_id": "stg_01ARZ3NDEKTSV4RRFFQ69G5FAV", "action": "webhook"}),
            409,
            "stage_id",
        ),
    ] {
        let refused = post(&firm.token, &autos, body.clone());
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        assert!(
            refused.error_fields().contains(&field.to_owned()),
            "{body}: {}",
            refused.text
        );
    }
    assert!(
        ok(call("GET", &autos).token(&firm.token).send(), 200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        post(
            &viewer.token,
            &autos,
            json!({"stage_id": proposal_stage, "action": "webhook"})
        )
        .status,
        403
    );
    assert_eq!(
        post(
            &other.token,
            &autos,
            json!({"stage_id": proposal_stage, "action": "webhook"})
        )
        .status,
        404
    );
    for step in [
        json!({"action": "assign", "user_id": closer.user_id}),
        json!({"action": "create_task", "title": "Send the proposal", "priority": "high", "due_in_days": 2}),
        json!({"action": "notify", "to": "owner", "message": "Proposal stage: send it within two days"}),
        json!({"action": "set_probability", "probability": 60}),
        json!({"action": "add_tag", "tag": "Proposal"}),
        json!({"action": "webhook"}),
    ] {
        let mut body = step.clone();
        body["stage_id"] = json!(proposal_stage);
        ok(post(&firm.token, &autos, body), 201);
    }
    let listed = ok(call("GET", &autos).token(&viewer.token).send(), 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 6);
    assert_eq!(call("GET", &autos).token(&other.token).send().status, 404);

    let deal = ok(
        post(
            &firm.token,
            "/v1/crm/deals",
            json!({"name": "Tax advisory", "value_minor": 90_000}),
        ),
        201,
    );
    let deal_id = s(&deal["id"]);
    let moved = call("POST", &format!("/v1/crm/deals/{deal_id}/move"))
        .token(&firm.token)
        .json(&json!({"stage_id": proposal_stage}))
        .send();
    let moved = ok(moved, 200);
    assert_eq!(
        moved["owner_id"],
        json!(closer.user_id),
        "assigned on entry"
    );
    assert_eq!(moved["probability"], 60);
    assert_eq!(moved["tags"], json!(["proposal"]));
    assert_eq!(
        moved["splits"],
        json!([{"user_id": closer.user_id, "percent": 100}])
    );
    let todo = ok(
        call("GET", &format!("/v1/crm/deals/{deal_id}/tasks"))
            .token(&firm.token)
            .send(),
        200,
    );
    let task = todo["items"][0].clone();
    assert_eq!(
        (task["title"].clone(), task["priority"].clone()),
        (json!("Send the proposal"), json!("high"))
    );
    assert_eq!(
        task["assignee_id"],
        json!(closer.user_id),
        "the new owner does it"
    );
    assert!(task["automation_id"].as_str().unwrap().starts_with("aut_"));
    let told = eventually(Duration::from_secs(30), || {
        let n = call("GET", "/v1/notifications").token(&closer.token).send();
        n.text.contains("send it within two days").then_some(())
    });
    assert!(told.is_some(), "the new owner was told");
    let events = ok(
        call("GET", "/v1/firm/events").token(&firm.token).send(),
        200,
    );
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "crm.deal.stage_entered"),
        "announced to webhooks"
    );
    let story = ok(
        call(
            "GET",
            &format!("/v1/crm/deals/{deal_id}/activities?kind=changed"),
        )
        .token(&firm.token)
        .send(),
        200,
    );
    let entry = &story["items"][0];
    assert!(
        s(&entry["summary"]).starts_with("Automations of Proposal"),
        "{entry}"
    );
    assert_eq!(entry["changes"]["owner_id"]["to"], json!(closer.user_id));

    // Tasks: bad input, another firm, done is activity.
    let tasks_path = format!("/v1/crm/deals/{deal_id}/tasks");
    let bad = post(
        &firm.token,
        &tasks_path,
        json!({"title": "x", "due_on": "someday"}),
    );
    assert_eq!(bad.status, 422);
    assert!(bad.error_fields().contains(&"due_on".to_owned()));
    assert_eq!(
        post(
            &firm.token,
            &tasks_path,
            json!({"title": "x", "status": "done"})
        )
        .status,
        422
    );
    assert_eq!(
        post(&other.token, &tasks_path, json!({"title": "x"})).status,
        404
    );
    assert_eq!(
        post(&viewer.token, &tasks_path, json!({"title": "x"})).status,
        403
    );
    let mine = ok(
        post(
            &firm.token,
            &tasks_path,
            json!({"title": "Check references", "assignee_id": closer.user_id}),
        ),
        201,
    );
    assert_eq!(mine["priority"], "medium");
    let task_path = format!("/v1/crm/tasks/{}", s(&task["id"]));
    assert_eq!(
        call("PATCH", &task_path)
            .token(&other.token)
            .json(&json!({"status": "done"}))
            .send()
            .status,
        404
    );
    let stale = call("PATCH", &task_path)
        .token(&firm.token)
        .header("if-match", "\"99\"")
        .json(&json!({"status": "done"}))
        .send();
    assert_eq!(stale.status, 412);
    let done = ok(
        call("PATCH", &task_path)
            .token(&closer.token)
            .json(&json!({"status": "done"}))
            .send(),
        200,
    );
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_i64());
    let logged = ok(
        call(
            "GET",
            &format!("/v1/crm/deals/{deal_id}/activities?kind=task"),
        )
        .token(&firm.token)
        .send(),
        200,
    );
    assert_eq!(
        s(&logged["items"][0]["summary"]),
        "Task done: Send the proposal"
    );
    let after = ok(
        call("GET", &format!("/v1/crm/deals/{deal_id}"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert!(after["last_activity_at"].is_i64(), "done is activity");
    // Deleting an automation stops it; what it did stays.
    let first = s(&listed["items"][0]["id"]);
    assert_eq!(
        call("DELETE", &format!("/v1/crm/automations/{first}"))
            .token(&other.token)
            .send()
            .status,
        404
    );
    assert_eq!(
        call("DELETE", &format!("/v1/crm/automations/{first}"))
            .token(&firm.token)
            .send()
            .status,
        204
    );
    assert_eq!(
        ok(call("GET", &autos).token(&firm.token).send(), 200)["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn a_catalogue_a_campaign_and_a_contract_from_proposal_to_signature() {
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let pipe = pipeline(&firm);
    let won_stage = s(&pipe["stages"][3]["id"]);
    // The catalogue: a subscription needs its interval; a code is the firm's once.
    let bad = post(
        &firm.token,
        "/v1/crm/products",
        json!({"code": "BOOKS", "name": "Bookkeeping", "kind": "subscription",
               "unit_price_minor": 30000, "currency": "EUR"}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.json()["errors"][0]["field"], "billing_interval");
    let books = ok(
        post(
            &firm.token,
            "/v1/crm/products",
            json!({"code": "BOOKS", "name": "Bookkeeping", "kind": "subscription", "billing_interval": "month",
                   "unit_price_minor": 30000, "currency": "EUR", "category": "Accounts"}),
        ),
        201,
    );
    let again = post(
        &firm.token,
        "/v1/crm/products",
        json!({"code": "BOOKS", "name": "Other", "kind": "service", "unit_price_minor": 1, "currency": "EUR"}),
    );
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["errors"][0]["field"], "code");
    let listed = ok(
        call("GET", "/v1/crm/products?kind=subscription&q=book")
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let product_path = format!("/v1/crm/products/{}", s(&books["id"]));
    let stale = call("PATCH", &product_path)
        .token(&firm.token)
        .header("if-match", "\"7\"")
        .json(&json!({"status": "archived"}))
        .send();
    assert_eq!(stale.status, 412, "{}", stale.text);
    let archived = call("PATCH", &product_path)
        .token(&firm.token)
        .header("if-match", &s(&books["etag"]))
        .json(&json!({"status": "archived"}))
        .send();
    assert_eq!(ok(archived, 200)["status"], "archived");

    // A campaign: the lead it brings converts, and its deal is won.
    let campaign = ok(
        post(
            &firm.token,
            "/v1/crm/campaigns",
            json!({"name": "Spring webinar", "kind": "webinar", "start_on": "2027-03-01", "end_on": "2027-03-31",
                   "currency": "EUR", "budget_minor": 500000, "actual_cost_minor": 200000, "target_leads": 10}),
        ),
        201,
    );
    let campaign_id = s(&campaign["id"]);
    let backwards = post(
        &firm.token,
        "/v1/crm/campaigns",
        json!({"name": "x", "kind": "event", "start_on": "2027-03-02", "end_on": "2027-03-01",
               "currency": "EUR", "budget_minor": 0}),
    );
    assert_eq!(backwards.status, 422, "{}", backwards.text);
    assert_eq!(backwards.json()["errors"][0]["field"], "end_on");
    let captured = lead(
        &firm,
        json!({"contact_name": "Ada", "company_name": "Engines Ltd", "campaign_id": campaign_id,
               "budget_minor": 800000, "currency": "EUR"}),
    );
    assert_eq!(captured["campaign_id"], json!(campaign_id));
    let lead_path = format!("/v1/crm/leads/{}", s(&captured["id"]));
    ok(
        call("PATCH", &lead_path)
            .token(&firm.token)
            .json(&json!({"status": "qualified"}))
            .send(),
        200,
    );
    let made = ok(
        post(&firm.token, &format!("{lead_path}/convert"), json!({})),
        201,
    );
    let deal_id = s(&made["deal"]["id"]);
    assert_eq!(made["deal"]["campaign_id"], json!(campaign_id));
    let strange = post(
        &firm.token,
        "/v1/crm/leads",
        json!({"contact_name": "Eve", "campaign_id": "cmp_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
    );
    assert_eq!(strange.status, 409, "{}", strange.text);
    assert_eq!(strange.json()["errors"][0]["field"], "campaign_id");

    // A proposal priced from the catalogue: an archived product is offered no more.
    let audit = ok(
        post(
            &firm.token,
            "/v1/crm/products",
            json!({"code": "AUDIT", "name": "Statutory audit", "kind": "service",
                   "unit_price_minor": 400000, "currency": "EUR"}),
        ),
        201,
    );
    let proposals_path = format!("/v1/crm/deals/{deal_id}/proposals");
    let retired = post(
        &firm.token,
        &proposals_path,
        json!({"title": "Books", "valid_until": "2099-01-31",
               "lines": [{"product_id": books["id"], "quantity": 12}]}),
    );
    assert_eq!(retired.status, 422, "{}", retired.text);
    assert_eq!(retired.json()["errors"][0]["field"], "lines[0].product_id");
    let proposal = ok(
        post(
            &firm.token,
            &proposals_path,
            json!({"title": "Audit 2027", "valid_until": "2099-01-31",
                   "lines": [{"product_id": audit["id"], "quantity": 2}]}),
        ),
        201,
    );
    assert_eq!(
        (
            proposal["lines"][0]["description"].clone(),
            proposal["total_minor"].clone()
        ),
        (json!("Statutory audit"), json!(800000))
    );
    let proposal_id = s(&proposal["id"]);
    let contracts_path = format!("/v1/crm/deals/{deal_id}/contracts");
    let early = post(
        &firm.token,
        &contracts_path,
        json!({"proposal_id": proposal_id, "start_on": "2027-04-01", "end_on": "2028-03-31"}),
    );
    assert_eq!(
        early.status, 409,
        "a draft proposal makes no contract: {}",
        early.text
    );
    for step in ["send", "accept"] {
        ok(
            post(
                &firm.token,
                &format!("/v1/crm/proposals/{proposal_id}/{step}"),
                json!({}),
            ),
            200,
        );
    }
    let no_term = post(
        &firm.token,
        &contracts_path,
        json!({"proposal_id": proposal_id}),
    );
    assert_eq!(no_term.status, 422, "{}", no_term.text);
    let contract = ok(
        post(
            &firm.token,
            &contracts_path,
            json!({"proposal_id": proposal_id, "start_on": "2027-04-01", "end_on": "2028-03-31",
                   "payment_terms": "net_15"}),
        ),
        201,
    );
    assert_eq!(
        (
            contract["number"].clone(),
            contract["title"].clone(),
            contract["total_minor"].clone(),
            contract["status"].clone()
        ),
        (
            json!("C-0001"),
            json!("Audit 2027"),
            json!(800000),
            json!("draft")
        )
    );
    let contract_path = format!("/v1/crm/contracts/{}", s(&contract["id"]));
    let unsigned = post(&firm.token, &format!("{contract_path}/sign"), json!({}));
    assert_eq!(unsigned.status, 422, "{}", unsigned.text);
    assert_eq!(unsigned.json()["errors"][0]["field"], "signed_by");
    let signed = ok(
        post(
            &firm.token,
            &format!("{contract_path}/sign"),
            json!({"signed_by": "Ada Lovelace", "signed_on": "2026-12-01"}),
        ),
        200,
    );
    assert_eq!(
        (signed["status"].clone(), signed["signed_on"].clone()),
        (json!("active"), json!("2026-12-01"))
    );
    let terms = call("PATCH", &contract_path)
        .token(&firm.token)
        .json(&json!({"total_minor": 1}))
        .send();
    assert_eq!(terms.status, 409, "{}", terms.text);
    let noted = call("PATCH", &contract_path)
        .token(&firm.token)
        .json(&json!({"notes": "Kick-off on 3 April"}))
        .send();
    assert_eq!(ok(noted, 200)["notes"], "Kick-off on 3 April");
    let unreasoned = post(
        &firm.token,
        &format!("{contract_path}/terminate"),
        json!({}),
    );
    assert_eq!(unreasoned.status, 422, "{}", unreasoned.text);
    ok(
        post(&firm.token, &format!("{contract_path}/hold"), json!({})),
        200,
    );
    ok(
        post(&firm.token, &format!("{contract_path}/resume"), json!({})),
        200,
    );
    let listed = ok(call("GET", &contracts_path).token(&firm.token).send(), 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let timeline = ok(
        call(
            "GET",
            &format!("/v1/crm/deals/{deal_id}/activities?kind=contract"),
        )
        .token(&firm.token)
        .send(),
        200,
    );
    assert_eq!(timeline["items"].as_array().unwrap().len(), 4, "{timeline}");

    // The deal is won: the campaign counts it, against its cost.
    ok(
        post(
            &firm.token,
            &format!("/v1/crm/deals/{deal_id}/move"),
            json!({"stage_id": won_stage}),
        ),
        200,
    );
    let results = ok(
        call("GET", &format!("/v1/crm/campaigns/{campaign_id}"))
            .token(&firm.token)
            .send(),
        200,
    )["results"]
        .clone();
    assert_eq!(
        (
            results["leads"].clone(),
            results["converted_leads"].clone(),
            results["deals_won"].clone(),
            results["won_minor"].clone(),
            results["roi_percent"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(800000), json!(300.0))
    );

    // Roles: staff and read-only members read, only writers write.
    for role in ["staff", "readonly"] {
        let token = firm.token_as(role);
        assert_eq!(call("GET", &contract_path).token(&token).send().status, 200);
        for (path, body) in [
            (
                "/v1/crm/products".to_owned(),
                json!({"code": "X", "name": "X", "kind": "service", "unit_price_minor": 1, "currency": "EUR"}),
            ),
            (format!("{contract_path}/complete"), json!({})),
            (
                format!("/v1/crm/campaigns/{campaign_id}"),
                json!({"status": "active"}),
            ),
        ] {
            let method = if path.contains("/campaigns/") {
                "PATCH"
            } else {
                "POST"
            };
            let reply = call(method, &path).token(&token).json(&body).send();
            assert_eq!(reply.status, 403, "{role} {method} {path}: {}", reply.text);
        }
    }
    // Another firm finds none of it, changes none of it, and lists nothing.
    for (method, path, body) in [
        ("GET", product_path.clone(), None),
        ("PATCH", product_path.clone(), Some(json!({"name": "Ours"}))),
        ("GET", format!("/v1/crm/campaigns/{campaign_id}"), None),
        (
            "PATCH",
            format!("/v1/crm/campaigns/{campaign_id}"),
            Some(json!({"name": "Ours"})),
        ),
        ("GET", contract_path.clone(), None),
        ("PATCH", contract_path.clone(), Some(json!({"notes": "x"}))),
        ("POST", format!("{contract_path}/complete"), Some(json!({}))),
        ("GET", contracts_path.clone(), None),
        (
            "POST",
            contracts_path.clone(),
            Some(
                json!({"title": "x", "total_minor": 1, "start_on": "2027-01-01", "end_on": "2027-01-02"}),
            ),
        ),
    ] {
        let mut c = call(method, &path).token(&other.token);
        if let Some(body) = &body {
            c = c.json(body);
        }
        let reply = c.send();
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }
    for list in ["/v1/crm/products", "/v1/crm/campaigns"] {
        assert_eq!(
            ok(call("GET", list).token(&other.token).send(), 200)["items"],
            json!([]),
            "{list}"
        );
    }
    let still = ok(call("GET", &contract_path).token(&firm.token).send(), 200);
    assert_eq!(still["status"], "active");
}

/// The provider simulator's log of lookups (query and status), oldest first.
fn provider_lookups() -> Vec<Value> {
    let base = std::env::var("FIRMAMENT_ENRICHMENT_URL").expect("FIRMAMENT_ENRICHMENT_URL");
    let text = ureq::get(&format!("{base}/_sim/lookups"))
        .call()
        .map(|r| r.into_string().unwrap_or_default())
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// Asks for a lead's lookup and waits until it ends.
fn enriched(firm: &TestFirm, lead_id: &str) -> Value {
    let asked = ok(
        post(
            &firm.token,
            &format!("/v1/crm/leads/{lead_id}/enrich"),
            json!({}),
        ),
        202,
    );
    assert_eq!(asked["status"], "pending", "{asked}");
    firmament_e2e::eventually(std::time::Duration::from_secs(60), || {
        let e = ok(
            call("GET", &format!("/v1/crm/leads/{lead_id}/enrichment"))
                .token(&firm.token)
                .send(),
            200,
        );
        (e["status"] != "pending").then_some(e)
    })
    .unwrap_or_else(|| panic!("the lookup of {lead_id} never ended"))
}

#[test]
fn a_lead_is_enriched_by_a_retried_job_and_what_a_person_typed_stays() {
    let firm = TestFirm::provision();
    let email = format!("{}@engines.example", unique("ada"));
    let ada = lead(
        &firm,
        json!({"contact_name": "Ada", "email": email, "title": "Founder"}),
    );
    let ada_id = s(&ada["id"]);
    let first = ok(
        post(
            &firm.token,
            &format!("/v1/crm/leads/{ada_id}/enrich"),
            json!({}),
        ),
        202,
    );
    // Asked again while it waits: the same lookup, no second job.
    let again = post(
        &firm.token,
        &format!("/v1/crm/leads/{ada_id}/enrich"),
        json!({}),
    );
    if again.status == 202 && again.json()["status"] == "pending" {
        assert_eq!(again.json()["id"], first["id"]);
    }
    let done = firmament_e2e::eventually(std::time::Duration::from_secs(60), || {
        let e = ok(
            call("GET", &format!("/v1/crm/leads/{ada_id}/enrichment"))
                .token(&firm.token)
                .send(),
            200,
        );
        (e["status"] != "pending").then_some(e)
    })
    .expect("the lookup ends");
    assert_eq!(done["status"], "found", "{done}");
    assert_eq!(done["applied"]["industry"], "Machinery");
    assert_eq!(done["kept"], json!(["title"]), "{done}");
    let now = ok(
        call("GET", &format!("/v1/crm/leads/{ada_id}"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert_eq!(
        (
            now["title"].clone(),
            now["company_name"].clone(),
            now["industry"].clone(),
            now["company_size"].clone(),
            now["country"].clone()
        ),
        (
            json!("Founder"),
            json!("Analytical Engines Ltd"),
            json!("Machinery"),
            json!(120),
            json!("GB")
        )
    );
    let timeline = ok(
        call("GET", &format!("/v1/crm/leads/{ada_id}/activities"))
            .token(&firm.token)
            .send(),
        200,
    );
    assert!(
        timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["changes"].get("industry").is_some()),
        "the change is on the timeline: {timeline}"
    );

    // A provider that first says "slow down" is asked again, and answers.
    let busy_email = format!("{}@busy.example", unique("bo"));
    let busy = lead(&firm, json!({"contact_name": "Bo", "email": busy_email}));
    let result = enriched(&firm, &s(&busy["id"]));
    assert_eq!(result["status"], "found", "{result}");
    let statuses: Vec<Value> = provider_lookups()
        .into_iter()
        .filter(|l| l["email"] == json!(busy_email))
        .map(|l| l["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(429), json!(200)]);
    // An unknown company is not found; a lead with nothing to look up by is refused.
    let stranger = lead(
        &firm,
        json!({"contact_name": "Cy", "email": format!("{}@nowhere.example", unique("cy"))}),
    );
    assert_eq!(enriched(&firm, &s(&stranger["id"]))["status"], "not_found");
    let bare = lead(&firm, json!({"contact_name": "Di"}));
    let refused = post(
        &firm.token,
        &format!("/v1/crm/leads/{}/enrich", s(&bare["id"])),
        json!({}),
    );
    assert_eq!(refused.status, 409, "{}", refused.text);
    let never = call(
        "GET",
        &format!("/v1/crm/leads/{}/enrichment", s(&bare["id"])),
    )
    .token(&firm.token)
    .send();
    assert_eq!(never.status, 404, "{}", never.text);
    // Readers read it; only writers ask; another firm finds nothing.
    let reader = firm.token_as("readonly");
    assert_eq!(
        call("GET", &format!("/v1/crm/leads/{ada_id}/enrichment"))
            .token(&reader)
            .send()
            .status,
        200
    );
    assert_eq!(
        post(
            &reader,
            &format!("/v1/crm/leads/{ada_id}/enrich"),
            json!({})
        )
        .status,
        403
    );
    let other = TestFirm::provision();
    for (method, path) in [
        ("GET", format!("/v1/crm/leads/{ada_id}/enrichment")),
        ("POST", format!("/v1/crm/leads/{ada_id}/enrich")),
    ] {
        let reply = call(method, &path)
            .token(&other.token)
            .json(&json!({}))
            .send();
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }
}
