//! Files: uploads into R2 (one request, or parts that survive a dropped
//! connection), checked against their declaration before a byte is stored, the
//! firm's quota reserved first, every object scanned (the EICAR file quarantined,
//! a busy scanner retried on its schedule), downloads only through signed links,
//! and the first users — the firm's logo and people's avatars.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use firmament_e2e::{
    base, call, d1_execute, eventually, fire_cron_at, join, log_lines, r2_get, unique_ip, unix_now,
    Reply, TestFirm,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;
const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `n` bytes that differ per call (a counter-seeded xorshift), after `head`.
fn content(head: &[u8], n: usize) -> Vec<u8> {
    let mut state = (unix_now() as u64) ^ (n as u64).rotate_left(17) ^ u64::from(rand_seed());
    let mut out = head.to_vec();
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}

fn rand_seed() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEED: AtomicU32 = AtomicU32::new(1);
    SEED.fetch_add(7919, Ordering::Relaxed)
}

fn pdf(n: usize) -> Vec<u8> {
    content(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", n)
}

fn png(n: usize) -> Vec<u8> {
    content(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", n)
}

fn declare(token: &str, body: Value) -> Reply {
    call("POST", "/v1/files").token(token).json(&body).send()
}

fn declared(token: &str, body: Value) -> Value {
    let reply = declare(token, body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn put_content(token: &str, file: &str, media: &str, bytes: Vec<u8>) -> Reply {
    call("PUT", &format!("/v1/files/{file}/content"))
        .token(token)
        .raw(media, bytes)
        .send()
}

/// Declares and sends a single upload; answers the stored file.
fn upload(token: &str, name: &str, media: &str, usage: &str, bytes: Vec<u8>) -> Value {
    let file = declared(
        token,
        json!({"name": name, "media_type": media, "size": bytes.len(), "usage": usage}),
    );
    let reply = put_content(token, &id(&file), media, bytes);
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn file(token: &str, file: &str) -> Value {
    let reply = call("GET", &format!("/v1/files/{file}"))
        .token(token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

/// Waits until the scan of `file` reaches `status`.
fn scanned(token: &str, file_id: &str, status: &str) -> Value {
    eventually(Duration::from_secs(20), || {
        let f = file(token, file_id);
        (f["scan_status"] == status).then_some(f)
    })
    .unwrap_or_else(|| panic!("{file_id} never reached scan status {status}"))
}

fn link(token: &str, file_id: &str) -> Reply {
    call("POST", &format!("/v1/files/{file_id}/links"))
        .token(token)
        .send()
}

/// The path and query of a signed URL (the tests reach the gateway by `base()`).
fn path_of(url: &str) -> String {
    url.split_once("/v1/")
        .map(|(_, rest)| format!("/v1/{rest}"))
        .unwrap()
}

fn download(url: &str, range: Option<&str>) -> Reply {
    let mut c = call("GET", &path_of(url));
    if let Some(r) = range {
        c = c.header("range", r);
    }
    c.send()
}

fn scan_row(file_id: &str) -> Value {
    d1_execute(&format!(
        "SELECT scan_status, scan_attempts, scan_next_at, r2_key FROM files_objects WHERE id = '{file_id}'"
    ))
    .into_iter()
    .next()
    .unwrap()
}

fn scanner(path: &str) -> ureq::Response {
    let base = std::env::var("FIRMAMENT_SCANNER_URL").expect("FIRMAMENT_SCANNER_URL");
    ureq::post(&format!("{base}{path}")).call().unwrap()
}

#[test]
fn a_single_upload_is_stored_hashed_scanned_and_served_through_signed_links() {
    let firm = TestFirm::provision();
    let bytes = pdf(300_000);
    let stored = upload(
        &firm.token,
        "Q3 report.pdf",
        "application/pdf",
        "document",
        bytes.clone(),
    );
    assert_eq!(stored["status"], "stored");
    assert_eq!(stored["sha256"], sha256(&bytes));
    assert_eq!(stored["size"], bytes.len());
    let file_id = id(&stored);
    scanned(&firm.token, &file_id, "clean");

    let issued = link(&firm.token, &file_id);
    assert_eq!(issued.status, 201, "{}", issued.text);
    let issued = issued.json();
    assert!(
        issued.get("warning").is_none(),
        "a clean file needs no warning"
    );
    // A confidential document's link lives 15 minutes.
    let lifetime = issued["expires_at"].as_i64().unwrap() - unix_now() * 1000;
    assert!(
        (14 * 60_000..=15 * 60_000 + 2_000).contains(&lifetime),
        "{lifetime}"
    );
    let url = issued["url"].as_str().unwrap();

    let whole = download(url, None);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.bytes, bytes);
    assert_eq!(whole.header("content-type"), Some("application/pdf"));
    assert!(whole
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(whole.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));

    // One range, from the middle and from the end; past the end is a 416.
    let part = download(url, Some("bytes=100-199"));
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes, bytes[100..200]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", bytes.len()).as_str())
    );
    let tail = download(url, Some("bytes=-10"));
    assert_eq!(tail.status, 206);
    assert_eq!(tail.bytes, bytes[bytes.len() - 10..]);
    let past = download(url, Some(&format!("bytes={}-", bytes.len())));
    past.problem(416);
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{}", bytes.len()).as_str())
    );

    // A changed character, or the token on another file, is refused alike.
    let tampered = url.replacen("token=", "token=x", 1);
    download(&tampered, None).problem(410);
    let other = upload(
        &firm.token,
        "other.pdf",
        "application/pdf",
        "document",
        pdf(1000),
    );
    let token = url.split("token=").nth(1).unwrap();
    download(
        &format!("/v1/files/{}/download?token={token}", id(&other)),
        None,
    )
    .problem(410);
    call("GET", &format!("/v1/files/{file_id}/download"))
        .send()
        .problem(422);

    // Every link issued and every fetch is in the access log.
    let log = d1_execute(&format!(
        "SELECT action, actor_id FROM files_access_log WHERE file_id = '{file_id}' ORDER BY at"
    ));
    // (The scanner's own fetch is a download too, logged under its name.)
    let actions: Vec<&str> = log
        .iter()
        .filter(|r| r["actor_id"] != "scanner")
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(log
        .iter()
        .any(|r| r["action"] == "download" && r["actor_id"] == "scanner"));
    assert_eq!(actions.iter().filter(|a| **a == "upload").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "url_issued").count(), 1);
    assert_eq!(
        actions.iter().filter(|a| **a == "download").count(),
        3,
        "{actions:?}"
    );
    assert!(log.iter().any(|r| r["action"] == "scan_completed"));
}

/// The deployment's `SECRETS_KEYS`, as the files worker of this run has it.
fn root_keys() -> String {
    let state = std::env::var("FIRMAMENT_STATE").unwrap();
    let vars = std::fs::read_to_string(format!("{state}/config/files/.dev.vars")).unwrap();
    vars.lines()
        .find_map(|l| l.strip_prefix("SECRETS_KEYS="))
        .unwrap()
        .to_owned()
}

/// A link signed with the deployment's link key the way the files worker signs
/// one, expiring at `expires_at` (Unix ms).
fn forged_token(file_id: &str, firm_id: &str, actor: &str, expires_at: i64) -> String {
    let spec = root_keys();
    let root = spec.split(',').next().unwrap().split_once(':').unwrap().1;
    let root = URL_SAFE_NO_PAD.decode(root.trim_end_matches('=')).unwrap();
    let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&root).unwrap();
    derive.update(b"files/download-links/v1");
    derive.update(&[1]);
    let key = derive.finalize().into_bytes();
    let payload = format!("{file_id}|{firm_id}|{actor}|{expires_at}");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(payload.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn an_expired_link_is_refused_though_its_signature_is_right() {
    let firm = TestFirm::provision();
    let stored = upload(
        &firm.token,
        "a.pdf",
        "application/pdf",
        "document",
        pdf(2000),
    );
    let file_id = id(&stored);
    let owner = firm.owner["id"].as_str().unwrap();
    scanned(&firm.token, &file_id, "clean");
    let now = unix_now() * 1000;
    let expired = forged_token(&file_id, firm.id(), owner, now - 1000);
    download(
        &format!("/v1/files/{file_id}/download?token={expired}"),
        None,
    )
    .problem(410);
    // The same construction a minute ahead is served: the refusal was the time.
    let live = forged_token(&file_id, firm.id(), owner, now + 60_000);
    assert_eq!(
        download(&format!("/v1/files/{file_id}/download?token={live}"), None).status,
        200
    );
}

#[test]
fn declared_type_bytes_and_extension_must_agree() {
    let firm = TestFirm::provision();
    // Before any byte: the extension names another type, a program's name, a size
    // over the use's limit, an unknown use.
    for (body, field, rule) in [
        (
            json!({"name": "a.pdf", "media_type": "image/png", "size": 10, "usage": "document"}),
            "media_type",
            "mismatch",
        ),
        (
            json!({"name": "setup.exe", "media_type": "application/pdf", "size": 10, "usage": "document"}),
            "name",
            "executable",
        ),
        (
            json!({"name": "logo.png", "media_type": "image/png", "size": 3 * MIB, "usage": "logo"}),
            "size",
            "range",
        ),
        (
            json!({"name": "a.pdf", "media_type": "application/pdf", "size": 10, "usage": "poster"}),
            "usage",
            "enum",
        ),
        (
            json!({"name": "a.pdf", "media_type": "application/pdf", "size": 200 * MIB, "usage": "document"}),
            "part_size",
            "required",
        ),
        (
            json!({"name": "a.pdf", "media_type": "application/pdf", "size": 20 * MIB, "usage": "document", "part_size": MIB}),
            "part_size",
            "range",
        ),
        (
            json!({"name": "a.pdf", "media_type": "application/pdf", "size": 10, "usage": "document", "sha256": "abc"}),
            "sha256",
            "format",
        ),
        (
            json!({"name": "a.pdf", "media_type": "application/pdf", "size": 20 * MIB, "usage": "document", "part_size": 5 * MIB + 1}),
            "part_size",
            "multiple",
        ),
        (
            json!({"name": "../x.pdf", "media_type": "application/pdf", "size": 10, "usage": "document"}),
            "name",
            "format",
        ),
    ] {
        let reply = declare(&firm.token, body.clone());
        let problem = reply.problem(422);
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{body}: {}",
            reply.text
        );
        assert_eq!(problem["errors"][0]["rule"], rule, "{body}: {}", reply.text);
    }
    call("POST", "/v1/files")
        .token(&firm.token)
        .raw("application/json", b"[1]".to_vec())
        .send()
        .problem(422);

    // The bytes: a PDF sent as a declared PNG logo is a 415, nothing stored.
    let logo = declared(
        &firm.token,
        json!({"name": "logo.png", "media_type": "image/png", "size": 5000, "usage": "logo"}),
    );
    put_content(&firm.token, &id(&logo), "image/png", pdf(5000)).problem(415);
    // The body's type must be the declared one (or octets).
    put_content(&firm.token, &id(&logo), "image/jpeg", png(5000)).problem(415);
    assert_eq!(file(&firm.token, &id(&logo))["status"], "uploading");
    // A program inside a text file is refused by its bytes.
    let notes = declared(
        &firm.token,
        json!({"name": "notes.txt", "media_type": "text/plain", "size": 4, "usage": "document"}),
    );
    let reply = put_content(&firm.token, &id(&notes), "text/plain", b"MZ\x90\0".to_vec());
    assert_eq!(reply.problem(422)["errors"][0]["rule"], "executable");
    // The length must be the declared size.
    let reply = put_content(&firm.token, &id(&logo), "image/png", png(4000));
    assert_eq!(reply.problem(422)["errors"][0]["field"], "content-length");
    // The gateway streams file bodies: it wants their length, and refuses one over
    // 95 MiB before reading a byte of it. (The client here never sends those bytes,
    // so the local dev proxy, failing to drain them, answers its own 500 on the
    // gateway's behalf: the gateway's line says what it answered.)
    let path = format!("/v1/files/{}/content", id(&logo));
    raw_put(&firm.token, &path, Some(96 * MIB), &[]);
    let refused = eventually(Duration::from_secs(10), || {
        log_lines()
            .iter()
            .any(|l| {
                l["firm.id"] == firm.id()
                    && l["http.route"] == "/v1/files/{file_id}/content"
                    && l["http.response.status_code"] == 413
            })
            .then_some(())
    });
    assert!(
        refused.is_some(),
        "the gateway refuses the body by its length"
    );
    let status = raw_put(&firm.token, &path, None, &png(5000));
    assert!(status.contains(" 422 "), "{status}");
    // The right bytes go in; once stored, no more bytes are taken.
    let stored = put_content(
        &firm.token,
        &id(&logo),
        "application/octet-stream",
        png(5000),
    );
    assert_eq!(stored.status, 200, "{}", stored.text);
    put_content(&firm.token, &id(&logo), "image/png", png(5000)).problem(409);
    // A declared SHA-256 the bytes do not have stores nothing.
    let bytes = pdf(3000);
    let wrong = declared(
        &firm.token,
        json!({"name": "b.pdf", "media_type": "application/pdf", "size": 3000,
        "usage": "document", "sha256": sha256(b"something else")}),
    );
    let reply = put_content(&firm.token, &id(&wrong), "application/pdf", bytes.clone());
    assert_eq!(reply.problem(422)["errors"][0]["field"], "sha256");
    let right = declared(
        &firm.token,
        json!({"name": "b.pdf", "media_type": "application/pdf", "size": 3000,
        "usage": "document", "sha256": sha256(&bytes)}),
    );
    assert_eq!(
        put_content(&firm.token, &id(&right), "application/pdf", bytes).status,
        200
    );
}

#[test]
fn the_eicar_file_is_quarantined_never_served_and_the_admins_are_told() {
    let firm = TestFirm::provision();
    let mut bytes = EICAR.to_vec();
    bytes.extend_from_slice(b"\r\n");
    let stored = upload(&firm.token, "invoice.txt", "text/plain", "document", bytes);
    let file_id = id(&stored);
    // A staff link while the scan runs carries a warning.
    let early = link(&firm.token, &file_id);
    let early_url = if early.status == 201 {
        let body = early.json();
        if body["scan_status"] == "pending" {
            assert!(body["warning"].as_str().unwrap().contains("scan"));
        }
        Some(body["url"].as_str().unwrap().to_owned())
    } else {
        None
    };
    scanned(&firm.token, &file_id, "flagged");
    // Moved out of the firm's files; no new link; an earlier link is dead.
    assert!(scan_row(&file_id)["r2_key"]
        .as_str()
        .unwrap()
        .contains("/quarantine/"));
    link(&firm.token, &file_id).problem(409);
    if let Some(url) = early_url {
        download(&url, None).problem(410);
    }
    // The firm's admin (the owner) is told, in-app.
    let told = eventually(Duration::from_secs(15), || {
        let items = call("GET", "/v1/notifications")
            .token(&firm.token)
            .send()
            .json();
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["kind"] == "files.quarantined")
            .cloned()
    });
    let told = told.expect("the admin is told of the quarantine");
    assert!(told["title"].as_str().unwrap().contains("invoice.txt"));
}

#[test]
fn a_busy_scanner_is_retried_on_its_schedule_until_it_fails_for_good() {
    let firm = TestFirm::provision();
    // One refusal: the next minute's sweep gets the verdict.
    let bytes = pdf(4000);
    scanner(&format!("/_sim/fail?count=1&sha256={}", sha256(&bytes)));
    let stored = upload(
        &firm.token,
        "retry.pdf",
        "application/pdf",
        "document",
        bytes,
    );
    let file_id = id(&stored);
    eventually(Duration::from_secs(15), || {
        (scan_row(&file_id)["scan_attempts"] == 1).then_some(())
    })
    .expect("the first attempt is recorded");
    assert_eq!(file(&firm.token, &file_id)["scan_status"], "pending");
    fire_cron_at((unix_now() + 61) * 1000);
    scanned(&firm.token, &file_id, "clean");

    // Refusals every time: 1 min, 5 min, 30 min, 2 h, 6 h, then failed.
    let bytes = pdf(5000);
    scanner(&format!("/_sim/fail?count=100&sha256={}", sha256(&bytes)));
    let stored = upload(
        &firm.token,
        "never.pdf",
        "application/pdf",
        "document",
        bytes,
    );
    let file_id = id(&stored);
    let mut previous: Option<i64> = None;
    for (attempt, wait) in [(1, 60), (2, 300), (3, 1800), (4, 7200), (5, 21600)] {
        // Other tests' scans fall due in the same simulated sweep and may take its
        // batch: the sweep at the due time is fired again until this one is taken.
        let row = eventually(Duration::from_secs(15), || {
            let row = scan_row(&file_id);
            if row["scan_attempts"] == attempt {
                return Some(row);
            }
            if let Some(at) = previous {
                fire_cron_at(at);
            }
            None
        })
        .unwrap_or_else(|| panic!("attempt {attempt} is recorded"));
        let next = row["scan_next_at"].as_i64().unwrap();
        // Each retry waits its time after the sweep that made the attempt before.
        if let Some(at) = previous {
            assert_eq!(next - at, wait * 1000, "wait after attempt {attempt}");
        }
        // A sweep before the wait is over leaves it be.
        fire_cron_at(next - 30_000);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(scan_row(&file_id)["scan_attempts"], attempt);
        fire_cron_at(next);
        previous = Some(next);
    }
    scanned(&firm.token, &file_id, "failed");
    assert_eq!(scan_row(&file_id)["scan_attempts"], 6);
    // Portal users and links never get an unscanned file; staff get it with a warning.
    let staff = link(&firm.token, &file_id);
    assert_eq!(staff.status, 201, "{}", staff.text);
    assert!(staff.json()["warning"].as_str().unwrap().contains("failed"));
    let told = eventually(Duration::from_secs(15), || {
        let items = call("GET", "/v1/notifications")
            .token(&firm.token)
            .send()
            .json();
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "files.scan_failed")
            .then_some(())
    });
    assert!(told.is_some(), "the admins are told the scan failed");
}

#[test]
fn the_quota_is_checked_on_the_declared_size_before_a_byte() {
    let firm = TestFirm::provision();
    let part = 95 * MIB;
    let big = |name: &str, size: u64| json!({"name": name, "media_type": "application/zip", "size": size, "usage": "document", "part_size": part});
    // A starter firm stores 10 GB: five reservations of 2 GB fill it exactly.
    let mut reserved = Vec::new();
    for n in 0..5 {
        reserved.push(declared(
            &firm.token,
            big(&format!("part{n}.zip"), 2_000_000_000),
        ));
    }
    // One byte more does not fit, and nothing of it is written.
    let reply = declare(
        &firm.token,
        json!({"name": "one.pdf", "media_type": "application/pdf", "size": 1, "usage": "document"}),
    );
    let problem = reply.problem(409);
    assert_eq!(problem["errors"][0]["field"], "size", "{}", reply.text);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("quota-exceeded"),
        "{}",
        reply.text
    );
    let rows = d1_execute(&format!(
        "SELECT COUNT(*) AS n FROM files_objects WHERE firm_id = '{}'",
        firm.id()
    ));
    assert_eq!(rows[0]["n"], 5);
    // Aborting one frees its reservation.
    let first = id(&reserved[0]);
    let aborted = call("POST", &format!("/v1/files/{first}/abort"))
        .token(&firm.token)
        .send();
    assert_eq!(aborted.status, 204, "{}", aborted.text);
    assert_eq!(file(&firm.token, &first)["status"], "aborted");
    declared(&firm.token, big("again.zip", 2_000_000_000));
    // A file over the firm's per-file ceiling (2 GiB) is refused by its size.
    let reply = declare(&firm.token, big("huge.zip", 3 << 30));
    assert_eq!(reply.problem(422)["errors"][0]["field"], "size");
}

