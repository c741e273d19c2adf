//! Optimistic concurrency: a resource's `version` is shown as a strong entity tag,
//! and an update names the version it read in `If-Match` (RFC 9110 §13.1.1).

use super::error::DomainError;

/// The entity tag of `version`.
pub fn of(version: i64) -> String {
    format!("\"{version}\"")
}

/// Parses an `If-Match` header into the version it names (absent or `*` means any).
pub fn parse_if_match(raw: Option<&str>) -> Result<Option<i64>, DomainError> {
    match raw.map(str::trim) {
        None | Some("*") => Ok(None),
        Some(tag) => tag
            .strip_prefix("W/")
            .unwrap_or(tag)
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|digits| {
                (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            })
            .and_then(|digits| digits.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| {
                DomainError::invalid(
                    "If-Match",
                    "format",
                    "If-Match must be an etag returned by this API (\"7\") or *",
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_names_a_version() {
        assert_eq!(parse_if_match(None).unwrap(), None);
        assert_eq!(parse_if_match(Some("*")).unwrap(), None);
        assert_eq!(parse_if_match(Some(&of(3))).unwrap(), Some(3));
        assert_eq!(parse_if_match(Some("W/\"3\"")).unwrap(), Some(3));
        for bad in ["\"abc\"", "3", "\"-3\"", "\"+3\"", "W/3", "\"3", "\"\"", ""] {
            assert!(parse_if_match(Some(bad)).is_err(), "{bad} accepted");
        }
    }
}
