//! Forecasting: what the pipeline is worth by period, and how likely each deal is
//! to be won, learnt from the firm's own closed deals.
//!
//! Money is summed per currency and never converted. For each period a row says
//! what was won, what the open deals expected to close then are worth weighted by
//! their probability, and three cases: worst (only what is won), commit (won plus
//! open deals at 70 % or more) and best (won plus every open deal). Rows are rolled
//! up per member through the deals' credit splits, and a total row per currency.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::deal::{weighted, CloseSnapshot, Deal, DealStatus, Split, DAY_MS};
use super::pipeline::Stage;
use crate::insight::logistic::{Contribution, Model};
use crate::insight::metrics;
use crate::kernel::error::{DomainError, DomainResult};

/// An open deal at this probability or more is in the commit case.
pub const COMMIT_PERCENT: i64 = 70;
/// Closed deals needed before the model replaces the stage probabilities.
pub const MIN_OUTCOMES: usize = 200;
/// Of which at least this many of the rarer outcome.
pub const MIN_RARER: usize = 30;
/// Share of the newest outcomes held out to measure the model.
pub const HOLDOUT_PERCENT: usize = 20;

crate::wire_enum!(
    /// The length of a forecast period.
    Period, "of the forecast periods" {
        /// Calendar months (`2027-03`).
        Month = "month",
        /// Calendar quarters (`2027-Q1`).
        Quarter = "quarter",
    }
);

impl Period {
    /// The name of the period holding `date`.
    pub fn key(self, date: NaiveDate) -> String {
        match self {
            Period::Month => format!("{:04}-{:02}", date.year(), date.month()),
            Period::Quarter => format!("{:04}-Q{}", date.year(), (date.month() - 1) / 3 + 1),
        }
    }

    /// Months in one period.
    pub fn months(self) -> u32 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
        }
    }

    /// The first day of the period holding `date`.
    pub fn start(self, date: NaiveDate) -> NaiveDate {
        let month = match self {
            Period::Month => date.month(),
            Period::Quarter => (date.month() - 1) / 3 * 3 + 1,
        };
        NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
    }

    /// The first day and the last day of `count` periods from the one holding `from`.
    pub fn span(self, from: NaiveDate, count: u32) -> (NaiveDate, NaiveDate) {
        let start = self.start(from);
        let end = start
            .checked_add_months(chrono::Months::new(count * self.months()))
            .and_then(|d| d.pred_opt())
            .unwrap_or(start);
        (start, end)
    }

    /// `count` consecutive period names from the one holding `from`.
    pub fn keys(self, from: NaiveDate, count: u32) -> Vec<String> {
        let start = self.start(from);
        (0..count)
            .filter_map(|i| start.checked_add_months(chrono::Months::new(i * self.months())))
            .map(|d| self.key(d))
            .collect()
    }

    /// The day in the period `back` periods before the one holding `date`.
    pub fn back(self, date: NaiveDate, back: u32) -> NaiveDate {
        self.start(date)
            .checked_sub_months(chrono::Months::new(back * self.months()))
            .unwrap_or(date)
    }

    /// Whether `raw` names a period of this length (`2027-03`, `2027-Q1`).
    pub fn parse_key(self, field: &str, raw: &str) -> DomainResult<String> {
        let ok = match self {
            Period::Month => {
                NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").is_ok()
                    && raw.len() == 7
            }
            Period::Quarter => {
                raw.len() == 7
                    && raw
                        .get(..4)
                        .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()))
                    && matches!(raw.get(4..), Some("-Q1" | "-Q2" | "-Q3" | "-Q4"))
            }
        };
        if ok {
            Ok(raw.to_owned())
        } else {
            Err(DomainError::invalid(
                field,
                "format",
                format!(
                    "{field} must name a {} such as {}",
                    self.name(),
                    self.key(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default())
                ),
            ))
        }
    }
}

/// Periods a forecast may span.
pub const MAX_PERIODS: u32 = 24;

/// What a forecast is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastQuery {
    /// Months or quarters (months when left out).
    pub period: Period,
    /// A day in the first period (today when left out).
    pub from: NaiveDate,
    /// How many periods (1–24; 6 when left out).
    pub periods: u32,
    /// Only this pipeline's deals.
    pub pipeline_id: Option<String>,
}

