//! Pipelines and stages in D1.

use serde::Deserialize;

use crate::crm::pipeline::{NewPipeline, Pipeline, PipelinePatch, Stage, StagePlan};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::columns::bool_from_int;
use crate::kernel::sql::{query_as, violates_unique, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

#[derive(Deserialize)]
struct PipelineRow {
    id: String,
    name: String,
    #[serde(deserialize_with = "bool_from_int")]
    is_default: bool,
    #[serde(deserialize_with = "bool_from_int")]
    is_active: bool,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

#[derive(Deserialize)]
struct StageRow {
    pipeline_id: String,
    #[serde(flatten)]
    stage: Stage,
}

/// Every pipeline of the firm (or the one with `only`), default first, then by name.
async fn load(
    db: &impl Sql,
    scope: &TenantScope,
    only: Option<&str>,
) -> DomainResult<Vec<Pipeline>> {
    let rows: Vec<PipelineRow> = query_as(
        db,
        stmt!(
            "SELECT id, name, is_default, is_active, version, created_at, updated_at FROM crm_pipelines
              WHERE firm_id = ?1 AND (?2 IS NULL OR id = ?2) ORDER BY is_default DESC, lower(name), id",
            scope.firm_id(),
            only
        ),
    )
    .await?;
    let stages: Vec<StageRow> = query_as(
        db,
        stmt!(
            "SELECT pipeline_id, id, name, kind, probability, rotting_days, position FROM crm_stages
              WHERE firm_id = ?1 AND (?2 IS NULL OR pipeline_id = ?2) AND removed_at IS NULL
              ORDER BY position",
            scope.firm_id(),
            only
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Pipeline {
            stages: stages
                .iter()
                .filter(|s| s.pipeline_id == r.id)
                .map(|s| s.stage.clone())
                .collect(),
            id: r.id,
            name: r.name,
            is_default: r.is_default,
            is_active: r.is_active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// The firm's pipelines, the default first.
pub async fn list(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<Pipeline>> {
    load(db, scope, None).await
}

/// One pipeline with its stages.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Pipeline> {
    load(db, scope, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(DomainError::NotFound("pipeline"))
}

/// The firm's default pipeline, if it has one.
pub async fn default_of(db: &impl Sql, scope: &TenantScope) -> DomainResult<Option<Pipeline>> {
    Ok(load(db, scope, None)
        .await?
        .into_iter()
        .find(|p| p.is_default))
}

/// The stage `id` as it was, even if it has since been taken off the board (for history).
pub async fn stage_any(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
) -> DomainResult<Option<Stage>> {
    let rows: Vec<Stage> = query_as(
        db,
        stmt!(
            "SELECT id, name, kind, probability, rotting_days, position FROM crm_stages WHERE firm_id = ?1 AND id = ?2",
            scope.firm_id(),
            id
        ),
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// A unique-name failure as the 409 it is; any other error as it is.
pub fn name_taken(e: DomainError) -> DomainError {
    if violates_unique(&e, "crm_pipelines") {
        DomainError::conflict("name", "the firm already has a pipeline of that name")
    } else {
        e
    }
}

fn stage_statements(
    scope: &TenantScope,
    pipeline_id: &str,
    plan: &StagePlan,
    existing: &[Stage],
    now: Instant,
) -> DomainResult<Vec<Statement>> {
    let mut out = Vec::new();
    for (position, (input, probability)) in plan.0.iter().enumerate() {
        let position = position as i64;
        match &input.id {
            Some(id) if existing.iter().any(|s| &s.id == id) => out.push(stmt!(
                "UPDATE crm_stages SET name = ?1, kind = ?2, probability = ?3, rotting_days = ?4, position = ?5
                  WHERE id = ?6 AND firm_id = ?7 AND pipeline_id = ?8",
                input.name.as_str(),
                input.kind.name(),
                *probability,
                input.rotting_days,
                position,
                id.as_str(),
                scope.firm_id(),
                pipeline_id
            )),
            Some(_) => {
                return Err(DomainError::conflict("stages", "a stage id must name one of this pipeline's stages"))
            }
            None => out.push(stmt!(
                "INSERT INTO crm_stages (id, firm_id, pipeline_id, name, kind, probability, rotting_days, position)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                new_id("stg", now.millis())?,
                scope.firm_id(),
                pipeline_id,
                input.name.as_str(),
                input.kind.name(),
                *probability,
                input.rotting_days,
                position
            )),
        }
    }
    Ok(out)
}

/// The pipeline `input` makes and the statements that create it with its stages.
/// The firm's first pipeline is its default whatever was asked; a new default
/// replaces the old one in the same batch. A name the firm already uses fails the
/// batch: pass its error through [`name_taken`].
pub async fn plan_create(
    db: &impl Sql,
    scope: &TenantScope,
    input: NewPipeline,
    now: Instant,
) -> DomainResult<(Pipeline, Vec<Statement>)> {
    let first = default_of(db, scope).await?.is_none();
    let id = new_id("pip", now.millis())?;
    let is_default = input.is_default || first;
    let mut statements = Vec::new();
    if is_default {
        statements.push(stmt!(
            "UPDATE crm_pipelines SET is_default = 0, version = version + 1, updated_at = ?2 WHERE firm_id = ?1 AND is_default = 1",
            scope.firm_id(),
            now.millis()
        ));
    }
    statements.push(stmt!(
        "INSERT INTO crm_pipelines (id, firm_id, name, is_default, is_active, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 1, 1, ?5, ?5)",
        id.as_str(),
        scope.firm_id(),
        input.name.as_str(),
        is_default,
        now.millis()
    ));
    let mut stages = Vec::new();
    for (position, (stage, probability)) in input.stages.0.iter().enumerate() {
        let stage = Stage {
            id: new_id("stg", now.millis())?,
            name: stage.name.clone(),
            kind: stage.kind,
            probability: *probability,
            rotting_days: stage.rotting_days,
            position: position as i64,
        };
        statements.push(stmt!(
            "INSERT INTO crm_stages (id, firm_id, pipeline_id, name, kind, probability, rotting_days, position)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            stage.id.as_str(),
            scope.firm_id(),
            id.as_str(),
            stage.name.as_str(),
            stage.kind.name(),
            stage.probability,
            stage.rotting_days,
            stage.position
        ));
        stages.push(stage);
    }
    let pipeline = Pipeline {
        id,
        name: input.name,
        is_default,
        is_active: true,
        stages,
        version: 1,
        created_at: now.millis(),
        updated_at: now.millis(),
    };
    Ok((pipeline, statements))
}

/// Creates a pipeline with its stages (see [`plan_create`]).
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    input: NewPipeline,
    now: Instant,
) -> DomainResult<Pipeline> {
    let (pipeline, statements) = plan_create(db, scope, input, now).await?;
    db.batch(statements).await.map_err(name_taken)?;
    Ok(pipeline)
}

/// Changes a pipeline at `expected` version (any when `None`). A new stage list
/// keeps the stages it names by id, adds those without, and takes the rest off the
/// board — refused while deals are in them; an existing stage's kind cannot change
/// while deals are in it.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    patch: &PipelinePatch,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<Pipeline> {
    let current = get(db, scope, id).await?;
    super::expect_version("pipeline", current.version, expected)?;
    if patch.is_active == Some(false) && (current.is_default && patch.is_default.is_none()) {
        return Err(DomainError::conflict(
            "is_active",
            "the default pipeline cannot be deactivated: make another the default first",
        ));
    }
    let mut statements = vec![stmt!(
        "UPDATE crm_pipelines SET name = COALESCE(?1, name), is_active = COALESCE(?2, is_active),
                is_default = CASE WHEN ?3 THEN 1 ELSE is_default END, version = version + 1, updated_at = ?4
          WHERE id = ?5 AND firm_id = ?6 AND version = ?7",
        patch.name.clone(),
        patch.is_active,
        patch.is_default == Some(true),
        now.millis(),
        id,
        scope.firm_id(),
        current.version
    )];
    statements.push(crate::kernel::sql::require_change());
    if patch.is_default == Some(true) && !current.is_default {
        statements.insert(
            0,
            stmt!(
                "UPDATE crm_pipelines SET is_default = 0, version = version + 1, updated_at = ?2 WHERE firm_id = ?1 AND is_default = 1",
                scope.firm_id(),
                now.millis()
            ),
        );
    }
    if let Some(plan) = &patch.stages {
        let counts = deal_counts(db, scope, id).await?;
        let in_use = |stage_id: &str| {
            counts
                .iter()
                .find(|(s, _)| s == stage_id)
                .map_or(0, |(_, n)| *n)
        };
        for stage in &current.stages {
            match plan
                .0
                .iter()
                .find(|(s, _)| s.id.as_deref() == Some(stage.id.as_str()))
            {
                None if in_use(&stage.id) > 0 => {
                    return Err(DomainError::conflict(
                        "stages",
                        format!(
                            "stage {} still holds {} deals: move them before removing it",
                            stage.name,
                            in_use(&stage.id)
                        ),
                    ))
                }
                Some((s, _)) if s.kind != stage.kind && in_use(&stage.id) > 0 => {
                    return Err(DomainError::conflict(
                        "stages",
                        format!(
                            "stage {} holds deals, so it stays {}",
                            stage.name,
                            stage.kind.name()
                        ),
                    ))
                }
                _ => {}
            }
        }
        statements.extend(stage_statements(scope, id, plan, &current.stages, now)?);
        for stage in current.stages.iter().filter(|s| {
            !plan
                .0
                .iter()
                .any(|(p, _)| p.id.as_deref() == Some(s.id.as_str()))
        }) {
            statements.push(stmt!(
                "UPDATE crm_stages SET removed_at = ?1 WHERE id = ?2 AND firm_id = ?3",
                now.millis(),
                stage.id.as_str(),
                scope.firm_id()
            ));
        }
    }
    super::commit(
        db,
        scope,
        ("crm_pipelines", "pipeline"),
        id,
        current.version,
        statements,
    )
    .await
    .map_err(name_taken)?;
    get(db, scope, id).await
}

/// How many deals (open or closed) each stage of the pipeline holds.
async fn deal_counts(
    db: &impl Sql,
    scope: &TenantScope,
    pipeline_id: &str,
) -> DomainResult<Vec<(String, i64)>> {
    #[derive(Deserialize)]
    struct Count {
        stage_id: String,
        n: i64,
    }
    let rows: Vec<Count> = query_as(
        db,
        stmt!(
            "SELECT stage_id, COUNT(*) AS n FROM crm_deals WHERE firm_id = ?1 AND pipeline_id = ?2 GROUP BY stage_id",
            scope.firm_id(),
            pipeline_id
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|c| (c.stage_id, c.n)).collect())
}
