//! The two kinds that make up nearly all of a large ledger —
//! `expenditure_reported` (line items) and `roster_filed` (hundreds of
//! trainees each) — read straight from their canonical text into typed
//! bodies, with every constraint of their JSON schemas checked on the typed
//! fields instead of on a JSON tree.
//!
//! This is a shortcut, not a second opinion: [`parse_checked`] returns a
//! body only when the schema certainly accepts it and [`Body::parse`] would
//! give the same one. Anything it is unsure of (escaped strings, `null`
//! where a string belongs, a character that one regex dialect might call
//! whitespace and another not) gives `None`, and the caller validates the
//! tree against the schema, which decides and names the problem. Tests in
//! `ledger.rs` hold it to that on thousands of changed records.

use crate::body::{Body, ExpenditureReported, RosterFiled, Session, Trainee};
use crate::ids::{is_valid_id, DistrictCode, Hash32};
use crate::kind::EventKind;
use crate::money::Money;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// The typed body of `kind` from its canonical JSON text, when `kind` is a
/// bulk kind and the body certainly passes its schema; `None` otherwise.
pub fn parse_checked(kind: EventKind, body_json: &str) -> Option<Body> {
    // serde would also read a struct from an array of its members.
    if !body_json.starts_with('{') {
        return None;
    }
    match kind {
        EventKind::ExpenditureReported => expenditure(body_json),
        EventKind::RosterFiled => roster(body_json),
        _ => None,
    }
}

/// The seven documents of a roster (培训台账), all required by its schema.
const DOCUMENTS: [&str; 7] = [
    "courseware",
    "fund_use_statement",
    "participant_publicity",
    "trainee_roster",
    "training_briefing",
    "training_plan",
    "training_summary",
];

/// A string member that may be absent but, when present, is a string (the
/// schema refuses `null`; serde's `Option` would take it).
fn present_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    <&str>::deserialize(d).map(Some)
}

fn expenditure(body_json: &str) -> Option<Body> {
    // Borrowed `&str` members: a string with escapes does not deserialize,
    // and takes the schema's path.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Expenditure<'a> {
        program: &'a str,
        district_code: &'a str,
        amount_cny: &'a str,
        purpose: &'a str,
        #[serde(default, deserialize_with = "present_str")]
        roster_event_id: Option<&'a str>,
    }
    let e: Expenditure = serde_json::from_str(body_json).ok()?;
    let ok = is_valid_id(e.program)
        && is_amount(e.amount_cny)
        && chars_between(e.purpose, 1, 500)
        && e.roster_event_id.map_or(true, is_valid_id);
    if !ok {
        return None;
    }
    Some(Body::ExpenditureReported(ExpenditureReported {
        program: e.program.to_string(),
        district_code: DistrictCode::parse(e.district_code).ok()?,
        amount_cny: Money::parse(e.amount_cny).ok()?,
        roster_event_id: e.roster_event_id.map(str::to_string),
    }))
}

fn roster(body_json: &str) -> Option<Body> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Roster<'a> {
        program: &'a str,
        district_code: &'a str,
        township: &'a str,
        #[serde(borrow)]
        session: RawSession<'a>,
        #[serde(borrow)]
        trainees: Vec<RawTrainee<'a>>,
        #[serde(borrow)]
        documents: BTreeMap<&'a str, Option<&'a str>>,
        #[serde(default, deserialize_with = "present_str")]
        person_digest_commitment: Option<&'a str>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawSession<'a> {
        title: &'a str,
        start_date: &'a str,
        end_date: &'a str,
        #[serde(default, deserialize_with = "present_str")]
        location: Option<&'a str>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawTrainee<'a> {
        person_digest: &'a str,
        name_masked: &'a str,
        disability_category: u64,
        disability_level: u64,
        signed: bool,
    }
    let r: Roster = serde_json::from_str(body_json).ok()?;
    let s = &r.session;
    let ok = is_valid_id(r.program)
        && chars_between(r.township, 1, 100)
        && chars_between(s.title, 1, 200)
        && is_date_shape(s.start_date)
        && is_date_shape(s.end_date)
        && s.location.map_or(true, |l| chars_between(l, 1, 200))
        && (1..=2000).contains(&r.trainees.len());
    if !ok {
        return None;
    }
    let mut trainees = Vec::with_capacity(r.trainees.len());
    for t in &r.trainees {
        if !(1..=7).contains(&t.disability_category)
            || !(1..=4).contains(&t.disability_level)
            || !is_masked_name(t.name_masked)
        {
            return None;
        }
        trainees.push(Trainee {
            person_digest: Hash32::parse(t.person_digest).ok()?,
            name_masked: t.name_masked.to_string(),
            disability_category: t.disability_category as u8,
            disability_level: t.disability_level as u8,
            signed: t.signed,
        });
    }
    // Exactly the seven documents (a canonical object has no repeated
    // member), each a digest or null.
    if r.documents.len() != DOCUMENTS.len()
        || !DOCUMENTS.iter().all(|d| r.documents.contains_key(d))
    {
        return None;
    }
    let mut documents = BTreeMap::new();
    for (name, digest) in &r.documents {
        let digest = match digest {
            Some(hex) => Some(Hash32::parse(hex).ok()?),
            None => None,
        };
        documents.insert(name.to_string(), digest);
    }
    Some(Body::RosterFiled(Box::new(RosterFiled {
        program: r.program.to_string(),
        district_code: DistrictCode::parse(r.district_code).ok()?,
        township: r.township.to_string(),
        session: Session {
            title: s.title.to_string(),
            start_date: s.start_date.to_string(),
            end_date: s.end_date.to_string(),
        },
        trainees,
        documents,
        person_digest_commitment: match r.person_digest_commitment {
            Some(hex) => Some(Hash32::parse(hex).ok()?),
            None => None,
        },
    })))
}