impl ForecastQuery {
    /// Reads `period`, `from`, `periods` and `pipeline_id` through `get`.
    pub fn parse<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        today: NaiveDate,
    ) -> DomainResult<Self> {
        let mut v = crate::kernel::validate::Validator::new();
        let period = get("period")
            .and_then(|raw| v.take(Period::parse("period", raw)))
            .unwrap_or(Period::Month);
        let from = get("from")
            .and_then(|raw| v.take(super::fields::parse_date("from", raw)))
            .unwrap_or(today);
        let periods = match get("periods") {
            None => 6,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_PERIODS).contains(&n) => n,
                _ => {
                    v.add(
                        "periods",
                        "range",
                        format!("periods must be a whole number from 1 to {MAX_PERIODS}"),
                    );
                    6
                }
            },
        };
        let pipeline_id = get("pipeline_id")
            .and_then(|raw| v.take(crate::kernel::id::parse("pipeline_id", "pip", raw)));
        v.finish()?;
        Ok(Self {
            period,
            from,
            periods,
            pipeline_id,
        })
    }
}

/// A checked manager's figure for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentInput {
    /// `2027-03` or `2027-Q1`.
    pub period: String,
    /// ISO 4217.
    pub currency: String,
    /// The member it is for; the firm when `None`.
    pub owner_id: Option<String>,
    /// The figure.
    pub amount_minor: i64,
    /// Why.
    pub note: Option<String>,
}

impl AdjustmentInput {
    /// Reads `{"period", "currency", "owner_id"?, "amount_minor", "note"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        use crate::kernel::validate::{text, Input, Validator};
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &["period", "currency", "owner_id", "amount_minor", "note"],
        );
        let period = input.string(&mut v, "period", true).and_then(|raw| {
            let kind = if raw.contains('Q') {
                Period::Quarter
            } else {
                Period::Month
            };
            v.take(kind.parse_key("period", raw))
        });
        let currency =
            super::fields::currency(&mut v, &input, "currency", true).map(|c| c.code().to_owned());
        let owner_id = super::fields::user(&mut v, &input, "owner_id", false);
        let amount_minor = super::fields::amount(&mut v, &input, "amount_minor", true);
        let note = input
            .string(&mut v, "note", false)
            .and_then(|s| v.take(text("note", s, 1, 500)));
        v.finish()?;
        match (period, currency, amount_minor) {
            (Some(period), Some(currency), Some(amount_minor)) => Ok(Self {
                period,
                currency,
                owner_id,
                amount_minor,
                note,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "required",
                "period, currency and amount_minor are required",
            )),
        }
    }
}

/// What the forecast needs of a deal.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFigures {
    /// Credit shares (sum to 100).
    pub splits: Vec<Split>,
    /// ISO 4217.
    pub currency: String,
    /// Minor units.
    pub value_minor: i64,
    /// 0–100 now.
    pub probability: i64,
    /// Open: expected close; won: the day it was won; lost: ignored.
    pub date: Option<NaiveDate>,
    /// Won already.
    pub won: bool,
    /// Lost.
    pub lost: bool,
}

/// One row of the forecast.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForecastRow {
    /// `2027-03` or `2027-Q1`.
    pub period: String,
    /// ISO 4217.
    pub currency: String,
    /// The member credited; `None` in the total row.
    pub owner_id: Option<String>,
    /// Won in the period.
    pub won_minor: i64,
    /// Open deals expected in the period, weighted by probability.
    pub weighted_minor: i64,
    /// Won only.
    pub worst_case_minor: i64,
    /// Won plus open deals at 70 % or more.
    pub commit_minor: i64,
    /// Won plus every open deal.
    pub best_case_minor: i64,
    /// Open deals expected in the period.
    pub open_deals: i64,
}

