//! The acceptance test of the whole product: `fundledger report --format
//! json` on the demo ledger reproduces the seed report, figure by figure.

use crate::support::{demo_ledger, ok, tempdir};
use serde_json::{json, Value};

fn report(args: &[&str]) -> (tempfile::TempDir, Value) {
    let dir = tempdir();
    let ledger = demo_ledger(dir.path());
    let mut all = vec![
        "report",
        "--ledger",
        ledger.to_str().unwrap(),
        "--program",
        "kunming-2022",
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let out = ok(dir.path(), &all);
    (dir, serde_json::from_str(&out).expect("the report is JSON"))
}

#[test]
fn the_demo_report_reproduces_the_seed() {
    let (_dir, json) = report(&[]);
    assert_eq!(json["format"], "fundledger-report-v1");
    assert_eq!(json["ledger"]["size"], 154);
    let p = &json["program"];
    assert_eq!(p["budget_approved_cny"], "1000000.00");
    assert_eq!(p["funds_received_cny"], "1000000.00");
    assert_eq!(p["funds_received_rate_percent"], "100.00");
    assert_eq!(p["spent_cny"], "1000000.00");
    assert_eq!(p["execution_rate_percent"], "100.00");
    assert_eq!(p["carry_over_cny"], "0.00");
    assert_eq!(p["allocated_cny"], "1000000.00");
    let expected = [
        ("530103", "盘龙区", "30000.00"),
        ("530102", "五华区", "30000.00"),
        ("530112", "西山区", "20000.00"),
        ("530111", "官渡区", "30000.00"),
        ("530114", "呈贡区", "20000.00"),
        ("530181", "安宁市", "20000.00"),
        ("530124", "富民县", "75000.00"),
        ("530125", "宜良县", "78000.00"),
        ("530126", "石林县", "90000.00"),
        ("530127", "嵩明县", "45000.00"),
        ("530128", "禄劝县", "370000.00"),
        ("530113", "东川区", "100000.00"),
        ("530129", "寻甸县", "92000.00"),
    ];
    let districts = p["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 13);
    for (d, (code, name, amount)) in districts.iter().zip(expected) {
        assert_eq!(
            (d["code"].as_str().unwrap(), d["name"].as_str().unwrap()),
            (code, name)
        );
        assert_eq!(d["allocated_cny"], amount);
        assert_eq!(d["spent_cny"], amount);
        assert_eq!(d["surplus_cny"], "0.00");
        assert_eq!(d["settled"], true);
        assert_eq!(d["training_ledger"]["status"], "on_time");
        assert_eq!(d["fund_use_report"]["status"], "on_time");
    }
    assert!(
        !districts.iter().any(|d| d["code"] == "530115"),
        "晋宁区 received nothing in 2022"
    );
    let o = &p["outputs"];
    assert_eq!(o["trainees"], 2028);
    assert_eq!(o["trainees_target"], 2000);
    assert_eq!(o["trainees_rate_percent"], "101.40");
    assert_eq!(o["satisfaction"], "96.28");
    assert_eq!(o["satisfaction_target"], "80.00");
    assert_eq!(o["cost_per_trainee_cny"], "493.10");
    assert_eq!(
        (o["deadlines_on_time"].as_u64(), o["deadlines_due"].as_u64()),
        (Some(26), Some(26))
    );
    assert_eq!(p["double_claims"].as_array().unwrap().len(), 0);
    // The survey, question by question, as in the seed's table.
    let survey = &p["surveys"][0];
    assert_eq!(survey["respondents"], 39);
    assert_eq!(survey["score"], "96.28");
    let question_scores: Vec<&str> = survey["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["score"].as_str().unwrap())
        .collect();
    assert_eq!(
        question_scores,
        ["9.64", "9.51", "9.67", "9.67", "9.72", "9.46", "9.62", "9.69", "9.67", "9.64"]
    );
    let q1: Vec<(&str, &str)> = survey["questions"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["share_percent"].as_str().unwrap(),
                o["score"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        q1[..3],
        [("69.23", "6.92"), ("25.64", "2.31"), ("5.13", "0.41")]
    );
    let totals: Vec<(u64, &str, &str)> = survey["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["count"].as_u64().unwrap(),
                o["share_percent"].as_str().unwrap(),
                o["score"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals[..3],
        [
            (267, "68.46", "68.46"),
            (101, "25.90", "23.31"),
            (22, "5.64", "4.51")
        ]
    );
    // Summing the rounded question scores would give 96.29: the report must not.
    let rounded_sum: f64 = question_scores
        .iter()
        .map(|s| s.parse::<f64>().unwrap())
        .sum();
    assert_eq!(format!("{rounded_sum:.2}"), "96.29");
    // The evaluation.
    let e = &p["evaluation"];
    let level1: Vec<(&str, &str, &str, &str)> = e["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap(),
                i["weight"].as_str().unwrap(),
                i["score"].as_str().unwrap(),
                i["score_rate_percent"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        level1,
        [
            ("A", "20.00", "20.00", "100.00"),
            ("B", "20.00", "18.50", "92.50"),
            ("C", "60.00", "56.00", "93.33")
        ]
    );
    assert_eq!(e["score"], "94.50");
    assert_eq!(e["deduction"], "5.50");
    assert_eq!(e["grade"], "优");
    assert_eq!(e["unscored"].as_array().unwrap().len(), 0);
    // 3 / 8 / 17 / 28 indicators.
    fn count(nodes: &Value, level: usize, counts: &mut [usize; 4]) {
        for n in nodes.as_array().unwrap() {
            counts[level] += 1;
            count(&n["children"], level + 1, counts);
        }
    }
    let mut counts = [0; 4];
    count(&e["indicators"], 0, &mut counts);
    assert_eq!(counts, [3, 8, 17, 28]);
}

#[test]
fn as_of_before_the_deadlines_shows_them_not_due_and_the_money_so_far() {
    // Oct 1 2022: some rosters are in, no fund-use report is due yet, nothing settled.
    let (_dir, json) = report(&["--as-of", "2022-10-01T00:00:00+08:00"]);
    let p = &json["program"];
    assert_eq!(p["budget_approved_cny"], "1000000.00");
    let statuses: Vec<&str> = p["districts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["fund_use_report"]["status"].as_str().unwrap())
        .collect();
    assert!(statuses.iter().all(|s| *s == "not_due"), "{statuses:?}");
    let ledgers: Vec<&str> = p["districts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["training_ledger"]["status"].as_str().unwrap())
        .collect();
    assert!(
        ledgers.contains(&"on_time") && ledgers.contains(&"not_due"),
        "{ledgers:?}"
    );
    assert!(p["outputs"]["trainees"].as_u64().unwrap() < 2028);
    assert!(p["surveys"].as_array().unwrap().is_empty());
    // Issue #17, 5: derived leaves whose facts are not yet due are shown,
    // not scored, and no grade is given while points are open.
    let e = &p["evaluation"];
    assert_eq!(
        e["grade"],
        Value::Null,
        "no grade while points are open: {e}"
    );
    assert_eq!(e["not_due"], json!(["B222", "C111", "C131", "C311"]), "{e}");
    assert_ne!(e["open_points"], "0.00");
    // By the year's end every deadline has passed: timeliness is scored.
    let (_dir, json) = report(&["--as-of", "2023-01-01T00:00:00+08:00"]);
    let e = &json["program"]["evaluation"];
    assert_eq!(
        e["not_due"],
        json!(["C311"]),
        "only the survey is still to come: {e}"
    );
    // Before the program existed: a clear error.
    let dir = tempdir();
    let ledger = demo_ledger(dir.path());
    let err = crate::support::fails(
        dir.path(),
        &[
            "report",
            "--ledger",
            ledger.to_str().unwrap(),
            "--program",
            "kunming-2022",
            "--as-of",
            "2022-01-05T00:00:00+08:00",
        ],
        None,
        2,
    );
    assert!(
        err.contains("no program \"kunming-2022\" in this ledger as of that time"),
        "{err}"
    );
}

#[test]
fn as_of_a_seq_replays_that_many_records() {
    // The demo's first 21 records: opening, its seal, 16 enrolments, the
    // program, budget, funds.
    let (_dir, json) = report(&["--as-of-seq", "21"]);
    assert_eq!(json["ledger"]["size"], 21);
    let p = &json["program"];
    assert_eq!(
        (
            p["budget_approved_cny"].as_str(),
            p["funds_received_cny"].as_str(),
            p["allocated_cny"].as_str()
        ),
        (Some("1000000.00"), Some("1000000.00"), Some("0.00"))
    );
    assert_eq!(
        p["as_of"], "2022-02-15T10:30:00+08:00",
        "judged at the 20th record's time"
    );
}

#[test]
fn the_markdown_report_is_laid_out_like_the_seed() {
    let dir = tempdir();
    let ledger = demo_ledger(dir.path());
    let ledger = ledger.to_str().unwrap();
    let zh = ok(
        dir.path(),
        &["report", "--ledger", ledger, "--program", "kunming-2022"],
    );
    for needle in [
        "| 年初预算数（预算批复） | 1,000,000.00 |",
        "| 全年预算数（含调整） | 1,000,000.00 |",
        "| 支出率（支出÷预算） | 100.00% |",
        "| 结转结余（到位−支出） | 0.00 |",
        "| 530128 | 禄劝县 | 370,000.00 |",
        "| 合计 | 人数 | 267 | 101 | 22 | 0 | 0 | 390 |",
        "| | 分数 | 68.46 | 23.31 | 4.51 | 0.00 | 0.00 | 96.28 |",
        "| B项目管理 | 20.00 | 18.50 | 1.50 | 92.50% |",
        "| 合计 | 100.00 | 94.50 | 5.50 | 94.50% |",
        "评定等级为 优",
    ] {
        assert!(zh.contains(needle), "missing {needle:?}");
    }
    let en = ok(
        dir.path(),
        &[
            "report",
            "--ledger",
            ledger,
            "--program",
            "kunming-2022",
            "--lang",
            "en",
        ],
    );
    assert!(
        en.contains("| execution rate (spent ÷ budget) | 100.00% |")
            && en.contains("grade 优 (excellent)"),
        "{en}"
    );
    let status = ok(dir.path(), &["status", "--ledger", ledger]);
    assert!(
        status.contains("trainees 2028/2000") && status.contains("score 94.50 优"),
        "{status}"
    );
}

/// Issue #17, 1: a roster's unsigned trainee is listed, not trained, and the
/// report's data-quality line says so.
#[test]
fn the_report_lists_unsigned_trainees_apart() {
    let dir = tempdir();
    let ledger = crate::server::ledger_with_2023(dir.path());
    let ledger = ledger.to_str().unwrap();
    let mut roster = crate::server::client_event(0, 1);
    let mut second = roster["body"]["trainees"][0].clone();
    second["person_digest"] = json!("cd".repeat(32));
    second["signed"] = json!(false);
    roster["body"]["trainees"]
        .as_array_mut()
        .unwrap()
        .push(second);
    std::fs::write(dir.path().join("roster.json"), roster.to_string()).unwrap();
    let key = |actor: &str| crate::chain::key(actor);
    ok(
        dir.path(),
        &[
            "append",
            "--ledger",
            ledger,
            "--key",
            &key("luquan-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "roster.json",
        ],
    );
    let md = ok(
        dir.path(),
        &["report", "--ledger", ledger, "--program", "kunming-2023"],
    );
    assert!(
        md.contains("名册所列人员（去重） 2，其中签字按手印 1；未签字按手印 1 人，不计入培训人数"),
        "{md}"
    );
    let json_text = ok(
        dir.path(),
        &[
            "report",
            "--ledger",
            ledger,
            "--program",
            "kunming-2023",
            "--format",
            "json",
        ],
    );
    let outputs = &serde_json::from_str::<Value>(&json_text).unwrap()["program"]["outputs"];
    assert_eq!(
        (
            &outputs["trainees"],
            &outputs["trainees_listed"],
            &outputs["trainees_unsigned"]
        ),
        (&json!(1), &json!(2), &json!(1))
    );
}
