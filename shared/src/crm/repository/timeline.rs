//! Writing and reading the timeline of CRM records.

use crate::crm::activity::{Activity, ActivityKind, Subject};
use crate::kernel::error::DomainResult;
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// An entry to add to a record's timeline.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Kind of record.
    pub subject: Subject,
    /// The record.
    pub subject_id: &'a str,
    /// What it records.
    pub kind: ActivityKind,
    /// One line.
    pub summary: String,
    /// More text.
    pub body: Option<String>,
    /// Changed fields, `{field: {from, to}}`.
    pub changes: serde_json::Value,
    /// Who, or `None` for the system.
    pub actor_id: Option<&'a str>,
    /// When it happened.
    pub occurred_at: Instant,
}

impl<'a> Entry<'a> {
    /// An entry the CRM writes itself (no body, no changes).
    pub fn system(
        subject: Subject,
        subject_id: &'a str,
        kind: ActivityKind,
        summary: impl Into<String>,
        actor_id: Option<&'a str>,
        now: Instant,
    ) -> Self {
        Self {
            subject,
            subject_id,
            kind,
            summary: summary.into(),
            body: None,
            changes: serde_json::json!({}),
            actor_id,
            occurred_at: now,
        }
    }

    /// The statement that appends it, and its id.
    pub fn statement(
        &self,
        scope: &TenantScope,
        now: Instant,
    ) -> DomainResult<(String, Statement)> {
        let id = new_id("acy", now.millis())?;
        let statement = stmt!(
            "INSERT INTO crm_activities (id, firm_id, subject_type, subject_id, kind, summary, body, changes, actor_id, occurred_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            id.as_str(),
            scope.firm_id(),
            self.subject.name(),
            self.subject_id,
            self.kind.name(),
            self.summary.as_str(),
            self.body.clone(),
            self.changes.to_string(),
            self.actor_id,
            self.occurred_at.millis(),
            now.millis()
        );
        Ok((id, statement))
    }
}

/// A page of a record's timeline, newest first (`kind` narrows it).
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    subject: Subject,
    subject_id: &str,
    kind: Option<ActivityKind>,
    page: &PageRequest,
) -> DomainResult<Page<Activity>> {
    let rows: Vec<Activity> = query_as(
        db,
        stmt!(
            "SELECT id, subject_type, subject_id, kind, summary, body, changes, actor_id, occurred_at, created_at
               FROM crm_activities
              WHERE firm_id = ?1 AND subject_type = ?2 AND subject_id = ?3 AND (?4 IS NULL OR id < ?4)
                AND (?6 IS NULL OR kind = ?6)
              ORDER BY id DESC LIMIT ?5",
            scope.firm_id(),
            subject.name(),
            subject_id,
            page.after.clone(),
            page.fetch_limit(),
            kind.map(ActivityKind::name)
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |a| a.id.clone()))
}

/// One entry.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Option<Activity>> {
    Ok(query_as(
        db,
        stmt!(
            "SELECT id, subject_type, subject_id, kind, summary, body, changes, actor_id, occurred_at, created_at
               FROM crm_activities WHERE firm_id = ?1 AND id = ?2",
            scope.firm_id(),
            id
        ),
    )
    .await?
    .into_iter()
    .next())
}

/// Whether `subject_id` is a record of the firm of kind `subject`.
pub async fn exists(
    db: &impl Sql,
    scope: &TenantScope,
    subject: Subject,
    subject_id: &str,
) -> DomainResult<bool> {
    let table = match subject {
        Subject::Lead => "crm_leads",
        Subject::Deal => "crm_deals",
        Subject::Account => "crm_accounts",
        Subject::Contact => "crm_contacts",
    };
    let rows = db
        .query(Statement::new(
            format!("SELECT 1 AS ok FROM {table} WHERE firm_id = ?1 AND id = ?2"),
            vec![scope.firm_id().into(), subject_id.into()],
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// Logs what a person did or plans (a call, a note, next week's meeting) on a
/// record. A lead's or deal's last activity moves to it when it has happened
/// (never back), and a stale deal is fresh again.
/// The statement that records activity at `happened` on a lead or deal (a deal
/// with fresh activity is no longer stale); accounts and contacts keep none.
pub fn touched(
    scope: &TenantScope,
    subject: Subject,
    subject_id: &str,
    happened: i64,
) -> Option<Statement> {
    match subject {
        Subject::Lead => Some(stmt!(
            "UPDATE crm_leads SET last_activity_at = MAX(COALESCE(last_activity_at, 0), ?1) WHERE firm_id = ?2 AND id = ?3",
            happened,
            scope.firm_id(),
            subject_id
        )),
        Subject::Deal => Some(stmt!(
            "UPDATE crm_deals SET last_activity_at = MAX(COALESCE(last_activity_at, 0), ?1), is_stale = 0
              WHERE firm_id = ?2 AND id = ?3",
            happened,
            scope.firm_id(),
            subject_id
        )),
        Subject::Account | Subject::Contact => None,
    }
}

pub async fn log(
    db: &impl Sql,
    scope: &TenantScope,
    subject: Subject,
    subject_id: &str,
    input: crate::crm::activity::NewActivity,
    actor: &str,
    now: Instant,
) -> DomainResult<Activity> {
    if !exists(db, scope, subject, subject_id).await? {
        return Err(crate::DomainError::NotFound(subject.name()));
    }
    let occurred_at = input.occurred_at.unwrap_or(now);
    let entry = Entry {
        subject,
        subject_id,
        kind: input.kind,
        summary: input.summary,
        body: input.body,
        changes: serde_json::json!({}),
        actor_id: Some(actor),
        occurred_at,
    };
    let (id, insert) = entry.statement(scope, now)?;
    let mut statements = vec![insert];
    let happened = occurred_at.millis().min(now.millis());
    statements.extend(touched(scope, subject, subject_id, happened));
    db.batch(statements).await?;
    get(db, scope, &id)
        .await?
        .ok_or(crate::DomainError::NotFound("activity"))
}
