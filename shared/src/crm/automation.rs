//! Stage automations: what happens when a deal enters a stage. Each is one step —
//! hand the deal to a member, make a task, tell people, set a field, or announce
//! the entry to the firm's webhook endpoints (`crm.deal.stage_entered`) — run in
//! their order, in the same batch as the move, so a move and its consequences are
//! one change.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::assignment::hand_over;
use super::deal::Deal;
use super::fields::MAX_TAGS;
use super::task::TaskPriority;
use crate::catalogue::DomainEvent;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{text, Input, Validator};

/// Automations a stage may have.
pub const MAX_PER_STAGE: i64 = 20;

crate::wire_enum!(
    /// Who a notify step tells.
    Audience, "of the audiences" {
        /// The deal's owner.
        Owner = "owner",
        /// The owner and every member credited in the splits.
        Team = "team",
    }
);

/// One step, with its own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// Hand the deal (and the owner's credit share) to a member.
    Assign {
        /// An active member who may work CRM records.
        user_id: String,
    },
    /// Make a task on the deal.
    CreateTask {
        /// What to do.
        title: String,
        /// How urgent.
        priority: TaskPriority,
        /// Due this many days after the deal enters the stage.
        due_in_days: Option<i64>,
        /// Who does it (the deal's owner when absent).
        assignee_id: Option<String>,
    },
    /// Tell people in the console and by e-mail.
    Notify {
        /// Who.
        to: Audience,
        /// What (the deal and stage are named around it).
        message: String,
    },
    /// Set the deal's probability (0–100).
    SetProbability {
        /// Percent.
        probability: i64,
    },
    /// Add a tag to the deal.
    AddTag {
        /// Lower-case.
        tag: String,
    },
    /// Expect the deal to close this many days after it enters the stage.
    SetExpectedClose {
        /// Days, 0–3650.
        in_days: i64,
    },
    /// Announce the entry as `crm.deal.stage_entered` to the firm's webhook endpoints.
    Webhook {},
}

impl Step {
    /// The step's action name.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Assign { .. } => "assign",
            Step::CreateTask { .. } => "create_task",
            Step::Notify { .. } => "notify",
            Step::SetProbability { .. } => "set_probability",
            Step::AddTag { .. } => "add_tag",
            Step::SetExpectedClose { .. } => "set_expected_close",
            Step::Webhook {} => "webhook",
        }
    }

    /// Reads `{"stage_id", "action", …the action's fields}`; returns the stage and step.
    pub fn parse(body: &serde_json::Value) -> DomainResult<(String, Step)> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        let action = input.string(&mut v, "action", true).unwrap_or_default();
        let own: &[&str] = match action {
            "assign" => &["user_id"],
            "create_task" => &["title", "priority", "due_in_days", "assignee_id"],
            "notify" => &["to", "message"],
            "set_probability" => &["probability"],
            "add_tag" => &["tag"],
            "set_expected_close" => &["in_days"],
            "webhook" => &[],
            "" => &[],
            _ => {
                v.add(
                    "action",
                    "enum",
                    "action must be one of assign, create_task, notify, set_probability, add_tag, set_expected_close, webhook",
                );
                &[]
            }
        };
        let mut known = vec!["stage_id", "action"];
        known.extend_from_slice(own);
        input.reject_unknown(&mut v, &known);
        let stage_id = input
            .string(&mut v, "stage_id", true)
            .and_then(|raw| v.take(crate::kernel::id::parse("stage_id", "stg", raw)));
        let user = |v: &mut Validator, key: &str, required: bool| {
            input
                .string(v, key, required)
                .and_then(|raw| v.take(crate::kernel::id::parse(key, "usr", raw)))
        };
        let step = match action {
            "assign" => user(&mut v, "user_id", true).map(|user_id| Step::Assign { user_id }),
            "create_task" => {
                let title = input
                    .string(&mut v, "title", true)
                    .and_then(|s| v.take(text("title", s, 1, 200)));
                let priority = input
                    .string(&mut v, "priority", false)
                    .and_then(|raw| v.take(TaskPriority::parse("priority", raw)))
                    .unwrap_or(TaskPriority::Medium);
                let due_in_days = input.integer_in(&mut v, "due_in_days", 0..=365, false);
                let assignee_id = user(&mut v, "assignee_id", false);
                title.map(|title| Step::CreateTask {
                    title,
                    priority,
                    due_in_days,
                    assignee_id,
                })
            }
            "notify" => {
                let to = input
                    .string(&mut v, "to", false)
                    .and_then(|raw| v.take(Audience::parse("to", raw)))
                    .unwrap_or(Audience::Owner);
                let message = input
                    .string(&mut v, "message", true)
                    .and_then(|s| v.take(text("message", s, 1, 500)));
                message.map(|message| Step::Notify { to, message })
            }
            "set_probability" => input
                .integer_in(&mut v, "probability", 0..=100, true)
                .map(|probability| Step::SetProbability { probability }),
            "add_tag" => input
                .string(&mut v, "tag", true)
                .and_then(|s| v.take(text("tag", s, 1, 40)))
                .map(|tag| Step::AddTag {
                    tag: tag.to_lowercase(),
                }),
            "set_expected_close" => input
                .integer_in(&mut v, "in_days", 0..=3650, true)
                .map(|in_days| Step::SetExpectedClose { in_days }),
            "webhook" => Some(Step::Webhook {}),
            _ => None,
        };
        v.finish()?;
        match (stage_id, step) {
            (Some(stage), Some(step)) => Ok((stage, step)),
            _ => Err(DomainError::invalid(
                "body",
                "invalid",
                "the automation is invalid",
            )),
        }
    }
}

