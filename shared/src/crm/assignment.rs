//! Who works a lead nobody was named for, and who takes over the open leads and
//! deals of a member who leaves. The firm's assignment rules are tried by priority
//! (highest first, then oldest): a round robin over named members, a territory
//! that maps the values of one of the record's fields to members, a value range,
//! or a set of lead sources. The first rule that matches and still has an active
//! member who may work CRM records decides the candidates; when none does, every
//! such member is. Among the candidates the turn passes in order, each rule (and
//! each territory) keeping its own count, so the work is shared evenly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::deal::{Deal, Split};
use super::fields;
use super::lead::{Fact, Lead, LeadSource, FACTS};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::columns::json_typed;
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// How a rule chooses its candidates.
    Method, "of the assignment methods" {
        /// Every lead or deal, among `users`.
        RoundRobin = "round_robin",
        /// By the value of the record's `field`, among that value's members.
        Territory = "territory",
        /// By value (a lead's budget, a deal's value) in `currency`, among `users`.
        ValueRange = "value_range",
        /// By lead source, among `users`.
        Source = "source",
    }
);

/// Members a rule names, and territories a rule holds.
pub const MAX_USERS: usize = 50;
/// Territories of one rule.
pub const MAX_TERRITORIES: usize = 200;
/// Rules a firm may have.
pub const MAX_RULES: i64 = 100;
/// The rotation used when no rule decides.
pub const FALLBACK: &str = "*";

/// An assignment rule as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentRule {
    /// `asr_…`
    pub id: String,
    /// What people call it.
    pub name: String,
    /// How it chooses.
    pub method: Method,
    /// The members it rotates over (all methods but territory).
    #[serde(deserialize_with = "json_typed")]
    pub users: Vec<String>,
    /// Territory: the record's field whose value picks the territory.
    pub field: Option<String>,
    /// Territory: each value (compared without case) and its members.
    #[serde(deserialize_with = "json_typed")]
    pub territories: BTreeMap<String, Vec<String>>,
    /// Value range: the currency of the bounds (other currencies never match).
    pub currency: Option<String>,
    /// Value range: the least value, inclusive.
    pub min_minor: Option<i64>,
    /// Value range: the greatest value, inclusive.
    pub max_minor: Option<i64>,
    /// Source: the sources it takes.
    #[serde(deserialize_with = "json_typed")]
    pub sources: Vec<LeadSource>,
    /// Higher is tried first.
    pub priority: i64,
    /// Tried at all.
    #[serde(deserialize_with = "crate::kernel::sql::columns::bool_from_int")]
    pub is_active: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl AssignmentRule {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }

    /// Every member the rule names.
    pub fn members(&self) -> impl Iterator<Item = &String> {
        self.users.iter().chain(self.territories.values().flatten())
    }

    /// The rotation key and members of this rule for `record`, if it matches.
    fn candidates<'a>(&'a self, record: &impl Routable) -> Option<(String, &'a [String])> {
        match self.method {
            Method::RoundRobin => Some((String::new(), &self.users)),
            Method::Source => record
                .source()
                .filter(|s| self.sources.contains(s))
                .map(|_| (String::new(), self.users.as_slice())),
            Method::ValueRange => {
                let (amount, currency) = record.value()?;
                let fits = self.currency.as_deref() == Some(currency)
                    && self.min_minor.is_none_or(|min| amount >= min)
                    && self.max_minor.is_none_or(|max| amount <= max);
                fits.then(|| (String::new(), self.users.as_slice()))
            }
            Method::Territory => {
                let field = self.field.as_deref()?;
                let values: Vec<String> = match record.fact(field) {
                    Fact::Absent => Vec::new(),
                    Fact::Text(s) => vec![s.to_owned()],
                    Fact::Number(n) => vec![n.to_string()],
                    Fact::Tags(tags) => tags.to_vec(),
                    Fact::Json(value) => match value {
                        serde_json::Value::String(s) => vec![s.clone()],
                        serde_json::Value::Number(n) => vec![n.to_string()],
                        serde_json::Value::Bool(b) => vec![b.to_string()],
                        _ => Vec::new(),
                    },
                };
                self.territories.iter().find_map(|(key, users)| {
                    values
                        .iter()
                        .any(|v| v.trim().eq_ignore_ascii_case(key))
                        .then(|| (key.to_lowercase(), users.as_slice()))
                })
            }
        }
    }
}

