//! Proposals in D1: written as drafts on an open deal, moved by people from draft
//! to sent to accepted or rejected, expired by the daily sweep (and by an
//! acceptance that comes too late). Each move leaves an entry on the deal's
//! timeline in the same batch.

use chrono::NaiveDate;
use serde::Deserialize;

use super::timeline::Entry;
use crate::crm::activity::{ActivityKind, Subject};
use crate::crm::deal::DealStatus;
use crate::crm::proposal::{self, Proposal, ProposalFields, ProposalStatus};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, require_change, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

const COLUMNS: &str =
    "id, deal_id, title, status, currency, lines, total_minor, valid_until, notes, sent_at,
    decided_at, rejection_reason, version, created_by, created_at, updated_at";

/// Proposals a deal may have.
pub const MAX_PER_DEAL: i64 = 100;

/// One proposal.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Proposal> {
    super::by_id(db, scope, "crm_proposals", COLUMNS, id, "proposal").await
}

/// A deal's proposals, newest first.
pub async fn for_deal(
    db: &impl Sql,
    scope: &TenantScope,
    deal_id: &str,
) -> DomainResult<Vec<Proposal>> {
    super::deals::get(db, scope, deal_id).await?;
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM crm_proposals WHERE firm_id = ?1 AND deal_id = ?2 ORDER BY id DESC LIMIT {MAX_PER_DEAL}"
            ),
            vec![scope.firm_id().into(), deal_id.into()],
        ),
    )
    .await
}

fn lines_json(lines: &[proposal::Line]) -> String {
    serde_json::to_string(lines).unwrap_or_else(|_| "[]".to_owned())
}

/// The lines `drafts` make in `currency`, with the active products they name
/// from the firm's catalogue.
async fn priced(
    db: &impl Sql,
    scope: &TenantScope,
    drafts: &[proposal::LineDraft],
    currency: &str,
) -> DomainResult<Vec<proposal::Line>> {
    let named: Vec<(usize, String)> = drafts
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, d.product_id.clone()?)))
        .collect();
    let found =
        super::products::offered(db, scope, &named, |i| format!("lines[{i}].product_id")).await?;
    let catalogue = found
        .into_iter()
        .map(|(_, p)| {
            let priced = proposal::Priced {
                name: p.name,
                unit_price_minor: p.unit_price_minor,
                currency: p.currency,
            };
            (p.id, priced)
        })
        .collect();
    proposal::price(drafts, &catalogue, currency)
}

/// Writes a draft on open deal `deal_id`, in the deal's currency.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    deal_id: &str,
    fields: &ProposalFields,
    actor: &str,
    now: Instant,
) -> DomainResult<Proposal> {
    let deal = super::deals::get(db, scope, deal_id).await?;
    if deal.status != DealStatus::Open {
        return Err(DomainError::conflict(
            "deal_id",
            "the deal is closed: reopen it to propose again",
        ));
    }
    let lines = priced(
        db,
        scope,
        fields.lines.as_deref().unwrap_or_default(),
        &deal.currency,
    )
    .await?;
    let valid_until = fields
        .valid_until
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let id = new_id("prp", now.millis())?;
    super::insert_capped(
        db,
        stmt!(
            "INSERT INTO crm_proposals (id, firm_id, deal_id, title, status, currency, lines, total_minor, valid_until,
                    notes, version, created_by, created_at, updated_at)
             SELECT ?1, ?2, ?3, ?4, 'draft', ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?11
              WHERE (SELECT COUNT(*) FROM crm_proposals WHERE firm_id = ?2 AND deal_id = ?3) < ?12",
            id.as_str(),
            scope.firm_id(),
            deal_id,
            fields.title.clone().unwrap_or_default(),
            deal.currency.as_str(),
            lines_json(&lines),
            proposal::total(&lines),
            valid_until,
            fields.notes.clone().flatten(),
            actor,
            now.millis(),
            MAX_PER_DEAL
        ),
        "deal_id",
        format!("a deal has at most {MAX_PER_DEAL} proposals"),
    )
    .await?;
    get(db, scope, &id).await
}

/// Changes a draft at `expected` version (any when `None`); a sent proposal is frozen.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &ProposalFields,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<Proposal> {
    let current = get(db, scope, id).await?;
    super::expect_version("proposal", current.version, expected)?;
    if current.status != ProposalStatus::Draft {
        return Err(DomainError::conflict(
            "status",
            format!(
                "a {} proposal is frozen: write a new one",
                current.status.name()
            ),
        ));
    }
    let lines = match &fields.lines {
        Some(drafts) => priced(db, scope, drafts, &current.currency).await?,
        None => current.lines.clone(),
    };
    let valid_until = fields.valid_until.map_or(current.valid_until.clone(), |d| {
        d.format("%Y-%m-%d").to_string()
    });
    let notes = match &fields.notes {
        Some(n) => n.clone(),
        None => current.notes.clone(),
    };
    let changed = db
        .execute(stmt!(
            "UPDATE crm_proposals SET title = ?1, lines = ?2, total_minor = ?3, valid_until = ?4, notes = ?5,
                    version = version + 1, updated_at = ?6
              WHERE firm_id = ?7 AND id = ?8 AND version = ?9 AND status = 'draft'",
            fields.title.clone().unwrap_or(current.title.clone()),
            lines_json(&lines),
            proposal::total(&lines),
            valid_until,
            notes,
            now.millis(),
            scope.firm_id(),
            id,
            current.version
        ))
        .await?;
    if changed == 0 {
        return Err(super::changed(
            "proposal",
            get(db, scope, id).await?.version,
        ));
    }
    get(db, scope, id).await
}

