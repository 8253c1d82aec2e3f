//! One pass over a record's bytes that answers two questions without
//! building anything: is the line already in canonical form (exactly what
//! [`crate::jcs::canonical_bytes`] would write for it), and does any string
//! hold a clear ID or certificate number ([`crate::privacy`], read through
//! the same [`Detector`], with string values joined the same way)?
//!
//! A `true` lets `verify` skip re-serialising the record and walking its
//! strings. A `false` is not a verdict: the caller takes the slow path,
//! which says what is wrong, if anything. So the scan may be conservative
//! (keys with escapes, very deep nesting) but must never accept a line that
//! the slow path would find non-canonical or holding an identifier.

use crate::jcs::INTEGER_LIMIT;
use crate::privacy::Detector;

/// Nesting deeper than this is left to the slow path (serde_json's own
/// limit is 128).
const DEPTH_MAX: u32 = 100;

/// True when `line` is canonical JSON (RFC 8785 as this ledger writes it)
/// and none of its strings, alone or joined with the string values next to
/// them, holds a clear ID or certificate number.
pub fn is_canonical_and_clean(line: &[u8]) -> bool {
    canonical_and_clean(line).is_some()
}

/// [`is_canonical_and_clean`], giving the line as text (it is valid UTF-8).
pub fn canonical_and_clean(line: &[u8]) -> Option<&str> {
    // No raw control byte anywhere: canonical JSON has no whitespace
    // between tokens and escapes every control inside a string.
    if has_control(line) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let mut scanner = Scanner {
        bytes: line,
        at: 0,
        depth: 0,
    };
    (scanner.value() && scanner.at == line.len()).then_some(text)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: u32,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> bool {
        self.member_value(&mut None)
    }

    /// An object member's value. A string is checked joined to the string
    /// value just before it (`previous`, which it then replaces); any other
    /// value ends that run (`previous` becomes `None`).
    fn member_value(&mut self, previous: &mut Option<RawString<'a>>) -> bool {
        if self.peek() == Some(b'"') {
            let Some(mut string) = self.string() else {
                return false;
            };
            if !is_clean(previous.as_ref(), &mut string) {
                return false;
            }
            *previous = Some(string);
            return true;
        }
        *previous = None;
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn nested(&mut self, inner: fn(&mut Self) -> bool) -> bool {
        if self.depth == DEPTH_MAX {
            return false;
        }
        self.depth += 1;
        let ok = inner(self);
        self.depth -= 1;
        ok
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    /// `-?(0|[1-9][0-9]*)` below 2^53 in magnitude, not `-0`, no fraction
    /// or exponent: what the canonical writer prints for an integer.
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        if digits.is_empty() || digits.len() > 16 || (digits[0] == b'0' && digits.len() > 1) {
            return false;
        }
        if negative && digits == b"0" {
            return false;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return false;
        }
        let magnitude = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        magnitude < INTEGER_LIMIT
    }

    fn object(&mut self) -> bool {
        self.at += 1; // {
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        let mut previous_value: Option<RawString<'a>> = None;
        loop {
            let Some(mut name) = self.string() else {
                return false;
            };
            if !is_clean(None, &mut name) {
                return false;
            }
            let (key, escaped) = (name.content, name.escaped);
            // Keys with escapes are rare enough to leave to the slow path.
            if escaped || previous.is_some_and(|p| !utf16_less(p, key)) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.member_value(&mut previous_value) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self) -> bool {
        self.at += 1; // [
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value() {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string escaped exactly as the canonical writer escapes: `\"`, `\\`,
    /// the short forms of \b \f \n \r \t, `\u00xx` (lowercase) for other
    /// controls, everything else literal. `None` if not canonical. (Controls
    /// and invalid UTF-8 were refused for the whole line.)
    fn string(&mut self) -> Option<RawString<'a>> {
        if !self.eat(b'"') {
            return None;
        }
        let bytes = self.bytes;
        let start = self.at;
        let mut at = start;
        let mut escaped = false;
        loop {
            at += memchr::memchr2(b'"', b'\\', &bytes[at..])?;
            if bytes[at] == b'"' {
                self.at = at + 1;
                return Some(RawString {
                    content: &bytes[start..at],
                    escaped,
                    trailing: None,
                });
            }
            escaped = true;
            at += escape_len(&bytes[at..])?;
        }
    }
}

/// A string's raw content (between its quotes, escapes as written).
struct RawString<'a> {
    content: &'a [u8],
    escaped: bool,
    /// At least the run of digits and separators it ends with, once
    /// [`is_clean`] found it clean with a quick look.
    trailing: Option<usize>,
}

/// The quick look at a string's raw content: its runs of *parts* — digits
/// and the ASCII separators `space , - . / _` ([`crate::privacy`] drops
/// separators between digits, so counting them too only overestimates a
/// run) — and whether a byte needs the exact look: a backslash (an escape
/// may stand for a separator) or a non-ASCII character outside
/// U+4000–U+9FFF (it might be a digit, a separator or a format character;
/// lead bytes E4–E9 begin CJK ideographs and Yijing symbols, none of which
/// is). Computed 64 bytes at a time as bit masks.
struct Runs {
    /// The run the content starts with.
    leading: usize,
    /// Some run has at least [`DIGITS`] parts.
    long: bool,
    /// The run the content ends with.
    trailing: usize,
}

/// The digits before an ID number's check character.
const DIGITS: usize = 17;

/// Bit `i` set when byte `i` of eight bytes (little-endian in `word`) is a
/// part; and when it needs the exact look. Without a
/// branch or a table: the high bit of each byte of an intermediate word
/// answers for that byte, and the eight answers are gathered into a byte.
fn word_masks(word: u64) -> (u8, u8) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // High bit set where a byte with the high bit clear is at least `c`
    // (no borrow crosses bytes: every byte of `x | HIGH` is ≥ 0x80 > c).
    let at_least = |x: u64, c: u8| (x | HIGH).wrapping_sub(ONES * u64::from(c));
    // High bit set where a byte equals `c`.
    let equal = |c: u8| {
        let x = word ^ (ONES * u64::from(c));
        !(((x & LOW7).wrapping_add(LOW7)) | x) & HIGH
    };
    let ascii = !word & HIGH;
    let in_range = at_least(word, b',') & !at_least(word, b'9' + 1);
    let part = (in_range | equal(b' ') | equal(b'_')) & ascii;
    // A lead byte of two or more bytes (C0–FF), but not E4–E9.
    let lead = word & (word << 1) & HIGH;
    let low = word & LOW7;
    let cjk = at_least(low, 0x64) & !at_least(low, 0x6a);
    let exact = (equal(b'\\') | (lead & !cjk)) & HIGH;
    let gather = |m: u64| ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8;
    (gather(part), gather(exact))
}

impl Runs {
    /// `None` when a byte needs the exact look. Eight bytes at a time: a
    /// run inside eight bytes is shorter than [`DIGITS`], so only runs
    /// carried from word to word can be long.
    fn of(content: &[u8]) -> Option<Runs> {
        let mut runs = Runs {
            leading: 0,
            long: false,
            trailing: 0,
        };
        let mut leading_open = true;
        for bytes in content.chunks(8) {
            let (part, exact) = match <[u8; 8]>::try_from(bytes) {
                Ok(whole) => word_masks(u64::from_le_bytes(whole)),
                Err(_) => {
                    // A zero byte is neither a part nor needs a look.
                    let mut padded = [0u8; 8];
                    padded[..bytes.len()].copy_from_slice(bytes);
                    word_masks(u64::from_le_bytes(padded))
                }
            };
            if exact != 0 {
                return None;
            }
            let len = bytes.len();
            let head = (part.trailing_ones() as usize).min(len); // bit 0: the first byte
            if head == len {
                runs.trailing += len;
            } else {
                runs.long |= runs.trailing + head >= DIGITS;
                runs.trailing = (part << (8 - len)).leading_ones() as usize;
            }
            if leading_open {
                runs.leading += head;
                leading_open = head == len;
            }
        }
        runs.long |= runs.trailing >= DIGITS;
        Some(runs)
    }
}

/// Does `string`, alone and joined to the string value just before it in
/// the same object (`previous`), hold no clear identifier? A quick look
/// first: an identifier needs 17 digits in one run, so a string whose runs
/// of digits and separators (counted with the previous one's trailing run)
/// are all shorter, and that needs no exact look, is clean. Otherwise the
/// exact [`Detector`] reads both, as [`crate::privacy::find_clear_identifier`] does.
fn is_clean(previous: Option<&RawString<'_>>, string: &mut RawString<'_>) -> bool {
    let joined = previous.map_or(Some(0), |p| p.trailing);
    // Fewer than 17 bytes, with what they join, hold fewer than 17 digits
    // (escapes and non-ASCII characters included). The content's length
    // stands for its trailing run.
    let len = string.content.len();
    if joined.is_some_and(|j| j + len < DIGITS) {
        string.trailing = Some(len);
        return true;
    }
    if !string.escaped {
        if let Some(runs) = Runs::of(string.content) {
            string.trailing = Some(runs.trailing);
            if !runs.long && joined.is_some_and(|j| j + runs.leading < DIGITS) {
                return true;
            }
        }
    }
    let mut detector = Detector::default();
    if let Some(previous) = previous {
        if !feed(&mut detector, previous) {
            return false;
        }
        detector.start_value();
    }
    feed(&mut detector, string) && detector.found().is_none()
}

/// Feeds a raw string's characters (escapes decoded) to `detector`;
/// `false` if it is not valid UTF-8.
fn feed(detector: &mut Detector, string: &RawString<'_>) -> bool {
    let Ok(text) = std::str::from_utf8(string.content) else {
        return false;
    };
    if !string.escaped {
        detector.feed_str(text);
        return true;
    }
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'\\' {
            let len = escape_len(&bytes[at..]).expect("checked by the scan");
            detector.feed_ascii(escaped_byte(&bytes[at..at + len]));
            at += len;
        } else {
            let next = bytes[at..]
                .iter()
                .position(|b| *b == b'\\')
                .map_or(bytes.len(), |n| at + n);
            detector.feed_str(&text[at..next]);
            at = next;
        }
    }
    true
}

