//! Identifiers and timestamps whose preconditions live in their types.

use crate::gbt2260::COUNTY_CODES;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Longest event id, actor id or program id.
pub const ID_CHARS_MAX: usize = 64;

/// A malformed identifier or timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// True for 1–64 characters of `[A-Za-z0-9._:-]`.
pub fn is_valid_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= ID_CHARS_MAX
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A 32-byte BLAKE3 digest, written as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The `prev` of record 0: 64 `0` characters.
    pub const ZERO: Hash32 = Hash32([0; 32]);

    /// Parses 64 lowercase hex characters.
    pub fn parse(text: &str) -> Result<Hash32, IdError> {
        parse_lower_hex::<32>(text).map(Hash32).ok_or_else(|| {
            IdError(format!(
                "must be 64 lowercase hex characters, got {:?}",
                truncate(text)
            ))
        })
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}
/// Lowercase hex in JSON; the 32 bytes themselves in a binary format (a
/// snapshot), where hex would double the size of every digest.
impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}
impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hash32, D::Error> {
        if d.is_human_readable() {
            let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
            Hash32::parse(&text).map_err(serde::de::Error::custom)
        } else {
            let bytes = <&'de [u8]>::deserialize(d)?;
            <[u8; 32]>::try_from(bytes)
                .map(Hash32)
                .map_err(|_| serde::de::Error::invalid_length(bytes.len(), &"32 bytes"))
        }
    }
}

/// A hasher for maps keyed by [`Hash32`] digests, which are uniformly
/// random already: their first eight bytes are the hash. (The default
/// SipHash would spend most of a map insert hashing 32 random bytes.) For
/// maps whose keys are digests only.
#[derive(Default, Clone, Copy)]
pub struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // The digest itself (a length prefix comes through `write_usize`).
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(first);
    }
    fn write_usize(&mut self, _: usize) {}
}

/// A hash map keyed by digests, hashed by [`DigestHasher`].
pub type DigestMap<V> =
    std::collections::HashMap<Hash32, V, std::hash::BuildHasherDefault<DigestHasher>>;
/// A hash set of digests, hashed by [`DigestHasher`].
pub type DigestSet = std::collections::HashSet<Hash32, std::hash::BuildHasherDefault<DigestHasher>>;

/// Parses exactly `N` bytes of lowercase hex.
pub fn parse_lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    // Branch-free: look every character up, and check once at the end that
    // none was outside 0-9a-f (their entries have the high bit set).
    let mut out = [0u8; N];
    let mut invalid = 0u8;
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (high, low) = (
            LOWER_HEX[usize::from(pair[0])],
            LOWER_HEX[usize::from(pair[1])],
        );
        invalid |= high | low;
        *byte = high << 4 | low;
    }
    (invalid & 0x80 == 0).then_some(out)
}

/// The value of each lowercase hex digit; `0x80` for every other byte.
const LOWER_HEX: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The first 80 characters of `text`, for error messages.
pub fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

/// A six-digit county-level administrative division code (GB/T 2260), e.g. `530103`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DistrictCode([u8; 6]);