/// The forecast of `periods` from `deals`: per (period, currency) a total row, then
/// a row per credited member; periods in order, members by id.
pub fn roll_up(deals: &[DealFigures], period: Period, periods: &[String]) -> Vec<ForecastRow> {
    type Key = (String, String, Option<String>);
    let mut rows: BTreeMap<Key, ForecastRow> = BTreeMap::new();
    for deal in deals.iter().filter(|d| !d.lost) {
        let Some(date) = deal.date else { continue };
        let key = period.key(date);
        if !periods.contains(&key) {
            continue;
        }
        let mut credit: Vec<(Option<String>, i64)> = vec![(None, 100)];
        credit.extend(
            deal.splits
                .iter()
                .map(|s| (Some(s.user_id.clone()), s.percent)),
        );
        for (owner, percent) in credit {
            let share = weighted(deal.value_minor, percent);
            let row = rows
                .entry((key.clone(), deal.currency.clone(), owner.clone()))
                .or_insert_with(|| ForecastRow {
                    period: key.clone(),
                    currency: deal.currency.clone(),
                    owner_id: owner.clone(),
                    ..ForecastRow::default()
                });
            if deal.won {
                row.won_minor += share;
                row.worst_case_minor += share;
                row.commit_minor += share;
                row.best_case_minor += share;
            } else {
                row.weighted_minor += weighted(share, deal.probability);
                row.best_case_minor += share;
                if deal.probability >= COMMIT_PERCENT {
                    row.commit_minor += share;
                }
                row.open_deals += 1;
            }
        }
    }
    let order = |p: &String| periods.iter().position(|x| x == p).unwrap_or(usize::MAX);
    let mut out: Vec<ForecastRow> = rows.into_values().collect();
    out.sort_by(|a, b| {
        order(&a.period)
            .cmp(&order(&b.period))
            .then_with(|| a.currency.cmp(&b.currency))
            .then_with(|| a.owner_id.is_some().cmp(&b.owner_id.is_some()))
            .then_with(|| a.owner_id.cmp(&b.owner_id))
    });
    out
}

/// A closed deal as the model learns from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it looked as it closed.
    pub snapshot: CloseSnapshot,
    /// Won (`true`) or lost.
    pub won: bool,
    /// Unix ms it closed: the newest are held out.
    pub closed_at: i64,
}

/// The features a model was fitted on: the stages and sources it saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpace {
    /// Stage ids, one indicator each.
    pub stages: Vec<String>,
    /// Sources, one indicator each.
    pub sources: Vec<String>,
}

impl FeatureSpace {
    fn of(outcomes: &[Outcome]) -> Self {
        let mut stages: Vec<String> = outcomes
            .iter()
            .map(|o| o.snapshot.stage_id.clone())
            .collect();
        stages.sort_unstable();
        stages.dedup();
        let mut sources: Vec<String> = outcomes
            .iter()
            .filter_map(|o| o.snapshot.source.clone())
            .collect();
        sources.sort_unstable();
        sources.dedup();
        Self { stages, sources }
    }

    /// Feature names, in row order.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![
            "stage_probability".to_owned(),
            "days_in_stage".to_owned(),
            "idle_days".to_owned(),
            "value".to_owned(),
        ];
        names.extend(self.stages.iter().map(|s| format!("stage={s}")));
        names.extend(self.sources.iter().map(|s| format!("source={s}")));
        names
    }

    /// The row of `snapshot`.
    pub fn row(&self, s: &CloseSnapshot) -> Vec<f64> {
        let mut row = vec![
            s.stage_probability as f64 / 100.0,
            s.days_in_stage.max(0.0).ln_1p(),
            s.idle_days.max(0.0).ln_1p(),
            (s.value_minor.max(0) as f64).ln_1p(),
        ];
        row.extend(
            self.stages
                .iter()
                .map(|id| f64::from(u8::from(*id == s.stage_id))),
        );
        row.extend(
            self.sources
                .iter()
                .map(|src| f64::from(u8::from(s.source.as_deref() == Some(src.as_str())))),
        );
        row
    }
}

/// How a win model was measured on the newest outcomes it was not fitted on,
/// beside the stage probabilities on the same deals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Outcomes held out.
    pub holdout: usize,
    /// The model's ROC AUC on them.
    pub auc: Option<f64>,
    /// The model's Brier score on them.
    pub brier: Option<f64>,
    /// The stage probabilities' AUC on them.
    pub baseline_auc: Option<f64>,
    /// The stage probabilities' Brier score on them.
    pub baseline_brier: Option<f64>,
}

/// The firm's win model: learnt when it has enough history, else the stage
/// probabilities (the stated prior).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinModel {
    /// Closed deals it knew of.
    pub outcomes: usize,
    /// Of which won.
    pub won: usize,
    /// The fitted model, when there was enough history.
    pub model: Option<Model>,
    /// Its features.
    pub space: FeatureSpace,
    /// Its measure on held-out history.
    pub accuracy: Accuracy,
    /// Median days from entering a stage to winning, per stage id, over won deals.
    pub days_to_win: BTreeMap<String, f64>,
    /// The same over every won deal.
    pub overall_days_to_win: Option<f64>,
}

