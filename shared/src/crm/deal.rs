//! Deals: an amount of money the firm hopes to win, moving across a pipeline's
//! stages until it is won (the account becomes a client) or lost (with a reason).

use serde::{Deserialize, Serialize};

use super::fields::{self};
use super::lead::LeadSource;
use super::pipeline::{Stage, StageKind};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::columns::{bool_from_int, json_typed};
use crate::kernel::validate::{text, Input, Validator};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// People a deal's credit may be split between.
pub const MAX_SPLITS: usize = 10;

crate::wire_enum!(
    /// Whether a deal is still being worked.
    DealStatus, "of the deal statuses" {
        /// In an open stage.
        Open = "open",
        /// In the won stage.
        Won = "won",
        /// In the lost stage.
        Lost = "lost",
    }
);

impl From<StageKind> for DealStatus {
    fn from(kind: StageKind) -> Self {
        match kind {
            StageKind::Open => DealStatus::Open,
            StageKind::Won => DealStatus::Won,
            StageKind::Lost => DealStatus::Lost,
        }
    }
}

/// A member's share of a deal's credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// The member.
    pub user_id: String,
    /// Whole percent; a deal's shares sum to 100.
    pub percent: i64,
}

/// What a deal looked like when it closed: the rows the forecasting model learns from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloseSnapshot {
    /// The last open stage it was in.
    pub stage_id: String,
    /// That stage's probability then.
    pub stage_probability: i64,
    /// Days it had spent in that stage.
    pub days_in_stage: f64,
    /// Days since its last activity.
    pub idle_days: f64,
    /// Its value in minor units.
    pub value_minor: i64,
    /// Where it came from.
    pub source: Option<String>,
}

/// A deal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// `dea_…`
    pub id: String,
    /// What is being sold.
    pub name: String,
    /// Its pipeline.
    pub pipeline_id: String,
    /// Its stage.
    pub stage_id: String,
    /// Open, won or lost (follows the stage's kind).
    pub status: DealStatus,
    /// The account being sold to.
    pub account_id: Option<String>,
    /// The person at the account.
    pub contact_id: Option<String>,
    /// The lead it came from.
    pub lead_id: Option<String>,
    /// Value in minor units of `currency`.
    pub value_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// A probability set by hand (0–100), overriding the stage's while open.
    pub probability: Option<i64>,
    /// When it is expected to close.
    pub expected_close: Option<String>,
    /// Unix ms it was won or lost.
    pub closed_at: Option<i64>,
    /// Why it was lost.
    pub lost_reason: Option<String>,
    /// The member who owns it.
    pub owner_id: String,
    /// The campaign it came from.
    pub campaign_id: Option<String>,
    /// Credit shares; sum to 100.
    #[serde(deserialize_with = "json_typed")]
    pub splits: Vec<Split>,
    /// Where it came from.
    pub source: Option<LeadSource>,
    /// Lower-case tags.
    #[serde(deserialize_with = "json_typed")]
    pub tags: Vec<String>,
    /// Unix ms it entered its stage.
    pub stage_entered_at: i64,
    /// Unix ms of its last call, e-mail, meeting, note or task.
    pub last_activity_at: Option<i64>,
    /// No activity for longer than its stage allows.
    #[serde(deserialize_with = "bool_from_int")]
    pub is_stale: bool,
    /// The client the won deal's account became.
    pub client_id: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Deal {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }

    /// The chance it is won (0–100): 100 won, 0 lost, else the hand-set figure or
    /// its stage's.
    pub fn probability_in(&self, stage: &Stage) -> i64 {
        match self.status {
            DealStatus::Won => 100,
            DealStatus::Lost => 0,
            DealStatus::Open => self.probability.unwrap_or(stage.probability),
        }
    }

    /// The time from which inactivity counts: its last activity, else its creation.
    pub fn active_at(&self) -> i64 {
        self.last_activity_at
            .unwrap_or(self.created_at)
            .max(self.created_at)
    }

    /// Whether an open deal has gone longer than `rotting_days` without activity at `now`.
    pub fn rots(&self, rotting_days: i64, now_ms: i64) -> bool {
        self.status == DealStatus::Open && now_ms - self.active_at() > rotting_days * DAY_MS
    }

    /// The record the forecasting model keeps of it as it closes from `stage`.
    pub fn snapshot(&self, stage: &Stage, now_ms: i64) -> CloseSnapshot {
        CloseSnapshot {
            stage_id: stage.id.clone(),
            stage_probability: stage.probability,
            days_in_stage: (now_ms - self.stage_entered_at).max(0) as f64 / DAY_MS as f64,
            idle_days: (now_ms - self.active_at()).max(0) as f64 / DAY_MS as f64,
            value_minor: self.value_minor,
            source: self.source.map(|s| s.name().to_owned()),
        }
    }
}

