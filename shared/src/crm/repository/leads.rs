//! Leads in D1: each write re-scores the lead by the firm's rules and appends to its
//! timeline in the same batch, so a score never disagrees with its explanation.

use serde::Serialize;

use super::timeline::Entry;
use crate::crm::activity::{diff, ActivityKind, Subject};
use crate::crm::lead::{Lead, LeadFields, LeadFilter, LeadSource, LeadStatus};
use crate::crm::scoring::{self, Adjustment, Change, Occasion, Rule};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, require_change, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

pub(crate) const COLUMNS: &str = "id, contact_name, company_name, email, phone, title, industry, website, country, company_size,
    budget_minor, currency, source, status, score, owner_id, campaign_id, tags, custom_fields, notes, lost_reason, account_id, deal_id,
    last_activity_at, version, created_by, created_at, updated_at";

/// Fields a change records in the timeline.
const TRACKED: &[&str] = crate::crm::lead::LEAD_FIELDS;

/// Whether `user_id` is an active member of the firm (owners and split holders must be).
pub async fn check_member(
    db: &impl Sql,
    scope: &TenantScope,
    field: &'static str,
    user_id: &str,
) -> DomainResult<()> {
    let rows = db
        .query(stmt!(
            "SELECT 1 AS ok FROM firm_memberships WHERE firm_id = ?1 AND user_id = ?2 AND is_active = 1",
            scope.firm_id(),
            user_id
        ))
        .await?;
    if rows.is_empty() {
        return Err(DomainError::conflict(
            field,
            format!("{field} must name an active member of the firm"),
        ));
    }
    Ok(())
}

/// The firm's active scoring rules.
pub async fn active_rules(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<Rule>> {
    query_as(
        db,
        stmt!(
            "SELECT id, name, category, trigger, conditions, points, max_applications, decay_days, priority, is_active,
                    version, created_at, updated_at
               FROM crm_scoring_rules WHERE firm_id = ?1 AND is_active = 1",
            scope.firm_id()
        ),
    )
    .await
}

/// Every adjustment of a lead's score, oldest first.
pub async fn adjustments(
    db: &impl Sql,
    scope: &TenantScope,
    lead_id: &str,
) -> DomainResult<Vec<Adjustment>> {
    query_as(
        db,
        stmt!(
            "SELECT id, rule_id, rule_name, points, reason, applied_at, expires_at, withdrawn_at
               FROM crm_score_adjustments WHERE firm_id = ?1 AND lead_id = ?2 ORDER BY id",
            scope.firm_id(),
            lead_id
        ),
    )
    .await
}

/// One lead.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Lead> {
    super::by_id(db, scope, "crm_leads", COLUMNS, id, "lead").await
}

/// A page of leads, newest first, narrowed by `filter`.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &LeadFilter,
    page: &PageRequest,
) -> DomainResult<Page<Lead>> {
    let mut w = super::Where::firm(scope, page.after.as_deref());
    w.maybe("status = ?", filter.status.map(LeadStatus::name))
        .maybe("source = ?", filter.source.map(LeadSource::name))
        .maybe("owner_id = ?", filter.owner_id.clone())
        .maybe("EXISTS (SELECT 1 FROM json_each(crm_leads.tags) WHERE value = ?)", filter.tag.clone())
        .maybe("score >= ?", filter.min_score)
        .maybe(
            "(instr(lower(contact_name), ?) > 0 OR instr(lower(company_name), ?) > 0 OR instr(email, ?) > 0)",
            filter.q.clone(),
        );
    let rows: Vec<Lead> =
        query_as(db, w.newest_first("crm_leads", COLUMNS, page.fetch_limit())).await?;
    Ok(Page::from_rows(rows, page, |l| l.id.clone()))
}