impl DistrictCode {
    /// Parses a county-level GB/T 2260 code: one of the table in
    /// [`crate::gbt2260`] (every county, county-level city and district,
    /// as of 2023-06-30).
    pub fn parse(text: &str) -> Result<DistrictCode, IdError> {
        let bytes = text.as_bytes();
        let listed = bytes.len() == 6
            && bytes.iter().all(u8::is_ascii_digit)
            && text
                .parse::<u32>()
                .is_ok_and(|code| COUNTY_CODES.binary_search(&code).is_ok());
        if listed {
            let mut code = [0u8; 6];
            code.copy_from_slice(bytes);
            Ok(DistrictCode(code))
        } else {
            Err(IdError(format!(
                "a district code is one of the {} county-level codes of GB/T 2260 (as of 2023-06-30, e.g. 530128 for 禄劝县), got {:?}",
                COUNTY_CODES.len(),
                truncate(text)
            )))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("district codes are ASCII digits")
    }
}

impl fmt::Display for DistrictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for DistrictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistrictCode({})", self.as_str())
    }
}
impl Serialize for DistrictCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for DistrictCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DistrictCode, D::Error> {
        let text = String::deserialize(d)?;
        DistrictCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A point in time as the ledger writes it: RFC 3339, whole seconds, an
/// explicit `±HH:MM` offset (`2022-10-28T16:05:00+08:00`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp(DateTime<FixedOffset>);

impl Timestamp {
    /// Parses the strict form `YYYY-MM-DDTHH:MM:SS±HH:MM`, or with `Z`
    /// for UTC (`YYYY-MM-DDTHH:MM:SSZ`); whole seconds, never a second 60.
    pub fn parse(text: &str) -> Result<Timestamp, IdError> {
        let err = || {
            IdError(format!(
                "a time is RFC 3339 with whole seconds (never :60) and an explicit offset such as \"2022-10-28T16:05:00+08:00\" or \"2022-10-28T08:05:00Z\", got {:?}",
                truncate(text)
            ))
        };
        let b = text.as_bytes();
        let date_time_ok = b.len() >= 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && &b[17..19] != b"60";
        let offset_ok = match b.len() {
            25 => (b[19] == b'+' || b[19] == b'-') && b[22] == b':',
            20 => b[19] == b'Z',
            _ => false,
        };
        if !date_time_ok || !offset_ok {
            return Err(err());
        }
        DateTime::parse_from_rfc3339(text)
            .map(Timestamp)
            .map_err(|_| err())
    }

    /// Wraps a chrono time, dropping sub-second precision.
    pub fn from_datetime(at: DateTime<FixedOffset>) -> Timestamp {
        use chrono::Timelike;
        Timestamp(at.with_nanosecond(0).expect("zero nanoseconds is valid"))
    }

    /// The chrono time.
    pub fn datetime(&self) -> DateTime<FixedOffset> {
        self.0
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.timestamp()
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl fmt::Display for Timestamp {
    /// `%Y-%m-%dT%H:%M:%S%:z`, written directly: chrono's `format` parses
    /// its pattern on every call, which was 5 % of the server's writer
    /// thread under load. Years outside 0–9999 (which no parsed timestamp
    /// has) go through chrono, which signs them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        let t = &self.0;
        if !(0..=9999).contains(&t.year()) {
            return f.write_str(&t.format("%Y-%m-%dT%H:%M:%S%:z").to_string());
        }
        let offset = t.offset().local_minus_utc();
        let (sign, offset) = if offset < 0 {
            ('-', -offset)
        } else {
            ('+', offset)
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            offset / 3600,
            offset / 60 % 60
        )
    }
}
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses a `±HH:MM` offset.
pub fn parse_utc_offset(text: &str) -> Result<FixedOffset, IdError> {
    let err = || {
        IdError(format!(
            "a UTC offset is \"±HH:MM\", got {:?}",
            truncate(text)
        ))
    };
    let b = text.as_bytes();
    if b.len() != 6 || b[3] != b':' || !(b[0] == b'+' || b[0] == b'-') {
        return Err(err());
    }
    let hours: i32 = text[1..3].parse().map_err(|_| err())?;
    let minutes: i32 = text[4..6].parse().map_err(|_| err())?;
    if hours > 14 || minutes > 59 {
        return Err(err());
    }
    let seconds = (hours * 3600 + minutes * 60) * if b[0] == b'-' { -1 } else { 1 };
    FixedOffset::east_opt(seconds).ok_or_else(err)
}

/// The UTC offset of a ledger's local deadlines, written `±HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcOffset(pub FixedOffset);

impl Serialize for UtcOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let seconds = self.0.local_minus_utc();
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.abs() / 60;
        s.serialize_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60))
    }
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UtcOffset, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        parse_utc_offset(&text)
            .map(UtcOffset)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses a `YYYY-MM-DD` local date.
