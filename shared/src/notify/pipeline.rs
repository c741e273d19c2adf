//! The order every notification goes through, per recipient and channel:
//! preferences (critical bypasses them) → suppression → digest → quiet hours →
//! send. In-app items are never held or digested; they are the record.

use chrono::{NaiveTime, TimeZone as _, Timelike as _};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::templates::{Category, Channel, Template};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::time::Instant;
use crate::wire_enum;

wire_enum!(
    /// How often non-critical e-mail is gathered into one message.
    DigestFrequency, "of" {
        /// Each notification by itself.
        Off = "off",
        /// One e-mail an hour, on the hour.
        Hourly = "hourly",
        /// One e-mail a day at the chosen local hour.
        Daily = "daily",
    }
);

/// A person's settings in one firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// (category, channel) pairs turned off.
    pub disabled: Vec<(Category, Channel)>,
    /// Quiet hours, `HH:MM` local, start and end (no quiet hours when absent).
    pub quiet_hours: Option<(String, String)>,
    /// The IANA zone quiet hours and the daily digest are read in.
    pub timezone: String,
    /// Digest frequency.
    pub digest: DigestFrequency,
    /// Local hour of the daily digest (0–23).
    pub digest_hour: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            disabled: Vec::new(),
            quiet_hours: None,
            timezone: "UTC".into(),
            digest: DigestFrequency::Off,
            digest_hour: 8,
        }
    }
}

/// What happens to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send now.
    Send,
    /// Hold until the instant (quiet hours end), then send.
    Hold(Instant),
    /// Gather into the next digest.
    Digest,
    /// Not sent: the person turned this category off on this channel.
    Declined,
    /// Not sent: the address is on the suppression list.
    Suppressed,
}

/// Parses `HH:MM`.
pub fn parse_clock(field: &str, raw: &str) -> DomainResult<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| {
        DomainError::invalid(
            field,
            "format",
            format!("{field} is a local time HH:MM (24-hour)"),
        )
    })
}

fn zone(settings: &Settings) -> Tz {
    settings.timezone.parse().unwrap_or(Tz::UTC)
}

/// When the quiet hours around `now` end, if `now` is inside them.
pub fn quiet_until(settings: &Settings, now: Instant) -> Option<Instant> {
    let (start, end) = settings.quiet_hours.as_ref()?;
    let (start, end) = (
        parse_clock("start", start).ok()?,
        parse_clock("end", end).ok()?,
    );
    if start == end {
        return None;
    }
    let tz = zone(settings);
    let local = now.to_chrono().with_timezone(&tz);
    let t = local.time();
    let inside = if start < end {
        t >= start && t < end
    } else {
        t >= start || t < end
    };
    if !inside {
        return None;
    }
    // The end is today if it is still ahead, else tomorrow.
    let day = if t < end {
        local.date_naive()
    } else {
        local.date_naive().succ_opt()?
    };
    let naive = day.and_time(end);
    // A local end time skipped by a DST change resolves to the first instant after it.
    let resolved = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(Instant::from_millis(resolved.timestamp_millis()))
}

/// Decides one delivery of `template` on `channel` for a person with `settings`.
pub fn decide(
    template: &Template,
    channel: Channel,
    settings: &Settings,
    suppressed: bool,
    now: Instant,
) -> Decision {
    if !template.critical && settings.disabled.contains(&(template.category, channel)) {
        return Decision::Declined;
    }
    if channel == Channel::InApp {
        return Decision::Send;
    }
    if suppressed {
        return Decision::Suppressed;
    }
    if template.critical {
        return Decision::Send;
    }
    if settings.digest != DigestFrequency::Off {
        return Decision::Digest;
    }
    match quiet_until(settings, now) {
        Some(until) => Decision::Hold(until),
        None => Decision::Send,
    }
}