/// The byte an escape accepted by [`escape_len`] stands for.
fn escaped_byte(escape: &[u8]) -> u8 {
    match escape[1] {
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let hex = |b: u8| {
                if b.is_ascii_digit() {
                    b - b'0'
                } else {
                    b - b'a' + 10
                }
            };
            hex(escape[4]) << 4 | hex(escape[5])
        }
        other => other, // " or \
    }
}

/// The length of the canonical escape that `rest` (from its backslash)
/// begins with: `\"`, `\\`, the short forms of \b \f \n \r \t, or `\u00xx`
/// (lowercase) for a control without a short form. `None` for any other.
fn escape_len(rest: &[u8]) -> Option<usize> {
    match *rest.get(1)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => {
            let code = match rest.get(2..6)? {
                [b'0', b'0', high @ (b'0' | b'1'), low] => {
                    let low = match low {
                        b'0'..=b'9' => low - b'0',
                        b'a'..=b'f' => low - b'a' + 10,
                        _ => return None,
                    };
                    (high - b'0') << 4 | low
                }
                _ => return None,
            };
            // Only controls without a short form are written as \u00xx.
            (!matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)).then_some(6)
        }
        _ => None,
    }
}

/// Any byte below 0x20? (In blocks without an early exit, which the
/// compiler turns into vector compares.)
fn has_control(line: &[u8]) -> bool {
    let mut blocks = line.chunks_exact(64);
    let found = blocks.any(|block| block.iter().fold(false, |found, b| found | (*b < 0x20)));
    found || blocks.remainder().iter().any(|b| *b < 0x20)
}

