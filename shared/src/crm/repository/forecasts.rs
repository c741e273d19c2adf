//! The forecast's data in D1: deal figures by period, managers' adjustments, and
//! the firm's win model (trained from closed deals, kept a week).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::crm::deal::{CloseSnapshot, Split, DAY_MS};
use crate::crm::forecast::{DealFigures, ForecastRow, Outcome, Period, Snapshot, WinModel};
use crate::kernel::error::DomainResult;
use crate::kernel::sql::columns::json_typed;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// How long a trained model serves before it is trained again.
pub const MODEL_LIFETIME_MS: i64 = 7 * 86_400_000;
/// Closed deals a model learns from at most (the newest).
pub const MAX_OUTCOMES: i64 = 20_000;

#[derive(Deserialize)]
struct FigureRow {
    #[serde(deserialize_with = "json_typed")]
    splits: Vec<Split>,
    currency: String,
    value_minor: i64,
    probability: Option<i64>,
    stage_probability: i64,
    expected_close: Option<String>,
    closed_at: Option<i64>,
    status: String,
}

/// The figures of the deals that fall between `from` and `to` (inclusive dates):
/// open ones by expected close, won ones by the day they were won.
pub async fn figures(
    db: &impl Sql,
    scope: &TenantScope,
    pipeline_id: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<Vec<DealFigures>> {
    let start = from
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default();
    let end = to
        .and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc().timestamp_millis() + 999)
        .unwrap_or_default();
    let rows: Vec<FigureRow> = query_as(
        db,
        stmt!(
            "SELECT d.splits, d.currency, d.value_minor, d.probability, s.probability AS stage_probability,
                    d.expected_close, d.closed_at, d.status
               FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
              WHERE d.firm_id = ?1 AND (?2 IS NULL OR d.pipeline_id = ?2)
                AND ((d.status = 'open' AND d.expected_close BETWEEN ?3 AND ?4)
                  OR (d.status = 'won' AND d.closed_at BETWEEN ?5 AND ?6))",
            scope.firm_id(),
            pipeline_id,
            from.format("%Y-%m-%d").to_string(),
            to.format("%Y-%m-%d").to_string(),
            start,
            end
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let won = r.status == "won";
            let date = if won {
                r.closed_at
                    .and_then(|ms| Instant::from_millis(ms).to_chrono().date_naive().into())
            } else {
                r.expected_close
                    .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            };
            DealFigures {
                splits: r.splits,
                currency: r.currency,
                value_minor: r.value_minor,
                probability: if won {
                    100
                } else {
                    r.probability.unwrap_or(r.stage_probability)
                },
                date,
                won,
                lost: false,
            }
        })
        .collect())
}

/// A manager's figure beside a computed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The period.
    pub period: String,
    /// ISO 4217.
    pub currency: String,
    /// The member it is for; `None` for the whole firm.
    pub owner_id: Option<String>,
    /// The manager's figure.
    pub amount_minor: i64,
    /// Why.
    pub note: Option<String>,
    /// Who set it.
    pub set_by: String,
    /// Unix ms.
    pub set_at: i64,
}

/// The adjustments of `periods`.
pub async fn adjustments(
    db: &impl Sql,
    scope: &TenantScope,
    periods: &[String],
) -> DomainResult<Vec<Adjustment>> {
    let all: Vec<Adjustment> = query_as(
        db,
        stmt!(
            "SELECT period, currency, NULLIF(owner_id, '') AS owner_id, amount_minor, note, set_by, set_at
               FROM crm_forecast_adjustments WHERE firm_id = ?1 ORDER BY period, currency, owner_id",
            scope.firm_id()
        ),
    )
    .await?;
    Ok(all
        .into_iter()
        .filter(|a| periods.contains(&a.period))
        .collect())
}

/// Sets (or replaces) a manager's figure.
pub async fn adjust(db: &impl Sql, scope: &TenantScope, a: &Adjustment) -> DomainResult<()> {
    db.execute(stmt!(
        "INSERT INTO crm_forecast_adjustments (firm_id, period, currency, owner_id, amount_minor, note, set_by, set_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (firm_id, period, currency, owner_id) DO UPDATE SET amount_minor = ?5, note = ?6, set_by = ?7, set_at = ?8",
        scope.firm_id(),
        a.period.as_str(),
        a.currency.as_str(),
        a.owner_id.clone().unwrap_or_default(),
        a.amount_minor,
        a.note.clone(),
        a.set_by.as_str(),
        a.set_at
    ))
    .await?;
    Ok(())
}

