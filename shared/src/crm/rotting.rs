//! The daily sweep: deals gone quiet longer than their stage allows are marked
//! stale and their owners reminded (one notice per owner), and lead scores whose
//! points faded are brought down to what still counts. The stale-deal report groups
//! what is stale by owner, pipeline, stage and age.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::activity::{ActivityKind, Subject};
use super::deal::{weighted, DAY_MS};
use super::repository::timeline::Entry;
use crate::kernel::error::DomainResult;
use crate::kernel::events::EventEnvelope;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// Deals one sweep marks at most (the next sweep takes the rest).
pub const SWEEP_BATCH: i64 = 500;

/// A deal that has just gone stale.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Rotten {
    /// Its firm.
    pub firm_id: String,
    /// The deal.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner_id: String,
    /// Days since its last activity.
    pub idle_days: i64,
}

/// Open deals of every firm that went quiet longer than their stage's rotting days
/// and are not marked yet, oldest activity first.
pub async fn newly_stale(db: &impl Sql, now: Instant) -> DomainResult<Vec<Rotten>> {
    query_as(
        db,
        stmt!(
            "SELECT d.firm_id, d.id, d.name, d.owner_id,
                    CAST((?1 - MAX(COALESCE(d.last_activity_at, d.created_at), d.created_at)) / 86400000 AS INTEGER) AS idle_days
               FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
              WHERE d.status = 'open' AND d.is_stale = 0
                AND ?1 - MAX(COALESCE(d.last_activity_at, d.created_at), d.created_at) > s.rotting_days * 86400000
              ORDER BY COALESCE(d.last_activity_at, d.created_at) LIMIT ?2",
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await
}

/// The statements that mark `deals` stale, each with a timeline entry.
pub fn mark(deals: &[Rotten], now: Instant) -> DomainResult<Vec<Statement>> {
    let mut out = Vec::new();
    for d in deals {
        out.push(stmt!(
            "UPDATE crm_deals SET is_stale = 1 WHERE firm_id = ?1 AND id = ?2 AND status = 'open'",
            d.firm_id.as_str(),
            d.id.as_str()
        ));
        let scope = TenantScope::new(&d.firm_id, None);
        let summary = format!("Stale: no activity for {} days", d.idle_days);
        let mut entry = Entry::system(
            Subject::Deal,
            &d.id,
            ActivityKind::Changed,
            summary,
            None,
            now,
        );
        entry.changes = serde_json::json!({"is_stale": {"from": false, "to": true}});
        out.push(entry.statement(&scope, now)?.1);
    }
    Ok(out)
}

/// The reminders of a sweep: one notification request per (firm, owner), naming
/// their newly stale deals (up to ten, then how many more).
pub fn reminders(deals: &[Rotten], now: Instant) -> DomainResult<Vec<EventEnvelope>> {
    let mut by_owner: BTreeMap<(&str, &str), Vec<&Rotten>> = BTreeMap::new();
    for d in deals {
        by_owner
            .entry((d.firm_id.as_str(), d.owner_id.as_str()))
            .or_default()
            .push(d);
    }
    let mut out = Vec::new();
    for ((firm_id, owner_id), deals) in by_owner {
        let mut names: Vec<String> = deals
            .iter()
            .take(10)
            .map(|d| format!("{} ({} days)", d.name, d.idle_days))
            .collect();
        if deals.len() > 10 {
            names.push(format!("and {} more", deals.len() - 10));
        }
        out.push(crate::notify::request::request(
            &TenantScope::new(firm_id, None),
            "crm.deals_stale",
            vec![crate::notify::Recipient::user(owner_id)],
            crate::notify::request::vars([
                ("count", deals.len().to_string().as_str()),
                ("deals", names.join("; ").as_str()),
            ]),
            None,
            now,
        )?);
    }
    Ok(out)
}

/// Re-scores the leads whose points faded since yesterday; returns how many moved.
pub async fn rescore_faded(db: &impl Sql, now: Instant) -> DomainResult<usize> {
    let mut moved = 0;
    for (firm_id, lead_id) in faded_leads(db, now).await? {
        if super::repository::leads::rescore(db, &TenantScope::new(&firm_id, None), &lead_id, now)
            .await?
        {
            moved += 1;
        }
    }
    Ok(moved)
}

/// Leads whose score counts points that have faded by `now`, with their firm.
pub async fn faded_leads(db: &impl Sql, now: Instant) -> DomainResult<Vec<(String, String)>> {
    #[derive(Deserialize)]
    struct Row {
        firm_id: String,
        lead_id: String,
    }
    let rows: Vec<Row> = query_as(
        db,
        stmt!(
            "SELECT DISTINCT firm_id, lead_id FROM crm_score_adjustments
              WHERE expires_at IS NOT NULL AND expires_at <= ?1 AND expires_at > ?1 - 2 * 86400000
                AND withdrawn_at IS NULL LIMIT ?2",
            now.millis(),
            SWEEP_BATCH
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.firm_id, r.lead_id)).collect())
}

/// One group of the stale-deal report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StaleGroup {
    /// The owner.
    pub owner_id: String,
    /// The pipeline.
    pub pipeline_id: String,
    /// The stage.
    pub stage_id: String,
    /// Its name.
    pub stage_name: String,
    /// `under_30`, `30_to_60`, `60_to_90` or `over_90` days without activity.
    pub age: &'static str,
    /// ISO 4217.
    pub currency: String,
    /// How many deals.
    pub deals: i64,
    /// Their value.
    pub value_minor: i64,
    /// Their value weighted by probability.
    pub weighted_minor: i64,
}

