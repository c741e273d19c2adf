//! What a firm's managers see of its jobs and do to them: list and filter, one job
//! with its attempts, cancel, retry now, and the dead-letter list with reprocess
//! (new job, original idempotency key) and discard, one at a time or by filter.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::store::Dispatch;
use super::{Category, DeadStatus, ErrorClass, Priority, Status};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::columns::{bool_from_int, json_from_optional_text, json_from_text};
use crate::kernel::sql::{query_as, query_one, Sql, Statement, Value as SqlValue};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{Input, Validator};
use crate::stmt;

/// Most dead letters one bulk request reprocesses or discards.
pub const BULK_MAX: i64 = 500;

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// `job_…`.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its category.
    pub category: Category,
    /// How urgent.
    #[serde(deserialize_with = "priority_from_rank")]
    pub priority: Priority,
    /// Where it is.
    pub status: Status,
    /// Payload shape version.
    pub payload_version: String,
    /// The payload.
    #[serde(deserialize_with = "json_from_text")]
    pub payload: Value,
    /// The key its handler deduplicates on.
    pub idempotency_key: String,
    /// Its correlation id.
    pub correlation_id: String,
    /// First due time (Unix ms).
    pub scheduled_at: i64,
    /// When it may next run (Unix ms).
    pub due_at: i64,
    /// Attempts made.
    pub attempt_count: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// When a runner first took it (Unix ms).
    pub started_at: Option<i64>,
    /// When it reached a final status (Unix ms).
    pub completed_at: Option<i64>,
    /// When its lease runs out, while it runs (Unix ms).
    pub lease_expires_at: Option<i64>,
    /// The class of its last failure.
    pub error_class: Option<ErrorClass>,
    /// Its last error (redacted, ≤ 1,000 characters).
    pub last_error: Option<String>,
    /// Its handler's result.
    #[serde(deserialize_with = "json_from_optional_text")]
    pub result: Option<Value>,
    /// A cancel waits for the running attempt.
    #[serde(deserialize_with = "bool_from_int")]
    pub cancel_requested: bool,
    /// Started by a person.
    #[serde(deserialize_with = "bool_from_int")]
    pub manual: bool,
    /// The dead-letter entry it reprocesses.
    pub reprocess_of: Option<String>,
    /// When it was found waiting past its SLA (Unix ms).
    pub sla_breached_at: Option<i64>,
    /// Who started it, if a person did.
    pub created_by: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

fn priority_from_rank<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Priority, D::Error> {
    Ok(Priority::from_rank(i64::deserialize(d)?))
}

const JOB_COLUMNS: &str = "id, type, category, priority, status, payload_version, payload, idempotency_key, correlation_id,
    scheduled_at, due_at, attempt_count, max_attempts, started_at, completed_at, lease_expires_at, error_class, last_error,
    result, cancel_requested, manual, reprocess_of, sla_breached_at, created_by, created_at, updated_at";

/// Filters of the job list (query parameters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this type.
    pub kind: Option<String>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only jobs whose last failure had this class.
    pub error_class: Option<ErrorClass>,
    /// Only this correlation id.
    pub correlation_id: Option<String>,
    /// Created at or after (Unix ms).
    pub created_from: Option<i64>,
    /// Created before (Unix ms).
    pub created_to: Option<i64>,
}

impl JobFilter {
    /// Parses the list's query parameters (`get` reads one by name); every bad
    /// value is named.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let parsed = |name: &str| get(name);
        let status = parsed("status").and_then(|s| v.take(Status::parse("status", s)));
        let category = parsed("category").and_then(|s| v.take(Category::parse("category", s)));
        let priority = parsed("priority").and_then(|s| v.take(Priority::parse("priority", s)));
        let error_class =
            parsed("error_class").and_then(|s| v.take(ErrorClass::parse("error_class", s)));
        let kind = parsed("type").and_then(|s| v.take(super::types::parse_name("type", s)));
        let correlation_id = parsed("correlation_id").and_then(|s| {
            if crate::kernel::id::is_uuid(s) {
                Some(s.to_ascii_lowercase())
            } else {
                v.add("correlation_id", "format", "correlation_id must be a UUID");
                None
            }
        });
        let created_from = parsed("created_from")
            .and_then(|s| v.take(Instant::parse("created_from", s)))
            .map(Instant::millis);
        let created_to = parsed("created_to")
            .and_then(|s| v.take(Instant::parse("created_to", s)))
            .map(Instant::millis);
        v.finish()?;
        Ok(Self {
            status,
            category,
            kind,
            priority,
            error_class,
            correlation_id,
            created_from,
            created_to,
        })
    }
}

