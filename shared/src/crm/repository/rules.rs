//! Scoring rules in D1. A change applies to what happens next; scores already
//! given stay with the reason they were given for.

use crate::crm::scoring::{Rule, RuleInput};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// Rules a firm may have.
pub const MAX_RULES: i64 = 200;

const COLUMNS: &str = "id, name, category, trigger, conditions, points, max_applications, decay_days, priority, is_active,
    version, created_at, updated_at";

/// Every rule of the firm, highest priority first.
pub async fn list(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<Rule>> {
    query_as(
        db,
        Statement::new(
            format!("SELECT {COLUMNS} FROM crm_scoring_rules WHERE firm_id = ?1 ORDER BY priority DESC, id"),
            vec![scope.firm_id().into()],
        ),
    )
    .await
}

/// One rule.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Rule> {
    super::by_id(db, scope, "crm_scoring_rules", COLUMNS, id, "scoring rule").await
}

fn conditions(input: &RuleInput) -> String {
    serde_json::to_string(&input.conditions).unwrap_or_else(|_| "[]".to_owned())
}

/// Adds a rule (at most 200 per firm).
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    input: &RuleInput,
    now: Instant,
) -> DomainResult<Rule> {
    let id = new_id("scr", now.millis())?;
    super::insert_capped(
        db,
        stmt!(
            "INSERT INTO crm_scoring_rules (id, firm_id, name, category, trigger, conditions, points, max_applications,
                    decay_days, priority, is_active, version, created_at, updated_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12, ?12
              WHERE (SELECT COUNT(*) FROM crm_scoring_rules WHERE firm_id = ?2) < ?13",
            id.as_str(),
            scope.firm_id(),
            input.name.as_str(),
            input.category.name(),
            input.trigger.name(),
            conditions(input),
            input.points,
            input.max_applications,
            input.decay_days,
            input.priority,
            input.is_active,
            now.millis(),
            MAX_RULES
        ),
        "body",
        format!("a firm has at most {MAX_RULES} scoring rules"),
    )
    .await?;
    get(db, scope, &id).await
}

/// Replaces a rule at `expected` version (any when `None`).
pub async fn replace(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    input: &RuleInput,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<Rule> {
    let current = get(db, scope, id).await?;
    let changed = db
        .execute(stmt!(
            "UPDATE crm_scoring_rules SET name = ?1, category = ?2, trigger = ?3, conditions = ?4, points = ?5,
                    max_applications = ?6, decay_days = ?7, priority = ?8, is_active = ?9, version = version + 1, updated_at = ?10
              WHERE firm_id = ?11 AND id = ?12 AND version = ?13",
            input.name.as_str(),
            input.category.name(),
            input.trigger.name(),
            conditions(input),
            input.points,
            input.max_applications,
            input.decay_days,
            input.priority,
            input.is_active,
            now.millis(),
            scope.firm_id(),
            id,
            expected.unwrap_or(current.version)
        ))
        .await?;
    if changed == 0 {
        return Err(super::changed(
            "scoring rule",
            get(db, scope, id).await?.version,
        ));
    }
    get(db, scope, id).await
}

/// Deletes a rule; the adjustments it gave keep their reason.
pub async fn delete(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<()> {
    let changed = db
        .execute(stmt!(
            "DELETE FROM crm_scoring_rules WHERE firm_id = ?1 AND id = ?2",
            scope.firm_id(),
            id
        ))
        .await?;
    if changed == 0 {
        return Err(DomainError::NotFound("scoring rule"));
    }
    Ok(())
}
