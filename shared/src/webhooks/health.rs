//! Endpoint health for a dashboard: over the last 24 hours and 7 days, how many
//! attempts were made, the share that succeeded, and the latency p50/p95; the
//! current failure streak; the delivery backlog. Green from 95 % success, amber
//! from 80 %, red below (Svix's and the original's thresholds).

use serde::{Deserialize, Serialize};

use super::endpoint::Row;
use crate::kernel::error::DomainResult;
use crate::kernel::sql::{query_as, Sql};
use crate::kernel::stats::{Spread, Window};
use crate::kernel::time::Instant;
use crate::stmt;

/// Most attempts a percentile is computed over (the newest).
const MAX_SAMPLES: i64 = 10_000;

/// One window's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowHealth {
    /// `24h` or `7d`.
    pub window: &'static str,
    /// Attempts made.
    pub attempts: i64,
    /// Of which succeeded.
    pub succeeded: i64,
    /// Succeeded ÷ attempts × 100, one decimal; `None` without attempts.
    pub success_rate: Option<f64>,
    /// `green` (≥ 95 %), `amber` (≥ 80 %), `red`; `none` without attempts.
    pub rating: &'static str,
    /// Latency of the attempts, ms.
    pub latency_ms: Spread,
}

/// An endpoint's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// The endpoint.
    pub endpoint_id: String,
    /// Its status.
    pub status: super::EndpointStatus,
    /// First failure after the last success (Unix ms).
    pub failing_since: Option<i64>,
    /// Deliveries waiting for an attempt.
    pub backlog: i64,
    /// The last 24 hours, then the last 7 days.
    pub windows: Vec<WindowHealth>,
}

/// The rating of a success rate.
pub fn rating(rate: Option<f64>) -> &'static str {
    match rate {
        None => "none",
        Some(r) if r >= 95.0 => "green",
        Some(r) if r >= 80.0 => "amber",
        Some(_) => "red",
    }
}

/// The numbers of `samples` (duration, succeeded) in `window`.
pub fn summarise(window: Window, samples: &[(i64, bool)]) -> WindowHealth {
    let attempts = i64::try_from(samples.len()).unwrap_or(i64::MAX);
    let succeeded = i64::try_from(samples.iter().filter(|(_, ok)| *ok).count()).unwrap_or(0);
    let success_rate =
        (attempts > 0).then(|| ((succeeded as f64 / attempts as f64) * 1_000.0).round() / 10.0);
    let durations: Vec<i64> = samples.iter().map(|(d, _)| *d).collect();
    WindowHealth {
        window: window.name(),
        attempts,
        succeeded,
        success_rate,
        rating: rating(success_rate),
        latency_ms: Spread::of(&durations),
    }
}

/// The health of `endpoint` at `now`.
pub async fn of(db: &impl Sql, endpoint: &Row, now: Instant) -> DomainResult<Health> {
    #[derive(Deserialize)]
    struct Sample {
        started_at: i64,
        duration_ms: i64,
        succeeded: i64,
    }
    let samples: Vec<Sample> = query_as(
        db,
        stmt!(
            "SELECT started_at, duration_ms, succeeded FROM webhooks_attempts
              WHERE endpoint_id = ?1 AND firm_id = ?2 AND started_at >= ?3
              ORDER BY started_at DESC LIMIT ?4",
            endpoint.id.as_str(),
            endpoint.firm_id.as_str(),
            now.millis() - Window::Week.millis(),
            MAX_SAMPLES
        ),
    )
    .await?;
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let backlog: Vec<Count> = query_as(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM webhooks_deliveries WHERE endpoint_id = ?1 AND status IN ('pending', 'retrying', 'sending')",
            endpoint.id.as_str()
        ),
    )
    .await?;
    let windows = [Window::Day, Window::Week]
        .into_iter()
        .map(|w| {
            let from = now.millis() - w.millis();
            let inside: Vec<(i64, bool)> = samples
                .iter()
                .filter(|s| s.started_at >= from)
                .map(|s| (s.duration_ms, s.succeeded != 0))
                .collect();
            summarise(w, &inside)
        })
        .collect();
    Ok(Health {
        endpoint_id: endpoint.id.clone(),
        status: endpoint.status,
        failing_since: endpoint.failing_since,
        backlog: backlog.first().map_or(0, |c| c.n),
        windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_follow_the_thresholds() {
        let mut samples = vec![(100, true); 19];
        samples.push((900, false));
        let h = summarise(Window::Day, &samples);
        assert_eq!((h.attempts, h.succeeded), (20, 19));
        assert_eq!(h.success_rate, Some(95.0));
        assert_eq!(h.rating, "green");
        assert_eq!(h.latency_ms.p50, Some(100));
        assert_eq!(h.latency_ms.p95, Some(100));
        samples.push((900, false));
        assert_eq!(summarise(Window::Day, &samples).rating, "amber");
        assert_eq!(summarise(Window::Day, &[(1, false)]).rating, "red");
        assert_eq!(summarise(Window::Week, &[]).rating, "none");
    }
}
