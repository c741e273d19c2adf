//! Sortable, type-prefixed identifiers: `frm_01JD…`. The 26 characters after the
//! prefix are a ULID (48-bit millisecond time, 80 random bits, Crockford base32), so
//! ids sort by creation time and a glance at one tells what it names.

use super::error::DomainError;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Fills `buf` from the platform's secure random source (Web Crypto on workers).
pub fn random_bytes(buf: &mut [u8]) -> Result<(), DomainError> {
    getrandom::getrandom(buf).map_err(|e| DomainError::Unavailable(format!("random source: {e}")))
}

/// A bearer secret for a link or a session: `prefix` then 256 random bits in
/// URL-safe base64. Stored only as a hash; the prefix tells scanners what it is.
pub fn secret_token(prefix: &str) -> Result<String, DomainError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// Whether `raw` is a UUID in its canonical 8-4-4-4-12 hex form.
pub fn is_uuid(raw: &str) -> bool {
    let groups: Vec<&str> = raw.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random (version 4) UUID in its canonical lowercase form.
pub fn uuid_v4() -> Result<String, DomainError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    ))
}

/// A new id with `prefix` created at `now_ms` (Unix milliseconds).
pub fn new_id(prefix: &str, now_ms: i64) -> Result<String, DomainError> {
    let mut random = [0u8; 10];
    random_bytes(&mut random)?;
    Ok(encode(prefix, now_ms, random))
}

/// Encodes the id deterministically from its parts (for tests and for `new_id`).
pub fn encode(prefix: &str, now_ms: i64, random: [u8; 10]) -> String {
    let time = (now_ms.max(0) as u128) & ((1u128 << 48) - 1);
    let mut value = time << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (9 - i));
    }
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        let digit = ((value >> (5 * i)) & 0x1f) as u8;
        out.push(char::from(
            CROCKFORD.get(usize::from(digit)).copied().unwrap_or(b'0'),
        ));
    }
    out
}

/// Checks that `raw` looks like an id with `prefix` (used on path parameters).
pub fn parse(field: &str, prefix: &str, raw: &str) -> Result<String, DomainError> {
    let ok = raw
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| body.len() == 26 && body.bytes().all(|b| CROCKFORD.contains(&b)));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be an id starting with {prefix}_"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_carry_their_prefix() {
        let a = encode("frm", 1_700_000_000_000, [0xff; 10]);
        let b = encode("frm", 1_700_000_000_001, [0x00; 10]);
        assert!(a < b);
        assert!(a.starts_with("frm_") && a.len() == 30);
        assert_eq!(parse("id", "frm", &a).unwrap(), a);
        assert!(parse("id", "usr", &a).is_err());
        assert!(parse("id", "frm", "frm_short").is_err());
    }

    #[test]
    fn uuids_are_canonical() {
        assert!(is_uuid("0b5e3a4c-2f1d-4c1e-9a7b-3d2f1e0c9b8a"));
        assert!(!is_uuid("0b5e3a4c2f1d4c1e9a7b3d2f1e0c9b8a"));
        assert!(!is_uuid("0b5e3a4c-2f1d-4c1e-9a7b-3d2f1e0c9b8g"));
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4().unwrap();
        assert!(is_uuid(&u), "{u}");
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(u, uuid_v4().unwrap());
    }

    #[test]
    fn fresh_ids_differ() {
        let a = new_id("evt", 5).unwrap();
        let b = new_id("evt", 5).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn known_ulid_encoding() {
        // ULID spec example: time 1469918176385 encodes to 01ARYZ6S41.
        let id = encode("x", 1_469_918_176_385, [0; 10]);
        assert_eq!(&id[2..12], "01ARYZ6S41");
    }
}
