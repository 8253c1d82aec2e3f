//! One pass over a record's bytes that answers two questions without
//! building anything: is the line already in canonical form (exactly what
//! [`crate::jcs::canonical_bytes`] would write for it), and does any string
//! hold a token that could be an ID number ([`crate::privacy`])?
//!
//! A `true` lets `verify` skip re-serialising the record and walking its
//! strings. A `false` is not a verdict: the caller takes the slow path,
//! which says what is wrong, if anything. So the scan may be conservative
//! (keys with escapes, very deep nesting) but must never accept a line that
//! the slow path would find non-canonical.

use crate::jcs::INTEGER_LIMIT;
use crate::privacy::{is_certificate_number, is_resident_id};

/// Nesting deeper than this is left to the slow path (serde_json's own
/// limit is 128).
const DEPTH_MAX: u32 = 100;

/// True when `line` is canonical JSON (RFC 8785 as this ledger writes it)
/// and none of its strings holds an 18- or 20-character token that is a
/// valid ID or certificate number.
pub fn is_canonical_and_clean(line: &[u8]) -> bool {
    scan(line, may_hold_identifier(line))
}

fn scan(line: &[u8], track_tokens: bool) -> bool {
    // No raw control byte anywhere: canonical JSON has no whitespace
    // between tokens and escapes every control inside a string.
    if has_control(line) {
        return false;
    }
    let mut scanner = Scanner {
        bytes: line,
        at: 0,
        depth: 0,
        track_tokens,
    };
    scanner.value() && scanner.at == line.len()
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: u32,
    /// Whether strings are searched for identifier tokens (not needed when
    /// the line cannot hold one).
    track_tokens: bool,
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
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().is_some(),
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
        loop {
            let Some((key, escaped)) = self.string() else {
                return false;
            };
            // Keys with escapes are rare enough to leave to the slow path.
            if escaped || previous.is_some_and(|p| !utf16_less(p, key)) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value() {
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
    /// controls, everything else literal. Returns its raw content and
    /// whether it had escapes; `None` if not canonical or if it holds a
    /// token that could be an ID number.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        if !self.track_tokens {
            return self.string_without_tokens();
        }
        if !self.eat(b'"') {
            return None;
        }
        let bytes = self.bytes;
        let start = self.at;
        let mut at = start;
        // Length of the run of ASCII letters and digits ending at `at`.
        let mut run = 0;
        let mut escaped = false;
        loop {
            let byte = *bytes.get(at)?;
            if byte.is_ascii_alphanumeric() {
                run += 1;
                at += 1;
                continue;
            }
            // Any other byte ends a token (an escape stands for a control,
            // a quote or a backslash: none is a letter or digit).
            if (run == 18 || run == 20) && suspicious(&bytes[at - run..at]) {
                return None;
            }
            run = 0;
            match byte {
                b'"' => {
                    self.at = at + 1;
                    return Some((&bytes[start..at], escaped));
                }
                b'\\' => {
                    escaped = true;
                    at += escape_len(&bytes[at..])?;
                }
                0x00..=0x1f => return None,
                _ => at += 1,
            }
        }
    }

    /// [`Scanner::string`] for a line that holds no identifier token: a
    /// SIMD search for the closing quote or a backslash. (Controls were
    /// refused for the whole line.)
    fn string_without_tokens(&mut self) -> Option<(&'a [u8], bool)> {
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
                return Some((&bytes[start..at], escaped));
            }
            escaped = true;
            at += escape_len(&bytes[at..])?;
        }
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

/// Could `line` hold an identifier token at all? Every one begins with 17
/// ASCII digits. A run of 17 covers at least one whole 8-byte block
/// (counted from the line's start) of digits, so only such blocks are
/// measured. `false` lets the scan skip tracking tokens.
fn may_hold_identifier(line: &[u8]) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let is_digit = |at: &usize| line[*at].is_ascii_digit();
    line.chunks_exact(8).enumerate().any(|(i, block)| {
        // Eight digits at once: every high nibble 3, every low one ≤ 9
        // (adding 6 to a low nibble carries out of it only from 10 up).
        let word = u64::from_le_bytes(block.try_into().expect("8 bytes"));
        let digits = word & HIGH == 0x3030_3030_3030_3030
            && ((word & LOW) + 0x0606_0606_0606_0606) & HIGH == 0;
        if !digits {
            return false;
        }
        let (first, last) = (8 * i, 8 * i + 7);
        let before = (0..first).rev().take_while(is_digit).count();
        let after = (last + 1..line.len()).take_while(is_digit).count();
        before + 8 + after >= 17
    })
}

/// Could this token be a clear identifier? (What [`crate::privacy`] refuses.)
fn suspicious(token: &[u8]) -> bool {
    match token.len() {
        18 | 20 => {
            // A run of ASCII letters and digits is valid UTF-8.
            let text = std::str::from_utf8(token).unwrap_or_default();
            is_resident_id(text) || is_certificate_number(text)
        }
        _ => false,
    }
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

    /// Both ways of reading a string give one verdict, on every one-byte
    /// change of a line with escapes, controls, digits and CJK text.
    #[test]
    fn the_two_string_scans_agree() {
        let line = canonical(json!({
            "a": "x\u{1}\"\\\n\t\u{7f}é€ 12345678 digits 0123456789abcdef",
            "b": ["张*华", "", "530128-2022-roster-000001"], "c": -12, "d": true,
        }));
        let mut rng = crate::workload::SplitMix64(5);
        for _ in 0..20_000 {
            let mut changed = line.clone();
            let at = (rng.next_u64() % changed.len() as u64) as usize;
            let alphabet = b"\"\\u0019afnrt{}[],: \x01\x7f";
            changed[at] = alphabet[(rng.next_u64() % alphabet.len() as u64) as usize];
            assert_eq!(
                scan(&changed, true),
                scan(&changed, false),
                "{}",
                String::from_utf8_lossy(&changed)
            );
        }
        assert!(may_hold_identifier(b"..12345678901234567.."));
        assert!(may_hold_identifier(b"12345678901234567"));
        assert!(!may_hold_identifier(b"..1234567890123456.."));
        assert!(!may_hold_identifier(b"1234567-1234567-1234567"));
        assert!(!may_hold_identifier(b"12345678:;<=>?@/12345678"));
        for byte in 0..=255u8 {
            let mut block = *b"1234567890123456789";
            block[8] = byte;
            assert_eq!(
                may_hold_identifier(&block),
                byte.is_ascii_digit(),
                "{byte:#04x}"
            );
            let mut line = [b'a'; 100];
            line[70] = byte;
            assert_eq!(has_control(&line), byte < 0x20, "{byte:#04x}");
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
        ] {
            let bytes = canonical(value.clone());
            assert!(!is_canonical_and_clean(&bytes), "{value}");
            assert!(
                crate::privacy::find_clear_identifier(&value, "body").is_some(),
                "the slow path finds it too: {value}"
            );
        }
        // Inside a longer run it is no token of its own.
        assert!(is_canonical_and_clean(&canonical(json!(format!("a{ID}")))));
    }
}
