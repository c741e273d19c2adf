//! When to try again after a failure. One type serves every retrying part of the
//! platform: event fan-out to modules, jobs and outbound webhooks each name their
//! schedule as data and ask it for the delay after attempt `n`.

/// A retry schedule: a fixed table of delays, or exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Delay (seconds) after the 1st, 2nd … failed attempt; the table's length plus
    /// one is the number of attempts. `jitter_from` is the smallest delay that gets
    /// ±10 % jitter (short delays stay exact).
    Table {
        /// Seconds to wait after each failed attempt, in order.
        delays: &'static [i64],
        /// Delays at or above this many seconds are jittered by ±10 %.
        jitter_from: i64,
    },
    /// `initial × coefficient^(n−1)` seconds, capped, times a uniform factor in
    /// `1 ± jitter`.
    Exponential {
        /// Seconds after the first failure.
        initial: i64,
        /// Growth per attempt.
        coefficient: i64,
        /// Longest wait, seconds.
        cap: i64,
        /// Relative jitter (0.2 = ±20 %).
        jitter: f64,
        /// Attempts in all.
        max_attempts: u32,
    },
}

impl Schedule {
    /// How many attempts the schedule allows in all.
    pub fn max_attempts(&self) -> u32 {
        match self {
            Schedule::Table { delays, .. } => u32::try_from(delays.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            Schedule::Exponential { max_attempts, .. } => *max_attempts,
        }
    }

    /// Seconds to wait after failed attempt number `attempt` (1-based), or `None` when
    /// that was the last one. `unit` is a uniform sample in [0, 1) for the jitter.
    pub fn delay_after(&self, attempt: u32, unit: f64) -> Option<i64> {
        if attempt == 0 || attempt >= self.max_attempts() {
            return None;
        }
        let unit = unit.clamp(0.0, 1.0);
        match self {
            Schedule::Table {
                delays,
                jitter_from,
            } => {
                let base = *delays.get(usize::try_from(attempt - 1).ok()?)?;
                if base >= *jitter_from && base > 0 {
                    Some(jittered(base, 0.1, unit))
                } else {
                    Some(base)
                }
            }
            Schedule::Exponential {
                initial,
                coefficient,
                cap,
                jitter,
                ..
            } => {
                let mut base = *initial;
                for _ in 1..attempt {
                    base = base.saturating_mul(*coefficient).min(*cap);
                }
                Some(jittered(base.min(*cap), *jitter, unit).min(*cap).max(1))
            }
        }
    }
}

/// Whether an HTTP status from a peer is worth another try: timeouts (408), too
/// early (425), rate limits (429) and server errors are; any other 4xx means the
/// request itself is wrong and will fail the same way again.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || status >= 500
}

/// `base × (1 − spread + 2·spread·unit)`, rounded to whole seconds.
fn jittered(base: i64, spread: f64, unit: f64) -> i64 {
    let factor = 1.0 - spread + 2.0 * spread * unit;
    (base as f64 * factor).round() as i64
}

/// A uniform sample in [0, 1) from the platform's random source (0.5 if it fails,
/// which only removes the jitter).
pub fn unit_sample() -> f64 {
    let mut bytes = [0u8; 4];
    if super::id::random_bytes(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: Schedule = Schedule::Table {
        delays: &[0, 5, 300, 1800],
        jitter_from: 300,
    };

    #[test]
    fn a_table_gives_its_delays_then_stops() {
        let cases: &[(u32, f64, Option<i64>)] = &[
            (0, 0.5, None),
            (1, 0.0, Some(0)),
            (2, 0.99, Some(5)),
            (3, 0.5, Some(300)),
            (3, 0.0, Some(270)),
            (3, 1.0, Some(330)),
            (4, 0.5, Some(1800)),
            (5, 0.5, None),
        ];
        for (attempt, unit, expected) in cases {
            assert_eq!(
                TABLE.delay_after(*attempt, *unit),
                *expected,
                "attempt {attempt}"
            );
        }
        assert_eq!(TABLE.max_attempts(), 5);
    }

    #[test]
    fn exponential_backoff_doubles_within_its_jitter_and_cap() {
        let s = Schedule::Exponential {
            initial: 2,
            coefficient: 2,
            cap: 300,
            jitter: 0.2,
            max_attempts: 12,
        };
        for (attempt, base) in [
            (1, 2),
            (2, 4),
            (3, 8),
            (4, 16),
            (8, 256),
            (9, 300),
            (11, 300),
        ] {
            let low = s.delay_after(attempt, 0.0).unwrap();
            let high = s.delay_after(attempt, 1.0).unwrap();
            let mid = s.delay_after(attempt, 0.5).unwrap();
            assert_eq!(mid, base, "attempt {attempt}");
            assert!(
                low <= base && high >= base.min(300) && high <= 300,
                "attempt {attempt}"
            );
        }
        assert_eq!(s.delay_after(12, 0.5), None);
    }

    #[test]
    fn only_transient_statuses_retry() {
        for (status, retry) in [
            (400, false),
            (401, false),
            (404, false),
            (408, true),
            (410, false),
            (422, false),
            (425, true),
            (429, true),
            (500, true),
            (503, true),
        ] {
            assert_eq!(retryable_status(status), retry, "{status}");
        }
    }

    #[test]
    fn samples_are_in_the_unit_interval() {
        for _ in 0..100 {
            let u = unit_sample();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
