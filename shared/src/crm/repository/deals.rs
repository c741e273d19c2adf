//! Deals in D1: created, changed, moved across stages, with their timeline.

use super::leads::{check_member, json_text};
use super::pipelines;
use super::timeline::Entry;
use crate::crm::activity::{diff, ActivityKind, Subject};
use crate::crm::deal::{Deal, DealFields, DealFilter, DealMove, DealStatus, Split};
use crate::crm::lead::LeadSource;
use crate::crm::pipeline::{Pipeline, Stage, StageKind};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, require_change, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

pub(crate) const COLUMNS: &str = "id, name, pipeline_id, stage_id, status, account_id, contact_id, lead_id, value_minor, currency,
    probability, expected_close, closed_at, lost_reason, owner_id, campaign_id, splits, source, tags, stage_entered_at, last_activity_at,
    is_stale, client_id, version, created_by, created_at, updated_at";

const TRACKED: &[&str] = &[
    "name",
    "account_id",
    "contact_id",
    "value_minor",
    "currency",
    "probability",
    "expected_close",
    "owner_id",
    "splits",
    "source",
    "campaign_id",
    "tags",
];

/// One deal.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Deal> {
    super::by_id(db, scope, "crm_deals", COLUMNS, id, "deal").await
}

/// A page of deals, newest first, narrowed by `filter`.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &DealFilter,
    page: &PageRequest,
) -> DomainResult<Page<Deal>> {
    let mut w = super::Where::firm(scope, page.after.as_deref());
    w.maybe("pipeline_id = ?", filter.pipeline_id.clone())
        .maybe("stage_id = ?", filter.stage_id.clone())
        .maybe("status = ?", filter.status.map(DealStatus::name))
        .maybe("owner_id = ?", filter.owner_id.clone())
        .maybe("account_id = ?", filter.account_id.clone())
        .maybe("is_stale = ?", filter.stale)
        .maybe("instr(lower(name), ?) > 0", filter.q.clone());
    let rows: Vec<Deal> =
        query_as(db, w.newest_first("crm_deals", COLUMNS, page.fetch_limit())).await?;
    Ok(Page::from_rows(rows, page, |d| d.id.clone()))
}

async fn check_links(
    db: &impl Sql,
    scope: &TenantScope,
    account: Option<&str>,
    contact: Option<&str>,
) -> DomainResult<()> {
    if let Some(account) = account {
        let rows = db
            .query(stmt!(
                "SELECT 1 AS ok FROM crm_accounts WHERE firm_id = ?1 AND id = ?2",
                scope.firm_id(),
                account
            ))
            .await?;
        if rows.is_empty() {
            return Err(DomainError::conflict(
                "account_id",
                "account_id names no account of the firm",
            ));
        }
    }
    if let Some(contact) = contact {
        let rows = db
            .query(stmt!(
                "SELECT 1 AS ok FROM crm_contacts WHERE firm_id = ?1 AND id = ?2",
                scope.firm_id(),
                contact
            ))
            .await?;
        if rows.is_empty() {
            return Err(DomainError::conflict(
                "contact_id",
                "contact_id names no contact of the firm",
            ));
        }
    }
    Ok(())
}

async fn check_people(
    db: &impl Sql,
    scope: &TenantScope,
    owner: &str,
    splits: &[Split],
) -> DomainResult<()> {
    check_member(db, scope, "owner_id", owner).await?;
    for s in splits {
        check_member(db, scope, "splits", &s.user_id).await?;
    }
    Ok(())
}

