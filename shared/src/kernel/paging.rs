//! Cursor pagination: a stable sort key, an opaque cursor after the last item seen.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use super::error::DomainError;

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 25;
/// Most items one page may hold.
pub const MAX_LIMIT: u32 = 100;

/// A checked page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to return.
    pub limit: u32,
    /// Sort key of the last item already seen, if any.
    pub after: Option<String>,
}

impl PageRequest {
    /// Parses `limit` and `cursor` query parameters.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None | Some("") => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(DomainError::invalid(
                        "limit",
                        "range",
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        let after = match cursor {
            None | Some("") => None,
            Some(raw) => Some(decode_cursor(raw)?),
        };
        Ok(Self { limit, after })
    }

    /// Rows to fetch: one more than the limit tells whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items, in the list's stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts the extra row fetched by [`PageRequest::fetch_limit`] and makes the cursor.
    pub fn from_rows(mut rows: Vec<T>, req: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let limit = req.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_cursor(raw: &str) -> Result<String, DomainError> {
    // Any well-formed cursor is taken: one not made here is just a position
    // between keys, which pages on from there.
    URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or_else(|| {
            DomainError::invalid(
                "cursor",
                "format",
                "cursor must be a value returned as next_cursor",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("101"), None).is_err());
        assert!(PageRequest::parse(Some("x"), None).is_err());
        assert!(PageRequest::parse(None, Some("!!!")).is_err());
    }

    #[test]
    fn pages_carry_a_cursor_only_when_more_exist() {
        let req = PageRequest::parse(Some("2"), None).unwrap();
        let page = Page::from_rows(vec!["a", "b", "c"], &req, |s| s.to_string());
        assert_eq!(page.items, ["a", "b"]);
        let next = PageRequest::parse(None, page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        let last = Page::from_rows(vec!["c"], &req, |s| s.to_string());
        assert!(last.next_cursor.is_none());
    }
}
