//! The life of a job row: enqueue (a statement for the caller's own batch), claim
//! with a lease, renew, record the outcome (retry, dead-letter, complete), the
//! reaper for lost runners and the sweep for due jobs the queue does not carry yet.
//!
//! Every write a runner makes is guarded by its claim token, so a runner whose
//! lease was taken over changes nothing when it finally answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::payload::{self, Contract};
use super::types::{JobType, Policy};
use super::{Category, ErrorClass, Priority};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::{from_row, query_as, query_one, Sql, Statement, Value as SqlValue};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// How long a claim holds a job; the runner renews it every third of this while
/// the handler runs, and the reaper takes back a lease that ran out.
pub const LEASE_MS: i64 = 60_000;
/// How often a runner renews its lease.
pub const RENEW_EVERY_MS: i64 = LEASE_MS / 3;
/// A due job still waiting this long after its last message gets a fresh one (a
/// lost send, or a firm over its concurrency whose turn has come).
pub const LATE_MS: i64 = 120_000;
/// Most jobs one sweep sends.
pub const SWEEP_BATCH: i64 = 100;
/// Longest delay a queue message may carry (Cloudflare Queues: 12 h).
pub const MAX_QUEUE_DELAY_SECS: i64 = 43_200;
/// Longest error text kept.
pub const MAX_ERROR_CHARS: usize = 1_000;
/// Largest result kept, serialised.
pub const MAX_RESULT_BYTES: usize = 4_096;

/// What the `jobs` queue carries: which job, for which attempt, due when. A message
/// whose attempt or due time no longer matches the row is stale and claims nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatch {
    /// The job.
    pub job_id: String,
    /// Its firm.
    pub firm_id: String,
    /// The attempt the message is for (1-based).
    pub attempt: i64,
    /// The due time the message was sent for (Unix ms).
    pub due_at: i64,
}

impl Dispatch {
    /// Seconds the queue should hold the message, as seen at `now` (`None` past the
    /// queue's 12 h: the sweep sends it when it is nearer).
    pub fn delay_secs(&self, now: Instant) -> Option<i64> {
        let secs = ((self.due_at - now.millis()).max(0) + 999) / 1_000;
        (secs <= MAX_QUEUE_DELAY_SECS).then_some(secs)
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// Its registered type.
    pub job_type: &'a JobType<'a>,
    /// The payload (checked against the contract).
    pub payload: &'a Value,
    /// Payload shape version.
    pub payload_version: &'a str,
    /// How urgent.
    pub priority: Priority,
    /// When it may first run (`None`: now).
    pub run_at: Option<Instant>,
    /// Attempts in all (`None`: the type's policy).
    pub max_attempts: Option<u32>,
    /// Started by a person.
    pub manual: bool,
    /// Who asked (a user id), if a person did.
    pub created_by: Option<&'a str>,
}

/// An enqueue made: the statement to put in the batch of the change that caused it,
/// and the message to send once that batch is written.
#[derive(Debug, Clone)]
pub struct Enqueued {
    /// The new job's id (if the key was already used, the batch inserts nothing and
    /// [`by_key`] finds the existing job).
    pub job_id: String,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The `INSERT` for the batch.
    pub statement: Statement,
    /// The queue message to send after the batch (`delay_secs` may be `None`).
    pub dispatch: Dispatch,
    /// What the payload lint noticed.
    pub lint: Vec<String>,
}

/// Builds the enqueue of `job` in `scope`'s firm: checks the payload contract and
/// returns the statement for the caller's batch. A second enqueue with the same
/// (firm, idempotency key) inserts nothing.
pub fn enqueue(scope: &TenantScope, job: &NewJob<'_>, now: Instant) -> DomainResult<Enqueued> {
    let kind = job.job_type;
    let Contract {
        correlation_id,
        idempotency_key,
        text,
    } = payload::check("payload", job.payload, scope.firm_id(), kind.category)?;
    let max_attempts = i64::from(
        job.max_attempts
            .unwrap_or_else(|| kind.policy.schedule.max_attempts()),
    );
    let id = new_id("job", now.millis())?;
    let due = job.run_at.unwrap_or(now).millis().max(now.millis());
    let dispatch = Dispatch {
        job_id: id.clone(),
        firm_id: scope.firm_id().to_owned(),
        attempt: 1,
        due_at: due,
    };
    let sent_at = dispatch.delay_secs(now).map(|_| now.millis());
    let statement = stmt!(
        "INSERT INTO jobs (id, firm_id, category, type, payload_version, payload, idempotency_key, correlation_id,
                           priority, status, scheduled_at, due_at, sent_at, max_attempts, manual, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?10, ?11, ?12, ?13, ?14, ?15, ?15)
         ON CONFLICT (firm_id, idempotency_key) WHERE reprocess_of IS NULL DO NOTHING",
        id.as_str(),
        scope.firm_id(),
        kind.category.name(),
        kind.name,
        job.payload_version,
        text,
        idempotency_key.as_str(),
        correlation_id,
        job.priority.rank(),
        due,
        sent_at,
        max_attempts,
        job.manual,
        job.created_by,
        now.millis()
    );
    Ok(Enqueued {
        job_id: id,
        idempotency_key,
        statement,
        dispatch,
        lint: payload::lint("payload", job.payload),
    })
}

