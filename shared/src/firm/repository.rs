//! The firm module's SQL. Every statement on tenant data filters by the scope's firm.

use serde::Deserialize;

use crate::auth::roles::{Flag, Role};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

use super::model::Firm;
use super::settings::FirmPatch;

const FIRM_COLUMNS: &str =
    "id, name, slug, status, tier, timezone, currency, locale, fiscal_year_start_month, \
     brand_color, trial_ends_at, provisioned_at, created_at, updated_at, version";

/// Inserts a new firm; fails on `firm_firms.slug` when the slug is taken.
pub fn insert_firm(firm: &Firm) -> Statement {
    stmt!(
        "INSERT INTO firm_firms (id, name, slug, status, tier, timezone, currency, locale, fiscal_year_start_month,
                                 trial_ends_at, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, 'trial', 'starter', ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1)",
        firm.id.as_str(),
        firm.name.as_str(),
        firm.slug.as_str(),
        firm.timezone.as_str(),
        firm.currency.as_str(),
        firm.locale.as_str(),
        firm.fiscal_year_start_month,
        firm.trial_ends_at,
        firm.created_at
    )
}

/// Adds a member to the scope's firm.
pub fn insert_membership(
    scope: &TenantScope,
    user_id: &str,
    role: Role,
    flags: &[Flag],
    now: Instant,
) -> Statement {
    let role = serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let flags = serde_json::to_string(flags).unwrap_or_else(|_| "[]".to_owned());
    stmt!(
        "INSERT INTO firm_memberships (firm_id, user_id, role, flags, is_active, created_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        scope.firm_id(),
        user_id,
        role,
        flags,
        now.millis()
    )
}

/// The scope's firm.
pub async fn get(db: &impl Sql, scope: &TenantScope) -> DomainResult<Firm> {
    query_one(
        db,
        Statement::new(
            format!("SELECT {FIRM_COLUMNS} FROM firm_firms WHERE id = ?1"),
            vec![scope.firm_id().into()],
        ),
    )
    .await?
    .ok_or(DomainError::NotFound("firm"))
}

/// Applies `patch` if the firm is still at `expected_version` (any version when `None`).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    patch: &FirmPatch,
    expected_version: Option<i64>,
    now: Instant,
) -> DomainResult<Firm> {
    let sql = format!(
        "UPDATE firm_firms SET name = COALESCE(?1, name), timezone = COALESCE(?2, timezone), currency = COALESCE(?3, currency),
                locale = COALESCE(?4, locale), fiscal_year_start_month = COALESCE(?5, fiscal_year_start_month),
                brand_color = CASE WHEN ?9 THEN ?10 ELSE brand_color END,
                updated_at = ?6, version = version + 1
          WHERE id = ?7 AND (?8 IS NULL OR version = ?8)
      RETURNING {FIRM_COLUMNS}"
    );
    let updated: Option<Firm> = query_one(
        db,
        Statement::new(
            sql,
            vec![
                patch.name.clone().into(),
                patch.timezone.clone().into(),
                patch.currency.clone().into(),
                patch.locale.clone().into(),
                patch.fiscal_year_start_month.into(),
                now.millis().into(),
                scope.firm_id().into(),
                expected_version.into(),
                patch.brand_color.is_some().into(),
                patch.brand_color.clone().flatten().into(),
            ],
        ),
    )
    .await?;
    match updated {
        Some(firm) => Ok(firm),
        None => {
            let current = get(db, scope).await?;
            Err(DomainError::PreconditionFailed(format!(
                "the firm has changed since you read it; its current etag is {}",
                current.etag()
            )))
        }
    }
}

/// A background provisioning step that has completed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ProvisioningStep {
    /// Step name.
    pub step: String,
    /// The event that caused it.
    pub event_id: String,
    /// Unix ms.
    pub completed_at: i64,
}

/// Records a step once per firm: a repeated delivery changes nothing.
pub fn complete_step(firm_id: &str, step: &str, event_id: &str, now: Instant) -> Statement {
    stmt!(
        "INSERT INTO firm_provisioning_steps (firm_id, step, event_id, completed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (firm_id, step) DO NOTHING",
        firm_id,
        step,
        event_id,
        now.millis()
    )
}

/// Marks the firm provisioned the first time only.
pub fn mark_provisioned(firm_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE firm_firms SET provisioned_at = COALESCE(provisioned_at, ?1) WHERE id = ?2",
        now.millis(),
        firm_id
    )
}

/// The scope's completed provisioning steps, oldest first.
pub async fn steps(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<ProvisioningStep>> {
    query_as(
        db,
        stmt!(
            "SELECT step, event_id, completed_at FROM firm_provisioning_steps WHERE firm_id = ?1 ORDER BY completed_at, step",
            scope.firm_id()
        ),
    )
    .await
}
