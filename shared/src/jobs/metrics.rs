//! The firm's job dashboard: per category, what waits and runs now, what finished
//! in the window, how long jobs waited from due to start and ran (p50/p95), the
//! oldest due job's age, retries, and SLA breaches; dead-letter inflow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Category;
use crate::kernel::error::DomainResult;
use crate::kernel::sql::{query_as, Sql};
use crate::kernel::stats::Spread;
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// Most samples a percentile is computed over (the newest).
const MAX_SAMPLES: i64 = 10_000;

pub use crate::kernel::stats::Window;

/// One category's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CategoryMetrics {
    /// Waiting to run now.
    pub queued: i64,
    /// Running now.
    pub running: i64,
    /// Completed in the window.
    pub completed: i64,
    /// Dead-lettered or failed in the window.
    pub failed: i64,
    /// Cancelled in the window.
    pub cancelled: i64,
    /// Completed ÷ (completed + failed) in the window, when any finished.
    pub success_rate: Option<f64>,
    /// From due to first start, ms, for jobs started in the window.
    pub wait_ms: Spread,
    /// Attempt run time, ms, for attempts finished in the window.
    pub run_ms: Spread,
    /// Retries (attempts past the first) per job started in the window.
    pub retries_per_job: Option<f64>,
    /// Age of the oldest due job still waiting, ms.
    pub oldest_due_ms: Option<i64>,
    /// Jobs found waiting past their SLA in the window.
    pub sla_breaches: i64,
}

/// The firm's dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// `24h` or `7d`.
    pub window: &'static str,
    /// Per category (every category, zero when idle).
    pub categories: BTreeMap<&'static str, CategoryMetrics>,
    /// Dead letters waiting for review now.
    pub dead_letters_open: i64,
    /// Dead letters filed in the window.
    pub dead_letter_inflow: i64,
    /// SLA breaches in the window, all categories.
    pub sla_breaches: i64,
}

/// Computes the firm's dashboard at `now` over `window`.
pub async fn compute(
    db: &impl Sql,
    scope: &TenantScope,
    window: Window,
    now: Instant,
) -> DomainResult<Metrics> {
    let since = now.millis() - window.millis();
    let firm = scope.firm_id();
    #[derive(Deserialize)]
    struct Count {
        category: Category,
        status: String,
        n: i64,
        breaches: i64,
        oldest_due: Option<i64>,
    }
    let counts: Vec<Count> = query_as(
        db,
        stmt!(
            "SELECT category, status, COUNT(*) AS n,
                    SUM(CASE WHEN sla_breached_at >= ?2 THEN 1 ELSE 0 END) AS breaches,
                    MIN(CASE WHEN status = 'pending' AND due_at <= ?3 THEN due_at END) AS oldest_due
               FROM jobs WHERE firm_id = ?1 AND (status IN ('pending', 'processing') OR completed_at >= ?2 OR sla_breached_at >= ?2)
              GROUP BY category, status",
            firm,
            since,
            now.millis()
        ),
    )
    .await?;
    #[derive(Deserialize)]
    struct Sample {
        category: Category,
        value: i64,
    }
    let waits: Vec<Sample> = query_as(
        db,
        stmt!(
            "SELECT category, MAX(started_at - scheduled_at, 0) AS value FROM jobs
              WHERE firm_id = ?1 AND started_at >= ?2 ORDER BY started_at DESC LIMIT ?3",
            firm,
            since,
            MAX_SAMPLES
        ),
    )
    .await?;
    let runs: Vec<Sample> = query_as(
        db,
        stmt!(
            "SELECT j.category AS category, a.duration_ms AS value FROM jobs_attempts a JOIN jobs j ON j.id = a.job_id
              WHERE a.firm_id = ?1 AND a.finished_at >= ?2 AND a.duration_ms IS NOT NULL
              ORDER BY a.finished_at DESC LIMIT ?3",
            firm,
            since,
            MAX_SAMPLES
        ),
    )
    .await?;
    let retries: Vec<Sample> = query_as(
        db,
        stmt!(
            "SELECT category, MAX(attempt_count - 1, 0) AS value FROM jobs
              WHERE firm_id = ?1 AND started_at >= ?2 ORDER BY started_at DESC LIMIT ?3",
            firm,
            since,
            MAX_SAMPLES
        ),
    )
    .await?;
    #[derive(Deserialize)]
    struct Letters {
        open: i64,
        inflow: i64,
    }
    let letters: Vec<Letters> = query_as(
        db,
        stmt!(
            "SELECT COALESCE(SUM(CASE WHEN status = 'pending_review' THEN 1 ELSE 0 END), 0) AS open,
                    COALESCE(SUM(CASE WHEN created_at >= ?2 THEN 1 ELSE 0 END), 0) AS inflow
               FROM jobs_dead_letters WHERE firm_id = ?1",
            firm,
            since
        ),
    )
    .await?;

    let mut categories: BTreeMap<&'static str, CategoryMetrics> = Category::ALL
        .iter()
        .map(|c| (c.name(), CategoryMetrics::default()))
        .collect();
    let mut sla_breaches = 0;
    for c in counts {
        let Some(m) = categories.get_mut(c.category.name()) else {
            continue;
        };
        match c.status.as_str() {
            "pending" => {
                m.queued += c.n;
                m.oldest_due_ms = c.oldest_due.map(|d| now.millis() - d);
            }
            "processing" => m.running += c.n,
            "completed" => m.completed += c.n,
            "dlq" | "failed" => m.failed += c.n,
            "cancelled" => m.cancelled += c.n,
            _ => {}
        }
        m.sla_breaches += c.breaches;
        sla_breaches += c.breaches;
    }
    let group = |samples: &[Sample], category: Category| -> Vec<i64> {
        samples
            .iter()
            .filter(|s| s.category == category)
            .map(|s| s.value)
            .collect()
    };
    for category in Category::ALL {
        let Some(m) = categories.get_mut(category.name()) else {
            continue;
        };
        m.wait_ms = Spread::of(&group(&waits, *category));
        m.run_ms = Spread::of(&group(&runs, *category));
        let r = group(&retries, *category);
        m.retries_per_job = (!r.is_empty()).then(|| r.iter().sum::<i64>() as f64 / r.len() as f64);
        let finished = m.completed + m.failed;
        m.success_rate = (finished > 0).then(|| m.completed as f64 / finished as f64);
    }
    let letters = letters.into_iter().next();
    Ok(Metrics {
        window: window.name(),
        categories,
        dead_letters_open: letters.as_ref().map_or(0, |l| l.open),
        dead_letter_inflow: letters.as_ref().map_or(0, |l| l.inflow),
        sla_breaches,
    })
}
