//! Issue #12 beyond the roster sheet: the `prepare` benchmark, the city's
//! scaffolding (`enrol`, `program`, `digest`), `load` for a past year,
//! `prepare expenditure`, and the demo's roster built from its sheet —
//! all through the real binary.

use crate::chain::key;
use crate::intake::{clean_rows, prepare, setup, Sheet};
use crate::support::{demo_ledger, ok, run, tempdir};
use serde_json::{json, Value};
use std::path::Path;

/// `fundledger-bench prepare` runs the product on its generated sheet of
/// synthetic people (every row valid) and reports against its floor.
#[test]
fn the_prepare_bench_runs_on_a_valid_generated_sheet() {
    let dir = tempdir();
    // Without CARGO in its environment the bench runs the `fundledger`
    // beside it (the one this test binary was built with) instead of
    // asking cargo to build it first, which waits on cargo's lock.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fundledger-bench"))
        .args([
            "prepare",
            "--dir",
            dir.path().to_str().unwrap(),
            "--rows",
            "50",
        ])
        .env_remove("CARGO")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        out.contains("| prepare roster (process: read, check, digest, write) | 50 |"),
        "{out}"
    );
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("roster.json")).unwrap())
            .unwrap();
    assert_eq!(event["body"]["trainees"].as_array().unwrap().len(), 50);
}

