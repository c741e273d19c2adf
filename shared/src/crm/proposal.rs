//! Proposals: what the firm offers on a deal, line by line, until a date. A draft
//! is edited freely; sending freezes it; the client's answer accepts or rejects it
//! (a rejection keeps its reason); a sent proposal nobody answered expires the day
//! after its `valid_until`, in the firm's time zone.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fields;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::money::MAX_SAFE_MINOR;
use crate::kernel::sql::columns::json_typed;
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// Where a proposal stands.
    ProposalStatus, "of the proposal statuses" {
        /// Being written; may change.
        Draft = "draft",
        /// With the client; frozen.
        Sent = "sent",
        /// The client said yes.
        Accepted = "accepted",
        /// The client said no (with a reason).
        Rejected = "rejected",
        /// Nobody answered by `valid_until`.
        Expired = "expired",
    }
);

impl ProposalStatus {
    /// Whether a person may take a proposal from `self` to `to` (expiry is the
    /// daily sweep's).
    pub fn may_become(self, to: ProposalStatus) -> bool {
        use ProposalStatus::*;
        matches!(
            (self, to),
            (Draft, Sent) | (Sent, Accepted) | (Sent, Rejected)
        )
    }
}

/// Lines a proposal may hold.
pub const MAX_LINES: usize = 100;
/// The most of one line.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// One line of a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The catalogue's product it was priced from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// What is offered.
    pub description: String,
    /// How many, up to three decimals (`"1.5"` hours), as text so it stays exact.
    pub quantity: String,
    /// Price of one, in minor units of the proposal's currency.
    pub unit_price_minor: i64,
    /// `quantity × unit_price_minor`, rounded half to even.
    pub amount_minor: i64,
}

/// A proposal as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// `prp_…`
    pub id: String,
    /// The deal it is for.
    pub deal_id: String,
    /// What it is called.
    pub title: String,
    /// Where it stands.
    pub status: ProposalStatus,
    /// The deal's currency.
    pub currency: String,
    /// What is offered.
    #[serde(deserialize_with = "json_typed")]
    pub lines: Vec<Line>,
    /// The sum of the lines.
    pub total_minor: i64,
    /// The last day it may be accepted.
    pub valid_until: String,
    /// Free text for the client.
    pub notes: Option<String>,
    /// Unix ms it was sent.
    pub sent_at: Option<i64>,
    /// Unix ms it was accepted, rejected or expired.
    pub decided_at: Option<i64>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who wrote it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Proposal {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }

    /// Whether its last day is over on `today`.
    pub fn is_past(&self, today: NaiveDate) -> bool {
        fields::parse_date("valid_until", &self.valid_until).is_ok_and(|last| today > last)
    }
}

/// A checked draft: the body of a create (title, lines and `valid_until`
/// required) or of a change (any of them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProposalFields {
    /// 1–200 characters.
    pub title: Option<String>,
    /// 1–100 lines, priced by [`price`] (a line naming a product may leave its
    /// description and price to the catalogue).
    pub lines: Option<Vec<LineDraft>>,
    /// A calendar day.
    pub valid_until: Option<NaiveDate>,
    /// `Some(None)` clears them.
    pub notes: Option<Option<String>>,
}

impl ProposalFields {
    /// Reads `{"title", "lines": [{"description", "quantity", "unit_price_minor"}],
    /// "valid_until", "notes"?}`; on a change every field is optional but one is
    /// needed. `quantity` is a number or decimal text above 0, at most 1,000,000,
    /// with at most three decimals.
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["title", "lines", "valid_until", "notes"]);
        let title = input
            .string(&mut v, "title", creating)
            .and_then(|s| v.take(text("title", s, 1, 200)));
        let lines = input
            .array(&mut v, "lines", creating)
            .and_then(|list| lines(&mut v, list));
        let valid_until = input
            .string(&mut v, "valid_until", creating)
            .and_then(|raw| v.take(fields::parse_date("valid_until", raw)));
        let notes = fields::optional_text(&mut v, &input, "notes", 5_000);
        v.finish()?;
        let parsed = Self {
            title,
            lines,
            valid_until,
            notes,
        };
        if !creating && parsed == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one of title, lines, valid_until, notes",
            ));
        }
        Ok(parsed)
    }
}

/// A line as written: a product of the catalogue and/or a description and a
/// price of one (what is written wins over the catalogue), and a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDraft {
    /// `prd_…` of the firm's catalogue.
    pub product_id: Option<String>,
    /// 1–300 characters (the product's name when absent).
    pub description: Option<String>,
    /// Above 0, at most 1,000,000, three decimals at most.
    pub quantity: Decimal,
    /// Minor units (the product's price when absent).
    pub unit_price_minor: Option<i64>,
}

/// What a line draft names of the catalogue: the product's name, price and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// Its name.
    pub name: String,
    /// Its price of one.
    pub unit_price_minor: i64,
    /// Its currency.
    pub currency: String,
}

