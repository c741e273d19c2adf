//! A feature flag's definition and the rules that check one a firm admin writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::eval::BUCKETS;
use crate::kernel::error::{DomainError, DomainResult, FieldError};
use crate::kernel::time::Instant;
use crate::wire_enum;

/// Most variants a flag has.
pub const MAX_VARIANTS: usize = 20;
/// Most rules a flag has.
pub const MAX_RULES: usize = 50;
/// Most conditions a rule has.
pub const MAX_CONDITIONS: usize = 20;
/// Most values a condition lists.
pub const MAX_VALUES: usize = 100;
/// A release flag is meant to go: it expires this long after it is made.
pub const RELEASE_LIFETIME_MS: i64 = 90 * 24 * 3_600_000;
/// A flag serving one variant to everyone this long is stale.
pub const STALE_AFTER_MS: i64 = 30 * 24 * 3_600_000;

wire_enum!(
    /// The type of a flag's values.
    FlagType, "of" {
        /// `true` / `false`.
        Boolean = "boolean",
        /// Text.
        String = "string",
        /// A number.
        Number = "number",
        /// Any JSON object.
        Object = "object",
    }
);

wire_enum!(
    /// What a flag is for.
    FlagKind, "of" {
        /// Hides unfinished work; expires 90 days after it is made.
        Release = "release",
        /// Assigns arms of an experiment; its exposures are logged.
        Experiment = "experiment",
        /// An operational switch.
        Ops = "ops",
        /// Grants a capability to some people.
        Permission = "permission",
    }
);

wire_enum!(
    /// How a condition compares the context's attribute with its values.
    Op, "of" {
        /// Equal to one of the values.
        In = "in",
        /// Equal to none of the values.
        NotIn = "not_in",
        /// Equal to the value.
        Eq = "eq",
        /// Not equal to the value.
        Neq = "neq",
        /// Starts with one of the values.
        Prefix = "prefix",
        /// Numerically greater.
        Gt = "gt",
        /// Numerically greater or equal.
        Gte = "gte",
        /// Numerically less.
        Lt = "lt",
        /// Numerically less or equal.
        Lte = "lte",
        /// A later semantic version.
        SemverGt = "semver_gt",
        /// The same or a later semantic version.
        SemverGte = "semver_gte",
        /// An earlier semantic version.
        SemverLt = "semver_lt",
        /// The same or an earlier semantic version.
        SemverLte = "semver_lte",
        /// A time before the value (RFC 3339).
        Before = "before",
        /// A time after the value (RFC 3339).
        After = "after",
    }
);

/// The attributes a condition may test (besides `custom.<name>`).
pub const ATTRIBUTES: &[&str] = &[
    "firm", "tier", "region", "member", "role", "portal", "version",
];

/// One test on the context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// `firm`, `tier`, `region`, `member`, `role`, `portal`, `version` or `custom.<name>`.
    pub attribute: String,
    /// The comparison.
    pub op: Op,
    /// What it compares with.
    pub values: Vec<Value>,
}

/// One variant's share of a split, in basis points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// The variant.
    pub variant: String,
    /// Its share (0–10,000).
    pub weight: u32,
}

/// What a matching rule serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Serve {
    /// One variant.
    Variant(String),
    /// Variants by bucket; the weights sum to 10,000.
    Split(Vec<Share>),
}

/// Conditions (all must hold) and what to serve when they do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// A label for people.
    #[serde(default)]
    pub name: Option<String>,
    /// All must hold (none: always).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What it serves.
    pub serve: Serve,
}

/// A flag as evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// `^[a-z0-9][a-z0-9._-]{1,63}$`.
    pub key: String,
    /// Its values' type.
    #[serde(rename = "type")]
    pub flag_type: FlagType,
    /// What it is for.
    pub kind: FlagKind,
    /// On or off.
    pub enabled: bool,
    /// Named values.
    pub variants: BTreeMap<String, Value>,
    /// Served when on and no rule matches.
    pub default_variant: String,
    /// Served when off.
    pub off_variant: String,
    /// In order; the first that matches decides.
    pub rules: Vec<Rule>,
    /// Salt of its buckets (the key unless set; changing it reshuffles everyone).
    pub salt: String,
    /// Bumped by each change.
    pub version: i64,
}

/// Whether `key` is a well-formed flag key.
pub fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
}

fn valid_variant_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=32).contains(&bytes.len())
        && bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(b))
}

fn type_holds(t: FlagType, v: &Value) -> bool {
    match t {
        FlagType::Boolean => v.is_boolean(),
        FlagType::String => v.as_str().is_some_and(|s| s.chars().count() <= 1_000),
        FlagType::Number => v.is_number(),
        FlagType::Object => v.is_object() && v.to_string().len() <= 10_000,
    }
}

/// Collects the rule violations of a definition, each naming its field.
struct Check(Vec<FieldError>);

impl Check {
    fn fail(&mut self, field: impl Into<String>, rule: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            rule,
            message: message.into(),
        });
    }
}

