//! Issue #12, the way in: `prepare roster` on spreadsheets the tests build
//! (`.xlsx` with rust_xlsxwriter, `.csv` in UTF-8 and GB18030), through
//! the real binary: every problem named on its own line, the digests of a
//! clean sheet equal to docs/format.md §7 computed here independently, no
//! clear number, name or phone number in any output or message, and a
//! roster digested with the wrong secret refused at append.

use crate::chain::key;
use crate::support::{demo_ledger, ok, run, tempdir};
use fundledger_core::privacy::check_character;
use serde_json::{json, Value};
use std::path::Path;

/// A valid ID number from its first 17 digits.
pub(crate) fn id(first17: &str) -> String {
    format!("{first17}{}", check_character(first17))
}

/// One trainee row as a clerk's sheet has it.
pub(crate) struct Row {
    name: &'static str,
    gender: &'static str,
    id: String,
    /// Write the ID as a number cell (what Excel does to a long number).
    id_as_number: bool,
    certificate: String,
    category: &'static str,
    level: &'static str,
    phone: &'static str,
}

fn row(name: &'static str, gender: &'static str, id: String) -> Row {
    Row {
        name,
        gender,
        id,
        id_as_number: false,
        certificate: String::new(),
        category: "肢体",
        level: "二级",
        phone: "13800138000",
    }
}

/// The people of the test sheet. Rows are Excel's: the title is row 1,
/// a note row 2, the header row 3, the first trainee row 4.
pub(crate) struct Sheet {
    pub(crate) rows: Vec<Option<Row>>,
}

const HEADER: [&str; 9] = [
    "序号",
    "姓名",
    "性别",
    "公民身份号码",
    "残疾人证号",
    "残疾类别",
    "残疾等级",
    "联系电话",
    "本人签名",
];

pub(crate) fn clean_rows() -> Vec<Option<Row>> {
    let a = id("53012819800312123");
    let mut zhang = row("张三华", "男", a.clone());
    zhang.certificate = format!("{a}42");
    let mut full_width = row("孙八", "女", String::new());
    full_width.id = id("53012819751103234")
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or('Ｘ'))
        .collect();
    let mut spaced = row("周九", "女", format!("{}   ", id("53012819660508344")));
    spaced.category = "4";
    spaced.level = "3";
    let mut minority = row("阿依古丽·买买提", "女", id("53012819900101346"));
    minority.category = "视力";
    minority.level = "一级";
    minority.phone = "13700137000";
    vec![Some(zhang), Some(full_width), Some(spaced), Some(minority)]
}

/// The clean rows, then one of each problem, a blank row and a footer.
fn sheet_with_problems() -> Sheet {
    let mut rows = clean_rows();
    let mut as_number = row("李四", "女", id("53012819851212100"));
    as_number.id_as_number = true;
    let mut wrong_check = row("王五", "男", id("53012819700707123"));
    wrong_check.id.replace_range(
        17..18,
        if wrong_check.id.ends_with('1') {
            "2"
        } else {
            "1"
        },
    );
    // 30 February, with the check character those 17 digits would have.
    let impossible = row("赵六", "男", id("53012819900230123"));
    let mut wrong_certificate = row("钱七", "女", id("53012819880808126"));
    wrong_certificate.certificate = format!("{}42", id("53012819880808127"));
    let again = row("张三华", "男", id("53012819800312123"));
    let mut contradiction = row("吴十", "男", id("53012819770101123"));
    contradiction.certificate = format!("{}43", contradiction.id);
    let blank_id = row("郑一", "男", String::new());
    rows.extend([
        Some(as_number),
        Some(wrong_check),
        Some(impossible),
        Some(wrong_certificate),
        Some(again),
        None, // a blank row
        Some(contradiction),
        Some(blank_id),
    ]);
    Sheet { rows }
}

impl Sheet {
    fn cells(&self) -> Vec<Vec<String>> {
        let mut lines = vec![
            vec!["禄劝县2022年农村困难残疾人实用技术培训花名册".to_string()],
            vec!["填报单位：翠华镇（盖章）".to_string()],
            HEADER.iter().map(|h| h.to_string()).collect(),
        ];
        for (n, r) in self.rows.iter().enumerate() {
            lines.push(match r {
                None => vec![],
                Some(r) => vec![
                    (n + 1).to_string(),
                    r.name.to_string(),
                    r.gender.to_string(),
                    r.id.clone(),
                    r.certificate.clone(),
                    r.category.to_string(),
                    r.level.to_string(),
                    r.phone.to_string(),
                    "是".to_string(),
                ],
            });
        }
        lines.push(vec!["填表人：某某　审核人：某某".to_string()]);
        lines
    }

