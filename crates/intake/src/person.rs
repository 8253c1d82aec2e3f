//! A trainee's identity as a clerk types it: resident ID number (GB 11643),
//! disability certificate number, category, level, gender and name — read
//! leniently (full-width digits, spaces, `肢体`, `四级`) and checked
//! strictly. Nothing here ever puts a clear number into a message: numbers
//! are shown masked ([`mask_id`]).

use crate::grid::Cell;
use fundledger_core::privacy::check_character;
use unicode_normalization::UnicodeNormalization;

/// A checked resident ID number: 17 digits and a check character, upper-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// The number (never to be shown or written anywhere but a digest).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the ID says male (its 17th digit is odd).
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }
}

/// `5301**********123X`: the first and last four characters.
pub fn mask_id(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// A cell's text as a message may show it: masked when it holds more than
/// four digits (a number typed into the wrong column is still a number).
pub fn shown(text: &str) -> String {
    if text.chars().filter(char::is_ascii_digit).count() > 4 || text.chars().count() > 40 {
        mask_id(text)
    } else {
        text.to_string()
    }
}

/// A typed identifier made plain: NFKC (full-width digits and letters to
/// ASCII), without spaces, dashes or zero-width characters, upper-case.
fn plain(text: &str) -> String {
    text.nfkc()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '\u{200b}' | '\u{feff}' | '\u{ad}'))
        .collect::<String>()
        .to_uppercase()
}

/// Does `text` look like a number Excel printed in scientific notation
/// (`5.30128E+17`)?
fn is_scientific(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.contains("E+")
        && upper
            .replace("E+", "")
            .replace('.', "")
            .bytes()
            .all(|b| b.is_ascii_digit())
}

const AS_NUMBER: &str = "the ID number is stored as a number, so Excel has already dropped its last digits; format the column as text and re-enter the ID numbers";

/// Reads and checks a resident ID number.
pub fn resident_id(cell: &Cell) -> Result<ResidentId, String> {
    let text = match cell {
        Cell::Number(_) => return Err(AS_NUMBER.to_string()),
        Cell::Empty => return Err("the ID number is blank; fill it in".to_string()),
        other => plain(&other.text()),
    };
    if is_scientific(&text) {
        return Err(AS_NUMBER.to_string());
    }
    let masked = mask_id(&text);
    let bytes = text.as_bytes();
    if text.chars().count() != 18 {
        return Err(format!(
            "{masked} has {} characters; a resident ID number has 18",
            text.chars().count()
        ));
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(format!(
            "{masked} holds characters other than 17 digits and a final digit or X"
        ));
    }
    let digits = |range: std::ops::Range<usize>| text[range].parse::<u32>().expect("digits");
    let (year, month, day) = (digits(6..10) as i32, digits(10..12), digits(12..14));
    let born = chrono::NaiveDate::from_ymd_opt(year, month, day);
    if !(1900..=2100).contains(&year) || born.is_none() {
        return Err(format!(
            "{masked}: its birth date (characters 7–14) is not a real date; check the ID card"
        ));
    }
    let expected = check_character(&text[..17]);
    if bytes[17] as char != expected {
        return Err(format!(
            "{masked}: its check character is {} but its first 17 digits need {expected}; a digit was mistyped — check the ID card",
            bytes[17] as char
        ));
    }
    Ok(ResidentId(text))
}

/// The category and level a certificate number ends with, once it is
/// checked to extend `id` (the second-generation 残疾人证: the ID number,
/// then the category digit 1–7 and the level digit 1–4).
pub fn certificate(cell: &Cell, id: &ResidentId) -> Result<(u8, u8), String> {
    if matches!(cell, Cell::Number(_)) {
        return Err("the certificate number is stored as a number, so Excel has already dropped its last digits; format the column as text and re-enter it".to_string());
    }
    let text = plain(&cell.text());
    let masked = mask_id(&text);
    if text.chars().count() != 20 {
        return Err(format!(
            "{masked} has {} characters; a disability certificate number has 20 (the ID number, the category and the level)",
            text.chars().count()
        ));
    }
    if &text[..18] != id.as_str() {
        return Err(format!(
            "{masked} does not extend the person's ID number (its first 18 characters must be the ID number); check both"
        ));
    }
    let category = text.as_bytes()[18].wrapping_sub(b'0');
    let level = text.as_bytes()[19].wrapping_sub(b'0');
    if !(1..=7).contains(&category) || !(1..=4).contains(&level) {
        return Err(format!(
            "{masked} ends in category {} and level {}: categories are 1–7 and levels 1–4",
            text.as_bytes()[18] as char,
            text.as_bytes()[19] as char
        ));
    }
    Ok((category, level))
}

/// The seven categories of GB/T 26341, in their order.
pub const CATEGORIES: [&str; 7] = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"];

/// A category: `1`–`7`, or its name (`肢体`, `肢体残疾`).
pub fn category(cell: &Cell) -> Result<u8, String> {
    let text = plain(&cell.text());
    if text.is_empty() {
        return Err(
            "the category is blank; fill in 1–7 or its name (视力 听力 言语 肢体 智力 精神 多重)"
                .to_string(),
        );
    }
    let name = text.trim_end_matches("残疾").trim_end_matches("类");
    if let Some(at) = CATEGORIES.iter().position(|c| *c == name) {
        return Ok(at as u8 + 1);
    }
    match text.parse::<u8>() {
        Ok(n @ 1..=7) => Ok(n),
        _ => Err(format!(
            "category {:?} is none of 1–7 (视力 听力 言语 肢体 智力 精神 多重)",
            shown(&text)
        )),
    }
}

