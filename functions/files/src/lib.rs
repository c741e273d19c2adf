//! The files worker: every module's uploads go to R2 through it (one request up
//! to 95 MiB, resumable multipart above), checked against what was declared and
//! hashed; each new object is sent to the malware scanner (retried on its
//! schedule, flagged ones moved to quarantine and the firm's admins told);
//! downloads go through links it signs. Every minute it retries due scans; every
//! hour it aborts uploads left idle for a day.

use edge::D1;
use serde_json::json;
use shared::files::scan::{self, ScanRequest, Verdict};
use shared::files::store::{self, FileRow};
use shared::kernel::events::EventEnvelope;
use shared::kernel::sql::Sql as _;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

mod handlers;
mod seal;
mod transfer;

edge::module_worker!(shared::api::FILES, handlers::dispatch, events: crate::consume, tick: crate::tick);

/// The internal event that asks for a new object's scan.
pub(crate) const STORED: &str = "file.stored";
/// Who a scanner's download link is issued to.
pub(crate) const SCANNER: &str = "scanner";
/// Scans tried per minute's sweep.
const SCANS_PER_TICK: i64 = 10;
/// Idle uploads aborted per hourly sweep.
const ABORTS_PER_SWEEP: i64 = 50;

/// The event written with a stored object: its scan is due.
pub(crate) fn stored_event(
    scope: &TenantScope,
    file_id: &str,
    now: Instant,
) -> Result<EventEnvelope, DomainError> {
    EventEnvelope::new(scope, STORED, now, json!({"file_id": file_id}))
}

