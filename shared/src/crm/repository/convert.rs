//! Converting a qualified lead: an account (new, or one the firm has), a contact
//! at it and an open deal, in one batch with the lead's new status.

use serde::Serialize;

use super::timeline::Entry;
use super::{accounts, deals, leads};
use crate::crm::account::{Account, AccountFields, Contact, NewContact};
use crate::crm::activity::{ActivityKind, Subject};
use crate::crm::deal::{Deal, DealFields};
use crate::crm::fields;
use crate::crm::lead::{Lead, LeadStatus};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::{require_change, Sql};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{text, Input, Validator};

/// How to convert a lead; everything has a default taken from the lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversion {
    /// An account the firm already has, instead of a new one.
    pub account_id: Option<String>,
    /// The deal's pipeline (the default one when left out).
    pub pipeline_id: Option<String>,
    /// The deal's name (the company's or person's name when left out).
    pub deal_name: Option<String>,
    /// The deal's value (the lead's budget when left out).
    pub value_minor: Option<i64>,
    /// Its currency (the budget's, else the firm's).
    pub currency: Option<String>,
    /// Its expected close.
    pub expected_close: Option<String>,
}

impl Conversion {
    /// Reads `{"account_id"?, "pipeline_id"?, "deal_name"?, "value_minor"?, "currency"?, "expected_close"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &[
                "account_id",
                "pipeline_id",
                "deal_name",
                "value_minor",
                "currency",
                "expected_close",
            ],
        );
        let id = |v: &mut Validator, key: &str, prefix: &str| {
            input
                .string(v, key, false)
                .and_then(|raw| v.take(crate::kernel::id::parse(key, prefix, raw)))
        };
        let out = Self {
            account_id: id(&mut v, "account_id", "acc"),
            pipeline_id: id(&mut v, "pipeline_id", "pip"),
            deal_name: input
                .string(&mut v, "deal_name", false)
                .and_then(|s| v.take(text("deal_name", s, 1, 200))),
            value_minor: fields::amount(&mut v, &input, "value_minor", false),
            currency: fields::currency(&mut v, &input, "currency", false)
                .map(|c| c.code().to_owned()),
            expected_close: fields::date(&mut v, &input, "expected_close")
                .flatten()
                .map(|d| d.format("%Y-%m-%d").to_string()),
        };
        v.finish()?;
        Ok(out)
    }
}

/// What a conversion made.
#[derive(Debug, Clone, Serialize)]
pub struct Converted {
    /// The lead, now converted.
    pub lead: Lead,
    /// The account (new or existing).
    pub account: Account,
    /// The contact made from the lead's person.
    pub contact: Contact,
    /// The open deal.
    pub deal: Deal,
}

/// Converts qualified lead `id`.
pub async fn convert(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    how: &Conversion,
    firm_currency: &str,
    actor: &str,
    now: Instant,
) -> DomainResult<Converted> {
    let lead = leads::get(db, scope, id).await?;
    if lead.status != LeadStatus::Qualified {
        return Err(DomainError::conflict(
            "status",
            format!(
                "only a qualified lead can be converted; this one is {}",
                lead.status.name()
            ),
        ));
    }
    let mut statements = Vec::new();
    let account = match &how.account_id {
        Some(account_id) => accounts::get(db, scope, account_id).await.map_err(|_| {
            DomainError::conflict("account_id", "account_id names no account of the firm")
        })?,
        None => {
            let domain = lead.website.as_deref().map(|w| {
                w.trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_lowercase()
            });
            let fields = AccountFields {
                name: Some(
                    lead.company_name
                        .clone()
                        .unwrap_or_else(|| lead.contact_name.clone()),
                ),
                domain: Some(domain),
                industry: Some(lead.industry.clone()),
                company_size: Some(lead.company_size),
                country: Some(lead.country.clone()),
                lifecycle: None,
                owner_id: Some(lead.owner_id.clone()),
                tags: Some(lead.tags.clone()),
            };
            let (account, s) = accounts::plan_insert(db, scope, &fields, actor, now).await?;
            statements.extend(s);
            account
        }
    };
    let contact_input = NewContact {
        account_id: Some(account.id.clone()),
        name: lead.contact_name.clone(),
        email: lead.email.clone(),
        phone: lead.phone.clone(),
        title: lead.title.clone(),
    };
    let (contact, contact_statement) = accounts::plan_contact(scope, &contact_input, now)?;
    statements.push(contact_statement);
    let deal_fields = DealFields {
        name: Some(
            how.deal_name
                .clone()
                .unwrap_or_else(|| account.name.clone()),
        ),
        pipeline_id: how.pipeline_id.clone(),
        account_id: Some(Some(account.id.clone())),
        contact_id: Some(Some(contact.id.clone())),
        value_minor: how.value_minor.or(lead.budget_minor),
        currency: how.currency.clone().or_else(|| lead.currency.clone()),
        expected_close: Some(how.expected_close.clone()),
        owner_id: lead.owner_id.clone().or_else(|| Some(actor.to_owned())),
        source: Some(Some(lead.source)),
        campaign_id: Some(lead.campaign_id.clone()),
        tags: Some(lead.tags.clone()),
        ..DealFields::default()
    };
    // The account (when new) and the contact are written earlier in this batch.
    let written = [account.id.as_str(), contact.id.as_str()];
    let (deal, deal_statements) = deals::plan_insert(
        db,
        scope,
        &deal_fields,
        firm_currency,
        Some(&lead.id),
        &written,
        actor,
        now,
    )
    .await?;
    statements.extend(deal_statements);
    let mut after = lead.clone();
    after.status = LeadStatus::Converted;
    after.account_id = Some(account.id.clone());
    after.deal_id = Some(deal.id.clone());
    after.updated_at = now.millis();
    statements.push(leads::update_statement(scope, &after, lead.version));
    statements.push(require_change());
    let mut entry = Entry::system(
        Subject::Lead,
        &lead.id,
        ActivityKind::Converted,
        format!("Converted into {}", deal.name),
        Some(actor),
        now,
    );
    entry.changes = serde_json::json!({"status": {"from": "qualified", "to": "converted"}, "account_id": {"from": null, "to": account.id}, "deal_id": {"from": null, "to": deal.id}});
    statements.push(entry.statement(scope, now)?.1);
    super::commit(
        db,
        scope,
        ("crm_leads", "lead"),
        id,
        lead.version,
        statements,
    )
    .await?;
    Ok(Converted {
        lead: leads::get(db, scope, id).await?,
        account,
        contact,
        deal: deals::get(db, scope, &deal.id).await?,
    })
}
