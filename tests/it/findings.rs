//! Issue #14, findings: a test year with each finding's cause, through the
//! real binary; each finding is asserted with the event ids (and seqs) of
//! its evidence. The demo's clean year has none.

use crate::chain::key;
use crate::support::{ok, run, tempdir};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn roster(
    id: &str,
    actor: &str,
    code: &str,
    at: &str,
    people: &[(&str, bool)],
    courseware: bool,
) -> Value {
    let doc = "ab".repeat(32);
    let trainees: Vec<Value> = people
        .iter()
        .map(|(who, signed)| json!({"person_digest": blake3::hash(who.as_bytes()).to_hex().to_string(),
            "name_masked": "王*", "disability_category": 4, "disability_level": 2, "signed": signed}))
        .collect();
    json!({"id": id, "actor": actor, "kind": "roster_filed", "at": at, "body": {
        "program": "kunming-2023", "district_code": code, "township": "镇",
        "session": {"title": "t", "start_date": "2023-05-01", "end_date": "2023-05-02"},
        "trainees": trainees,
        "documents": {"training_plan": doc, "trainee_roster": doc, "participant_publicity": doc, "training_briefing": doc,
                      "training_summary": doc, "fund_use_statement": doc, "courseware": if courseware { json!(doc) } else { Value::Null }}}})
}

fn spend(id: &str, actor: &str, code: &str, at: &str, amount: &str, roster: Option<&str>) -> Value {
    let mut body = json!({"program": "kunming-2023", "district_code": code, "amount_cny": amount, "purpose": "培训"});
    if let Some(r) = roster {
        body["roster_event_id"] = json!(r);
    }
    json!({"id": id, "actor": actor, "kind": "expenditure_reported", "at": at, "body": body})
}

fn settle(id: &str, actor: &str, code: &str, allocated: &str, spent: &str, surplus: &str) -> Value {
    json!({"id": id, "actor": actor, "kind": "settlement_filed", "at": "2024-01-06T10:00:00+08:00", "body": {
        "program": "kunming-2023", "district_code": code, "allocated_cny": allocated, "spent_cny": spent, "surplus_cny": surplus}})
}

fn report(id: &str, actor: &str, code: &str, at: &str, trainees: u64) -> Value {
    json!({"id": id, "actor": actor, "kind": "fund_use_reported", "at": at, "body": {
        "program": "kunming-2023", "district_code": code, "spent_cny": "1.00", "trainees_reported": trainees}})
}