/// Scans the object a `file.stored` event names (other events are not ours).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    if event.kind != STORED {
        return Ok(());
    }
    let Some(id) = event.data.get("file_id").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let db = D1::from_env(&env)?;
    let scope = event.scope();
    let row = match store::get(&db, &scope, id).await {
        Ok(row) => row,
        Err(DomainError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    scan_one(&env, &db, &row, now, &event.id).await
}

/// The minute's work: scans that are due (first tries the event missed and
/// retries); at the top of the hour, uploads idle for a day are aborted.
pub(crate) async fn tick(
    env: &Env,
    now: Instant,
    request_id: &str,
) -> Result<serde_json::Value, DomainError> {
    let db = D1::from_env(env)?;
    let due = store::due_scans(&db, now, SCANS_PER_TICK).await?;
    let mut scanned = 0;
    for row in &due {
        match scan_one(env, &db, row, now, request_id).await {
            Ok(()) => scanned += 1,
            Err(e) => edge::log::event(
                "error",
                request_id,
                "scan failed",
                json!({"file.id": row.id, "error": e.to_string()}),
            ),
        }
    }
    let mut aborted = 0;
    if (now.millis() / 60_000) % 60 == 0 {
        for row in store::idle_uploads(&db, now, ABORTS_PER_SWEEP).await? {
            abort_upload(env, &db, &row, now).await?;
            aborted += 1;
        }
    }
    Ok(json!({"scanned": scanned, "aborted": aborted}))
}

/// Gives up an upload: R2 drops its parts, D1 frees its reservation.
pub(crate) async fn abort_upload(
    env: &Env,
    db: &D1,
    row: &FileRow,
    now: Instant,
) -> Result<(), DomainError> {
    if let Some(upload_id) = &row.multipart_id {
        let bucket = edge::bindings::files(env)?;
        if let Ok(upload) = bucket.resume_multipart_upload(row.r2_key.as_str(), upload_id.as_str())
        {
            // An upload R2 already forgot is as aborted as we want it.
            let _ = upload.abort().await;
        }
    }
    db.batch(store::mark_aborted(&row.id, now)).await?;
    Ok(())
}

/// One scan attempt of `row`, if this caller wins its claim: a verdict is
/// recorded (a flagged object moved to quarantine and the admins told); no
/// verdict schedules the next try, or fails the scan once the schedule is spent.
async fn scan_one(
    env: &Env,
    db: &D1,
    row: &FileRow,
    now: Instant,
    request_id: &str,
) -> Result<(), DomainError> {
    if db.execute(store::claim_scan(&row.id, now)).await? == 0 {
        return Ok(());
    }
    let system = store::Accessor {
        kind: "system",
        id: Some(SCANNER.to_owned()),
        ip: None,
        user_agent: None,
    };
    let (Some(url), Some(secret)) = (
        edge::config::text(env, "SCANNER_URL"),
        edge::config::text(env, "SCANNER_SECRET"),
    ) else {
        // No scanner in this deployment: the object is served, marked so.
        db.batch(vec![
            store::record_verdict(
                &row.id,
                "skipped",
                "no scanner configured",
                &row.r2_key,
                now,
            ),
            store::log_access(
                &row.firm_id,
                &row.id,
                "scan_completed",
                &system,
                Some("skipped"),
                now,
            )?,
        ])
        .await?;
        return Ok(());
    };
    let verdict = ask_scanner(env, &url, secret.as_bytes(), row, now).await;
    let (status, retry) = match &verdict {
        Ok(v) => scan::outcome(v),
        Err(_) => ("pending", true),
    };
    if retry {
        let detail = match &verdict {
            Ok(v) => format!("scanner answered {}", v.status),
            Err(e) => e.clone(),
        };
        let (statement, failed) = store::scan_missed(row, &detail, now);
        let mut statements = vec![statement];
        let mut events = Vec::new();
        if failed {
            statements.push(store::log_access(
                &row.firm_id,
                &row.id,
                "scan_completed",
                &system,
                Some("failed"),
                now,
            )?);
            events.push(tell_admins(env, db, row, "files.scan_failed", None, now).await?);
        }
        edge::events::write_and_publish(env, db, statements, &events, now, request_id).await?;
        return Ok(());
    }
    let signature = verdict
        .ok()
        .and_then(|v| v.signature)
        .unwrap_or_else(|| "unnamed".to_owned());
    if status == "flagged" {
        let key = quarantine(env, row).await?;
        let statements = vec![
            store::record_verdict(&row.id, "flagged", &signature, &key, now),
            store::log_access(
                &row.firm_id,
                &row.id,
                "scan_completed",
                &system,
                Some("flagged"),
                now,
            )?,
        ];
        let event = tell_admins(env, db, row, "files.quarantined", Some(&signature), now).await?;
        edge::events::write_and_publish(env, db, statements, &[event], now, request_id).await?;
        return Ok(());
    }
    db.batch(vec![
        store::record_verdict(&row.id, status, "", &row.r2_key, now),
        store::log_access(
            &row.firm_id,
            &row.id,
            "scan_completed",
            &system,
            Some(status),
            now,
        )?,
    ])
    .await?;
    Ok(())
}

/// Sends the signed scan request; the verdict, or why there is none.
async fn ask_scanner(
    env: &Env,
    base: &str,
    secret: &[u8],
    row: &FileRow,
    now: Instant,
) -> Result<Verdict, String> {
    // The link and the signature are stamped with the runtime's clock (a tick's
    // scheduled time may be a test's future); the scanner checks both against its own.
    let real = edge::now();
    let (url, _) = handlers::signed_url(env, row, SCANNER, scan::LINK_LIFETIME_MS, real.max(now))
        .map_err(|e| e.to_string())?;
    let request = ScanRequest {
        url,
        sha256: row.sha256.clone().unwrap_or_default(),
        size: u64::try_from(row.size).unwrap_or(0),
    };
    let (signed, body) =
        scan::sign(secret, &request, real.millis() / 1000).map_err(|e| e.to_string())?;
    let headers = Headers::new();
    for (name, value) in signed {
        let _ = headers.set(name, &value);
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let target = format!("{}/scan", base.trim_end_matches('/'));
    let outgoing = Request::new_with_init(&target, &init).map_err(|e| e.to_string())?;
    let mut response = Fetch::Request(outgoing)
        .send()
        .await
        .map_err(|e| format!("scanner unreachable: {e}"))?;
    let status = response.status_code();
    if status != 200 {
        return Err(format!("scanner answered HTTP {status}"));
    }
    response
        .json::<Verdict>()
        .await
        .map_err(|e| format!("scanner's answer is not a verdict: {e}"))
}

/// Moves a flagged object's bytes under the quarantine prefix (R2 streams them
/// across; nothing passes through the worker). Returns the new key.
async fn quarantine(env: &Env, row: &FileRow) -> Result<String, DomainError> {
    let key = store::quarantine_key(&row.firm_id, &row.id);
    let bucket = edge::bindings::files(env)?;
    let object = bucket
        .get(row.r2_key.as_str())
        .execute()
        .await
        .map_err(|e| DomainError::Unavailable(format!("R2 read: {e}")))?;
    let Some(object) = object else {
        // Already moved by an earlier attempt that did not record it.
        return Ok(key);
    };
    let body = object
        .body()
        .ok_or_else(|| DomainError::Unavailable("R2 object without a body".into()))?
        .response_body()
        .map_err(|e| DomainError::Unavailable(format!("R2 body: {e}")))?;
    let worker::ResponseBody::Stream(stream) = body else {
        return Err(DomainError::Unavailable("R2 body is not a stream".into()));
    };
    bucket
        .put(key.as_str(), stream)
        .execute()
        .await
        .map_err(|e| DomainError::Unavailable(format!("R2 quarantine write: {e}")))?;
    bucket
        .delete(row.r2_key.as_str())
        .await
        .map_err(|e| DomainError::Unavailable(format!("R2 delete: {e}")))?;
    Ok(key)
}

/// The request telling the firm's admins about `row` (`template` with its name,
/// the scanner's finding and a link to it in the console).
async fn tell_admins(
    env: &Env,
    db: &D1,
    row: &FileRow,
    template: &str,
    signature: Option<&str>,
    now: Instant,
) -> Result<EventEnvelope, DomainError> {
    let app_url = edge::config::text(env, "APP_URL").unwrap_or_default();
    let link = format!("{app_url}/files/{}", row.id);
    let mut variables =
        shared::notify::request::vars([("name", row.name.as_str()), ("link", link.as_str())]);
    if let Some(signature) = signature {
        variables.insert("signature".into(), signature.into());
    }
    shared::notify::request::to_admins(db, &row.firm_id, template, variables, now).await
}
