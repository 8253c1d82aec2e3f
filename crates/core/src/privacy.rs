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
    match value {
        Value::String(text) => scan(text).map(|what| ClearIdentifier {
            path: path.to_string(),
            what,
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_clear_identifier(item, &format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(name, item)| {
            let child = format!("{path}.{name}");
            scan(name)
                .map(|what| ClearIdentifier {
                    path: child.clone(),
                    what,
                })
                .or_else(|| find_clear_identifier(item, &child))
        }),
        _ => None,
    }
}

fn scan(text: &str) -> Option<&'static str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|token| {
            if is_resident_id(token) {
                Some("a resident ID number")
            } else if is_certificate_number(token) {
                Some("a disability certificate number")
            } else {
                None
            }
        })
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
