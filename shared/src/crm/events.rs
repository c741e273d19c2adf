//! The CRM's public events, and what it does when the clients module links a won
//! deal's account to a client.

use serde::{Deserialize, Serialize};

use super::activity::{ActivityKind, Subject};
use super::repository::timeline::Entry;
use crate::catalogue::DomainEvent;
use crate::clients::events::AccountLinked;
use crate::kernel::error::DomainResult;
use crate::kernel::events::{receipt, EventEnvelope};
use crate::kernel::sql::Sql;
use crate::kernel::time::Instant;
use crate::stmt;

/// Name under which the CRM's receipts are kept.
pub const CONSUMER: &str = "crm";

/// A deal was won: the clients module makes (or links) the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DealWon {
    /// The deal (`dea_…`).
    pub deal_id: String,
    /// What was sold.
    pub deal_name: String,
    /// The account it was sold to (`acc_…`), if any.
    pub account_id: Option<String>,
    /// The account's name.
    pub account_name: Option<String>,
    /// The person the firm dealt with.
    pub contact_name: Option<String>,
    /// Their address.
    pub contact_email: Option<String>,
    /// The value won, in minor units of `currency`.
    pub value_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// The member who owns the deal (`usr_…`).
    pub owner_id: String,
    /// The client the account already is (`cli_…`), when it is one.
    pub client_id: Option<String>,
}

impl DomainEvent for DealWon {
    const TYPE: &'static str = "crm.deal.won";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A deal was won. Its account becomes a client (a new one, or the one it already is).";
    fn example() -> Self {
        Self {
            deal_id: "dea_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            deal_name: "Annual audit".into(),
            account_id: Some("acc_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into()),
            account_name: Some("Cobol & Co".into()),
            contact_name: Some("Grace Hopper".into()),
            contact_email: Some("grace@cobol.example".into()),
            value_minor: 1_200_000,
            currency: "USD".into(),
            owner_id: "usr_01JD7X3V9T2Q4M8K6P1R5S0W3X".into(),
            client_id: None,
        }
    }
}

/// A deal was lost, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DealLost {
    /// The deal (`dea_…`).
    pub deal_id: String,
    /// What was not sold.
    pub deal_name: String,
    /// The account (`acc_…`), if any.
    pub account_id: Option<String>,
    /// The value, in minor units of `currency`.
    pub value_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Why it was lost.
    pub reason: String,
}

impl DomainEvent for DealLost {
    const TYPE: &'static str = "crm.deal.lost";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A deal was lost; the reason is what the person who closed it gave.";
    fn example() -> Self {
        Self {
            deal_id: "dea_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            deal_name: "Annual audit".into(),
            account_id: Some("acc_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into()),
            value_minor: 1_200_000,
            currency: "USD".into(),
            reason: "Chose a competitor".into(),
        }
    }
}

/// Acts on a delivered event (idempotent by event id): when the clients module
/// linked a won deal's account to a client, the account becomes a customer linked
/// to it and the deal names it, with the receipt in the same batch. Returns whether
/// the event concerned the CRM.
pub async fn handle(db: &impl Sql, event: &EventEnvelope, now: Instant) -> DomainResult<bool> {
    if event.kind != AccountLinked::TYPE {
        return Ok(false);
    }
    let linked = serde_json::from_value::<AccountLinked>(event.data.clone()).ok();
    // Seen before (or unreadable): the receipt counts the delivery, no more.
    let first = !crate::kernel::events::seen(db, CONSUMER, &event.id).await?;
    let Some(linked) = linked.filter(|_| first) else {
        db.execute(receipt(CONSUMER, event, now)).await?;
        return Ok(true);
    };
    let scope = event.scope();
    let mut statements = vec![
        receipt(CONSUMER, event, now),
        stmt!(
            "UPDATE crm_deals SET client_id = ?1 WHERE firm_id = ?2 AND id = ?3",
            linked.client_id.as_str(),
            scope.firm_id(),
            linked.deal_id.as_str()
        ),
    ];
    if let Some(account_id) = &linked.account_id {
        statements.push(stmt!(
            "UPDATE crm_accounts SET client_id = ?1, lifecycle = 'customer', version = version + 1, updated_at = ?2
              WHERE firm_id = ?3 AND id = ?4 AND (client_id IS NULL OR client_id <> ?1)",
            linked.client_id.as_str(),
            now.millis(),
            scope.firm_id(),
            account_id.as_str()
        ));
        let mut entry = Entry::system(
            Subject::Account,
            account_id,
            ActivityKind::Changed,
            if linked.created {
                "Became a client"
            } else {
                "Linked to its client"
            },
            None,
            now,
        );
        entry.changes = serde_json::json!({"lifecycle": {"from": "prospect", "to": "customer"}, "client_id": {"from": null, "to": linked.client_id}});
        statements.push(entry.statement(&scope, now)?.1);
    }
    db.batch(statements).await?;
    Ok(true)
}