/// A forecast row with the manager's figure beside it, when one was set.
#[derive(Debug, Clone, Serialize)]
pub struct AdjustedRow {
    /// The computed figures.
    #[serde(flatten)]
    pub row: ForecastRow,
    /// The manager's figure.
    pub adjustment: Option<Adjustment>,
}

/// The forecast of `count` periods from the one holding `from`.
pub async fn forecast(
    db: &impl Sql,
    scope: &TenantScope,
    period: Period,
    from: NaiveDate,
    count: u32,
    pipeline_id: Option<&str>,
) -> DomainResult<Vec<AdjustedRow>> {
    let keys = period.keys(from, count);
    // From the first day of the first period (a quarter asked from its second
    // month still counts its first).
    let (start, end) = period.span(from, count);
    let deals = figures(db, scope, pipeline_id, start, end).await?;
    let rows = crate::crm::forecast::roll_up(&deals, period, &keys);
    let adjustments = adjustments(db, scope, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let adjustment = adjustments
                .iter()
                .find(|a| {
                    a.period == row.period
                        && a.currency == row.currency
                        && a.owner_id == row.owner_id
                })
                .cloned();
            AdjustedRow { row, adjustment }
        })
        .collect())
}

#[derive(Deserialize)]
struct OutcomeRow {
    #[serde(deserialize_with = "json_typed")]
    close_snapshot: CloseSnapshot,
    status: String,
    closed_at: i64,
}

/// The firm's closed deals the model learns from (the newest 20,000).
pub async fn outcomes(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<Outcome>> {
    let rows: Vec<OutcomeRow> = query_as(
        db,
        stmt!(
            "SELECT close_snapshot, status, closed_at FROM crm_deals
              WHERE firm_id = ?1 AND status IN ('won', 'lost') AND close_snapshot IS NOT NULL AND closed_at IS NOT NULL
              ORDER BY closed_at DESC LIMIT ?2",
            scope.firm_id(),
            MAX_OUTCOMES
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Outcome {
            snapshot: r.close_snapshot,
            won: r.status == "won",
            closed_at: r.closed_at,
        })
        .collect())
}

/// A trained model and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trained {
    /// The model.
    pub model: WinModel,
    /// Unix ms.
    pub trained_at: i64,
}

/// Closed deals the firm has that a model can learn from.
async fn closed_count(db: &impl Sql, scope: &TenantScope) -> DomainResult<usize> {
    let rows = db
        .query(stmt!(
            "SELECT COUNT(*) AS n FROM crm_deals
              WHERE firm_id = ?1 AND status IN ('won', 'lost') AND close_snapshot IS NOT NULL AND closed_at IS NOT NULL",
            scope.firm_id()
        ))
        .await?;
    let n = rows
        .first()
        .and_then(|r| r.get("n"))
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    Ok(usize::try_from(n.min(MAX_OUTCOMES)).unwrap_or(0))
}

/// Whether a model trained on `trained` outcomes still stands when the firm has
/// `closed` now: while it is the stage prior, any new outcome may be the one that
/// lets it learn; a learnt model stands until the history grew by a tenth.
fn still_stands(trained: usize, closed: usize) -> bool {
    if trained < crate::crm::forecast::MIN_OUTCOMES {
        closed == trained
    } else {
        closed.saturating_sub(trained) * 10 < trained
    }
}

/// The firm's win model: the stored one while it is less than a week old and the
/// history has not moved on (see [`still_stands`]), unless `retrain`; else trained
/// now from the firm's closed deals and stored.
pub async fn win_model(
    db: &impl Sql,
    scope: &TenantScope,
    retrain: bool,
    now: Instant,
) -> DomainResult<Trained> {
    #[derive(Deserialize)]
    struct Stored {
        body: String,
        trained_at: i64,
    }
    if !retrain {
        let stored: Vec<Stored> = query_as(
            db,
            stmt!(
                "SELECT body, trained_at FROM crm_models WHERE firm_id = ?1 AND kind = 'win'",
                scope.firm_id()
            ),
        )
        .await?;
        if let Some(s) = stored
            .into_iter()
            .find(|s| now.millis() - s.trained_at < MODEL_LIFETIME_MS)
        {
            if let Ok(model) = serde_json::from_str::<WinModel>(&s.body) {
                if still_stands(model.outcomes, closed_count(db, scope).await?) {
                    return Ok(Trained {
                        model,
                        trained_at: s.trained_at,
                    });
                }
            }
        }
    }
    let model = WinModel::train(&outcomes(db, scope).await?);
    let body = serde_json::to_string(&model).unwrap_or_default();
    db.execute(stmt!(
        "INSERT INTO crm_models (firm_id, kind, body, trained_at) VALUES (?1, 'win', ?2, ?3)
         ON CONFLICT (firm_id, kind) DO UPDATE SET body = ?2, trained_at = ?3",
        scope.firm_id(),
        body,
        now.millis()
    ))
    .await?;
    Ok(Trained {
        model,
        trained_at: now.millis(),
    })
}