/// The id of the original job with `key` in `scope`'s firm.
pub async fn by_key(db: &impl Sql, scope: &TenantScope, key: &str) -> DomainResult<String> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let found: Option<Id> = query_one(
        db,
        stmt!(
            "SELECT id FROM jobs WHERE firm_id = ?1 AND idempotency_key = ?2 AND reprocess_of IS NULL",
            scope.firm_id(),
            key
        ),
    )
    .await?;
    found.map(|f| f.id).ok_or(DomainError::NotFound("job"))
}

/// A job a runner holds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Claimed {
    /// The job.
    pub id: String,
    /// Its firm.
    pub firm_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its category.
    pub category: Category,
    /// Payload shape version.
    pub payload_version: String,
    /// The payload as stored (JSON text).
    pub payload: String,
    /// The key handlers deduplicate side effects on (a reprocessed job's original's).
    pub idempotency_key: String,
    /// Carried through logs and outbound calls.
    pub correlation_id: String,
    /// This attempt's number.
    pub attempt_count: i64,
    /// Attempts in all.
    pub max_attempts: i64,
    /// The dead-letter entry this job reprocesses, if any.
    pub reprocess_of: Option<String>,
    /// The claim token guarding every write of this runner.
    #[serde(skip)]
    pub token: String,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimResult {
    /// This runner holds the job.
    Claimed(Box<Claimed>),
    /// The job is due but its firm already runs as many of the category as it may;
    /// a finishing job (or the sweep) sends it again.
    Waiting,
    /// The message is stale (done, cancelled, another attempt, another due time).
    Stale,
}

/// `CASE category WHEN 'sync' THEN 2 …`: each category's share per firm, as SQL
/// built once from [`Category::concurrency_per_firm`].
fn concurrency_case() -> &'static str {
    static CASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CASE.get_or_init(|| {
        let arms: String = Category::ALL
            .iter()
            .map(|c| format!(" WHEN '{}' THEN {}", c.name(), c.concurrency_per_firm()))
            .collect();
        format!("CASE category{arms} ELSE 1 END")
    })
}

/// `CASE priority WHEN 0 THEN 60000 …`: each priority's SLA in ms, as SQL built
/// once from [`Priority::sla_ms`].
fn sla_case() -> &'static str {
    static CASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CASE.get_or_init(|| {
        let arms: String = Priority::ALL
            .iter()
            .map(|p| format!(" WHEN {} THEN {}", p.rank(), p.sla_ms()))
            .collect();
        format!("CASE priority{arms} ELSE {} END", Priority::Normal.sla_ms())
    })
}