/// The firm's jobs, newest first.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &JobFilter,
    page: &PageRequest,
) -> DomainResult<Page<JobRecord>> {
    let records: Vec<JobRecord> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                  WHERE firm_id = ?1 AND (?2 IS NULL OR id < ?2)
                    AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR category = ?4) AND (?5 IS NULL OR type = ?5)
                    AND (?6 IS NULL OR priority = ?6) AND (?7 IS NULL OR error_class = ?7)
                    AND (?8 IS NULL OR correlation_id = ?8) AND (?9 IS NULL OR created_at >= ?9)
                    AND (?10 IS NULL OR created_at < ?10)
                  ORDER BY id DESC LIMIT ?11"
            ),
            vec![
                scope.firm_id().into(),
                page.after.clone().into(),
                filter.status.map(Status::name).into(),
                filter.category.map(Category::name).into(),
                filter.kind.clone().into(),
                filter.priority.map(Priority::rank).into(),
                filter.error_class.map(ErrorClass::name).into(),
                filter.correlation_id.clone().into(),
                filter.created_from.into(),
                filter.created_to.into(),
                page.fetch_limit().into(),
            ],
        ),
    )
    .await?;
    Ok(Page::from_rows(records, page, |r| r.id.clone()))
}

/// One attempt of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based.
    pub number: i64,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms; absent while it runs.
    pub finished_at: Option<i64>,
    /// `completed`, `failed`, `timed_out`, `lost`; absent while it runs.
    pub outcome: Option<String>,
    /// The failure's class.
    pub error_class: Option<ErrorClass>,
    /// The handler's or provider's HTTP status.
    pub status_code: Option<i64>,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it ran.
    pub duration_ms: Option<i64>,
}

/// One of the firm's jobs, or `NotFound`.
pub async fn get(db: &impl Sql, scope: &TenantScope, job_id: &str) -> DomainResult<JobRecord> {
    let row: Option<JobRecord> = query_one(
        db,
        Statement::new(
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1 AND firm_id = ?2"),
            vec![job_id.into(), scope.firm_id().into()],
        ),
    )
    .await?;
    row.ok_or(DomainError::NotFound("job"))
}

/// A job's attempts, first first.
pub async fn attempts(
    db: &impl Sql,
    scope: &TenantScope,
    job_id: &str,
) -> DomainResult<Vec<Attempt>> {
    query_as(
        db,
        stmt!(
            "SELECT number, started_at, finished_at, outcome, error_class, status_code, error, duration_ms
               FROM jobs_attempts WHERE job_id = ?1 AND firm_id = ?2 ORDER BY number",
            job_id,
            scope.firm_id()
        ),
    )
    .await
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// The job will not run.
    Now,
    /// It is running: it finishes this attempt, then stops.
    AfterAttempt,
}

/// Cancels a pending job at once, or a running one after its attempt; anything
/// else is a 409.
pub async fn cancel(
    db: &impl Sql,
    scope: &TenantScope,
    job_id: &str,
    now: Instant,
) -> DomainResult<Cancelled> {
    let outcomes = db
        .batch(vec![
            stmt!(
                "UPDATE jobs SET status = 'cancelled', completed_at = ?3, updated_at = ?3
                  WHERE id = ?1 AND firm_id = ?2 AND status = 'pending' RETURNING id",
                job_id,
                scope.firm_id(),
                now.millis()
            ),
            stmt!(
                "UPDATE jobs SET cancel_requested = 1, updated_at = ?3
                  WHERE id = ?1 AND firm_id = ?2 AND status = 'processing' AND cancel_requested = 0 RETURNING id",
                job_id,
                scope.firm_id(),
                now.millis()
            ),
        ])
        .await?;
    let changed = |i: usize| outcomes.get(i).is_some_and(|o| !o.rows.is_empty());
    if changed(0) {
        return Ok(Cancelled::Now);
    }
    if changed(1) {
        return Ok(Cancelled::AfterAttempt);
    }
    let job = get(db, scope, job_id).await?;
    Err(DomainError::conflict(
        "status",
        format!("a {} job cannot be cancelled", job.status.name()),
    ))
}