/// A deal as answered: its fields, its stage's name, the probability that counts
/// now and its weighted value (derived, never stored), and its etag.
pub fn view(deal: &Deal, stage: Option<&Stage>) -> serde_json::Value {
    let probability = match (deal.status, stage) {
        (DealStatus::Open, Some(stage)) => deal.probability_in(stage),
        (DealStatus::Open, None) => deal.probability.unwrap_or(0),
        (DealStatus::Won, _) => 100,
        (DealStatus::Lost, _) => 0,
    };
    let mut value = serde_json::to_value(deal).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("stage_name".into(), stage.map(|s| s.name.clone()).into());
        obj.insert("effective_probability".into(), probability.into());
        obj.insert(
            "weighted_minor".into(),
            weighted(deal.value_minor, probability).into(),
        );
        obj.insert("etag".into(), deal.etag().into());
    }
    value
}

/// `value` weighted by `probability` percent, rounded half up.
pub fn weighted(value_minor: i64, probability: i64) -> i64 {
    let p = i128::from(probability.clamp(0, 100));
    let v = i128::from(value_minor);
    i64::try_from((v * p + 50) / 100).unwrap_or(i64::MAX)
}

/// Reads `splits`: 1–10 distinct members whose whole percentages (1–100) sum to 100.
fn parse_splits(v: &mut Validator, input: &Input<'_>) -> Option<Vec<Split>> {
    let list = input.array(v, "splits", false)?;
    let mut out = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let path = format!("splits[{i}]");
        let user = raw.get("user_id").and_then(serde_json::Value::as_str);
        let percent = raw.get("percent").and_then(serde_json::Value::as_i64);
        let extra = raw
            .as_object()
            .map(|o| o.keys().any(|k| k != "user_id" && k != "percent"))
            .unwrap_or(true);
        match (
            user.map(|u| crate::kernel::id::parse(&format!("{path}.user_id"), "usr", u)),
            percent,
        ) {
            (Some(Ok(user_id)), Some(percent)) if (1..=100).contains(&percent) && !extra => {
                out.push(Split { user_id, percent });
            }
            _ => v.add(
                path.clone(),
                "split",
                format!("{path} must be {{\"user_id\": \"usr_…\", \"percent\": 1–100}}"),
            ),
        }
    }
    if list.len() != out.len() {
        return None;
    }
    let mut users: Vec<&str> = out.iter().map(|s| s.user_id.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let total: i64 = out.iter().map(|s| s.percent).sum();
    if out.is_empty() || out.len() > MAX_SPLITS || users.len() != out.len() || total != 100 {
        v.add(
            "splits",
            "sum",
            format!("splits name 1 to {MAX_SPLITS} different members whose percents sum to 100 (they sum to {total})"),
        );
        return None;
    }
    Some(out)
}

/// The checked fields of a deal (`None`: not given; `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealFields {
    /// Name (required to create).
    pub name: Option<String>,
    /// Pipeline (create only; the default when left out).
    pub pipeline_id: Option<String>,
    /// Starting stage (create only; the first open stage when left out).
    pub stage_id: Option<String>,
    /// Account.
    pub account_id: Option<Option<String>>,
    /// Contact.
    pub contact_id: Option<Option<String>>,
    /// Value.
    pub value_minor: Option<i64>,
    /// Currency (the firm's when left out on create).
    pub currency: Option<String>,
    /// Probability override (`Some(None)` returns to the stage's).
    pub probability: Option<Option<i64>>,
    /// Expected close date.
    pub expected_close: Option<Option<String>>,
    /// Owner (the creator when left out).
    pub owner_id: Option<String>,
    /// Credit shares (the owner's 100 % when left out).
    pub splits: Option<Vec<Split>>,
    /// Source.
    pub source: Option<Option<LeadSource>>,
    /// The campaign it came from (`Some(None)` clears it).
    pub campaign_id: Option<Option<String>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

