//! Evaluating a flag for a context, as OpenFeature resolves one: a value, the
//! variant that gave it, why (`reason`), and an error code when the caller's
//! default was answered instead.

use serde::Serialize;
use serde_json::Value;

use super::model::{Condition, Flag, FlagType, Op, Serve};
use crate::kernel::time::Instant;
use semver::Version;

/// Buckets of a split: a rollout is stated in basis points.
pub const BUCKETS: u32 = 10_000;

/// Who and where a flag is evaluated for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Context {
    /// The firm (`frm_…`).
    pub firm: String,
    /// The firm's plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The firm's data region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The person (`usr_…`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Their role (a staff role or a portal role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether they are a client portal user.
    #[serde(default)]
    pub portal: bool,
    /// The client application's version (semver), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Anything else the caller knows (`custom.<name>` in conditions).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub custom: serde_json::Map<String, Value>,
}

impl Context {
    /// The value of a condition's attribute, if the context has it.
    fn attribute(&self, name: &str) -> Option<Value> {
        match name {
            "firm" => Some(Value::from(self.firm.as_str())),
            "tier" => self.tier.as_deref().map(Value::from),
            "region" => self.region.as_deref().map(Value::from),
            "member" => self.member.as_deref().map(Value::from),
            "role" => self.role.as_deref().map(Value::from),
            "portal" => Some(Value::Bool(self.portal)),
            "version" => self.version.as_deref().map(Value::from),
            other => other
                .strip_prefix("custom.")
                .and_then(|k| self.custom.get(k).cloned()),
        }
    }

    /// Who a split buckets: the person when there is one, else the firm (so a
    /// firm-wide rollout moves whole firms).
    pub fn subject(&self) -> &str {
        self.member.as_deref().unwrap_or(&self.firm)
    }
}

/// Why a value was answered (OpenFeature's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The flag has no rules: its default for everyone.
    Static,
    /// A rule's conditions matched and it names a variant.
    TargetingMatch,
    /// A split assigned the variant by bucket.
    Split,
    /// No rule matched: the flag's default.
    Default,
    /// The flag is off: its off variant.
    Disabled,
    /// The caller's default, with an error code.
    Error,
}

/// OpenFeature's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No such flag.
    FlagNotFound,
    /// The flag's type is not the one asked for.
    TypeMismatch,
    /// A split needs a subject and the context has none.
    TargetingKeyMissing,
    /// The snapshot could not be read.
    General,
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The flag's key.
    pub flag_key: String,
    /// The value answered.
    pub value: Value,
    /// The variant that gave it (`None` when the caller's default was answered).
    pub variant: Option<String>,
    /// Why.
    pub reason: Reason,
    /// What went wrong, with reason `ERROR`.
    pub error_code: Option<ErrorCode>,
    /// The bucket (0–9,999) a split put the subject in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<u32>,
    /// The flag's version that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_version: Option<i64>,
}

impl Resolution {
    /// The caller's default, with `code`.
    pub fn error(key: &str, default: Value, code: ErrorCode) -> Self {
        Self {
            flag_key: key.to_owned(),
            value: default,
            variant: None,
            reason: Reason::Error,
            error_code: Some(code),
            bucket: None,
            flag_version: None,
        }
    }

    /// The value as a boolean (`false` unless it is `true`).
    pub fn is_on(&self) -> bool {
        self.value == Value::Bool(true)
    }
}

