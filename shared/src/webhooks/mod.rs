//! Signed outbound webhooks to the firm's own systems, after the Standard Webhooks
//! 1.0 specification (the bar Svix sets).
//!
//! A firm's endpoints subscribe to event types. Each public domain event becomes
//! one message, whose body is fixed (and signed) once, and one delivery per
//! endpoint whose filter covers it; each delivery is tried on [`SCHEDULE`] and
//! every try is an attempt in the log.
//!
//! - [`signature`]: `whsec_` secrets, signing and verifying `webhook-signature`.
//! - [`destination`]: which addresses a delivery may reach (no private networks).
//! - [`endpoint`]: the firm's endpoints: input rules, secrets, rotation, states.
//! - [`message`]: an event into a message and its deliveries (one batch).
//! - [`delivery`]: claims, outcomes, the next attempt, the sweep, resend, recover.
//! - [`health`]: success rate and latency per endpoint for a dashboard.
//! - [`events`]: the operational events (`webhook.endpoint.disabled` …).

pub mod delivery;
pub mod destination;
pub mod endpoint;
pub mod events;
pub mod health;
pub mod message;
pub mod signature;

use crate::kernel::retry::Schedule;

/// Delays after each failed attempt: at once, then 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h — 8 attempts over about 27.6 hours, ±10 % on delays of 5 minutes
/// and more (Svix's schedule).
pub const SCHEDULE: Schedule = Schedule::Table {
    delays: &[5, 300, 1_800, 7_200, 18_000, 36_000, 36_000],
    jitter_from: 300,
};

/// Longest wait a receiver's `Retry-After` (on 429 or 503) can ask for: 12 hours,
/// also the longest delay a queue message can carry.
pub const RETRY_AFTER_CAP_SECS: i64 = 12 * 3_600;
/// A delivery due longer ago than this is sent again by the minute's sweep (its
/// queue message was lost).
pub const LATE_AFTER_MS: i64 = 2 * 60_000;
/// An endpoint whose every attempt has failed for this long is disabled.
pub const DISABLE_AFTER_FAILING_MS: i64 = 5 * 24 * 3_600_000;
/// ... provided its failures have spread over at least this long (a burst of
/// failures in one afternoon five days ago followed by silence is not "failing").
pub const FAILURE_SPREAD_MS: i64 = 12 * 3_600_000;
/// How long messages, deliveries and attempts are kept.
pub const RETENTION_MS: i64 = 30 * 24 * 3_600_000;
/// Longest response text kept with an attempt.
pub const EXCERPT_CHARS: usize = 5_000;
/// Largest message body; a bigger event is sent thin (its id and a link).
pub const MAX_BODY_BYTES: usize = 64 * 1_024;
/// Requests one sender invocation has in flight at once.
pub const CONCURRENCY: usize = 6;
/// The event type of a test message.
pub const TEST_TYPE: &str = "webhook.test";

crate::wire_enum!(
    /// Whether an endpoint receives deliveries.
    EndpointStatus, "of the endpoint statuses" {
        /// Receives deliveries.
        Active = "active",
        /// Deliveries wait (they are kept) until it is resumed.
        Paused = "paused",
        /// Receives nothing; its waiting deliveries were cancelled.
        Disabled = "disabled",
    }
);

crate::wire_enum!(
    /// Why an endpoint is disabled.
    DisabledReason, "of the reasons" {
        /// A person disabled it.
        Manual = "manual",
        /// Every attempt failed for five days.
        Failing = "failing",
        /// It answered `410 Gone`.
        Gone = "gone",
    }
);

crate::wire_enum!(
    /// Where a delivery (one message to one endpoint) stands.
    DeliveryStatus, "of the delivery statuses" {
        /// Waiting for its first attempt (or a resend).
        Pending = "pending",
        /// An attempt is in flight.
        Sending = "sending",
        /// The endpoint answered 2xx.
        Succeeded = "succeeded",
        /// Failed; the next attempt is scheduled.
        Retrying = "retrying",
        /// Failed for good (attempts used up, or a refusal no retry can fix).
        Exhausted = "exhausted",
        /// The endpoint was disabled or deleted before it succeeded.
        Cancelled = "cancelled",
    }
);

crate::wire_enum!(
    /// What started an attempt.
    Trigger, "of the triggers" {
        /// The schedule.
        Scheduled = "scheduled",
        /// A person resent the message.
        Manual = "manual",
        /// A recovery of failed messages.
        Replay = "replay",
    }
);

crate::wire_enum!(
    /// Why an attempt failed.
    ErrorClass, "of the error classes" {
        /// No answer within the endpoint's timeout.
        Timeout = "timeout",
        /// The host name did not resolve.
        Dns = "dns",
        /// The TLS handshake failed (certificate, protocol).
        Tls = "tls",
        /// The connection failed.
        Connection = "connection",
        /// The host resolved to an address deliveries may not reach.
        BlockedDestination = "blocked_destination",
        /// The endpoint answered with a status other than 2xx.
        HttpStatus = "http_status",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_svix_s() {
        let delays: Vec<i64> = (1..8)
            .filter_map(|n| SCHEDULE.delay_after(n, 0.5))
            .collect();
        assert_eq!(delays, [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]);
        assert_eq!(SCHEDULE.max_attempts(), 8);
        assert_eq!(SCHEDULE.delay_after(8, 0.5), None);
        let total: i64 = delays.iter().sum();
        assert_eq!(total, 99_305); // about 27.6 hours
                                   // Jitter only from 5 minutes on.
        assert_eq!(SCHEDULE.delay_after(1, 0.0), Some(5));
        assert_eq!(SCHEDULE.delay_after(2, 0.0), Some(270));
    }
}