/// `fields` applied to `lead`.
fn apply(lead: &mut Lead, f: &LeadFields) {
    fn set<T: Clone>(target: &mut T, value: &Option<T>) {
        if let Some(v) = value {
            *target = v.clone();
        }
    }
    set(&mut lead.contact_name, &f.contact_name);
    set(&mut lead.company_name, &f.company_name);
    set(&mut lead.email, &f.email);
    set(&mut lead.phone, &f.phone);
    set(&mut lead.title, &f.title);
    set(&mut lead.industry, &f.industry);
    set(&mut lead.website, &f.website);
    set(&mut lead.country, &f.country);
    set(&mut lead.company_size, &f.company_size);
    set(&mut lead.budget_minor, &f.budget_minor);
    set(&mut lead.currency, &f.currency);
    set(&mut lead.source, &f.source);
    set(&mut lead.status, &f.status);
    set(&mut lead.owner_id, &f.owner_id);
    set(&mut lead.campaign_id, &f.campaign_id);
    set(&mut lead.tags, &f.tags);
    set(&mut lead.notes, &f.notes);
    if let Some(custom) = &f.custom_fields {
        for (name, value) in custom {
            if value.is_null() {
                lead.custom_fields.remove(name);
            } else {
                lead.custom_fields.insert(name.clone(), value.clone());
            }
        }
    }
}

/// The statements that store `changes` of `lead`'s score, and its new score.
pub(crate) fn score_statements(
    scope: &TenantScope,
    lead_id: &str,
    past: &[Adjustment],
    changes: &[Change],
    now: Instant,
) -> DomainResult<(i64, Vec<Statement>)> {
    let mut all = past.to_vec();
    let mut statements = Vec::new();
    for change in changes {
        match change {
            Change::Apply {
                rule_id,
                rule_name,
                points,
                reason,
                expires_at,
            } => {
                let id = new_id("sca", now.millis())?;
                statements.push(stmt!(
                    "INSERT INTO crm_score_adjustments (id, firm_id, lead_id, rule_id, rule_name, points, reason, applied_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    id.as_str(),
                    scope.firm_id(),
                    lead_id,
                    rule_id.as_str(),
                    rule_name.as_str(),
                    *points,
                    reason.as_str(),
                    now.millis(),
                    *expires_at
                ));
                all.push(Adjustment {
                    id,
                    rule_id: rule_id.clone(),
                    rule_name: rule_name.clone(),
                    points: *points,
                    reason: reason.clone(),
                    applied_at: now.millis(),
                    expires_at: *expires_at,
                    withdrawn_at: None,
                });
            }
            Change::Withdraw { rule_id } => {
                statements.push(stmt!(
                    "UPDATE crm_score_adjustments SET withdrawn_at = ?1
                      WHERE firm_id = ?2 AND lead_id = ?3 AND rule_id = ?4 AND withdrawn_at IS NULL",
                    now.millis(),
                    scope.firm_id(),
                    lead_id,
                    rule_id.as_str()
                ));
                for a in all
                    .iter_mut()
                    .filter(|a| &a.rule_id == rule_id && a.withdrawn_at.is_none())
                {
                    a.withdrawn_at = Some(now.millis());
                }
            }
        }
    }
    Ok((scoring::score(&all, now.millis()), statements))
}

/// Every stored field of a lead but its id, firm and version.
fn row(l: &Lead) -> super::Row {
    vec![
        ("contact_name", l.contact_name.as_str().into()),
        ("company_name", l.company_name.clone().into()),
        ("email", l.email.clone().into()),
        ("phone", l.phone.clone().into()),
        ("title", l.title.clone().into()),
        ("industry", l.industry.clone().into()),
        ("website", l.website.clone().into()),
        ("country", l.country.clone().into()),
        ("company_size", l.company_size.into()),
        ("budget_minor", l.budget_minor.into()),
        ("currency", l.currency.clone().into()),
        ("source", l.source.name().into()),
        ("status", l.status.name().into()),
        ("score", l.score.into()),
        ("owner_id", l.owner_id.clone().into()),
        ("campaign_id", l.campaign_id.clone().into()),
        ("tags", json_text(&l.tags).into()),
        ("custom_fields", json_text(&l.custom_fields).into()),
        ("notes", l.notes.clone().into()),
        ("lost_reason", l.lost_reason.clone().into()),
        ("account_id", l.account_id.clone().into()),
        ("deal_id", l.deal_id.clone().into()),
        ("last_activity_at", l.last_activity_at.into()),
        ("created_by", l.created_by.as_str().into()),
        ("created_at", l.created_at.into()),
        ("updated_at", l.updated_at.into()),
    ]
}