/// The statements that take `p` to `to` (guarded by its version) and say so on
/// its deal's timeline.
fn moved(
    scope: &TenantScope,
    p: &Proposal,
    to: ProposalStatus,
    reason: Option<&str>,
    actor: Option<&str>,
    now: Instant,
) -> DomainResult<Vec<Statement>> {
    let (sent_at, decided_at) = match to {
        ProposalStatus::Sent => (Some(now.millis()), None),
        _ => (p.sent_at, Some(now.millis())),
    };
    let summary = match to {
        ProposalStatus::Sent => format!("Proposal sent: {}", p.title),
        ProposalStatus::Accepted => format!("Proposal accepted: {}", p.title),
        ProposalStatus::Rejected => format!("Proposal rejected: {}", p.title),
        ProposalStatus::Expired => format!("Proposal expired unanswered: {}", p.title),
        ProposalStatus::Draft => format!("Proposal drafted: {}", p.title),
    };
    let mut entry = Entry::system(
        Subject::Deal,
        &p.deal_id,
        ActivityKind::Proposal,
        summary,
        actor,
        now,
    );
    entry.body = reason.map(str::to_owned);
    entry.changes = serde_json::json!({"proposal_id": p.id, "status": {"from": p.status, "to": to},
                                       "total_minor": p.total_minor, "currency": p.currency});
    Ok(vec![
        stmt!(
            "UPDATE crm_proposals SET status = ?1, sent_at = ?2, decided_at = ?3, rejection_reason = ?4,
                    version = version + 1, updated_at = ?5
              WHERE firm_id = ?6 AND id = ?7 AND version = ?8",
            to.name(),
            sent_at,
            decided_at,
            reason,
            now.millis(),
            scope.firm_id(),
            p.id.as_str(),
            p.version
        ),
        require_change(),
        entry.statement(scope, now)?.1,
    ])
}

/// Moves a proposal as a person asks: sends a draft (whose `valid_until` must not
/// have passed), or records the client's acceptance or rejection (with `reason`)
/// of a sent one. An acceptance after `valid_until` expires it instead (409).
#[allow(clippy::too_many_arguments)] // the move, its reason and its context
pub async fn decide(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    to: ProposalStatus,
    reason: Option<&str>,
    today: NaiveDate,
    actor: &str,
    now: Instant,
) -> DomainResult<Proposal> {
    let current = get(db, scope, id).await?;
    if !current.status.may_become(to) {
        return Err(DomainError::conflict(
            "status",
            format!(
                "a {} proposal cannot become {}",
                current.status.name(),
                to.name()
            ),
        ));
    }
    let past = current.is_past(today);
    if past && to == ProposalStatus::Sent {
        return Err(DomainError::conflict(
            "valid_until",
            "valid_until has passed: set a later day before sending",
        ));
    }
    // Accepted too late, it expires instead (and the answer says so).
    let (to, reason, actor) = if past && to == ProposalStatus::Accepted {
        (ProposalStatus::Expired, None, None)
    } else {
        (to, reason, Some(actor))
    };
    let statements = moved(scope, &current, to, reason, actor, now)?;
    super::commit(
        db,
        scope,
        ("crm_proposals", "proposal"),
        id,
        current.version,
        statements,
    )
    .await?;
    if to == ProposalStatus::Expired {
        return Err(DomainError::conflict(
            "valid_until",
            "the proposal expired after its valid_until: send a new one",
        ));
    }
    get(db, scope, id).await
}

/// Marks every sent proposal whose `valid_until` has passed in its firm's time
/// zone expired, with its deal's timeline entry. Returns how many.
pub async fn expire_due(db: &impl Sql, now: Instant) -> DomainResult<usize> {
    #[derive(Deserialize)]
    struct Due {
        firm_id: String,
        timezone: String,
        id: String,
    }
    // A day ahead of UTC is the latest any zone can be; the zone decides below.
    let horizon = (now.to_chrono().date_naive() + chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let due: Vec<Due> = query_as(
        db,
        stmt!(
            "SELECT p.firm_id, f.timezone, p.id FROM crm_proposals p JOIN firm_firms f ON f.id = p.firm_id
              WHERE p.status = 'sent' AND p.valid_until < ?1 ORDER BY p.id LIMIT 500",
            horizon
        ),
    )
    .await?;
    let mut expired = 0;
    for item in due {
        let scope = TenantScope::new(&item.firm_id, None);
        let p = get(db, &scope, &item.id).await?;
        if p.status != ProposalStatus::Sent || !p.is_past(super::day_in(&item.timezone, now)) {
            continue;
        }
        let statements = moved(&scope, &p, ProposalStatus::Expired, None, None, now)?;
        if db.batch(statements).await.is_ok() {
            expired += 1;
        }
    }
    Ok(expired)
}