/// The lines `drafts` make in `currency`, a product's name and price filling
/// what a line left out (`catalogue` gives each named product). A product priced
/// in another currency, or lines that come to more than 2^53 − 1, are a 422
/// naming the line.
pub fn price(
    drafts: &[LineDraft],
    catalogue: &std::collections::HashMap<String, Priced>,
    currency: &str,
) -> DomainResult<Vec<Line>> {
    let mut v = Validator::new();
    let mut out = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.iter().enumerate() {
        let path = format!("lines[{i}]");
        let product = d.product_id.as_ref().and_then(|id| catalogue.get(id));
        if let (Some(p), None) = (product, d.unit_price_minor) {
            if p.currency != currency {
                v.add(
                    format!("{path}.product_id"),
                    "currency",
                    format!(
                        "{path}.product_id is priced in {}, the deal in {currency}: give unit_price_minor",
                        p.currency
                    ),
                );
                continue;
            }
        }
        let description = d
            .description
            .clone()
            .or_else(|| product.map(|p| p.name.clone()));
        let price = d
            .unit_price_minor
            .or_else(|| product.map(|p| p.unit_price_minor));
        let (Some(description), Some(price)) = (description, price) else {
            v.add(
                format!("{path}.product_id"),
                "unknown",
                format!("{path}.product_id names no product to take the line from"),
            );
            continue;
        };
        let amount = (d.quantity * Decimal::from(price))
            .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven);
        match i64::try_from(amount).ok().filter(|a| *a <= MAX_SAFE_MINOR) {
            Some(amount_minor) => out.push(Line {
                product_id: d.product_id.clone(),
                description,
                quantity: d.quantity.normalize().to_string(),
                unit_price_minor: price,
                amount_minor,
            }),
            None => v.add(path.clone(), "range", format!("{path} comes to too much")),
        }
    }
    let total = out
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.amount_minor))
        .filter(|t| *t <= MAX_SAFE_MINOR);
    if total.is_none() {
        v.add("lines", "range", "the lines come to too much");
    }
    v.finish()?;
    Ok(out)
}

fn lines(v: &mut Validator, list: &[serde_json::Value]) -> Option<Vec<LineDraft>> {
    if list.is_empty() || list.len() > MAX_LINES {
        v.add(
            "lines",
            "size",
            format!("lines holds 1 to {MAX_LINES} lines"),
        );
        return None;
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let path = format!("lines[{i}]");
        let Some(obj) = raw.as_object() else {
            v.add(path.clone(), "type", format!("{path} must be an object"));
            continue;
        };
        for key in obj.keys() {
            if !["product_id", "description", "quantity", "unit_price_minor"]
                .contains(&key.as_str())
            {
                v.add(
                    format!("{path}.{key}"),
                    "unknown",
                    format!("{path}.{key} is not a field of a line"),
                );
            }
        }
        let product_id = match obj.get("product_id") {
            None => None,
            Some(raw) => match raw
                .as_str()
                .map(|id| crate::kernel::id::parse(&format!("{path}.product_id"), "prd", id))
            {
                Some(Ok(id)) => Some(id),
                Some(Err(e)) => {
                    v.take::<()>(Err(e));
                    None
                }
                None => {
                    v.add(
                        format!("{path}.product_id"),
                        "type",
                        format!("{path}.product_id must be a product id"),
                    );
                    None
                }
            },
        };
        // A line of the catalogue may leave its description and price to it.
        let own = !obj.contains_key("product_id");
        let description = match obj.get("description").and_then(serde_json::Value::as_str) {
            Some(s) => v.take(text(&format!("{path}.description"), s, 1, 300)),
            None if own || obj.contains_key("description") => {
                v.add(
                    format!("{path}.description"),
                    "required",
                    format!("{path}.description is required text"),
                );
                None
            }
            None => None,
        };
        let quantity = quantity(v, &format!("{path}.quantity"), obj.get("quantity"));
        let price_path = format!("{path}.unit_price_minor");
        let price = match obj.get("unit_price_minor") {
            None if !own => None,
            raw => match raw.and_then(serde_json::Value::as_i64) {
                Some(p) if (0..=MAX_SAFE_MINOR).contains(&p) => Some(p),
                _ => {
                    v.add(
                        price_path.clone(),
                        "range",
                        format!("{price_path} must be a whole number of minor units from 0 to {MAX_SAFE_MINOR}"),
                    );
                    None
                }
            },
        };
        if let Some(quantity) = quantity {
            out.push(LineDraft {
                product_id,
                description,
                quantity,
                unit_price_minor: price,
            });
        }
    }
    (out.len() == list.len()).then_some(out)
}