/// A PUT over a raw connection: `length` is the declared Content-Length (none:
/// a chunked body), of which `body` is what is actually sent before the
/// connection closes, as a dropped connection does. Answers the status line.
fn raw_put(token: &str, path: &str, length: Option<usize>, body: &[u8]) -> String {
    let host = base().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/pdf\r\n{framing}\r\ncf-connecting-ip: {}\r\nConnection: close\r\n\r\n",
        unique_ip()
    );
    stream.write_all(head.as_bytes()).unwrap();
    if length.is_some() {
        stream.write_all(body).unwrap();
    } else {
        stream
            .write_all(format!("{:x}\r\n", body.len()).as_bytes())
            .unwrap();
        stream.write_all(body).unwrap();
        stream.write_all(b"\r\n0\r\n\r\n").unwrap();
    }
    stream.flush().unwrap();
    if length.is_some_and(|n| n > body.len()) {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn put_part(token: &str, file_id: &str, n: u32, bytes: Vec<u8>) -> Reply {
    call("PUT", &format!("/v1/files/{file_id}/parts/{n}"))
        .token(token)
        .raw("application/pdf", bytes)
        .send()
}

fn parts(token: &str, file_id: &str) -> Value {
    let reply = call("GET", &format!("/v1/files/{file_id}/parts"))
        .token(token)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

#[test]
fn an_interrupted_multipart_upload_resumes_and_completes_with_the_right_checksum() {
    let firm = TestFirm::provision();
    let part_size = 5 * MIB;
    let bytes = pdf(2 * part_size + 12_345);
    let whole = sha256(&bytes);
    let upload = declared(
        &firm.token,
        json!({"name": "scan.pdf", "media_type": "application/pdf",
        "size": bytes.len(), "usage": "document", "part_size": part_size, "sha256": whole}),
    );
    let file_id = id(&upload);
    assert_eq!(upload["parts"], 3);
    let chunk = |n: usize| bytes[(n - 1) * part_size..(n * part_size).min(bytes.len())].to_vec();

    assert_eq!(put_part(&firm.token, &file_id, 1, chunk(1)).status, 200);
    // The connection drops halfway through part 2: nothing of it is kept.
    let part2 = chunk(2);
    raw_put(
        &firm.token,
        &format!("/v1/files/{file_id}/parts/2"),
        Some(part2.len()),
        &part2[..part_size / 2],
    );
    let state = parts(&firm.token, &file_id);
    assert_eq!(state["missing"], json!([2, 3]), "{state}");
    assert_eq!(state["received_bytes"], part_size);
    // Completing too early names what is missing.
    let early = call("POST", &format!("/v1/files/{file_id}/complete"))
        .token(&firm.token)
        .send();
    assert!(early.problem(409)["detail"]
        .as_str()
        .unwrap()
        .contains("2, 3"));
    // A part of the wrong size, or a number out of range, is refused.
    let reply = put_part(&firm.token, &file_id, 3, chunk(2));
    assert_eq!(reply.problem(422)["errors"][0]["field"], "content-length");
    assert_eq!(
        put_part(&firm.token, &file_id, 4, chunk(3)).problem(422)["errors"][0]["field"],
        "part_number"
    );
    put_part(&firm.token, &file_id, 0, chunk(3)).problem(422);
    // Resume: the rest in any order, part 1 sent again replaces itself.
    assert_eq!(put_part(&firm.token, &file_id, 3, chunk(3)).status, 200);
    assert_eq!(put_part(&firm.token, &file_id, 2, chunk(2)).status, 200);
    assert_eq!(put_part(&firm.token, &file_id, 1, chunk(1)).status, 200);
    assert_eq!(parts(&firm.token, &file_id)["missing"], json!([]));
    let done = call("POST", &format!("/v1/files/{file_id}/complete"))
        .token(&firm.token)
        .send();
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json()["sha256"], whole);
    assert_eq!(done.json()["status"], "stored");
    scanned(&firm.token, &file_id, "clean");
    let url = link(&firm.token, &file_id).json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let fetched = download(&url, None);
    assert_eq!(fetched.bytes.len(), bytes.len());
    assert_eq!(sha256(&fetched.bytes), whole);
    // A single-request body is refused on a multipart upload and vice versa.
    put_content(&firm.token, &file_id, "application/pdf", vec![0; 10]).problem(409);
}

#[test]
fn an_upload_left_idle_for_a_day_is_aborted_by_the_hourly_sweep() {
    let firm = TestFirm::provision();
    let upload = declared(
        &firm.token,
        json!({"name": "big.pdf", "media_type": "application/pdf",
        "size": 50 * MIB, "usage": "document", "part_size": 10 * MIB}),
    );
    let file_id = id(&upload);
    let hour = unix_now() / 3600 * 3600;
    d1_execute(&format!(
        "UPDATE files_objects SET updated_at = {} WHERE id = '{file_id}'",
        (hour - 25 * 3600) * 1000
    ));
    // A sweep at another minute leaves it; the top of the hour aborts it.
    fire_cron_at((hour + 60) * 1000);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(file(&firm.token, &file_id)["status"], "uploading");
    fire_cron_at(hour * 1000);
    let aborted = eventually(Duration::from_secs(10), || {
        (file(&firm.token, &file_id)["status"] == "aborted").then_some(())
    });
    assert!(aborted.is_some(), "the idle upload is aborted");
}

#[test]
fn the_firm_logo_is_branding_shown_in_the_portal_once_scanned() {
    let firm = TestFirm::provision();
    let bytes = png(20_000);
    let logo = upload(&firm.token, "logo.png", "image/png", "logo", bytes.clone());
    let logo_id = id(&logo);
    assert_eq!(logo["classification"], "PUB");
    // Only settings people set it; a document cannot be a logo; another firm's file is not found.
    let readonly = firm.token_as("readonly");
    call("PUT", "/v1/firm/branding/logo")
        .token(&readonly)
        .json(&json!({"file_id": logo_id}))
        .send()
        .problem(403);
    let doc = upload(
        &firm.token,
        "a.pdf",
        "application/pdf",
        "document",
        pdf(1000),
    );
    let reply = call("PUT", "/v1/firm/branding/logo")
        .token(&firm.token)
        .json(&json!({"file_id": id(&doc)}))
        .send();
    assert_eq!(reply.problem(422)["errors"][0]["field"], "file_id");
    let other = TestFirm::provision();
    call("PUT", "/v1/firm/branding/logo")
        .token(&other.token)
        .json(&json!({"file_id": logo_id}))
        .send()
        .problem(404);

    let set = call("PUT", "/v1/firm/branding/logo")
        .token(&firm.token)
        .json(&json!({"file_id": logo_id}))
        .send();
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json()["logo"]["file_id"], logo_id.as_str());
    scanned(&firm.token, &logo_id, "clean");

    // A portal user of the firm sees the logo through a link, inline.
    let client = call("POST", "/v1/clients")
        .token(&firm.token)
        .json(&json!({"name": "Client Ltd", "kind": "organization"}))
        .send()
        .json();
    let portal = firm.token_with(|c| {
        c["role"] = json!("portal_member");
        c["flags"] = json!([]);
        c["client"] = client["id"].clone();
    });
    let branding = call("GET", "/v1/firm/branding").token(&portal).send();
    assert_eq!(branding.status, 200, "{}", branding.text);
    let branding = branding.json();
    assert_eq!(branding["name"], firm.firm["name"]);
    let url = branding["logo"]["url"].as_str().unwrap();
    let fetched = download(url, None);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.bytes, bytes);
    assert!(fetched
        .header("content-disposition")
        .unwrap()
        .starts_with("inline;"));
    // Public branding lives an hour.
    let lifetime = branding["logo"]["expires_at"].as_i64().unwrap() - unix_now() * 1000;
    assert!(lifetime > 59 * 60_000, "{lifetime}");
    // Another firm sees its own (empty) branding, never this one.
    assert_eq!(
        call("GET", "/v1/firm/branding")
            .token(&other.token)
            .send()
            .json()["logo"],
        Value::Null
    );
    // Removing it.
    assert_eq!(
        call("DELETE", "/v1/firm/branding/logo")
            .token(&firm.token)
            .send()
            .status,
        204
    );
    assert_eq!(
        call("GET", "/v1/firm/branding")
            .token(&firm.token)
            .send()
            .json()["logo"],
        Value::Null
    );
}