/// The age band of `idle_days`.
pub fn age_band(idle_days: i64) -> &'static str {
    match idle_days {
        i64::MIN..=29 => "under_30",
        30..=59 => "30_to_60",
        60..=89 => "60_to_90",
        _ => "over_90",
    }
}

/// The firm's stale open deals grouped by owner, pipeline, stage, age band and
/// currency, largest value first.
pub async fn report(
    db: &impl Sql,
    scope: &TenantScope,
    now: Instant,
) -> DomainResult<Vec<StaleGroup>> {
    #[derive(Deserialize)]
    struct Row {
        owner_id: String,
        pipeline_id: String,
        stage_id: String,
        stage_name: String,
        currency: String,
        value_minor: i64,
        probability: i64,
        active_at: i64,
    }
    let rows: Vec<Row> = query_as(
        db,
        stmt!(
            "SELECT d.owner_id, d.pipeline_id, d.stage_id, s.name AS stage_name, d.currency, d.value_minor,
                    COALESCE(d.probability, s.probability) AS probability,
                    MAX(COALESCE(d.last_activity_at, d.created_at), d.created_at) AS active_at
               FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
              WHERE d.firm_id = ?1 AND d.status = 'open' AND d.is_stale = 1",
            scope.firm_id()
        ),
    )
    .await?;
    let mut groups: BTreeMap<(String, String, String, &'static str, String), StaleGroup> =
        BTreeMap::new();
    for r in rows {
        let age = age_band((now.millis() - r.active_at) / DAY_MS);
        let g = groups
            .entry((
                r.owner_id.clone(),
                r.pipeline_id.clone(),
                r.stage_id.clone(),
                age,
                r.currency.clone(),
            ))
            .or_insert_with(|| StaleGroup {
                owner_id: r.owner_id,
                pipeline_id: r.pipeline_id,
                stage_id: r.stage_id,
                stage_name: r.stage_name,
                age,
                currency: r.currency,
                ..StaleGroup::default()
            });
        g.deals += 1;
        g.value_minor += r.value_minor;
        g.weighted_minor += weighted(r.value_minor, r.probability);
    }
    let mut out: Vec<StaleGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        b.value_minor
            .cmp(&a.value_minor)
            .then_with(|| a.owner_id.cmp(&b.owner_id))
    });
    Ok(out)
}
