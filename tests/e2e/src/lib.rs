//! Helpers for the end-to-end tests. The system under test is the real one: every
//! worker on local workerd (wrangler dev) with a fresh local D1, started by
//! `tests/run-e2e`, which passes its address in `FIRMAMENT_URL`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant as StdInstant};

pub mod contract;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

/// Base URL of the running system.
pub fn base() -> String {
    std::env::var("FIRMAMENT_URL").unwrap_or_else(|_| {
        panic!("FIRMAMENT_URL is not set: run the end-to-end tests with tests/run-e2e")
    })
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub text: String,
    /// Body bytes (a download's content).
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (`set-cookie` comes several times).
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value a `Set-Cookie` of this answer gives cookie `name`, with its attributes.
    pub fn set_cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers_all("set-cookie").into_iter().find_map(|c| {
            let (pair, attributes) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| (v.to_owned(), attributes.to_owned()))
        })
    }

    /// Asserts this is a problem+json with `status`, and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:firmament:problem:")),
            "{body}"
        );
        assert!(self.header("x-request-id").is_some());
        body
    }

    /// The fields named in a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request being built.
pub struct Call {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// Starts a request.
pub fn call(method: &'static str, path: &str) -> Call {
    Call {
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        body: None,
    }
}

impl Call {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds `Authorization: Bearer`.
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A JSON body.
    pub fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string().into_bytes())
    }

    /// A body with any content type.
    pub fn raw(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .push(("content-type".to_owned(), content_type.to_owned()));
        self.body = Some(body);
        self
    }

    /// Sends it and returns the answer, whatever its status.
    pub fn send(self) -> Reply {
        // Redirects are answers to check, never followed.
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .redirects(0)
            .build();
        let url = if self.path.starts_with("http") {
            self.path.clone()
        } else {
            format!("{}{}", base(), self.path)
        };
        let mut req = agent.request(self.method, &url);
        // Each call comes from its own client address unless the test names one
        // (rate limits count per address).
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("cf-connecting-ip"))
        {
            req = req.set("cf-connecting-ip", &unique_ip());
        }
        for (k, v) in &self.headers {
            req = req.set(k, v);
        }
        let result = match self.body {
            Some(body) => req.send_bytes(&body),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{} {} failed: {e}", self.method, self.path),
        };
        let status = resp.status();
        let mut names = resp.headers_names();
        names.sort();
        names.dedup();
        let headers = names
            .into_iter()
            .flat_map(|n| {
                resp.all(&n)
                    .into_iter()
                    .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let reply = Reply {
            status,
            headers,
            text,
            bytes,
        };
        contract::check(self.method, &self.path, &reply);
        reply
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{}", std::process::id(), nanos % 100_000)
}

static IP: AtomicU32 = AtomicU32::new(1);

/// Waits, when needed, until the platform rate limiter's current window (60 s,
/// aligned to the wall clock) has at least `needed` left, so a burst a test
/// counts never straddles two windows (the 11th sign-in of a burst that crossed
/// a minute was let through).
pub fn within_one_rate_window(needed: std::time::Duration) {
    let window = 60_000_u128;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let left = window - now % window;
    if left < needed.as_millis() {
        std::thread::sleep(std::time::Duration::from_millis(
            u64::try_from(left + 50).unwrap_or(1_000),
        ));
    }
}

/// A client address no other test uses (rate limits count per address). The process
/// id is part of it: test binaries run one after another inside one rate-limit
/// window, so an address flooded by one binary must never come up in the next.
pub fn unique_ip() -> String {
    let n = IP.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!("2001:db8:{:x}:{:x}::{:x}", pid >> 16, pid & 0xffff, n)
}

/// The password every test firm's owner has.
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

/// A firm provisioned through the API, with its owner signed in.
pub struct TestFirm {
    /// The firm as returned.
    pub firm: Value,
    /// The owner's user record.
    pub owner: Value,
    /// The owner's access token.
    pub token: String,
}

impl TestFirm {
    /// The body of a valid provisioning request for `slug`.
    pub fn request(slug: &str) -> Value {
        json!({"name": format!("Firm {slug}"), "slug": slug, "timezone": "Europe/Paris", "currency": "EUR",
               "owner": {"email": format!("owner@{slug}.test"), "password": OWNER_PASSWORD, "name": "Owner"}})
    }

    /// Provisions a new firm and signs its owner in.
    pub fn provision() -> Self {
        Self::provision_as(&unique("firm"))
    }

    /// Provisions a new firm with `slug` (tests that must know it beforehand).
    pub fn provision_as(slug: &str) -> Self {
        let slug = slug.to_owned();
        let reply = call("POST", "/v1/firms").json(&Self::request(&slug)).send();
        assert_eq!(reply.status, 201, "{}", reply.text);
        let body = reply.json();
        Self {
            firm: body["firm"].clone(),
            owner: body["owner"].clone(),
            token: body["access_token"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// The owner's e-mail address.
    pub fn owner_email(&self) -> String {
        self.owner["email"].as_str().unwrap_or_default().to_owned()
    }

    /// Signs the owner in from `ip` with `password`; returns the raw answer.
    pub fn sign_in(&self, password: &str, ip: &str) -> Reply {
        call("POST", "/v1/auth/sign-in")
            .header("cf-connecting-ip", ip)
            .json(&json!({"email": self.owner_email(), "password": password}))
            .send()
    }

    /// The firm's id.
    pub fn id(&self) -> &str {
        self.firm["id"].as_str().unwrap_or_default()
    }

    /// A token for a member of this firm with `role` and no extra flags.
    pub fn token_as(&self, role: &str) -> String {
        self.token_with(|c| {
            c["role"] = json!(role);
            c["flags"] = json!([]);
        })
    }

    /// A token for this firm signed with the deployment's key, with claims changed by `edit`.
    pub fn token_with(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = decode_claims(&self.token);
        edit(&mut claims);
        sign(&claims, &header_kid(&self.token))
    }
}

/// The payload of a compact JWT.
pub fn decode_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap_or_default())
        .unwrap_or(Value::Null)
}

fn header_kid(token: &str) -> String {
    let header = token.split('.').next().unwrap_or_default();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap_or_default())
        .unwrap_or(Value::Null);
    header["kid"].as_str().unwrap_or_default().to_owned()
}

/// Signs arbitrary claims as EdDSA with the local deployment's key (from
/// `FIRMAMENT_SIGNING_KEY`, set by the harness), to make tokens the API never issues
/// (other roles, expired ones) but that carry a valid signature.
pub fn sign(claims: &Value, kid: &str) -> String {
    let spec = std::env::var("FIRMAMENT_SIGNING_KEY")
        .unwrap_or_else(|_| panic!("FIRMAMENT_SIGNING_KEY is not set"));
    let seed = spec.split_once(':').map(|(_, s)| s).unwrap_or_default();
    let seed = ed25519_compact::Seed::from_slice(&URL_SAFE_NO_PAD.decode(seed).unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad key: {e}"));
    let pair = ed25519_compact::KeyPair::from_seed(seed);
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let signature = pair.sk.sign(input.as_bytes(), None);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = StdInstant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Fires the cron triggers the way the platform would, now.
pub fn fire_cron() {
    fire_cron_at(unix_now() * 1_000);
}

/// Fires the cron as if it were `ahead_secs` later: the test clock of the sweeps,
/// which take the scheduled time as their now.
pub fn fire_cron_ahead(ahead_secs: i64) {
    fire_cron_at((unix_now() + ahead_secs) * 1_000);
}

/// Fires the cron as if it were `time_ms` (Unix ms), through miniflare's local
/// trigger endpoint (wrangler's `/__scheduled` drops the time). A day's first
/// minute plays the daily work.
pub fn fire_cron_at(time_ms: i64) {
    let reply = call(
        "GET",
        &format!("/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time={time_ms}"),
    )
    .send();
    assert_eq!(reply.status, 200, "scheduled endpoint: {}", reply.text);
}

fn subscriber_url(path: &str) -> String {
    let base = std::env::var("FIRMAMENT_SUBSCRIBER_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_SUBSCRIBER_URL is not set"));
    format!("{base}{path}")
}

/// Makes the probe module answer `status` to its next `count` hand-overs whose event
/// contains `matching` (a firm's slug, a client's name).
pub fn probe_fails(matching: &str, count: u32, status: u16) {
    let body = json!({"match": matching, "count": count, "status": status}).to_string();
    let _ = ureq::post(&subscriber_url("/_sim/fail"))
        .set("content-type", "application/json")
        .send_string(&body);
}

/// Every hand-over of `firm_id`'s events to the probe module, oldest first.
pub fn probe_deliveries(firm_id: &str) -> Vec<Value> {
    let text = ureq::get(&subscriber_url(&format!("/_sim/deliveries?firm={firm_id}")))
        .call()
        .map(|r| r.into_string().unwrap_or_default())
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// Messages the mail simulator accepted for `to`, oldest first.
pub fn mailbox(to: &str) -> Vec<Value> {
    let base = std::env::var("FIRMAMENT_MAIL_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_MAIL_URL is not set"));
    let url = format!("{base}/_sim/messages?to={to}");
    let text = ureq::get(&url)
        .call()
        .map(|r| r.into_string().unwrap_or_default())
        .unwrap_or_default();
    serde_json::from_str::<Vec<Value>>(&text).unwrap_or_default()
}

/// Makes the mail simulator fail its next `count` sends to `to` (HTTP 500).
pub fn fail_next_mail(to: &str, count: u32) {
    let base = std::env::var("FIRMAMENT_MAIL_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_MAIL_URL is not set"));
    let to = to.replace('+', "%2B");
    let _ = ureq::post(&format!("{base}/_sim/fail?count={count}&to={to}")).call();
}

/// The token in the newest mail to `to` whose link contains `marker`
/// (`reset-password#token=`), waiting up to 15 s for it: mail that the
/// notifications module sends arrives a moment after the request that caused it.
pub fn mailed_token(to: &str, marker: &str) -> Option<String> {
    eventually(Duration::from_secs(15), || {
        mailbox(to).iter().rev().find_map(|m| {
            let body = m["TextBody"].as_str()?;
            let start = body.find(marker)? + marker.len();
            Some(body[start..].split_whitespace().next()?.to_owned())
        })
    })
}

/// The mailbox of `to` once it holds at least `count` messages (waiting up to 15 s).
pub fn mailbox_with(to: &str, count: usize) -> Vec<Value> {
    eventually(Duration::from_secs(15), || {
        let messages = mailbox(to);
        (messages.len() >= count).then_some(messages)
    })
    .unwrap_or_else(|| mailbox(to))
}

/// A member of `firm` with `role` who joined through an invitation: their
/// address, user id and access token.
pub struct Member {
    /// Their e-mail address.
    pub email: String,
    /// `usr_…`.
    pub user_id: String,
    /// An access token in `firm`.
    pub token: String,
}

/// The password members made by [`join`] choose.
pub const MEMBER_PASSWORD: &str = "invited person pass phrase";

/// Invites a new person to `firm` as `role`, accepts the mailed invitation with a
/// new account, and signs them in.
pub fn join(firm: &TestFirm, role: &str) -> Member {
    let email = format!("{}@people.test", unique("person"));
    let invited = call("POST", "/v1/firm/invitations")
        .token(&firm.token)
        .json(&json!({"email": email, "role": role}))
        .send();
    assert_eq!(invited.status, 201, "{}", invited.text);
    let token = mailed_token(&email, "accept-invitation#token=").expect("the invitation arrives");
    let joined = call("POST", "/v1/firm/invitations/accept")
        .json(&json!({"token": token, "name": "New Person", "password": MEMBER_PASSWORD}))
        .send();
    assert_eq!(joined.status, 201, "{}", joined.text);
    let session = call("POST", "/v1/auth/sign-in")
        .header("cf-connecting-ip", &unique_ip())
        .json(&json!({"email": email, "password": MEMBER_PASSWORD}))
        .send()
        .json();
    Member {
        user_id: joined.json()["user_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        token: session["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        email,
    }
}

/// Tells the OpenID Connect simulator whether the provider verified `email`.
pub fn oidc_user(email: &str, email_verified: bool) {
    let base = std::env::var("FIRMAMENT_OIDC_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_OIDC_URL is not set"));
    let body = json!({"email": email, "email_verified": email_verified}).to_string();
    let _ = ureq::post(&format!("{base}/_sim/users"))
        .set("content-type", "application/json")
        .send_string(&body);
}

/// Makes the simulator's `provider` sign with a new key.
pub fn oidc_rotate(provider: &str) {
    let base = std::env::var("FIRMAMENT_OIDC_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_OIDC_URL is not set"));
    let _ = ureq::post(&format!("{base}/{provider}/_sim/rotate")).call();
}

