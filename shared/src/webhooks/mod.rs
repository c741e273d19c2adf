//! Signed outbound webhooks to the firm's own systems, after the Standard Webhooks
//! 1.0 specification (the bar Svix sets).
//!
//! - [`signature`]: `whsec_` secrets, signing and verifying `webhook-signature`.
//! - [`destination`]: which addresses a delivery may reach (no private networks).
//! - [`SCHEDULE`]: when a failed delivery is tried again.

pub mod destination;
pub mod signature;

use crate::kernel::retry::Schedule;

/// Delays after each failed attempt: at once, then 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h — 8 attempts over about 27.6 hours, ±10 % on delays of 5 minutes
/// and more (Svix's schedule).
pub const SCHEDULE: Schedule = Schedule::Table {
    delays: &[5, 300, 1_800, 7_200, 18_000, 36_000, 36_000],
    jitter_from: 300,
};

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