/// An automation as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Automation {
    /// `aut_…`
    pub id: String,
    /// Its pipeline.
    pub pipeline_id: String,
    /// The stage whose entry runs it.
    pub stage_id: String,
    /// What it does.
    #[serde(flatten)]
    pub step: Step,
    /// Unix ms.
    pub created_at: i64,
}

/// A task a step asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskToMake {
    /// The step's automation.
    pub automation_id: String,
    /// What to do.
    pub title: String,
    /// How urgent.
    pub priority: TaskPriority,
    /// By when.
    pub due_on: Option<NaiveDate>,
    /// Who.
    pub assignee_id: Option<String>,
}

/// What running a stage's automations decided, beyond the changes made to the deal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    /// Tasks to make.
    pub tasks: Vec<TaskToMake>,
    /// People to tell, and what.
    pub notices: Vec<(Vec<String>, String)>,
    /// Whether to announce the entry to webhook endpoints.
    pub announce: bool,
    /// One line per step that did something, for the timeline.
    pub done: Vec<String>,
}

/// Runs `automations` (in order) on `deal`, which has just entered their stage on
/// `today`; `eligible` are the members who may take CRM work (an assignment to
/// anyone else is skipped, and says so).
pub fn run(
    automations: &[Automation],
    deal: &mut Deal,
    eligible: &[String],
    today: NaiveDate,
) -> Ran {
    let mut ran = Ran::default();
    let later =
        |days: i64| today.checked_add_days(chrono::Days::new(u64::try_from(days).unwrap_or(0)));
    for a in automations {
        match &a.step {
            Step::Assign { user_id } => {
                if !eligible.contains(user_id) {
                    ran.done.push(format!(
                        "Not assigned to {user_id}: not an active member who may work CRM records"
                    ));
                } else if *user_id != deal.owner_id {
                    deal.splits = hand_over(&deal.splits, &deal.owner_id, user_id);
                    deal.owner_id = user_id.clone();
                    ran.done.push(format!("Assigned to {user_id}"));
                }
            }
            Step::CreateTask {
                title,
                priority,
                due_in_days,
                assignee_id,
            } => {
                let assignee = assignee_id
                    .clone()
                    .filter(|u| eligible.contains(u))
                    .unwrap_or_else(|| deal.owner_id.clone());
                ran.tasks.push(TaskToMake {
                    automation_id: a.id.clone(),
                    title: title.clone(),
                    priority: *priority,
                    due_on: due_in_days.and_then(later),
                    assignee_id: Some(assignee),
                });
                ran.done.push(format!("Task: {title}"));
            }
            Step::Notify { to, message } => {
                let mut people = vec![deal.owner_id.clone()];
                if *to == Audience::Team {
                    people.extend(deal.splits.iter().map(|s| s.user_id.clone()));
                }
                people.sort();
                people.dedup();
                ran.notices.push((people, message.clone()));
                ran.done.push(format!("Told the {}", to.name()));
            }
            Step::SetProbability { probability } => {
                deal.probability = Some(*probability);
                ran.done.push(format!("Probability set to {probability} %"));
            }
            Step::AddTag { tag } => {
                if !deal.tags.contains(tag) && deal.tags.len() < MAX_TAGS {
                    deal.tags.push(tag.clone());
                    ran.done.push(format!("Tagged {tag}"));
                }
            }
            Step::SetExpectedClose { in_days } => {
                if let Some(day) = later(*in_days) {
                    deal.expected_close = Some(day.format("%Y-%m-%d").to_string());
                    ran.done.push(format!("Expected to close on {day}"));
                }
            }
            Step::Webhook {} => {
                ran.announce = true;
                ran.done.push("Announced to the firm's webhooks".to_owned());
            }
        }
    }
    ran
}

