//! Background jobs: every module's asynchronous work, run at least once and acted on
//! once. The D1 row is the record of truth and the queue only carries ids; a runner
//! claims a row with one conditional update and holds a lease on it; failures retry
//! on the job type's policy, and what cannot succeed lands in a dead-letter list a
//! manager reprocesses (with the job's original idempotency key) or discards.
//!
//! - [`types`]: the closed registry of job types and their policies, as data.
//! - [`payload`]: the payload contract, checked at enqueue.
//! - [`store`]: enqueue (a statement for the caller's batch), claim, lease, outcome,
//!   the reaper and the sweep.
//! - [`admin`]: what a manager sees and does: lists, cancel, retry, dead letters.
//! - [`metrics`]: depth, wait and run time percentiles, SLA breaches.
//! - [`events`]: the `jobs.sla_breached` event.

pub mod admin;
pub mod events;
pub mod metrics;
pub mod payload;
pub mod store;
pub mod types;

crate::wire_enum!(
    /// What kind of work a job is; sets the payload references it needs and how
    /// many of a firm's jobs of the kind may run at once.
    Category, "of the job categories" {
        /// Pulling data in from a provider.
        Ingestion = "ingestion",
        /// Two-way synchronisation with a provider.
        Sync = "sync",
        /// Materialising recurring records.
        Recurrence = "recurrence",
        /// A step of an orchestration.
        Orchestration = "orchestration",
        /// Document processing.
        Documents = "documents",
        /// Telling people things.
        Notifications = "notifications",
        /// Building exports.
        Export = "export",
        /// Platform housekeeping.
        Maintenance = "maintenance",
    }
);

impl Category {
    /// How many of one firm's jobs of this category may run at once, so one firm's
    /// backlog never starves another's.
    pub fn concurrency_per_firm(self) -> i64 {
        match self {
            Category::Sync => 2,
            Category::Export => 1,
            _ => 10,
        }
    }

    /// Record references the payload must carry: each inner list is a choice (one of
    /// its keys is enough).
    pub fn required_references(self) -> &'static [&'static [&'static str]] {
        match self {
            Category::Ingestion | Category::Sync => &[&["connection_id"]],
            Category::Recurrence => &[&["recurrence_rule_id"]],
            Category::Orchestration => &[&["orchestration_execution_id"]],
            Category::Documents => &[&["document_id"]],
            Category::Notifications => &[&["recipient_id", "recipient_ids"]],
            Category::Export | Category::Maintenance => &[],
        }
    }
}

crate::wire_enum!(
    /// Where a job is in its life.
    Status, "of the job statuses" {
        /// Waiting to run (first time, or for a retry).
        Pending = "pending",
        /// A runner holds its lease.
        Processing = "processing",
        /// Its handler succeeded.
        Completed = "completed",
        /// The platform's queue gave up on it (a fault of ours, not the handler's);
        /// it has a dead-letter entry.
        Failed = "failed",
        /// Its handler failed for good, or ran out of attempts; it has a dead-letter entry.
        Dlq = "dlq",
        /// Cancelled before it ran (or after its running attempt).
        Cancelled = "cancelled",
    }
);

crate::wire_enum!(
    /// Why an attempt failed, from the handler's typed answer (never its message text).
    ErrorClass, "of the error classes" {
        /// The runtime or network failed (a lost lease, a timeout, a dropped connection).
        Transient = "transient",
        /// The handler or its provider failed in a way a later try may not (408, 425, 5xx).
        Retryable = "retryable",
        /// No retry can help (another 4xx): straight to the dead-letter list.
        NonRetryable = "non_retryable",
        /// The provider asked us to slow down (429), maybe saying for how long.
        RateLimited = "rate_limited",
    }
);

impl ErrorClass {
    /// The class of an HTTP status a handler (or the provider behind it) answered.
    pub fn of_status(status: u16) -> Self {
        match status {
            429 => ErrorClass::RateLimited,
            s if crate::kernel::retry::retryable_status(s) => ErrorClass::Retryable,
            _ => ErrorClass::NonRetryable,
        }
    }
}

crate::wire_enum!(
    /// How urgent a job is: the order runners take due jobs in, and the SLA from due
    /// to start.
    Priority, "of the priorities" {
        /// Start within a minute.
        Critical = "critical",
        /// Start within 5 minutes.
        High = "high",
        /// Start within 15 minutes (the default).
        Normal = "normal",
        /// Start within an hour.
        Low = "low",
    }
);

impl Priority {
    /// The stored number: lower runs first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Critical => 0,
            Priority::High => 1,
            Priority::Normal => 2,
            Priority::Low => 3,
        }
    }

    /// The priority of a stored rank (unknown ranks read as normal).
    pub fn from_rank(rank: i64) -> Self {
        match rank {
            0 => Priority::Critical,
            1 => Priority::High,
            3 => Priority::Low,
            _ => Priority::Normal,
        }
    }

    /// Longest a due job of this priority may wait to start.
    pub fn sla_ms(self) -> i64 {
        match self {
            Priority::Critical => 60_000,
            Priority::High => 5 * 60_000,
            Priority::Normal => 15 * 60_000,
            Priority::Low => 60 * 60_000,
        }
    }
}

crate::wire_enum!(
    /// Where a dead-letter entry is in its review.
    DeadStatus, "of the dead-letter statuses" {
        /// Waiting for a person.
        PendingReview = "pending_review",
        /// A new job is running it again.
        Reprocessing = "reprocessing",
        /// The reprocessed job completed.
        Resolved = "resolved",
        /// A person decided it should not run.
        Discarded = "discarded",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify_as_the_spec_says() {
        for (status, class) in [
            (400, ErrorClass::NonRetryable),
            (404, ErrorClass::NonRetryable),
            (408, ErrorClass::Retryable),
            (410, ErrorClass::NonRetryable),
            (422, ErrorClass::NonRetryable),
            (425, ErrorClass::Retryable),
            (429, ErrorClass::RateLimited),
            (500, ErrorClass::Retryable),
            (503, ErrorClass::Retryable),
        ] {
            assert_eq!(ErrorClass::of_status(status), class, "{status}");
        }
    }

    #[test]
    fn wire_names_round_trip_and_refuse_the_unknown() {
        for c in Category::ALL {
            assert_eq!(Category::parse("category", c.name()).ok(), Some(*c));
            assert_eq!(serde_json::to_value(c).ok(), Some(c.name().into()));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), *p);
        }
        let err = Status::parse("status", "done").err().map(|e| e.detail());
        assert!(err.is_some_and(|d| d.contains("pending, processing")));
    }

    #[test]
    fn concurrency_and_slas_follow_the_table() {
        let expected = [
            (Category::Sync, 2),
            (Category::Export, 1),
            (Category::Ingestion, 10),
            (Category::Maintenance, 10),
        ];
        for (c, n) in expected {
            assert_eq!(c.concurrency_per_firm(), n, "{c:?}");
        }
        let slas: Vec<i64> = Priority::ALL.iter().map(|p| p.sla_ms() / 60_000).collect();
        assert_eq!(slas, [1, 5, 15, 60]);
    }
}