/// The version-checked statement that stores every field of `l` over `version`.
pub(crate) fn update_statement(scope: &TenantScope, l: &Lead, version: i64) -> Statement {
    super::update_row("crm_leads", scope, &l.id, version, row(l))
}

/// JSON text of a value that always serialises.
pub(crate) fn json_text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn scored_entry<'a>(
    lead: &'a Lead,
    before: i64,
    actor: Option<&'a str>,
    now: Instant,
) -> Option<Entry<'a>> {
    (lead.score != before).then(|| {
        let mut e = Entry::system(
            Subject::Lead,
            &lead.id,
            ActivityKind::Scored,
            format!("Score {before} → {}", lead.score),
            actor,
            now,
        );
        e.changes = serde_json::json!({"score": {"from": before, "to": lead.score}});
        e
    })
}

/// Captures a lead, scores it and starts its timeline. `created_by` is a member or
/// a channel (`import`, `form`).
pub async fn insert(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &LeadFields,
    created_by: &str,
    now: Instant,
) -> DomainResult<Lead> {
    let (lead, statements) = plan_insert(db, scope, fields, created_by, now).await?;
    db.batch(statements).await?;
    Ok(lead)
}

/// The lead `fields` make and the statements that store it, scored, with its
/// timeline: for imports, which batch many.
pub async fn plan_insert(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &LeadFields,
    created_by: &str,
    now: Instant,
) -> DomainResult<(Lead, Vec<Statement>)> {
    let prepared = Prepared::load(db, scope).await?;
    plan_insert_with(db, scope, &prepared, fields, created_by, now).await
}

/// What capturing a lead reads of the firm once, however many leads it captures:
/// its scoring rules and its assignment rules.
pub struct Prepared {
    /// Scoring.
    pub rules: scoring::Ruleset,
    /// Assignment.
    pub router: crate::crm::assignment::Router,
}

impl Prepared {
    /// Reads the firm's rules.
    pub async fn load(db: &impl Sql, scope: &TenantScope) -> DomainResult<Self> {
        Ok(Self {
            rules: scoring::Ruleset::new(&active_rules(db, scope).await?),
            router: super::assignment::router(db, scope).await?,
        })
    }
}

/// [`plan_insert`] with the rules already prepared (an import scores many leads).
/// A lead whose `owner_id` is left out goes to whoever the firm's assignment rules
/// choose (a change may clear it later).
pub async fn plan_insert_with(
    db: &impl Sql,
    scope: &TenantScope,
    prepared: &Prepared,
    fields: &LeadFields,
    created_by: &str,
    now: Instant,
) -> DomainResult<(Lead, Vec<Statement>)> {
    let rules = &prepared.rules;
    fields.check_budget(None)?;
    if let Some(Some(owner)) = &fields.owner_id {
        check_member(db, scope, "owner_id", owner).await?;
    }
    if let Some(Some(campaign)) = &fields.campaign_id {
        super::campaigns::check(db, scope, "campaign_id", campaign).await?;
    }
    let mut lead = Lead {
        id: new_id("led", now.millis())?,
        contact_name: String::new(),
        company_name: None,
        email: None,
        phone: None,
        title: None,
        industry: None,
        website: None,
        country: None,
        company_size: None,
        budget_minor: None,
        currency: None,
        source: LeadSource::Website,
        status: LeadStatus::New,
        score: 0,
        owner_id: None,
        campaign_id: None,
        tags: Vec::new(),
        custom_fields: Default::default(),
        notes: None,
        lost_reason: None,
        account_id: None,
        deal_id: None,
        last_activity_at: None,
        version: 1,
        created_by: created_by.to_owned(),
        created_at: now.millis(),
        updated_at: now.millis(),
    };
    apply(&mut lead, fields);
    if fields.owner_id.is_none() {
        lead.owner_id = super::assignment::choose(db, scope, &prepared.router, &lead, now).await?;
    }
    let occasion = Occasion::Written {
        added_tags: &lead.tags,
        status_changed: false,
    };
    let changes = rules.evaluate(&lead, &occasion, &Default::default(), now.millis());
    let (score, score_statements) = score_statements(scope, &lead.id, &[], &changes, now)?;
    lead.score = score;
    let actor = created_by.starts_with("usr_").then_some(created_by);
    let mut statements = vec![super::insert_row("crm_leads", scope, &lead.id, row(&lead))];
    statements.extend(score_statements);
    statements.push(
        Entry::system(
            Subject::Lead,
            &lead.id,
            ActivityKind::Created,
            "Lead captured",
            actor,
            now,
        )
        .statement(scope, now)?
        .1,
    );
    if let Some(e) = scored_entry(&lead, 0, actor, now) {
        statements.push(e.statement(scope, now)?.1);
    }
    Ok((lead, statements))
}