/// Claims the attempt `dispatch` is for: one conditional update (pending, this
/// attempt, this due time, the firm under its concurrency for the category) that
/// takes a lease, plus the attempt row.
pub async fn claim(
    db: &impl Sql,
    dispatch: &Dispatch,
    token: &str,
    now: Instant,
) -> DomainResult<ClaimResult> {
    let update = Statement::new(
        format!(
            "UPDATE jobs SET status = 'processing', claimed_by = ?2, claimed_at = ?3, lease_expires_at = ?4,
                    attempt_count = attempt_count + 1, started_at = COALESCE(started_at, ?3), updated_at = ?3
              WHERE id = ?1 AND firm_id = ?7 AND status = 'pending' AND attempt_count = ?5 AND due_at = ?6 AND cancel_requested = 0
                AND (SELECT COUNT(*) FROM jobs r WHERE r.firm_id = jobs.firm_id AND r.category = jobs.category
                        AND r.status = 'processing' AND r.lease_expires_at > ?3) < {}
          RETURNING id, firm_id, type, category, payload_version, payload, idempotency_key, correlation_id,
                    attempt_count, max_attempts, reprocess_of",
            concurrency_case()
        ),
        vec![
            dispatch.job_id.as_str().into(),
            token.into(),
            now.millis().into(),
            now.plus_millis(LEASE_MS).millis().into(),
            (dispatch.attempt - 1).into(),
            dispatch.due_at.into(),
            dispatch.firm_id.as_str().into(),
        ],
    );
    let attempt = stmt!(
        "INSERT INTO jobs_attempts (job_id, number, firm_id, started_at)
         SELECT id, attempt_count, firm_id, ?3 FROM jobs WHERE id = ?1 AND claimed_by = ?2 AND status = 'processing'",
        dispatch.job_id.as_str(),
        token,
        now.millis()
    );
    let outcomes = db.batch(vec![update, attempt]).await?;
    if let Some(row) = outcomes
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
    {
        let mut claimed: Claimed = from_row(row)?;
        claimed.token = token.to_owned();
        return Ok(ClaimResult::Claimed(Box::new(claimed)));
    }
    #[derive(Deserialize)]
    struct State {
        status: String,
        attempt_count: i64,
        due_at: i64,
        cancel_requested: i64,
    }
    let state: Option<State> = query_one(
        db,
        stmt!(
            "SELECT status, attempt_count, due_at, cancel_requested FROM jobs WHERE id = ?1",
            dispatch.job_id.as_str()
        ),
    )
    .await?;
    let waiting = state.is_some_and(|s| {
        s.status == "pending"
            && s.attempt_count == dispatch.attempt - 1
            && s.due_at == dispatch.due_at
            && s.cancel_requested == 0
    });
    Ok(if waiting {
        ClaimResult::Waiting
    } else {
        ClaimResult::Stale
    })
}

/// Extends the lease of a job this runner still holds; false when it lost it.
pub async fn renew(db: &impl Sql, claimed: &Claimed, now: Instant) -> DomainResult<bool> {
    let changed = db
        .execute(stmt!(
            "UPDATE jobs SET lease_expires_at = ?3, updated_at = ?4 WHERE id = ?1 AND claimed_by = ?2 AND status = 'processing'",
            claimed.id.as_str(),
            claimed.token.as_str(),
            now.plus_millis(LEASE_MS).millis(),
            now.millis()
        ))
        .await?;
    Ok(changed > 0)
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler succeeded, with an optional small result.
    Completed(Option<Value>),
    /// The handler (or the runtime) failed.
    Failed(Failure),
}

/// A failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Why, as a class.
    pub class: ErrorClass,
    /// The handler's or provider's HTTP status, if there was one.
    pub status: Option<u16>,
    /// What went wrong (redacted, cut to 1,000 characters when stored).
    pub error: String,
    /// The provider's `Retry-After`, seconds.
    pub retry_after_secs: Option<i64>,
    /// The attempt ran past the type's run timeout.
    pub timed_out: bool,
}

/// What happens next to a job whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after this many seconds.
    RetryIn(i64),
    /// Give up: to the dead-letter list.
    DeadLetter,
}

/// The retry rule: a class the policy retries with attempts left waits the
/// schedule's delay (a rate limit waits the provider's `Retry-After` instead, up to
/// 12 h); anything else goes to the dead-letter list. (A job a person starts by hand
/// gets one attempt unless they ask for more.)
pub fn decide(
    policy: &Policy,
    attempt: i64,
    max_attempts: i64,
    failure: &Failure,
    unit: f64,
) -> Verdict {
    if !policy.retry_on.contains(&failure.class) || attempt >= max_attempts {
        return Verdict::DeadLetter;
    }
    let n = u32::try_from(attempt.clamp(1, i64::from(u32::MAX))).unwrap_or(1);
    // The job's own max_attempts may exceed the schedule's: keep its last delay.
    let schedule = policy.schedule;
    let delay = (1..=n)
        .rev()
        .find_map(|k| schedule.delay_after(k, unit))
        .unwrap_or(1);
    let delay = match (failure.class, failure.retry_after_secs) {
        (ErrorClass::RateLimited, Some(after)) => after.clamp(1, MAX_QUEUE_DELAY_SECS),
        _ => delay,
    };
    Verdict::RetryIn(delay.max(0))
}

