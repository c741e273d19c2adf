//! Lead scoring by the firm's own rules. A rule gives points (−100…100) when its
//! trigger happens and its conditions hold, at most `max_applications` times per
//! lead, optionally fading to nothing after `decay_days`. A lead's score is the sum
//! of its live adjustments clamped to 0…100, and every adjustment says which rule
//! gave it and why.
//!
//! Fit rules (`*_match`) describe who the lead is: they hold while the lead's fields
//! match and are withdrawn when they stop matching. Every other trigger is something
//! that happened (an e-mail opened, a tag added) and counts each time, up to the limit.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::lead::{Fact, Lead, FACTS};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::columns::{bool_from_int, json_typed};
use crate::kernel::validate::{text, Input, Validator};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

crate::wire_enum!(
    /// What a rule is about, for grouping them.
    RuleCategory, "of the rule categories" {
        /// Who the person is.
        Demographic = "demographic",
        /// What they did.
        Behavioral = "behavioral",
        /// How they engage with the firm.
        Engagement = "engagement",
        /// What their company is.
        Firmographic = "firmographic",
        /// Anything else.
        Custom = "custom",
    }
);

crate::wire_enum!(
    /// What sets a rule off.
    Trigger, "of the scoring triggers" {
        /// They opened an e-mail.
        EmailOpened = "email_opened",
        /// They clicked a link in an e-mail.
        EmailClicked = "email_clicked",
        /// They submitted a form.
        FormSubmitted = "form_submitted",
        /// They visited a page.
        PageVisited = "page_visited",
        /// They downloaded a document.
        DocumentDownloaded = "document_downloaded",
        /// They booked a meeting.
        MeetingBooked = "meeting_booked",
        /// They attended a meeting.
        MeetingAttended = "meeting_attended",
        /// They viewed a proposal.
        ProposalViewed = "proposal_viewed",
        /// They replied.
        ReplyReceived = "reply_received",
        /// They answered the phone.
        PhoneAnswered = "phone_answered",
        /// They referred someone.
        ReferralMade = "referral_made",
        /// They engaged on social media.
        SocialEngagement = "social_engagement",
        /// Their job title matches.
        JobTitleMatch = "job_title_match",
        /// Their company's size matches.
        CompanySizeMatch = "company_size_match",
        /// Their industry matches.
        IndustryMatch = "industry_match",
        /// Their location matches.
        LocationMatch = "location_match",
        /// Their budget matches.
        BudgetMatch = "budget_match",
        /// One of the firm's custom fields matches.
        CustomFieldMatch = "custom_field_match",
        /// A tag was added to the lead.
        TagAdded = "tag_added",
        /// The lead's status changed.
        StatusChanged = "status_changed",
    }
);

impl Trigger {
    /// Whether the rule describes the lead as it is (held while it matches) rather
    /// than something that happened.
    pub fn is_fit(self) -> bool {
        matches!(
            self,
            Trigger::JobTitleMatch
                | Trigger::CompanySizeMatch
                | Trigger::IndustryMatch
                | Trigger::LocationMatch
                | Trigger::BudgetMatch
                | Trigger::CustomFieldMatch
        )
    }

    /// Whether a person or another module reports it as a signal (the rest are seen
    /// by the CRM itself as the lead changes).
    pub fn is_signal(self) -> bool {
        !self.is_fit() && !matches!(self, Trigger::TagAdded | Trigger::StatusChanged)
    }
}

crate::wire_enum!(
    /// How a condition compares a fact with its value.
    Op, "of the condition operators" {
        /// Same text (any case) or number.
        Equals = "equals",
        /// Not the same.
        NotEquals = "not_equals",
        /// Text containing it (any case), or a list holding it.
        Contains = "contains",
        /// One of a list of values.
        In = "in",
        /// A number at least this.
        Gte = "gte",
        /// A number at most this.
        Lte = "lte",
        /// Present (`true`) or absent (`false`).
        Exists = "exists",
    }
);

/// One test of a fact: a lead field, `custom.<name>`, or `signal.<name>` of the
/// signal that set the rule off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// What is tested.
    pub field: String,
    /// How.
    pub op: Op,
    /// Against what.
    pub value: serde_json::Value,
}