/// `^(0|[1-9][0-9]{0,14})\.[0-9]{2}$`
fn is_amount(text: &str) -> bool {
    let Some((whole, cents)) = text.split_once('.') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (whole == "0" || (1..=15).contains(&whole.len()) && !whole.starts_with('0'))
        && digits(whole)
        && cents.len() == 2
        && digits(cents)
}

/// `^[0-9]{4}-[0-9]{2}-[0-9]{2}$` (the shape only, as the schema checks).
fn is_date_shape(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// JSON Schema's `minLength`/`maxLength`: counted in characters.
fn chars_between(text: &str, min: usize, max: usize) -> bool {
    // Cheap bounds first: a character is 1 to 4 bytes.
    if text.len() < min || text.len() > 4 * max {
        return false;
    }
    (min..=max).contains(&text.chars().count())
}

/// `^[^*\s]{1,2}\*{1,3}[^*\s]?$`, e.g. `张*华`. A character that any regex
/// dialect counts as `\s` is refused here (the schema then decides).
fn is_masked_name(text: &str) -> bool {
    let plain = |c: char| c != '*' && !maybe_whitespace(c);
    let mut chars = text.chars().peekable();
    let mut head = 0;
    while chars.next_if(|c| plain(*c)).is_some() {
        head += 1;
    }
    let mut stars = 0;
    while chars.next_if_eq(&'*').is_some() {
        stars += 1;
    }
    let tail: Vec<char> = chars.collect();
    (1..=2).contains(&head)
        && (1..=3).contains(&stars)
        && match tail.as_slice() {
            [] => true,
            [c] => plain(*c),
            _ => false,
        }
}

/// Unicode White_Space, and the characters some ECMAScript-style `\s`
/// definitions add (byte-order mark, Mongolian vowel separator, zero-width
/// space).
fn maybe_whitespace(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{feff}' | '\u{180e}' | '\u{200b}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_names_follow_the_pattern() {
        for ok in ["张*华", "张*", "欧阳**", "张***华", "ab*c", "a*"] {
            assert!(is_masked_name(ok), "{ok}");
        }
        for bad in [
            "",
            "*",
            "张华",
            "张 *华",
            "欧阳修*",
            "张****",
            "张*华华",
            "张*\u{3000}",
            "张*\u{feff}",
            "*张",
            "张*华*",
        ] {
            assert!(!is_masked_name(bad), "{bad}");
        }
    }

    /// What serde alone would let through, and the schema refuses.
    #[test]
    fn what_serde_allows_and_the_schema_does_not_is_left_to_the_schema() {
        let kind = EventKind::ExpenditureReported;
        let good = r#"{"amount_cny":"1.00","district_code":"530102","program":"p","purpose":"x"}"#;
        assert!(parse_checked(kind, good).is_some());
        for bad in [
            r#"["1.00","530102","p","x"]"#,
            r#"{"amount_cny":"1.00","district_code":"530102","program":"p","purpose":"x","roster_event_id":null}"#,
            r#"{"amount_cny":"1.00","district_code":"530102","program":"p","purpose":""}"#,
            r#"{"amount_cny":"1.00","district_code":"530102","program":"p","purpose":"x"},"z":1"#,
            r#"{"amount_cny":"1.00","district_code":"53010","program":"p","purpose":"x"}"#,
            r#"{"amount_cny":"1.00","district_code":"530102","program":"p p","purpose":"x"}"#,
            r#"{"amount_cny":"1.00","district_code":"530102","program":"p","purpose":"\u0041"}"#,
        ] {
            assert!(parse_checked(kind, bad).is_none(), "{bad}");
        }
        let documents = |plan: &str| {
            format!(
                r#"{{"documents":{{"courseware":null,"fund_use_statement":null,"participant_publicity":null,"trainee_roster":null,"training_briefing":null{plan},"training_summary":null}},"district_code":"530102","program":"p","session":{{"end_date":"2022-05-02","start_date":"2022-05-01","title":"t"}},"township":"w","trainees":[{{"disability_category":1,"disability_level":2,"name_masked":"张*","person_digest":"{}","signed":true}}]}}"#,
                "ab".repeat(32)
            )
        };
        let kind = EventKind::RosterFiled;
        assert!(parse_checked(kind, &documents(r#","training_plan":null"#)).is_some());
        assert!(
            parse_checked(kind, &documents("")).is_none(),
            "a document may be null, not absent"
        );
        assert!(parse_checked(kind, &documents(r#","training_plan":"AB""#)).is_none());
        assert!(
            parse_checked(
                kind,
                &documents(r#","training_plan":null,"training_plaza":null"#)
            )
            .is_none(),
            "an eighth document"
        );
    }

    #[test]
    fn amounts_follow_the_pattern() {
        for ok in ["0.00", "1.05", "999999999999999.99"] {
            assert!(is_amount(ok), "{ok}");
        }
        for bad in [
            "00.00",
            "01.00",
            "1.0",
            "1",
            "-1.00",
            "1000000000000000.00",
            ".50",
            "1.000",
        ] {
            assert!(!is_amount(bad), "{bad}");
        }
    }
}