fn quantity(v: &mut Validator, path: &str, raw: Option<&serde_json::Value>) -> Option<Decimal> {
    let parsed = match raw {
        Some(serde_json::Value::String(s)) => s.trim().parse::<Decimal>().ok(),
        Some(serde_json::Value::Number(n)) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    };
    match parsed {
        Some(q)
            if q > Decimal::ZERO
                && q <= Decimal::from(MAX_QUANTITY)
                && q.normalize().scale() <= 3 =>
        {
            Some(q)
        }
        _ => {
            v.add(
                path,
                "range",
                format!("{path} must be a number above 0 and at most {MAX_QUANTITY}, with at most three decimals"),
            );
            None
        }
    }
}

/// The sum of `lines`.
pub fn total(lines: &[Line]) -> i64 {
    lines.iter().map(|l| l.amount_minor).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_are_priced_exactly() {
        let fields = ProposalFields::parse(
            &json!({"title": "Audit 2027", "valid_until": "2027-02-28", "lines": [
                {"description": "Fieldwork", "quantity": "12.5", "unit_price_minor": 15_000},
                {"description": "Report", "quantity": 1, "unit_price_minor": 99_999},
                {"description": "Travel", "quantity": 0.333, "unit_price_minor": 5}]}),
            true,
        )
        .unwrap();
        let lines = price(&fields.lines.unwrap(), &Default::default(), "EUR").unwrap();
        assert_eq!(lines[0].amount_minor, 187_500);
        assert_eq!(lines[0].quantity, "12.5");
        assert_eq!(lines[2].amount_minor, 2, "1.665 rounds half to even");
        assert_eq!(total(&lines), 187_500 + 99_999 + 2);
    }

    #[test]
    fn a_catalogue_line_takes_the_product_s_name_and_price_unless_written() {
        let fields = ProposalFields::parse(
            &json!({"title": "Books", "valid_until": "2027-02-28", "lines": [
                {"product_id": "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": 12},
                {"product_id": "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": 1, "description": "Year end", "unit_price_minor": 5}]}),
            true,
        )
        .unwrap();
        let drafts = fields.lines.unwrap();
        let mut catalogue = std::collections::HashMap::new();
        catalogue.insert(
            "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
            Priced {
                name: "Bookkeeping".into(),
                unit_price_minor: 30_000,
                currency: "EUR".into(),
            },
        );
        let lines = price(&drafts, &catalogue, "EUR").unwrap();
        assert_eq!(
            (lines[0].description.as_str(), lines[0].amount_minor),
            ("Bookkeeping", 360_000)
        );
        assert_eq!(
            (lines[1].description.as_str(), lines[1].amount_minor),
            ("Year end", 5)
        );
        // In another currency the catalogue's price does not apply; a written one does.
        let refused = price(&drafts, &catalogue, "USD");
        assert!(
            matches!(refused, Err(DomainError::Validation(l)) if l.len() == 1 && l[0].field == "lines[0].product_id")
        );
    }

    #[test]
    fn bad_drafts_name_their_field() {
        let cases = [
            (
                json!({"title": "x", "valid_until": "2027-02-30", "lines": [{"description": "a", "quantity": 1, "unit_price_minor": 1}]}),
                "valid_until",
            ),
            (
                json!({"title": "x", "valid_until": "2027-02-01", "lines": []}),
                "lines",
            ),
            (
                json!({"title": "x", "valid_until": "2027-02-01", "lines": [{"description": "a", "quantity": 0, "unit_price_minor": 1}]}),
                "lines[0].quantity",
            ),
            (
                json!({"title": "x", "valid_until": "2027-02-01", "lines": [{"description": "a", "quantity": "1.2345", "unit_price_minor": 1}]}),
                "lines[0].quantity",
            ),
            (
                json!({"title": "x", "valid_until": "2027-02-01", "lines": [{"description": "a", "quantity": 1, "unit_price_minor": -1}]}),
                "lines[0].unit_price_minor",
            ),
            (
                json!({"title": "x", "valid_until": "2027-02-01", "lines": [{"quantity": 1, "unit_price_minor": 1}]}),
                "lines[0].description",
            ),
            (
                json!({"title": "x", "valid_until": "2027-02-01", "lines": [{"description": "a", "quantity": 1, "unit_price_minor": 1, "tax": 1}]}),
                "lines[0].tax",
            ),
            (
                json!({"valid_until": "2027-02-01", "lines": [{"description": "a", "quantity": 1, "unit_price_minor": 1}]}),
                "title",
            ),
        ];
        for (body, field) in cases {
            match ProposalFields::parse(&body, true) {
                Err(DomainError::Validation(errors)) => {
                    assert!(
                        errors.iter().any(|e| e.field == field),
                        "{body}: {errors:?}"
                    )
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(ProposalFields::parse(&json!({}), false).is_err());
    }

    #[test]
    fn only_a_person_moves_a_proposal_and_only_forwards() {
        use ProposalStatus::*;
        assert!(Draft.may_become(Sent));
        assert!(Sent.may_become(Accepted) && Sent.may_become(Rejected));
        assert!(!Draft.may_become(Accepted));
        assert!(!Sent.may_become(Expired), "expiry is the sweep's");
        assert!(!Accepted.may_become(Rejected));
    }
}
