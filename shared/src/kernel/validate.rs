//! Parse, don't validate: helpers that turn raw input into checked values while
//! collecting every field's problem, so one response names them all.

use super::error::{DomainError, FieldError};

/// Collects field errors across a whole input before failing once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a broken rule for `field`.
    pub fn add(
        &mut self,
        field: impl Into<String>,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        self.errors.push(FieldError {
            field: field.into(),
            rule,
            message: message.into(),
        });
    }

    /// Keeps the value of a successful parse, or records its errors and yields `None`.
    pub fn take<T>(&mut self, parsed: Result<T, DomainError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(DomainError::Validation(errs)) => {
                self.errors.extend(errs);
                None
            }
            Err(other) => {
                self.add("", "invalid", other.to_string());
                None
            }
        }
    }

    /// Ok when no rule was broken.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.errors))
        }
    }
}

/// Trims `raw` and checks its length in characters is within `min..=max`.
pub fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let value = raw.trim();
    let len = value.chars().count();
    if len == 0 && min > 0 {
        return Err(DomainError::invalid(
            field,
            "required",
            format!("{field} must not be empty"),
        ));
    }
    if len < min {
        return Err(DomainError::invalid(
            field,
            "too_short",
            format!("{field} must be at least {min} characters"),
        ));
    }
    if len > max {
        return Err(DomainError::invalid(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An e-mail address, lower-cased, checked for the shape `local@domain.tld`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address; the rule is deliberately simple (RFC 5321 lengths, one `@`,
    /// a dotted domain) because the real check is the verification mail.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let value = raw.trim().to_lowercase();
        let bad = || {
            DomainError::invalid(
                field,
                "format",
                format!("{field} must be an e-mail address like name@example.com"),
            )
        };
        if value.len() > 254 {
            return Err(DomainError::invalid(
                field,
                "too_long",
                format!("{field} must be at most 254 characters"),
            ));
        }
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@');
        if domain_ok && local_ok {
            Ok(Self(value))
        } else {
            Err(bad())
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A JSON number that is a whole number: `3`, and `3.0` too (JSON does not tell
/// them apart, and JSON Schema calls both integers), within ±2^53.
fn whole_number(value: &serde_json::Value) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
            .and_then(|f| format!("{f:.0}").parse().ok())
    })
}

/// A JSON object from a request body, read field by field so that every problem is
/// reported with its dotted path (`owner.email`) and rule.
pub struct Input<'a> {
    obj: &'a serde_json::Map<String, serde_json::Value>,
    prefix: String,
}

impl<'a> Input<'a> {
    /// The request body, which must be a JSON object.
    pub fn body(value: &'a serde_json::Value) -> Result<Self, DomainError> {
        value
            .as_object()
            .map(|obj| Self {
                obj,
                prefix: String::new(),
            })
            .ok_or_else(|| {
                DomainError::invalid("body", "type", "the request body must be a JSON object")
            })
    }

    /// The dotted path of `key` under this object.
    pub fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Reads `key` as a `T` with `convert`: absent is `None` (an error if required),
    /// a value of the wrong type is `None` with a `type` error saying `what`. `null`
    /// is a value, and the wrong one: an optional field is left out, not sent empty
    /// (the few fields that `null` clears are read with [`Self::has`] and
    /// [`Self::raw`]), so a body means exactly one thing and the API document can
    /// say which bodies are valid.
    fn typed<T>(
        &self,
        v: &mut Validator,
        key: &str,
        required: bool,
        what: &str,
        convert: impl FnOnce(&'a serde_json::Value) -> Option<T>,
    ) -> Option<T> {
        let path = self.path(key);
        match self.obj.get(key) {
            None => {
                if required {
                    v.add(path.clone(), "required", format!("{path} is required"));
                }
                None
            }
            Some(serde_json::Value::Null) => {
                if required {
                    v.add(path.clone(), "required", format!("{path} is required"));
                } else {
                    v.add(
                        path.clone(),
                        "type",
                        format!("{path} must be {what}; leave it out rather than send null"),
                    );
                }
                None
            }
            Some(value) => {
                let converted = convert(value);
                if converted.is_none() {
                    v.add(path.clone(), "type", format!("{path} must be {what}"));
                }
                converted
            }
        }
    }

    /// A nested object; `None` (with an error recorded) when absent-but-required or not an object.
    pub fn object(&self, v: &mut Validator, key: &str, required: bool) -> Option<Input<'a>> {
        let prefix = format!("{}.", self.path(key));
        self.typed(v, key, required, "an object", |value| {
            value.as_object().map(|obj| Input { obj, prefix })
        })
    }

    /// A string field; `None` when absent (recorded as an error if required) or not a string.
    pub fn string(&self, v: &mut Validator, key: &str, required: bool) -> Option<&'a str> {
        self.typed(v, key, required, "a string", serde_json::Value::as_str)
    }

    /// An integer field; `None` when absent (recorded if required) or not an integer.
    pub fn integer(&self, v: &mut Validator, key: &str, required: bool) -> Option<i64> {
        self.typed(v, key, required, "a whole number", whole_number)
    }

    /// An integer field within `range`; out of it is a `range` error naming the bounds.
    pub fn integer_in(
        &self,
        v: &mut Validator,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        required: bool,
    ) -> Option<i64> {
        let value = self.integer(v, key, required)?;
        if !range.contains(&value) {
            let path = self.path(key);
            v.add(
                path.clone(),
                "range",
                format!("{path} must be {} to {}", range.start(), range.end()),
            );
            return None;
        }
        Some(value)
    }

    /// A `true`/`false` field; `None` when absent (recorded if required) or not a boolean.
    pub fn boolean(&self, v: &mut Validator, key: &str, required: bool) -> Option<bool> {
        self.typed(
            v,
            key,
            required,
            "true or false",
            serde_json::Value::as_bool,
        )
    }

    /// A list field; `None` when absent (recorded if required) or not a list.
    pub fn array(
        &self,
        v: &mut Validator,
        key: &str,
        required: bool,
    ) -> Option<&'a Vec<serde_json::Value>> {
        self.typed(v, key, required, "a list", serde_json::Value::as_array)
    }

    /// Whether `key` is present (a `null` counts: it asks to clear the field).
    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    /// The raw value of `key`, when present and not `null`.
    pub fn raw(&self, key: &str) -> Option<&'a serde_json::Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    /// Records every field that is not in `known`, so typos are not silently ignored.
    pub fn reject_unknown(&self, v: &mut Validator, known: &[&str]) {
        for key in self.obj.keys() {
            if !known.contains(&key.as_str()) {
                v.add(
                    self.path(key),
                    "unknown",
                    format!("{} is not a field of this request", self.path(key)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Acme  ", 1, 10).unwrap(), "Acme");
        assert!(
            matches!(text("name", "   ", 1, 10), Err(DomainError::Validation(e)) if e[0].rule == "required")
        );
        assert!(
            matches!(text("name", "abcdefghijk", 1, 10), Err(DomainError::Validation(e)) if e[0].rule == "too_long")
        );
        assert!(
            matches!(text("name", "a\u{7}b", 1, 10), Err(DomainError::Validation(e)) if e[0].rule == "format")
        );
    }

    #[test]
    fn email_addresses_are_normalised_or_refused() {
        assert_eq!(
            EmailAddress::parse("email", " Ada@Example.COM ")
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@.com",
            "a b@example.com",
            "ada@exa..mple.com",
        ] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn input_reports_dotted_paths() {
        let body = serde_json::json!({"name": 5, "owner": {"email": "x"}, "extra": true});
        let input = Input::body(&body).unwrap();
        let mut v = Validator::new();
        assert!(input.string(&mut v, "name", true).is_none());
        let owner = input.object(&mut v, "owner", true).unwrap();
        assert_eq!(owner.string(&mut v, "email", true), Some("x"));
        assert!(owner.string(&mut v, "password", true).is_none());
        input.reject_unknown(&mut v, &["name", "owner"]);
        match v.finish() {
            Err(DomainError::Validation(errs)) => {
                let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.rule)).collect();
                assert_eq!(
                    got,
                    [
                        ("name", "type"),
                        ("owner.password", "required"),
                        ("extra", "unknown")
                    ]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Input::body(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn null_is_a_value_and_whole_floats_are_integers() {
        let body = serde_json::json!({"name": null, "count": 3.0, "half": 2.5, "big": 1e300});
        let input = Input::body(&body).unwrap();
        let mut v = Validator::new();
        assert_eq!(input.string(&mut v, "name", false), None);
        assert_eq!(input.integer(&mut v, "count", true), Some(3));
        assert_eq!(input.integer(&mut v, "half", true), None);
        assert_eq!(input.integer(&mut v, "big", true), None);
        match v.finish() {
            Err(DomainError::Validation(errs)) => {
                let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.rule)).collect();
                assert_eq!(got, [("name", "type"), ("half", "type"), ("big", "type")]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn validator_collects_every_error() {
        let mut v = Validator::new();
        assert!(v.take(text("a", "", 1, 5)).is_none());
        assert!(v.take(text("b", "ok", 1, 5)).is_some());
        assert!(v.take(EmailAddress::parse("c", "nope")).is_none());
        match v.finish() {
            Err(DomainError::Validation(errs)) => {
                let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["a", "c"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