fn lower(value: &serde_json::Value) -> Option<String> {
    value.as_str().map(str::to_lowercase)
}

fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (lower(a), lower(b)) {
        (Some(x), Some(y)) => x == y,
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

impl Condition {
    /// Whether `fact` (absent: `None`) passes.
    pub fn holds(&self, fact: Option<&serde_json::Value>) -> bool {
        use serde_json::Value;
        match (self.op, fact) {
            (Op::Exists, f) => f.is_some() == self.value.as_bool().unwrap_or(true),
            (_, None) => false,
            (Op::Equals, Some(f)) => same(f, &self.value),
            (Op::NotEquals, Some(f)) => !same(f, &self.value),
            (Op::Contains, Some(Value::Array(items))) => items.iter().any(|i| same(i, &self.value)),
            (Op::Contains, Some(f)) => match (lower(f), lower(&self.value)) {
                (Some(hay), Some(needle)) => hay.contains(&needle),
                _ => false,
            },
            (Op::In, Some(f)) => self
                .value
                .as_array()
                .is_some_and(|options| options.iter().any(|o| same(f, o))),
            (Op::Gte, Some(f)) => {
                matches!((f.as_f64(), self.value.as_f64()), (Some(x), Some(y)) if x >= y)
            }
            (Op::Lte, Some(f)) => {
                matches!((f.as_f64(), self.value.as_f64()), (Some(x), Some(y)) if x <= y)
            }
        }
    }

    /// In words: `title contains "director"`.
    pub fn describe(&self) -> String {
        let op = match self.op {
            Op::Equals => "is",
            Op::NotEquals => "is not",
            Op::Contains => "contains",
            Op::In => "is one of",
            Op::Gte => "is at least",
            Op::Lte => "is at most",
            Op::Exists => {
                return if self.value.as_bool().unwrap_or(true) {
                    format!("{} is set", self.field)
                } else {
                    format!("{} is not set", self.field)
                }
            }
        };
        format!("{} {op} {}", self.field, self.value)
    }
}

/// A scoring rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// `scr_…`
    pub id: String,
    /// Shown in explanations.
    pub name: String,
    /// Grouping.
    pub category: RuleCategory,
    /// What sets it off.
    pub trigger: Trigger,
    /// All must hold.
    #[serde(deserialize_with = "json_typed")]
    pub conditions: Vec<Condition>,
    /// −100…100, never 0.
    pub points: i64,
    /// How many times it may apply to one lead.
    pub max_applications: i64,
    /// Days after which its points fall to nothing; never when `None`.
    pub decay_days: Option<i64>,
    /// Higher first.
    pub priority: i64,
    /// Whether it applies at all.
    #[serde(deserialize_with = "bool_from_int")]
    pub is_active: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Rule {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }

    /// Why it applies, in words.
    pub fn reason(&self) -> String {
        if self.conditions.is_empty() {
            format!("{}: {}", self.name, self.trigger.name().replace('_', " "))
        } else {
            let tests: Vec<String> = self.conditions.iter().map(Condition::describe).collect();
            format!("{}: {}", self.name, tests.join(" and "))
        }
    }
}

/// A rule's past on one lead: how often it applied, and whether a fit rule's
/// points are held now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Applications so far (live or not).
    pub applications: i64,
    /// A fit rule's points are held and not withdrawn.
    pub held: bool,
}

/// What scoring decides for a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Give `points` for `rule_id`, with `reason`, fading at `expires_at`.
    Apply {
        /// The rule.
        rule_id: String,
        /// Its name, kept with the adjustment.
        rule_name: String,
        /// Points given.
        points: i64,
        /// Why.
        reason: String,
        /// Unix ms it fades, if it does.
        expires_at: Option<i64>,
    },
    /// Take back the held points of fit rule `rule_id`: the lead no longer matches.
    Withdraw {
        /// The rule.
        rule_id: String,
    },
}

