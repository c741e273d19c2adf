//! What may be stored: file names, the rules of each use (sizes and types), the
//! multipart limits, the firm's storage quota, and the upload check that puts the
//! declared type, the bytes and the extension side by side.

use crate::firm::model::Tier;
use crate::kernel::error::{DomainError, DomainResult};
use crate::wire_enum;

use super::sniff::{self, Sniffed};

/// The most one request carries (the edge refuses bodies over 100 MB).
pub const SINGLE_MAX: u64 = 95 * MIB;
/// Multipart parts: at least 5 MiB (R2's floor) except the last, at most 95 MiB.
pub const PART_MIN: u64 = 5 * MIB;
/// The largest part.
pub const PART_MAX: u64 = 95 * MIB;
/// Most parts in one upload (R2's limit).
pub const MAX_PARTS: u64 = 10_000;
/// A file's default ceiling (a firm may lower it), and the highest it may be.
pub const FILE_MAX_DEFAULT: u64 = 2 * GIB;
/// The highest per-file ceiling.
pub const FILE_MAX: u64 = 5 * GIB;
/// A multipart upload idle this long is aborted.
pub const IDLE_ABORT_MS: i64 = 24 * 3_600_000;
/// A name's longest length in bytes.
pub const NAME_MAX_BYTES: usize = 255;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const GB: u64 = 1_000_000_000;

wire_enum!(
    /// What a file is stored for: each use has its own sizes and types.
    Use, "of" {
        /// The firm's logo (branding, shown in the portal).
        Logo = "logo",
        /// A person's picture.
        Avatar = "avatar",
        /// A document of the firm or a client.
        Document = "document",
    }
);

impl Use {
    /// The largest file of this use.
    pub fn max_bytes(self) -> u64 {
        match self {
            Use::Logo => 2 * MIB,
            Use::Avatar => MIB,
            Use::Document => FILE_MAX_DEFAULT,
        }
    }

    /// The media types this use accepts.
    pub fn accepts(self, media: &str) -> bool {
        match self {
            Use::Logo | Use::Avatar => matches!(media, "image/png" | "image/jpeg" | "image/webp"),
            // Any type the extension table names; HTML and SVG are served only as
            // sandboxed attachments.
            Use::Document => true,
        }
    }
}

/// A firm's storage quota in bytes (all versions and derivatives count).
pub fn quota(tier: Tier) -> u64 {
    match tier {
        Tier::Starter => 10 * GB,
        Tier::Professional => 100 * GB,
        Tier::Enterprise => 1_000 * GB,
    }
}

/// Refuses an upload of `declared` bytes that would take the firm past its quota
/// (checked before a byte is stored).
pub fn check_quota(tier: Tier, used: u64, declared: u64) -> DomainResult<()> {
    let limit = quota(tier);
    if used.saturating_add(declared) > limit {
        return Err(DomainError::Conflict {
            field: Some("size"),
            detail: format!(
                "quota-exceeded: the firm stores {used} of its {limit} bytes; {declared} more do not fit"
            ),
        });
    }
    Ok(())
}

/// Checks a file name: 1–255 bytes, no control or bidi characters, no path
/// separators, not `.`/`..`, no leading or trailing space or dot. Returns the
/// extension (lower case), which must exist.
pub fn check_name(field: &str, name: &str) -> DomainResult<String> {
    let bad = |message: &str| DomainError::invalid(field, "format", message.to_owned());
    if name.is_empty() || name.len() > NAME_MAX_BYTES {
        return Err(DomainError::invalid(
            field,
            "length",
            format!("{field} is 1 to {NAME_MAX_BYTES} bytes"),
        ));
    }
    let forbidden = |c: char| {
        c.is_control()
            || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if name.chars().any(forbidden) {
        return Err(bad(
            "a file name has no control, direction or path characters",
        ));
    }
    if name.starts_with([' ', '.']) || name.ends_with([' ', '.']) {
        return Err(bad(
            "a file name neither starts nor ends with a space or a dot",
        ));
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Ok(ext.to_ascii_lowercase()),
        _ => Err(bad("a file name ends with an extension (.pdf, .png …)")),
    }
}

/// The declaration of an upload: name, media type and size, for a use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The file's name.
    pub name: String,
    /// Its declared media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// What it is for.
    pub usage: Use,
}

/// Checks a declaration before any byte: name, size for the use, the type the
/// extension names against the declared one, executables. Returns the extension.
pub fn check_declared(d: &Declared) -> DomainResult<String> {
    let ext = check_name("name", &d.name)?;
    if sniff::EXECUTABLE_EXTENSIONS.contains(&ext.as_str()) {
        return Err(DomainError::invalid(
            "name",
            "executable",
            "programs and scripts are not stored",
        ));
    }
    if d.size == 0 || d.size > d.usage.max_bytes() {
        return Err(DomainError::invalid(
            "size",
            "range",
            format!(
                "a {} is 1 byte to {} bytes",
                d.usage.name(),
                d.usage.max_bytes()
            ),
        ));
    }
    let named = sniff::media_of_extension(&ext).ok_or_else(|| {
        DomainError::invalid(
            "name",
            "extension",
            format!(".{ext} files are not accepted"),
        )
    })?;
    if named != d.media_type {
        return Err(DomainError::invalid(
            "media_type",
            "mismatch",
            format!("a .{ext} file is {named}, not {}", d.media_type),
        ));
    }
    if !d.usage.accepts(&d.media_type) {
        return Err(DomainError::invalid(
            "media_type",
            "enum",
            format!("a {} is not {}", d.usage.name(), d.media_type),
        ));
    }
    Ok(ext)
}