#[test]
fn a_person_sets_their_avatar_and_colleagues_see_it() {
    let firm = TestFirm::provision();
    let member = join(&firm, "staff");
    let bytes = png(10_000);
    let picture = upload(
        &member.token,
        "me.png",
        "image/png",
        "avatar",
        bytes.clone(),
    );
    let picture_id = id(&picture);
    assert_eq!(picture["owner_id"], member.user_id.as_str());
    // Someone else's picture cannot be one's avatar.
    call("PUT", "/v1/me/avatar")
        .token(&firm.token)
        .json(&json!({"file_id": picture_id}))
        .send()
        .problem(403);
    let set = call("PUT", "/v1/me/avatar")
        .token(&member.token)
        .json(&json!({"file_id": picture_id}))
        .send();
    assert_eq!(set.status, 200, "{}", set.text);
    scanned(&member.token, &picture_id, "clean");
    let seen = call("GET", &format!("/v1/avatars/{}", member.user_id))
        .token(&firm.token)
        .send();
    assert_eq!(seen.status, 200, "{}", seen.text);
    let fetched = download(seen.json()["url"].as_str().unwrap(), None);
    assert_eq!(fetched.bytes, bytes);
    // Another firm does not see it; a person without one has none.
    let other = TestFirm::provision();
    call("GET", &format!("/v1/avatars/{}", member.user_id))
        .token(&other.token)
        .send()
        .problem(404);
    let owner = firm.owner["id"].as_str().unwrap();
    call("GET", &format!("/v1/avatars/{owner}"))
        .token(&member.token)
        .send()
        .problem(404);
    assert_eq!(
        call("DELETE", "/v1/me/avatar")
            .token(&member.token)
            .send()
            .status,
        204
    );
    call("GET", &format!("/v1/avatars/{}", member.user_id))
        .token(&firm.token)
        .send()
        .problem(404);
}

