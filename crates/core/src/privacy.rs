//! Privacy: no clear resident ID number (GB 11643) or disability
//! certificate number ever enters the log.
//!
//! Every string in an event body is split into tokens — maximal runs of
//! ASCII letters and digits — and a token is refused when it is a valid
//! 18-character resident ID number (a real birth date and the right check
//! character) or a 20-character certificate number (such an ID number
//! followed by a category digit 1–7 and a level digit 1–4). A token inside a
//! longer run, such as part of a 64-character hex digest, never matches.

use serde_json::Value;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// True when `token` is a valid 18-character GB 11643 resident ID number.
pub fn is_resident_id(token: &str) -> bool {
    let b = token.as_bytes();
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

/// What was found where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearIdentifier {
    /// Dotted path of the string holding it, e.g. `body.trainees[3].name_masked`.
    pub path: String,
    /// "a resident ID number" or "a disability certificate number".
    pub what: &'static str,
}

/// Finds the first clear identifier in any string of `value` (member names included).
pub fn find_clear_identifier(value: &Value, path: &str) -> Option<ClearIdentifier> {
    let mut steps = Vec::new();
    let what = find_in(value, &mut steps)?;
    // The path is written only for a find, from the innermost step out.
    let mut full = path.to_string();
    for step in steps.iter().rev() {
        match step {
            Step::Index(i) => full.push_str(&format!("[{i}]")),
            Step::Member(name) => {
                full.push('.');
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
        Value::String(text) => scan(text),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let what = find_in(item, steps)?;
            steps.push(Step::Index(i));
            Some(what)
        }),
        Value::Object(members) => members.iter().find_map(|(name, item)| {
            let what = scan(name).or_else(|| find_in(item, steps))?;
            steps.push(Step::Member(name));
            Some(what)
        }),
        _ => None,
    }
}

/// Checks every token — maximal run of ASCII letters and digits — of `text`.
/// Only a run of 18 or 20 characters can be a number; others are skipped
/// without a look.
fn scan(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    for end in 0..=bytes.len() {
        if end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
            continue;
        }
        // A run of ASCII bytes is valid UTF-8 on its own.
        let token = std::str::from_utf8(&bytes[start..end]).unwrap_or_default();
        if token.len() == 18 && is_resident_id(token) {
            return Some("a resident ID number");
        }
        if token.len() == 20 && is_certificate_number(token) {
            return Some("a disability certificate number");
        }
        start = end + 1;
    }
    None
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
    fn finds_tokens_of_their_own_only() {
        let body = json!({"trainees": [{"note": format!("身份证{ID}，已核")}]});
        let found = find_clear_identifier(&body, "body").unwrap();
        assert_eq!(found.path, "body.trainees[0].note");
        assert_eq!(found.what, "a resident ID number");
        let cert = json!({"x": format!("cert {ID}11")});
        assert_eq!(
            find_clear_identifier(&cert, "body").unwrap().what,
            "a disability certificate number"
        );
        // Inside a longer run of letters and digits (a hex digest): never.
        let digest = format!("ab{}cd", ID.to_lowercase());
        assert!(find_clear_identifier(&json!({"d": digest}), "body").is_none());
        assert!(find_clear_identifier(&json!({"n": 110105194912310029u64}), "body").is_none());
    }
}
