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
    /// New brand colour (`Some(None)` goes back to Firmament's).
    pub brand_color: Option<Option<String>>,
}

impl FirmPatch {
    /// Reads `{"name"?, "timezone"?, "currency"?, "locale"?, "fiscal_year_start_month"?,
    /// "brand_color"?}`.
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
                "brand_color",
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
        let brand_color = match body.get("brand_color") {
            None => None,
            Some(serde_json::Value::Null) => Some(None),
            Some(_) => input
                .string(&mut v, "brand_color", false)
                .and_then(|s| v.take(parse_brand_color("brand_color", s)))
                .map(Some),
        };
        v.finish()?;
        let patch = Self {
            name,
            timezone,
            currency,
            locale,
            fiscal_year_start_month,
            brand_color,
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

/// The contrast WCAG 2.1 AA asks of normal text against its background.
pub const MIN_CONTRAST: f64 = 4.5;

/// A brand colour `#rrggbb` (lower-cased) that white text on it can be read
/// against: its contrast with white must reach [`MIN_CONTRAST`], since the portal
/// writes its buttons and header in white on the firm's colour.
pub fn parse_brand_color(field: &str, raw: &str) -> DomainResult<String> {
    let hex = raw.trim().to_ascii_lowercase();
    let rgb = hex
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .and_then(|h| u32::from_str_radix(h, 16).ok());
    let Some(rgb) = rgb else {
        return Err(crate::DomainError::invalid(
            field,
            "format",
            format!("{field} must be a colour such as #1d4ed8"),
        ));
    };
    let contrast = contrast_with_white(rgb);
    if contrast < MIN_CONTRAST {
        return Err(crate::DomainError::invalid(
            field,
            "contrast",
            format!(
                "{field} {hex} is too light for white text ({contrast:.1}:1; at least {MIN_CONTRAST}:1 is needed)"
            ),
        ));
    }
    Ok(hex)
}

/// The WCAG contrast ratio of white against the colour `0xrrggbb`.
pub fn contrast_with_white(rgb: u32) -> f64 {
    let channel = |shift: u32| {
        let c = f64::from((rgb >> shift) & 0xff) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0);
    1.05 / (luminance + 0.05)
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
    fn a_brand_colour_must_carry_white_text() {
        // WebAIM's checker: white on #1d4ed8 is 6.70:1, on #767676 4.54:1, on #777777 4.48:1.
        assert!((contrast_with_white(0x1d4ed8) - 6.70).abs() < 0.01);
        assert!((contrast_with_white(0x767676) - 4.54).abs() < 0.01);
        assert_eq!(parse_brand_color("c", " #1D4ED8 ").unwrap(), "#1d4ed8");
        assert!(parse_brand_color("c", "#767676").is_ok());
        let light = format!("{:?}", parse_brand_color("c", "#777777").unwrap_err());
        assert!(
            light.contains("contrast") && light.contains("4.5"),
            "{light}"
        );
        for bad in ["1d4ed8", "#1d4ed", "#gggggg", "blue", ""] {
            assert!(parse_brand_color("c", bad).is_err(), "{bad}");
        }
        let patch = FirmPatch::parse(&json!({"brand_color": null})).unwrap();
        assert_eq!(patch.brand_color, Some(None));
    }

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
