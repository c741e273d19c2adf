//! The timeline of every CRM record: what people logged (calls, e-mails, meetings,
//! notes, tasks) and what changed (created, each change with its fields before and
//! after, stage moves, wins, losses, conversions), with who and when.

use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::columns::json_from_text;
use crate::kernel::time::Instant;
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// What an entry of a timeline records.
    ActivityKind, "of the activity kinds" {
        /// A phone call.
        Call = "call",
        /// An e-mail.
        Email = "email",
        /// A meeting.
        Meeting = "meeting",
        /// A note.
        Note = "note",
        /// A task done or to do.
        Task = "task",
        /// The record was created.
        Created = "created",
        /// Fields changed (`changes` lists them).
        Changed = "changed",
        /// A deal moved stage.
        StageChanged = "stage_changed",
        /// A deal was won.
        Won = "won",
        /// A deal or lead was lost.
        Lost = "lost",
        /// A lead was converted.
        Converted = "converted",
        /// A lead's score changed.
        Scored = "scored",
        /// A proposal on a deal was sent, accepted, rejected or expired.
        Proposal = "proposal",
        /// A contract on a deal was drafted, signed, held, resumed or ended.
        Contract = "contract",
    }
);

impl ActivityKind {
    /// Whether people log it (the rest the CRM writes itself).
    pub fn is_logged(self) -> bool {
        matches!(
            self,
            Self::Call | Self::Email | Self::Meeting | Self::Note | Self::Task
        )
    }
}

crate::wire_enum!(
    /// The kind of record a timeline belongs to.
    Subject, "of the record kinds" {
        /// A lead.
        Lead = "lead",
        /// A deal.
        Deal = "deal",
        /// An account.
        Account = "account",
        /// A contact.
        Contact = "contact",
    }
);

/// One entry of a timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// `acy_…`
    pub id: String,
    /// Kind of record.
    pub subject_type: Subject,
    /// The record.
    pub subject_id: String,
    /// What it records.
    pub kind: ActivityKind,
    /// One line.
    pub summary: String,
    /// More text, for logged entries.
    pub body: Option<String>,
    /// For changes: `{field: {"from": …, "to": …}}`; else `{}`.
    #[serde(deserialize_with = "json_from_text")]
    pub changes: serde_json::Value,
    /// Who (a member), or `None` for the system.
    pub actor_id: Option<String>,
    /// Unix ms it happened.
    pub occurred_at: i64,
    /// Unix ms it was recorded.
    pub created_at: i64,
}

/// A checked entry logged by a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivity {
    /// Call, email, meeting, note or task.
    pub kind: ActivityKind,
    /// 1–200 characters.
    pub summary: String,
    /// Up to 10,000 characters.
    pub body: Option<String>,
    /// When it happened, or is planned (a meeting next week); now when left out.
    pub occurred_at: Option<Instant>,
}

impl NewActivity {
    /// Reads `{"kind", "summary", "body"?, "occurred_at"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["kind", "summary", "body", "occurred_at"]);
        let kind = input
            .string(&mut v, "kind", true)
            .and_then(|raw| v.take(ActivityKind::parse("kind", raw)));
        if kind.is_some_and(|k| !k.is_logged()) {
            v.add(
                "kind",
                "logged",
                "kind must be call, email, meeting, note or task",
            );
        }
        let summary = input
            .string(&mut v, "summary", true)
            .and_then(|s| v.take(text("summary", s, 1, 200)));
        let text_body = input
            .string(&mut v, "body", false)
            .and_then(|s| v.take(text("body", s, 1, 10_000)));
        let occurred_at = input
            .string(&mut v, "occurred_at", false)
            .and_then(|raw| v.take(Instant::parse("occurred_at", raw)));
        v.finish()?;
        match (kind, summary) {
            (Some(kind), Some(summary)) => Ok(Self {
                kind,
                summary,
                body: text_body,
                occurred_at,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "required",
                "kind and summary are required",
            )),
        }
    }
}

/// The fields of `fields` that differ between `before` and `after` (serialised
/// records), as `{field: {"from": …, "to": …}}`.
pub fn diff(
    before: &serde_json::Value,
    after: &serde_json::Value,
    fields: &[&str],
) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for field in fields {
        let (a, b) = (before.get(*field), after.get(*field));
        if a != b {
            out.insert(
                (*field).to_owned(),
                serde_json::json!({"from": a.cloned().unwrap_or_default(), "to": b.cloned().unwrap_or_default()}),
            );
        }
    }
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn people_log_calls_and_notes_but_not_system_entries() {
        let ok = NewActivity::parse(&json!({"kind": "call", "summary": "Intro call", "occurred_at": "2027-01-15T08:00:00Z"})).unwrap();
        assert_eq!(ok.kind, ActivityKind::Call);
        let err =
            NewActivity::parse(&json!({"kind": "won", "summary": "", "occurred_at": "tomorrow"}))
                .unwrap_err();
        let text = format!("{err:?}");
        for f in ["kind", "summary", "occurred_at"] {
            assert!(text.contains(f), "{f} in {text}");
        }
    }

    #[test]
    fn a_diff_lists_only_what_changed() {
        let d = diff(
            &json!({"a": 1, "b": "x", "c": null}),
            &json!({"a": 2, "b": "x", "c": "y"}),
            &["a", "b", "c"],
        );
        assert_eq!(
            d,
            json!({"a": {"from": 1, "to": 2}, "c": {"from": null, "to": "y"}})
        );
    }
}