impl DealFields {
    /// Reads a deal's fields; `creating` requires `name` and accepts `pipeline_id`
    /// and `stage_id` (a deal changes stage by moving, not by a change).
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        let mut known = vec![
            "name",
            "account_id",
            "contact_id",
            "value_minor",
            "currency",
            "probability",
            "expected_close",
            "owner_id",
            "splits",
            "source",
            "campaign_id",
            "tags",
        ];
        if creating {
            known.extend(["pipeline_id", "stage_id"]);
        }
        input.reject_unknown(&mut v, &known);
        let name = input
            .string(&mut v, "name", creating)
            .and_then(|s| v.take(text("name", s, 1, 200)));
        let probability = if input.has("probability") {
            match input.raw("probability") {
                None => Some(None),
                Some(_) => input.integer(&mut v, "probability", false).and_then(|p| {
                    if (0..=100).contains(&p) {
                        Some(Some(p))
                    } else {
                        v.add("probability", "range", "probability must be 0 to 100");
                        None
                    }
                }),
            }
        } else {
            None
        };
        let source = if input.has("source") {
            match input.raw("source") {
                None => Some(None),
                Some(_) => input
                    .string(&mut v, "source", false)
                    .and_then(|raw| v.take(LeadSource::parse("source", raw)))
                    .map(Some),
            }
        } else {
            None
        };
        let fields = Self {
            name,
            pipeline_id: input
                .string(&mut v, "pipeline_id", false)
                .and_then(|raw| v.take(crate::kernel::id::parse("pipeline_id", "pip", raw))),
            stage_id: input
                .string(&mut v, "stage_id", false)
                .and_then(|raw| v.take(crate::kernel::id::parse("stage_id", "stg", raw))),
            account_id: fields::link(&mut v, &input, "account_id", "acc"),
            contact_id: fields::link(&mut v, &input, "contact_id", "ctc"),
            value_minor: fields::amount(&mut v, &input, "value_minor", false),
            currency: fields::currency(&mut v, &input, "currency", false)
                .map(|c| c.code().to_owned()),
            probability,
            expected_close: fields::date(&mut v, &input, "expected_close")
                .map(|d| d.map(|d| d.format("%Y-%m-%d").to_string())),
            owner_id: fields::user(&mut v, &input, "owner_id", false),
            splits: parse_splits(&mut v, &input),
            source,
            campaign_id: fields::link(&mut v, &input, "campaign_id", "cmp"),
            tags: fields::tags(&mut v, &input, "tags"),
        };
        v.finish()?;
        if !creating && fields == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one field to change",
            ));
        }
        Ok(fields)
    }
}

/// A move of a deal to another stage of its pipeline; a lost stage needs a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealMove {
    /// The stage to move to.
    pub stage_id: String,
    /// Why it was lost (required when the stage is the lost one).
    pub lost_reason: Option<String>,
}

impl DealMove {
    /// Reads `{"stage_id", "lost_reason"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["stage_id", "lost_reason"]);
        let stage_id = input
            .string(&mut v, "stage_id", true)
            .and_then(|raw| v.take(crate::kernel::id::parse("stage_id", "stg", raw)));
        let lost_reason = input
            .string(&mut v, "lost_reason", false)
            .and_then(|s| v.take(text("lost_reason", s, 1, 500)));
        v.finish()?;
        let stage_id = stage_id
            .ok_or_else(|| DomainError::invalid("stage_id", "required", "stage_id is required"))?;
        Ok(Self {
            stage_id,
            lost_reason,
        })
    }

    /// Checks the move against the stage it goes to.
    pub fn check(&self, deal: &Deal, to: &Stage) -> DomainResult<()> {
        if to.kind == StageKind::Lost && self.lost_reason.is_none() {
            return Err(DomainError::conflict(
                "lost_reason",
                "lost_reason is required to move a deal to the lost stage",
            ));
        }
        if to.kind != StageKind::Lost && self.lost_reason.is_some() {
            return Err(DomainError::conflict(
                "lost_reason",
                "lost_reason is only for a move to the lost stage",
            ));
        }
        if deal.stage_id == to.id {
            return Err(DomainError::conflict(
                "stage_id",
                "the deal is already in that stage",
            ));
        }
        Ok(())
    }
}