/// A deal entered a stage whose automation announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DealStageEntered {
    /// The deal (`dea_…`).
    pub deal_id: String,
    /// Its name.
    pub deal_name: String,
    /// Its pipeline (`pip_…`).
    pub pipeline_id: String,
    /// The stage it entered (`stg_…`).
    pub stage_id: String,
    /// The stage's name.
    pub stage_name: String,
    /// The stage it left (`stg_…`).
    pub from_stage_id: String,
    /// Its value in minor units.
    pub value_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Its owner after the stage's automations (`usr_…`).
    pub owner_id: String,
}

impl DomainEvent for DealStageEntered {
    const TYPE: &'static str = "crm.deal.stage_entered";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A deal entered a stage whose automation announces it to the firm's webhook endpoints.";
    fn example() -> Self {
        Self {
            deal_id: "dea_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            deal_name: "Annual audit".into(),
            pipeline_id: "pip_01JD7X3V9T2Q4M8K6P1R5S0W3Y".into(),
            stage_id: "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X".into(),
            stage_name: "Proposal sent".into(),
            from_stage_id: "stg_01JD7X3V9T2Q4M8K6P1R5S0W3W".into(),
            value_minor: 1_200_000,
            currency: "USD".into(),
            owner_id: "usr_01JD7X3V9T2Q4M8K6P1R5S0W40".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_read_their_own_fields_only() {
        let (stage, step) = Step::parse(&json!({"stage_id": "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X",
            "action": "create_task", "title": "Call back", "due_in_days": 2}))
        .unwrap();
        assert_eq!(stage, "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X");
        assert_eq!(step.action(), "create_task");
        for (body, field) in [
            (
                json!({"stage_id": "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X", "action": "dance"}),
                "action",
            ),
            (
                json!({"stage_id": "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X", "action": "assign"}),
                "user_id",
            ),
            (
                json!({"stage_id": "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X", "action": "set_probability", "probability": 101}),
                "probability",
            ),
            (
                json!({"stage_id": "stg_01JD7X3V9T2Q4M8K6P1R5S0W3X", "action": "add_tag", "tag": "x", "user_id": "usr_1"}),
                "user_id",
            ),
            (json!({"action": "webhook"}), "stage_id"),
        ] {
            match Step::parse(&body) {
                Err(DomainError::Validation(e)) => {
                    assert!(e.iter().any(|e| e.field == field), "{body}: {e:?}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        // Stored and answered flat, with the action's name.
        let stored = serde_json::to_value(&step).unwrap();
        assert_eq!(stored["action"], "create_task");
        assert_eq!(serde_json::from_value::<Step>(stored).unwrap(), step);
    }
}