/// What a rule reads of a lead or a deal.
pub trait Routable {
    /// A field by name (territories).
    fn fact(&self, field: &str) -> Fact<'_>;
    /// Its value and currency (value ranges).
    fn value(&self) -> Option<(i64, &str)>;
    /// Where it came from (source rules).
    fn source(&self) -> Option<LeadSource>;
}

impl Routable for Lead {
    fn fact(&self, field: &str) -> Fact<'_> {
        self.fact_ref(field)
    }
    fn value(&self) -> Option<(i64, &str)> {
        Some((self.budget_minor?, self.currency.as_deref()?))
    }
    fn source(&self) -> Option<LeadSource> {
        Some(self.source)
    }
}

/// A deal offers its source, value, currency and tags; a territory on another
/// field never matches it.
impl Routable for Deal {
    fn fact(&self, field: &str) -> Fact<'_> {
        match field {
            "source" => self.source.map_or(Fact::Absent, |s| Fact::Text(s.name())),
            "currency" => Fact::Text(&self.currency),
            "tags" => Fact::Tags(&self.tags),
            _ => Fact::Absent,
        }
    }
    fn value(&self) -> Option<(i64, &str)> {
        Some((self.value_minor, &self.currency))
    }
    fn source(&self) -> Option<LeadSource> {
        self.source
    }
}

/// Where a record's turn is taken: the rule (or [`FALLBACK`]), the territory key,
/// and the active candidates in the rule's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `asr_…` or `*`.
    pub rule_id: String,
    /// The territory's key (empty for other methods).
    pub key: String,
    /// The members the turn passes among, never empty.
    pub candidates: Vec<String>,
}

impl Route {
    /// The member whose turn `turn` (0, 1, 2 …) is.
    pub fn pick(&self, turn: i64) -> &str {
        let len = self.candidates.len().max(1) as i64;
        let at = usize::try_from(turn.rem_euclid(len)).unwrap_or(0);
        self.candidates.get(at).map_or("", String::as_str)
    }
}

/// The firm's rules prepared for routing: active ones by priority, and the members
/// who may take work (active, with CRM write rights), sorted.
#[derive(Debug, Clone)]
pub struct Router {
    rules: Vec<AssignmentRule>,
    eligible: Vec<String>,
}

impl Router {
    /// Prepares `rules` (any order) against the `eligible` members.
    pub fn new(mut rules: Vec<AssignmentRule>, mut eligible: Vec<String>) -> Self {
        rules.retain(|r| r.is_active);
        rules.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        eligible.sort();
        eligible.dedup();
        Self { rules, eligible }
    }

    /// Where `record`'s turn is taken, leaving out `departing` (a member being
    /// deactivated): the first rule that matches and has an eligible member, else
    /// the fallback over every eligible member; `None` when nobody may take it.
    pub fn route(&self, record: &impl Routable, departing: Option<&str>) -> Option<Route> {
        let takes =
            |u: &String| Some(u.as_str()) != departing && self.eligible.binary_search(u).is_ok();
        for rule in &self.rules {
            let Some((key, members)) = rule.candidates(record) else {
                continue;
            };
            let candidates: Vec<String> = members.iter().filter(|u| takes(u)).cloned().collect();
            if !candidates.is_empty() {
                return Some(Route {
                    rule_id: rule.id.clone(),
                    key,
                    candidates,
                });
            }
        }
        let candidates: Vec<String> = self.eligible.iter().filter(|u| takes(u)).cloned().collect();
        (!candidates.is_empty()).then(|| Route {
            rule_id: FALLBACK.to_owned(),
            key: String::new(),
            candidates,
        })
    }
}