/// What happened to a lead that rules may react to.
#[derive(Debug, Clone, PartialEq)]
pub enum Occasion<'a> {
    /// Its fields were written (created, changed, imported): fit rules are checked,
    /// and tags added and a status change count as their triggers.
    Written {
        /// Tags it did not have before.
        added_tags: &'a [String],
        /// Whether its status changed.
        status_changed: bool,
    },
    /// A signal was reported.
    Signal {
        /// Which.
        trigger: Trigger,
        /// Its properties (`signal.<name>` in conditions).
        properties: &'a serde_json::Map<String, serde_json::Value>,
    },
}

/// A condition made ready to test many leads: its text value lower-cased once.
#[derive(Debug, Clone)]
struct Test {
    condition: Condition,
    /// The value lower-cased, when it is text.
    lower: Option<String>,
    /// For `in`: each option lower-cased when text.
    options: Vec<serde_json::Value>,
}

/// `needle` (lower-case) inside `hay`, ignoring case, without copying `hay` when
/// both are ASCII.
fn contains_folded(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

fn equals_folded(text: &str, lower: &str) -> bool {
    if text.is_ascii() && lower.is_ascii() {
        text.eq_ignore_ascii_case(lower)
    } else {
        text.to_lowercase() == lower
    }
}

impl Test {
    fn new(condition: &Condition) -> Self {
        let folded = lower(&condition.value);
        let options = condition
            .value
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|o| lower(o).map_or_else(|| o.clone(), serde_json::Value::String))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            condition: condition.clone(),
            lower: folded,
            options,
        }
    }

    /// Whether `fact` passes; the same answers as [`Condition::holds`].
    fn holds(&self, fact: Fact<'_>) -> bool {
        let c = &self.condition;
        let number = c.value.as_f64();
        match (c.op, fact) {
            (Op::Exists, f) => (f != Fact::Absent) == c.value.as_bool().unwrap_or(true),
            (_, Fact::Absent) => false,
            (_, Fact::Json(v)) => c.holds(Some(v)),
            (Op::Equals, Fact::Text(t)) => {
                self.lower.as_deref().is_some_and(|l| equals_folded(t, l))
            }
            (Op::NotEquals, Fact::Text(t)) => {
                !self.lower.as_deref().is_some_and(|l| equals_folded(t, l))
            }
            (Op::Contains, Fact::Text(t)) => {
                self.lower.as_deref().is_some_and(|l| contains_folded(t, l))
            }
            (Op::In, Fact::Text(t)) => self
                .options
                .iter()
                .any(|o| o.as_str().is_some_and(|l| equals_folded(t, l))),
            (Op::Equals, Fact::Number(n)) => number.is_some_and(|v| n as f64 == v),
            (Op::NotEquals, Fact::Number(n)) => number.is_none_or(|v| n as f64 != v),
            (Op::In, Fact::Number(n)) => self
                .options
                .iter()
                .any(|o| o.as_f64().is_some_and(|v| n as f64 == v)),
            (Op::Gte, Fact::Number(n)) => number.is_some_and(|v| n as f64 >= v),
            (Op::Lte, Fact::Number(n)) => number.is_some_and(|v| n as f64 <= v),
            (Op::Contains, Fact::Tags(tags)) => self
                .lower
                .as_deref()
                .is_some_and(|l| tags.iter().any(|t| equals_folded(t, l))),
            (Op::Equals | Op::NotEquals | Op::In | Op::Gte | Op::Lte, Fact::Tags(tags)) => {
                c.holds(Some(&serde_json::Value::from(tags.to_vec())))
            }
            (Op::Gte | Op::Lte, Fact::Text(_)) | (Op::Contains, Fact::Number(_)) => false,
        }
    }
}

/// A rule made ready: its tests and its reason, written once.
#[derive(Debug, Clone)]
struct Prepared {
    rule: Rule,
    tests: Vec<Test>,
    reason: String,
}

impl Prepared {
    fn matches(
        &self,
        lead: &Lead,
        properties: &serde_json::Map<String, serde_json::Value>,
    ) -> bool {
        self.tests.iter().all(|t| {
            let fact = match t.condition.field.strip_prefix("signal.") {
                Some(name) => properties.get(name).map_or(Fact::Absent, Fact::Json),
                None => lead.fact_ref(&t.condition.field),
            };
            t.holds(fact)
        })
    }

