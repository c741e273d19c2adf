//! Changing a firm's settings with optimistic concurrency.

use firmament_e2e::{call, TestFirm};
use serde_json::json;

#[test]
fn a_change_with_the_current_etag_applies_and_moves_the_etag() {
    let firm = TestFirm::provision();
    let current = call("GET", "/v1/firm").token(&firm.token).send();
    let etag = current.header("etag").unwrap().to_owned();
    let reply = call("PATCH", "/v1/firm")
        .token(&firm.token)
        .header("if-match", &etag)
        .json(&json!({"name": "Renamed LLP", "timezone": "Asia/Tokyo", "currency": "jpy", "fiscal_year_start_month": 4}))
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["name"], "Renamed LLP");
    assert_eq!(body["timezone"], "Asia/Tokyo");
    assert_eq!(body["currency"], "JPY");
    assert_eq!(body["fiscal_year_start_month"], 4);
    assert_ne!(reply.header("etag").unwrap(), etag);
    assert_eq!(body["etag"], reply.header("etag").unwrap());
}

#[test]
fn a_stale_etag_is_412_and_changes_nothing() {
    let firm = TestFirm::provision();
    let etag = call("GET", "/v1/firm")
        .token(&firm.token)
        .send()
        .header("etag")
        .unwrap()
        .to_owned();
    assert_eq!(
        call("PATCH", "/v1/firm")
            .token(&firm.token)
            .header("if-match", &etag)
            .json(&json!({"name": "First"}))
            .send()
            .status,
        200
    );
    let stale = call("PATCH", "/v1/firm")
        .token(&firm.token)
        .header("if-match", &etag)
        .json(&json!({"name": "Second"}))
        .send();
    stale.problem(412);
    assert_eq!(
        call("GET", "/v1/firm").token(&firm.token).send().json()["name"],
        "First"
    );
    call("PATCH", "/v1/firm")
        .token(&firm.token)
        .header("if-match", "not-an-etag")
        .json(&json!({"name": "X"}))
        .send()
        .problem(422);
}

#[test]
fn bad_settings_name_their_field() {
    let firm = TestFirm::provision();
    let cases = [
        (json!({"timezone": "Atlantis/Capital"}), "timezone"),
        (json!({"currency": "DOGE"}), "currency"),
        (json!({"name": ""}), "name"),
        (json!({"slug": "new-slug"}), "slug"),
        (
            json!({"fiscal_year_start_month": 0}),
            "fiscal_year_start_month",
        ),
        (
            json!({"fiscal_year_start_month": "april"}),
            "fiscal_year_start_month",
        ),
        (json!({"locale": "english please"}), "locale"),
        (json!({}), "body"),
    ];
    for (body, field) in cases {
        let reply = call("PATCH", "/v1/firm")
            .token(&firm.token)
            .json(&body)
            .send();
        reply.problem(422);
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    assert_eq!(
        call("GET", "/v1/firm").token(&firm.token).send().json()["version"],
        1,
        "nothing was written"
    );
}

#[test]
fn a_brand_colour_must_carry_white_text_and_reaches_the_branding() {
    let firm = TestFirm::provision();
    let too_light = call("PATCH", "/v1/firm")
        .token(&firm.token)
        .json(&json!({"brand_color": "#ffcc00"}))
        .send();
    let problem = too_light.problem(422);
    assert_eq!(too_light.error_fields(), ["brand_color"]);
    assert!(problem.to_string().contains("4.5:1"), "{problem}");
    call("PATCH", "/v1/firm")
        .token(&firm.token)
        .json(&json!({"brand_color": "teal"}))
        .send()
        .problem(422);
    let set = call("PATCH", "/v1/firm")
        .token(&firm.token)
        .json(&json!({"brand_color": "#0F766E"}))
        .send();
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json()["brand_color"], "#0f766e");
    let branding = call("GET", "/v1/firm/branding").token(&firm.token).send();
    assert_eq!(branding.json()["brand_color"], "#0f766e");
    // Another firm keeps Firmament's colour; null returns to it.
    let other = TestFirm::provision();
    let theirs = call("GET", "/v1/firm/branding").token(&other.token).send();
    assert_eq!(theirs.json()["brand_color"], json!(null));
    let cleared = call("PATCH", "/v1/firm")
        .token(&firm.token)
        .json(&json!({"brand_color": null}))
        .send();
    assert_eq!(cleared.json()["brand_color"], json!(null));
    // A read-only member may not change it.
    let readonly = firm.token_as("readonly");
    call("PATCH", "/v1/firm")
        .token(&readonly)
        .json(&json!({"brand_color": "#0f766e"}))
        .send()
        .problem(403);
}
