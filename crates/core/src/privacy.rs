//! Privacy: no clear resident ID number (GB 11643) or disability
//! certificate number ever enters the log.
//!
//! A string is read as a stream of characters after normalising each one
//! ([`Detector`]): a compatibility decomposition (NFKD, which maps
//! full-width `１` and `Ｘ`, circled `①` and the like to ASCII), every
//! Unicode decimal digit (general category Nd: Arabic-Indic, Devanagari,
//! mathematical digits …) read as its value, and separators between digits
//! — spaces, dashes, dots, slashes, underscores, commas, zero-width and
//! other format characters (Cf), combining marks — dropped. A *run* is a
//! sequence of digits joined that way, with an `X` allowed as a check
//! character. Every 18-character window of a run is checked, so an ID
//! number is found anywhere: glued to letters (`ID5301…`), followed by
//! more digits (a certificate number, whatever its category digit), or
//! split over two adjacent string values of one object (the run carries
//! over from one string value into the next, in canonical member order).
//!
//! A window is refused when it is a valid 18-character resident ID number:
//! a region code not starting with 0, a real birth date between 1900 and
//! 2100, and the right check character. That is what keeps hashes, amounts,
//! dates and phone numbers out: a 64-character hex digest rarely has 18
//! decimal digits in a row, and when it does, a real date and the check
//! character must both fit (about one window in 10⁹).

use serde_json::Value;
use unicode_general_category::{get_general_category, GeneralCategory};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

const RESIDENT_ID: &str = "a resident ID number";
const CERTIFICATE: &str = "a disability certificate number";

/// True when `token` is a valid 18-character GB 11643 resident ID number.
pub fn is_resident_id(token: &str) -> bool {
    is_resident_id_bytes(token.as_bytes())
}

fn is_resident_id_bytes(b: &[u8]) -> bool {
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return false;
    }
    let digit = |i: usize| u32::from(b[i] - b'0');
    let year = (digit(6) * 1000 + digit(7) * 100 + digit(8) * 10 + digit(9)) as i32;
    let month = digit(10) * 10 + digit(11);
    let day = digit(12) * 10 + digit(13);
    if !(1900..=2100).contains(&year) || chrono::NaiveDate::from_ymd_opt(year, month, day).is_none()
    {
        return false;
    }
    let sum: u32 = (0..17).map(|i| digit(i) * WEIGHTS[i]).sum();
    b[17].to_ascii_uppercase() == CHECK_CHARS[(sum % 11) as usize]
}

/// True when `token` is a disability certificate number: an ID number,
/// then a category digit 1–7 and a level digit 1–4.
pub fn is_certificate_number(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 20
        && is_resident_id(&token[..18])
        && (b'1'..=b'7').contains(&b[18])
        && (b'1'..=b'4').contains(&b[19])
}

/// Computes the check character for 17 digits (for tests and generators).
pub fn check_character(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize] as char
}

/// How one normalised character takes part in a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// An ASCII digit (the value of any decimal digit).
    Digit(u8),
    /// `X` or `x`: a check character after 17 digits, else a letter.
    X,
    /// Dropped between digits.
    Separator,
    /// Ends a run.
    Other,
}

/// The class of an ASCII byte.
const fn ascii_class(byte: u8) -> Class {
    match byte {
        b'0'..=b'9' => Class::Digit(byte),
        b'X' | b'x' => Class::X,
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'-' | b'.' | b'/' | b'\\' | b'_' | b',' => {
            Class::Separator
        }
        _ => Class::Other,
    }
}

/// The class of a character that has no compatibility decomposition.
fn class_of_decomposed(c: char) -> Class {
    if c.is_ascii() {
        return ascii_class(c as u8);
    }
    match get_general_category(c) {
        GeneralCategory::DecimalNumber => Class::Digit(b'0' + decimal_value(c)),
        GeneralCategory::Format
        | GeneralCategory::SpaceSeparator
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator
        | GeneralCategory::DashPunctuation
        | GeneralCategory::ConnectorPunctuation
        | GeneralCategory::NonspacingMark
        | GeneralCategory::EnclosingMark
        | GeneralCategory::Control => Class::Separator,
        // Dots, slashes and the minus sign (which are not dash punctuation).
        _ if matches!(
            c,
            '·' | '。'
                | '・'
                | '‧'
                | '•'
                | '∙'
                | '⋅'
                | '⁄'
                | '∕'
                | '−'
                | '、'
                | '，'
                | '．'
                | '／'
        ) =>
        {
            Class::Separator
        }
        _ => Class::Other,
    }
}