    fn apply(&self, now_ms: i64) -> Change {
        Change::Apply {
            rule_id: self.rule.id.clone(),
            rule_name: self.rule.name.clone(),
            points: self.rule.points,
            reason: self.reason.clone(),
            expires_at: self.rule.decay_days.map(|d| now_ms + d * DAY_MS),
        }
    }
}

/// A firm's active rules, highest priority first, made ready to score many leads:
/// each reason written and each text value lower-cased once.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    rules: Vec<Prepared>,
}

impl Ruleset {
    /// The active ones of `rules`, ordered by priority (then id).
    pub fn new(rules: &[Rule]) -> Self {
        let mut active: Vec<&Rule> = rules.iter().filter(|r| r.is_active).collect();
        active.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
        Self {
            rules: active
                .into_iter()
                .map(|r| Prepared {
                    tests: r.conditions.iter().map(Test::new).collect(),
                    reason: r.reason(),
                    rule: r.clone(),
                })
                .collect(),
        }
    }

    /// The changes the rules make to `lead` on `occasion`, given each rule's
    /// `history` on it, highest priority first.
    pub fn evaluate(
        &self,
        lead: &Lead,
        occasion: &Occasion<'_>,
        history: &HashMap<String, History>,
        now_ms: i64,
    ) -> Vec<Change> {
        let empty = serde_json::Map::new();
        let mut changes = Vec::new();
        for prepared in &self.rules {
            let rule = &prepared.rule;
            let past = history.get(&rule.id).copied().unwrap_or_default();
            let room = past.applications < rule.max_applications;
            match occasion {
                Occasion::Written {
                    added_tags,
                    status_changed,
                } => {
                    if rule.trigger.is_fit() {
                        let matches = prepared.matches(lead, &empty);
                        if matches && !past.held && room {
                            changes.push(prepared.apply(now_ms));
                        } else if !matches && past.held {
                            changes.push(Change::Withdraw {
                                rule_id: rule.id.clone(),
                            });
                        }
                    } else if rule.trigger == Trigger::StatusChanged && *status_changed && room {
                        if prepared.matches(lead, &empty) {
                            changes.push(prepared.apply(now_ms));
                        }
                    } else if rule.trigger == Trigger::TagAdded {
                        let mut used = past.applications;
                        for tag in added_tags.iter() {
                            let mut props = serde_json::Map::new();
                            props.insert("tag".into(), serde_json::Value::String(tag.clone()));
                            if used < rule.max_applications && prepared.matches(lead, &props) {
                                changes.push(prepared.apply(now_ms));
                                used += 1;
                            }
                        }
                    }
                }
                Occasion::Signal {
                    trigger,
                    properties,
                } => {
                    if rule.trigger == *trigger && room && prepared.matches(lead, properties) {
                        changes.push(prepared.apply(now_ms));
                    }
                }
            }
        }
        changes
    }
}

/// The changes `rules` (any order; inactive ones are skipped) make to `lead` on
/// `occasion`: [`Ruleset::evaluate`] for one lead.
pub fn evaluate(
    rules: &[Rule],
    lead: &Lead,
    occasion: &Occasion<'_>,
    history: &HashMap<String, History>,
    now_ms: i64,
) -> Vec<Change> {
    Ruleset::new(rules).evaluate(lead, occasion, history, now_ms)
}

/// One adjustment of a lead's score, as kept and explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// `sca_…`
    pub id: String,
    /// The rule that gave it.
    pub rule_id: String,
    /// The rule's name then.
    pub rule_name: String,
    /// Points given.
    pub points: i64,
    /// Why.
    pub reason: String,
    /// Unix ms.
    pub applied_at: i64,
    /// Unix ms it fades, if it does.
    pub expires_at: Option<i64>,
    /// Unix ms a fit rule's points were taken back.
    pub withdrawn_at: Option<i64>,
}

impl Adjustment {
    /// Whether it counts at `now`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.withdrawn_at.is_none() && self.expires_at.is_none_or(|t| t > now_ms)
    }
}

/// The score of live `adjustments` at `now`: their sum, clamped to 0…100.
pub fn score(adjustments: &[Adjustment], now_ms: i64) -> i64 {
    adjustments
        .iter()
        .filter(|a| a.is_live(now_ms))
        .map(|a| a.points)
        .sum::<i64>()
        .clamp(0, 100)
}

