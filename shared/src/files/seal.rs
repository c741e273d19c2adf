//! How a file's content is sealed in R2: 64 KiB segments, each AES-256-GCM under
//! the file's own content key (derived from the firm's data key, see
//! `kernel::vault::Keyring::content_key`) with a fresh 96-bit nonce, stored as
//! `nonce ‖ ciphertext ‖ tag`. Each segment's associated data names the file, the
//! segment's position and whether it is the last, so segments cannot be moved,
//! reordered, dropped from the end or taken into another file. Destroying the
//! firm's data key leaves every object unreadable (crypto-shredding reaches R2).
//!
//! The layout is fixed-size, so a byte range of the file maps onto whole sealed
//! segments without reading anything else, and multipart parts (whole numbers of
//! segments) are sealed independently.

/// Plaintext bytes per segment.
pub const SEGMENT: u64 = 64 * 1024;
/// Nonce bytes before each segment's ciphertext.
pub const NONCE: u64 = 12;
/// Tag bytes after it.
pub const TAG: u64 = 16;
/// What sealing adds to each segment.
pub const OVERHEAD: u64 = NONCE + TAG;
/// A full sealed segment.
pub const SEALED_SEGMENT: u64 = SEGMENT + OVERHEAD;

/// Segments of a file of `size` bytes.
pub fn segments(size: u64) -> u64 {
    size.div_ceil(SEGMENT)
}

/// Bytes in R2 for `size` bytes of content.
pub fn sealed_len(size: u64) -> u64 {
    size + OVERHEAD * segments(size)
}

/// Plaintext bytes of segment `index` of a file of `size` bytes.
pub fn segment_len(size: u64, index: u64) -> u64 {
    size.saturating_sub(index * SEGMENT).min(SEGMENT)
}

/// The associated data of segment `index` of `file_id` (of `total` segments).
pub fn segment_aad(file_id: &str, index: u64, total: u64) -> String {
    let position = if index + 1 == total { "last" } else { "more" };
    format!("files_objects|content|{file_id}|{index}|{position}")
}

/// A span of a file's content mapped onto its sealed segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedSpan {
    /// The first segment read.
    pub first: u64,
    /// Where its sealed bytes start in the object.
    pub sealed_offset: u64,
    /// How many sealed bytes to read.
    pub sealed_length: u64,
    /// Plaintext bytes to drop from the first segment.
    pub skip: u64,
    /// Plaintext bytes to send.
    pub take: u64,
}

/// The sealed bytes that hold `length` bytes from `offset` of a file of `size`
/// bytes (the caller has checked the span lies within the file).
pub fn span(size: u64, offset: u64, length: u64) -> SealedSpan {
    let first = offset / SEGMENT;
    let last = (offset + length).saturating_sub(1) / SEGMENT;
    let sealed_offset = first * SEALED_SEGMENT;
    let sealed_end = ((last + 1) * SEALED_SEGMENT).min(sealed_len(size));
    SealedSpan {
        first,
        sealed_offset,
        sealed_length: sealed_end - sealed_offset,
        skip: offset - first * SEGMENT,
        take: length,
    }
}

/// A multipart part of `part_size` bytes (a whole number of segments) starts at
/// this segment.
pub fn first_segment_of_part(part_size: u64, part_number: u64) -> u64 {
    (part_number.saturating_sub(1) * part_size) / SEGMENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};

    #[test]
    fn the_layout_maps_ranges_onto_whole_segments() {
        assert_eq!(sealed_len(1), 1 + OVERHEAD);
        assert_eq!(sealed_len(SEGMENT), SEALED_SEGMENT);
        assert_eq!(sealed_len(SEGMENT + 1), SEGMENT + 1 + 2 * OVERHEAD);
        assert_eq!(segment_len(SEGMENT + 5, 1), 5);
        assert_eq!(segment_len(SEGMENT + 5, 0), SEGMENT);
        let size = 3 * SEGMENT + 100;
        // Inside one segment.
        assert_eq!(
            span(size, 10, 20),
            SealedSpan {
                first: 0,
                sealed_offset: 0,
                sealed_length: SEALED_SEGMENT,
                skip: 10,
                take: 20
            }
        );
        // Across a boundary, into the short last segment.
        let s = span(size, 2 * SEGMENT + SEGMENT - 3, 50);
        assert_eq!(s.first, 2);
        assert_eq!(s.sealed_offset, 2 * SEALED_SEGMENT);
        assert_eq!(s.sealed_length, SEALED_SEGMENT + 100 + OVERHEAD);
        assert_eq!(s.skip, SEGMENT - 3);
        // The whole file.
        assert_eq!(span(size, 0, size).sealed_length, sealed_len(size));
        assert_eq!(first_segment_of_part(5 << 20, 3), 2 * 80);
        assert_eq!(
            segment_aad("fil_1", 3, 4),
            "files_objects|content|fil_1|3|last"
        );
        assert_eq!(
            segment_aad("fil_1", 2, 4),
            "files_objects|content|fil_1|2|more"
        );
    }

    #[test]
    fn a_segment_opens_only_in_its_file_and_place() {
        // The worker seals with the runtime's WebCrypto; this is the same
        // construction with RustCrypto, showing what the associated data binds.
        let cipher = Aes256Gcm::new_from_slice(&[9u8; 32]).unwrap();
        let nonce = [1u8; 12];
        let aad = segment_aad("fil_1", 0, 2);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: b"content",
                    aad: aad.as_bytes(),
                },
            )
            .unwrap();
        assert_eq!(sealed.len() as u64, 7 + TAG);
        for other in [
            segment_aad("fil_2", 0, 2),
            segment_aad("fil_1", 1, 2),
            segment_aad("fil_1", 0, 1),
        ] {
            let opened = cipher.decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: other.as_bytes(),
                },
            );
            assert!(opened.is_err(), "{other}");
        }
    }
}
