//! A firm as stored and as shown.

use serde::{Deserialize, Serialize};

use crate::kernel::error::DomainError;

/// Where a firm is in its subscription life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirmStatus {
    /// New, on the trial plan.
    Trial,
    /// Paying.
    Active,
    /// Members may sign in and read, nothing else.
    Suspended,
    /// Offboarding has started.
    Canceled,
}

/// Plan, which sets the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 5 members, 25 clients, 10 GB.
    Starter,
    /// Larger limits.
    Professional,
    /// Largest limits.
    Enterprise,
}

/// A firm's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firm {
    /// `frm_…`
    pub id: String,
    /// Display name (not unique).
    pub name: String,
    /// Unique handle (portal subdomain).
    pub slug: String,
    /// Subscription status.
    pub status: FirmStatus,
    /// Plan.
    pub tier: Tier,
    /// IANA zone for everything the firm schedules.
    pub timezone: String,
    /// ISO 4217 default currency.
    pub currency: String,
    /// BCP 47 locale for formatting.
    pub locale: String,
    /// First month of the fiscal year (1–12).
    pub fiscal_year_start_month: i64,
    /// Brand colour `#rrggbb` for the portal (`None`: Firmament's).
    pub brand_color: Option<String>,
    /// End of the trial (Unix ms).
    pub trial_ends_at: Option<i64>,
    /// When background provisioning finished (Unix ms).
    pub provisioned_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Optimistic-concurrency version; the etag is derived from it.
    pub version: i64,
}

/// Length of the free trial.
pub const TRIAL_DAYS: i64 = 30;

impl Firm {
    /// The strong entity tag of this version, as sent in `ETag` and expected in `If-Match`.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

/// Checks a slug: 3–63 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn parse_slug(field: &str, raw: &str) -> Result<String, DomainError> {
    let slug = raw.trim();
    if !(3..=63).contains(&slug.len()) {
        return Err(DomainError::invalid(
            field,
            "length",
            format!("{field} must be 3 to 63 characters"),
        ));
    }
    let charset_ok = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !charset_ok || slug.starts_with('-') || slug.ends_with('-') {
        return Err(DomainError::invalid(
            field,
            "format",
            format!("{field} may hold only a-z, 0-9 and '-', and must not start or end with '-'"),
        ));
    }
    Ok(slug.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        assert_eq!(parse_slug("slug", "acme-llp").unwrap(), "acme-llp");
        for bad in [
            "ab",
            "Acme",
            "acme_llp",
            "-acme",
            "acme-",
            &"a".repeat(64),
            "acmé",
        ] {
            assert!(parse_slug("slug", bad).is_err(), "{bad}");
        }
    }
}