/// Each rule's history on a lead from its `adjustments`.
pub fn histories(adjustments: &[Adjustment], now_ms: i64) -> HashMap<String, History> {
    let mut out: HashMap<String, History> = HashMap::new();
    for a in adjustments {
        let h = out.entry(a.rule_id.clone()).or_default();
        h.applications += 1;
        if a.is_live(now_ms) {
            h.held = true;
        }
    }
    out
}

/// A checked rule to create or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInput {
    /// 1–120 characters.
    pub name: String,
    /// Grouping (custom when left out).
    pub category: RuleCategory,
    /// What sets it off.
    pub trigger: Trigger,
    /// 0–10 conditions (fit rules need one).
    pub conditions: Vec<Condition>,
    /// −100…100, not 0.
    pub points: i64,
    /// 1–100 (1 when left out).
    pub max_applications: i64,
    /// 1–3650 days, or never.
    pub decay_days: Option<i64>,
    /// 0–1000 (0 when left out).
    pub priority: i64,
    /// On unless said.
    pub is_active: bool,
}

fn parse_condition(v: &mut Validator, raw: &serde_json::Value, path: &str) -> Option<Condition> {
    let obj = raw.as_object();
    if obj.is_none_or(|o| {
        o.keys()
            .any(|k| !["field", "op", "value"].contains(&k.as_str()))
    }) {
        v.add(
            path,
            "type",
            format!("{path} must be {{\"field\", \"op\", \"value\"}}"),
        );
        return None;
    }
    let field = raw
        .get("field")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let known = FACTS.contains(&field)
        || field
            .strip_prefix("custom.")
            .is_some_and(|n| !n.is_empty() && n.len() <= 40)
        || field
            .strip_prefix("signal.")
            .is_some_and(|n| !n.is_empty() && n.len() <= 40);
    if !known {
        v.add(
            format!("{path}.field"),
            "enum",
            format!(
                "{path}.field must be one of {}, custom.<name> or signal.<name>",
                FACTS.join(", ")
            ),
        );
    }
    let op = v.take(Op::parse(
        &format!("{path}.op"),
        raw.get("op")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default(),
    ));
    let value = raw.get("value").cloned().unwrap_or(serde_json::Value::Null);
    let fits = match op {
        Some(Op::Gte | Op::Lte) => value.is_number(),
        Some(Op::In) => value.as_array().is_some_and(|a| {
            (1..=50).contains(&a.len()) && a.iter().all(|x| x.is_string() || x.is_number())
        }),
        Some(Op::Exists) => value.is_boolean(),
        Some(_) => {
            (value.is_string() && value.as_str().is_some_and(|s| s.chars().count() <= 200))
                || value.is_number()
                || value.is_boolean()
        }
        None => true,
    };
    if !fits {
        v.add(
            format!("{path}.value"),
            "type",
            format!("{path}.value must be a number for gte/lte, a list of 1–50 values for in, true/false for exists, else text (≤ 200) or a number"),
        );
    }
    match (known && fits, op) {
        (true, Some(op)) => Some(Condition {
            field: field.to_owned(),
            op,
            value,
        }),
        _ => None,
    }
}

