//! Instants are UTC; anything a person schedules carries an IANA zone name.

use chrono::{DateTime, SecondsFormat, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::error::DomainError;

/// A point in time, UTC, millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(i64);

impl Instant {
    /// From Unix milliseconds (what the runtime's clock gives).
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Unix milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Unix seconds, rounded down.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant plus `ms` milliseconds.
    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// As a chrono value.
    pub fn to_chrono(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// RFC 3339 text with millisecond precision and a `Z` suffix: the storage form.
    pub fn to_rfc3339(self) -> String {
        self.to_chrono()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Parses RFC 3339 text with any offset.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| Self(t.timestamp_millis()))
            .map_err(|_| {
                DomainError::invalid(
                    field,
                    "format",
                    format!("{field} must be an RFC 3339 date-time like 2026-01-31T09:00:00Z"),
                )
            })
    }
}

/// An IANA time zone name, checked against the tz database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    /// Parses an IANA name such as `Europe/Paris`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        raw.trim().parse::<Tz>().map(Self).map_err(|_| {
            DomainError::invalid(
                field,
                "timezone",
                format!("{field} must be an IANA time zone such as America/New_York"),
            )
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The zone for date arithmetic.
    pub fn tz(self) -> Tz {
        self.0
    }
}

/// Whether a tick at `now` does the day's work: the platform clock ticks every
/// minute, and the first minute of each UTC day is the daily one.
pub fn is_daily_tick(now: Instant) -> bool {
    now.millis().rem_euclid(86_400_000) < 60_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Offset;

    #[test]
    fn instants_round_trip_through_rfc3339() {
        let t = Instant::from_millis(1_764_000_000_123);
        assert_eq!(t.to_rfc3339(), "2025-11-24T16:00:00.123Z");
        assert_eq!(Instant::parse("at", &t.to_rfc3339()).unwrap(), t);
        assert_eq!(
            Instant::parse("at", "2025-11-24T17:00:00.123+01:00").unwrap(),
            t
        );
        assert!(Instant::parse("at", "yesterday").is_err());
    }

    #[test]
    fn zones_are_iana_names_and_follow_dst() {
        let paris = TimeZone::parse("timezone", "Europe/Paris").unwrap();
        assert_eq!(paris.name(), "Europe/Paris");
        assert!(TimeZone::parse("timezone", "Mars/Olympus").is_err());
        let winter = paris.tz().with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let summer = paris.tz().with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        assert_eq!(winter.offset().fix().local_minus_utc(), 3600);
        assert_eq!(summer.offset().fix().local_minus_utc(), 7200);
    }
}