/// Stores `after` over `before` with its timeline and score changes, re-scoring on
/// `occasion`; a lost race is a 412.
#[allow(clippy::too_many_arguments)] // the change, its context and its occasion
pub(crate) async fn write(
    db: &impl Sql,
    scope: &TenantScope,
    before: &Lead,
    mut after: Lead,
    occasion: Option<&Occasion<'_>>,
    mut entries: Vec<Entry<'_>>,
    actor: Option<&str>,
    now: Instant,
) -> DomainResult<Lead> {
    let mut statements = Vec::new();
    let mut score_writes = Vec::new();
    if let Some(occasion) = occasion {
        let rules = active_rules(db, scope).await?;
        let past = adjustments(db, scope, &before.id).await?;
        let history = scoring::histories(&past, now.millis());
        let changes = scoring::evaluate(&rules, &after, occasion, &history, now.millis());
        let (score, writes) = score_statements(scope, &before.id, &past, &changes, now)?;
        after.score = score;
        score_writes = writes;
    }
    after.updated_at = now.millis();
    let changes = diff(
        &serde_json::to_value(before).unwrap_or_default(),
        &serde_json::to_value(&after).unwrap_or_default(),
        TRACKED,
    );
    if changes.as_object().is_some_and(|c| !c.is_empty()) && entries.is_empty() {
        let mut e = Entry::system(
            Subject::Lead,
            &before.id,
            ActivityKind::Changed,
            "Lead changed",
            actor,
            now,
        );
        e.changes = changes;
        entries.push(e);
    }
    statements.push(update_statement(scope, &after, before.version));
    statements.push(require_change());
    statements.extend(score_writes);
    for e in &entries {
        statements.push(e.statement(scope, now)?.1);
    }
    if let Some(e) = scored_entry(&after, before.score, actor, now) {
        statements.push(e.statement(scope, now)?.1);
    }
    super::commit(
        db,
        scope,
        ("crm_leads", "lead"),
        &before.id,
        before.version,
        statements,
    )
    .await?;
    get(db, scope, &before.id).await
}

/// Changes a lead at `expected` version (any when `None`), re-scoring it.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &LeadFields,
    expected: Option<i64>,
    actor: &str,
    now: Instant,
) -> DomainResult<Lead> {
    let before = get(db, scope, id).await?;
    super::expect_version("lead", before.version, expected)?;
    if let Some(to) = fields.status {
        if !before.status.may_become(to) {
            return Err(DomainError::conflict(
                "status",
                format!(
                    "a {} lead cannot become {}",
                    before.status.name(),
                    to.name()
                ),
            ));
        }
    } else if matches!(before.status, LeadStatus::Converted) {
        return Err(DomainError::conflict(
            "status",
            "a converted lead is kept as it was; change its account or deal instead",
        ));
    }
    fields.check_budget(Some(&before))?;
    if let Some(Some(owner)) = &fields.owner_id {
        check_member(db, scope, "owner_id", owner).await?;
    }
    if let Some(Some(campaign)) = &fields.campaign_id {
        super::campaigns::check(db, scope, "campaign_id", campaign).await?;
    }
    let mut after = before.clone();
    apply(&mut after, fields);
    if before.status == LeadStatus::Lost && after.status == LeadStatus::New {
        after.lost_reason = None;
    }
    let added: Vec<String> = after
        .tags
        .iter()
        .filter(|t| !before.tags.contains(t))
        .cloned()
        .collect();
    let occasion = Occasion::Written {
        added_tags: &added,
        status_changed: after.status != before.status,
    };
    write(
        db,
        scope,
        &before,
        after,
        Some(&occasion),
        Vec::new(),
        Some(actor),
        now,
    )
    .await
}

