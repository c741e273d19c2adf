//! The clients module's events, and what it does when a deal is won: the won
//! deal's account becomes a client, or is linked to the client it already is.

use serde::{Deserialize, Serialize};

use super::model::{ClientKind, NewClient};
use crate::catalogue::DomainEvent;
use crate::crm::events::DealWon;
use crate::kernel::error::DomainResult;
use crate::kernel::events::{self, receipt, EventEnvelope};
use crate::kernel::sql::{query_as, Sql};
use crate::kernel::time::Instant;
use crate::stmt;

/// Name under which the clients module's receipts are kept.
pub const CONSUMER: &str = "clients";

/// A won deal's account was linked to a client (made for it, or the one it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountLinked {
    /// The client (`cli_…`).
    pub client_id: String,
    /// The CRM account (`acc_…`), when the deal had one.
    pub account_id: Option<String>,
    /// The won deal (`dea_…`).
    pub deal_id: String,
    /// Whether the client was made for this deal (else it existed).
    pub created: bool,
}

impl DomainEvent for AccountLinked {
    const TYPE: &'static str = "client.account_linked";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A won deal's account became a client, or was linked to the client it already was.";
    fn example() -> Self {
        Self {
            client_id: "cli_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            account_id: Some("acc_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into()),
            deal_id: "dea_01JD7X3V9T2Q4M8K6P1R5S0W3X".into(),
            created: true,
        }
    }
}

/// Acts on a delivered event (idempotent by event id). For a won deal whose account
/// is not a client yet, finds the client made for that account (or deal) before, or
/// makes one; the receipt, the client and the link event go in one batch. Returns
/// the link event to publish, when there is one.
pub async fn handle(
    db: &impl Sql,
    event: &EventEnvelope,
    now: Instant,
) -> DomainResult<Option<EventEnvelope>> {
    if event.kind != DealWon::TYPE {
        return Ok(None);
    }
    let won = serde_json::from_value::<DealWon>(event.data.clone()).ok();
    // Seen before, or nothing to make: the receipt counts the delivery, no more.
    let Some(won) = won.filter(|w| w.client_id.is_none()) else {
        db.execute(receipt(CONSUMER, event, now)).await?;
        return Ok(None);
    };
    if events::seen(db, CONSUMER, &event.id).await? {
        db.execute(receipt(CONSUMER, event, now)).await?;
        return Ok(None);
    }
    let scope = event.scope();
    #[derive(Deserialize)]
    struct Found {
        id: String,
    }
    let existing: Vec<Found> = query_as(
        db,
        stmt!(
            "SELECT id FROM clients_clients WHERE firm_id = ?1 AND (crm_account_id = ?2 OR (?2 IS NULL AND crm_deal_id = ?3))",
            scope.firm_id(),
            won.account_id.clone(),
            won.deal_id.as_str()
        ),
    )
    .await?;
    let mut statements = vec![receipt(CONSUMER, event, now)];
    let (client_id, created) = match existing.into_iter().next() {
        Some(found) => (found.id, false),
        None => {
            let name = won
                .account_name
                .clone()
                .or_else(|| won.contact_name.clone())
                .unwrap_or_else(|| won.deal_name.clone());
            let kind = if won.account_id.is_some() {
                ClientKind::Organization
            } else {
                ClientKind::Individual
            };
            let input = NewClient {
                name,
                kind,
                email: won.contact_email.clone(),
            };
            let (client, insert) = super::repository::insert(&scope, input, &won.owner_id, now)?;
            statements.push(insert);
            // Where it came from, so a second deal (or delivery) finds it.
            statements.push(stmt!(
                "UPDATE clients_clients SET crm_account_id = ?1, crm_deal_id = ?2 WHERE firm_id = ?3 AND id = ?4",
                won.account_id.clone(),
                won.account_id.is_none().then(|| won.deal_id.clone()),
                scope.firm_id(),
                client.id.as_str()
            ));
            (client.id, true)
        }
    };
    let linked = AccountLinked {
        client_id,
        account_id: won.account_id,
        deal_id: won.deal_id,
        created,
    }
    .envelope(&scope, now)?;
    statements.push(events::record(&linked, now)?);
    db.batch(statements).await?;
    Ok(Some(linked))
}