/// Issue #12, 5 and 7 in small: a ledger started from flags and the
/// program template alone — `keygen`, `enrol`, `program template` /
/// `program open` — takes a roster made by `prepare roster` from a sheet,
/// and its report counts the sheet's trainees.
#[test]
fn a_city_starts_a_ledger_from_flags_and_a_district_files_its_sheet() {
    let dir = tempdir();
    let p = dir.path();
    setup(p);
    let l = "kunming";
    crate::support::empty_kunming_ledger(p, l, "scaffold test");
    let operator = key("kunming-dpf");
    ok(p, &["keygen", "--out", "jiuye.key"]);
    ok(p, &["keygen", "--out", "luquan.key"]);
    let mut enrolments = String::new();
    for (actor, role, district, file) in [
        ("kunming-dpf-jiuye", "city", None, "jiuye.key"),
        ("luquan-dpf", "district", Some("530128"), "luquan.key"),
    ] {
        let mut args = vec![
            "enrol",
            "--actor",
            actor,
            "--role",
            role,
            "--key-file",
            file,
            "--by",
            "kunming-dpf",
            "--at",
            "2023-01-04T09:00:00+08:00",
        ];
        if let Some(code) = district {
            args.extend(["--district", code, "--name", "禄劝县残联"]);
        }
        enrolments.push_str(&ok(p, &args));
    }
    std::fs::write(p.join("enrol.jsonl"), enrolments).unwrap();
    ok(
        p,
        &["append", "--ledger", l, "--key", &operator, "enrol.jsonl"],
    );
    let template = ok(p, &["program", "template"]);
    std::fs::write(p.join("program.toml"), template).unwrap();
    ok(
        p,
        &[
            "program",
            "open",
            "--file",
            "program.toml",
            "--by",
            "kunming-dpf-jiuye",
            "--secret",
            "city.secret",
            "--at",
            "2023-01-10T09:00:00+08:00",
            "--out",
            "program.json",
        ],
    );
    ok(
        p,
        &[
            "append",
            "--ledger",
            l,
            "--key",
            "jiuye.key",
            "--operator-key",
            &operator,
            "program.json",
        ],
    );
    Sheet { rows: clean_rows() }.write_xlsx(&p.join("clean.xlsx"));
    let (code, _, err) = prepare(p, "clean.xlsx", "city.secret", "roster.json", &[]);
    assert_eq!(code, 0, "{err}");
    ok(
        p,
        &[
            "append",
            "--ledger",
            l,
            "--key",
            "luquan.key",
            "--operator-key",
            &operator,
            "roster.json",
        ],
    );
    ok(p, &["verify", "--ledger", l]);
    let report: Value = crate::support::report_json(p, l, "kunming-2023", &[]);
    let luquan = report["program"]["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "530128")
        .unwrap();
    assert_eq!(
        (&luquan["trainees"], &luquan["rosters"]),
        (&json!(4), &json!(1)),
        "{luquan}"
    );
    let digests = ok(p, &["digest", "plan.txt"]);
    assert!(
        digests.starts_with(&blake3::hash("培训方案".as_bytes()).to_hex().to_string()),
        "{digests}"
    );
}

/// Issue #12, 4: a past year in one command. The whole 2022 fixture — 151
/// events of 17 actors after the ledger's opening — loaded with `load`
/// from a directory of key files gives the demo's report, as one batch and
/// in batches of 40; a missing key file names the event and the file.
#[test]
fn a_past_year_loads_in_one_command() {
    let dir = tempdir();
    let p = dir.path();
    let fixture = crate::support::repo().join("fixtures/kunming-2022");
    let events: String = std::fs::read_to_string(fixture.join("events.jsonl"))
        .unwrap()
        .lines()
        .skip(1) // ledger_opened: `init` makes record 0
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(p.join("2022.jsonl"), &events).unwrap();
    let keys = fixture.join("keys");
    let demo = demo_ledger(p);
    let report = |ledger: &str| -> Value {
        let text = ok(
            p,
            &[
                "report",
                "--ledger",
                ledger,
                "--program",
                "kunming-2022",
                "--format",
                "json",
                "--as-of",
                "2023-06-30T00:00:00+08:00",
            ],
        );
        let mut program = serde_json::from_str::<Value>(&text).unwrap()["program"].clone();
        // The draw seal is the first seal after the deadlines: where the
        // seals fall depends on the batches, which differ by design.
        program.as_object_mut().unwrap().remove("draw_seal");
        program
    };
    let expected = report(demo.to_str().unwrap());
    let operator = key("kunming-dpf");
    for (ledger, extra) in [("one", vec![]), ("batches", vec!["--batch-size", "40"])] {
        crate::support::empty_kunming_ledger(p, ledger, "load test");
        let mut args = vec![
            "load",
            "--ledger",
            ledger,
            "--keys",
            keys.to_str().unwrap(),
            "--operator-key",
            &operator,
        ];
        args.extend(extra);
        args.push("2022.jsonl");
        let out = run(p, &args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("signed by 17 actor(s)"), "{err}");
        ok(p, &["verify", "--ledger", ledger]);
        assert_eq!(report(ledger), expected, "{ledger}");
    }
    let empty = tempdir();
    crate::support::empty_kunming_ledger(p, "nokeys", "load test");
    let out = run(
        p,
        &[
            "load",
            "--ledger",
            "nokeys",
            "--keys",
            empty.path().to_str().unwrap(),
            "--operator-key",
            &operator,
            "2022.jsonl",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("line 1, field event.actor: no key file") && err.contains("kunming-dpf.key"),
        "{err}"
    );
}

/// Writes a spending workbook: a title row, the header, then `rows`
/// (numbers where a cell parses as one and `numbers` says so).
fn write_spending(path: &Path, rows: &[[&str; 6]], numbers: &[(usize, f64)]) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("支出明细").unwrap();
    sheet
        .write_string(0, 0, "禄劝县2023年培训经费支出明细")
        .unwrap();
    for (c, h) in ["日期", "凭证号", "摘要", "金额", "支出类别", "台账"]
        .iter()
        .enumerate()
    {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            if let Some((_, n)) = numbers.iter().find(|(nr, _)| *nr == r).filter(|_| c == 3) {
                sheet.write_number(r as u32 + 2, 3, *n).unwrap();
            } else if !text.is_empty() {
                sheet.write_string(r as u32 + 2, c as u16, *text).unwrap();
            }
        }
    }
    workbook.save(path).unwrap();
}