/// Makes a pending job (waiting for its time or a retry) due now; returns the
/// message that runs it. Anything else is a 409.
pub async fn retry_now(
    db: &impl Sql,
    scope: &TenantScope,
    job_id: &str,
    now: Instant,
) -> DomainResult<Dispatch> {
    let row: Option<Dispatch> = query_one(
        db,
        stmt!(
            "UPDATE jobs SET due_at = ?3, sent_at = ?3, updated_at = ?3
              WHERE id = ?1 AND firm_id = ?2 AND status = 'pending' AND cancel_requested = 0
          RETURNING id AS job_id, firm_id, attempt_count + 1 AS attempt, due_at",
            job_id,
            scope.firm_id(),
            now.millis()
        ),
    )
    .await?;
    if let Some(dispatch) = row {
        return Ok(dispatch);
    }
    let job = get(db, scope, job_id).await?;
    let hint = match job.status {
        Status::Dlq | Status::Failed => "; reprocess its dead-letter entry instead",
        _ => "",
    };
    Err(DomainError::conflict(
        "status",
        format!(
            "only a pending job can be retried now; this one is {}{hint}",
            job.status.name()
        ),
    ))
}

/// A dead-letter entry as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// `dlq_…`.
    pub id: String,
    /// The original job.
    pub job_id: String,
    /// Its category.
    pub category: Category,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Payload shape version.
    pub payload_version: String,
    /// The full payload.
    #[serde(deserialize_with = "json_from_text")]
    pub payload: Value,
    /// The original key (reprocessing keeps it).
    pub idempotency_key: String,
    /// Its correlation id.
    pub correlation_id: String,
    /// The last failure's class.
    pub error_class: Option<ErrorClass>,
    /// The last failure.
    pub error: Option<String>,
    /// Attempts made, reprocessing included.
    pub attempt_count: i64,
    /// When the original job was created (Unix ms).
    pub job_created_at: i64,
    /// Where its review is.
    pub status: DeadStatus,
    /// Last reprocessed (Unix ms).
    pub reprocessed_at: Option<i64>,
    /// By whom.
    pub reprocessed_by: Option<String>,
    /// The job reprocessing it.
    pub reprocess_job_id: Option<String>,
    /// How many times it was reprocessed.
    pub reprocess_count: i64,
    /// The reviewers' notes.
    pub notes: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// When it was resolved or discarded (Unix ms).
    pub closed_at: Option<i64>,
}

const DEAD_COLUMNS: &str = "id, job_id, category, type, payload_version, payload, idempotency_key, correlation_id,
    error_class, error, attempt_count, job_created_at, status, reprocessed_at, reprocessed_by, reprocess_job_id,
    reprocess_count, notes, created_at, closed_at";

/// Filters of the dead-letter list and of bulk actions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeadFilter {
    /// Only this review status (bulk actions take `pending_review` only).
    pub status: Option<DeadStatus>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this type.
    pub kind: Option<String>,
    /// Only this error class.
    pub error_class: Option<ErrorClass>,
}

impl DeadFilter {
    /// Parses the list's query parameters or a bulk body's fields.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let parsed = |name: &str| get(name);
        let status = parsed("status").and_then(|s| v.take(DeadStatus::parse("status", s)));
        let category = parsed("category").and_then(|s| v.take(Category::parse("category", s)));
        let error_class =
            parsed("error_class").and_then(|s| v.take(ErrorClass::parse("error_class", s)));
        let kind = parsed("type").and_then(|s| v.take(super::types::parse_name("type", s)));
        v.finish()?;
        Ok(Self {
            status,
            category,
            kind,
            error_class,
        })
    }

    fn params(&self) -> Vec<SqlValue> {
        vec![
            self.status.map(DeadStatus::name).into(),
            self.category.map(Category::name).into(),
            self.kind.clone().into(),
            self.error_class.map(ErrorClass::name).into(),
        ]
    }
}

const DEAD_WHERE: &str =
    "firm_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR category = ?3)
    AND (?4 IS NULL OR type = ?4) AND (?5 IS NULL OR error_class = ?5)";

/// The firm's dead letters, newest first.
pub async fn dead_letters(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &DeadFilter,
    page: &PageRequest,
) -> DomainResult<Page<DeadLetter>> {
    let mut params: Vec<SqlValue> = vec![scope.firm_id().into()];
    params.extend(filter.params());
    params.push(page.after.clone().into());
    params.push(page.fetch_limit().into());
    let items: Vec<DeadLetter> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {DEAD_COLUMNS} FROM jobs_dead_letters WHERE {DEAD_WHERE} AND (?6 IS NULL OR id < ?6)
                  ORDER BY id DESC LIMIT ?7"
            ),
            params,
        ),
    )
    .await?;
    Ok(Page::from_rows(items, page, |d| d.id.clone()))
}

