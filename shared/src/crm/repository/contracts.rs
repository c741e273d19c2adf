//! Contracts in D1: drafted on a deal (from its accepted proposal or by hand),
//! numbered in the firm, signed, held, resumed, completed or terminated. Every
//! step is written with an entry on the deal's timeline in one batch.

use chrono::NaiveDate;

use super::timeline::Entry;
use crate::crm::activity::{ActivityKind, Subject};
use crate::crm::contract::{
    Contract, ContractFields, ContractStatus, PaymentTerms, Signature, MAX_PER_DEAL,
};
use crate::crm::deal::DealStatus;
use crate::crm::fields::parse_date;
use crate::crm::proposal::ProposalStatus;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, require_change, violates_unique, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

const TABLE: &str = "crm_contracts";
const COLUMNS: &str = "id, number, deal_id, proposal_id, title, description, status, currency, total_minor,
    payment_terms, start_on, end_on, signed_on, signed_by, termination_reason, notes, version, created_by,
    created_at, updated_at";

/// One contract.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Contract> {
    super::by_id(db, scope, TABLE, COLUMNS, id, "contract").await
}

/// A deal's contracts, newest first.
pub async fn for_deal(
    db: &impl Sql,
    scope: &TenantScope,
    deal_id: &str,
) -> DomainResult<Vec<Contract>> {
    super::deals::get(db, scope, deal_id).await?;
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM {TABLE} WHERE firm_id = ?1 AND deal_id = ?2 ORDER BY id DESC LIMIT {MAX_PER_DEAL}"
            ),
            vec![scope.firm_id().into(), deal_id.into()],
        ),
    )
    .await
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The firm's next `C-nnnn`: one past the highest such number it has (numbers
/// people typed in that shape count too, so the next is never taken).
async fn next_number(db: &impl Sql, scope: &TenantScope) -> DomainResult<String> {
    let highest = super::number(
        db,
        stmt!(
            "SELECT MAX(CAST(substr(number, 3) AS INTEGER)) AS n FROM crm_contracts
              WHERE firm_id = ?1 AND number GLOB 'C-[0-9]*'",
            scope.firm_id()
        ),
    )
    .await?;
    Ok(format!("C-{:04}", highest + 1))
}

fn number_taken(e: DomainError) -> DomainError {
    if violates_unique(&e, "crm_contracts.number") {
        DomainError::conflict("number", "another contract of the firm has this number")
    } else {
        e
    }
}

/// Drafts a contract on deal `deal_id` (open or won, at most 50 a deal). Named,
/// the proposal must be the deal's and accepted; its title and total are the
/// contract's unless the body gives others.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    deal_id: &str,
    fields: &ContractFields,
    actor: &str,
    now: Instant,
) -> DomainResult<Contract> {
    let deal = super::deals::get(db, scope, deal_id).await?;
    if deal.status == DealStatus::Lost {
        return Err(DomainError::conflict(
            "deal_id",
            "the deal is lost: reopen it before drafting a contract",
        ));
    }
    let (mut title, mut total) = (fields.title.clone(), fields.total_minor);
    if let Some(pid) = &fields.proposal_id {
        let proposal = match super::proposals::get(db, scope, pid).await {
            Ok(p) if p.deal_id == deal.id => p,
            Ok(_) | Err(DomainError::NotFound(_)) => {
                return Err(DomainError::conflict(
                    "proposal_id",
                    "proposal_id must name a proposal of this deal",
                ))
            }
            Err(e) => return Err(e),
        };
        if proposal.status != ProposalStatus::Accepted {
            return Err(DomainError::conflict(
                "proposal_id",
                format!(
                    "the proposal is {}: a contract follows an accepted one",
                    proposal.status.name()
                ),
            ));
        }
        title = title.or(Some(proposal.title));
        total = total.or(Some(proposal.total_minor));
    }
    let on_deal = super::number(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM crm_contracts WHERE firm_id = ?1 AND deal_id = ?2",
            scope.firm_id(),
            deal.id.as_str()
        ),
    )
    .await?;
    if on_deal >= MAX_PER_DEAL {
        return Err(DomainError::conflict(
            "deal_id",
            format!("a deal has at most {MAX_PER_DEAL} contracts"),
        ));
    }
    let number = match &fields.number {
        Some(n) => n.clone(),
        None => next_number(db, scope).await?,
    };
    let id = new_id("ctr", now.millis())?;
    let title = title.unwrap_or_default();
    let insert = stmt!(
        "INSERT INTO crm_contracts (id, firm_id, number, deal_id, proposal_id, title, description, status, currency,
                total_minor, payment_terms, start_on, end_on, notes, version, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'draft', ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?15, ?15)",
        id.as_str(),
        scope.firm_id(),
        number.as_str(),
        deal.id.as_str(),
        fields.proposal_id.clone(),
        title.as_str(),
        fields.description.clone().flatten(),
        deal.currency.as_str(),
        total.unwrap_or_default(),
        fields.payment_terms.unwrap_or(PaymentTerms::Net30).name(),
        fields.start_on.map(day),
        fields.end_on.map(day),
        fields.notes.clone().flatten(),
        actor,
        now.millis()
    );
    let entry = Entry::system(
        Subject::Deal,
        &deal.id,
        ActivityKind::Contract,
        format!("Contract {number} drafted: {title}"),
        Some(actor),
        now,
    );
    db.batch(vec![insert, entry.statement(scope, now)?.1])
        .await
        .map_err(number_taken)?;
    get(db, scope, &id).await
}

