//! The clients module's events, and what it does when a deal is won: the won
//! deal's account becomes a client, or is linked to the client it already is.

use serde::{Deserialize, Serialize};

use crate::catalogue::DomainEvent;
use crate::crm::events::DealWon;
use crate::kernel::error::DomainResult;
use crate::kernel::events::{self, receipt, EventEnvelope};
use crate::kernel::id::new_id;
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
            let id = new_id("cli", now.millis())?;
            let name = won
                .account_name
                .clone()
                .or_else(|| won.contact_name.clone())
                .unwrap_or_else(|| won.deal_name.clone());
            statements.push(stmt!(
                "INSERT INTO clients_clients (id, firm_id, name, kind, email, status, version, created_by, created_at, updated_at,
                        crm_account_id, crm_deal_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active', 1, ?6, ?7, ?7, ?8, ?9)",
                id.as_str(),
                scope.firm_id(),
                name,
                if won.account_id.is_some() { "organization" } else { "individual" },
                won.contact_email.clone(),
                won.owner_id.as_str(),
                now.millis(),
                won.account_id.clone(),
                won.account_id.is_none().then(|| won.deal_id.clone())
            ));
            (id, true)
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
