//! Campaigns in D1, answered with their results counted from the leads and
//! deals that name them (in one query, never from stored counters).

use serde::{Deserialize, Serialize};

use super::Where;
use crate::crm::campaign::{
    results, Campaign, CampaignFields, CampaignFilter, CampaignStatus, Counts, Results,
    MAX_CAMPAIGNS,
};
use crate::crm::fields::parse_date;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;

const TABLE: &str = "crm_campaigns";
const COLUMNS: &str =
    "id, name, description, kind, status, start_on, end_on, currency, budget_minor,
    actual_cost_minor, target_leads, owner_id, version, created_by, created_at, updated_at";

/// A campaign's results, counted beside its columns (`c` is the campaign row).
const COUNTS: &str = "
    (SELECT COUNT(*) FROM crm_leads l WHERE l.firm_id = c.firm_id AND l.campaign_id = c.id) AS leads,
    (SELECT COUNT(*) FROM crm_leads l WHERE l.firm_id = c.firm_id AND l.campaign_id = c.id
        AND l.status IN ('qualified', 'converted')) AS qualified_leads,
    (SELECT COUNT(*) FROM crm_leads l WHERE l.firm_id = c.firm_id AND l.campaign_id = c.id
        AND l.status = 'converted') AS converted_leads,
    (SELECT COUNT(*) FROM crm_deals d WHERE d.firm_id = c.firm_id AND d.campaign_id = c.id) AS deals,
    (SELECT COUNT(*) FROM crm_deals d WHERE d.firm_id = c.firm_id AND d.campaign_id = c.id
        AND d.status = 'won') AS deals_won,
    (SELECT COALESCE(SUM(d.value_minor), 0) FROM crm_deals d WHERE d.firm_id = c.firm_id
        AND d.campaign_id = c.id AND d.status = 'won' AND d.currency = c.currency) AS won_minor";

/// A campaign and what it brought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignView {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// What it brought.
    pub results: Results,
}

impl CampaignView {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        self.campaign.etag()
    }
}

#[derive(Deserialize)]
struct Counted {
    #[serde(flatten)]
    campaign: Campaign,
    #[serde(flatten)]
    counts: Counts,
}

fn view(row: Counted) -> CampaignView {
    let results = results(&row.campaign, row.counts);
    CampaignView {
        campaign: row.campaign,
        results,
    }
}

fn columns() -> String {
    let own: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect();
    format!("{}, {COUNTS}", own.join(", "))
}

/// One campaign and its results.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<CampaignView> {
    let rows: Vec<Counted> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {} FROM {TABLE} c WHERE c.firm_id = ?1 AND c.id = ?2",
                columns()
            ),
            vec![scope.firm_id().into(), id.into()],
        ),
    )
    .await?;
    rows.into_iter()
        .next()
        .map(view)
        .ok_or(DomainError::NotFound("campaign"))
}

/// A 409 naming `field` unless `id` is one of the firm's campaigns (as for a
/// member who is not one).
pub async fn check(
    db: &impl Sql,
    scope: &TenantScope,
    field: &'static str,
    id: &str,
) -> DomainResult<()> {
    let found = db
        .query(Statement::new(
            format!("SELECT id FROM {TABLE} WHERE firm_id = ?1 AND id = ?2"),
            vec![scope.firm_id().into(), id.into()],
        ))
        .await?;
    if found.is_empty() {
        return Err(DomainError::conflict(
            field,
            format!("{field} must name a campaign of the firm"),
        ));
    }
    Ok(())
}

/// A page of campaigns with their results, newest first.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &CampaignFilter,
    page: &PageRequest,
) -> DomainResult<Page<CampaignView>> {
    let mut w = Where::firm(scope, page.after.as_deref());
    w.maybe("status = ?", filter.status.map(|s| s.name()))
        .maybe("kind = ?", filter.kind.map(|k| k.name()));
    // The filter's clauses name the campaign's own columns: unqualified, they
    // read the aliased outer table (the counts' subqueries have their own).
    let rows: Vec<Counted> = query_as(
        db,
        w.newest_first(&format!("{TABLE} c"), &columns(), page.fetch_limit()),
    )
    .await?;
    let page_rows: Vec<CampaignView> = rows.into_iter().map(view).collect();
    Ok(Page::from_rows(page_rows, page, |c| c.campaign.id.clone()))
}

