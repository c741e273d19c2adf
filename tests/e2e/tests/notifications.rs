//! Notifications: a module's request becomes an in-app item and an e-mail through
//! one pipeline — preferences (critical bypasses them), digests and quiet hours —
//! and each person reads, counts and marks only their own.

use std::sync::RwLock;
use std::time::Duration;

use firmament_e2e::{
    call, eventually, fire_cron_at, join, mailbox, mailbox_with, unix_now, Member, Reply, TestFirm,
};
use serde_json::{json, Value};

/// Tests that fire the clock ahead hold it alone.
static CLOCK: RwLock<()> = RwLock::new(());

fn change_role(firm: &TestFirm, member: &Member, role: &str) {
    let reply = call("PATCH", &format!("/v1/firm/members/{}", member.user_id))
        .token(&firm.token)
        .json(&json!({"role": role}))
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
}

fn unread(token: &str) -> i64 {
    let reply = call("GET", "/v1/notifications/unread-count")
        .token(token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["unread"].as_i64().unwrap()
}

fn items(token: &str, query: &str) -> Vec<Value> {
    let reply = call("GET", &format!("/v1/notifications{query}"))
        .token(token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["items"].as_array().unwrap().clone()
}

/// Waits until `token`'s person has `n` unread items.
fn await_unread(token: &str, n: i64) {
    eventually(Duration::from_secs(15), || {
        (unread(token) >= n).then_some(())
    })
    .unwrap_or_else(|| panic!("{n} unread notifications did not arrive"));
}

fn prefs(token: &str, body: Value) -> Reply {
    call("PUT", "/v1/notifications/preferences")
        .token(token)
        .json(&body)
        .send()
}

fn subjects(to: &str) -> Vec<String> {
    mailbox(to)
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_role_change_reaches_the_member_in_app_and_by_mail() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let member = join(&firm, "staff");
    assert_eq!(unread(&member.token), 0);
    change_role(&firm, &member, "manager");
    await_unread(&member.token, 1);
    let list = items(&member.token, "");
    assert_eq!(list.len(), 1);
    let item = &list[0];
    assert_eq!(item["kind"], "firm.role_changed");
    assert_eq!(item["category"], "team");
    assert_eq!(item["critical"], false);
    assert!(
        item["title"].as_str().unwrap().ends_with("is now manager"),
        "{item}"
    );
    assert_eq!(item["read_at"], Value::Null);
    let mails = mailbox_with(&member.email, 2);
    assert!(
        mails
            .iter()
            .any(|m| m["Subject"].as_str().unwrap().contains("Your role at")),
        "{mails:?}"
    );
    // Reading: one, then all.
    let id = item["id"].as_str().unwrap();
    assert_eq!(
        call("POST", &format!("/v1/notifications/{id}/read"))
            .token(&member.token)
            .send()
            .status,
        204
    );
    assert_eq!(unread(&member.token), 0);
    assert!(items(&member.token, "?unread=true").is_empty());
    change_role(&firm, &member, "partner");
    change_role(&firm, &member, "staff");
    await_unread(&member.token, 2);
    let marked = call("POST", "/v1/notifications/read-all")
        .token(&member.token)
        .send();
    assert_eq!(marked.json()["marked"], 2);
    assert_eq!(unread(&member.token), 0);
    assert_eq!(items(&member.token, "?limit=2").len(), 2, "paged");
    // The owner, who changed nothing about themself, has nothing.
    assert_eq!(unread(&firm.token), 0);
}

#[test]
fn a_category_turned_off_sends_no_mail_but_stays_in_the_bell() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let member = join(&firm, "staff");
    let saved = prefs(
        &member.token,
        json!({"disabled": [{"category": "team", "channel": "email"}]}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(
        saved.json()["disabled"],
        json!([{"category": "team", "channel": "email"}])
    );
    let before = mailbox(&member.email).len();
    change_role(&firm, &member, "manager");
    await_unread(&member.token, 1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        mailbox(&member.email).len(),
        before,
        "no mail: {:?}",
        subjects(&member.email)
    );
    // Turning the bell off too: nothing new shows.
    prefs(
        &member.token,
        json!({"disabled": [{"category": "team", "channel": "email"},
                                             {"category": "team", "channel": "in_app"}]}),
    );
    change_role(&firm, &member, "partner");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(unread(&member.token), 1);
    // Security notices are critical: they cannot be turned off.
    let refused = prefs(
        &member.token,
        json!({"disabled": [{"category": "security", "channel": "email"}]}),
    );
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["disabled[0].category"]);
    let read = call("GET", "/v1/notifications/preferences")
        .token(&member.token)
        .send()
        .json();
    assert_eq!(read["disabled"].as_array().unwrap().len(), 2);
    assert!(read["categories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["category"] == "security" && c["critical"] == true));
}

fn clock(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[test]
fn quiet_hours_hold_mail_until_they_end() {
    let _alone = CLOCK.write();
    let firm = TestFirm::provision();
    let member = join(&firm, "staff");
    let now = unix_now() * 1_000;
    // A window around now, in UTC, ending at a minute that is not on the hour.
    let mut end = now + 90 * 60_000;
    if end.div_euclid(60_000) % 60 == 0 {
        end += 60_000;
    }
    let saved = prefs(
        &member.token,
        json!({"quiet_hours": {"start": clock(now - 30 * 60_000), "end": clock(end)},
                                            "timezone": "UTC"}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    let before = mailbox(&member.email).len();
    change_role(&firm, &member, "manager");
    await_unread(&member.token, 1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(mailbox(&member.email).len(), before, "held while quiet");
    // The minute after the window ends, the tick sends it.
    let end_minute = end.div_euclid(60_000) * 60_000;
    fire_cron_at(end_minute + 5_000);
    let mails = mailbox_with(&member.email, before + 1);
    assert_eq!(mails.len(), before + 1);
    assert!(mails.last().unwrap()["Subject"]
        .as_str()
        .unwrap()
        .contains("Your role at"));
}

#[test]
fn a_digest_gathers_mail_into_one_message_on_the_hour() {
    let _alone = CLOCK.write();
    let firm = TestFirm::provision();
    let member = join(&firm, "staff");
    assert_eq!(
        prefs(&member.token, json!({"digest": "hourly"})).status,
        200
    );
    let before = mailbox(&member.email).len();
    change_role(&firm, &member, "manager");
    change_role(&firm, &member, "partner");
    await_unread(&member.token, 2);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        mailbox(&member.email).len(),
        before,
        "waiting for the digest"
    );
    // Not yet in the middle of the hour; on the hour, one message with both.
    let now = unix_now() * 1_000;
    let next_hour = (now.div_euclid(3_600_000) + 1) * 3_600_000;
    fire_cron_at(next_hour - 30 * 60_000 + 7_000);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(mailbox(&member.email).len(), before);
    fire_cron_at(next_hour + 5_000);
    let mails = mailbox_with(&member.email, before + 1);
    assert_eq!(mails.len(), before + 1);
    let digest = mails.last().unwrap();
    assert_eq!(digest["Subject"], "2 notifications from Firmament");
    assert_eq!(
        digest["TextBody"]
            .as_str()
            .unwrap()
            .matches("Your role at")
            .count(),
        2
    );
    // The next hour has nothing to send.
    fire_cron_at(next_hour + 3_600_000 + 5_000);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(mailbox(&member.email).len(), before + 1);
}

#[test]
fn each_person_reaches_only_their_own_notifications() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    let other = TestFirm::provision();
    let member = join(&firm, "readonly");
    change_role(&firm, &member, "staff");
    await_unread(&member.token, 1);
    let id = items(&member.token, "")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Neither the firm's owner nor another firm's owner can read or mark it.
    for token in [&firm.token, &other.token] {
        assert!(items(token, "").is_empty());
        let reply = call("POST", &format!("/v1/notifications/{id}/read"))
            .token(token)
            .send();
        assert_eq!(reply.problem(404)["status"], 404);
    }
    assert_eq!(unread(&member.token), 1);
    // Without a token, nothing.
    for (method, path) in [
        ("GET", "/v1/notifications"),
        ("GET", "/v1/notifications/unread-count"),
        ("POST", "/v1/notifications/read-all"),
        ("GET", "/v1/notifications/preferences"),
    ] {
        assert_eq!(
            call(method, path).send().problem(401)["status"],
            401,
            "{path}"
        );
    }
    // Bad input names its field.
    assert_eq!(
        call("GET", "/v1/notifications?unread=maybe")
            .token(&member.token)
            .send()
            .error_fields(),
        vec!["unread"]
    );
    let bad = prefs(
        &member.token,
        json!({"timezone": "Mars/Olympus", "digest": "weekly", "digest_hour": 24,
                                         "quiet_hours": {"start": "25:00", "end": "08:00"}, "colour": 1}),
    );
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "colour",
            "digest",
            "digest_hour",
            "quiet_hours.start",
            "timezone"
        ]
    );
    assert_eq!(
        call("GET", "/v1/notifications/preferences")
            .token(&member.token)
            .send()
            .json()["digest"],
        "off",
        "nothing half-written"
    );
    let wrong_id = call(
        "POST",
        "/v1/notifications/cli_01ARZ3NDEKTSV4RRFFQ69G5FAV/read",
    )
    .token(&member.token)
    .send();
    assert!(
        wrong_id.status == 404 || wrong_id.status == 422,
        "{}",
        wrong_id.status
    );
}

#[test]
fn security_notices_and_invitations_go_through_the_pipeline_with_links_sealed() {
    let _shared = CLOCK.read();
    let firm = TestFirm::provision();
    // A security change in the firm: in the bell (critical) and by mail.
    let enrol = call("POST", "/v1/auth/mfa/totp")
        .token(&firm.token)
        .send()
        .json();
    let secret = enrol["secret"].as_str().unwrap();
    let totp = shared::auth::totp::Totp::from_bytes(
        data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap(),
    );
    let code = format!("{:06}", totp.code_at(unix_now(), 6));
    let confirmed = call("POST", "/v1/auth/mfa/totp/confirm")
        .token(&firm.token)
        .json(&json!({"code": code}))
        .send();
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    await_unread(&firm.token, 1);
    let item = &items(&firm.token, "")[0];
    assert_eq!(
        (
            item["kind"].as_str(),
            item["category"].as_str(),
            item["critical"].as_bool()
        ),
        (Some("auth.security_notice"), Some("security"), Some(true))
    );
    let mails = mailbox_with(&firm.owner_email(), 1);
    assert!(
        mails.iter().any(|m| m["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Firmament security notice")),
        "{mails:?}"
    );
    // An invitation: the mailed link works, and the firm's event log shows the
    // request without it.
    let email = format!("{}@people.test", firmament_e2e::unique("sealed"));
    let invited = call("POST", "/v1/firm/invitations")
        .token(&firm.token)
        .json(&json!({"email": email, "role": "staff"}))
        .send();
    assert_eq!(invited.status, 201);
    let token = firmament_e2e::mailed_token(&email, "accept-invitation#token=")
        .expect("the invitation arrives");
    let log = call("GET", "/v1/firm/events?limit=100")
        .token(&firm.token)
        .send();
    assert!(log.text.contains("notification.requested"), "{}", log.text);
    assert!(!log.text.contains(&token));
    // At rest, the event holds the link sealed under the firm's key.
    let stored = firmament_e2e::d1_execute(&format!(
        "SELECT payload FROM kernel_outbox WHERE firm_id = '{}' AND type = 'notification.requested'",
        firm.id()
    ));
    let payloads: Vec<&str> = stored
        .iter()
        .filter_map(|r| r["payload"].as_str())
        .collect();
    assert!(
        payloads
            .iter()
            .any(|p| p.contains("firm.invitation") && p.contains("enc:v1:")),
        "{payloads:?}"
    );
    assert!(
        payloads.iter().all(|p| !p.contains(&token)),
        "the link is sealed in the event"
    );
}