/// What became of a finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Completed.
    Completed,
    /// A retry is due; send this message (it may be beyond the queue's reach).
    Retry(Dispatch),
    /// Dead-lettered.
    DeadLettered,
    /// Cancelled (a cancel came while it ran).
    Cancelled,
    /// The runner had lost its lease; nothing was written.
    LostLease,
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Records the outcome of `claimed`'s attempt and moves the job on: completed, a
/// retry on the policy's schedule, or the dead-letter list. A reprocessed job
/// resolves its dead-letter entry on success and reopens it on failure.
pub async fn finish(
    db: &impl Sql,
    claimed: &Claimed,
    policy: &Policy,
    outcome: &Outcome,
    started: Instant,
    now: Instant,
    unit: f64,
) -> DomainResult<Next> {
    let id = claimed.id.as_str();
    let token = claimed.token.as_str();
    let duration = (now.millis() - started.millis()).max(0);
    let held =
        "EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND claimed_by = ?2 AND status = 'processing')";
    let mut statements = Vec::new();
    let (status, due, sent, class, error, result) = match outcome {
        Outcome::Completed(result) => {
            let result = result
                .as_ref()
                .map(Value::to_string)
                .filter(|t| t.len() <= MAX_RESULT_BYTES);
            statements.push(Statement::new(
                format!(
                    "UPDATE jobs_attempts SET finished_at = ?3, outcome = 'completed', duration_ms = ?4
                      WHERE job_id = ?1 AND number = ?5 AND {held}"
                ),
                vec![
                    id.into(),
                    token.into(),
                    now.millis().into(),
                    duration.into(),
                    claimed.attempt_count.into(),
                ],
            ));
            if let Some(entry) = &claimed.reprocess_of {
                statements.push(Statement::new(
                    format!(
                        "UPDATE jobs_dead_letters SET status = 'resolved', closed_at = ?3
                          WHERE id = ?4 AND status = 'reprocessing' AND {held}"
                    ),
                    vec![
                        id.into(),
                        token.into(),
                        now.millis().into(),
                        entry.as_str().into(),
                    ],
                ));
            }
            ("completed", None, None, None, None, result)
        }
        Outcome::Failed(failure) => {
            let error = cut(&failure.error, MAX_ERROR_CHARS);
            let verdict = decide(
                policy,
                claimed.attempt_count,
                claimed.max_attempts,
                failure,
                unit,
            );
            statements.push(Statement::new(
                format!(
                    "UPDATE jobs_attempts SET finished_at = ?3, outcome = ?4, error_class = ?5, status_code = ?6, error = ?7, duration_ms = ?8
                      WHERE job_id = ?1 AND number = ?9 AND {held}"
                ),
                vec![
                    id.into(),
                    token.into(),
                    now.millis().into(),
                    if failure.timed_out { "timed_out" } else { "failed" }.into(),
                    failure.class.name().into(),
                    failure.status.map(i64::from).into(),
                    error.as_str().into(),
                    duration.into(),
                    claimed.attempt_count.into(),
                ],
            ));
            match verdict {
                Verdict::RetryIn(secs) => {
                    let due = now.plus_millis(secs * 1_000).millis();
                    let sent = (secs <= MAX_QUEUE_DELAY_SECS).then_some(now.millis());
                    (
                        "pending",
                        Some(due),
                        sent,
                        Some(failure.class),
                        Some(error),
                        None,
                    )
                }
                Verdict::DeadLetter => {
                    statements.extend(dead_letters(
                        "id = ?1 AND claimed_by = ?2 AND status = 'processing' AND cancel_requested = 0",
                        vec![id.into(), token.into()],
                        failure.class,
                        &error,
                        now,
                    ));
                    ("dlq", None, None, Some(failure.class), Some(error), None)
                }
            }
        }
    };
    let finished = status != "pending";
    statements.push(stmt!(
        "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 AND ?3 <> 'completed' THEN 'cancelled' ELSE ?3 END,
                due_at = COALESCE(?4, due_at), sent_at = ?5, error_class = COALESCE(?6, error_class),
                last_error = COALESCE(?7, last_error), result = ?8,
                completed_at = CASE WHEN ?9 OR cancel_requested = 1 THEN ?10 ELSE NULL END,
                claimed_by = NULL, lease_expires_at = NULL, updated_at = ?10
          WHERE id = ?1 AND claimed_by = ?2 AND status = 'processing'
      RETURNING status, due_at, attempt_count",
        id,
        token,
        status,
        due,
        sent,
        class.map(ErrorClass::name),
        error,
        result,
        finished,
        now.millis()
    ));
    #[derive(Deserialize)]
    struct After {
        status: String,
        due_at: i64,
        attempt_count: i64,
    }
    let last = db.batch(statements).await?.pop();
    let Some(row) = last.and_then(|o| o.rows.into_iter().next()) else {
        return Ok(Next::LostLease);
    };
    let after: After = from_row(row)?;
    Ok(match after.status.as_str() {
        "completed" => Next::Completed,
        "cancelled" => Next::Cancelled,
        "pending" => Next::Retry(Dispatch {
            job_id: claimed.id.clone(),
            firm_id: claimed.firm_id.clone(),
            attempt: after.attempt_count + 1,
            due_at: after.due_at,
        }),
        _ => Next::DeadLettered,
    })
}