/// The deal `fields` make (in the firm's `currency` unless given) and the
/// statements that store it with its timeline; `lead_id` when a lead became it;
/// `written` names records the same batch writes first (so not checked here).
#[allow(clippy::too_many_arguments)] // the deal, where it comes from and who makes it
pub async fn plan_insert(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &DealFields,
    currency: &str,
    lead_id: Option<&str>,
    written: &[&str],
    actor: &str,
    now: Instant,
) -> DomainResult<(Deal, Vec<Statement>)> {
    let pipeline = match &fields.pipeline_id {
        Some(id) => pipelines::get(db, scope, id).await.map_err(|_| {
            DomainError::conflict("pipeline_id", "pipeline_id names no pipeline of the firm")
        })?,
        None => pipelines::default_of(db, scope).await?.ok_or_else(|| {
            DomainError::conflict(
                "pipeline_id",
                "the firm has no pipeline yet: create one first",
            )
        })?,
    };
    if !pipeline.is_active {
        return Err(DomainError::conflict(
            "pipeline_id",
            "the pipeline is inactive and takes no new deals",
        ));
    }
    let stage = match &fields.stage_id {
        Some(id) => pipeline
            .stage(id)
            .filter(|s| s.kind == StageKind::Open)
            .ok_or_else(|| {
                DomainError::conflict(
                    "stage_id",
                    "stage_id must name an open stage of the pipeline",
                )
            })?,
        None => pipeline.first_open().ok_or_else(|| {
            DomainError::conflict("pipeline_id", "the pipeline has no open stage")
        })?,
    };
    let account_id = fields.account_id.clone().flatten();
    let contact_id = fields.contact_id.clone().flatten();
    fn unwritten<'a>(id: &'a Option<String>, written: &[&str]) -> Option<&'a str> {
        id.as_deref().filter(|id| !written.contains(id))
    }
    check_links(
        db,
        scope,
        unwritten(&account_id, written),
        unwritten(&contact_id, written),
    )
    .await?;
    let owner_id = fields.owner_id.clone().unwrap_or_else(|| actor.to_owned());
    let splits = fields.splits.clone().unwrap_or_else(|| {
        vec![Split {
            user_id: owner_id.clone(),
            percent: 100,
        }]
    });
    check_people(db, scope, &owner_id, &splits).await?;
    if let Some(Some(campaign)) = &fields.campaign_id {
        super::campaigns::check(db, scope, "campaign_id", campaign).await?;
    }
    let deal = Deal {
        id: new_id("dea", now.millis())?,
        name: fields.name.clone().unwrap_or_default(),
        pipeline_id: pipeline.id.clone(),
        stage_id: stage.id.clone(),
        status: DealStatus::Open,
        account_id,
        contact_id,
        lead_id: lead_id.map(str::to_owned),
        value_minor: fields.value_minor.unwrap_or(0),
        currency: fields
            .currency
            .clone()
            .unwrap_or_else(|| currency.to_owned()),
        probability: fields.probability.flatten(),
        expected_close: fields.expected_close.clone().flatten(),
        closed_at: None,
        lost_reason: None,
        owner_id,
        campaign_id: fields.campaign_id.clone().flatten(),
        splits,
        source: fields.source.flatten(),
        tags: fields.tags.clone().unwrap_or_default(),
        stage_entered_at: now.millis(),
        last_activity_at: None,
        is_stale: false,
        client_id: None,
        version: 1,
        created_by: actor.to_owned(),
        created_at: now.millis(),
        updated_at: now.millis(),
    };
    let insert = super::insert_row("crm_deals", scope, &deal.id, row(&deal));
    let created = Entry::system(
        Subject::Deal,
        &deal.id,
        ActivityKind::Created,
        format!("Deal created in {}", stage.name),
        Some(actor),
        now,
    );
    let statements = vec![insert, created.statement(scope, now)?.1];
    Ok((deal, statements))
}

/// Creates a deal.
pub async fn insert(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &DealFields,
    currency: &str,
    actor: &str,
    now: Instant,
) -> DomainResult<Deal> {
    let (deal, statements) =
        plan_insert(db, scope, fields, currency, None, &[], actor, now).await?;
    db.batch(statements).await?;
    Ok(deal)
}

/// Every stored field of a deal but its id, firm, version and close snapshot.
fn row(d: &Deal) -> super::Row {
    vec![
        ("name", d.name.as_str().into()),
        ("pipeline_id", d.pipeline_id.as_str().into()),
        ("stage_id", d.stage_id.as_str().into()),
        ("status", d.status.name().into()),
        ("account_id", d.account_id.clone().into()),
        ("contact_id", d.contact_id.clone().into()),
        ("lead_id", d.lead_id.clone().into()),
        ("value_minor", d.value_minor.into()),
        ("currency", d.currency.as_str().into()),
        ("probability", d.probability.into()),
        ("expected_close", d.expected_close.clone().into()),
        ("closed_at", d.closed_at.into()),
        ("lost_reason", d.lost_reason.clone().into()),
        ("owner_id", d.owner_id.as_str().into()),
        ("campaign_id", d.campaign_id.clone().into()),
        ("splits", json_text(&d.splits).into()),
        ("source", d.source.map(LeadSource::name).into()),
        ("tags", json_text(&d.tags).into()),
        ("stage_entered_at", d.stage_entered_at.into()),
        ("last_activity_at", d.last_activity_at.into()),
        ("is_stale", d.is_stale.into()),
        ("client_id", d.client_id.clone().into()),
        ("created_by", d.created_by.as_str().into()),
        ("created_at", d.created_at.into()),
        ("updated_at", d.updated_at.into()),
    ]
}