/// What a list of deals is narrowed to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DealFilter {
    /// Only this pipeline.
    pub pipeline_id: Option<String>,
    /// Only this stage.
    pub stage_id: Option<String>,
    /// Only this status.
    pub status: Option<DealStatus>,
    /// Only deals this member owns.
    pub owner_id: Option<String>,
    /// Only this account's.
    pub account_id: Option<String>,
    /// Only stale (or only fresh) deals.
    pub stale: Option<bool>,
    /// Text in the name.
    pub q: Option<String>,
}

impl DealFilter {
    /// Reads `pipeline_id`, `stage_id`, `status`, `owner_id`, `account_id`, `stale`, `q`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let id = |v: &mut Validator, name: &str, prefix: &str| {
            get(name).and_then(|raw| v.take(crate::kernel::id::parse(name, prefix, raw)))
        };
        let pipeline_id = id(&mut v, "pipeline_id", "pip");
        let stage_id = id(&mut v, "stage_id", "stg");
        let owner_id = id(&mut v, "owner_id", "usr");
        let account_id = id(&mut v, "account_id", "acc");
        let status = get("status").and_then(|raw| v.take(DealStatus::parse("status", raw)));
        let stale = get("stale").and_then(|raw| match raw {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                v.add("stale", "boolean", "stale must be true or false");
                None
            }
        });
        let q = get("q")
            .and_then(|q| v.take(text("q", q, 1, 100)))
            .map(|q| q.to_lowercase());
        v.finish()?;
        Ok(Self {
            pipeline_id,
            stage_id,
            status,
            owner_id,
            account_id,
            stale,
            q,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weighting_rounds_half_up_and_survives_large_values() {
        assert_eq!(weighted(1_000, 25), 250);
        assert_eq!(weighted(5, 50), 3);
        assert_eq!(weighted(4, 50), 2);
        assert_eq!(weighted(9_007_199_254_740_991, 100), 9_007_199_254_740_991);
        assert_eq!(weighted(100, 150), 100);
    }

    #[test]
    fn splits_sum_to_a_hundred_between_different_members() {
        let a = crate::kernel::id::encode("usr", 1, [1; 10]);
        let b = crate::kernel::id::encode("usr", 2, [2; 10]);
        let ok = DealFields::parse(
            &json!({"name": "Audit", "splits": [{"user_id": a, "percent": 60}, {"user_id": b, "percent": 40}]}),
            true,
        );
        assert_eq!(ok.unwrap().splits.unwrap().len(), 2);
        for bad in [
            json!([{"user_id": a, "percent": 60}]),
            json!([{"user_id": a, "percent": 50}, {"user_id": a, "percent": 50}]),
            json!([{"user_id": a, "percent": 0}, {"user_id": b, "percent": 100}]),
            json!([{"user_id": "nope", "percent": 100}]),
            json!([]),
        ] {
            let err =
                DealFields::parse(&json!({"name": "Audit", "splits": bad}), true).unwrap_err();
            assert!(format!("{err:?}").contains("splits"), "{bad}");
        }
    }

    #[test]
    fn a_change_cannot_move_a_deal_or_clear_its_name() {
        let err = DealFields::parse(&json!({"stage_id": "stg_x"}), false).unwrap_err();
        assert!(format!("{err:?}").contains("stage_id"));
        let patch = DealFields::parse(
            &json!({"probability": null, "expected_close": "2027-01-31"}),
            false,
        )
        .unwrap();
        assert_eq!(patch.probability, Some(None));
        assert_eq!(patch.expected_close, Some(Some("2027-01-31".into())));
        let err = DealFields::parse(
            &json!({"value_minor": -1, "currency": "XXQ", "probability": 101}),
            false,
        )
        .unwrap_err();
        let text = format!("{err:?}");
        for f in ["value_minor", "currency", "probability"] {
            assert!(text.contains(f), "{f} in {text}");
        }
    }
}