/// The statements that file every job `which` selects (a condition on `jobs`
/// whose parameters are `params`) in the dead-letter list: a new entry for an
/// original job, the original entry reopened (its attempts added) for a
/// reprocessed one. Callers put the cancel and claim guards in `which`.
fn dead_letters(
    which: &str,
    params: Vec<SqlValue>,
    class: ErrorClass,
    error: &str,
    now: Instant,
) -> [Statement; 2] {
    let n = params.len();
    let (c, e, t) = (n + 1, n + 2, n + 3);
    let mut reopen = params;
    reopen.extend([class.name().into(), error.into()]);
    let mut insert = reopen.clone();
    insert.push(now.millis().into());
    [
        Statement::new(
            format!(
                "INSERT INTO jobs_dead_letters (id, job_id, firm_id, category, type, payload_version, payload, idempotency_key,
                                                correlation_id, error_class, error, attempt_count, job_created_at, status, created_at)
                 SELECT 'dlq_' || substr(id, 5), id, firm_id, category, type, payload_version, payload, idempotency_key,
                        correlation_id, ?{c}, ?{e}, attempt_count, created_at, 'pending_review', ?{t}
                   FROM jobs WHERE {which} AND reprocess_of IS NULL
                 ON CONFLICT (job_id) DO NOTHING"
            ),
            insert,
        ),
        Statement::new(
            format!(
                "UPDATE jobs_dead_letters SET status = 'pending_review', error_class = ?{c}, error = ?{e},
                        attempt_count = attempt_count
                          + COALESCE((SELECT attempt_count FROM jobs WHERE reprocess_of = jobs_dead_letters.id AND {which}), 0)
                  WHERE status = 'reprocessing' AND id IN (SELECT reprocess_of FROM jobs WHERE {which})"
            ),
            reopen,
        ),
    ]
}

/// The next of a firm's jobs of `category` waiting for a free slot, highest priority
/// and longest due first: a finishing job hands its slot on by sending it.
pub async fn next_waiting(
    db: &impl Sql,
    firm_id: &str,
    category: Category,
    now: Instant,
) -> DomainResult<Option<Dispatch>> {
    query_one(
        db,
        stmt!(
            "SELECT id AS job_id, firm_id, attempt_count + 1 AS attempt, due_at FROM jobs
              WHERE firm_id = ?1 AND category = ?2 AND status = 'pending' AND due_at <= ?3 AND cancel_requested = 0
              ORDER BY priority, due_at LIMIT 1",
            firm_id,
            category.name(),
            now.millis()
        ),
    )
    .await
}