/// Splits with `from`'s share given to `to` (added to any share `to` holds).
pub fn hand_over(splits: &[Split], from: &str, to: &str) -> Vec<Split> {
    let moved: i64 = splits
        .iter()
        .filter(|s| s.user_id == from)
        .map(|s| s.percent)
        .sum();
    let mut out: Vec<Split> = splits
        .iter()
        .filter(|s| s.user_id != from)
        .cloned()
        .collect();
    if moved > 0 {
        match out.iter_mut().find(|s| s.user_id == to) {
            Some(share) => share.percent += moved,
            None => out.push(Split {
                user_id: to.to_owned(),
                percent: moved,
            }),
        }
    }
    out
}

/// A checked rule to create or replace it with.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentInput {
    /// 1–120 characters.
    pub name: String,
    /// How it chooses.
    pub method: Method,
    /// Members (round robin, value range, source).
    pub users: Vec<String>,
    /// Territory field.
    pub field: Option<String>,
    /// Territories.
    pub territories: BTreeMap<String, Vec<String>>,
    /// Value range currency.
    pub currency: Option<String>,
    /// Value range bounds.
    pub min_minor: Option<i64>,
    /// Value range bounds.
    pub max_minor: Option<i64>,
    /// Source rule's sources.
    pub sources: Vec<LeadSource>,
    /// 0–1000.
    pub priority: i64,
    /// Tried at all.
    pub is_active: bool,
}