#[test]
fn every_files_route_wants_credentials_the_right_role_and_the_callers_firm() {
    let firm = TestFirm::provision();
    let stored = upload(
        &firm.token,
        "a.pdf",
        "application/pdf",
        "document",
        pdf(1000),
    );
    let file_id = id(&stored);
    let open = declared(
        &firm.token,
        json!({"name": "m.pdf", "media_type": "application/pdf",
        "size": 12 * MIB, "usage": "document", "part_size": 6 * MIB}),
    );
    let open_id = id(&open);
    let routes: Vec<(&'static str, String)> = vec![
        ("POST", "/v1/files".into()),
        ("GET", format!("/v1/files/{file_id}")),
        ("PUT", format!("/v1/files/{open_id}/content")),
        ("PUT", format!("/v1/files/{open_id}/parts/1")),
        ("GET", format!("/v1/files/{open_id}/parts")),
        ("POST", format!("/v1/files/{open_id}/complete")),
        ("POST", format!("/v1/files/{open_id}/abort")),
        ("POST", format!("/v1/files/{file_id}/links")),
        ("GET", "/v1/firm/branding".into()),
        ("PUT", "/v1/firm/branding/logo".into()),
        ("DELETE", "/v1/firm/branding/logo".into()),
        ("PUT", "/v1/me/avatar".into()),
        ("DELETE", "/v1/me/avatar".into()),
        (
            "GET",
            format!("/v1/avatars/{}", firm.owner["id"].as_str().unwrap()),
        ),
    ];
    for (method, path) in &routes {
        let reply = call(method, path)
            .raw("application/pdf", vec![1, 2, 3])
            .send();
        assert_eq!(
            reply.status, 401,
            "{method} {path} without a token: {}",
            reply.text
        );
        let reply = call(method, path)
            .token("not-a-token")
            .raw("application/pdf", vec![1, 2, 3])
            .send();
        assert_eq!(
            reply.status, 401,
            "{method} {path} with a bad token: {}",
            reply.text
        );
    }
    // Another firm's files are not found on every file route.
    let other = TestFirm::provision();
    for (method, path) in routes.iter().filter(|(_, p)| p.starts_with("/v1/files/")) {
        let reply = call(method, path)
            .token(&other.token)
            .raw("application/pdf", vec![1, 2, 3])
            .send();
        assert_eq!(
            reply.status, 404,
            "{method} {path} from another firm: {}",
            reply.text
        );
    }
    // Roles: a read-only member uploads no document and sets no logo; a colleague
    // reads the firm's document but sends no bytes to someone else's upload.
    let readonly = firm.token_as("readonly");
    declare(
        &readonly,
        json!({"name": "r.pdf", "media_type": "application/pdf", "size": 10, "usage": "document"}),
    )
    .problem(403);
    declare(
        &readonly,
        json!({"name": "l.png", "media_type": "image/png", "size": 10, "usage": "logo"}),
    )
    .problem(403);
    assert_eq!(
        call("GET", &format!("/v1/files/{file_id}"))
            .token(&readonly)
            .send()
            .status,
        200
    );
    let colleague = join(&firm, "staff");
    put_part(&colleague.token, &open_id, 1, pdf(6 * MIB)).problem(403);
    call("POST", &format!("/v1/files/{open_id}/abort"))
        .token(&colleague.token)
        .send()
        .problem(403);
    // A portal user does not see the firm's own documents.
    let client = call("POST", "/v1/clients")
        .token(&firm.token)
        .json(&json!({"name": "Client Ltd", "kind": "organization"}))
        .send()
        .json();
    let portal = firm.token_with(|c| {
        c["role"] = json!("portal_member");
        c["flags"] = json!([]);
        c["client"] = client["id"].clone();
        c["sub"] = json!("usr_01JD0000000000000000000000");
    });
    call("GET", &format!("/v1/files/{file_id}"))
        .token(&portal)
        .send()
        .problem(404);
    call("POST", &format!("/v1/files/{file_id}/links"))
        .token(&portal)
        .send()
        .problem(404);
    // Ids that are not file ids are refused by their shape.
    call("GET", "/v1/files/usr_01JD0000000000000000000000")
        .token(&firm.token)
        .send()
        .problem(422);
}

