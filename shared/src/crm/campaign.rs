//! Campaigns: the firm's marketing pushes (a webinar, a renewal drive), each with
//! dates, a budget and what it cost. Leads and deals name the campaign they came
//! from, and a campaign's results are counted from them when asked — leads,
//! qualified and converted leads, deals, deals won and their value, cost per
//! lead and return on cost — never kept as counters that drift.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields;
use crate::kernel::error::DomainResult;
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// What kind of push it is.
    CampaignKind, "of the campaign kinds" {
        /// E-mails to a list.
        Email = "email",
        /// An online session.
        Webinar = "webinar",
        /// Articles, guides, downloads.
        Content = "content",
        /// An event or conference.
        Event = "event",
        /// Social media.
        Social = "social",
        /// With a partner firm.
        Partnership = "partnership",
        /// Renewing existing clients.
        Renewal = "renewal",
        /// Annual reviews with clients.
        AnnualReview = "annual_review",
        /// Anything else.
        Other = "other",
    }
);

crate::wire_enum!(
    /// Where a campaign stands.
    CampaignStatus, "of the campaign statuses" {
        /// Being prepared.
        Planning = "planning",
        /// Running.
        Active = "active",
        /// Stopped for now.
        Paused = "paused",
        /// Over.
        Completed = "completed",
        /// Called off.
        Cancelled = "cancelled",
    }
);

impl CampaignStatus {
    /// Whether a campaign may go from `self` to `to`: planning starts or is
    /// called off; a running one pauses, completes or is called off; a paused one
    /// resumes, completes or is called off; completed and cancelled are final.
    pub fn may_become(self, to: CampaignStatus) -> bool {
        use CampaignStatus::*;
        self == to
            || matches!(
                (self, to),
                (Planning, Active | Cancelled)
                    | (Active, Paused | Completed | Cancelled)
                    | (Paused, Active | Completed | Cancelled)
            )
    }
}

/// Campaigns a firm may have.
pub const MAX_CAMPAIGNS: i64 = 2_000;

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// `cmp_…`
    pub id: String,
    /// What it is called.
    pub name: String,
    /// What it is about.
    pub description: Option<String>,
    /// What kind of push.
    pub kind: CampaignKind,
    /// Where it stands.
    pub status: CampaignStatus,
    /// First day.
    pub start_on: String,
    /// Last day (on or after the first).
    pub end_on: String,
    /// Of the budget, the cost and the revenue counted.
    pub currency: String,
    /// What may be spent, in minor units.
    pub budget_minor: i64,
    /// What was spent so far.
    pub actual_cost_minor: i64,
    /// Leads it aims for.
    pub target_leads: Option<i64>,
    /// The member running it.
    pub owner_id: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who made it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Campaign {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

/// What a campaign brought, counted from the leads and deals that name it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Leads naming it.
    pub leads: i64,
    /// Of those, qualified or converted.
    pub qualified_leads: i64,
    /// Of those, converted into a deal.
    pub converted_leads: i64,
    /// Deals naming it.
    pub deals: i64,
    /// Of those, won.
    pub deals_won: i64,
    /// The value of the won deals in the campaign's currency.
    pub won_minor: i64,
}

/// A campaign's results: its counts and what they mean against its cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Leads against the target, in percent (none without a target).
    pub target_reached_percent: Option<f64>,
    /// Cost over leads, rounded half up (none without a lead).
    pub cost_per_lead_minor: Option<i64>,
    /// (won − cost) / cost × 100, one decimal (none while nothing was spent).
    pub roi_percent: Option<f64>,
}

/// Rounds to one decimal.
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What `counts` mean for `campaign`.
pub fn results(campaign: &Campaign, counts: Counts) -> Results {
    let cost = campaign.actual_cost_minor;
    let cost_per_lead_minor = (counts.leads > 0).then(|| {
        // Half up, in integers: (2·cost + leads) / (2·leads).
        let (c, n) = (i128::from(cost), i128::from(counts.leads));
        i64::try_from((2 * c + n) / (2 * n)).unwrap_or(i64::MAX)
    });
    #[allow(clippy::cast_precision_loss)] // amounts are at most 2^53
    let roi_percent =
        (cost > 0).then(|| tenth((counts.won_minor - cost) as f64 / cost as f64 * 100.0));
    #[allow(clippy::cast_precision_loss)] // counts are small
    let target_reached_percent = campaign
        .target_leads
        .filter(|t| *t > 0)
        .map(|t| tenth(counts.leads as f64 / t as f64 * 100.0));
    Results {
        counts,
        target_reached_percent,
        cost_per_lead_minor,
        roi_percent,
    }
}

/// A checked campaign body: on a create `name`, `kind`, `start_on`, `end_on`,
/// `currency` and `budget_minor` are required.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignFields {
    /// 1–200 characters.
    pub name: Option<String>,
    /// Up to 5,000 characters.
    pub description: Option<Option<String>>,
    /// The kind.
    pub kind: Option<CampaignKind>,
    /// A move (checked against the current status by the repository).
    pub status: Option<CampaignStatus>,
    /// First day.
    pub start_on: Option<NaiveDate>,
    /// Last day.
    pub end_on: Option<NaiveDate>,
    /// ISO 4217 (fixed once made).
    pub currency: Option<String>,
    /// Budget.
    pub budget_minor: Option<i64>,
    /// Cost so far.
    pub actual_cost_minor: Option<i64>,
    /// 1–1,000,000 leads, or `null`.
    pub target_leads: Option<Option<i64>>,
    /// A member, or `null`.
    pub owner_id: Option<Option<String>>,
}

