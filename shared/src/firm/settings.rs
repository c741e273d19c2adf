//! Changes to a firm's settings: only the fields named change, and only when the
//! caller saw the current version (`If-Match`).

use crate::kernel::error::DomainResult;
use crate::kernel::money::Currency;
use crate::kernel::time::TimeZone;
use crate::kernel::validate::{text, Input, Validator};

/// A checked change; `None` fields stay as they are.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FirmPatch {
    /// New display name.
    pub name: Option<String>,
    /// New IANA zone.
    pub timezone: Option<String>,
    /// New ISO 4217 currency.
    pub currency: Option<String>,
    /// New BCP 47 locale.
    pub locale: Option<String>,
    /// New fiscal-year start month.
    pub fiscal_year_start_month: Option<i64>,
}

impl FirmPatch {
    /// Reads `{"name"?, "timezone"?, "currency"?, "locale"?, "fiscal_year_start_month"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &[
                "name",
                "timezone",
                "currency",
                "locale",
                "fiscal_year_start_month",
            ],
        );
        let name = input
            .string(&mut v, "name", false)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let timezone = input
            .string(&mut v, "timezone", false)
            .and_then(|s| v.take(TimeZone::parse("timezone", s)))
            .map(|tz| tz.name().to_owned());
        let currency = input
            .string(&mut v, "currency", false)
            .and_then(|s| v.take(Currency::parse("currency", s)))
            .map(|c| c.code().to_owned());
        let locale = input
            .string(&mut v, "locale", false)
            .and_then(|s| v.take(parse_locale(s)));
        let fiscal_year_start_month = input.integer(&mut v, "fiscal_year_start_month", false);
        if fiscal_year_start_month.is_some_and(|m| !(1..=12).contains(&m)) {
            v.add(
                "fiscal_year_start_month",
                "range",
                "fiscal_year_start_month must be from 1 to 12",
            );
        }
        v.finish()?;
        let patch = Self {
            name,
            timezone,
            currency,
            locale,
            fiscal_year_start_month,
        };
        if patch == Self::default() {
            return Err(crate::DomainError::invalid(
                "body",
                "empty",
                "name at least one field to change",
            ));
        }
        Ok(patch)
    }
}

/// A BCP 47 tag of the simple shape `ll` or `ll-RR` (`en`, `en-GB`, `pt-BR`).
fn parse_locale(raw: &str) -> DomainResult<String> {
    let tag = raw.trim();
    let mut parts = tag.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase()));
    let region_ok = parts
        .next()
        .is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    if lang_ok && region_ok && parts.next().is_none() {
        Ok(tag.to_owned())
    } else {
        Err(crate::DomainError::invalid(
            "locale",
            "format",
            "locale must be a language tag such as en-US",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_checks_every_field() {
        let p = FirmPatch::parse(&json!({"timezone": "Europe/London", "currency": "gbp"})).unwrap();
        assert_eq!(p.timezone.as_deref(), Some("Europe/London"));
        assert_eq!(p.currency.as_deref(), Some("GBP"));
        assert!(FirmPatch::parse(&json!({})).is_err());
        assert!(FirmPatch::parse(&json!({"timezone": "Nowhere/Town"})).is_err());
        assert!(FirmPatch::parse(&json!({"slug": "new"})).is_err());
        assert!(FirmPatch::parse(&json!({"fiscal_year_start_month": 13})).is_err());
        assert!(FirmPatch::parse(&json!({"locale": "english"})).is_err());
        assert_eq!(
            FirmPatch::parse(&json!({"locale": "en-GB"}))
                .unwrap()
                .locale
                .as_deref(),
            Some("en-GB")
        );
    }
}