impl RuleInput {
    /// Reads `{"name", "category"?, "trigger", "conditions"?, "points",
    /// "max_applications"?, "decay_days"?, "priority"?, "is_active"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &[
                "name",
                "category",
                "trigger",
                "conditions",
                "points",
                "max_applications",
                "decay_days",
                "priority",
                "is_active",
            ],
        );
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 120)));
        let category = input
            .string(&mut v, "category", false)
            .and_then(|raw| v.take(RuleCategory::parse("category", raw)))
            .unwrap_or(RuleCategory::Custom);
        let trigger = input
            .string(&mut v, "trigger", true)
            .and_then(|raw| v.take(Trigger::parse("trigger", raw)));
        let mut conditions = Vec::new();
        if let Some(list) = input.array(&mut v, "conditions", false) {
            if list.len() > 10 {
                v.add(
                    "conditions",
                    "too_many",
                    "conditions holds at most 10 conditions",
                );
            }
            for (i, raw) in list.iter().enumerate().take(10) {
                if let Some(c) = parse_condition(&mut v, raw, &format!("conditions[{i}]")) {
                    conditions.push(c);
                }
            }
        }
        let points = input.integer_in(&mut v, "points", -100..=100, false);
        let max_applications = input
            .integer_in(&mut v, "max_applications", 1..=100, false)
            .unwrap_or(1);
        let decay_days = input.integer_in(&mut v, "decay_days", 1..=3650, false);
        let priority = input
            .integer_in(&mut v, "priority", 0..=1000, false)
            .unwrap_or(0);
        let is_active = input.boolean(&mut v, "is_active", false).unwrap_or(true);
        match (input.raw("points"), points) {
            (None, _) => v.add("points", "required", "points is required"),
            (Some(_), Some(0)) => v.add("points", "range", "points must not be 0"),
            _ => {}
        }
        if trigger.is_some_and(Trigger::is_fit)
            && conditions.is_empty()
            && !v_has(&input, "conditions")
        {
            v.add(
                "conditions",
                "required",
                "a *_match rule needs at least one condition on the lead's fields",
            );
        }
        if trigger.is_some_and(Trigger::is_fit)
            && conditions.iter().any(|c| c.field.starts_with("signal."))
        {
            v.add(
                "conditions",
                "fit",
                "a *_match rule tests the lead's own fields, not signal.<name>",
            );
        }
        v.finish()?;
        match (name, trigger, points) {
            (Some(name), Some(trigger), Some(points)) => Ok(Self {
                name,
                category,
                trigger,
                conditions,
                points,
                max_applications,
                decay_days,
                priority,
                is_active,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "required",
                "name, trigger and points are required",
            )),
        }
    }
}