/// Issue #12, 2: a spending sheet to one event per row: amounts as numbers
/// or text, to the fen and no further; dates in the clerks' forms; a total
/// line checked against the rows; the events append and add up.
#[test]
fn a_spending_sheet_becomes_one_event_per_row() {
    let dir = tempdir();
    let p = dir.path();
    let clean: [[&str; 6]; 2] = [
        ["2023-06-02", "记-001", "培训场地租赁", "", "场地", ""],
        ["2023/6/3", "记-002", "教材印刷", "1,234.50", "教材", ""],
    ];
    let mut bad = clean.to_vec();
    bad.push(["2023年6月4日", "记-003", "师资讲课费", "", "师资", ""]);
    bad.push(["2023-06-05", "记-004", "学员误餐补助", "12.345", "补助", ""]);
    bad.push(["2023-02-30", "记-005", "交通费", "100", "交通", ""]);
    write_spending(&p.join("bad.xlsx"), &bad, &[(0, 3000.0), (2, 29999.999999)]);
    let prepare = |input: &str| {
        run(
            p,
            &[
                "prepare",
                "expenditure",
                "--input",
                input,
                "--program",
                "kunming-2023",
                "--district",
                "530128",
                "--actor",
                "luquan-dpf",
                "--out",
                "spending.jsonl",
            ],
            None,
        )
    };
    let out = prepare("bad.xlsx");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let at = "bad.xlsx, sheet 支出明细";
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        vec![
            format!("{at}, row 5, column D (金额): 29999.999999 is not a whole number of fen (分): the cell holds a fraction of a fen or a float artefact of a formula; type the amount with at most two decimals"),
            format!("{at}, row 6, column D (金额): 12.345 has a fraction of a fen (分); amounts have at most two decimals"),
            format!("{at}, row 7, column A (日期): \"2023-02-30\" is not a date (e.g. 2022-06-01)"),
            "error: bad.xlsx: 3 problem(s); nothing was written (fix them, or --skip-bad-rows to file the other rows)".to_string(),
        ]
    );
    assert!(!p.join("spending.jsonl").exists());
    let mut wrong_total = clean.to_vec();
    wrong_total.push(["", "", "合计", "5000.00", "", ""]);
    write_spending(&p.join("total.xlsx"), &wrong_total, &[(0, 3000.0)]);
    let out = prepare("total.xlsx");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("total.xlsx, sheet 支出明细, row 5, column D (total): the total line says 5000.00 but the rows sum to 4234.50"), "{err}");
    let mut right_total = clean.to_vec();
    right_total.push(["", "", "合计", "4234.5", "", ""]);
    write_spending(&p.join("spend.xlsx"), &right_total, &[(0, 3000.0)]);
    let out = prepare("spend.xlsx");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = std::fs::read_to_string(p.join("spending.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["id"], "kunming-2023.spend.530128.r3");
    assert_eq!(events[0]["at"], "2023-06-02T12:00:00+08:00");
    assert_eq!(events[0]["body"]["amount_cny"], "3000.00");
    assert_eq!(events[1]["body"]["amount_cny"], "1234.50");
    assert_eq!(
        events[1]["body"]["purpose"],
        "教材印刷（凭证 记-002）［教材］"
    );
    let ledger = crate::server::ledger_with_2023(p);
    let l = ledger.to_str().unwrap();
    ok(
        p,
        &[
            "append",
            "--ledger",
            l,
            "--key",
            &key("luquan-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "spending.jsonl",
        ],
    );
    let report: Value = crate::support::report_json(p, l, "kunming-2023", &[]);
    let luquan = report["program"]["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "530128")
        .unwrap()
        .clone();
    assert_eq!(luquan["spent_cny"], "4234.50");
}

/// Issue #12, 7: the demo builds one district's roster from its synthetic
/// sheet, and the README's `prepare roster` command on the same sheet gives
/// exactly the fixture's event.
#[test]
fn the_demo_roster_comes_from_its_sheet() {
    let dir = tempdir();
    let p = dir.path();
    let out = ok(p, &["demo", "--dir", "demo"]);
    assert!(
        out.contains("sheet    kunming-2022.roster.530128.1: 93 trainees read from fixtures/kunming-2022/sheets/luquan-roster-1.csv"),
        "{out}"
    );
    let fixture = crate::support::repo().join("fixtures/kunming-2022");
    let f = |name: &str| fixture.join(name).to_str().unwrap().to_string();
    let (input, session, secret) = (
        f("sheets/luquan-roster-1.csv"),
        f("sheets/luquan-roster-1.session.toml"),
        f("demo.secret"),
    );
    ok(
        p,
        &[
            "prepare",
            "roster",
            "--input",
            &input,
            "--program",
            "kunming-2022",
            "--district",
            "530128",
            "--township",
            "屏山街道",
            "--session",
            &session,
            "--secret",
            &secret,
            "--actor",
            "luquan-dpf",
            "--id",
            "kunming-2022.roster.530128.1",
            "--at",
            "2022-06-24T16:10:00+08:00",
            "--out",
            "roster.json",
        ],
    );
    let built: Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("roster.json")).unwrap()).unwrap();
    let expected = crate::fixture::events()
        .into_iter()
        .find(|e| e["id"] == "kunming-2022.roster.530128.1")
        .unwrap();
    assert_eq!(built, expected);
}