impl CampaignFields {
    /// Reads a campaign body (see the type).
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        let mut known = vec![
            "name",
            "description",
            "kind",
            "status",
            "start_on",
            "end_on",
            "budget_minor",
            "actual_cost_minor",
            "target_leads",
            "owner_id",
        ];
        if creating {
            known.push("currency");
        }
        input.reject_unknown(&mut v, &known);
        let name = input
            .string(&mut v, "name", creating)
            .and_then(|raw| v.take(text("name", raw, 1, 200)));
        let description = fields::optional_text(&mut v, &input, "description", 5_000);
        let kind = input
            .string(&mut v, "kind", creating)
            .and_then(|raw| v.take(CampaignKind::parse("kind", raw)));
        let status = input
            .string(&mut v, "status", false)
            .and_then(|raw| v.take(CampaignStatus::parse("status", raw)));
        let day = |v: &mut Validator, key: &str| {
            input
                .string(v, key, creating)
                .and_then(|raw| v.take(fields::parse_date(key, raw)))
        };
        let start_on = day(&mut v, "start_on");
        let end_on = day(&mut v, "end_on");
        let currency =
            fields::currency(&mut v, &input, "currency", creating).map(|c| c.code().to_owned());
        let budget_minor = fields::amount(&mut v, &input, "budget_minor", creating);
        let actual_cost_minor = fields::amount(&mut v, &input, "actual_cost_minor", false);
        let target_leads = if input.has("target_leads") && input.raw("target_leads").is_none() {
            Some(None)
        } else {
            input
                .integer_in(&mut v, "target_leads", 1..=1_000_000, false)
                .map(Some)
        };
        let owner_id = fields::link(&mut v, &input, "owner_id", "usr");
        v.finish()?;
        if let (Some(start), Some(end)) = (start_on, end_on) {
            fields::check_span(start, end)?;
        }
        let parsed = Self {
            name,
            description,
            kind,
            status,
            start_on,
            end_on,
            currency,
            budget_minor,
            actual_cost_minor,
            target_leads,
            owner_id,
        };
        fields::require_change(creating, parsed == Self::default(), "campaign")?;
        Ok(parsed)
    }
}

/// What a list of campaigns is narrowed to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CampaignFilter {
    /// Only this status.
    pub status: Option<CampaignStatus>,
    /// Only this kind.
    pub kind: Option<CampaignKind>,
}

impl CampaignFilter {
    /// Reads `status` and `kind` through `get`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let status = get("status").and_then(|raw| v.take(CampaignStatus::parse("status", raw)));
        let kind = get("kind").and_then(|raw| v.take(CampaignKind::parse("kind", raw)));
        v.finish()?;
        Ok(Self { status, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::error::DomainError;
    use serde_json::json;

    fn campaign(cost: i64, target: Option<i64>) -> Campaign {
        Campaign {
            id: "cmp_1".into(),
            name: "Spring webinar".into(),
            description: None,
            kind: CampaignKind::Webinar,
            status: CampaignStatus::Active,
            start_on: "2027-03-01".into(),
            end_on: "2027-03-31".into(),
            currency: "EUR".into(),
            budget_minor: 500_000,
            actual_cost_minor: cost,
            target_leads: target,
            owner_id: None,
            version: 1,
            created_by: "usr_x".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn results_are_worked_out_from_the_counts_and_the_cost() {
        let counts = Counts {
            leads: 3,
            qualified_leads: 2,
            converted_leads: 1,
            deals: 1,
            deals_won: 1,
            won_minor: 1_000_000,
        };
        let r = results(&campaign(200_000, Some(12)), counts.clone());
        assert_eq!(r.cost_per_lead_minor, Some(66_667)); // 200,000 / 3, half up
        assert_eq!(r.roi_percent, Some(400.0)); // (1,000,000 − 200,000) / 200,000
        assert_eq!(r.target_reached_percent, Some(25.0));
        let free = results(&campaign(0, None), Counts::default());
        assert_eq!(
            (
                free.cost_per_lead_minor,
                free.roi_percent,
                free.target_reached_percent
            ),
            (None, None, None)
        );
    }

    #[test]
    fn statuses_move_forward_only_and_dates_keep_their_order() {
        use CampaignStatus::*;
        assert!(Planning.may_become(Active) && Paused.may_become(Active));
        assert!(!Completed.may_become(Active) && !Cancelled.may_become(Planning));
        assert!(!Active.may_become(Planning));
        let bad = CampaignFields::parse(
            &json!({"name": "x", "kind": "event", "start_on": "2027-03-02", "end_on": "2027-03-01",
                    "currency": "EUR", "budget_minor": 0}),
            true,
        );
        assert!(matches!(bad, Err(DomainError::Validation(l)) if l[0].field == "end_on"));
        let currency_later = CampaignFields::parse(&json!({"currency": "USD"}), false);
        assert!(
            matches!(currency_later, Err(DomainError::Validation(l)) if l[0].field == "currency")
        );
        let cleared = CampaignFields::parse(&json!({"target_leads": null}), false).unwrap();
        assert_eq!(cleared.target_leads, Some(None));
    }
}
