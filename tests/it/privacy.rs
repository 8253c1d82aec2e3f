//! The privacy guard against disguise (issue #11, finding 10), through the
//! real binary on the demo ledger: a corpus of disguised resident ID and
//! certificate numbers is refused one by one (exit 1, the field named,
//! nothing written), and a corpus of look-alikes — digests, amounts, dates,
//! phone numbers, near-miss numbers — is appended as one batch and the
//! ledger still verifies.

use crate::chain::key;
use crate::cli::{event, roster, Demo};
use crate::support::{ok, run};
use fundledger_core::privacy::check_character;
use serde_json::{json, Value};

/// Two valid ID numbers: the standard's worked example (check character X)
/// and a Luquan-shaped one (check digit 5).
const IDS: [&str; 2] = ["11010519491231002X", "530128199001011235"];

/// `id` with its digits written from the decimal digit set starting at `zero`.
fn digits_from(id: &str, zero: u32, x: char) -> String {
    id.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).unwrap(),
            None if c == 'X' => x,
            None => c,
        })
        .collect()
}

/// `id` cut into groups of `sizes`, joined by `separator`.
fn grouped(id: &str, sizes: &[usize], separator: &str) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    for size in sizes {
        parts.push(&id[at..at + size]);
        at += size;
    }
    parts.join(separator)
}

/// `id` with `separator` between every two characters.
fn spread(id: &str, separator: &str) -> String {
    let chars: Vec<String> = id.chars().map(String::from).collect();
    chars.join(separator)
}

/// Every disguise of `id` as one string.
fn disguised_texts(id: &str) -> Vec<String> {
    const SUPERSCRIPTS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    const CIRCLED: [char; 10] = ['⓪', '①', '②', '③', '④', '⑤', '⑥', '⑦', '⑧', '⑨'];
    let six_eight_four = |separator: &str| grouped(id, &[6, 8, 4], separator);
    let table = |table: [char; 10]| {
        id.chars()
            .map(|c| c.to_digit(10).map_or(c, |d| table[d as usize]))
            .collect::<String>()
    };
    vec![
        id.to_string(),
        id.to_lowercase(),
        six_eight_four(" "),
        six_eight_four("-"),
        grouped(id, &[4, 4, 4, 4, 2], " "),
        grouped(id, &[3, 3, 4, 4, 4], "."),
        six_eight_four("/"),
        six_eight_four("_"),
        six_eight_four(","),
        spread(id, " "),
        spread(id, "-"),
        digits_from(id, 0xFF10, 'Ｘ'),
        digits_from(id, 0xFF10, 'ｘ'),
        digits_from(id, 0x0660, 'X'),
        digits_from(id, 0x06F0, 'X'),
        digits_from(id, 0x0966, 'X'),
        digits_from(id, 0x09E6, 'X'),
        digits_from(id, 0x0E50, 'X'),
        digits_from(id, 0x1D7CE, 'X'),
        digits_from(id, 0x1D7F6, 'X'),
        table(SUPERSCRIPTS),
        table(CIRCLED),
        grouped(id, &[3, 3, 3, 3, 3, 3], "\u{200B}"),
        six_eight_four("\u{00AD}"),
        six_eight_four("\u{200D}"),
        six_eight_four("\u{2060}"),
        six_eight_four("\u{FEFF}"),
        six_eight_four("\u{00A0}"),
        six_eight_four("\u{3000}"),
        six_eight_four("\u{2009}"),
        six_eight_four("\u{2013}"),
        six_eight_four("\u{2014}"),
        six_eight_four("\u{2212}"),
        six_eight_four("\u{FF0D}"),
        six_eight_four("·"),
        six_eight_four("。"),
        six_eight_four("・"),
        six_eight_four("\u{2044}"),
        six_eight_four("\t"),
        six_eight_four("\n"),
        spread(id, "\u{0301}"),
        digits_from(&six_eight_four("\u{200B}"), 0xFF10, 'Ｘ'),
        format!("ID{id}"),
        format!("a{}b", id.to_lowercase()),
        format!("{id}12"),
        format!("{id}81"),
        format!("{id}99"),
        format!("身份证号：{id}，已核"),
    ]
}