/// Marks a lead lost with `reason`.
pub async fn lose(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    reason: &str,
    actor: &str,
    now: Instant,
) -> DomainResult<Lead> {
    let before = get(db, scope, id).await?;
    if matches!(before.status, LeadStatus::Converted | LeadStatus::Lost) {
        return Err(DomainError::conflict(
            "status",
            format!("a {} lead cannot be lost", before.status.name()),
        ));
    }
    let mut after = before.clone();
    after.status = LeadStatus::Lost;
    after.lost_reason = Some(reason.to_owned());
    let mut entry = Entry::system(
        Subject::Lead,
        id,
        ActivityKind::Lost,
        "Lead lost",
        Some(actor),
        now,
    );
    entry.body = Some(reason.to_owned());
    entry.changes = serde_json::json!({"status": {"from": before.status.name(), "to": "lost"}});
    let occasion = Occasion::Written {
        added_tags: &[],
        status_changed: true,
    };
    write(
        db,
        scope,
        &before,
        after,
        Some(&occasion),
        vec![entry],
        Some(actor),
        now,
    )
    .await
}

/// Reports a signal (an e-mail opened, a page visited …) on a lead: the rules it
/// sets off adjust the score, and the adjustments made are answered.
pub async fn signal(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    trigger: scoring::Trigger,
    properties: &serde_json::Map<String, serde_json::Value>,
    actor: &str,
    now: Instant,
) -> DomainResult<Lead> {
    let before = get(db, scope, id).await?;
    let occasion = Occasion::Signal {
        trigger,
        properties,
    };
    write(
        db,
        scope,
        &before,
        before.clone(),
        Some(&occasion),
        Vec::new(),
        Some(actor),
        now,
    )
    .await
}

/// A lead's score and every adjustment behind it, newest first, each with whether
/// it still counts.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The lead.
    pub lead_id: String,
    /// 0–100 now.
    pub score: i64,
    /// The sum of live points before clamping.
    pub raw_points: i64,
    /// Each adjustment.
    pub adjustments: Vec<ExplainedAdjustment>,
}

/// An adjustment and whether it counts now.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedAdjustment {
    /// The adjustment.
    #[serde(flatten)]
    pub adjustment: Adjustment,
    /// Whether it counts now (not withdrawn, not faded).
    pub live: bool,
}

/// Why the lead scores what it does.
pub async fn explain(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    now: Instant,
) -> DomainResult<Explanation> {
    let lead = get(db, scope, id).await?;
    let mut all = adjustments(db, scope, id).await?;
    let raw_points = all
        .iter()
        .filter(|a| a.is_live(now.millis()))
        .map(|a| a.points)
        .sum();
    let score = scoring::score(&all, now.millis());
    all.reverse();
    Ok(Explanation {
        lead_id: lead.id,
        score,
        raw_points,
        adjustments: all
            .into_iter()
            .map(|a| ExplainedAdjustment {
                live: a.is_live(now.millis()),
                adjustment: a,
            })
            .collect(),
    })
}

/// Brings a lead's stored score to what its live adjustments add up to now (after
/// points faded), with a timeline entry when it moved. No person acts.
pub async fn rescore(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    now: Instant,
) -> DomainResult<bool> {
    let lead = get(db, scope, id).await?;
    let score = scoring::score(&adjustments(db, scope, id).await?, now.millis());
    if score == lead.score {
        return Ok(false);
    }
    let mut after = lead.clone();
    after.score = score;
    write(db, scope, &lead, after, None, Vec::new(), None, now).await?;
    Ok(true)
}