/// The newest six-digit code texted to `phone` (from the Twilio simulator).
pub fn texted_code(phone: &str) -> Option<String> {
    let base = std::env::var("FIRMAMENT_SMS_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_SMS_URL is not set"));
    let url = format!("{base}/_sim/messages?to={}", phone.replace('+', "%2B"));
    let text = ureq::get(&url).call().ok()?.into_string().ok()?;
    let messages: Vec<Value> = serde_json::from_str(&text).ok()?;
    let body = messages.last()?["body"].as_str()?.to_owned();
    body.split_whitespace()
        .find(|w| {
            w.trim_end_matches('.').len() == 6
                && w.trim_end_matches('.').bytes().all(|b| b.is_ascii_digit())
        })
        .map(|w| w.trim_end_matches('.').to_owned())
}

/// A route's path template with a well-formed sample for each parameter (ids that
/// exist nowhere), so a test can call every route in the table.
pub fn sample_path(template: &str) -> String {
    let mut path = template
        .replace("{provider}", "google")
        .replace("{slug}", "no-such-firm")
        .replace("{flag_key}", "no-such-flag")
        .replace("{part_number}", "1");
    for (name, prefix) in shared::api::PATH_IDS {
        path = path.replace(
            &format!("{{{name}}}"),
            &format!("{prefix}_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        );
    }
    path
}

/// Scripts the probe module's answers to its next job hand-overs whose body
/// contains `matching`: each `{"status", "delay_ms", "retry_after"}` in turn.
pub fn probe_job_plan(matching: &str, answers: Value) {
    let body = json!({"match": matching, "answers": answers}).to_string();
    let _ = ureq::post(&subscriber_url("/_sim/job-plan"))
        .set("content-type", "application/json")
        .send_string(&body);
}

/// Every job hand-over to the probe module for `firm_id`, oldest first.
pub fn probe_jobs(firm_id: &str) -> Vec<Value> {
    let text = ureq::get(&subscriber_url(&format!("/_sim/jobs?firm={firm_id}")))
        .call()
        .map(|r| r.into_string().unwrap_or_default())
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// The webhook receiver simulator (tests/sims/webhook_receiver.py): `path` on it.
pub fn receiver_url(path: &str) -> String {
    let base = std::env::var("FIRMAMENT_RECEIVER_URL")
        .unwrap_or_else(|_| panic!("FIRMAMENT_RECEIVER_URL is not set"));
    format!("{base}{path}")
}

/// Scripts the receiver's hook `name`: the secrets it verifies with, the answers
/// of its next deliveries in order (`{"status", "retry_after", "location",
/// "delay_ms"}`), then `default` for the rest.
pub fn receiver_script(name: &str, secrets: &[&str], plan: Value, default: Value) {
    let body = json!({"secrets": secrets, "plan": plan, "default": default}).to_string();
    let reply = ureq::post(&receiver_url(&format!("/_sim/endpoints/{name}")))
        .set("content-type", "application/json")
        .send_string(&body);
    assert!(reply.is_ok(), "the receiver simulator refused a script");
}

/// Every delivery the receiver's hook `name` got, oldest first, each with the
/// indices of the scripted secrets that verified it (by the reference library).
pub fn receiver_deliveries(name: &str) -> Vec<Value> {
    let text = ureq::get(&receiver_url(&format!("/_sim/deliveries/{name}")))
        .call()
        .map(|r| r.into_string().unwrap_or_default())
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// Makes the simulator's DNS-over-HTTPS answer `name` (type A) with `addresses`.
pub fn receiver_dns(name: &str, addresses: &[&str]) {
    let body = json!({"name": name, "type": "A", "data": addresses}).to_string();
    let reply = ureq::post(&receiver_url("/_sim/dns"))
        .set("content-type", "application/json")
        .send_string(&body);
    assert!(reply.is_ok(), "the DNS simulator refused a record");
}

/// Runs `sql` on the local D1 database of the running workers, as an operator with
/// a shell on the database would (`wrangler d1 execute`); returns the rows.
pub fn d1_execute(sql: &str) -> Vec<Value> {
    let state = std::env::var("FIRMAMENT_STATE").expect("FIRMAMENT_STATE (set by tests/run-e2e)");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = std::process::Command::new("wrangler")
        .args([
            "d1",
            "execute",
            "DB",
            "--local",
            "--json",
            "--persist-to",
            &state,
        ])
        .args(["-c", &format!("{root}/wrangler.toml"), "--command", sql])
        .current_dir(root)
        .output()
        .expect("wrangler d1 execute");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    answer[0]["results"].as_array().cloned().unwrap_or_default()
}

/// The bytes R2 holds under `key` in the running workers' local bucket, as an
/// operator with access to the bucket would read them (`wrangler r2 object get`).
pub fn r2_get(key: &str) -> Vec<u8> {
    let state = std::env::var("FIRMAMENT_STATE").expect("FIRMAMENT_STATE (set by tests/run-e2e)");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = format!("{state}/r2-{}.bin", unique("object"));
    let status = std::process::Command::new("wrangler")
        .args(["r2", "object", "get", &format!("firmament-files/{key}")])
        .args(["--local", "--persist-to", &state, "--file", &out])
        .args(["-c", &format!("{root}/wrangler.toml")])
        .current_dir(root)
        .output()
        .expect("wrangler r2 object get");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    bytes
}

/// The workers' log lines so far that are our structured JSON lines.
pub fn log_lines() -> Vec<Value> {
    let path = std::env::var("FIRMAMENT_LOG").expect("FIRMAMENT_LOG (set by tests/run-e2e)");
    let text = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|line| {
            let start = line.find('{')?;
            serde_json::from_str::<Value>(line.get(start..)?).ok()
        })
        .filter(|v| v.get("severity_number").is_some())
        .collect()
}

/// The whole of the workers' log so far, as text.
pub fn log_text() -> String {
    let path = std::env::var("FIRMAMENT_LOG").expect("FIRMAMENT_LOG (set by tests/run-e2e)");
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// Writes `value` under `key` in the running workers' local KV namespace, as an
/// operator with wrangler would (`wrangler kv key put --local`).
pub fn kv_put(key: &str, value: &str) {
    let state = std::env::var("FIRMAMENT_STATE").expect("FIRMAMENT_STATE (set by tests/run-e2e)");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = std::process::Command::new("wrangler")
        .args([
            "kv",
            "key",
            "put",
            key,
            value,
            "--binding",
            "KV",
            "--local",
            "--persist-to",
            &state,
        ])
        .args(["-c", &format!("{root}/wrangler.toml")])
        .current_dir(root)
        .output()
        .expect("wrangler kv key put");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
