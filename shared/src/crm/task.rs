//! Tasks on a deal: something to do, by whom, by when, how urgent. Finishing one
//! is activity on the deal (it is no longer stale) and says so on its timeline.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// How urgent a task is.
    TaskPriority, "of the task priorities" {
        /// When there is time.
        Low = "low",
        /// The usual.
        Medium = "medium",
        /// Soon.
        High = "high",
        /// Now.
        Urgent = "urgent",
    }
);

crate::wire_enum!(
    /// Whether a task is done.
    TaskStatus, "of the task statuses" {
        /// To do.
        Open = "open",
        /// Done.
        Done = "done",
    }
);

/// A task as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealTask {
    /// `tsk_…`
    pub id: String,
    /// Its deal.
    pub deal_id: String,
    /// What to do.
    pub title: String,
    /// How urgent.
    pub priority: TaskPriority,
    /// Open or done.
    pub status: TaskStatus,
    /// Who does it.
    pub assignee_id: Option<String>,
    /// By when.
    pub due_on: Option<String>,
    /// Unix ms it was done.
    pub completed_at: Option<i64>,
    /// The stage automation that made it, if one did.
    pub automation_id: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who made it (a user, or `automation`).
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl DealTask {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

/// A checked task body: a create needs `title`; a change needs one field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFields {
    /// 1–200 characters.
    pub title: Option<String>,
    /// How urgent (medium by default).
    pub priority: Option<TaskPriority>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<String>>,
    /// `Some(None)` clears.
    pub due_on: Option<Option<NaiveDate>>,
    /// Open or done.
    pub status: Option<TaskStatus>,
}

impl TaskFields {
    /// Reads `{"title", "priority"?, "assignee_id"?, "due_on"?}`, and on a change
    /// `"status"` too (a new task is open).
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        let known: &[&str] = if creating {
            &["title", "priority", "assignee_id", "due_on"]
        } else {
            &["title", "priority", "assignee_id", "due_on", "status"]
        };
        input.reject_unknown(&mut v, known);
        let title = input
            .string(&mut v, "title", creating)
            .and_then(|s| v.take(text("title", s, 1, 200)));
        let priority = input
            .string(&mut v, "priority", false)
            .and_then(|raw| v.take(TaskPriority::parse("priority", raw)));
        let assignee_id = fields::link(&mut v, &input, "assignee_id", "usr");
        let due_on = fields::date(&mut v, &input, "due_on");
        let status = input
            .string(&mut v, "status", false)
            .and_then(|raw| v.take(TaskStatus::parse("status", raw)));
        v.finish()?;
        let parsed = Self {
            title,
            priority,
            assignee_id,
            due_on,
            status,
        };
        if !creating && parsed == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one of title, priority, assignee_id, due_on, status",
            ));
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tasks_read_like_every_other_body() {
        let t = TaskFields::parse(
            &json!({"title": "Send the engagement letter", "priority": "high", "due_on": "2027-02-01"}),
            true,
        )
        .unwrap();
        assert_eq!(t.priority, Some(TaskPriority::High));
        assert_eq!(t.due_on, Some(NaiveDate::from_ymd_opt(2027, 2, 1)));
        for (body, field) in [
            (json!({"priority": "high"}), "title"),
            (json!({"title": "x", "priority": "asap"}), "priority"),
            (json!({"title": "x", "assignee_id": "cli_1"}), "assignee_id"),
            (json!({"title": "x", "due_on": "tomorrow"}), "due_on"),
        ] {
            match TaskFields::parse(&body, true) {
                Err(DomainError::Validation(e)) => assert_eq!(e[0].field, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(TaskFields::parse(&json!({}), false).is_err());
        let clear = TaskFields::parse(&json!({"assignee_id": null}), false).unwrap();
        assert_eq!(clear.assignee_id, Some(None));
    }
}
