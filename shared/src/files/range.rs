//! The `Range` header of a download (RFC 9110 §14): one byte range, as a start
//! and a length within the object. Several ranges are answered with the whole
//! object (a server may); a range that starts past the end is unsatisfiable (416).

/// What to send of an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Every byte (200).
    Whole,
    /// `length` bytes from `offset` (206).
    Part {
        /// First byte.
        offset: u64,
        /// How many.
        length: u64,
    },
    /// Nothing of it can be sent (416).
    Unsatisfiable,
}

/// The span `header` asks of an object of `size` bytes.
pub fn span(header: Option<&str>, size: u64) -> Span {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Span::Whole;
    };
    if spec.contains(',') {
        return Span::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Span::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(n)) if n > 0 && size > 0 => {
            let length = n.min(size);
            Span::Part {
                offset: size - length,
                length,
            }
        }
        (true, _, _) => Span::Unsatisfiable,
        (false, Some(start), _) if start >= size => Span::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => Span::Part {
            offset: start,
            length: size - start,
        },
        (false, Some(start), Some(end)) if end >= start => Span::Part {
            offset: start,
            length: end.min(size - 1) - start + 1,
        },
        // A malformed range is ignored (the whole object is sent).
        _ => Span::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let part = |offset, length| Span::Part { offset, length };
        assert_eq!(span(None, 100), Span::Whole);
        assert_eq!(span(Some("bytes=0-9"), 100), part(0, 10));
        assert_eq!(span(Some("bytes=90-"), 100), part(90, 10));
        assert_eq!(span(Some("bytes=-10"), 100), part(90, 10));
        assert_eq!(span(Some("bytes=-1000"), 100), part(0, 100));
        assert_eq!(span(Some("bytes=50-1000"), 100), part(50, 50));
        assert_eq!(span(Some("bytes=100-"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=-0"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=9-3"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=0-1,5-6"), 100), Span::Whole);
        assert_eq!(span(Some("items=0-1"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=a-b"), 100), Span::Whole);
    }
}