/// One dead letter with its full payload, or `NotFound`.
pub async fn dead_letter(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<DeadLetter> {
    let row: Option<DeadLetter> = query_one(
        db,
        Statement::new(
            format!("SELECT {DEAD_COLUMNS} FROM jobs_dead_letters WHERE id = ?1 AND firm_id = ?2"),
            vec![id.into(), scope.firm_id().into()],
        ),
    )
    .await?;
    row.ok_or(DomainError::NotFound("dead letter"))
}

/// A reviewer's notes on a dead-letter action (≤ 2,000 characters), from a body.
pub fn parse_notes(body: &Value) -> DomainResult<Option<String>> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["notes"]);
    let notes = input
        .string(&mut v, "notes", false)
        .and_then(|n| v.take(crate::kernel::validate::text("notes", n, 0, 2_000)))
        .filter(|n| !n.is_empty());
    v.finish()?;
    Ok(notes)
}

/// A reprocess made: the message that runs the new job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reprocessed {
    /// The entry.
    pub dead_letter_id: String,
    /// The new job.
    pub job_id: String,
    /// Its first message.
    pub dispatch: Dispatch,
}

/// The statements that reprocess entry `id` as the new job `job_id`: a copy of the
/// original (same type, payload, priority and idempotency key, due now, a fresh
/// schedule) and the entry moved to `reprocessing`. Only a `pending_review` entry
/// of `firm_id` reprocesses.
fn reprocess_statements(
    firm_id: &str,
    id: &str,
    job_id: &str,
    by: &str,
    notes: Option<&str>,
    now: Instant,
) -> [Statement; 2] {
    [
        stmt!(
            "INSERT INTO jobs (id, firm_id, category, type, payload_version, payload, idempotency_key, correlation_id,
                               priority, status, scheduled_at, due_at, sent_at, max_attempts, manual, reprocess_of,
                               created_by, created_at, updated_at)
             SELECT ?1, d.firm_id, d.category, d.type, d.payload_version, d.payload, d.idempotency_key, d.correlation_id,
                    COALESCE(j.priority, 2), 'pending', ?4, ?4, ?4, COALESCE(j.max_attempts, 5), 1, d.id, ?5, ?4, ?4
               FROM jobs_dead_letters d LEFT JOIN jobs j ON j.id = d.job_id
              WHERE d.id = ?2 AND d.firm_id = ?3 AND d.status = 'pending_review'",
            job_id,
            id,
            firm_id,
            now.millis(),
            by
        ),
        stmt!(
            "UPDATE jobs_dead_letters SET status = 'reprocessing', reprocessed_at = ?4, reprocessed_by = ?5,
                    reprocess_job_id = ?1, reprocess_count = reprocess_count + 1,
                    notes = CASE WHEN ?6 IS NULL THEN notes WHEN notes IS NULL THEN ?6 ELSE notes || char(10) || ?6 END
              WHERE id = ?2 AND firm_id = ?3 AND status = 'pending_review'",
            job_id,
            id,
            firm_id,
            now.millis(),
            by,
            notes
        ),
    ]
}

/// Reprocesses one entry: a new job (new id, the original's idempotency key so
/// handlers do not repeat a side effect that already happened). A 409 unless the
/// entry is waiting for review.
pub async fn reprocess(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    by: &str,
    notes: Option<&str>,
    now: Instant,
) -> DomainResult<Reprocessed> {
    let entry = dead_letter(db, scope, id).await?;
    if entry.status != DeadStatus::PendingReview {
        return Err(not_reviewable(entry.status));
    }
    let job_id = new_id("job", now.millis())?;
    let outcomes = db
        .batch(reprocess_statements(scope.firm_id(), id, &job_id, by, notes, now).into())
        .await?;
    if outcomes.first().is_none_or(|o| o.changes == 0) {
        // Another reviewer got there between the read and the write.
        return Err(not_reviewable(DeadStatus::Reprocessing));
    }
    Ok(Reprocessed {
        dead_letter_id: id.to_owned(),
        dispatch: Dispatch {
            job_id: job_id.clone(),
            firm_id: scope.firm_id().to_owned(),
            attempt: 1,
            due_at: now.millis(),
        },
        job_id,
    })
}

fn not_reviewable(status: DeadStatus) -> DomainError {
    DomainError::conflict(
        "status",
        format!(
            "only a dead letter pending review can be reprocessed or discarded; this one is {}",
            status.name()
        ),
    )
}