/// The bucket of `subject` for a flag salted `salt`: MurmurHash3 x86 32-bit (seed
/// 0) of `<salt>:<subject>`, modulo 10,000. The browser client computes the same.
pub fn bucket(salt: &str, subject: &str) -> u32 {
    let text = format!("{salt}:{subject}");
    murmur3::murmur3_32(&mut std::io::Cursor::new(text.as_bytes()), 0).unwrap_or(0) % BUCKETS
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn instant_of(v: &Value) -> Option<i64> {
    as_text(v).and_then(|t| Instant::parse("value", &t).ok().map(Instant::millis))
}

/// Whether `condition` holds for `ctx`. An attribute the context lacks matches
/// only `not_in` and `neq`.
pub fn matches(condition: &Condition, ctx: &Context) -> bool {
    let Some(actual) = ctx.attribute(&condition.attribute) else {
        return matches!(condition.op, Op::NotIn | Op::Neq);
    };
    let equal =
        |v: &Value| v == &actual || (as_text(v).is_some() && as_text(v) == as_text(&actual));
    let any = |test: &dyn Fn(&Value) -> bool| condition.values.iter().any(test);
    match condition.op {
        Op::In | Op::Eq => any(&equal),
        Op::NotIn | Op::Neq => !any(&equal),
        Op::Prefix => {
            let text = as_text(&actual).unwrap_or_default();
            any(&|v| as_text(v).is_some_and(|p| text.starts_with(&p)))
        }
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let (Some(a), Some(b)) = (
                as_number(&actual),
                condition.values.first().and_then(as_number),
            ) else {
                return false;
            };
            compare(condition.op, a.partial_cmp(&b))
        }
        Op::SemverGt | Op::SemverGte | Op::SemverLt | Op::SemverLte => {
            let a = as_text(&actual).and_then(|t| Version::parse(&t).ok());
            let b = condition
                .values
                .first()
                .and_then(as_text)
                .and_then(|t| Version::parse(&t).ok());
            let (Some(a), Some(b)) = (a, b) else {
                return false;
            };
            compare(condition.op, Some(a.cmp(&b)))
        }
        Op::Before | Op::After => {
            let (Some(a), Some(b)) = (
                instant_of(&actual),
                condition.values.first().and_then(instant_of),
            ) else {
                return false;
            };
            compare(condition.op, Some(a.cmp(&b)))
        }
    }
}

fn compare(op: Op, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    matches!(
        (op, ordering),
        (Op::Gt | Op::SemverGt | Op::After, Some(Greater))
            | (Op::Gte | Op::SemverGte, Some(Greater | Equal))
            | (Op::Lt | Op::SemverLt | Op::Before, Some(Less))
            | (Op::Lte | Op::SemverLte, Some(Less | Equal))
    )
}

/// Evaluates `flag` (or its absence) for `ctx`, answering `default` on error. With
/// `want`, a flag of another type is a `TYPE_MISMATCH`.
pub fn evaluate(
    key: &str,
    flag: Option<&Flag>,
    ctx: &Context,
    want: Option<FlagType>,
    default: Value,
) -> Resolution {
    let Some(flag) = flag else {
        return Resolution::error(key, default, ErrorCode::FlagNotFound);
    };
    if want.is_some_and(|t| t != flag.flag_type) {
        return Resolution::error(key, default, ErrorCode::TypeMismatch);
    }
    let answer = |variant: &str, reason: Reason, bucket: Option<u32>| Resolution {
        flag_key: key.to_owned(),
        value: flag.variants.get(variant).cloned().unwrap_or(Value::Null),
        variant: Some(variant.to_owned()),
        reason,
        error_code: None,
        bucket,
        flag_version: Some(flag.version),
    };
    if !flag.enabled {
        return answer(&flag.off_variant, Reason::Disabled, None);
    }
    if flag.rules.is_empty() {
        return answer(&flag.default_variant, Reason::Static, None);
    }
    for rule in &flag.rules {
        if !rule.conditions.iter().all(|c| matches(c, ctx)) {
            continue;
        }
        return match &rule.serve {
            Serve::Variant(v) => answer(v, Reason::TargetingMatch, None),
            Serve::Split(shares) => {
                if ctx.subject().is_empty() {
                    return Resolution::error(key, default, ErrorCode::TargetingKeyMissing);
                }
                let b = bucket(&flag.salt, ctx.subject());
                // Buckets are handed out in the order of the shares: widening the
                // first share only adds buckets to it, so nobody already in it leaves.
                let mut upper = 0;
                let chosen = shares
                    .iter()
                    .find(|s| {
                        upper += s.weight;
                        b < upper
                    })
                    .or(shares.last());
                match chosen {
                    Some(s) => answer(&s.variant, Reason::Split, Some(b)),
                    None => answer(&flag.default_variant, Reason::Default, None),
                }
            }
        };
    }
    answer(&flag.default_variant, Reason::Default, None)
}