/// The reaper: every job whose lease ran out goes back to `pending` (due now, its
/// lost attempt counted and recorded), or to the dead-letter list when that was its
/// last attempt. Returns how many it took back.
pub async fn reap(db: &impl Sql, now: Instant) -> DomainResult<u64> {
    let expired = "status = 'processing' AND lease_expires_at < ?1";
    let lost = "the runner's lease expired before it reported (a crashed or stalled worker)";
    let [file, reopen] = dead_letters(
        &format!("{expired} AND attempt_count >= max_attempts AND cancel_requested = 0"),
        vec![now.millis().into()],
        ErrorClass::Transient,
        lost,
        now,
    );
    let statements = vec![
        Statement::new(
            format!(
                "UPDATE jobs_attempts SET finished_at = ?1, outcome = 'lost', error_class = 'transient', error = ?2,
                        duration_ms = ?1 - started_at
                  WHERE outcome IS NULL AND (job_id, number) IN (SELECT id, attempt_count FROM jobs WHERE {expired})"
            ),
            vec![now.millis().into(), lost.into()],
        ),
        file,
        reopen,
        Statement::new(
            format!(
                "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN 'cancelled'
                                              WHEN attempt_count >= max_attempts THEN 'dlq' ELSE 'pending' END,
                        completed_at = CASE WHEN cancel_requested = 1 OR attempt_count >= max_attempts THEN ?1 ELSE NULL END,
                        due_at = ?1, sent_at = NULL, claimed_by = NULL, lease_expires_at = NULL,
                        error_class = 'transient', last_error = ?2, updated_at = ?1
                  WHERE {expired}"
            ),
            vec![now.millis().into(), lost.into()],
        ),
    ];
    let outcomes = db.batch(statements).await?;
    Ok(outcomes.last().map_or(0, |o| o.changes))
}

/// The sweep: pending jobs the queue should carry now: never sent and due within
/// the queue's 12 h reach, or due and waiting since their last message more than
/// [`LATE_MS`] (a lost send, a firm whose slot has freed). Each is marked sent.
pub async fn sweep(db: &impl Sql, now: Instant) -> DomainResult<Vec<Dispatch>> {
    let due: Vec<Dispatch> = query_as(
        db,
        stmt!(
            "SELECT id AS job_id, firm_id, attempt_count + 1 AS attempt, due_at FROM jobs
              WHERE status = 'pending' AND cancel_requested = 0
                AND ((sent_at IS NULL AND due_at <= ?1 + ?2)
                     OR (due_at <= ?1 - ?3 AND (sent_at IS NULL OR sent_at <= ?1 - ?3)))
              ORDER BY priority, due_at LIMIT ?4",
            now.millis(),
            MAX_QUEUE_DELAY_SECS * 1_000,
            LATE_MS,
            SWEEP_BATCH
        ),
    )
    .await?;
    if !due.is_empty() {
        let statements = due
            .iter()
            .map(|d| {
                stmt!(
                    "UPDATE jobs SET sent_at = ?2 WHERE id = ?1",
                    d.job_id.as_str(),
                    now.millis()
                )
            })
            .collect();
        db.batch(statements).await?;
    }
    Ok(due)
}

/// A message the queue gave up on (our own faults, past its retries): if the job
/// was waiting for exactly that message, it is marked `failed` and dead-lettered,
/// so it is never silently lost. Returns whether it was.
pub async fn fail_undeliverable(
    db: &impl Sql,
    dispatch: &Dispatch,
    now: Instant,
) -> DomainResult<bool> {
    let waiting = "id = ?1 AND status = 'pending' AND attempt_count = ?2 AND due_at = ?3 AND cancel_requested = 0";
    let error = "the jobs queue could not hand the job to a runner (platform fault)";
    let args = || -> Vec<SqlValue> {
        vec![
            dispatch.job_id.as_str().into(),
            (dispatch.attempt - 1).into(),
            dispatch.due_at.into(),
        ]
    };
    let [file, reopen] = dead_letters(waiting, args(), ErrorClass::Transient, error, now);
    let mut mark = args();
    mark.extend([now.millis().into(), error.into()]);
    let statements = vec![
        file,
        reopen,
        Statement::new(
            format!(
                "UPDATE jobs SET status = 'failed', error_class = 'transient', last_error = ?5, completed_at = ?4, updated_at = ?4
                  WHERE {waiting}"
            ),
            mark,
        ),
    ];
    let outcomes = db.batch(statements).await?;
    Ok(outcomes.last().is_some_and(|o| o.changes > 0))
}

/// Days a finished job and its attempts are kept.
pub const JOB_RETENTION_DAYS: i64 = 30;
/// Days a resolved or discarded dead letter is kept.
pub const DEAD_LETTER_RETENTION_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Purged {
    /// Jobs (with their attempts).
    pub jobs: u64,
    /// Attempts.
    pub attempts: u64,
    /// Closed dead letters.
    pub dead_letters: u64,
}

