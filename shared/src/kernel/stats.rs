//! Small statistics for dashboards: nearest-rank percentiles over samples.

/// The `q`-th percentile (0–100) of `samples` by the nearest-rank method, or `None`
/// when there are none. `samples` need not be sorted.
pub fn percentile(samples: &[i64], q: f64) -> Option<i64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

/// p50 and p95 of `samples`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Spread {
    /// Median.
    pub p50: Option<i64>,
    /// 95th percentile.
    pub p95: Option<i64>,
}

impl Spread {
    /// The spread of `samples`.
    pub fn of(samples: &[i64]) -> Self {
        Self {
            p50: percentile(samples, 50.0),
            p95: percentile(samples, 95.0),
        }
    }
}

/// The window a dashboard looks back over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
}

impl Window {
    /// Both windows.
    pub const ALL: [Window; 2] = [Window::Day, Window::Week];

    /// Parses `24h` or `7d` (absent: `24h`).
    pub fn parse(field: &str, raw: Option<&str>) -> crate::kernel::error::DomainResult<Self> {
        match raw.unwrap_or("24h") {
            "24h" => Ok(Window::Day),
            "7d" => Ok(Window::Week),
            _ => Err(crate::kernel::error::DomainError::invalid(
                field,
                "enum",
                format!("{field} must be one of: 24h, 7d"),
            )),
        }
    }

    /// Its wire name.
    pub fn name(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
        }
    }

    /// Its length, ms.
    pub fn millis(self) -> i64 {
        match self {
            Window::Day => 86_400_000,
            Window::Week => 7 * 86_400_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // The worked example of the nearest-rank method: 15, 20, 35, 40, 50.
        let s = [40, 15, 35, 20, 50];
        assert_eq!(percentile(&s, 30.0), Some(20));
        assert_eq!(percentile(&s, 40.0), Some(20));
        assert_eq!(percentile(&s, 50.0), Some(35));
        assert_eq!(percentile(&s, 100.0), Some(50));
        assert_eq!(percentile(&[], 50.0), None);
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(
            Spread::of(&hundred),
            Spread {
                p50: Some(50),
                p95: Some(95)
            }
        );
    }
}