/// Whether `conditions` was sent as a non-empty list that failed checks (its own
/// errors then say what is wrong; "required" would mislead).
fn v_has(input: &Input<'_>, key: &str) -> bool {
    input
        .raw(key)
        .and_then(serde_json::Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// A checked signal about a lead: what happened and its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// A trigger people or other modules report (not a `*_match`, tag or status one).
    pub trigger: Trigger,
    /// Up to 20 properties (`signal.<name>` in conditions).
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl Signal {
    /// Reads `{"trigger", "properties"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["trigger", "properties"]);
        let trigger = input
            .string(&mut v, "trigger", true)
            .and_then(|raw| v.take(Trigger::parse("trigger", raw)));
        if trigger.is_some_and(|t| !t.is_signal()) {
            v.add("trigger", "signal", "trigger must be something the lead did; *_match, tag_added and status_changed follow the lead's own changes");
        }
        let mut properties = serde_json::Map::new();
        if input.object(&mut v, "properties", false).is_some() {
            let raw = input
                .raw("properties")
                .and_then(serde_json::Value::as_object);
            let raw = raw.cloned().unwrap_or_default();
            if raw.len() > 20 {
                v.add(
                    "properties",
                    "too_many",
                    "properties holds at most 20 values",
                );
            }
            for (name, value) in raw {
                let path = format!("properties.{name}");
                let named = name.len() <= 40
                    && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                let simple = match &value {
                    serde_json::Value::String(s) => s.chars().count() <= 500,
                    serde_json::Value::Number(_) | serde_json::Value::Bool(_) => true,
                    _ => false,
                };
                if !named || !simple {
                    v.add(path.clone(), "property", format!("{path}: a property is named by letters, digits and underscores and holds text (≤ 500), a number or true/false"));
                } else {
                    properties.insert(name, value);
                }
            }
        }
        v.finish()?;
        let trigger = trigger
            .ok_or_else(|| DomainError::invalid("trigger", "required", "trigger is required"))?;
        Ok(Self {
            trigger,
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::lead::{LeadSource, LeadStatus};
    use serde_json::json;

    fn lead() -> Lead {
        Lead {
            id: "led_1".into(),
            contact_name: "Ada".into(),
            company_name: Some("Engines Ltd".into()),
            email: Some("ada@engines.example".into()),
            phone: None,
            title: Some("Finance Director".into()),
            industry: Some("Manufacturing".into()),
            website: None,
            country: Some("GB".into()),
            company_size: Some(120),
            budget_minor: Some(2_000_000),
            currency: Some("GBP".into()),
            source: LeadSource::Referral,
            status: LeadStatus::New,
            score: 0,
            owner_id: None,
            campaign_id: None,
            tags: vec!["warm".into()],
            custom_fields: [("tier".to_owned(), json!("gold"))].into_iter().collect(),
            notes: None,
            lost_reason: None,
            account_id: None,
            deal_id: None,
            last_activity_at: None,
            version: 1,
            created_by: "usr_1".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn rule(id: &str, body: serde_json::Value) -> Rule {
        let input = RuleInput::parse(&body).unwrap();
        Rule {
            id: id.into(),
            name: input.name,
            category: input.category,
            trigger: input.trigger,
            conditions: input.conditions,
            points: input.points,
            max_applications: input.max_applications,
            decay_days: input.decay_days,
            priority: input.priority,
            is_active: input.is_active,
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn adjust(changes: &[Change], now: i64) -> Vec<Adjustment> {
        changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Change::Apply {
                    rule_id,
                    rule_name,
                    points,
                    reason,
                    expires_at,
                } => Some(Adjustment {
                    id: format!("sca_{i}"),
                    rule_id: rule_id.clone(),
                    rule_name: rule_name.clone(),
                    points: *points,
                    reason: reason.clone(),
                    applied_at: now,
                    expires_at: *expires_at,
                    withdrawn_at: None,
                }),
                Change::Withdraw { .. } => None,
            })
            .collect()
    }

    #[test]
    fn fit_rules_hold_while_the_lead_matches() {
        let rules = vec![
            rule(
                "scr_a",
                json!({"name": "Decision maker", "trigger": "job_title_match", "points": 30,
                "conditions": [{"field": "title", "op": "contains", "value": "director"}]}),
            ),
            rule(
                "scr_b",
                json!({"name": "Mid-size", "trigger": "company_size_match", "points": 20, "priority": 5,
                "conditions": [{"field": "company_size", "op": "gte", "value": 50}, {"field": "company_size", "op": "lte", "value": 500}]}),
            ),
            rule(
                "scr_c",
                json!({"name": "Gold", "trigger": "custom_field_match", "points": 10,
                "conditions": [{"field": "custom.tier", "op": "in", "value": ["Gold", "platinum"]}]}),
            ),
            rule(
                "scr_d",
                json!({"name": "Competitor", "trigger": "industry_match", "points": -50,
                "conditions": [{"field": "industry", "op": "equals", "value": "consulting"}]}),
            ),
        ];
        let written = Occasion::Written {
            added_tags: &[],
            status_changed: false,
        };
        let changes = evaluate(&rules, &lead(), &written, &HashMap::new(), 0);
        // Highest priority first, then by id.
        let ids: Vec<&str> = changes
            .iter()
            .map(|c| match c {
                Change::Apply { rule_id, .. } | Change::Withdraw { rule_id } => rule_id.as_str(),
            })
            .collect();
        assert_eq!(ids, vec!["scr_b", "scr_a", "scr_c"]);
        let adjustments = adjust(&changes, 0);
        assert_eq!(score(&adjustments, 0), 60);
        assert!(
            adjustments[1]
                .reason
                .contains("title contains \"director\""),
            "{}",
            adjustments[1].reason
        );
        // Written again unchanged: nothing new.
        let history = histories(&adjustments, 1);
        assert!(evaluate(&rules, &lead(), &written, &history, 1).is_empty());
        // No longer a director: the points are withdrawn.
        let mut changed = lead();
        changed.title = Some("Analyst".into());
        assert_eq!(
            evaluate(&rules, &changed, &written, &history, 2),
            vec![Change::Withdraw {
                rule_id: "scr_a".into()
            }]
        );
    }

    #[test]
    fn signals_count_up_to_the_limit_and_decay() {
        let rules = vec![rule(
            "scr_p",
            json!({"name": "Pricing page", "trigger": "page_visited", "points": 15,
            "max_applications": 2, "decay_days": 30,
            "conditions": [{"field": "signal.url", "op": "contains", "value": "/pricing"}]}),
        )];
        let props = json!({"url": "https://firm.example/pricing"});
        let props = props.as_object().unwrap();
        let signal = Occasion::Signal {
            trigger: Trigger::PageVisited,
            properties: props,
        };
        let mut all = Vec::new();
        for day in 0..3 {
            let now = day * DAY_MS;
            let changes = evaluate(&rules, &lead(), &signal, &histories(&all, now), now);
            all.extend(adjust(&changes, now));
        }
        assert_eq!(all.len(), 2, "max_applications");
        assert_eq!(score(&all, 2 * DAY_MS), 30);
        assert_eq!(score(&all, 30 * DAY_MS + 1), 15, "the first faded");
        assert_eq!(score(&all, 31 * DAY_MS + 1), 0);
        let other = json!({"url": "/blog"});
        let other = Occasion::Signal {
            trigger: Trigger::PageVisited,
            properties: other.as_object().unwrap(),
        };
        assert!(evaluate(&rules, &lead(), &other, &HashMap::new(), 0).is_empty());
    }

    #[test]
    fn scores_are_clamped_and_tags_count_once_each() {
        let rules = vec![rule(
            "scr_t",
            json!({"name": "Hot", "trigger": "tag_added", "points": 80, "max_applications": 3,
            "conditions": [{"field": "signal.tag", "op": "in", "value": ["hot", "urgent"]}]}),
        )];
        let tags = vec!["hot".to_owned(), "urgent".to_owned(), "cold".to_owned()];
        let written = Occasion::Written {
            added_tags: &tags,
            status_changed: false,
        };
        let adjustments = adjust(&evaluate(&rules, &lead(), &written, &HashMap::new(), 0), 0);
        assert_eq!(adjustments.len(), 2);
        assert_eq!(score(&adjustments, 0), 100);
        let negative = vec![Adjustment {
            points: -40,
            ..adjustments[0].clone()
        }];
        assert_eq!(score(&negative, 0), 0);
    }

    #[test]
    fn prepared_tests_agree_with_conditions_on_every_op_and_fact() {
        let lead = lead();
        let values = [
            json!("DIRECTOR"),
            json!("gb"),
            json!("warm"),
            json!(120),
            json!(119.5),
            json!(["Gold", "x"]),
            json!(["GB", 5]),
            json!(true),
            json!(false),
            json!("É"),
            json!(0),
        ];
        let fields = [
            "title",
            "country",
            "tags",
            "company_size",
            "custom.tier",
            "email_domain",
            "phone",
            "source",
        ];
        let mut checked = 0;
        for op in Op::ALL {
            for value in &values {
                for field in fields {
                    let condition = Condition {
                        field: field.into(),
                        op: *op,
                        value: value.clone(),
                    };
                    let slow = condition.holds(lead.fact(field).as_ref());
                    let fast = Test::new(&condition).holds(lead.fact_ref(field));
                    assert_eq!(slow, fast, "{field} {op:?} {value}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, Op::ALL.len() * values.len() * fields.len());
        assert!(contains_folded("Finance DIRECTOR", "director"));
        assert!(contains_folded("Ärztin Direktorin", "direktorin"));
        assert!(!contains_folded("Analyst", "director"));
    }

    #[test]
    fn a_rule_is_checked_field_by_field() {
        let err = RuleInput::parse(&json!({"name": "", "trigger": "job_title_match", "points": 0,
            "max_applications": 0, "decay_days": 0, "conditions": [{"field": "shoe_size", "op": "near", "value": 3}, {"field": "company_size", "op": "gte", "value": "big"}]}))
        .unwrap_err();
        let text = format!("{err:?}");
        for f in [
            "\"name",
            "\"points",
            "max_applications",
            "decay_days",
            "conditions[0].field",
            "conditions[0].op",
            "conditions[1].value",
        ] {
            assert!(text.contains(f), "{f} in {text}");
        }
        let err = RuleInput::parse(&json!({"name": "x", "trigger": "industry_match", "points": 5}))
            .unwrap_err();
        assert!(format!("{err:?}").contains("at least one condition"));
    }
}
