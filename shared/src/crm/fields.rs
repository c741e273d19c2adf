//! Field readers the CRM's records share: tags, custom fields, calendar dates,
//! amounts of money and people of the firm.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::money::{Currency, MAX_SAFE_MINOR};
use crate::kernel::validate::{text, Input, Validator};

/// Tags a record may carry.
pub const MAX_TAGS: usize = 20;
/// Custom fields a record may carry.
pub const MAX_CUSTOM_FIELDS: usize = 50;

/// `key`: a list of 0–20 tags, each 1–40 characters, kept lower-case, trimmed and
/// without repeats, in the order given.
pub fn tags(v: &mut Validator, input: &Input<'_>, key: &str) -> Option<Vec<String>> {
    let list = input.array(v, key, false)?;
    let path = input.path(key);
    if list.len() > MAX_TAGS {
        v.add(
            path.clone(),
            "too_many",
            format!("{path} holds at most {MAX_TAGS} tags"),
        );
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let item = format!("{path}[{i}]");
        match raw.as_str() {
            Some(s) => {
                if let Some(tag) = v.take(text(&item, s, 1, 40)) {
                    let tag = tag.to_lowercase();
                    if !out.contains(&tag) {
                        out.push(tag);
                    }
                }
            }
            None => v.add(item.clone(), "type", format!("{item} must be a string")),
        }
    }
    Some(out)
}

/// A custom field's value: text, a number or a yes/no.
pub type CustomFields = BTreeMap<String, serde_json::Value>;

/// `key`: an object of up to 50 custom fields named by 1–40 letters, digits and
/// underscores (starting with a letter), each text (≤ 500 characters), a number or a
/// boolean. `null` removes a field in a change.
pub fn custom_fields(v: &mut Validator, input: &Input<'_>, key: &str) -> Option<CustomFields> {
    input.object(v, key, false)?;
    let path = input.path(key);
    let raw = input.raw(key).and_then(serde_json::Value::as_object)?;
    if raw.len() > MAX_CUSTOM_FIELDS {
        v.add(
            path.clone(),
            "too_many",
            format!("{path} holds at most {MAX_CUSTOM_FIELDS} fields"),
        );
        return None;
    }
    let mut out = CustomFields::new();
    for (name, value) in raw {
        let item = format!("{path}.{name}");
        if !is_field_name(name) {
            v.add(
                item.clone(),
                "format",
                format!("{item}: a custom field's name is 1–40 letters, digits and underscores, starting with a letter"),
            );
            continue;
        }
        match value {
            serde_json::Value::String(s) if s.chars().count() <= 500 => {
                out.insert(name.clone(), serde_json::Value::String(s.trim().to_owned()));
            }
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
                out.insert(name.clone(), value.clone());
            }
            _ => v.add(
                item.clone(),
                "type",
                format!("{item} must be text of at most 500 characters, a number or true/false"),
            ),
        }
    }
    Some(out)
}

fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                "format",
                format!("{field} must be a date like 2027-03-31"),
            )
        })
}

/// Reads `key` with `parse` when present: `None` when absent, `Some(None)` for a
/// `null` (clear it), `Some(Some(value))` when it parses (else an error is recorded).
pub fn clearable<T>(
    v: &mut Validator,
    input: &Input<'_>,
    key: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, DomainError>,
) -> Option<Option<T>> {
    if !input.has(key) {
        return None;
    }
    if input.raw(key).is_none() {
        return Some(None);
    }
    let path = input.path(key);
    input
        .string(v, key, false)
        .and_then(|raw| v.take(parse(&path, raw)))
        .map(Some)
}

/// `key`: a date, or `null` to clear it (`Some(None)`).
pub fn date(v: &mut Validator, input: &Input<'_>, key: &str) -> Option<Option<NaiveDate>> {
    clearable(v, input, key, parse_date)
}

/// Parses a two-letter ISO 3166 country code, upper-cased.
pub fn parse_country(field: &str, raw: &str) -> Result<String, DomainError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be a two-letter ISO 3166 country code such as GB"),
        ))
    }
}

/// `key`: a company's employees (1–10,000,000), or `null` to clear it.
pub fn company_size(v: &mut Validator, input: &Input<'_>, key: &str) -> Option<Option<i64>> {
    if !input.has(key) {
        return None;
    }
    if input.raw(key).is_none() {
        return Some(None);
    }
    let path = input.path(key);
    let n = input.integer(v, key, false)?;
    if !(1..=10_000_000).contains(&n) {
        v.add(
            path.clone(),
            "range",
            format!("{path} must be 1 to 10,000,000 employees"),
        );
        return None;
    }
    Some(Some(n))
}

