//! Stage automations in D1.

use serde::Deserialize;

use super::timeline::Entry;
use crate::catalogue::DomainEvent as _;
use crate::crm::activity::{ActivityKind, Subject};
use crate::crm::automation::{self, Automation, DealStageEntered, Step, MAX_PER_STAGE};
use crate::crm::deal::Deal;
use crate::crm::pipeline::Pipeline;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::{self, EventEnvelope};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

#[derive(Deserialize)]
struct Row {
    id: String,
    pipeline_id: String,
    stage_id: String,
    step: String,
    created_at: i64,
}

impl Row {
    fn automation(self) -> Option<Automation> {
        Some(Automation {
            step: serde_json::from_str(&self.step).ok()?,
            id: self.id,
            pipeline_id: self.pipeline_id,
            stage_id: self.stage_id,
            created_at: self.created_at,
        })
    }
}

async fn select(db: &impl Sql, statement: Statement) -> DomainResult<Vec<Automation>> {
    let rows: Vec<Row> = query_as(db, statement).await?;
    Ok(rows.into_iter().filter_map(Row::automation).collect())
}

/// A pipeline's automations, by stage then in the order they run.
pub async fn for_pipeline(
    db: &impl Sql,
    scope: &TenantScope,
    pipeline_id: &str,
) -> DomainResult<Vec<Automation>> {
    super::pipelines::get(db, scope, pipeline_id).await?;
    select(
        db,
        stmt!(
            "SELECT id, pipeline_id, stage_id, step, created_at FROM crm_stage_automations
              WHERE firm_id = ?1 AND pipeline_id = ?2 ORDER BY stage_id, id",
            scope.firm_id(),
            pipeline_id
        ),
    )
    .await
}

/// What entering `stage_id` runs, in order.
pub async fn for_stage(
    db: &impl Sql,
    scope: &TenantScope,
    stage_id: &str,
) -> DomainResult<Vec<Automation>> {
    select(
        db,
        stmt!(
            "SELECT id, pipeline_id, stage_id, step, created_at FROM crm_stage_automations
              WHERE firm_id = ?1 AND stage_id = ?2 ORDER BY id",
            scope.firm_id(),
            stage_id
        ),
    )
    .await
}

/// Adds a step to a stage of `pipeline_id` (at most 20 a stage); an assignment
/// or a task's assignee must be a member who may work CRM records.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    pipeline_id: &str,
    stage_id: &str,
    step: &Step,
    now: Instant,
) -> DomainResult<Automation> {
    let pipeline = super::pipelines::get(db, scope, pipeline_id).await?;
    if pipeline.stage(stage_id).is_none() {
        return Err(DomainError::conflict(
            "stage_id",
            "stage_id must name a stage of this pipeline",
        ));
    }
    let person = match step {
        Step::Assign { user_id } => Some(("user_id", user_id)),
        Step::CreateTask {
            assignee_id: Some(user),
            ..
        } => Some(("assignee_id", user)),
        _ => None,
    };
    if let Some((field, user)) = person {
        if !super::assignment::eligible(db, scope).await?.contains(user) {
            return Err(DomainError::conflict(
                field,
                format!("{field} must name an active member who may work CRM records"),
            ));
        }
    }
    let id = new_id("aut", now.millis())?;
    super::insert_capped(
        db,
        stmt!(
            "INSERT INTO crm_stage_automations (id, firm_id, pipeline_id, stage_id, step, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6
              WHERE (SELECT COUNT(*) FROM crm_stage_automations WHERE firm_id = ?2 AND stage_id = ?4) < ?7",
            id.as_str(),
            scope.firm_id(),
            pipeline_id,
            stage_id,
            serde_json::to_string(step).unwrap_or_default(),
            now.millis(),
            MAX_PER_STAGE
        ),
        "stage_id",
        format!("a stage has at most {MAX_PER_STAGE} automations"),
    )
    .await?;
    Ok(Automation {
        id,
        pipeline_id: pipeline_id.to_owned(),
        stage_id: stage_id.to_owned(),
        step: step.clone(),
        created_at: now.millis(),
    })
}