fn update_statement(
    scope: &TenantScope,
    d: &Deal,
    version: i64,
    snapshot: Option<String>,
) -> Statement {
    let mut fields = row(d);
    if let Some(snapshot) = snapshot {
        fields.push(("close_snapshot", snapshot.into()));
    }
    super::update_row("crm_deals", scope, &d.id, version, fields)
}

/// Stores `after` over `before` with `entries` (extra statements after them), a
/// lost race being a 412.
#[allow(clippy::too_many_arguments)] // before, after and what goes with the change
pub(crate) async fn write(
    db: &impl Sql,
    scope: &TenantScope,
    before: &Deal,
    after: &Deal,
    snapshot: Option<String>,
    entries: &[Entry<'_>],
    extra: Vec<Statement>,
    now: Instant,
) -> DomainResult<Deal> {
    let mut statements = vec![
        update_statement(scope, after, before.version, snapshot),
        require_change(),
    ];
    for e in entries {
        statements.push(e.statement(scope, now)?.1);
    }
    statements.extend(extra);
    super::commit(
        db,
        scope,
        ("crm_deals", "deal"),
        &before.id,
        before.version,
        statements,
    )
    .await?;
    get(db, scope, &before.id).await
}

/// Changes a deal's fields at `expected` version (any when `None`).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &DealFields,
    expected: Option<i64>,
    actor: &str,
    now: Instant,
) -> DomainResult<Deal> {
    let before = get(db, scope, id).await?;
    super::expect_version("deal", before.version, expected)?;
    let mut after = before.clone();
    if let Some(v) = &fields.name {
        after.name = v.clone();
    }
    if let Some(v) = &fields.account_id {
        after.account_id = v.clone();
    }
    if let Some(v) = &fields.contact_id {
        after.contact_id = v.clone();
    }
    if let Some(v) = fields.value_minor {
        after.value_minor = v;
    }
    if let Some(v) = &fields.currency {
        after.currency = v.clone();
    }
    if let Some(v) = fields.probability {
        after.probability = v;
    }
    if let Some(v) = &fields.expected_close {
        after.expected_close = v.clone();
    }
    if let Some(v) = &fields.owner_id {
        after.owner_id = v.clone();
        if fields.splits.is_none()
            && before.splits.len() == 1
            && before.splits.iter().all(|s| s.user_id == before.owner_id)
        {
            after.splits = vec![Split {
                user_id: v.clone(),
                percent: 100,
            }];
        }
    }
    if let Some(v) = &fields.splits {
        after.splits = v.clone();
    }
    if let Some(v) = fields.source {
        after.source = v;
    }
    if let Some(v) = &fields.campaign_id {
        after.campaign_id.clone_from(v);
        if let Some(campaign) = v {
            super::campaigns::check(db, scope, "campaign_id", campaign).await?;
        }
    }
    if let Some(v) = &fields.tags {
        after.tags = v.clone();
    }
    check_links(
        db,
        scope,
        fields.account_id.clone().flatten().as_deref(),
        fields.contact_id.clone().flatten().as_deref(),
    )
    .await?;
    if fields.owner_id.is_some() || fields.splits.is_some() {
        check_people(db, scope, &after.owner_id, &after.splits).await?;
    }
    after.updated_at = now.millis();
    let changes = diff(
        &serde_json::to_value(&before).unwrap_or_default(),
        &serde_json::to_value(&after).unwrap_or_default(),
        TRACKED,
    );
    let mut entry = Entry::system(
        Subject::Deal,
        id,
        ActivityKind::Changed,
        "Deal changed",
        Some(actor),
        now,
    );
    entry.changes = changes;
    write(db, scope, &before, &after, None, &[entry], Vec::new(), now).await
}

/// What a move did, for the caller's follow-up (events, automations).
#[derive(Debug, Clone)]
pub struct Moved {
    /// The deal after the move.
    pub deal: Deal,
    /// The stage it left.
    pub from: Stage,
    /// The stage it entered.
    pub to: Stage,
    /// Its pipeline.
    pub pipeline: Pipeline,
}

