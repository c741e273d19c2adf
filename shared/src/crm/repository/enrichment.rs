//! Lead lookups in D1: a request writes the lookup and its job in one batch (one
//! lookup of a lead at a time); the job's outcome fills the lead's fields nobody
//! typed, with an entry on its timeline, and closes the lookup.

use serde_json::{json, Map, Value};

use crate::crm::enrichment::{self, Enrichment, EnrichmentStatus, Lookup, Merge};
use crate::jobs::store::{self, Dispatch, NewJob};
use crate::jobs::{types, Priority};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, violates_unique, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

const COLUMNS: &str = "id, lead_id, status, lookup, job_id, applied, kept, error, requested_by, requested_at, finished_at";

/// One lookup.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Enrichment> {
    super::by_id(db, scope, "crm_enrichments", COLUMNS, id, "enrichment").await
}

/// The lead's newest lookup, if it has one.
pub async fn latest(
    db: &impl Sql,
    scope: &TenantScope,
    lead_id: &str,
) -> DomainResult<Option<Enrichment>> {
    super::leads::get(db, scope, lead_id).await?;
    let rows: Vec<Enrichment> = query_as(
        db,
        stmt!(
            format!(
                "SELECT {COLUMNS} FROM crm_enrichments WHERE firm_id = ?1 AND lead_id = ?2 ORDER BY id DESC LIMIT 1"
            ),
            scope.firm_id(),
            lead_id
        ),
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Asks for a lookup of lead `lead_id`: the lookup and its job, written together,
/// and the message that starts the job once they are. A lookup already waiting
/// is answered instead (no second job).
pub async fn request(
    db: &impl Sql,
    scope: &TenantScope,
    lead_id: &str,
    actor: &str,
    now: Instant,
) -> DomainResult<(Enrichment, Option<Dispatch>)> {
    let lead = super::leads::get(db, scope, lead_id).await?;
    let lookup = Lookup::of(&lead)?;
    if let Some(waiting) = latest(db, scope, lead_id)
        .await?
        .filter(|e| e.status == EnrichmentStatus::Pending)
    {
        return Ok((waiting, None));
    }
    let kind = types::find(&[], enrichment::JOB_TYPE).ok_or_else(|| {
        DomainError::Unavailable("the enrichment job type is not registered".into())
    })?;
    let id = new_id("enr", now.millis())?;
    let payload = json!({
        "tenant_id": scope.firm_id(),
        "correlation_id": crate::kernel::id::uuid_v4()?,
        "idempotency_key": id,
        "connection_id": "enrichment",
        "lead_id": lead.id,
        "enrichment_id": id,
    });
    let job = store::enqueue(
        scope,
        &NewJob {
            job_type: kind,
            payload: &payload,
            payload_version: "1",
            priority: Priority::Normal,
            run_at: None,
            max_attempts: None,
            manual: false,
            created_by: Some(actor),
        },
        now,
    )?;
    let made = Enrichment {
        id: id.clone(),
        lead_id: lead.id.clone(),
        status: EnrichmentStatus::Pending,
        lookup: lookup.label(),
        job_id: Some(job.job_id.clone()),
        applied: Map::new(),
        kept: Vec::new(),
        error: None,
        requested_by: actor.to_owned(),
        requested_at: now.millis(),
        finished_at: None,
    };
    let insert = stmt!(
        "INSERT INTO crm_enrichments (id, firm_id, lead_id, status, lookup, job_id, requested_by, requested_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7)",
        id.as_str(),
        scope.firm_id(),
        lead.id.as_str(),
        made.lookup.as_str(),
        job.job_id.as_str(),
        actor,
        now.millis()
    );
    match db.batch(vec![insert, job.statement]).await {
        Ok(_) => Ok((made, Some(job.dispatch))),
        // Asked twice at once: the other request's lookup is the one.
        Err(e) if violates_unique(&e, "crm_enrichments") => {
            let waiting = latest(db, scope, lead_id).await?.ok_or(e)?;
            Ok((waiting, None))
        }
        Err(e) => Err(e),
    }
}

/// What the provider's values filled the last time the lead was found.
async fn applied_before(
    db: &impl Sql,
    scope: &TenantScope,
    lead_id: &str,
) -> DomainResult<Map<String, Value>> {
    let rows = db
        .query(stmt!(
            "SELECT applied FROM crm_enrichments WHERE firm_id = ?1 AND lead_id = ?2 AND status = 'found'
              ORDER BY id DESC LIMIT 1",
            scope.firm_id(),
            lead_id
        ))
        .await?;
    Ok(rows
        .first()
        .and_then(|r| r.get("applied"))
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default())
}

/// Applies what the provider found to the lead (its fields nobody typed) and
/// closes the lookup as found.
pub async fn found(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    facts: &Map<String, Value>,
    now: Instant,
) -> DomainResult<Enrichment> {
    let e = get(db, scope, id).await?;
    let lead = super::leads::get(db, scope, &e.lead_id).await?;
    let before = applied_before(db, scope, &lead.id).await?;
    let Merge {
        fields,
        applied,
        kept,
    } = enrichment::merge(&lead, &before, facts);
    if let Some(fields) = fields {
        super::leads::update(db, scope, &lead.id, &fields, None, "enrichment", now).await?;
    }
    close(
        db,
        scope,
        id,
        EnrichmentStatus::Found,
        Some((&applied, &kept)),
        None,
        now,
    )
    .await
}

/// Closes a lookup as `status` (not found, failed, or still pending with the
/// reason it waits), with what it applied.
pub async fn close(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    status: EnrichmentStatus,
    applied: Option<(&Map<String, Value>, &Vec<String>)>,
    error: Option<&str>,
    now: Instant,
) -> DomainResult<Enrichment> {
    let (applied, kept) = applied.map_or(("{}".to_owned(), "[]".to_owned()), |(a, k)| {
        (
            Value::Object(a.clone()).to_string(),
            serde_json::to_string(k).unwrap_or_else(|_| "[]".into()),
        )
    });
    let finished = (status != EnrichmentStatus::Pending).then_some(now.millis());
    db.execute(Statement::new(
        "UPDATE crm_enrichments SET status = ?1, applied = ?2, kept = ?3, error = ?4, finished_at = ?5
          WHERE firm_id = ?6 AND id = ?7 AND status = 'pending'",
        vec![
            status.name().into(),
            applied.into(),
            kept.into(),
            error.map(str::to_owned).into(),
            finished.into(),
            scope.firm_id().into(),
            id.into(),
        ],
    ))
    .await?;
    get(db, scope, id).await
}

/// What a lookup's job must ask the provider: the lookup (`None` when it is no
/// longer waiting, so there is nothing to do). `firm_id` is the job's own.
pub async fn job_target(
    db: &impl Sql,
    firm_id: &str,
    enrichment_id: &str,
) -> DomainResult<Option<(Enrichment, Lookup)>> {
    let scope = TenantScope::new(firm_id, None);
    let e = get(db, &scope, enrichment_id).await?;
    if e.status != EnrichmentStatus::Pending {
        return Ok(None);
    }
    let lead = super::leads::get(db, &scope, &e.lead_id).await?;
    Ok(Some((e, Lookup::of(&lead)?)))
}

/// How a job's attempt ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Done: the lookup as it now stands.
    Done(Enrichment),
    /// Try again (`status` tells the jobs worker why), after `retry_after` seconds if set.
    Again {
        /// 429 to slow down, 503 to retry.
        status: u16,
        /// Why.
        error: String,
        /// When.
        retry_after: Option<i64>,
    },
    /// Failed for good: the lookup is closed as failed.
    Refused(String),
}

/// Records what the provider answered for lookup `enrichment_id` of firm
/// `firm_id` on the job's `attempt` (1 the first). A failure on the last attempt
/// the job type's policy allows closes the lookup as failed (so none stays
/// waiting for a job that is gone).
pub async fn job_outcome(
    db: &impl Sql,
    firm_id: &str,
    enrichment_id: &str,
    answer: enrichment::Answer,
    attempt: i64,
    now: Instant,
) -> DomainResult<Verdict> {
    use enrichment::Answer;
    let scope = TenantScope::new(firm_id, None);
    let last = types::find(&[], enrichment::JOB_TYPE)
        .is_some_and(|t| attempt >= i64::from(t.policy.schedule.max_attempts()));
    let again = |status: u16, error: String, retry_after: Option<i64>| Verdict::Again {
        status,
        error,
        retry_after,
    };
    let verdict = match answer {
        Answer::Found(facts) => {
            return Ok(Verdict::Done(
                found(db, &scope, enrichment_id, &facts, now).await?,
            ))
        }
        Answer::NotFound => {
            let e = close(
                db,
                &scope,
                enrichment_id,
                EnrichmentStatus::NotFound,
                None,
                None,
                now,
            )
            .await?;
            return Ok(Verdict::Done(e));
        }
        Answer::Later(secs) => again(503, "the provider is still looking".into(), Some(secs)),
        Answer::RateLimited(secs) => again(429, "the provider asked us to slow down".into(), secs),
        Answer::Retry(error) => again(503, error, None),
        Answer::Refused(error) => Verdict::Refused(error),
    };
    let (status, error) = match &verdict {
        Verdict::Refused(error) => (EnrichmentStatus::Failed, error),
        Verdict::Again { error, .. } if last => (EnrichmentStatus::Failed, error),
        Verdict::Again { error, .. } => (EnrichmentStatus::Pending, error),
        Verdict::Done(_) => return Ok(verdict),
    };
    close(db, &scope, enrichment_id, status, None, Some(error), now).await?;
    Ok(verdict)
}