pub fn parse_date(text: &str) -> Result<NaiveDate, IdError> {
    if text.len() != 10 {
        return Err(IdError(format!(
            "a date is \"YYYY-MM-DD\", got {:?}",
            truncate(text)
        )));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        IdError(format!(
            "a date is \"YYYY-MM-DD\", got {:?}",
            truncate(text)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value in every position: only 0-9a-f decode, as `hex` does.
    #[test]
    fn lower_hex_takes_exactly_the_lowercase_digits() {
        for at in 0..8 {
            for byte in 0..=255u8 {
                let mut text = *b"0123456789abcdef";
                text[at] = byte;
                let lower = byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
                let got = std::str::from_utf8(&text)
                    .ok()
                    .and_then(parse_lower_hex::<8>);
                let want = lower.then(|| hex::decode(text).unwrap());
                assert_eq!(got.map(|b| b.to_vec()), want, "byte {byte:#04x} at {at}");
            }
        }
        assert_eq!(parse_lower_hex::<2>("abc"), None);
    }

    /// The direct formatter writes what chrono's pattern writes.
    #[test]
    fn timestamps_display_as_chrono_formats_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let seconds = (state % 400_000_000_000) as i64 - 62_000_000_000;
            let offset = ((state >> 40) % (2 * 14 * 3600 + 1)) as i32 - 14 * 3600;
            let offset = FixedOffset::east_opt(offset / 60 * 60).unwrap();
            let t = DateTime::from_timestamp(seconds, 0)
                .unwrap()
                .with_timezone(&offset);
            assert_eq!(
                Timestamp(t).to_string(),
                t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
            );
        }
    }

    #[test]
    fn timestamps_are_strict() {
        let ok = Timestamp::parse("2022-10-28T16:05:00+08:00").unwrap();
        assert_eq!(ok.to_string(), "2022-10-28T16:05:00+08:00");
        // UTC as `Z` is RFC 3339 too, and written with its offset.
        let utc = Timestamp::parse("2022-10-28T08:05:00Z").unwrap();
        assert_eq!(utc.to_string(), "2022-10-28T08:05:00+00:00");
        assert_eq!(utc, ok);
        for bad in [
            "2022-10-28T16:05:60+08:00",
            "2016-12-31T23:59:60Z",
            "2022-10-28T16:05:00z",
            "2022-10-28T16:05:00.5+08:00",
            "2022-10-28 16:05:00+08:00",
            "2022-13-28T16:05:00+08:00",
            "2022-10-28T16:05:00+0800",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_codes_and_hashes() {
        assert!(is_valid_id("kunming-2022.budget:1_a"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(DistrictCode::parse("530103").is_ok());
        assert!(DistrictCode::parse("53010").is_err());
        // Not listed: nonsense, a province or prefecture, a free slot in
        // Kunming's range, a county abolished before 2023 (晋宁县 → 晋宁区 530115).
        for bad in [
            "000000", "100001", "530100", "530000", "990101", "530199", "530122",
        ] {
            assert!(DistrictCode::parse(bad).is_err(), "{bad}");
        }
        // Kunming's 14, Beijing's first, Dongguan (a prefecture without counties).
        for good in [
            "530102", "530103", "530111", "530112", "530113", "530114", "530115", "530124",
            "530125", "530126", "530127", "530128", "530129", "530181", "110101", "441900",
        ] {
            assert!(DistrictCode::parse(good).is_ok(), "{good}");
        }
        let codes = crate::gbt2260::COUNTY_CODES;
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(Hash32::parse(&"0".repeat(64)).is_ok());
        assert!(Hash32::parse(&"A".repeat(64)).is_err());
        assert_eq!(
            parse_utc_offset("+08:00").unwrap().local_minus_utc(),
            8 * 3600
        );
    }
}
