//! No input makes a worker fail: a burst of malformed and oversized requests gets
//! 4xx answers only, and the isolate keeps serving good requests afterwards.

use firmament_e2e::{call, TestFirm};
use serde_json::json;

#[test]
fn a_burst_of_bad_requests_gets_only_4xx_and_the_next_good_one_succeeds() {
    let firm = TestFirm::provision();
    let long_token = "a".repeat(10_000);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<firmament_e2e::Call> = vec![
        call("POST", "/v1/firms").raw("application/json", vec![0xff, 0xfe, 0x00, 0x7b]),
        call("POST", "/v1/firms").raw("application/json", deep.clone().into_bytes()),
        call("POST", "/v1/firms").raw("application/json", b"null".to_vec()),
        call("POST", "/v1/firms").raw("application/json", b"1e999999".to_vec()),
        call("POST", "/v1/firms").json(&json!({"name": {"nested": true}, "slug": 42, "owner": "me"})),
        call("POST", "/v1/firms").json(&json!({"name": "\u{0000}", "slug": "a\u{00e9}b", "owner": {"email": "@", "password": "\u{1F600}".repeat(300), "name": "x"}})),
        call("POST", "/v1/firms").raw("application/json", vec![b' '; 2 * 1024 * 1024]),
        call("PATCH", "/v1/firm").token(&firm.token).raw("application/json", deep.into_bytes()),
        call("PATCH", "/v1/firm").token(&firm.token).json(&json!({"fiscal_year_start_month": 9.5e300})),
        call("PATCH", "/v1/firm").token(&firm.token).header("if-match", "\"99999999999999999999999\"").json(&json!({"name": "x"})),
        call("GET", "/v1/firm").token(&long_token),
        call("GET", "/v1/firm").header("authorization", "Bearer %%%.###.$$$"),
        call("GET", "/v1/firm").header("authorization", "Bearer e30.e30.e30"),
        call("GET", "/v1/firm/events?limit=-1&cursor=AAAA").token(&firm.token),
        call("GET", "/v1/firm/events?limit=99999999999999999999").token(&firm.token),
        call("POST", "/v1/firm/events/evt_%F0%9F%98%80/redeliver").token(&firm.token),
    ];
    for case in cases {
        let reply = case.send();
        assert!(
            (400..500).contains(&reply.status),
            "got {}: {}",
            reply.status,
            reply.text
        );
        assert!(reply.header("x-request-id").is_some());
    }
    // Encoded dot segments resolve out of /v1 (to /etc/passwd): that is a console
    // path, so the app's page answers — never a file of the machine, never a 5xx.
    let traversal = call("GET", "/v1/%2e%2e/%2e%2e/etc/passwd").send();
    assert!(traversal.status < 500, "{}", traversal.status);
    assert!(!traversal.text.contains("root:"), "{}", traversal.text);
    let good = call("GET", "/v1/firm").token(&firm.token).send();
    assert_eq!(good.status, 200, "{}", good.text);
    assert_eq!(call("GET", "/v1/health").send().status, 200);
}
