//! Deal tasks in D1. A task made by a person or by a stage automation; finishing
//! one is activity on its deal, written with its timeline entry in one batch.

use super::timeline::{self, Entry};
use crate::crm::activity::{ActivityKind, Subject};
use crate::crm::automation::TaskToMake;
use crate::crm::task::{DealTask, TaskFields, TaskPriority, TaskStatus};
use crate::kernel::error::DomainResult;
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, require_change, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

const COLUMNS: &str =
    "id, deal_id, title, priority, status, assignee_id, due_on, completed_at, automation_id,
    version, created_by, created_at, updated_at";

/// Tasks a deal may have.
pub const MAX_PER_DEAL: i64 = 500;

/// One task.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<DealTask> {
    super::by_id(db, scope, "crm_deal_tasks", COLUMNS, id, "task").await
}

/// A deal's tasks: open first, by due day (undated last), then oldest first.
pub async fn for_deal(
    db: &impl Sql,
    scope: &TenantScope,
    deal_id: &str,
) -> DomainResult<Vec<DealTask>> {
    super::deals::get(db, scope, deal_id).await?;
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM crm_deal_tasks WHERE firm_id = ?1 AND deal_id = ?2
                  ORDER BY status = 'done', due_on IS NULL, due_on, id LIMIT {MAX_PER_DEAL}"
            ),
            vec![scope.firm_id().into(), deal_id.into()],
        ),
    )
    .await
}

/// The statement that makes a task on `deal_id` (at most 500 a deal).
#[allow(clippy::too_many_arguments)] // a task's fields
fn insert(
    scope: &TenantScope,
    id: &str,
    deal_id: &str,
    title: &str,
    priority: TaskPriority,
    assignee: Option<&str>,
    due_on: Option<String>,
    automation_id: Option<&str>,
    created_by: &str,
    now: Instant,
) -> Statement {
    stmt!(
        "INSERT INTO crm_deal_tasks (id, firm_id, deal_id, title, priority, status, assignee_id, due_on, automation_id,
                version, created_by, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?8, 1, ?9, ?10, ?10
          WHERE (SELECT COUNT(*) FROM crm_deal_tasks WHERE firm_id = ?2 AND deal_id = ?3) < ?11",
        id,
        scope.firm_id(),
        deal_id,
        title,
        priority.name(),
        assignee,
        due_on,
        automation_id,
        created_by,
        now.millis(),
        MAX_PER_DEAL
    )
}

/// The statements that make the tasks a stage's automations asked for.
pub fn from_automations(
    scope: &TenantScope,
    deal_id: &str,
    tasks: &[TaskToMake],
    now: Instant,
) -> DomainResult<Vec<Statement>> {
    tasks
        .iter()
        .map(|t| {
            Ok(insert(
                scope,
                &new_id("tsk", now.millis())?,
                deal_id,
                &t.title,
                t.priority,
                t.assignee_id.as_deref(),
                t.due_on.map(|d| d.format("%Y-%m-%d").to_string()),
                Some(&t.automation_id),
                "automation",
                now,
            ))
        })
        .collect()
}

/// Makes a task on a deal; its assignee must be an active member.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    deal_id: &str,
    fields: &TaskFields,
    actor: &str,
    now: Instant,
) -> DomainResult<DealTask> {
    super::deals::get(db, scope, deal_id).await?;
    let assignee = fields.assignee_id.clone().flatten();
    if let Some(user) = &assignee {
        super::leads::check_member(db, scope, "assignee_id", user).await?;
    }
    let id = new_id("tsk", now.millis())?;
    super::insert_capped(
        db,
        insert(
            scope,
            &id,
            deal_id,
            fields.title.as_deref().unwrap_or_default(),
            fields.priority.unwrap_or(TaskPriority::Medium),
            assignee.as_deref(),
            fields
                .due_on
                .flatten()
                .map(|d| d.format("%Y-%m-%d").to_string()),
            None,
            actor,
            now,
        ),
        "deal_id",
        format!("a deal has at most {MAX_PER_DEAL} tasks"),
    )
    .await?;
    get(db, scope, &id).await
}

/// Changes a task at `expected` version (any when `None`). Done, it is activity
/// on its deal, with a `task` entry on the deal's timeline.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &TaskFields,
    expected: Option<i64>,
    actor: &str,
    now: Instant,
) -> DomainResult<DealTask> {
    let current = get(db, scope, id).await?;
    super::expect_version("task", current.version, expected)?;
    if let Some(Some(user)) = &fields.assignee_id {
        super::leads::check_member(db, scope, "assignee_id", user).await?;
    }
    let status = fields.status.unwrap_or(current.status);
    let finished = current.status == TaskStatus::Open && status == TaskStatus::Done;
    let completed_at = match status {
        TaskStatus::Done => current.completed_at.or(Some(now.millis())),
        TaskStatus::Open => None,
    };
    let title = fields.title.clone().unwrap_or(current.title.clone());
    let mut statements = vec![
        stmt!(
            "UPDATE crm_deal_tasks SET title = ?1, priority = ?2, assignee_id = ?3, due_on = ?4, status = ?5,
                    completed_at = ?6, version = version + 1, updated_at = ?7
              WHERE firm_id = ?8 AND id = ?9 AND version = ?10",
            title.as_str(),
            fields.priority.unwrap_or(current.priority).name(),
            match &fields.assignee_id {
                Some(a) => a.clone(),
                None => current.assignee_id.clone(),
            },
            match fields.due_on {
                Some(d) => d.map(|d| d.format("%Y-%m-%d").to_string()),
                None => current.due_on.clone(),
            },
            status.name(),
            completed_at,
            now.millis(),
            scope.firm_id(),
            id,
            current.version
        ),
        require_change(),
    ];
    if finished {
        let entry = Entry::system(
            Subject::Deal,
            &current.deal_id,
            ActivityKind::Task,
            format!("Task done: {title}"),
            Some(actor),
            now,
        );
        statements.push(entry.statement(scope, now)?.1);
        statements.extend(timeline::touched(
            scope,
            Subject::Deal,
            &current.deal_id,
            now.millis(),
        ));
    }
    super::commit(
        db,
        scope,
        ("crm_deal_tasks", "task"),
        id,
        current.version,
        statements,
    )
    .await?;
    get(db, scope, id).await
}