/// Discards one entry (it will not run). A 409 unless it is waiting for review.
pub async fn discard(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    by: &str,
    notes: Option<&str>,
    now: Instant,
) -> DomainResult<()> {
    let entry = dead_letter(db, scope, id).await?;
    if entry.status != DeadStatus::PendingReview {
        return Err(not_reviewable(entry.status));
    }
    let changed = db
        .execute(discard_statement(scope.firm_id(), id, by, notes, now))
        .await?;
    if changed == 0 {
        return Err(not_reviewable(DeadStatus::Reprocessing));
    }
    Ok(())
}

fn discard_statement(
    firm_id: &str,
    id: &str,
    by: &str,
    notes: Option<&str>,
    now: Instant,
) -> Statement {
    stmt!(
        "UPDATE jobs_dead_letters SET status = 'discarded', closed_at = ?3, reprocessed_by = ?4,
                notes = CASE WHEN ?5 IS NULL THEN notes WHEN notes IS NULL THEN ?5 ELSE notes || char(10) || ?5 END
          WHERE id = ?1 AND firm_id = ?2 AND status = 'pending_review'",
        id,
        firm_id,
        now.millis(),
        by,
        notes
    )
}

/// A bulk action over the dead letters pending review that match a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    /// Reprocess each.
    Reprocess,
    /// Discard each.
    Discard,
}

/// Applies `action` to up to [`BULK_MAX`] entries pending review matching
/// `filter`, oldest first; returns what was reprocessed (new jobs to send) and the
/// ids touched.
pub async fn bulk(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &DeadFilter,
    action: Bulk,
    by: &str,
    notes: Option<&str>,
    now: Instant,
) -> DomainResult<(Vec<String>, Vec<Reprocessed>)> {
    let mut filter = filter.clone();
    filter.status = Some(DeadStatus::PendingReview);
    let mut params: Vec<SqlValue> = vec![scope.firm_id().into()];
    params.extend(filter.params());
    params.push(BULK_MAX.into());
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let ids: Vec<Id> = query_as(
        db,
        Statement::new(
            format!("SELECT id FROM jobs_dead_letters WHERE {DEAD_WHERE} ORDER BY id LIMIT ?6"),
            params,
        ),
    )
    .await?;
    let mut touched = Vec::new();
    let mut reprocessed = Vec::new();
    // 50 entries a batch keeps each batch at 100 statements or fewer.
    for chunk in ids.chunks(50) {
        let mut statements = Vec::new();
        let mut planned = Vec::new();
        for Id { id } in chunk {
            match action {
                Bulk::Reprocess => {
                    let job_id = new_id("job", now.millis())?;
                    statements.extend(reprocess_statements(
                        scope.firm_id(),
                        id,
                        &job_id,
                        by,
                        notes,
                        now,
                    ));
                    planned.push((id.clone(), Some(job_id)));
                }
                Bulk::Discard => {
                    statements.push(discard_statement(scope.firm_id(), id, by, notes, now));
                    planned.push((id.clone(), None));
                }
            }
        }
        let outcomes = db.batch(statements).await?;
        let per_entry = match action {
            Bulk::Reprocess => 2,
            Bulk::Discard => 1,
        };
        for (i, (id, job_id)) in planned.into_iter().enumerate() {
            let applied = outcomes.get(i * per_entry).is_some_and(|o| o.changes > 0);
            if !applied {
                continue;
            }
            touched.push(id.clone());
            if let Some(job_id) = job_id {
                reprocessed.push(Reprocessed {
                    dead_letter_id: id,
                    dispatch: Dispatch {
                        job_id: job_id.clone(),
                        firm_id: scope.firm_id().to_owned(),
                        attempt: 1,
                        due_at: now.millis(),
                    },
                    job_id,
                });
            }
        }
    }
    Ok((touched, reprocessed))
}

/// Most attempts a person may ask for when starting a job by hand.
pub const MANUAL_MAX_ATTEMPTS: i64 = 10;

/// A checked request to start a job by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct StartJob<'a> {
    /// The registered type.
    pub job_type: &'a super::types::JobType<'a>,
    /// The payload, with the firm, a correlation id and an idempotency key filled in
    /// where the caller left them out.
    pub payload: Value,
    /// Payload shape version.
    pub payload_version: String,
    /// How urgent.
    pub priority: Priority,
    /// When it may first run.
    pub run_at: Option<Instant>,
    /// Attempts in all: one unless the caller asks for more (a run a person starts is
    /// not retried behind their back).
    pub max_attempts: u32,
}