/// A deal's chance and expected close as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// 0–100.
    pub probability: i64,
    /// `model` or `stage` (not enough history yet).
    pub basis: &'static str,
    /// The three features that moved it most (model only).
    pub reasons: Vec<Contribution>,
    /// Unix ms it is likely to be won by, from how long won deals took from its stage.
    pub likely_close_at: Option<i64>,
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let at = |i: usize| values.get(i).copied().unwrap_or_default();
    Some(if values.len().is_multiple_of(2) {
        (at(mid - 1) + at(mid)) / 2.0
    } else {
        at(mid)
    })
}

impl WinModel {
    /// Learns from `outcomes` (any order): measured on the newest 20 % after fitting
    /// on the rest, then fitted on all of them to serve.
    pub fn train(outcomes: &[Outcome]) -> Self {
        let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
        sorted.sort_by_key(|o| o.closed_at);
        let won = sorted.iter().filter(|o| o.won).count();
        let rarer = won.min(sorted.len() - won);
        let mut by_stage: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for o in sorted.iter().filter(|o| o.won) {
            by_stage
                .entry(o.snapshot.stage_id.clone())
                .or_default()
                .push(o.snapshot.days_in_stage);
        }
        let overall_days_to_win = median(by_stage.values().flatten().copied().collect());
        let days_to_win = by_stage
            .into_iter()
            .filter(|(_, days)| days.len() >= 5)
            .filter_map(|(stage, days)| median(days).map(|m| (stage, m)))
            .collect();
        let mut trained = Self {
            outcomes: sorted.len(),
            won,
            model: None,
            space: FeatureSpace::default(),
            accuracy: Accuracy::default(),
            days_to_win,
            overall_days_to_win,
        };
        if sorted.len() < MIN_OUTCOMES || rarer < MIN_RARER {
            return trained;
        }
        let owned: Vec<Outcome> = sorted.iter().map(|o| (*o).clone()).collect();
        let cut = owned.len() - owned.len() * HOLDOUT_PERCENT / 100;
        let (fit_on, held) = owned.split_at(cut);
        let space = FeatureSpace::of(fit_on);
        let model = fit(&space, fit_on);
        let truth: Vec<bool> = held.iter().map(|o| o.won).collect();
        let predicted: Vec<f64> = held
            .iter()
            .map(|o| model.probability(&space.row(&o.snapshot)))
            .collect();
        let baseline: Vec<f64> = held
            .iter()
            .map(|o| o.snapshot.stage_probability as f64 / 100.0)
            .collect();
        trained.accuracy = Accuracy {
            holdout: held.len(),
            auc: metrics::auc(&predicted, &truth),
            brier: metrics::brier(&predicted, &truth),
            baseline_auc: metrics::auc(&baseline, &truth),
            baseline_brier: metrics::brier(&baseline, &truth),
        };
        let space = FeatureSpace::of(&owned);
        trained.model = Some(fit(&space, &owned));
        trained.space = space;
        trained
    }

    /// The chance and likely close of an open deal that looks like `now` (its
    /// current stage, time in it, idleness, value, source), entered its stage at
    /// `stage_entered_at`.
    pub fn predict(&self, now: &CloseSnapshot, stage_entered_at: i64, now_ms: i64) -> Prediction {
        let days = self
            .days_to_win
            .get(&now.stage_id)
            .copied()
            .or(self.overall_days_to_win);
        let likely_close_at =
            days.map(|d| (stage_entered_at + (d * DAY_MS as f64) as i64).max(now_ms + DAY_MS));
        match &self.model {
            Some(model) => {
                let row = self.space.row(now);
                Prediction {
                    probability: (model.probability(&row) * 100.0).round() as i64,
                    basis: "model",
                    reasons: model.reasons(&row, 3),
                    likely_close_at,
                }
            }
            None => Prediction {
                probability: now.stage_probability,
                basis: "stage",
                reasons: Vec::new(),
                likely_close_at,
            },
        }
    }
}

/// A feature's name in words: `stage=stg_…` by the stage's name (`stage_name`
/// looks it up), `source=referral` as the source.
pub fn label(feature: &str, stage_name: impl Fn(&str) -> Option<String>) -> String {
    if let Some(id) = feature.strip_prefix("stage=") {
        return format!(
            "In stage {}",
            stage_name(id).unwrap_or_else(|| id.to_owned())
        );
    }
    if let Some(source) = feature.strip_prefix("source=") {
        return format!("Came from {}", source.replace('_', " "));
    }
    match feature {
        "stage_probability" => "The stage's probability",
        "days_in_stage" => "Time in the stage",
        "idle_days" => "Time since the last activity",
        "value" => "The deal's value",
        other => other,
    }
    .to_owned()
}