/// Every disguised event: each text as a township, plus numbers split over
/// two string values of an object and hidden in ids, actor names and
/// member names.
fn disguised_events() -> Vec<(String, Value)> {
    let digest = "cd".repeat(32);
    let mut events = Vec::new();
    for (n, id) in IDS.iter().enumerate() {
        for (i, text) in disguised_texts(id).into_iter().enumerate() {
            let label = format!("township {text:?}");
            events.push((label, roster(&format!("d{n}.{i}"), &text, &digest)));
        }
    }
    let id = IDS[0];
    let lower = id.to_lowercase();
    let mut split_two = roster("s2", "屏山街道", &digest);
    split_two["body"]["session"]["location"] = json!(&id[..9]);
    split_two["body"]["session"]["start_date"] = json!(&id[9..]);
    events.push(("split over two members".into(), split_two));
    let mut split_trainee = roster("s3", "屏山街道", &digest);
    split_trainee["body"]["trainees"][0]["name_masked"] = json!(format!("张{}", &id[..8]));
    split_trainee["body"]["trainees"][0]["person_digest"] = json!(&id[8..]);
    events.push(("split over two members of a trainee".into(), split_trainee));
    let mut split_spaced = roster("s4", "屏山街道", &digest);
    split_spaced["body"]["session"]["end_date"] = json!(grouped(&id[..10], &[6, 4], " "));
    split_spaced["body"]["session"]["location"] =
        json!(format!("{}号", grouped(&id[10..], &[4, 4], "-")));
    events.push(("split and spaced over two members".into(), split_spaced));
    events.push((
        "the event id".into(),
        roster(&format!("r.{lower}"), "屏山街道", &digest),
    ));
    let mut actor = roster("a1", "屏山街道", &digest);
    actor["actor"] = json!(format!("d-{lower}"));
    events.push(("the actor".into(), actor));
    let mut member = roster("m1", "屏山街道", &digest);
    member["body"][id] = json!(1);
    events.push(("a member name".into(), member));
    let mut nested = roster("m2", "屏山街道", &digest);
    nested["body"]["session"][format!("x {}", grouped(id, &[6, 8, 4], "-"))] = json!("y");
    events.push(("a nested member name".into(), nested));
    events
}

/// Look-alikes that are no ID number: each a spending line's purpose.
fn look_alikes() -> Vec<String> {
    let mut texts: Vec<String> = (0..20)
        .map(|i| {
            blake3::hash(format!("look-alike {i}").as_bytes())
                .to_hex()
                .to_string()
        })
        .collect();
    // Every wrong check character of both numbers.
    for id in IDS {
        let right = check_character(&id[..17]);
        for wrong in "0123456789X".chars().filter(|c| *c != right) {
            texts.push(format!("{}{wrong}", &id[..17]));
        }
    }
    for text in [
        "11010519491231002",  // 17 digits
        "110105194913310022", // month 13
        "110105194902300021", // 30 February
        "110105189912310022", // born 1899
        "010105194912310021", // region code 0…
        "110105491231002",    // the old 15-digit form is not matched
        "2022-10-30",
        "2022年10月30日",
        "20221030",
        "2022-10-30T10:00:00+08:00",
        "2022-10-30 至 2022-11-30",
        "1949-12-31/2022-10-30",
        "13800138000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "0871-63123456",
        "13800138000、13900139000",
        "1,000,000.00",
        "29,999.99",
        "12345678901234.56",
        "¥1,000,000.00元",
        "6222 0212 3456 7890 123",
        "550e8400-e29b-41d4-a716-446655440000",
        "记-2022-10-0001",
        "1234567890123456789012345678901234567890",
        "3f9a1e0c4d2b8a7f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a19080",
        "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "培训费 30000.00 元，凭证 2022-10-0001 号",
    ] {
        texts.push(text.to_string());
    }
    texts
}

#[test]
fn disguised_numbers_are_refused_one_by_one() {
    let demo = Demo::new();
    demo.unsettle_luquan();
    let before = demo.export();
    let events = disguised_events();
    assert!(events.len() >= 60, "{} disguises", events.len());
    for (label, event) in &events {
        let out = run(
            demo.path(),
            &[
                "append",
                "--ledger",
                &demo.ledger,
                "--key",
                &key("luquan-dpf"),
                "--operator-key",
                &key("kunming-dpf"),
                "-",
            ],
            Some(&event.to_string()),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{label}: {err}");
        assert!(
            err.contains("in clear") && err.contains("field "),
            "{label}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{label}: {err}");
    }
    assert_eq!(before, demo.export(), "nothing was appended");
}

#[test]
fn look_alikes_are_accepted_and_verify() {
    let demo = Demo::new();
    demo.unsettle_luquan();
    let texts = look_alikes();
    assert!(texts.len() >= 60, "{} look-alikes", texts.len());
    let input: String = texts
        .iter()
        .enumerate()
        .map(|(i, purpose)| {
            let body = json!({"program": "kunming-2022", "district_code": "530128",
                              "amount_cny": "0.01", "purpose": purpose});
            event(
                &format!("look-alike.{i}"),
                "luquan-dpf",
                "expenditure_reported",
                body,
            )
            .to_string()
                + "\n"
        })
        .collect();
    let out = run(
        demo.path(),
        &[
            "append",
            "--ledger",
            &demo.ledger,
            "--key",
            &key("luquan-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "-",
        ],
        Some(&input),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified = ok(demo.path(), &["verify", "--ledger", &demo.ledger]);
    assert!(verified.contains("ok"), "{verified}");
    let export = demo.export();
    for text in &texts {
        assert!(
            export.contains(&serde_json::to_string(text).unwrap()),
            "{text} is in the chain"
        );
    }
}