/// Changes a contract at `expected` version (any when `None`): a draft freely,
/// a signed one only in its notes.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &ContractFields,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<Contract> {
    let before = get(db, scope, id).await?;
    super::expect_version("contract", before.version, expected)?;
    if before.status != ContractStatus::Draft && fields.touches_terms() {
        return Err(DomainError::conflict(
            "status",
            format!(
                "a {} contract keeps its terms: only its notes change",
                before.status.name()
            ),
        ));
    }
    let mut c = before.clone();
    if let Some(v) = &fields.number {
        c.number.clone_from(v);
    }
    if let Some(v) = &fields.title {
        c.title.clone_from(v);
    }
    if let Some(v) = &fields.description {
        c.description.clone_from(v);
    }
    if let Some(v) = fields.total_minor {
        c.total_minor = v;
    }
    if let Some(v) = fields.payment_terms {
        c.payment_terms = v;
    }
    if let Some(v) = fields.start_on {
        c.start_on = day(v);
    }
    if let Some(v) = fields.end_on {
        c.end_on = day(v);
    }
    if let Some(v) = &fields.notes {
        c.notes.clone_from(v);
    }
    crate::crm::fields::check_span(
        parse_date("start_on", &c.start_on)?,
        parse_date("end_on", &c.end_on)?,
    )?;
    let changed = db
        .execute(super::update_row(
            TABLE,
            scope,
            id,
            before.version,
            vec![
                ("number", c.number.clone().into()),
                ("title", c.title.clone().into()),
                ("description", c.description.clone().into()),
                ("total_minor", c.total_minor.into()),
                ("payment_terms", c.payment_terms.name().into()),
                ("start_on", c.start_on.clone().into()),
                ("end_on", c.end_on.clone().into()),
                ("notes", c.notes.clone().into()),
                ("updated_at", now.millis().into()),
            ],
        ))
        .await
        .map_err(number_taken)?;
    if changed == 0 {
        return Err(super::changed(
            "contract",
            get(db, scope, id).await?.version,
        ));
    }
    get(db, scope, id).await
}

/// What a step needs besides its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Signed by someone on a day (today when absent).
    Sign(Signature),
    /// Put on hold.
    Hold,
    /// Running again after a hold.
    Resume,
    /// Done as agreed.
    Complete,
    /// Ended early, with the reason.
    Terminate(String),
}

impl Step {
    fn to(&self) -> ContractStatus {
        match self {
            Step::Sign(_) | Step::Resume => ContractStatus::Active,
            Step::Hold => ContractStatus::OnHold,
            Step::Complete => ContractStatus::Completed,
            Step::Terminate(_) => ContractStatus::Terminated,
        }
    }
}

/// Takes a contract a step on (`today` in the firm's zone dates a signature
/// that names no day). A resume is only from a hold, a sign only from a draft.
pub async fn step(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    step: &Step,
    today: NaiveDate,
    actor: &str,
    now: Instant,
) -> DomainResult<Contract> {
    let c = get(db, scope, id).await?;
    let to = step.to();
    let allowed = match step {
        Step::Sign(_) => c.status == ContractStatus::Draft,
        Step::Resume => c.status == ContractStatus::OnHold,
        _ => c.status != ContractStatus::Draft,
    } && c.status.may_become(to);
    if !allowed {
        return Err(DomainError::conflict(
            "status",
            format!("a {} contract cannot become {}", c.status.name(), to.name()),
        ));
    }
    let (signed_on, signed_by, reason, summary) = match step {
        Step::Sign(s) => {
            let on = day(s.signed_on.unwrap_or(today));
            let summary = format!("Contract {} signed by {} on {on}", c.number, s.signed_by);
            (Some(on), Some(s.signed_by.clone()), None, summary)
        }
        Step::Terminate(r) => (
            c.signed_on.clone(),
            c.signed_by.clone(),
            Some(r.clone()),
            format!("Contract {} terminated", c.number),
        ),
        Step::Hold => (
            c.signed_on.clone(),
            c.signed_by.clone(),
            None,
            format!("Contract {} put on hold", c.number),
        ),
        Step::Resume => (
            c.signed_on.clone(),
            c.signed_by.clone(),
            None,
            format!("Contract {} resumed", c.number),
        ),
        Step::Complete => (
            c.signed_on.clone(),
            c.signed_by.clone(),
            None,
            format!("Contract {} completed", c.number),
        ),
    };
    let mut entry = Entry::system(
        Subject::Deal,
        &c.deal_id,
        ActivityKind::Contract,
        summary,
        Some(actor),
        now,
    );
    entry.body.clone_from(&reason);
    entry.changes =
        serde_json::json!({"contract_id": c.id, "status": {"from": c.status, "to": to}});
    let batch = vec![
        stmt!(
            "UPDATE crm_contracts SET status = ?1, signed_on = ?2, signed_by = ?3, termination_reason = ?4,
                    version = version + 1, updated_at = ?5
              WHERE firm_id = ?6 AND id = ?7 AND version = ?8",
            to.name(),
            signed_on,
            signed_by,
            reason,
            now.millis(),
            scope.firm_id(),
            c.id.as_str(),
            c.version
        ),
        require_change(),
        entry.statement(scope, now)?.1,
    ];
    super::commit(db, scope, (TABLE, "contract"), &c.id, c.version, batch).await?;
    get(db, scope, id).await
}