impl WinModel {
    /// The chance and likely close of `deal` in `stage` at `now`: a closed deal is
    /// certain (100 won, 0 lost, closed when it closed); an open one is predicted
    /// from how it looks now.
    pub fn predict_deal(&self, deal: &Deal, stage: &Stage, now_ms: i64) -> Prediction {
        match deal.status {
            DealStatus::Open => {
                self.predict(&deal.snapshot(stage, now_ms), deal.stage_entered_at, now_ms)
            }
            closed => Prediction {
                probability: if closed == DealStatus::Won { 100 } else { 0 },
                basis: "stage",
                reasons: Vec::new(),
                likely_close_at: deal.closed_at,
            },
        }
    }
}

fn fit(space: &FeatureSpace, outcomes: &[Outcome]) -> Model {
    let names = space.names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let rows: Vec<Vec<f64>> = outcomes.iter().map(|o| space.row(&o.snapshot)).collect();
    let truth: Vec<bool> = outcomes.iter().map(|o| o.won).collect();
    Model::fit(&names, &rows, &truth)
}

/// A history of `n` closed deals with a known signal, for tests and the bench:
/// whether a deal is won depends mostly on how idle it was and where it came from,
/// and only a little on the stage it closed from; the stage probabilities are the
/// firm's guesses. Deterministic in `seed`.
pub fn generated_history(n: usize, seed: u64) -> Vec<Outcome> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let stages = [("stg_a", 10), ("stg_b", 30), ("stg_c", 60), ("stg_d", 80)];
    let sources = ["referral", "website", "cold_outreach", "event"];
    (0..n)
        .map(|i| {
            let pick = (next() * 4.0) as usize;
            let (stage, probability) = stages.get(pick).copied().unwrap_or(("stg_a", 10));
            let source = sources
                .get((next() * 4.0) as usize)
                .copied()
                .unwrap_or("website");
            let idle = next() * 40.0;
            let days_in_stage = next() * 60.0;
            let value = (1_000.0 + next() * 99_000.0) as i64 * 100;
            let logit = 0.3 * pick as f64 - 0.12 * idle
                + match source {
                    "referral" => 1.5,
                    "cold_outreach" => -1.2,
                    _ => 0.0,
                }
                + 1.2;
            let won = next() < 1.0 / (1.0 + (-logit).exp());
            Outcome {
                snapshot: CloseSnapshot {
                    stage_id: stage.to_owned(),
                    stage_probability: probability,
                    days_in_stage,
                    idle_days: idle,
                    value_minor: value,
                    source: Some(source.to_owned()),
                },
                won,
                closed_at: 1_700_000_000_000 + i as i64 * 3_600_000,
            }
        })
        .collect()
}

/// What the forecast said of a period on a day of it (the daily sweep keeps one
/// per firm, period and currency each day; the first of a period is what the
/// period was expected to bring when it began).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `2027-03` or `2027-Q1`.
    pub period: String,
    /// ISO 4217.
    pub currency: String,
    /// The day it was taken (`YYYY-MM-DD`, the firm's zone).
    pub taken_on: String,
    /// Won by then.
    pub won_minor: i64,
    /// Open deals expected in the period, weighted.
    pub weighted_minor: i64,
    /// Won plus open deals at 70 % or more.
    pub commit_minor: i64,
    /// Won plus every open deal.
    pub best_case_minor: i64,
}

/// A past (or the running) period: what was expected when it began against what
/// was won.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodAccuracy {
    /// The period.
    pub period: String,
    /// ISO 4217.
    pub currency: String,
    /// Whether the period is over.
    pub complete: bool,
    /// The day the forecast compared was taken; `None` when none was kept.
    pub forecast_taken_on: Option<String>,
    /// Won plus weighted open deals, as forecast then.
    pub expected_minor: Option<i64>,
    /// The commit figure then.
    pub commit_minor: Option<i64>,
    /// The best case then.
    pub best_case_minor: Option<i64>,
    /// Won in the period.
    pub actual_minor: i64,
    /// Actual minus expected.
    pub error_minor: Option<i64>,
    /// The error as a percentage of the expected (one decimal); `None` when
    /// nothing was expected.
    pub error_percent: Option<f64>,
}