/// Moves a deal to another stage of its pipeline: into the won or lost stage
/// closes it (lost needs the reason), back into an open stage reopens it. `extra`
/// statements join the batch (the won event, notifications).
pub async fn plan_move(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    movement: &DealMove,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<(Deal, Deal, Pipeline)> {
    let before = get(db, scope, id).await?;
    super::expect_version("deal", before.version, expected)?;
    let pipeline = pipelines::get(db, scope, &before.pipeline_id).await?;
    let to = pipeline.stage(&movement.stage_id).ok_or_else(|| {
        DomainError::conflict(
            "stage_id",
            "stage_id must name a stage of the deal's pipeline",
        )
    })?;
    movement.check(&before, to)?;
    let mut after = before.clone();
    after.stage_id = to.id.clone();
    after.status = to.kind.into();
    after.stage_entered_at = now.millis();
    after.lost_reason = movement.lost_reason.clone();
    after.closed_at = (to.kind != StageKind::Open).then_some(now.millis());
    after.is_stale = false;
    after.updated_at = now.millis();
    Ok((before, after, pipeline))
}

/// Stores a planned move with its timeline entry and `extra` statements.
#[allow(clippy::too_many_arguments)] // the planned move and what goes with it
pub async fn finish_move(
    db: &impl Sql,
    scope: &TenantScope,
    before: &Deal,
    after: &Deal,
    pipeline: &Pipeline,
    actor: &str,
    extra: Vec<Statement>,
    now: Instant,
) -> DomainResult<Moved> {
    let from = match pipeline.stage(&before.stage_id) {
        Some(s) => s.clone(),
        None => pipelines::stage_any(db, scope, &before.stage_id)
            .await?
            .ok_or(DomainError::NotFound("stage"))?,
    };
    let to = pipeline
        .stage(&after.stage_id)
        .cloned()
        .ok_or(DomainError::NotFound("stage"))?;
    // The win model learns from how a deal looked in its last open stage.
    let snapshot = (before.status == DealStatus::Open && to.kind != StageKind::Open)
        .then(|| json_text(&before.snapshot(&from, now.millis())));
    let (kind, summary) = match to.kind {
        StageKind::Won => (ActivityKind::Won, format!("Won from {}", from.name)),
        StageKind::Lost => (ActivityKind::Lost, format!("Lost from {}", from.name)),
        StageKind::Open => (
            ActivityKind::StageChanged,
            format!("{} → {}", from.name, to.name),
        ),
    };
    let mut entry = Entry::system(Subject::Deal, &before.id, kind, summary, Some(actor), now);
    entry.body = after.lost_reason.clone();
    entry.changes = serde_json::json!({"stage_id": {"from": from.id, "to": to.id}, "status": {"from": before.status.name(), "to": after.status.name()}});
    let deal = write(db, scope, before, after, snapshot, &[entry], extra, now).await?;
    Ok(Moved {
        deal,
        from,
        to,
        pipeline: pipeline.clone(),
    })
}

/// The event a move into a closed stage publishes (`crm.deal.won` with the account
/// and contact the clients module makes the client from, or `crm.deal.lost`), for
/// the move's batch; `None` for a move between open stages. A won deal whose
/// account already is a client names it, and the deal is linked to it at once.
pub async fn closing_event(
    db: &impl Sql,
    scope: &TenantScope,
    after: &mut Deal,
    now: Instant,
) -> DomainResult<Option<crate::kernel::events::EventEnvelope>> {
    use crate::catalogue::DomainEvent as _;
    use crate::crm::events::{DealLost, DealWon};
    match after.status {
        DealStatus::Open => Ok(None),
        DealStatus::Lost => Ok(Some(
            DealLost {
                deal_id: after.id.clone(),
                deal_name: after.name.clone(),
                account_id: after.account_id.clone(),
                value_minor: after.value_minor,
                currency: after.currency.clone(),
                reason: after.lost_reason.clone().unwrap_or_default(),
            }
            .envelope(scope, now)?,
        )),
        DealStatus::Won => {
            let account = match &after.account_id {
                Some(id) => Some(super::accounts::get(db, scope, id).await?),
                None => None,
            };
            let contact = match &after.contact_id {
                Some(id) => super::accounts::contact(db, scope, id).await?,
                None => None,
            };
            after.client_id = account.as_ref().and_then(|a| a.client_id.clone());
            Ok(Some(
                DealWon {
                    deal_id: after.id.clone(),
                    deal_name: after.name.clone(),
                    account_id: after.account_id.clone(),
                    account_name: account.map(|a| a.name),
                    contact_name: contact.as_ref().map(|c| c.name.clone()),
                    contact_email: contact.and_then(|c| c.email),
                    value_minor: after.value_minor,
                    currency: after.currency.clone(),
                    owner_id: after.owner_id.clone(),
                    client_id: after.client_id.clone(),
                }
                .envelope(scope, now)?,
            ))
        }
    }
}