/// Deletes `firm_id`'s jobs finished (completed or cancelled) before
/// `now − 30 days`, their attempts, and dead letters closed before `now − 90 days`.
/// Dead-lettered jobs stay while their entry is open.
pub async fn purge(db: &impl Sql, firm_id: &str, now: Instant) -> DomainResult<Purged> {
    let jobs_before = now.millis() - JOB_RETENTION_DAYS * DAY_MS;
    let letters_before = now.millis() - DEAD_LETTER_RETENTION_DAYS * DAY_MS;
    let old_jobs = "SELECT id FROM jobs WHERE firm_id = ?1 AND status IN ('completed', 'cancelled') AND completed_at < ?2";
    let outcomes = db
        .batch(vec![
            Statement::new(
                format!("DELETE FROM jobs_attempts WHERE firm_id = ?1 AND (job_id IN ({old_jobs}) OR finished_at < ?2)"),
                vec![firm_id.into(), jobs_before.into()],
            ),
            stmt!(
                "DELETE FROM jobs_dead_letters WHERE firm_id = ?1 AND status IN ('resolved', 'discarded') AND closed_at < ?2",
                firm_id,
                letters_before
            ),
            Statement::new(
                format!("DELETE FROM jobs WHERE id IN ({old_jobs})"),
                vec![firm_id.into(), jobs_before.into()],
            ),
        ])
        .await?;
    let changes = |i: usize| outcomes.get(i).map_or(0, |o| o.changes);
    Ok(Purged {
        attempts: changes(0),
        dead_letters: changes(1),
        jobs: changes(2),
    })
}

/// Firms with job history old enough to purge.
pub async fn firms_with_history(db: &impl Sql, now: Instant) -> DomainResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Firm {
        firm_id: String,
    }
    let rows: Vec<Firm> = query_as(
        db,
        stmt!(
            "SELECT DISTINCT firm_id FROM jobs WHERE status IN ('completed', 'cancelled') AND completed_at < ?1 LIMIT 1000",
            now.millis() - JOB_RETENTION_DAYS * DAY_MS
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.firm_id).collect())
}

/// One job past its SLA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    /// The job.
    pub job_id: String,
    /// Its firm.
    #[serde(skip_serializing)]
    pub firm_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its priority rank.
    #[serde(skip_serializing)]
    pub priority: i64,
    /// When it became due (Unix ms).
    pub due_at: i64,
}

/// The SLA check: pending jobs waiting past their priority's SLA from due, not yet
/// flagged, are flagged and returned (one `jobs.sla_breached` event per firm).
pub async fn sla_breaches(db: &impl Sql, now: Instant) -> DomainResult<Vec<Breach>> {
    let case = sla_case();
    let rows = db
        .query(Statement::new(
            format!(
                "UPDATE jobs SET sla_breached_at = ?1
                  WHERE status = 'pending' AND sla_breached_at IS NULL AND cancel_requested = 0
                    AND due_at + {case} < ?1
              RETURNING id AS job_id, firm_id, type, priority, due_at"
            ),
            vec![now.millis().into()],
        ))
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// The daily retention jobs: one `jobs.purge_history` per firm with history old
/// enough, keyed by the day so a second tick that day enqueues nothing.
pub fn purge_jobs(firms: &[String], now: Instant) -> DomainResult<Vec<Enqueued>> {
    let day = now.to_rfc3339().chars().take(10).collect::<String>();
    let kind = super::types::find(&[], super::types::PURGE_HISTORY)
        .ok_or(DomainError::NotFound("job type"))?;
    firms
        .iter()
        .map(|firm| {
            let scope = TenantScope::new(firm, None);
            let payload = serde_json::json!({
                "tenant_id": firm,
                "correlation_id": crate::kernel::id::uuid_v4()?,
                "idempotency_key": format!("{}:{day}", kind.name),
                "as_of": now.millis(),
            });
            let job = NewJob {
                job_type: kind,
                payload: &payload,
                payload_version: "1.0",
                priority: Priority::Low,
                run_at: None,
                max_attempts: None,
                manual: false,
                created_by: None,
            };
            enqueue(&scope, &job, now)
        })
        .collect()
}
