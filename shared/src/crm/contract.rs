//! Contracts: what a deal's client signed — a numbered agreement with its scope,
//! value, payment terms and term. A contract is drafted (from an accepted
//! proposal, whose title and total it takes, or by hand), signed (the day and the
//! signer are kept and never change), then runs until it is completed or ended
//! early with a reason; it may be put on hold and resumed meanwhile. Once signed
//! only its notes change.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// Where a contract stands.
    ContractStatus, "of the contract statuses" {
        /// Being written; may change.
        Draft = "draft",
        /// Signed and running.
        Active = "active",
        /// Paused by agreement.
        OnHold = "on_hold",
        /// Done as agreed.
        Completed = "completed",
        /// Ended early (with a reason).
        Terminated = "terminated",
    }
);

impl ContractStatus {
    /// Whether a contract may go from `self` to `to` by a person's step.
    pub fn may_become(self, to: ContractStatus) -> bool {
        use ContractStatus::*;
        matches!(
            (self, to),
            (Draft, Active)
                | (Active, OnHold | Completed | Terminated)
                | (OnHold, Active | Completed | Terminated)
        )
    }
}

crate::wire_enum!(
    /// When the client pays.
    PaymentTerms, "of the payment terms" {
        /// On the invoice's day.
        DueOnReceipt = "due_on_receipt",
        /// 15 days after the invoice.
        Net15 = "net_15",
        /// 30 days after.
        Net30 = "net_30",
        /// 45 days after.
        Net45 = "net_45",
        /// 60 days after.
        Net60 = "net_60",
        /// As milestones are reached.
        Milestone = "milestone",
    }
);

/// Contracts a deal may have.
pub const MAX_PER_DEAL: i64 = 50;

/// A contract as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    /// `ctr_…`
    pub id: String,
    /// The firm's number for it, unique in the firm (`C-0042`).
    pub number: String,
    /// The deal it closes.
    pub deal_id: String,
    /// The accepted proposal it was drawn from.
    pub proposal_id: Option<String>,
    /// What it is called.
    pub title: String,
    /// The scope: work, deliverables, terms.
    pub description: Option<String>,
    /// Where it stands.
    pub status: ContractStatus,
    /// The deal's currency.
    pub currency: String,
    /// Its whole value, in minor units.
    pub total_minor: i64,
    /// When the client pays.
    pub payment_terms: PaymentTerms,
    /// First day.
    pub start_on: String,
    /// Last day (on or after the first).
    pub end_on: String,
    /// The day it was signed.
    pub signed_on: Option<String>,
    /// Who signed it for the client.
    pub signed_by: Option<String>,
    /// Why it ended early.
    pub termination_reason: Option<String>,
    /// The firm's own notes.
    pub notes: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who drafted it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Contract {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

/// A checked contract body. On a create `start_on` and `end_on` are required,
/// and `title` and `total_minor` too unless `proposal_id` names the accepted
/// proposal they come from. A signed contract takes `notes` only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractFields {
    /// 1–20 of letters, digits and `-` (the firm's next `C-nnnn` when absent).
    pub number: Option<String>,
    /// An accepted proposal of the deal.
    pub proposal_id: Option<String>,
    /// 1–200 characters.
    pub title: Option<String>,
    /// Up to 20,000 characters.
    pub description: Option<Option<String>>,
    /// Its value.
    pub total_minor: Option<i64>,
    /// Net 30 when absent.
    pub payment_terms: Option<PaymentTerms>,
    /// First day.
    pub start_on: Option<NaiveDate>,
    /// Last day.
    pub end_on: Option<NaiveDate>,
    /// Up to 5,000 characters.
    pub notes: Option<Option<String>>,
}

fn parse_number(field: &str, raw: &str) -> Result<String, DomainError> {
    let n = raw.trim();
    if (1..=20).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(n.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be 1 to 20 letters, digits or hyphens"),
        ))
    }
}