/// The value of a character of general category Nd. Unicode keeps every
/// such character in a contiguous run of ten, from 0 to 9 (a stability
/// guarantee), so the value is the distance from the run's start.
fn decimal_value(c: char) -> u8 {
    let code = c as u32;
    let mut start = code;
    while start > 0
        && char::from_u32(start - 1)
            .is_some_and(|p| get_general_category(p) == GeneralCategory::DecimalNumber)
    {
        start -= 1;
    }
    ((code - start) % 10) as u8
}

/// Reads characters one at a time, normalised as the module says, and
/// remembers the first clear identifier of the runs it saw. Feeding the
/// string values of one object one after the other, with
/// [`Detector::start_value`] before each, joins each to the one before.
#[derive(Clone, Debug, Default)]
pub struct Detector {
    /// The last (up to) 20 characters of the current run.
    window: [u8; 20],
    /// Length of the current run.
    run: usize,
    /// Characters pushed since the current string value began.
    since_value: usize,
    /// The run length at which an ID number was found (two more digits
    /// make it a certificate number).
    id_end: Option<usize>,
    found: Option<&'static str>,
}

impl Detector {
    /// The first clear identifier seen, if any.
    pub fn found(&self) -> Option<&'static str> {
        self.found
    }

    /// Feeds every character of `text`.
    pub fn feed_str(&mut self, text: &str) {
        for c in text.chars() {
            self.feed_char(c);
        }
    }

    /// Feeds one character.
    pub fn feed_char(&mut self, c: char) {
        if c.is_ascii() {
            self.feed_ascii(c as u8);
        } else if ('\u{4000}'..='\u{9fff}').contains(&c) {
            // CJK ideographs and Yijing symbols: no decomposition, no digit.
            self.break_run();
        } else {
            unicode_normalization::char::decompose_compatible(c, |d| {
                self.feed_class(class_of_decomposed(d));
            });
        }
    }

    /// Feeds one ASCII byte.
    #[inline]
    pub fn feed_ascii(&mut self, byte: u8) {
        self.feed_class(ascii_class(byte));
    }

    /// Ends the current run (a value that is not a string came between).
    pub fn break_run(&mut self) {
        self.run = 0;
        self.since_value = 0;
        self.id_end = None;
    }

    /// A new string value of the same object begins: the run goes on from
    /// the previous value's trailing digits, but not from the values before
    /// it (values are joined in pairs, not in chains).
    pub fn start_value(&mut self) {
        let keep = self.run.min(self.since_value);
        if keep < self.run {
            let (n, k) = (self.run.min(20), keep.min(20));
            self.window.copy_within(n - k..n, 0);
            self.run = keep;
            self.id_end = None;
        }
        self.since_value = 0;
    }

    #[inline]
    fn feed_class(&mut self, class: Class) {
        match class {
            Class::Digit(digit) => self.push(digit),
            Class::X if self.run >= 17 => self.push(b'X'),
            Class::Separator => {}
            Class::X | Class::Other => self.break_run(),
        }
    }

    fn push(&mut self, char: u8) {
        if self.run < self.window.len() {
            self.window[self.run] = char;
        } else {
            self.window.copy_within(1.., 0);
            self.window[19] = char;
        }
        self.run += 1;
        self.since_value += 1;
        if self.run < 18 {
            return;
        }
        let n = self.run.min(20);
        if self.found.is_none() && is_resident_id_bytes(&self.window[n - 18..n]) {
            self.found = Some(RESIDENT_ID);
            self.id_end = Some(self.run);
        }
        if self.id_end.is_some_and(|end| self.run == end + 2)
            && (b'1'..=b'7').contains(&self.window[n - 2])
            && (b'1'..=b'4').contains(&self.window[n - 1])
        {
            self.found = Some(CERTIFICATE);
        }
    }
}

/// The first clear identifier in `text` on its own.
pub fn find_in_text(text: &str) -> Option<&'static str> {
    let mut detector = Detector::default();
    detector.feed_str(text);
    detector.found()
}

/// What was found where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearIdentifier {
    /// Dotted path of the string holding it, e.g. `body.trainees[3].name_masked`.
    pub path: String,
    /// "a resident ID number" or "a disability certificate number".
    pub what: &'static str,
}