/// Parses `POST /v1/jobs`: `type` (registered, startable by hand), `payload`
/// (an object), `payload_version`, `priority`, `run_at` (RFC 3339; a past time runs now),
/// `max_attempts` (1–10). `header_key` is the request's `Idempotency-Key`, used as
/// the job's key when the payload has none. Every broken rule is named.
pub fn parse_start<'a>(
    body: &Value,
    extra: &'a [super::types::JobType<'a>],
    firm_id: &str,
    header_key: Option<&str>,
    now: Instant,
) -> DomainResult<StartJob<'a>> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(
        &mut v,
        &[
            "type",
            "payload",
            "payload_version",
            "priority",
            "run_at",
            "max_attempts",
        ],
    );
    let kind = input.string(&mut v, "type", true).and_then(|raw| {
        let found = v.take(super::types::parse(extra, "type", raw))?;
        if found.manual {
            Some(found)
        } else {
            v.add(
                "type",
                "manual",
                format!("{raw} jobs are started by the platform, not by hand"),
            );
            None
        }
    });
    let mut payload = match body.get("payload") {
        None => Some(serde_json::Map::new()),
        Some(Value::Object(o)) => Some(o.clone()),
        Some(_) => {
            v.add("payload", "type", "payload must be a JSON object");
            None
        }
    };
    let payload_version = input
        .string(&mut v, "payload_version", false)
        .and_then(|raw| v.take(crate::kernel::validate::text("payload_version", raw, 1, 20)))
        .unwrap_or_else(|| "1.0".to_owned());
    let priority = input
        .string(&mut v, "priority", false)
        .and_then(|raw| v.take(Priority::parse("priority", raw)))
        .unwrap_or(Priority::Normal);
    let run_at = input
        .string(&mut v, "run_at", false)
        .and_then(|raw| v.take(Instant::parse("run_at", raw)));
    let max_attempts = match input.integer(&mut v, "max_attempts", false) {
        None => 1,
        Some(n) if (1..=MANUAL_MAX_ATTEMPTS).contains(&n) => u32::try_from(n).unwrap_or(1),
        Some(_) => {
            v.add(
                "max_attempts",
                "range",
                format!("max_attempts must be from 1 to {MANUAL_MAX_ATTEMPTS}"),
            );
            1
        }
    };
    if let Some(p) = payload.as_mut() {
        if kind.is_some_and(|k| k.name == super::types::PURGE_HISTORY) {
            match p.get("as_of") {
                None => {}
                Some(t) if t.as_i64().is_some_and(|t| t <= now.millis()) => {}
                Some(_) => v.add(
                    "payload.as_of",
                    "range",
                    "payload.as_of must be a Unix time in ms, not in the future",
                ),
            }
        }
        p.entry("tenant_id").or_insert_with(|| firm_id.into());
        if !p.contains_key("correlation_id") {
            p.insert(
                "correlation_id".into(),
                crate::kernel::id::uuid_v4()?.into(),
            );
        }
        if !p.contains_key("idempotency_key") {
            let key = match header_key {
                Some(k) => k.to_owned(),
                None => format!("manual:{}", crate::kernel::id::uuid_v4()?),
            };
            p.insert("idempotency_key".into(), key.into());
        }
    }
    v.finish()?;
    Ok(StartJob {
        // `v.finish` has failed on a missing or unknown type.
        job_type: kind
            .ok_or_else(|| DomainError::invalid("type", "required", "type is required"))?,
        payload: payload.map(Value::Object).unwrap_or_default(),
        payload_version,
        priority,
        run_at,
        max_attempts,
    })
}

/// Parses a bulk dead-letter request: an optional filter (`category`, `type`,
/// `error_class`; the entries pending review that match all of them) and `notes`.
pub fn parse_bulk(body: &Value) -> DomainResult<(DeadFilter, Option<String>)> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["category", "type", "error_class", "notes"]);
    let fields: Vec<(&str, Option<&str>)> = ["category", "type", "error_class"]
        .into_iter()
        .map(|k| (k, input.string(&mut v, k, false)))
        .collect();
    let notes = input
        .string(&mut v, "notes", false)
        .and_then(|n| v.take(crate::kernel::validate::text("notes", n, 0, 2_000)))
        .filter(|n| !n.is_empty());
    let filter = v.take(DeadFilter::parse(|name| {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, value)| *value)
    }));
    v.finish()?;
    Ok((filter.unwrap_or_default(), notes))
}