/// Removes an automation; what it did stays done.
pub async fn delete(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<()> {
    let changed = db
        .execute(stmt!(
            "DELETE FROM crm_stage_automations WHERE firm_id = ?1 AND id = ?2",
            scope.firm_id(),
            id
        ))
        .await?;
    if changed == 0 {
        return Err(DomainError::NotFound("automation"));
    }
    Ok(())
}

/// What entering a stage sets off, for the move's batch: runs the stage's
/// automations on `after` (owner, probability, tags, expected close change in
/// place), and returns the statements (tasks, the timeline entry, the recorded
/// events) and the events to publish once the batch is in. Nothing when the deal
/// stays in its stage or the stage has no automations.
pub async fn on_entry(
    db: &impl Sql,
    scope: &TenantScope,
    before: &Deal,
    after: &mut Deal,
    pipeline: &Pipeline,
    now: Instant,
) -> DomainResult<(Vec<Statement>, Vec<EventEnvelope>)> {
    if before.stage_id == after.stage_id {
        return Ok((Vec::new(), Vec::new()));
    }
    let steps = for_stage(db, scope, &after.stage_id).await?;
    if steps.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let eligible = super::assignment::eligible(db, scope).await?;
    let today = super::firm_today(db, scope, now).await?;
    let ran = automation::run(&steps, after, &eligible, today);
    let stage_name = pipeline
        .stage(&after.stage_id)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let mut statements = super::tasks::from_automations(scope, &after.id, &ran.tasks, now)?;
    let mut made = Vec::new();
    for (people, message) in &ran.notices {
        let path = format!("/crm/deals/{}", after.id);
        made.push(crate::notify::request::request(
            scope,
            "crm.stage_entered",
            people
                .iter()
                .map(|u| crate::notify::Recipient::user(u))
                .collect(),
            crate::notify::request::vars([
                ("deal_name", after.name.as_str()),
                ("stage_name", stage_name.as_str()),
                ("message", message.as_str()),
                ("path", path.as_str()),
            ]),
            None,
            now,
        )?);
    }
    if ran.announce {
        made.push(
            DealStageEntered {
                deal_id: after.id.clone(),
                deal_name: after.name.clone(),
                pipeline_id: after.pipeline_id.clone(),
                stage_id: after.stage_id.clone(),
                stage_name: stage_name.clone(),
                from_stage_id: before.stage_id.clone(),
                value_minor: after.value_minor,
                currency: after.currency.clone(),
                owner_id: after.owner_id.clone(),
            }
            .envelope(scope, now)?,
        );
    }
    for event in &made {
        statements.push(events::record(event, now)?);
    }
    if !ran.done.is_empty() {
        let mut entry = Entry::system(
            Subject::Deal,
            &after.id,
            ActivityKind::Changed,
            format!("Automations of {stage_name}: {}", ran.done.join("; ")),
            None,
            now,
        );
        let mut changes = serde_json::Map::new();
        let mut diff = |field: &str, from: serde_json::Value, to: serde_json::Value| {
            if from != to {
                changes.insert(
                    field.to_owned(),
                    serde_json::json!({"from": from, "to": to}),
                );
            }
        };
        diff(
            "owner_id",
            before.owner_id.clone().into(),
            after.owner_id.clone().into(),
        );
        diff(
            "probability",
            before.probability.into(),
            after.probability.into(),
        );
        diff(
            "tags",
            before.tags.clone().into(),
            after.tags.clone().into(),
        );
        diff(
            "expected_close",
            before.expected_close.clone().into(),
            after.expected_close.clone().into(),
        );
        entry.changes = changes.into();
        statements.push(entry.statement(scope, now)?.1);
    }
    Ok((statements, made))
}
