//! The closed registry of job types: which module runs each, its category, and its
//! policy (attempts, backoff, run timeout, which failures retry). Nothing is ever
//! run by a name found in data that is not in this table.

use super::{Category, ErrorClass};
use crate::kernel::error::DomainError;
use crate::kernel::retry::Schedule;

/// How a job type is retried and bounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Delays between attempts, and how many attempts in all.
    pub schedule: Schedule,
    /// Longest one attempt may run before it counts as timed out (ms, ≤ 15 min).
    pub run_timeout_ms: i64,
    /// Error classes worth another attempt.
    pub retry_on: &'static [ErrorClass],
}

/// The default: 2, 4, 8, 16 s (±20 %) between 5 attempts, capped at 300 s; a
/// minute per attempt; everything but `non_retryable` retries.
pub const DEFAULT_POLICY: Policy = Policy {
    schedule: Schedule::Exponential {
        initial: 2,
        coefficient: 2,
        cap: 300,
        jitter: 0.2,
        max_attempts: 5,
    },
    run_timeout_ms: 60_000,
    retry_on: &[
        ErrorClass::Transient,
        ErrorClass::Retryable,
        ErrorClass::RateLimited,
    ],
};

/// Longest run timeout a policy may set.
pub const MAX_RUN_TIMEOUT_MS: i64 = 15 * 60_000;

/// One kind of job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobType<'a> {
    /// Dotted name, `<module>.<work>` (≤ 100 characters).
    pub name: &'a str,
    /// Its category.
    pub category: Category,
    /// The module whose worker runs it (`jobs` runs in the jobs worker itself; any
    /// other is reached over the service binding named after it in capitals).
    pub module: &'a str,
    /// Whether a manager may start one by hand (`POST /v1/jobs`).
    pub manual: bool,
    /// One line for the docs.
    pub description: &'a str,
    /// Retries and bounds.
    pub policy: Policy,
}

/// Purges a firm's job history past retention.
pub const PURGE_HISTORY: &str = "jobs.purge_history";

/// Every job type of the platform.
pub const JOB_TYPES: &[JobType<'static>] = &[
    JobType {
        name: PURGE_HISTORY,
        category: Category::Maintenance,
        module: "jobs",
        manual: true,
        description: "Deletes the firm's finished jobs and attempts after 30 days and closed dead letters after 90",
        policy: DEFAULT_POLICY,
    },
    JobType {
        name: crate::crm::enrichment::JOB_TYPE,
        category: Category::Ingestion,
        module: "crm",
        manual: false,
        description: "Looks a lead up at the enrichment provider and fills what it knows into the fields no person typed",
        // A provider still looking (202) or slowing us down (429) says when to
        // come back; six tries over about ten minutes.
        policy: Policy {
            schedule: Schedule::Exponential {
                initial: 5,
                coefficient: 2,
                cap: 300,
                jitter: 0.2,
                max_attempts: 6,
            },
            run_timeout_ms: 30_000,
            retry_on: &[
                ErrorClass::Transient,
                ErrorClass::Retryable,
                ErrorClass::RateLimited,
            ],
        },
    },
];

/// The registered type called `name`, in the platform's table or a deployment's extras.
pub fn find<'a>(extra: &'a [JobType<'a>], name: &str) -> Option<&'a JobType<'a>> {
    JOB_TYPES
        .iter()
        .chain(extra.iter())
        .find(|t| t.name == name)
}

/// Parses a type name from a request against the registry: a 422 naming `field`
/// when no such type is registered.
pub fn parse<'a>(
    extra: &'a [JobType<'a>],
    field: &str,
    raw: &str,
) -> Result<&'a JobType<'a>, DomainError> {
    find(extra, raw).ok_or_else(|| {
        DomainError::invalid(
            field,
            "enum",
            format!("{field} is not a registered job type"),
        )
    })
}

/// Job types a deployment adds to the table (`category:name=module`, comma-separated),
/// all startable by hand with the default policy. The end-to-end tests register
/// jobs run by a probe module this way; deploys carry none. Malformed entries are
/// skipped.
pub fn parse_extra(spec: &str) -> Vec<JobType<'_>> {
    spec.split(',')
        .filter_map(|entry| {
            let (category, rest) = entry.trim().split_once(':')?;
            let (name, module) = rest.split_once('=')?;
            let category = Category::parse("category", category).ok()?;
            let ok = is_type_name(name)
                && !module.is_empty()
                && module.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            ok.then_some(JobType {
                name,
                category,
                module,
                manual: true,
                description: "a job type this deployment adds",
                policy: DEFAULT_POLICY,
            })
        })
        .collect()
}

/// A job type name from a filter (registered or not: a filter may name a type of
/// the past); a 422 naming `field` when it is not one.
pub fn parse_name(field: &str, raw: &str) -> Result<String, DomainError> {
    if is_type_name(raw) {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be a job type name (dotted lowercase, at most 100 characters)"),
        ))
    }
}

/// Whether `name` is a job type name: dotted lowercase segments, ≤ 100 characters.
pub fn is_type_name(name: &str) -> bool {
    name.len() <= 100 && crate::kernel::events::is_type_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_well_formed() {
        let mut names: Vec<&str> = JOB_TYPES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JOB_TYPES.len(), "duplicate job type names");
        for t in JOB_TYPES {
            assert!(is_type_name(t.name), "{}", t.name);
            assert!(
                t.policy.run_timeout_ms > 0 && t.policy.run_timeout_ms <= MAX_RUN_TIMEOUT_MS,
                "{}",
                t.name
            );
            assert!(t.policy.schedule.max_attempts() >= 1, "{}", t.name);
        }
    }

    #[test]
    fn the_default_backoff_is_the_originals() {
        // 2^n seconds (±20 %) after the n-th failure, 5 attempts.
        let s = DEFAULT_POLICY.schedule;
        let mids: Vec<Option<i64>> = (1..=5).map(|n| s.delay_after(n, 0.5)).collect();
        assert_eq!(mids, [Some(2), Some(4), Some(8), Some(16), None]);
        assert_eq!(s.delay_after(1, 0.0), Some(2)); // 1.6 rounds to 2
        assert_eq!(s.delay_after(4, 0.999), Some(19));
    }

    #[test]
    fn extra_types_parse_and_skip_what_is_malformed() {
        let extra = parse_extra(
            "export:probe.export=probe, sync:probe.sync=probe,bogus,sync:Bad=probe,nope:x.y=probe",
        );
        let names: Vec<(&str, Category)> = extra.iter().map(|t| (t.name, t.category)).collect();
        assert_eq!(
            names,
            [
                ("probe.export", Category::Export),
                ("probe.sync", Category::Sync)
            ]
        );
        assert!(find(&extra, "probe.sync").is_some_and(|t| t.module == "probe"));
        assert!(find(&extra, PURGE_HISTORY).is_some_and(|t| t.module == "jobs"));
        assert!(parse(&extra, "type", "calendar.sync_pull").is_err());
    }
}