/// `key`: an amount in minor units, 0 up to 2^53 − 1.
pub fn amount(v: &mut Validator, input: &Input<'_>, key: &str, required: bool) -> Option<i64> {
    let value = input.integer(v, key, required)?;
    if !(0..=MAX_SAFE_MINOR).contains(&value) {
        let path = input.path(key);
        v.add(
            path.clone(),
            "range",
            format!("{path} must be a whole number of minor units from 0 to {MAX_SAFE_MINOR}"),
        );
        return None;
    }
    Some(value)
}

/// `key`: an ISO 4217 currency.
pub fn currency(
    v: &mut Validator,
    input: &Input<'_>,
    key: &str,
    required: bool,
) -> Option<Currency> {
    let path = input.path(key);
    input
        .string(v, key, required)
        .and_then(|raw| v.take(Currency::parse(&path, raw)))
}

/// `key`: a person's user id (`usr_…`); whether they are an active member of the
/// firm is the repository's check.
pub fn user(v: &mut Validator, input: &Input<'_>, key: &str, required: bool) -> Option<String> {
    let path = input.path(key);
    input
        .string(v, key, required)
        .and_then(|raw| v.take(crate::kernel::id::parse(&path, "usr", raw)))
}

/// `key`: a record id with `prefix`, or `null` to clear it (`Some(None)`).
pub fn link(
    v: &mut Validator,
    input: &Input<'_>,
    key: &str,
    prefix: &str,
) -> Option<Option<String>> {
    clearable(v, input, key, |field, raw| {
        crate::kernel::id::parse(field, prefix, raw)
    })
}

/// Refuses a span whose last day (`end_on`) comes before its first (`start_on`).
pub fn check_span(start: NaiveDate, end: NaiveDate) -> DomainResult<()> {
    if end < start {
        return Err(DomainError::invalid(
            "end_on",
            "order",
            "end_on must be on or after start_on",
        ));
    }
    Ok(())
}

/// Refuses a change body that names no field of the `what` it changes.
pub fn require_change(creating: bool, empty: bool, what: &str) -> DomainResult<()> {
    if !creating && empty {
        return Err(DomainError::invalid(
            "body",
            "empty",
            format!("name at least one field of the {what} to change"),
        ));
    }
    Ok(())
}

/// `key`: optional text of `1..=max` characters, or `null` to clear it.
pub fn optional_text(
    v: &mut Validator,
    input: &Input<'_>,
    key: &str,
    max: usize,
) -> Option<Option<String>> {
    clearable(v, input, key, |field, raw| text(field, raw, 1, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_are_normalised_and_bounded() {
        let body = json!({"tags": [" VIP ", "vip", "Tax"], "bad": [1], "many": vec!["x"; 21]});
        let input = Input::body(&body).unwrap();
        let mut v = Validator::new();
        assert_eq!(tags(&mut v, &input, "tags").unwrap(), vec!["vip", "tax"]);
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        tags(&mut v, &input, "bad");
        assert!(tags(&mut v, &input, "many").is_none());
        let text = format!("{:?}", v.finish().unwrap_err());
        assert!(
            text.contains("bad[0]") && text.contains("at most 20"),
            "{text}"
        );
    }

    #[test]
    fn custom_fields_take_simple_values_under_plain_names() {
        let body = json!({"cf": {"tier": "gold", "seats": 12, "vat": true, "gone": null,
            "1bad": "x", "nested": {"a": 1}}});
        let input = Input::body(&body).unwrap();
        let mut v = Validator::new();
        let fields = custom_fields(&mut v, &input, "cf").unwrap();
        assert_eq!(fields.get("seats"), Some(&json!(12)));
        assert_eq!(fields.get("gone"), Some(&serde_json::Value::Null));
        let text = format!("{:?}", v.finish().unwrap_err());
        assert!(
            text.contains("cf.1bad") && text.contains("cf.nested"),
            "{text}"
        );
    }

    #[test]
    fn dates_are_calendar_days() {
        assert_eq!(
            parse_date("d", "2027-02-28").unwrap().to_string(),
            "2027-02-28"
        );
        for bad in [
            "2027-02-30",
            "27-02-01",
            "2027-2-1x",
            "2100-02-29",
            "12027-01-01",
        ] {
            assert!(parse_date("d", bad).is_err(), "{bad}");
        }
    }
}