/// The firm's data-key bytes, unwrapped from D1 with the root key the way the vault does.
fn data_key(firm_id: &str, version: i64) -> Vec<u8> {
    let spec = root_keys();
    let rows = d1_execute(&format!(
        "SELECT wrapped FROM kernel_data_keys WHERE owner = '{firm_id}' AND version = {version}"
    ));
    let wrapped = rows[0]["wrapped"].as_str().unwrap();
    shared::kernel::secrets::SecretBox::from_config(&spec)
        .unwrap()
        .open(wrapped, &format!("data-key|{firm_id}|{version}"))
        .unwrap()
}

#[test]
fn content_is_sealed_in_r2_under_the_firms_key_and_shredded_with_it() {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let firm = TestFirm::provision();
    let bytes = pdf(200_000);
    let stored = upload(
        &firm.token,
        "sealed.pdf",
        "application/pdf",
        "document",
        bytes.clone(),
    );
    let file_id = id(&stored);
    let row = d1_execute(&format!(
        "SELECT r2_key, key_version FROM files_objects WHERE id = '{file_id}'"
    ))
    .remove(0);
    // R2 holds 64 KiB segments, each nonce ‖ ciphertext ‖ tag: no plaintext.
    let raw = r2_get(row["r2_key"].as_str().unwrap());
    let segments = bytes.len().div_ceil(65_536);
    assert_eq!(raw.len(), bytes.len() + 28 * segments);
    assert!(
        !raw.windows(64).any(|w| w == &bytes[1000..1064]),
        "plaintext in R2"
    );
    // They open with RustCrypto's AES-GCM under the file's key (HMAC of the firm's
    // data key), each bound to the file and its place: an implementation we did not
    // write agrees with the runtime's WebCrypto that sealed them.
    let version = row["key_version"].as_i64().unwrap();
    let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&data_key(firm.id(), version)).unwrap();
    derive.update(format!("content-key|{}|files_objects|content|{file_id}", firm.id()).as_bytes());
    let key = derive.finalize().into_bytes();
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    let mut opened = Vec::new();
    let mut at = 0;
    for index in 0..segments {
        let plain_len = (bytes.len() - index * 65_536).min(65_536);
        let sealed = &raw[at..at + plain_len + 28];
        at += plain_len + 28;
        let position = if index + 1 == segments {
            "last"
        } else {
            "more"
        };
        let aad = format!("files_objects|content|{file_id}|{index}|{position}");
        let plain = cipher
            .decrypt(
                aes_gcm::Nonce::from_slice(&sealed[..12]),
                Payload {
                    msg: &sealed[12..],
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_else(|_| panic!("segment {index} opens"));
        opened.extend(plain);
    }
    assert_eq!(opened, bytes);
    // Ranges across segment boundaries open only the segments they need.
    scanned(&firm.token, &file_id, "clean");
    let url = link(&firm.token, &file_id).json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    for (a, b) in [
        (65_530, 65_545),
        (0, 65_535),
        (131_000, 199_999),
        (65_536, 65_536),
    ] {
        let part = download(&url, Some(&format!("bytes={a}-{b}")));
        assert_eq!(part.status, 206);
        assert_eq!(part.bytes, bytes[a..=b], "bytes {a}-{b}");
    }
    // Destroying the firm's keys (as a purge does) leaves the file unreadable.
    d1_execute(&format!(
        "UPDATE kernel_data_keys SET wrapped = NULL, status = 'destroyed' WHERE owner = '{}'",
        firm.id()
    ));
    download(&url, None).problem(410);
    declare(&firm.token, json!({"name": "new.pdf", "media_type": "application/pdf", "size": 10, "usage": "document"}))
        .problem(410);
}