impl ContractFields {
    /// Reads a contract body (see the type).
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        let mut known = vec![
            "number",
            "title",
            "description",
            "total_minor",
            "payment_terms",
            "start_on",
            "end_on",
            "notes",
        ];
        if creating {
            known.push("proposal_id");
        }
        input.reject_unknown(&mut v, &known);
        let number = input
            .string(&mut v, "number", false)
            .and_then(|raw| v.take(parse_number("number", raw)));
        let proposal_id = input
            .string(&mut v, "proposal_id", false)
            .and_then(|raw| v.take(crate::kernel::id::parse("proposal_id", "prp", raw)));
        let from_proposal = proposal_id.is_some();
        let title = input
            .string(&mut v, "title", creating && !from_proposal)
            .and_then(|raw| v.take(text("title", raw, 1, 200)));
        let description = fields::optional_text(&mut v, &input, "description", 20_000);
        let total_minor = fields::amount(&mut v, &input, "total_minor", creating && !from_proposal);
        let payment_terms = input
            .string(&mut v, "payment_terms", false)
            .and_then(|raw| v.take(PaymentTerms::parse("payment_terms", raw)));
        let day = |v: &mut Validator, key: &str| {
            input
                .string(v, key, creating)
                .and_then(|raw| v.take(fields::parse_date(key, raw)))
        };
        let start_on = day(&mut v, "start_on");
        let end_on = day(&mut v, "end_on");
        let notes = fields::optional_text(&mut v, &input, "notes", 5_000);
        v.finish()?;
        if let (Some(start), Some(end)) = (start_on, end_on) {
            fields::check_span(start, end)?;
        }
        let parsed = Self {
            number,
            proposal_id,
            title,
            description,
            total_minor,
            payment_terms,
            start_on,
            end_on,
            notes,
        };
        fields::require_change(creating, parsed == Self::default(), "contract")?;
        Ok(parsed)
    }

    /// Whether these fields change more than the notes (which a signed contract refuses).
    pub fn touches_terms(&self) -> bool {
        Self {
            notes: None,
            ..self.clone()
        } != Self::default()
    }
}

/// A checked signature: who signed for the client, and the day (today when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// 1–200 characters.
    pub signed_by: String,
    /// The day, not after today.
    pub signed_on: Option<NaiveDate>,
}

impl Signature {
    /// Reads `{"signed_by", "signed_on"?}`; a day after `today` is refused.
    pub fn parse(body: &serde_json::Value, today: NaiveDate) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["signed_by", "signed_on"]);
        let signed_by = input
            .string(&mut v, "signed_by", true)
            .and_then(|raw| v.take(text("signed_by", raw, 1, 200)));
        let signed_on = input
            .string(&mut v, "signed_on", false)
            .and_then(|raw| v.take(fields::parse_date("signed_on", raw)));
        if signed_on.is_some_and(|d| d > today) {
            v.add("signed_on", "future", "signed_on cannot be after today");
        }
        v.finish()?;
        Ok(Self {
            signed_by: signed_by.unwrap_or_default(),
            signed_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        fields::parse_date("d", s).unwrap()
    }

    #[test]
    fn a_contract_from_a_proposal_needs_only_its_term() {
        let from = ContractFields::parse(
            &json!({"proposal_id": "prp_01ARZ3NDEKTSV4RRFFQ69G5FAV", "start_on": "2027-01-01", "end_on": "2027-12-31"}),
            true,
        )
        .unwrap();
        assert!(from.title.is_none() && from.total_minor.is_none());
        let by_hand = ContractFields::parse(
            &json!({"start_on": "2027-01-01", "end_on": "2027-12-31"}),
            true,
        );
        let Err(DomainError::Validation(list)) = by_hand else {
            panic!("a contract by hand needs its title and total")
        };
        let named: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["title", "total_minor"]);
        let backwards = ContractFields::parse(
            &json!({"title": "Audit", "total_minor": 1, "start_on": "2027-02-01", "end_on": "2027-01-31"}),
            true,
        );
        assert!(matches!(backwards, Err(DomainError::Validation(l)) if l[0].rule == "order"));
    }

    #[test]
    fn only_notes_change_a_signed_contract_and_statuses_move_by_the_rules() {
        let notes = ContractFields::parse(&json!({"notes": "Called to confirm"}), false).unwrap();
        assert!(!notes.touches_terms());
        let total =
            ContractFields::parse(&json!({"total_minor": 5, "notes": null}), false).unwrap();
        assert!(total.touches_terms());
        use ContractStatus::*;
        assert!(Draft.may_become(Active) && OnHold.may_become(Active));
        assert!(!Draft.may_become(Completed) && !Completed.may_become(Active));
        assert!(!Terminated.may_become(OnHold));
        let today = day("2027-01-10");
        assert!(Signature::parse(
            &json!({"signed_by": "Ada", "signed_on": "2027-01-11"}),
            today
        )
        .is_err());
        let s = Signature::parse(&json!({"signed_by": " Ada Lovelace "}), today).unwrap();
        assert_eq!((s.signed_by.as_str(), s.signed_on), ("Ada Lovelace", None));
    }
}
