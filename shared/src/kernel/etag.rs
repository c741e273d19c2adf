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
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse::<i64>()
            .map(Some)
            .map_err(|_| {
                DomainError::invalid(
                    "If-Match",
                    "format",
                    "If-Match must be an etag returned by this API",
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
        assert!(parse_if_match(Some("\"abc\"")).is_err());
    }
}