/// Compares `actual` (the total rows of the periods `keys`) with the first
/// `snapshots` of each period and currency; `current` is the running period.
pub fn accuracy(
    actual: &[ForecastRow],
    snapshots: &[Snapshot],
    keys: &[String],
    current: &str,
) -> Vec<PeriodAccuracy> {
    let mut first: BTreeMap<(&str, &str), &Snapshot> = BTreeMap::new();
    for s in snapshots {
        let slot = first
            .entry((s.period.as_str(), s.currency.as_str()))
            .or_insert(s);
        if s.taken_on < slot.taken_on {
            *slot = s;
        }
    }
    let mut pairs: Vec<(&str, &str)> = actual
        .iter()
        .filter(|r| r.owner_id.is_none())
        .map(|r| (r.period.as_str(), r.currency.as_str()))
        .chain(first.keys().copied())
        .filter(|(p, _)| keys.iter().any(|k| k == p))
        .collect();
    pairs.sort_by_key(|(p, c)| (keys.iter().position(|k| k == p), *c));
    pairs.dedup();
    pairs
        .into_iter()
        .map(|(period, currency)| {
            let won = actual
                .iter()
                .find(|r| r.owner_id.is_none() && r.period == period && r.currency == currency)
                .map_or(0, |r| r.won_minor);
            let then = first.get(&(period, currency));
            let expected = then.map(|s| s.won_minor + s.weighted_minor);
            PeriodAccuracy {
                period: period.to_owned(),
                currency: currency.to_owned(),
                complete: period < current,
                forecast_taken_on: then.map(|s| s.taken_on.clone()),
                expected_minor: expected,
                commit_minor: then.map(|s| s.commit_minor),
                best_case_minor: then.map(|s| s.best_case_minor),
                actual_minor: won,
                error_minor: expected.map(|e| won - e),
                error_percent: expected
                    .filter(|e| *e != 0)
                    .map(|e| ((won - e) as f64 / e as f64 * 1000.0).round() / 10.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn deal(owner_splits: &[(&str, i64)], value: i64, p: i64, day: &str, won: bool) -> DealFigures {
        DealFigures {
            splits: owner_splits
                .iter()
                .map(|(u, pc)| Split {
                    user_id: (*u).into(),
                    percent: *pc,
                })
                .collect(),
            currency: "USD".into(),
            value_minor: value,
            probability: p,
            date: Some(date(day)),
            won,
            lost: false,
        }
    }

    #[test]
    fn periods_are_named_and_stepped() {
        assert_eq!(Period::Quarter.key(date("2027-11-30")), "2027-Q4");
        assert_eq!(
            Period::Month.keys(date("2026-11-15"), 3),
            vec!["2026-11", "2026-12", "2027-01"]
        );
        assert_eq!(
            Period::Quarter.keys(date("2026-11-15"), 2),
            vec!["2026-Q4", "2027-Q1"]
        );
        assert!(Period::Quarter.parse_key("p", "2027-Q5").is_err());
        assert!(Period::Month.parse_key("p", "2027-13").is_err());
        assert!(Period::Month.parse_key("p", "2027-12").is_ok());
    }

    #[test]
    fn the_forecast_weights_open_deals_and_credits_splits() {
        let periods = Period::Month.keys(date("2027-01-01"), 2);
        let deals = vec![
            deal(&[("usr_a", 100)], 10_000, 50, "2027-01-10", false),
            deal(
                &[("usr_a", 60), ("usr_b", 40)],
                20_000,
                80,
                "2027-01-20",
                false,
            ),
            deal(&[("usr_b", 100)], 5_000, 100, "2027-01-05", true),
            deal(&[("usr_a", 100)], 7_000, 30, "2027-03-01", false), // outside
        ];
        let rows = roll_up(&deals, Period::Month, &periods);
        let total = &rows[0];
        assert_eq!(total.owner_id, None);
        assert_eq!(total.won_minor, 5_000);
        assert_eq!(total.weighted_minor, 5_000 + 16_000);
        assert_eq!(total.worst_case_minor, 5_000);
        assert_eq!(total.commit_minor, 25_000);
        assert_eq!(total.best_case_minor, 35_000);
        assert_eq!(total.open_deals, 2);
        let a = rows
            .iter()
            .find(|r| r.owner_id.as_deref() == Some("usr_a"))
            .unwrap();
        assert_eq!(a.weighted_minor, 5_000 + 9_600);
        let b = rows
            .iter()
            .find(|r| r.owner_id.as_deref() == Some("usr_b"))
            .unwrap();
        assert_eq!(b.won_minor + b.weighted_minor, 5_000 + 6_400);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn the_model_beats_the_stage_probabilities_on_a_known_signal() {
        let history = generated_history(5_000, 11);
        let model = WinModel::train(&history);
        let a = &model.accuracy;
        assert_eq!(a.holdout, 1_000);
        let (auc, base) = (a.auc.unwrap(), a.baseline_auc.unwrap());
        assert!(auc > base + 0.1, "model {auc} vs stages {base}");
        assert!(a.brier.unwrap() < a.baseline_brier.unwrap());
        let idle = CloseSnapshot {
            stage_id: "stg_b".into(),
            stage_probability: 30,
            days_in_stage: 5.0,
            idle_days: 35.0,
            value_minor: 100_000,
            source: Some("cold_outreach".into()),
        };
        let busy = CloseSnapshot {
            idle_days: 1.0,
            source: Some("referral".into()),
            ..idle.clone()
        };
        let p_idle = model.predict(&idle, 0, 0);
        let p_busy = model.predict(&busy, 0, 0);
        assert_eq!(p_busy.basis, "model");
        assert!(
            p_busy.probability > p_idle.probability + 30,
            "{p_busy:?} {p_idle:?}"
        );
        assert!(
            p_idle
                .reasons
                .iter()
                .any(|r| r.feature == "idle_days" && r.effect < 0.0),
            "{:?}",
            p_idle.reasons
        );
    }

    #[test]
    fn too_little_history_keeps_the_stage_probability() {
        let model = WinModel::train(&generated_history(150, 3));
        assert!(model.model.is_none());
        let s = CloseSnapshot {
            stage_id: "stg_c".into(),
            stage_probability: 60,
            ..CloseSnapshot::default()
        };
        let p = model.predict(&s, 0, 0);
        assert_eq!((p.probability, p.basis), (60, "stage"));
        assert!(p.likely_close_at.is_some());
    }

    #[test]
    fn periods_start_where_they_start() {
        let feb = NaiveDate::from_ymd_opt(2027, 2, 14).unwrap();
        assert_eq!(
            Period::Quarter.start(feb),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(
            Period::Quarter.span(feb, 2),
            (
                NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()
            )
        );
        assert_eq!(
            Period::Month.back(feb, 3),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(
            Period::Quarter.keys(Period::Quarter.back(feb, 1), 2),
            vec!["2026-Q4", "2027-Q1"]
        );
    }

    #[test]
    fn accuracy_compares_the_first_forecast_of_a_period_with_what_was_won() {
        let snap = |period: &str, taken_on: &str, won, weighted| Snapshot {
            period: period.into(),
            currency: "EUR".into(),
            taken_on: taken_on.into(),
            won_minor: won,
            weighted_minor: weighted,
            commit_minor: won + weighted / 2,
            best_case_minor: won + weighted * 2,
        };
        let row = |period: &str, won| ForecastRow {
            period: period.into(),
            currency: "EUR".into(),
            won_minor: won,
            ..Default::default()
        };
        let keys = vec![
            "2027-01".to_owned(),
            "2027-02".to_owned(),
            "2027-03".to_owned(),
        ];
        let rows = accuracy(
            &[
                row("2027-01", 1_200),
                row("2027-02", 0),
                row("2027-03", 300),
            ],
            &[
                snap("2027-01", "2027-01-09", 0, 900),
                snap("2027-01", "2027-01-01", 0, 1_000),
                snap("2027-03", "2027-03-01", 0, 600),
            ],
            &keys,
            "2027-03",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].forecast_taken_on.as_deref(),
            Some("2027-01-01"),
            "the first"
        );
        assert_eq!(
            (rows[0].expected_minor, rows[0].error_minor),
            (Some(1_000), Some(200))
        );
        assert_eq!(rows[0].error_percent, Some(20.0));
        assert!(rows[0].complete);
        assert_eq!(
            (rows[1].expected_minor, rows[1].error_percent),
            (None, None),
            "none was kept"
        );
        assert!(!rows[2].complete, "the running period");
        assert_eq!(rows[2].error_percent, Some(-50.0));
    }
}