/// Finds the first clear identifier in any string of `value`: member names,
/// array items, and string values of objects, each joined with the string
/// value just before it in the same object (in canonical member order).
pub fn find_clear_identifier(value: &Value, path: &str) -> Option<ClearIdentifier> {
    let mut steps = Vec::new();
    let what = find_in(value, &mut steps)?;
    // The path is written only for a find, from the innermost step out.
    let mut full = path.to_string();
    for step in steps.iter().rev() {
        match step {
            Step::Index(i) => full.push_str(&format!("[{i}]")),
            Step::Member(name) => {
                if !full.is_empty() {
                    full.push('.');
                }
                full.push_str(name);
            }
        }
    }
    Some(ClearIdentifier { path: full, what })
}

/// One step of a path into a JSON value.
enum Step<'v> {
    Index(usize),
    Member(&'v str),
}

/// The first clear identifier under `value`; `steps` gets the way to it,
/// innermost first.
fn find_in<'v>(value: &'v Value, steps: &mut Vec<Step<'v>>) -> Option<&'static str> {
    match value {
        Value::String(text) => find_in_text(text),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let what = find_in(item, steps)?;
            steps.push(Step::Index(i));
            Some(what)
        }),
        Value::Object(members) => {
            let mut members: Vec<(&'v String, &'v Value)> = members.iter().collect();
            // The canonical order (UTF-16 code units), which the stored line has.
            if members.iter().any(|(name, _)| !name.is_ascii()) {
                members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            }
            let mut joined = Detector::default();
            members.into_iter().find_map(|(name, item)| {
                let what = find_in_text(name).or_else(|| member_value(item, &mut joined, steps))?;
                steps.push(Step::Member(name));
                Some(what)
            })
        }
        _ => None,
    }
}

/// The value of an object member: a string continues the run of the
/// string value just before it; anything else ends that run and is
/// searched on its own.
fn member_value<'v>(
    item: &'v Value,
    joined: &mut Detector,
    steps: &mut Vec<Step<'v>>,
) -> Option<&'static str> {
    match item {
        Value::String(text) => {
            joined.start_value();
            joined.feed_str(text);
            joined.found()
        }
        other => {
            joined.break_run();
            find_in(other, steps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // 11010519491231002X is the standard's own worked example.
    const ID: &str = "11010519491231002X";

    #[test]
    fn recognises_ids_and_certificates() {
        assert!(is_resident_id(ID));
        assert!(is_resident_id("11010519491231002x"));
        assert!(!is_resident_id("110105194912310021")); // wrong check character
        assert!(!is_resident_id("110105194913310029")); // month 13
        assert_eq!(check_character("53012819900101123"), '5');
        assert!(is_certificate_number(&format!("{ID}41")));
        assert!(!is_certificate_number(&format!("{ID}81"))); // category 8
        assert!(!is_certificate_number(&format!("{ID}45"))); // level 5
    }

    #[test]
    fn finds_numbers_wherever_they_are() {
        let body = json!({"trainees": [{"note": format!("身份证{ID}，已核")}]});
        let found = find_clear_identifier(&body, "body").unwrap();
        assert_eq!(found.path, "body.trainees[0].note");
        assert_eq!(found.what, RESIDENT_ID);
        assert_eq!(find_in_text(&format!("cert {ID}11")), Some(CERTIFICATE));
        // A certificate number of category 8 still holds an ID number.
        assert_eq!(find_in_text(&format!("{ID}81")), Some(RESIDENT_ID));
        // Glued to letters and digits, disguised, split over two values.
        for text in [
            format!("ab{}cd", ID.to_lowercase()),
            "1101 0519 4912 3100 2X".to_string(),
            "１１０１０５１９４９１２３１００２Ｘ".to_string(),
            "110105\u{200b}19491231002X".to_string(),
        ] {
            assert_eq!(find_in_text(&text), Some(RESIDENT_ID), "{text}");
        }
        let split = json!({"a": "1101051949", "b": "1231002X"});
        assert_eq!(
            find_clear_identifier(&split, "body").unwrap().path,
            "body.b"
        );
        // A JSON number is no string.
        assert!(find_clear_identifier(&json!({"n": 110105194912310029u64}), "body").is_none());
        // A value that is not a string ends the run; array items and
        // values three apart are not joined (lists of codes are common).
        for apart in [
            json!({"a": "1101051949", "b": 7, "c": "1231002X"}),
            json!(["1101051949", "1231002X"]),
            json!({"a": "1101051", "b": "9491231", "c": "002X"}),
        ] {
            assert!(find_clear_identifier(&apart, "body").is_none(), "{apart}");
        }
        let codes: Vec<String> = (0..60).map(|i| format!("1102{:02}", 16 + 3 * i)).collect();
        assert!(find_clear_identifier(&json!({"d": codes}), "body").is_none());
    }
}