/// Whether a person's digest is due at `now` (a tick in the first minute of an
/// hour): hourly every hour, daily at their local hour; never inside quiet hours.
pub fn digest_due(settings: &Settings, now: Instant) -> bool {
    if now.millis().rem_euclid(3_600_000) >= 60_000 || quiet_until(settings, now).is_some() {
        return false;
    }
    match settings.digest {
        DigestFrequency::Off => false,
        DigestFrequency::Hourly => true,
        DigestFrequency::Daily => {
            now.to_chrono().with_timezone(&zone(settings)).hour() == settings.digest_hour
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::templates::find;

    fn at(rfc3339: &str) -> Instant {
        Instant::parse("t", rfc3339).unwrap()
    }

    fn quiet(start: &str, end: &str, tz: &str) -> Settings {
        Settings {
            quiet_hours: Some((start.into(), end.into())),
            timezone: tz.into(),
            ..Settings::default()
        }
    }

    #[test]
    fn quiet_hours_hold_email_until_they_end_in_the_recipients_zone() {
        let role = find("firm.role_changed").unwrap();
        let s = quiet("21:00", "08:00", "Europe/London");
        // 23:30 in London (GMT in January): held until 08:00 the next morning.
        assert_eq!(
            decide(role, Channel::Email, &s, false, at("2026-01-10T23:30:00Z")),
            Decision::Hold(at("2026-01-11T08:00:00Z"))
        );
        // 02:00 is inside too; the end is the same morning.
        assert_eq!(
            decide(role, Channel::Email, &s, false, at("2026-01-11T02:00:00Z")),
            Decision::Hold(at("2026-01-11T08:00:00Z"))
        );
        assert_eq!(
            decide(role, Channel::Email, &s, false, at("2026-01-11T12:00:00Z")),
            Decision::Send
        );
        // In-app is never held; critical mail is never held.
        assert_eq!(
            decide(role, Channel::InApp, &s, false, at("2026-01-10T23:30:00Z")),
            Decision::Send
        );
        let notice = find("auth.security_notice").unwrap();
        assert_eq!(
            decide(
                notice,
                Channel::Email,
                &s,
                false,
                at("2026-01-10T23:30:00Z")
            ),
            Decision::Send
        );
        // Summer time: 08:00 in London is 07:00 UTC.
        assert_eq!(
            quiet_until(&s, at("2026-07-10T22:00:00Z")),
            Some(at("2026-07-11T07:00:00Z"))
        );
        // A window inside one day.
        let lunch = quiet("12:00", "13:00", "UTC");
        assert_eq!(
            quiet_until(&lunch, at("2026-07-10T12:30:00Z")),
            Some(at("2026-07-10T13:00:00Z"))
        );
        assert_eq!(quiet_until(&lunch, at("2026-07-10T13:00:00Z")), None);
    }

    #[test]
    fn preferences_and_digests_apply_to_all_but_critical() {
        let role = find("firm.role_changed").unwrap();
        let notice = find("auth.security_notice").unwrap();
        let now = at("2026-03-02T10:00:00Z");
        let off = Settings {
            disabled: vec![
                (Category::Team, Channel::Email),
                (Category::Security, Channel::Email),
            ],
            ..Settings::default()
        };
        assert_eq!(
            decide(role, Channel::Email, &off, false, now),
            Decision::Declined
        );
        assert_eq!(
            decide(role, Channel::InApp, &off, false, now),
            Decision::Send
        );
        assert_eq!(
            decide(notice, Channel::Email, &off, false, now),
            Decision::Send,
            "critical bypasses"
        );
        assert_eq!(
            decide(role, Channel::Email, &Settings::default(), true, now),
            Decision::Suppressed
        );
        let daily = Settings {
            digest: DigestFrequency::Daily,
            digest_hour: 9,
            timezone: "America/New_York".into(),
            ..Settings::default()
        };
        assert_eq!(
            decide(role, Channel::Email, &daily, false, now),
            Decision::Digest
        );
        assert_eq!(
            decide(notice, Channel::Email, &daily, false, now),
            Decision::Send
        );
        // 09:00 in New York in March (EST until the 8th) is 14:00 UTC.
        assert!(digest_due(&daily, at("2026-03-02T14:00:30Z")));
        assert!(
            !digest_due(&daily, at("2026-03-02T14:01:30Z")),
            "only the hour's first tick"
        );
        assert!(!digest_due(&daily, at("2026-03-02T13:00:00Z")));
        let hourly = Settings {
            digest: DigestFrequency::Hourly,
            ..quiet("22:00", "07:00", "UTC")
        };
        assert!(digest_due(&hourly, at("2026-03-02T13:00:00Z")));
        assert!(
            !digest_due(&hourly, at("2026-03-02T23:00:00Z")),
            "not in quiet hours"
        );
    }
}