/// `a < b` in UTF-16 code-unit order (RFC 8785 §3.2.3), for unescaped keys.
fn utf16_less(a: &[u8], b: &[u8]) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a < b;
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(a), Ok(b)) => a.encode_utf16().lt(b.encode_utf16()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcs::canonical_bytes;
    use serde_json::{json, Value};

    fn canonical(value: Value) -> Vec<u8> {
        canonical_bytes(&value).unwrap()
    }

    #[test]
    fn accepts_what_the_canonical_writer_writes() {
        for value in [
            json!({"b": 1, "a": [true, null, "x", -7, 0, 9007199254740991u64, {}, []]}),
            json!("\u{1}\u{1f}\n\t\r\u{8}\u{c}\"\\é€\u{7f}"),
            json!({"\u{fb33}": 1, "\u{1f600}": 2, "z": {"y": {"x": "ok"}}}),
            json!({"ids": "530128-2022-roster-000001", "hex": "0".repeat(64)}),
        ] {
            let bytes = canonical(value.clone());
            assert!(is_canonical_and_clean(&bytes), "{value}");
        }
    }

    #[test]
    fn refuses_what_the_canonical_writer_would_write_otherwise() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a": 1}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":9007199254740992}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\u000A"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"a":"x"} "#,
            r#"["a",]"#,
            r#"{"a":tru}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(!is_canonical_and_clean(text.as_bytes()), "{text}");
        }
    }

    /// The scan and the slow path (a JSON tree, the canonical writer and
    /// [`crate::privacy::find_clear_identifier`]) give one verdict on every
    /// one-byte change of a line with escapes, controls, digits, separators,
    /// full-width digits and CJK text.
    #[test]
    fn the_scan_agrees_with_the_slow_path() {
        let line = canonical(json!({
            "a": "x\u{1}\"\\\n\t\u{7f}é€ 12345678 digits 0123456789abcdef",
            "b": ["张*华", "110105 1949", "a12310", "530128-2022-roster-000001"],
            "c": -12, "d": true, "e": "１１０１０５１９４９１２３１００２Ｙ",
            "f": "1101051949", "g": "1231:002X", "h": {"i": "11010519491231002a"},
        }));
        let mut rng = crate::workload::SplitMix64(5);
        let mut verdicts = [0u32; 2];
        for _ in 0..20_000 {
            let mut changed = line.clone();
            let at = (rng.next_u64() % changed.len() as u64) as usize;
            let alphabet = b"\"\\u0019afnrtxX{}[],: -.\x01\x7f";
            changed[at] = alphabet[(rng.next_u64() % alphabet.len() as u64) as usize];
            let slow = serde_json::from_slice::<Value>(&changed).is_ok_and(|value| {
                canonical_bytes(&value).is_ok_and(|bytes| bytes == changed)
                    && crate::privacy::find_clear_identifier(&value, "").is_none()
            });
            assert_eq!(
                is_canonical_and_clean(&changed),
                slow,
                "{}",
                String::from_utf8_lossy(&changed)
            );
            verdicts[usize::from(slow)] += 1;
        }
        // Both verdicts are common enough for the comparison to mean something.
        assert!(verdicts.iter().all(|n| *n > 500), "{verdicts:?}");
        for byte in 0..=255u8 {
            let mut line = [b'a'; 100];
            line[70] = byte;
            assert_eq!(has_control(&line), byte < 0x20, "{byte:#04x}");
        }
    }

    /// The masks of eight bytes at a time give what a byte-by-byte count gives.
    #[test]
    fn runs_agree_with_a_count_byte_by_byte() {
        let mut rng = crate::workload::SplitMix64(7);
        let alphabet = b"0123456789 -,./_aX:+9\\\xe5\xa4\xc2\xe3\xea\xff\x80\x00\x7f";
        for _ in 0..20_000 {
            let len = (rng.next_u64() % 200) as usize;
            let digits_only = rng.next_u64() % 3 == 0;
            let content: Vec<u8> = (0..len)
                .map(|_| {
                    let n = if digits_only {
                        12
                    } else {
                        alphabet.len() as u64
                    };
                    alphabet[(rng.next_u64() % n) as usize]
                })
                .collect();
            let is_part = |b: &u8| b.is_ascii_digit() || b" -,./_".contains(b);
            let exact = content
                .iter()
                .any(|b| *b == b'\\' || (*b >= 0xc0 && !(0xe4..=0xe9).contains(b)));
            let (mut run, mut longest) = (0, 0);
            for b in &content {
                run = if is_part(b) { run + 1 } else { 0 };
                longest = longest.max(run);
            }
            let leading = content.iter().take_while(|b| is_part(b)).count();
            match Runs::of(&content) {
                None => assert!(exact),
                Some(runs) => {
                    assert!(!exact);
                    assert_eq!(
                        (runs.leading, runs.long, runs.trailing),
                        (leading, longest >= DIGITS, run),
                        "{content:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn flags_identifier_tokens_wherever_they_are() {
        const ID: &str = "11010519491231002X";
        for value in [
            json!({"name": format!("张三 {ID}")}),
            json!({"list": ["a", format!("x\n{ID}")]}),
            json!({ID: 1}),
            json!({"cert": format!("{ID}11")}),
            json!({"spaced": "1101 0519 4912 3100 2X"}),
        ] {
            let bytes = canonical(value.clone());
            assert!(!is_canonical_and_clean(&bytes), "{value}");
            assert!(
                crate::privacy::find_clear_identifier(&value, "body").is_some(),
                "the slow path finds it too: {value}"
            );
        }
        // Inside a longer run of letters and digits, too.
        assert!(!is_canonical_and_clean(&canonical(json!(format!(
            "a{ID}b"
        )))));
        // Split over two string values of one object.
        assert!(!is_canonical_and_clean(&canonical(
            json!({"a": &ID[..9], "b": &ID[9..]})
        )));
    }
}
