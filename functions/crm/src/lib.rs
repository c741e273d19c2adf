//! The CRM module worker: pipelines and their stages, accounts and contacts, leads
//! scored by the firm's rules, deals moving to won or lost, the timeline of every
//! record, and the forecast with the firm's win model. Reachable only through the
//! gateway's service binding; it still verifies the caller's token itself. It takes
//! `client.account_linked` (a won deal's account became a client) and
//! `firm.member_deactivated` (their open leads and deals go to others), once a day on
//! the platform clock's tick marks deals gone quiet and reminds their owners, and
//! runs the lead-enrichment jobs the jobs worker hands it.

use edge::jobs::{JobFailure, JobRequest};
use shared::crm::enrichment::{self, Lookup};
use shared::crm::repository::enrichment::{self as lookups, Verdict};
use shared::kernel::events::EventEnvelope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::Env;

mod handlers;

edge::module_worker!(shared::api::CRM, handlers::dispatch, events: crate::consume, tick: crate::tick, jobs: crate::job);

/// Acts on an event the dispatcher hands over (idempotent by event id).
pub(crate) async fn consume(
    env: Env,
    event: EventEnvelope,
    now: Instant,
) -> Result<(), DomainError> {
    let db = edge::D1::from_env(&env)?;
    if shared::crm::events::handle(&db, &event, now).await? {
        return Ok(());
    }
    if let Some((_, statements, notices)) =
        shared::crm::repository::assignment::handle(&db, &event, now).await?
    {
        let request_id = format!("evt:{}", event.id);
        edge::events::write_and_publish(&env, &db, statements, &notices, now, &request_id).await?;
    }
    Ok(())
}

/// The day's work, on the first tick of each UTC day: stale deals marked (with a
/// timeline entry) and their owners told in one batch, then scores whose points
/// faded brought down, then sent proposals past their day expired, then the
/// running month's and quarter's forecast kept for later comparison.
pub(crate) async fn tick(
    env: &Env,
    now: Instant,
    request_id: &str,
) -> Result<serde_json::Value, DomainError> {
    if !shared::kernel::time::is_daily_tick(now) {
        return Ok(serde_json::json!({"stale": null}));
    }
    let db = edge::D1::from_env(env)?;
    let rotten = shared::crm::rotting::newly_stale(&db, now).await?;
    let reminders = shared::crm::rotting::reminders(&rotten, now)?;
    let statements = shared::crm::rotting::mark(&rotten, now)?;
    if !statements.is_empty() {
        edge::events::write_and_publish(env, &db, statements, &reminders, now, request_id).await?;
    }
    let rescored = shared::crm::rotting::rescore_faded(&db, now).await?;
    let expired = shared::crm::repository::proposals::expire_due(&db, now).await?;
    let kept = shared::crm::repository::forecasts::snapshot_all(&db, now).await?;
    Ok(
        serde_json::json!({"stale": rotten.len(), "reminded": reminders.len(), "rescored": rescored,
                          "proposals_expired": expired, "forecast_rows_kept": kept}),
    )
}

/// Runs a job the jobs worker hands over.
pub(crate) async fn job(env: &Env, job: JobRequest) -> Result<serde_json::Value, JobFailure> {
    let fail = |status: u16, error: String| JobFailure {
        status,
        error,
        retry_after_secs: None,
    };
    if job.kind != enrichment::JOB_TYPE {
        return Err(fail(422, format!("the CRM runs no {} jobs", job.kind)));
    }
    let id = job
        .payload
        .get("enrichment_id")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| fail(422, "the payload names no enrichment_id".into()))?
        .to_owned();
    // A storage failure is worth another attempt; anything else of ours is not.
    let ours = |e: DomainError| match e {
        DomainError::Unavailable(m) => fail(503, m),
        other => fail(422, other.to_string()),
    };
    let db = edge::D1::from_env(env).map_err(ours)?;
    let Some((_, lookup)) = lookups::job_target(&db, &job.firm_id, &id)
        .await
        .map_err(ours)?
    else {
        return Ok(serde_json::json!({"enrichment_id": id, "status": "closed"}));
    };
    let answer = ask_provider(env, &lookup).await;
    match lookups::job_outcome(&db, &job.firm_id, &id, answer, job.attempt, edge::now())
        .await
        .map_err(ours)?
    {
        Verdict::Done(e) => Ok(serde_json::json!({"enrichment_id": e.id, "status": e.status})),
        Verdict::Again {
            status,
            error,
            retry_after,
        } => Err(JobFailure {
            status,
            error,
            retry_after_secs: retry_after,
        }),
        Verdict::Refused(error) => Err(fail(422, error)),
    }
}

/// Asks the enrichment provider (`ENRICHMENT_URL`, key `ENRICHMENT_KEY`) about a
/// lead. No provider configured is a refusal (no retry helps); no answer at all
/// is worth another try.
async fn ask_provider(env: &Env, lookup: &Lookup) -> enrichment::Answer {
    let (Some(base), Some(key)) = (
        edge::config::text(env, "ENRICHMENT_URL"),
        edge::config::text(env, "ENRICHMENT_KEY"),
    ) else {
        return enrichment::Answer::Refused("no enrichment provider is configured".into());
    };
    let headers = worker::Headers::new();
    let _ = headers.set("authorization", &format!("Bearer {key}"));
    let _ = headers.set("accept", "application/json");
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Get).with_headers(headers);
    let url = format!("{}{}", base.trim_end_matches('/'), lookup.path());
    let request = match worker::Request::new_with_init(&url, &init) {
        Ok(r) => r,
        Err(e) => return enrichment::Answer::Refused(format!("bad provider URL: {e}")),
    };
    match worker::Fetch::Request(request).send().await {
        Ok(mut response) => {
            let status = response.status_code();
            let retry_after = edge::http::retry_after_secs(&response);
            let body = response.text().await.unwrap_or_default();
            enrichment::read_answer(status, retry_after, &body)
        }
        Err(e) => enrichment::Answer::Retry(format!("the provider did not answer: {e}")),
    }
}