    pub(crate) fn write_xlsx(&self, path: &Path) {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("花名册").unwrap();
        for (r, line) in self.cells().iter().enumerate() {
            let as_number = r >= 3
                && self
                    .rows
                    .get(r - 3)
                    .is_some_and(|x| x.as_ref().is_some_and(|x| x.id_as_number));
            for (c, text) in line.iter().enumerate() {
                if text.is_empty() {
                    continue;
                }
                if c == 3 && as_number {
                    sheet
                        .write_number(r as u32, c as u16, text.parse::<f64>().unwrap())
                        .unwrap();
                } else {
                    sheet.write_string(r as u32, c as u16, text).unwrap();
                }
            }
        }
        workbook.save(path).unwrap();
    }

    /// CSV as Excel saves it: a number cell becomes `5.30128E+17`.
    fn csv_text(&self) -> String {
        let mut out = String::new();
        for (r, line) in self.cells().iter().enumerate() {
            let as_number = r >= 3
                && self
                    .rows
                    .get(r - 3)
                    .is_some_and(|x| x.as_ref().is_some_and(|x| x.id_as_number));
            let fields: Vec<String> = line
                .iter()
                .enumerate()
                .map(|(c, text)| {
                    if c == 3 && as_number {
                        format!("{:.5E}", text.parse::<f64>().unwrap()).replace('E', "E+")
                    } else {
                        text.clone()
                    }
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// Every clear identifier, name and phone number of the sheet, as a
    /// scan must not find them.
    fn secrets(&self) -> Vec<String> {
        let mut all = Vec::new();
        for r in self.rows.iter().flatten() {
            let id = r.id.trim().to_string();
            if !id.is_empty() {
                all.push(id.clone());
                let ascii: String = id
                    .chars()
                    .map(|c| {
                        if ('０'..='９').contains(&c) {
                            char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap()
                        } else if c == 'Ｘ' {
                            'X'
                        } else {
                            c
                        }
                    })
                    .collect();
                all.push(ascii.clone());
                all.push(ascii[..14].to_string()); // region and birth date
            }
            if !r.certificate.is_empty() {
                all.push(r.certificate.clone());
            }
            all.push(r.name.to_string());
            all.push(r.phone.to_string());
        }
        all.sort();
        all.dedup();
        all
    }
}

pub(crate) const SESSION: &str = r#"title = "2022年禄劝县第1期农村残疾人实用技术培训（种植）"
start_date = "2022-06-01"
end_date = "2022-06-05"
location = "翠华镇文化站"

[documents]
training_plan = "plan.txt"
trainee_roster = "0000000000000000000000000000000000000000000000000000000000000001"
"#;

/// `prepare roster` of `input` in `dir`; returns (exit code, stdout, stderr).
pub(crate) fn prepare(
    dir: &Path,
    input: &str,
    secret: &str,
    out: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "prepare",
        "roster",
        "--input",
        input,
        "--program",
        "kunming-2023",
        "--district",
        "530128",
        "--township",
        "翠华镇",
        "--session",
        "session.toml",
        "--secret",
        secret,
        "--actor",
        "luquan-dpf",
        "--at",
        "2023-06-20T10:00:00+08:00",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let output = run(dir, &args, None);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(crate) fn setup(dir: &Path) {
    std::fs::write(dir.join("session.toml"), SESSION).unwrap();
    std::fs::write(dir.join("plan.txt"), "培训方案").unwrap();
    ok(dir, &["secret", "new", "--out", "city.secret"]);
}

/// The expected problem lines of the sheet, for a file named `file` (with
/// its sheet's name, if any).
fn expected_problems(file: &str, sheet: Option<&str>, as_number_message: &str) -> Vec<String> {
    let at = |row: usize, column: &str, header: &str| match sheet {
        Some(s) => format!("{file}, sheet {s}, row {row}, column {column} ({header})"),
        None => format!("{file}, row {row}, column {column} ({header})"),
    };
    let wrong = id("53012819700707123");
    let typed = if wrong.ends_with('1') { '2' } else { '1' };
    let mask = |id: &str| format!("{}**********{}", &id[..4], &id[14..]);
    let mut wrong_typed = wrong.clone();
    wrong_typed.replace_range(17..18, &typed.to_string());
    let impossible = id("53012819900230123");
    let other = format!("{}42", id("53012819880808127"));
    vec![
        format!("{}: {as_number_message}", at(8, "D", "公民身份号码")),
        format!(
            "{}: {}: its check character is {typed} but its first 17 digits need {}; a digit was mistyped — check the ID card",
            at(9, "D", "公民身份号码"),
            mask(&wrong_typed),
            wrong.chars().last().unwrap()
        ),
        format!(
            "{}: {}: its birth date (characters 7–14) is not a real date; check the ID card",
            at(10, "D", "公民身份号码"),
            mask(&impossible)
        ),
        format!(
            "{}: {}************{} does not extend the person's ID number (its first 18 characters must be the ID number); check both",
            at(11, "E", "残疾人证号"),
            &other[..4],
            &other[16..]
        ),
        format!(
            "{}: the same person ({}) as row 4; a roster lists each trainee once",
            at(12, "D", "公民身份号码"),
            mask(&id("53012819800312123"))
        ),
        format!(
            "{}: 残疾等级 2 contradicts the certificate number, which says 3",
            at(14, "G", "残疾等级")
        ),
        format!("{}: the ID number is blank; fill it in", at(15, "D", "公民身份号码")),
    ]
}

const AS_NUMBER: &str = "the ID number is stored as a number, so Excel has already dropped its last digits; format the column as text and re-enter the ID numbers";

#[test]
fn a_sheet_with_problems_names_each_and_writes_nothing() {
    let dir = tempdir();
    let p = dir.path();
    setup(p);
    let sheet = sheet_with_problems();
    sheet.write_xlsx(&p.join("禄劝县花名册.xlsx"));
    std::fs::write(p.join("roster-utf8.csv"), sheet.csv_text()).unwrap();
    let csv = sheet.csv_text();
    let (gb, _, _) = encoding_rs::GB18030.encode(&csv);
    std::fs::write(p.join("roster-gbk.csv"), gb).unwrap();
    let mut streams = String::new();
    for (file, sheet_name) in [
        ("禄劝县花名册.xlsx", Some("花名册")),
        ("roster-utf8.csv", None),
        ("roster-gbk.csv", None),
    ] {
        let (code, out, err) = prepare(p, file, "city.secret", "roster.json", &[]);
        streams.push_str(&out);
        streams.push_str(&err);
        assert_eq!(code, 1, "{err}");
        assert!(!p.join("roster.json").exists(), "nothing is written");
        let lines: Vec<&str> = err.lines().collect();
        let expected = expected_problems(file, sheet_name, AS_NUMBER);
        assert_eq!(lines[..lines.len() - 1], expected[..], "{err}");
        assert_eq!(
            lines.last().unwrap(),
            &format!("error: {file}: 7 problem(s) in 7 row(s); nothing was written (fix them, or --skip-bad-rows to file the other rows)")
        );
    }
    // --skip-bad-rows files the four clean rows and lists the others.
    let (code, out, err) = prepare(
        p,
        "禄劝县花名册.xlsx",
        "city.secret",
        "roster.json",
        &["--skip-bad-rows"],
    );
    streams.push_str(&out);
    streams.push_str(&err);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(p.join("roster.json")).unwrap();
    streams.push_str(&written);
    let event: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(event["body"]["trainees"].as_array().unwrap().len(), 4);
    assert!(
        err.contains("4 trainee(s)") && err.contains("7 row(s) with problems skipped"),
        "{err}"
    );
    // No clear number, name or phone number anywhere.
    for secret in sheet.secrets() {
        assert!(!streams.contains(&secret), "{secret:?} leaked");
    }
}

#[test]
fn a_clean_sheet_gives_the_digests_of_the_format() {
    let dir = tempdir();
    let p = dir.path();
    setup(p);
    let sheet = Sheet { rows: clean_rows() };
    sheet.write_xlsx(&p.join("clean.xlsx"));
    let (code, out, err) = prepare(p, "clean.xlsx", "city.secret", "roster.json", &[]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(p.join("roster.json")).unwrap();
    for secret in sheet.secrets() {
        assert!(
            !format!("{out}{err}{written}").contains(&secret),
            "{secret:?} leaked"
        );
    }
    let event: Value = serde_json::from_str(&written).unwrap();
    // docs/format.md §7, computed here with blake3 alone.
    let text = std::fs::read_to_string(p.join("city.secret")).unwrap();
    let secret_hex = text
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap();
    let secret = hex::decode(secret_hex).unwrap();
    let key = blake3::derive_key("fundledger:person:v1", &secret);
    let expected: Vec<Value> = [
        "53012819800312123",
        "53012819751103234",
        "53012819660508344",
        "53012819900101346",
    ]
    .iter()
    .zip([
        ("张*华", 4, 2),
        ("孙*", 4, 2),
        ("周*", 4, 3),
        ("阿*提", 1, 1),
    ])
    .map(|(first17, (name, category, level))| {
        let digest = blake3::keyed_hash(&key, id(first17).as_bytes())
            .to_hex()
            .to_string();
        json!({"person_digest": digest, "name_masked": name, "disability_category": category,
                   "disability_level": level, "signed": true})
    })
    .collect();
    assert_eq!(event["body"]["trainees"], json!(expected));
    let commitment = blake3::keyed_hash(&key, b"fundledger person-digest commitment v1")
        .to_hex()
        .to_string();
    assert_eq!(event["body"]["person_digest_commitment"], json!(commitment));
    assert_eq!(
        event["body"]["documents"]["training_plan"],
        json!(blake3::hash("培训方案".as_bytes()).to_hex().to_string())
    );
    assert_eq!(event["body"]["documents"]["courseware"], Value::Null);
    assert_eq!(event["id"], "kunming-2023.roster.530128.2022-06-01");
}

/// A program that names its secret takes a roster digested with it, and
/// refuses one digested with another.
#[test]
fn a_roster_digested_with_the_wrong_secret_is_refused_at_append() {
    let dir = tempdir();
    let p = dir.path();
    setup(p);
    ok(p, &["secret", "new", "--out", "other.secret"]);
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let commitment = ok(p, &["secret", "commitment", "--secret", "city.secret"]);
    let program = json!({"id": "kunming-2023.opened", "actor": "kunming-dpf-jiuye", "kind": "program_opened",
        "at": "2023-01-10T09:30:00+08:00", "body": {
            "program": "kunming-2023", "fiscal_year": 2023, "name": "2023年农村困难残疾人实用技术培训",
            "funding_documents": [], "districts": [{"code": "530128", "name": "禄劝县"}],
            "targets": {"trainees_min": 100, "cost_per_trainee_max_cny": "500.00", "satisfaction_min": "80.00"},
            "deadlines": {"training_ledger_due_local": "2023-10-30", "fund_use_report_due_local": "2023-11-30"},
            "person_digest_commitment": commitment.trim()}});
    std::fs::write(p.join("program.json"), program.to_string()).unwrap();
    ok(
        p,
        &[
            "append",
            "--ledger",
            l,
            "--key",
            &key("kunming-dpf-jiuye"),
            "--operator-key",
            &key("kunming-dpf"),
            "program.json",
        ],
    );
    Sheet { rows: clean_rows() }.write_xlsx(&p.join("clean.xlsx"));
    let append = |file: &str| {
        run(
            p,
            &[
                "append",
                "--ledger",
                l,
                "--key",
                &key("luquan-dpf"),
                "--operator-key",
                &key("kunming-dpf"),
                file,
            ],
            None,
        )
    };
    let (code, _, err) = prepare(p, "clean.xlsx", "other.secret", "wrong.json", &[]);
    assert_eq!(code, 0, "{err}");
    let refused = append("wrong.json");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains("field body.person_digest_commitment")
            && err.contains("made with another digest secret"),
        "{err}"
    );
    let (code, _, err) = prepare(p, "clean.xlsx", "city.secret", "right.json", &[]);
    assert_eq!(code, 0, "{err}");
    let accepted = append("right.json");
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
}