/// Checks the first bytes of an upload against its declaration: an executable is
/// refused, and bytes of another type are an unsupported media type (415).
pub fn check_bytes(d: &Declared, head: &[u8]) -> DomainResult<()> {
    match sniff::sniff(head) {
        Sniffed::Executable(kind) => Err(DomainError::invalid(
            "file",
            "executable",
            format!("the bytes are a program ({kind}); programs are not stored"),
        )),
        found if sniff::bytes_fit(found, &d.media_type) => Ok(()),
        found => Err(DomainError::UnsupportedMediaType(format!(
            "the bytes are not {} ({})",
            d.media_type,
            match found {
                Sniffed::Media(kind) => kind,
                Sniffed::Text => "text",
                _ => "unrecognised",
            }
        ))),
    }
}

/// The part size of a multipart upload of `size` bytes with parts of `part_size`:
/// within 5–95 MiB and at most 10,000 parts. Returns the number of parts.
pub fn check_parts(size: u64, part_size: u64) -> DomainResult<u64> {
    if !(PART_MIN..=PART_MAX).contains(&part_size) {
        return Err(DomainError::invalid(
            "part_size",
            "range",
            format!("part_size is {PART_MIN} to {PART_MAX} bytes"),
        ));
    }
    if !part_size.is_multiple_of(super::seal::SEGMENT) {
        return Err(DomainError::invalid(
            "part_size",
            "multiple",
            format!(
                "part_size is a whole number of {} byte segments (a multiple of 64 KiB)",
                super::seal::SEGMENT
            ),
        ));
    }
    let parts = size.div_ceil(part_size);
    if parts > MAX_PARTS {
        return Err(DomainError::invalid(
            "part_size",
            "range",
            format!("{size} bytes in parts of {part_size} is over {MAX_PARTS} parts"),
        ));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(name: &str, media: &str, size: u64, usage: Use) -> Declared {
        Declared {
            name: name.into(),
            media_type: media.into(),
            size,
            usage,
        }
    }

    fn rule(r: DomainResult<impl std::fmt::Debug>) -> (String, &'static str) {
        match r {
            Err(DomainError::Validation(e)) => (e[0].field.clone(), e[0].rule),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_are_plain_and_carry_an_extension() {
        assert_eq!(check_name("name", "Q3 report.PDF").unwrap(), "pdf");
        for bad in [
            "",
            "../etc/passwd.txt",
            "a\u{202E}fdp.exe",
            "noext",
            ".hidden",
            "x.pdf ",
            "tab\t.pdf",
        ] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
        assert!(check_name("name", &format!("{}.pdf", "a".repeat(252))).is_err());
    }

    #[test]
    fn declarations_are_checked_before_any_byte() {
        assert_eq!(
            check_declared(&declared("logo.png", "image/png", 10_000, Use::Logo)).unwrap(),
            "png"
        );
        assert_eq!(
            rule(check_declared(&declared(
                "setup.exe",
                "application/pdf",
                10,
                Use::Document
            ))),
            ("name".into(), "executable")
        );
        assert_eq!(
            rule(check_declared(&declared(
                "a.pdf",
                "image/png",
                10,
                Use::Document
            ))),
            ("media_type".into(), "mismatch")
        );
        assert_eq!(
            rule(check_declared(&declared(
                "logo.pdf",
                "application/pdf",
                10,
                Use::Logo
            ))),
            ("media_type".into(), "enum")
        );
        assert_eq!(
            rule(check_declared(&declared(
                "big.png",
                "image/png",
                3 << 20,
                Use::Logo
            ))),
            ("size".into(), "range")
        );
        assert!(check_declared(&declared(
            "x.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            70_000,
            Use::Document
        ))
        .is_ok());
    }

    #[test]
    fn bytes_must_be_what_was_declared() {
        let png = declared("logo.png", "image/png", 100, Use::Logo);
        assert!(check_bytes(&png, b"\x89PNG\r\n\x1a\n").is_ok());
        assert!(matches!(
            check_bytes(&png, b"%PDF-1.4"),
            Err(DomainError::UnsupportedMediaType(_))
        ));
        assert_eq!(
            rule(check_bytes(&png, b"MZ\x90\0")),
            ("file".into(), "executable")
        );
    }

    #[test]
    fn quota_and_parts_have_their_limits() {
        assert!(check_quota(Tier::Starter, 9 * GB, GB).is_ok());
        assert!(matches!(
            check_quota(Tier::Starter, 9 * GB, GB + 1),
            Err(DomainError::Conflict {
                field: Some("size"),
                ..
            })
        ));
        assert_eq!(check_parts(50 * MIB, 8 * MIB).unwrap(), 7);
        assert!(check_parts(50 * MIB, MIB).is_err());
        assert!(check_parts(5 * GIB, 5 * MIB).is_ok());
        assert!(check_parts(100 * GIB, 5 * MIB).is_err());
        assert!(check_parts(50 * MIB, 5 * MIB + 1).is_err());
    }
}