fn row(c: &Campaign) -> super::Row {
    vec![
        ("name", c.name.clone().into()),
        ("description", c.description.clone().into()),
        ("kind", c.kind.name().into()),
        ("status", c.status.name().into()),
        ("start_on", c.start_on.clone().into()),
        ("end_on", c.end_on.clone().into()),
        ("budget_minor", c.budget_minor.into()),
        ("actual_cost_minor", c.actual_cost_minor.into()),
        ("target_leads", c.target_leads.into()),
        ("owner_id", c.owner_id.clone().into()),
        ("updated_at", c.updated_at.into()),
    ]
}

/// `fields` over `c` (a fresh campaign on a create), checked as a whole.
fn apply(c: &mut Campaign, f: &CampaignFields, now: Instant) -> DomainResult<()> {
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    if let Some(v) = &f.name {
        c.name.clone_from(v);
    }
    if let Some(v) = &f.description {
        c.description.clone_from(v);
    }
    if let Some(v) = f.kind {
        c.kind = v;
    }
    if let Some(to) = f.status {
        if !c.status.may_become(to) {
            return Err(DomainError::conflict(
                "status",
                format!("a {} campaign cannot become {}", c.status.name(), to.name()),
            ));
        }
        c.status = to;
    }
    if let Some(v) = f.start_on {
        c.start_on = day(v);
    }
    if let Some(v) = f.end_on {
        c.end_on = day(v);
    }
    crate::crm::fields::check_span(
        parse_date("start_on", &c.start_on)?,
        parse_date("end_on", &c.end_on)?,
    )?;
    if let Some(v) = f.budget_minor {
        c.budget_minor = v;
    }
    if let Some(v) = f.actual_cost_minor {
        c.actual_cost_minor = v;
    }
    if let Some(v) = f.target_leads {
        c.target_leads = v;
    }
    if let Some(v) = &f.owner_id {
        c.owner_id.clone_from(v);
    }
    c.updated_at = now.millis();
    Ok(())
}

/// The campaign `fields` start planning and the statement that stores it (a
/// firm at its 2,000 campaigns is a 409).
pub async fn plan_create(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &CampaignFields,
    actor: &str,
    now: Instant,
) -> DomainResult<(CampaignView, Vec<Statement>)> {
    super::under_cap(db, scope, TABLE, MAX_CAMPAIGNS, "campaigns").await?;
    if let Some(Some(owner)) = &fields.owner_id {
        super::leads::check_member(db, scope, "owner_id", owner).await?;
    }
    let id = new_id("cmp", now.millis())?;
    let mut c = Campaign {
        id: id.clone(),
        name: String::new(),
        description: None,
        kind: crate::crm::campaign::CampaignKind::Other,
        status: CampaignStatus::Planning,
        start_on: String::new(),
        end_on: String::new(),
        currency: fields.currency.clone().unwrap_or_default(),
        budget_minor: 0,
        actual_cost_minor: 0,
        target_leads: None,
        owner_id: None,
        version: 1,
        created_by: actor.to_owned(),
        created_at: now.millis(),
        updated_at: now.millis(),
    };
    apply(&mut c, fields, now)?;
    let mut values = row(&c);
    values.extend([
        ("currency", c.currency.clone().into()),
        ("created_by", actor.into()),
        ("created_at", now.millis().into()),
    ]);
    let insert = super::insert_row(TABLE, scope, &id, values);
    let results = results(&c, Counts::default());
    Ok((
        CampaignView {
            campaign: c,
            results,
        },
        vec![insert],
    ))
}

/// Starts planning a campaign.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &CampaignFields,
    actor: &str,
    now: Instant,
) -> DomainResult<CampaignView> {
    let (view, statements) = plan_create(db, scope, fields, actor, now).await?;
    db.batch(statements).await?;
    Ok(view)
}

/// Changes a campaign at `expected` version (any when `None`); its status moves
/// only forward (planning → active ⇄ paused → completed, or cancelled).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &CampaignFields,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<CampaignView> {
    let before = get(db, scope, id).await?.campaign;
    super::expect_version("campaign", before.version, expected)?;
    if let Some(Some(owner)) = &fields.owner_id {
        super::leads::check_member(db, scope, "owner_id", owner).await?;
    }
    let mut after = before.clone();
    apply(&mut after, fields, now)?;
    let changed = db
        .execute(super::update_row(
            TABLE,
            scope,
            id,
            before.version,
            row(&after),
        ))
        .await?;
    if changed == 0 {
        return Err(super::changed(
            "campaign",
            get(db, scope, id).await?.campaign.version,
        ));
    }
    get(db, scope, id).await
}