fn check_condition(c: &Condition, at: &str, check: &mut Check) {
    let custom = c
        .attribute
        .strip_prefix("custom.")
        .is_some_and(|k| valid_variant_name(&k.replace('.', "_")));
    if !ATTRIBUTES.contains(&c.attribute.as_str()) && !custom {
        check.fail(
            format!("{at}.attribute"),
            "enum",
            format!(
                "attribute must be one of {} or custom.<name>",
                ATTRIBUTES.join(", ")
            ),
        );
    }
    if c.values.is_empty() || c.values.len() > MAX_VALUES {
        check.fail(
            format!("{at}.values"),
            "length",
            format!("a condition lists 1 to {MAX_VALUES} values"),
        );
    }
    let single = !matches!(c.op, Op::In | Op::NotIn | Op::Prefix);
    if single && c.values.len() > 1 {
        check.fail(
            format!("{at}.values"),
            "length",
            format!("{} compares with one value", c.op.name()),
        );
    }
    let first = c.values.first();
    let ok = match c.op {
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => first.is_some_and(Value::is_number),
        Op::SemverGt | Op::SemverGte | Op::SemverLt | Op::SemverLte => first
            .and_then(Value::as_str)
            .is_some_and(|s| semver::Version::parse(s).is_ok()),
        Op::Before | Op::After => first
            .and_then(Value::as_str)
            .is_some_and(|s| Instant::parse("value", s).is_ok()),
        _ => c
            .values
            .iter()
            .all(|v| v.is_string() || v.is_number() || v.is_boolean()),
    };
    if !ok {
        let what = match c.op {
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => "a number",
            Op::SemverGt | Op::SemverGte | Op::SemverLt | Op::SemverLte => {
                "a semantic version (1.2.3)"
            }
            Op::Before | Op::After => "an RFC 3339 time",
            _ => "strings, numbers or booleans",
        };
        check.fail(
            format!("{at}.values"),
            "format",
            format!("{} compares with {what}", c.op.name()),
        );
    }
}

impl Flag {
    /// Checks a whole definition; a 422 naming every broken field.
    pub fn validate(&self) -> DomainResult<()> {
        let mut check = Check(Vec::new());
        if !valid_key(&self.key) {
            check.fail(
                "key",
                "format",
                "key is 2–64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            );
        }
        if self.variants.is_empty() || self.variants.len() > MAX_VARIANTS {
            check.fail(
                "variants",
                "length",
                format!("a flag has 1 to {MAX_VARIANTS} variants"),
            );
        }
        for (name, value) in &self.variants {
            if !valid_variant_name(name) {
                check.fail(
                    format!("variants.{name}"),
                    "format",
                    "a variant name is 1–32 of a-z, 0-9, '_', '-'",
                );
            }
            if !type_holds(self.flag_type, value) {
                check.fail(
                    format!("variants.{name}"),
                    "type",
                    format!(
                        "a {} flag's variants are {} values",
                        self.flag_type.name(),
                        self.flag_type.name()
                    ),
                );
            }
        }
        for (field, name) in [
            ("default_variant", &self.default_variant),
            ("off_variant", &self.off_variant),
        ] {
            if !self.variants.contains_key(name) {
                check.fail(
                    field,
                    "exists",
                    format!("{field} must name one of the variants"),
                );
            }
        }
        if self.rules.len() > MAX_RULES {
            check.fail(
                "rules",
                "length",
                format!("a flag has at most {MAX_RULES} rules"),
            );
        }
        if self.salt.is_empty() || self.salt.len() > 64 {
            check.fail("salt", "length", "salt is 1–64 characters");
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let at = format!("rules[{i}]");
            if rule.conditions.len() > MAX_CONDITIONS {
                check.fail(
                    format!("{at}.conditions"),
                    "length",
                    format!("a rule has at most {MAX_CONDITIONS} conditions"),
                );
            }
            if rule.name.as_ref().is_some_and(|n| n.chars().count() > 100) {
                check.fail(
                    format!("{at}.name"),
                    "length",
                    "a rule name is at most 100 characters",
                );
            }
            for (j, c) in rule.conditions.iter().enumerate() {
                check_condition(c, &format!("{at}.conditions[{j}]"), &mut check);
            }
            match &rule.serve {
                Serve::Variant(v) if !self.variants.contains_key(v) => check.fail(
                    format!("{at}.serve.variant"),
                    "exists",
                    "serve.variant must name one of the variants",
                ),
                Serve::Variant(_) => {}
                Serve::Split(shares) => {
                    let total: u64 = shares.iter().map(|s| u64::from(s.weight)).sum();
                    if shares.is_empty() || total != u64::from(BUCKETS) {
                        check.fail(
                            format!("{at}.serve.split"),
                            "sum",
                            "a split's weights are basis points summing to 10000",
                        );
                    }
                    for (j, s) in shares.iter().enumerate() {
                        if !self.variants.contains_key(&s.variant) {
                            check.fail(
                                format!("{at}.serve.split[{j}].variant"),
                                "exists",
                                "a share must name one of the variants",
                            );
                        }
                    }
                }
            }
        }
        if check.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(check.0))
        }
    }

    /// The one variant everyone gets, if the flag can serve only one.
    pub fn single_variant(&self) -> Option<&str> {
        if !self.enabled {
            return Some(&self.off_variant);
        }
        let mut served = std::collections::BTreeSet::new();
        served.insert(self.default_variant.as_str());
        for rule in &self.rules {
            match &rule.serve {
                Serve::Variant(v) => {
                    served.insert(v.as_str());
                }
                Serve::Split(shares) => {
                    for s in shares.iter().filter(|s| s.weight > 0) {
                        served.insert(s.variant.as_str());
                    }
                }
            }
        }
        (served.len() == 1)
            .then(|| served.into_iter().next())
            .flatten()
    }
}