impl AssignmentInput {
    /// Reads `{"name", "method", "priority"?, "is_active"?}` with the method's own
    /// fields: `users` (round_robin), `field` + `territories` (territory),
    /// `currency` + `min_minor`/`max_minor` + `users` (value_range), `sources` +
    /// `users` (source). A field of another method is refused.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &[
                "name",
                "method",
                "users",
                "field",
                "territories",
                "currency",
                "min_minor",
                "max_minor",
                "sources",
                "priority",
                "is_active",
            ],
        );
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 120)));
        let method = input
            .string(&mut v, "method", true)
            .and_then(|raw| v.take(Method::parse("method", raw)));
        let priority = input
            .integer_in(&mut v, "priority", 0..=1000, false)
            .unwrap_or(0);
        let is_active = input.boolean(&mut v, "is_active", false).unwrap_or(true);
        let own: &[&str] = match method {
            Some(Method::RoundRobin) => &["users"],
            Some(Method::Territory) => &["field", "territories"],
            Some(Method::ValueRange) => &["users", "currency", "min_minor", "max_minor"],
            Some(Method::Source) => &["users", "sources"],
            None => &[
                "users",
                "field",
                "territories",
                "currency",
                "min_minor",
                "max_minor",
                "sources",
            ],
        };
        for key in [
            "users",
            "field",
            "territories",
            "currency",
            "min_minor",
            "max_minor",
            "sources",
        ] {
            if input.has(key) && !own.contains(&key) {
                v.add(
                    key,
                    "method",
                    format!(
                        "{key} is not a field of a {} rule",
                        method.map_or("", Method::name)
                    ),
                );
            }
        }
        let wants = |key: &str| own.contains(&key);
        let users = if wants("users") && method.is_some() {
            members(&mut v, &input, "users")
        } else {
            Vec::new()
        };
        let mut field = None;
        let mut territories = BTreeMap::new();
        if method == Some(Method::Territory) {
            field = input.string(&mut v, "field", true).and_then(|raw| {
                let known = FACTS.contains(&raw)
                    || raw
                        .strip_prefix("custom.")
                        .is_some_and(|n| !n.is_empty() && n.len() <= 40);
                if !known {
                    v.add(
                        "field",
                        "enum",
                        format!("field must be one of {} or custom.<name>", FACTS.join(", ")),
                    );
                }
                known.then(|| raw.to_owned())
            });
            territories = territory_map(&mut v, &input);
        }
        let mut currency = None;
        let (mut min_minor, mut max_minor) = (None, None);
        if method == Some(Method::ValueRange) {
            currency =
                fields::currency(&mut v, &input, "currency", true).map(|c| c.code().to_owned());
            min_minor = fields::amount(&mut v, &input, "min_minor", false);
            max_minor = fields::amount(&mut v, &input, "max_minor", false);
            match (
                input.has("min_minor"),
                input.has("max_minor"),
                min_minor,
                max_minor,
            ) {
                (false, false, _, _) => v.add(
                    "min_minor",
                    "required",
                    "a value_range rule needs min_minor, max_minor or both",
                ),
                (_, _, Some(min), Some(max)) if min > max => v.add(
                    "max_minor",
                    "range",
                    "max_minor must not be below min_minor",
                ),
                _ => {}
            }
        }
        let mut sources = Vec::new();
        if method == Some(Method::Source) {
            if let Some(list) = input.array(&mut v, "sources", true) {
                if list.is_empty() {
                    v.add("sources", "required", "sources names at least one source");
                }
                for (i, raw) in list.iter().enumerate() {
                    let path = format!("sources[{i}]");
                    match raw.as_str() {
                        Some(s) => {
                            if let Some(source) = v.take(LeadSource::parse(&path, s)) {
                                if !sources.contains(&source) {
                                    sources.push(source);
                                }
                            }
                        }
                        None => v.add(path.clone(), "type", format!("{path} must be a string")),
                    }
                }
            }
        }
        v.finish()?;
        match (name, method) {
            (Some(name), Some(method)) => Ok(Self {
                name,
                method,
                users,
                field,
                territories,
                currency,
                min_minor,
                max_minor,
                sources,
                priority,
                is_active,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "invalid",
                "the rule is invalid",
            )),
        }
    }

    /// Every member the rule names, each once.
    pub fn members(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .users
            .iter()
            .chain(self.territories.values().flatten())
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// `key` of `input`: a required list of 1–50 distinct user ids.
fn members(v: &mut Validator, input: &Input<'_>, key: &str) -> Vec<String> {
    let path = input.path(key);
    let Some(list) = input.array(v, key, true) else {
        return Vec::new();
    };
    user_list(v, &path, list)
}

fn user_list(v: &mut Validator, path: &str, list: &[serde_json::Value]) -> Vec<String> {
    if list.is_empty() || list.len() > MAX_USERS {
        v.add(
            path,
            "size",
            format!("{path} names 1 to {MAX_USERS} members"),
        );
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let item = format!("{path}[{i}]");
        let parsed = raw
            .as_str()
            .ok_or_else(|| DomainError::invalid(&item, "type", format!("{item} must be a user id")))
            .and_then(|s| crate::kernel::id::parse(&item, "usr", s));
        if let Some(id) = v.take(parsed) {
            if out.contains(&id) {
                v.add(
                    item.clone(),
                    "duplicate",
                    format!("{item} names a member twice"),
                );
            } else {
                out.push(id);
            }
        }
    }
    out
}

fn territory_map(v: &mut Validator, input: &Input<'_>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    if input.object(v, "territories", true).is_none() {
        return out;
    }
    let Some(map) = input
        .raw("territories")
        .and_then(serde_json::Value::as_object)
    else {
        return out;
    };
    if map.is_empty() || map.len() > MAX_TERRITORIES {
        v.add(
            "territories",
            "size",
            format!("territories holds 1 to {MAX_TERRITORIES} values"),
        );
        return out;
    }
    let mut seen: Vec<String> = Vec::new();
    for (key, users) in map {
        let path = format!("territories.{key}");
        let trimmed = key.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 120 {
            v.add(
                path.clone(),
                "format",
                format!("{path}: a territory's value is 1–120 characters"),
            );
            continue;
        }
        let folded = trimmed.to_lowercase();
        if seen.contains(&folded) {
            v.add(
                path.clone(),
                "duplicate",
                format!("{path} repeats a value (case is ignored)"),
            );
            continue;
        }
        seen.push(folded);
        match users.as_array() {
            Some(list) => {
                let ids = user_list(v, &path, list);
                if !ids.is_empty() {
                    out.insert(trimmed.to_owned(), ids);
                }
            }
            None => v.add(
                path.clone(),
                "type",
                format!("{path} must be a list of user ids"),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "usr_01JD7X3V9T2Q4M8K6P1R5S0W3A";
    const B: &str = "usr_01JD7X3V9T2Q4M8K6P1R5S0W3B";
    const C: &str = "usr_01JD7X3V9T2Q4M8K6P1R5S0W3C";

    fn rule(id: &str, priority: i64, body: serde_json::Value) -> AssignmentRule {
        let input = AssignmentInput::parse(&body).unwrap();
        AssignmentRule {
            id: id.into(),
            name: input.name,
            method: input.method,
            users: input.users,
            field: input.field,
            territories: input.territories,
            currency: input.currency,
            min_minor: input.min_minor,
            max_minor: input.max_minor,
            sources: input.sources,
            priority,
            is_active: input.is_active,
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn lead(country: Option<&str>, budget: Option<i64>, source: LeadSource) -> Lead {
        let mut lead: Lead = serde_json::from_value(json!({
            "id": "led_1", "contact_name": "Ada", "company_name": null, "email": null, "phone": null,
            "title": null, "industry": null, "website": null, "country": country, "company_size": null,
            "budget_minor": budget, "currency": budget.map(|_| "EUR"), "source": "website", "status": "new",
            "score": 0, "owner_id": null, "tags": "[]", "custom_fields": "{}", "notes": null,
            "lost_reason": null, "account_id": null, "deal_id": null, "last_activity_at": null,
            "version": 1, "created_by": "form", "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        lead.source = source;
        lead
    }

    fn router(rules: Vec<AssignmentRule>, eligible: &[&str]) -> Router {
        Router::new(rules, eligible.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_first_matching_rule_by_priority_decides() {
        let territory = rule(
            "asr_1",
            10,
            json!({"name": "EU", "method": "territory", "field": "country",
                   "territories": {"de": [A], "FR": [B, C]}}),
        );
        let big = rule(
            "asr_2",
            20,
            json!({"name": "Big", "method": "value_range", "currency": "EUR", "min_minor": 1_000_000, "users": [C]}),
        );
        let r = router(vec![territory, big], &[A, B, C]);
        let route = r
            .route(
                &lead(Some("FR"), Some(2_000_000), LeadSource::Website),
                None,
            )
            .unwrap();
        assert_eq!(
            (route.rule_id.as_str(), route.candidates.as_slice()),
            ("asr_2", &[C.to_owned()][..])
        );
        let route = r
            .route(&lead(Some("FR"), Some(5), LeadSource::Website), None)
            .unwrap();
        assert_eq!(route.rule_id, "asr_1");
        assert_eq!(route.key, "fr");
        assert_eq!(route.candidates, vec![B.to_owned(), C.to_owned()]);
        // Matching ignores case both ways.
        let route = r
            .route(&lead(Some("DE"), None, LeadSource::Website), None)
            .unwrap();
        assert_eq!(route.candidates, vec![A.to_owned()]);
        // Nothing matches: everyone eligible, sorted.
        let route = r
            .route(&lead(Some("US"), None, LeadSource::Website), None)
            .unwrap();
        assert_eq!(route.rule_id, FALLBACK);
        assert_eq!(route.candidates.len(), 3);
    }

    #[test]
    fn inactive_and_departing_members_are_skipped_and_a_rule_without_any_falls_through() {
        let referrals = rule(
            "asr_1",
            5,
            json!({"name": "Referrals", "method": "source", "sources": ["referral"], "users": [A, B]}),
        );
        let r = router(vec![referrals], &[B, C]);
        let l = lead(None, None, LeadSource::Referral);
        assert_eq!(r.route(&l, None).unwrap().candidates, vec![B.to_owned()]);
        let leaving = r.route(&l, Some(B)).unwrap();
        assert_eq!(leaving.rule_id, FALLBACK);
        assert_eq!(leaving.candidates, vec![C.to_owned()]);
        assert!(router(vec![], &[B]).route(&l, Some(B)).is_none());
    }

    #[test]
    fn turns_pass_evenly_among_the_candidates() {
        let route = Route {
            rule_id: "asr_1".into(),
            key: String::new(),
            candidates: vec![A.into(), B.into(), C.into()],
        };
        let picks: Vec<&str> = (0..6).map(|t| route.pick(t)).collect();
        assert_eq!(picks, vec![A, B, C, A, B, C]);
    }

    #[test]
    fn value_ranges_need_the_same_currency_and_inclusive_bounds() {
        let r = rule(
            "asr_1",
            0,
            json!({"name": "Mid", "method": "value_range", "currency": "EUR", "min_minor": 100, "max_minor": 200, "users": [A]}),
        );
        let r = router(vec![r], &[A, B]);
        for (budget, hit) in [(100, true), (200, true), (99, false), (201, false)] {
            let route = r
                .route(&lead(None, Some(budget), LeadSource::Website), None)
                .unwrap();
            assert_eq!(route.rule_id == "asr_1", hit, "budget {budget}");
        }
    }

    #[test]
    fn bad_rules_name_their_field() {
        let cases = [
            (json!({"name": "x", "method": "round_robin"}), "users"),
            (
                json!({"name": "x", "method": "round_robin", "users": []}),
                "users",
            ),
            (
                json!({"name": "x", "method": "round_robin", "users": [A, A]}),
                "users[1]",
            ),
            (
                json!({"name": "x", "method": "round_robin", "users": ["cli_1"]}),
                "users[0]",
            ),
            (
                json!({"name": "x", "method": "round_robin", "users": [A], "sources": ["event"]}),
                "sources",
            ),
            (
                json!({"name": "x", "method": "territory", "field": "shoe_size", "territories": {"a": [A]}}),
                "field",
            ),
            (
                json!({"name": "x", "method": "territory", "field": "country", "territories": {"DE": [A], "de": [B]}}),
                "territories.de",
            ),
            (
                json!({"name": "x", "method": "value_range", "currency": "EUR", "users": [A]}),
                "min_minor",
            ),
            (
                json!({"name": "x", "method": "value_range", "currency": "EUR", "min_minor": 5, "max_minor": 4, "users": [A]}),
                "max_minor",
            ),
            (
                json!({"name": "x", "method": "source", "sources": ["tv"], "users": [A]}),
                "sources[0]",
            ),
            (json!({"name": "x", "method": "magic"}), "method"),
            (
                json!({"name": "x", "method": "round_robin", "users": [A], "priority": 5000}),
                "priority",
            ),
        ];
        for (body, field) in cases {
            match AssignmentInput::parse(&body) {
                Err(DomainError::Validation(errors)) => assert!(
                    errors.iter().any(|e| e.field == field),
                    "{body}: {errors:?}"
                ),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_departing_members_share_goes_to_the_new_owner() {
        let split = |u: &str, p| Split {
            user_id: u.into(),
            percent: p,
        };
        let splits = [split("usr_a", 60), split("usr_b", 40)];
        assert_eq!(
            hand_over(&splits, "usr_a", "usr_c"),
            vec![split("usr_b", 40), split("usr_c", 60)]
        );
        assert_eq!(
            hand_over(&splits, "usr_a", "usr_b"),
            vec![split("usr_b", 100)]
        );
        assert_eq!(hand_over(&splits, "usr_x", "usr_b"), splits.to_vec());
    }
}