#[test]
fn a_year_with_each_cause_shows_each_finding_with_its_evidence() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = crate::server::ledger_with_2023(p);
    let l = ledger.to_str().unwrap();
    let (lq, dc, wh) = ("luquan-dpf", "dongchuan-dpf", "wuhua-dpf");
    let events = vec![
        roster(
            "lq.roster",
            lq,
            "530128",
            "2023-06-10T10:00:00+08:00",
            &[("p1", true), ("p2", true), ("p3", false)],
            false,
        ),
        spend(
            "lq.spend.1",
            lq,
            "530128",
            "2023-06-11T10:00:00+08:00",
            "60000.00",
            Some("lq.roster"),
        ),
        spend(
            "lq.spend.2",
            lq,
            "530128",
            "2023-06-12T10:00:00+08:00",
            "50000.00",
            None,
        ),
        spend(
            "wh.spend.1",
            wh,
            "530102",
            "2023-07-01T10:00:00+08:00",
            "10.00",
            None,
        ),
        json!({"id": "wh.reverse", "actor": wh, "kind": "event_reversed", "at": "2023-07-02T10:00:00+08:00",
               "body": {"event_id": "wh.spend.1", "reason": "重复录入"}}),
        roster(
            "wh.roster",
            wh,
            "530102",
            "2023-07-03T10:00:00+08:00",
            &[("p5", true)],
            true,
        ),
        roster(
            "dc.roster.1",
            dc,
            "530113",
            "2023-11-05T10:00:00+08:00",
            &[("p1", true), ("p4", true)],
            true,
        ),
        roster(
            "dc.roster.2",
            dc,
            "530113",
            "2023-11-06T10:00:00+08:00",
            &[("p4", true)],
            true,
        ),
        report("lq.report", lq, "530128", "2023-12-05T10:00:00+08:00", 300),
        spend(
            "dc.spend",
            dc,
            "530113",
            "2023-12-31T10:00:00+08:00",
            "100.00",
            Some("dc.roster.1"),
        ),
        spend(
            "wh.spend.2",
            wh,
            "530102",
            "2024-01-05T10:00:00+08:00",
            "20.00",
            None,
        ),
        // 禄劝 settles a deficit, 东川 a surplus; 2024 opens; the deficit is
        // offset, and 东川 is pre-allocated for 2024 before its surplus is.
        settle(
            "lq.settle",
            lq,
            "530128",
            "100000.00",
            "110000.00",
            "-10000.00",
        ),
        settle("dc.settle", dc, "530113", "100000.00", "100.00", "99900.00"),
        json!({"id": "kunming-2024.opened", "actor": "kunming-dpf-jiuye", "kind": "program_opened", "at": "2024-01-10T09:00:00+08:00", "body": {
            "program": "kunming-2024", "fiscal_year": 2024, "name": "2024年培训补助", "funding_documents": [],
            "districts": [{"code": "530128", "name": "禄劝县"}, {"code": "530113", "name": "东川区"}],
            "targets": {"trainees_min": 100, "satisfaction_min": "80.00"},
            "deadlines": {"training_ledger_due_local": "2024-10-30", "fund_use_report_due_local": "2024-11-30"}}}),
        json!({"id": "kunming-2024.budget", "actor": "kunming-dpf-jiuye", "kind": "budget_approved", "at": "2024-01-11T09:00:00+08:00",
               "body": {"program": "kunming-2024", "amount_cny": "400000.00", "document": {"number": "昆财社〔2024〕1号", "title": "t"}}}),
        json!({"id": "lq.offset", "actor": "kunming-dpf-jiuye", "kind": "offset_applied", "at": "2024-01-12T09:00:00+08:00",
               "body": {"program": "kunming-2023", "district_code": "530128", "surplus_cny": "-10000.00", "into_program": "kunming-2024"}}),
        json!({"id": "kunming-2024.alloc.530113", "actor": "kunming-dpf-jiuye", "kind": "allocation_made", "at": "2024-01-15T09:00:00+08:00",
               "body": {"program": "kunming-2024", "district_code": "530113", "amount_cny": "50000.00"}}),
    ];
    let text: String = events.iter().map(|e| e.to_string() + "\n").collect();
    std::fs::write(p.join("year.jsonl"), text).unwrap();
    let keys = crate::support::repo().join("fixtures/kunming-2022/keys");
    ok(
        p,
        &[
            "load",
            "--ledger",
            l,
            "--keys",
            keys.to_str().unwrap(),
            "--operator-key",
            &key("kunming-dpf"),
            "year.jsonl",
        ],
    );
    // 富民县 reports 300 trainees and files no roster, with a report dated long before it is recorded.
    std::fs::write(
        p.join("late.json"),
        report(
            "fm.report",
            "fumin-dpf",
            "530124",
            "2023-11-20T10:00:00+08:00",
            300,
        )
        .to_string(),
    )
    .unwrap();
    ok(
        p,
        &[
            "append",
            "--ledger",
            l,
            "--key",
            &key("fumin-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "late.json",
        ],
    );
    let seq_of: BTreeMap<String, u64> = ok(p, &["export", "--ledger", l])
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            (
                record["event"]["id"].as_str().unwrap().to_string(),
                record["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    let out = ok(
        p,
        &[
            "findings",
            "--ledger",
            l,
            "--program",
            "kunming-2023",
            "--format",
            "json",
        ],
    );
    let findings: Value = serde_json::from_str(&out).unwrap();
    let list = findings["findings"].as_array().unwrap();
    let has = |code: &str, district: Option<&str>, ids: &[&str], words: &str| {
        let found = list.iter().find(|f| {
            f["code"] == code
                && f["district"].as_str() == district
                && f["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["event_id"].as_str().unwrap())
                    .collect::<Vec<_>>()
                    == ids
                && f["en"].as_str().unwrap().contains(words)
        });
        let found =
            found.unwrap_or_else(|| panic!("no {code} {district:?} {ids:?} {words:?} in {out}"));
        for e in found["evidence"].as_array().unwrap() {
            assert_eq!(
                Some(&e["seq"].as_u64().unwrap()),
                seq_of.get(e["event_id"].as_str().unwrap()),
                "{e}"
            );
        }
    };
    has(
        "SPENT_OVER_ALLOCATION",
        Some("530128"),
        &["kunming-2023.alloc.530128", "lq.spend.1", "lq.spend.2"],
        "spent 110000.00 CNY, 10000.00 more than its pre-allocation of 100000.00",
    );
    has(
        "SPENDING_WITHOUT_ROSTER",
        Some("530128"),
        &["lq.spend.2"],
        "has 1 spending line(s), 50000.00 CNY in all, that name no roster",
    );
    // 五华's reversed line is not among its unlinked spending.
    has(
        "SPENDING_WITHOUT_ROSTER",
        Some("530102"),
        &["wh.spend.2"],
        "has 1 spending line(s), 20.00 CNY in all",
    );
    has(
        "ROSTER_DOCUMENTS_MISSING",
        Some("530128"),
        &["lq.roster"],
        "lacks documents: courseware",
    );
    has(
        "ROSTER_UNSIGNED_TRAINEES",
        Some("530128"),
        &["lq.roster"],
        "1 trainee(s) who did not sign",
    );
    has(
        "CLAIMED_OVER_ROSTERED",
        Some("530128"),
        &["lq.roster", "lq.report"],
        "reports 300 trainees but its rosters list 3 distinct people",
    );
    has(
        "CLAIMED_OVER_ROSTERED",
        Some("530124"),
        &["fm.report"],
        "reports 300 trainees but its rosters list 0 distinct people",
    );
    has(
        "FUND_USE_REPORT_LATE",
        Some("530128"),
        &["kunming-2023.opened", "lq.report"],
        "5 day(s) late",
    );
    has(
        "TRAINING_LEDGER_LATE",
        Some("530113"),
        &["kunming-2023.opened", "dc.roster.1"],
        "day(s) late",
    );
    has(
        "FUND_USE_REPORT_MISSING",
        Some("530113"),
        &["kunming-2023.opened"],
        "has filed no fund-use report",
    );
    has(
        "TRAINING_LEDGER_MISSING",
        Some("530124"),
        &["kunming-2023.opened"],
        "has filed no training ledger",
    );
    has(
        "PERSON_CLAIMED_TWICE",
        None,
        &["lq.roster", "dc.roster.1"],
        "1 person(s) are claimed by both district 530128",
    );
    has(
        "PERSON_CLAIMED_TWICE",
        Some("530113"),
        &["dc.roster.1", "dc.roster.2"],
        "1 person(s) appear on both rosters",
    );
    has(
        "SPENDING_AFTER_YEAR",
        Some("530102"),
        &["wh.spend.2"],
        "after fiscal year 2023 ended",
    );
    has(
        "EVENT_REVERSED",
        None,
        &["wh.spend.1", "wh.reverse"],
        "wuhua-dpf reversed wh.spend.1",
    );
    has(
        "FILING_BACKDATED",
        Some("530124"),
        &["fm.report"],
        "is dated 2023-11-20T10:00:00+08:00 but was recorded at",
    );
    // Costs per trainee: 禄劝 110000.00 / 2 signed, 东川 100.00 / 2, 五华 20.00 / 1: median 50.00.
    has(
        "COST_PER_TRAINEE_OUTLIER",
        Some("530128"),
        &["lq.roster", "lq.spend.1", "lq.spend.2"],
        "cost per trainee is 55000.00 CNY, more than 2.00 times the program's median of 50.00",
    );
    assert_eq!(
        list.iter()
            .filter(|f| f["code"] == "COST_PER_TRAINEE_OUTLIER")
            .count(),
        1,
        "{out}"
    );
    has(
        "DEFICIT_OFFSET",
        Some("530128"),
        &["lq.offset"],
        "deficit of -10000.00 CNY was offset into next year's program kunming-2024",
    );
    has(
        "SURPLUS_NOT_OFFSET",
        Some("530113"),
        &["dc.settle", "kunming-2024.alloc.530113"],
        "surplus of 99900.00 CNY was not offset",
    );
    // A reversed spending counts for nothing: 武华's first spending is no finding of its own.
    assert!(
        !list.iter().any(|f| f["code"] == "SPENDING_WITHOUT_ROSTER"
            && f["evidence"][0]["event_id"] == "wh.spend.1"),
        "{out}"
    );
    // As of before the deadlines, no deadline finding.
    let early = ok(
        p,
        &[
            "findings",
            "--ledger",
            l,
            "--program",
            "kunming-2023",
            "--format",
            "json",
            "--as-of",
            "2023-07-01T00:00:00+08:00",
        ],
    );
    for deadline in [
        "TRAINING_LEDGER_MISSING",
        "FUND_USE_REPORT_MISSING",
        "TRAINING_LEDGER_LATE",
        "FUND_USE_REPORT_LATE",
    ] {
        assert!(!early.contains(deadline), "{early}");
    }
    assert!(early.contains("SPENT_OVER_ALLOCATION"), "{early}");
    // The report carries the same findings, in JSON and in Markdown.
    let as_of = "2030-01-01T00:00:00+08:00";
    let alone: Value = serde_json::from_str(&ok(
        p,
        &[
            "findings",
            "--ledger",
            l,
            "--program",
            "kunming-2023",
            "--format",
            "json",
            "--as-of",
            as_of,
        ],
    ))
    .unwrap();
    let report: Value = crate::support::report_json(p, l, "kunming-2023", &["--as-of", as_of]);
    assert_eq!(report["findings"], alone["findings"]);
    assert_eq!(alone["findings"].as_array().unwrap().len(), list.len());
    let report_md = ok(
        p,
        &[
            "report",
            "--ledger",
            l,
            "--program",
            "kunming-2023",
            "--as-of",
            as_of,
        ],
    );
    assert!(
        report_md.contains("、审计发现\n") && report_md.contains("`CLAIMED_OVER_ROSTERED` 530124"),
        "{report_md}"
    );
    // The Markdown form names the evidence too.
    let md = ok(
        p,
        &[
            "findings",
            "--ledger",
            l,
            "--program",
            "kunming-2023",
            "--lang",
            "en",
        ],
    );
    assert!(
        md.contains("`SPENT_OVER_ALLOCATION` 530128") && md.contains("evidence: seq"),
        "{md}"
    );
}

#[test]
fn the_demo_year_has_no_findings() {
    let dir = tempdir();
    let ledger = crate::support::demo_ledger(dir.path());
    let out = ok(
        dir.path(),
        &[
            "findings",
            "--ledger",
            ledger.to_str().unwrap(),
            "--program",
            "kunming-2022",
            "--as-of",
            "2023-06-30T00:00:00+08:00",
            "--format",
            "json",
        ],
    );
    let findings: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(findings["findings"], json!([]), "{out}");
    let unknown = run(
        dir.path(),
        &[
            "findings",
            "--ledger",
            ledger.to_str().unwrap(),
            "--program",
            "nope",
        ],
        None,
    );
    assert_eq!(unknown.status.code(), Some(2));
}

/// Thresholds are data: a program that allows 48 hours before a filing
/// counts as backdated finds only the one recorded 60 hours after its
/// `at`, not the one recorded 30 hours after (which the default, 24,
/// would find).
#[test]
fn a_program_sets_its_own_thresholds() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = crate::support::demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let ago = |hours: i64| {
        (chrono::Utc::now() - chrono::Duration::hours(hours))
            .with_timezone(&offset)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    let program = json!({"id": "t-2024.opened", "actor": "kunming-dpf-jiuye", "kind": "program_opened", "at": ago(100), "body": {
        "program": "t-2024", "fiscal_year": 2024, "name": "阈值测试", "funding_documents": [],
        "districts": [{"code": "530128", "name": "禄劝县"}, {"code": "530113", "name": "东川区"}],
        "targets": {"trainees_min": 1, "satisfaction_min": "80.00"},
        "deadlines": {"training_ledger_due_local": "2099-10-30", "fund_use_report_due_local": "2099-11-30"},
        "findings": {"backdated_after_hours": 48}}});
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
    for (actor, code, hours) in [
        ("luquan-dpf", "530128", 30),
        ("dongchuan-dpf", "530113", 60),
    ] {
        let mut filing = report(&format!("t.{code}"), actor, code, &ago(hours), 0);
        filing["body"]["program"] = json!("t-2024");
        std::fs::write(p.join("r.json"), filing.to_string()).unwrap();
        ok(
            p,
            &[
                "append",
                "--ledger",
                l,
                "--key",
                &key(actor),
                "--operator-key",
                &key("kunming-dpf"),
                "r.json",
            ],
        );
    }
    let out = ok(
        p,
        &[
            "findings",
            "--ledger",
            l,
            "--program",
            "t-2024",
            "--format",
            "json",
        ],
    );
    let findings: Value = serde_json::from_str(&out).unwrap();
    let backdated: Vec<&Value> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "FILING_BACKDATED")
        .collect();
    assert_eq!(backdated.len(), 1, "{out}");
    assert_eq!(backdated[0]["evidence"][0]["event_id"], "t.530113", "{out}");
}