/// A level: `1`–`4`, `一级`…`四级`, `一`…`四`, `4级`.
pub fn level(cell: &Cell) -> Result<u8, String> {
    let text = plain(&cell.text());
    if text.is_empty() {
        return Err("the level is blank; fill in 1–4 (一级 to 四级)".to_string());
    }
    let bare = text.trim_end_matches('级');
    let value = match bare {
        "一" => Some(1),
        "二" => Some(2),
        "三" => Some(3),
        "四" => Some(4),
        other => other.parse::<u8>().ok().filter(|n| (1..=4).contains(n)),
    };
    value.ok_or_else(|| format!("level {:?} is none of 1–4 (一级 to 四级)", shown(&text)))
}

/// Whether the trainee signed: `是`, `已签`, `√`, `Y`, `1`, TRUE or a
/// signature; `否`, `未签`, `×`, `N`, `0`, FALSE or blank for not.
pub fn signed(cell: &Cell) -> bool {
    match cell {
        Cell::Bool(b) => *b,
        Cell::Number(n) => *n != 0.0,
        other => {
            let text = plain(&other.text());
            !(text.is_empty()
                || matches!(
                    text.as_str(),
                    "否" | "未签"
                        | "未签名"
                        | "未签字"
                        | "×"
                        | "X"
                        | "N"
                        | "NO"
                        | "0"
                        | "FALSE"
                        | "无"
                ))
        }
    }
}

/// Checks a gender cell (`男`/`女`) against the ID number.
pub fn gender_matches(cell: &Cell, id: &ResidentId) -> Result<(), String> {
    let text = plain(&cell.text());
    let male = match text.as_str() {
        "" => return Ok(()),
        "男" | "M" | "MALE" => true,
        "女" | "F" | "FEMALE" => false,
        other => return Err(format!("gender {:?} is neither 男 nor 女", shown(other))),
    };
    if male == id.is_male() {
        Ok(())
    } else {
        Err(format!(
            "gender {text} contradicts the ID number {} (its 17th digit says {})",
            mask_id(id.as_str()),
            if id.is_male() { "男" } else { "女" }
        ))
    }
}

/// A masked name: `张*华` (first and last character), `李*` (two
/// characters), minority names written with `·` kept to their first and
/// last characters (`阿*提`). `None` for a blank name.
pub fn mask_name(text: &str) -> Option<String> {
    let chars: Vec<char> = text
        .nfkc()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '・' | '•' | '.' | '*'))
        .collect();
    match chars.len() {
        0 => None,
        1 | 2 => Some(format!("{}*", chars[0])),
        n => Some(format!("{}*{}", chars[0], chars[n - 1])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    #[test]
    fn ids_are_read_leniently_and_checked_strictly() {
        let id = resident_id(&text(" １１０１０５１９４９１２３１００２ｘ ")).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(resident_id(&Cell::Number(1.10105194912310e17))
            .unwrap_err()
            .contains("stored as a number"));
        assert!(resident_id(&text("1.10105E+17"))
            .unwrap_err()
            .contains("stored as a number"));
        let wrong = resident_id(&text("110105194912310021")).unwrap_err();
        assert!(
            wrong.contains("1101**********0021") && wrong.contains("need X"),
            "{wrong}"
        );
        assert!(resident_id(&text("110105194902300027"))
            .unwrap_err()
            .contains("birth date"));
        assert!(resident_id(&text("11010519491231002"))
            .unwrap_err()
            .contains("17 characters"));
        assert!(!wrong.contains("110105194912310021"));
    }

    #[test]
    fn certificates_categories_levels_and_names() {
        let id = resident_id(&text("11010519491231002X")).unwrap();
        assert_eq!(certificate(&text("11010519491231002X42"), &id), Ok((4, 2)));
        assert!(certificate(&text("11010519491231003X42"), &id)
            .unwrap_err()
            .contains("does not extend"));
        assert!(certificate(&text("11010519491231002X82"), &id)
            .unwrap_err()
            .contains("categories are 1–7"));
        assert_eq!(category(&text("肢体")), Ok(4));
        assert_eq!(category(&text("肢体残疾")), Ok(4));
        assert_eq!(category(&Cell::Number(4.0)), Ok(4));
        assert!(category(&text("8")).is_err());
        assert_eq!(level(&text("四级")), Ok(4));
        assert_eq!(level(&text("2")), Ok(2));
        assert!(level(&text("五级")).is_err());
        assert_eq!(mask_name("张三华").as_deref(), Some("张*华"));
        assert_eq!(mask_name("李四").as_deref(), Some("李*"));
        assert_eq!(mask_name("阿依古丽·买买提").as_deref(), Some("阿*提"));
        assert_eq!(mask_name("  "), None);
        // The 17th digit, 2, is even: a woman.
        assert!(gender_matches(&text("女"), &id).is_ok());
        assert!(gender_matches(&text("男"), &id)
            .unwrap_err()
            .contains("contradicts"));
    }
}
