//! What a file is, by its first bytes (magic numbers), and the media type its
//! extension claims. An upload is accepted only when the declared type, the bytes
//! and the extension agree; executables and scripts are refused whatever they claim.

/// The kinds of content we recognise by their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A known media type.
    Media(&'static str),
    /// A program or script: PE, ELF, Mach-O, Java class, `#!` script.
    Executable(&'static str),
    /// Text (UTF-8, no NUL) that is none of the above.
    Text,
    /// Bytes we do not recognise.
    Unknown,
}

fn starts(bytes: &[u8], magic: &[u8]) -> bool {
    bytes.starts_with(magic)
}

fn contains(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

fn lower_prefix(bytes: &[u8], n: usize) -> Vec<u8> {
    bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
        .take(n)
        .map(u8::to_ascii_lowercase)
        .collect()
}

/// Classifies `head` (the first bytes of a file; 8 KiB is plenty).
pub fn sniff(head: &[u8]) -> Sniffed {
    use Sniffed::{Executable, Media};
    match head {
        _ if starts(head, b"MZ") => Executable("application/vnd.microsoft.portable-executable"),
        _ if starts(head, b"\x7fELF") => Executable("application/x-elf"),
        _ if starts(head, &[0xFE, 0xED, 0xFA, 0xCE])
            || starts(head, &[0xFE, 0xED, 0xFA, 0xCF])
            || starts(head, &[0xCE, 0xFA, 0xED, 0xFE])
            || starts(head, &[0xCF, 0xFA, 0xED, 0xFE]) =>
        {
            Executable("application/x-mach-binary")
        }
        _ if starts(head, &[0xCA, 0xFE, 0xBA, 0xBE]) => Executable("application/java-vm"),
        _ if starts(head, b"#!") => Executable("text/x-shellscript"),
        _ if starts(head, b"%PDF-") => Media("application/pdf"),
        _ if starts(head, b"\x89PNG\r\n\x1a\n") => Media("image/png"),
        _ if starts(head, &[0xFF, 0xD8, 0xFF]) => Media("image/jpeg"),
        _ if starts(head, b"GIF87a") || starts(head, b"GIF89a") => Media("image/gif"),
        _ if starts(head, b"RIFF") && head.get(8..12) == Some(b"WEBP") => Media("image/webp"),
        _ if starts(head, b"II*\0") || starts(head, b"MM\0*") => Media("image/tiff"),
        _ if head.get(4..12) == Some(b"ftypheic") || head.get(4..12) == Some(b"ftypheix") => {
            Media("image/heic")
        }
        _ if head.get(4..8) == Some(b"ftyp") => Media("video/mp4"),
        _ if starts(head, b"{\\rtf") => Media("application/rtf"),
        _ if starts(head, &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) => {
            Media("application/x-ole-storage")
        }
        _ if starts(head, b"PK\x03\x04") => Media(zip_kind(head)),
        _ => text_kind(head),
    }
}

/// Office Open XML documents are ZIP files whose parts name their kind.
fn zip_kind(head: &[u8]) -> &'static str {
    if contains(head, b"word/") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else if contains(head, b"xl/") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else if contains(head, b"ppt/") {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    } else {
        "application/zip"
    }
}

fn text_kind(head: &[u8]) -> Sniffed {
    if head.is_empty() || head.contains(&0) {
        return Sniffed::Unknown;
    }
    // A head cut inside a multi-byte character is still text.
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if !valid {
        return Sniffed::Unknown;
    }
    let start = lower_prefix(head, 512);
    if start.starts_with(b"<svg") || (start.starts_with(b"<?xml") && contains(&start, b"<svg")) {
        Sniffed::Media("image/svg+xml")
    } else if start.starts_with(b"<!doctype html") || start.starts_with(b"<html") {
        Sniffed::Media("text/html")
    } else {
        Sniffed::Text
    }
}

/// Extensions that name programs and scripts: refused whatever the bytes say.
pub const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "msi", "bat", "cmd", "scr", "ps1", "vbs", "js", "jar", "sh", "com", "app",
];

/// The media type an extension names, and whether it is text-based.
pub fn media_of_extension(ext: &str) -> Option<&'static str> {
    Some(match ext.to_ascii_lowercase().as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "mp4" => "video/mp4",
        "rtf" => "application/rtf",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "zip" => "application/zip",
        "svg" => "image/svg+xml",
        "html" | "htm" => "text/html",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "json" => "application/json",
        "xml" => "application/xml",
        _ => return None,
    })
}

/// Whether bytes classified `sniffed` can be a file of media type `declared`.
pub fn bytes_fit(sniffed: Sniffed, declared: &str) -> bool {
    match sniffed {
        Sniffed::Media("application/x-ole-storage") => matches!(
            declared,
            "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint"
        ),
        Sniffed::Media(kind) => kind == declared,
        Sniffed::Text => matches!(
            declared,
            "text/plain" | "text/csv" | "text/markdown" | "application/json" | "application/xml"
        ),
        Sniffed::Executable(_) | Sniffed::Unknown => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_name_what_a_file_is() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Sniffed::Media("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Sniffed::Media("image/png"));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Sniffed::Media("image/jpeg")
        );
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Media("image/webp"));
        assert_eq!(
            sniff(b"MZ\x90\0"),
            Sniffed::Executable("application/vnd.microsoft.portable-executable")
        );
        assert_eq!(
            sniff(b"\x7fELF\x02"),
            Sniffed::Executable("application/x-elf")
        );
        assert_eq!(
            sniff(b"#!/bin/sh\nrm -rf /"),
            Sniffed::Executable("text/x-shellscript")
        );
        assert_eq!(
            sniff(b"PK\x03\x04....[Content_Types].xml....word/document.xml"),
            Sniffed::Media(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            )
        );
        assert_eq!(
            sniff(b"PK\x03\x04....notes.txt"),
            Sniffed::Media("application/zip")
        );
        assert_eq!(
            sniff(b"  <?xml version=\"1.0\"?><svg xmlns=\"\">"),
            Sniffed::Media("image/svg+xml")
        );
        assert_eq!(sniff(b"<!DOCTYPE html><html>"), Sniffed::Media("text/html"));
        assert_eq!(sniff("name,amount\nAda,12\n".as_bytes()), Sniffed::Text);
        assert_eq!(sniff(b"\xff\xfe\0\0junk"), Sniffed::Unknown);
        // A head cut inside "é" is still text.
        assert_eq!(sniff(&"café".as_bytes()[..4]), Sniffed::Text);
    }

    #[test]
    fn declared_type_bytes_and_extension_must_agree() {
        let pdf = sniff(b"%PDF-1.4");
        assert!(bytes_fit(pdf, "application/pdf"));
        assert!(!bytes_fit(pdf, "image/png"));
        assert!(bytes_fit(sniff(b"a,b\n1,2\n"), "text/csv"));
        assert!(
            !bytes_fit(sniff(b"MZ"), "application/pdf"),
            "an executable fits nothing"
        );
        assert!(bytes_fit(
            sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
            "application/msword"
        ));
        assert_eq!(
            media_of_extension("DOCX"),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        assert_eq!(media_of_extension("exe"), None);
    }
}