/// Keeps today's forecast of the running month and quarter for the firm (once a
/// day: a second call the same day changes nothing). Returns the rows kept.
pub async fn take_snapshot(
    db: &impl Sql,
    scope: &TenantScope,
    today: NaiveDate,
) -> DomainResult<usize> {
    let mut statements = Vec::new();
    for period in [Period::Month, Period::Quarter] {
        for row in forecast(db, scope, period, today, 1, None).await? {
            if row.row.owner_id.is_some() {
                continue;
            }
            statements.push(stmt!(
                "INSERT OR IGNORE INTO crm_forecast_snapshots (firm_id, period, currency, taken_on, won_minor,
                        weighted_minor, commit_minor, best_case_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                scope.firm_id(),
                row.row.period.as_str(),
                row.row.currency.as_str(),
                today.format("%Y-%m-%d").to_string(),
                row.row.won_minor,
                row.row.weighted_minor,
                row.row.commit_minor,
                row.row.best_case_minor
            ));
        }
    }
    let kept = statements.len();
    if kept > 0 {
        db.batch(statements).await?;
    }
    Ok(kept)
}

/// The daily sweep's snapshots: every firm with open deals or deals closed in the
/// last 100 days (at most 1,000 firms a day, oldest-first by id).
pub async fn snapshot_all(db: &impl Sql, now: Instant) -> DomainResult<usize> {
    #[derive(Deserialize)]
    struct Firm {
        id: String,
        timezone: String,
    }
    let recent = now.millis() - 100 * DAY_MS;
    let firms: Vec<Firm> = query_as(
        db,
        stmt!(
            "SELECT f.id, f.timezone FROM firm_firms f
              WHERE EXISTS (SELECT 1 FROM crm_deals d WHERE d.firm_id = f.id
                              AND (d.status = 'open' OR d.closed_at >= ?1))
              ORDER BY f.id LIMIT 1000",
            recent
        ),
    )
    .await?;
    let mut kept = 0;
    for firm in firms {
        let scope = TenantScope::new(&firm.id, None);
        kept += take_snapshot(db, &scope, super::day_in(&firm.timezone, now)).await?;
    }
    Ok(kept)
}

/// The last `count` periods up to the running one (their names, then a row per
/// period and currency): what each was expected to bring when it began against
/// what was won.
pub async fn accuracy(
    db: &impl Sql,
    scope: &TenantScope,
    period: Period,
    count: u32,
    today: NaiveDate,
) -> DomainResult<(Vec<String>, Vec<crate::crm::forecast::PeriodAccuracy>)> {
    let from = period.back(today, count.saturating_sub(1));
    let keys = period.keys(from, count);
    let rows: Vec<ForecastRow> = forecast(db, scope, period, from, count, None)
        .await?
        .into_iter()
        .map(|r| r.row)
        .collect();
    let mut params: Vec<crate::kernel::sql::Value> = vec![scope.firm_id().into()];
    params.extend(keys.iter().map(|k| k.as_str().into()));
    let marks: Vec<String> = (0..keys.len()).map(|i| format!("?{}", i + 2)).collect();
    let snapshots: Vec<Snapshot> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT period, currency, MIN(taken_on) AS taken_on, won_minor, weighted_minor, commit_minor, best_case_minor
                   FROM crm_forecast_snapshots WHERE firm_id = ?1 AND period IN ({})
                  GROUP BY period, currency",
                marks.join(", ")
            ),
            params,
        ),
    )
    .await?;
    let compared = crate::crm::forecast::accuracy(&rows, &snapshots, &keys, &period.key(today));
    Ok((keys, compared))
}

#[cfg(test)]
mod tests {
    use super::still_stands;

    #[test]
    fn a_prior_gives_way_to_any_new_outcome_and_a_model_to_a_tenth_more() {
        assert!(still_stands(12, 12));
        assert!(!still_stands(12, 13));
        assert!(still_stands(1_000, 1_099));
        assert!(!still_stands(1_000, 1_100));
    }
}
