//! The jobs system's public events.

use serde::{Deserialize, Serialize};

use super::store::Breach;
use super::Priority;
use crate::catalogue::DomainEvent;
use crate::kernel::error::DomainResult;
use crate::kernel::events::{self, EventEnvelope};
use crate::kernel::sql::Statement;
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;

/// One job that waited past its SLA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LateJob {
    /// The job (`job_…`).
    pub job_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its priority: `critical`, `high`, `normal` or `low`.
    pub priority: String,
    /// When it became due (RFC 3339).
    pub due_at: String,
    /// Seconds it had waited when found.
    pub waited_secs: i64,
}

/// Jobs of the firm waited longer than their priority's SLA to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobsSlaBreached {
    /// The late jobs, most urgent first.
    pub jobs: Vec<LateJob>,
}

impl DomainEvent for JobsSlaBreached {
    const TYPE: &'static str = "jobs.sla_breached";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Background jobs of the firm waited longer than their priority allows (critical 1 min, high 5, normal 15, low 60) to start.";
    fn example() -> Self {
        Self {
            jobs: vec![LateJob {
                job_id: "job_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
                kind: "calendar.sync_pull".into(),
                priority: "high".into(),
                due_at: "2026-11-26T09:00:00.000Z".into(),
                waited_secs: 420,
            }],
        }
    }
}

/// One `jobs.sla_breached` event per firm for `breaches`, with the statements that
/// put them in the outbox.
pub fn sla_breached(
    breaches: &[Breach],
    now: Instant,
) -> DomainResult<(Vec<EventEnvelope>, Vec<Statement>)> {
    let mut firms: Vec<&str> = breaches.iter().map(|b| b.firm_id.as_str()).collect();
    firms.sort_unstable();
    firms.dedup();
    let mut envelopes = Vec::new();
    let mut statements = Vec::new();
    for firm in firms {
        let mut late: Vec<&Breach> = breaches.iter().filter(|b| b.firm_id == firm).collect();
        late.sort_by_key(|b| (b.priority, b.due_at));
        let data = JobsSlaBreached {
            jobs: late
                .into_iter()
                .map(|b| LateJob {
                    job_id: b.job_id.clone(),
                    kind: b.kind.clone(),
                    priority: Priority::from_rank(b.priority).name().to_owned(),
                    due_at: Instant::from_millis(b.due_at).to_rfc3339(),
                    waited_secs: (now.millis() - b.due_at) / 1_000,
                })
                .collect(),
        };
        let envelope = data.envelope(&TenantScope::new(firm, None), now)?;
        statements.push(events::record(&envelope, now)?);
        envelopes.push(envelope);
    }
    Ok((envelopes, statements))
}
