//! Issue #14, the rest of the desk: a settlement reversed and filed again,
//! the surplus of an imposed settlement not offset, a hand score that
//! contradicts the figure it is cross-checked against — and findings
//! feeding the evaluation through an `audit_findings` leaf. Through the
//! real binary; every finding with its evidence.

use crate::chain::key;
use crate::support::{demo_ledger, ok, tempdir};
use serde_json::{json, Value};

const P: &str = "kunming-2023e";

fn ev(id: &str, actor: &str, kind: &str, at: &str, body: Value) -> Value {
    json!({"id": id, "actor": actor, "kind": kind, "at": at, "body": body})
}

fn year() -> Vec<Value> {
    let city = "kunming-dpf-jiuye";
    let at = "2023-06-01T09:00:00+08:00";
    let districts = [
        ("530128", "禄劝县"),
        ("530113", "东川区"),
        ("530102", "五华区"),
    ];
    let mut events = vec![ev(
        &format!("{P}.opened"),
        city,
        "program_opened",
        at,
        json!({"program": P, "fiscal_year": 2023, "name": "2023年培训补助（评价）", "funding_documents": [],
            "districts": districts.iter().map(|(c, n)| json!({"code": c, "name": n})).collect::<Vec<_>>(),
            "targets": {"trainees_min": 10, "satisfaction_min": "80.00"},
            "deadlines": {"training_ledger_due_local": "2023-10-30", "fund_use_report_due_local": "2023-11-30"},
            "findings": {"deduction_per_finding": "2.00", "score_contradiction_points": 20},
            "evaluation_framework": {"indicators": [{"code": "A", "name": "绩效", "weight": "100.00", "children": [
                {"code": "A1", "name": "预算执行率", "weight": "10.00", "cross_check": "execution_rate"},
                {"code": "A2", "name": "审计发现问题", "weight": "30.00", "measure": "audit_findings"},
                {"code": "A3", "name": "其他", "weight": "60.00"}]}]}}),
    )];
    events.push(ev(&format!("{P}.budget"), city, "budget_approved", at,
        json!({"program": P, "amount_cny": "300000.00", "document": {"number": "昆财社〔2023〕9号", "title": "t"}})));
    for (code, _) in districts {
        events.push(ev(
            &format!("{P}.alloc.{code}"),
            city,
            "allocation_made",
            at,
            json!({"program": P, "district_code": code, "amount_cny": "100000.00"}),
        ));
    }
    let settle = |id: &str, allocated: &str, spent: &str, surplus: &str, at: &str| {
        ev(
            id,
            "dongchuan-dpf",
            "settlement_filed",
            at,
            json!({"program": P, "district_code": "530113",
            "allocated_cny": allocated, "spent_cny": spent, "surplus_cny": surplus}),
        )
    };
    events.extend([
        ev("lq.spend", "luquan-dpf", "expenditure_reported", "2023-07-01T10:00:00+08:00",
            json!({"program": P, "district_code": "530128", "amount_cny": "150000.00", "purpose": "培训"})),
        // 东川 settles, reverses it, and settles again.
        settle("dc.settle.1", "100000.00", "0.00", "100000.00", "2024-01-05T10:00:00+08:00"),
        ev("dc.settle.undo", "dongchuan-dpf", "event_reversed", "2024-01-06T10:00:00+08:00",
            json!({"event_id": "dc.settle.1", "reason": "漏报一笔支出"})),
        ev("dc.spend", "dongchuan-dpf", "expenditure_reported", "2024-01-06T11:00:00+08:00",
            json!({"program": P, "district_code": "530113", "amount_cny": "1000.00", "purpose": "培训"})),
        settle("dc.settle.2", "100000.00", "1000.00", "99000.00", "2024-01-07T10:00:00+08:00"),
        // 五华 files nothing; the city imposes its settlement (surplus 100,000.00).
        ev("wh.imposed", city, "settlement_imposed", "2024-01-08T10:00:00+08:00",
            json!({"program": P, "district_code": "530102", "reason": "逾期未报决算"})),
        // Scored by hand at full marks while the execution rate is 50.33 %.
        ev("score.A1", city, "indicator_scored", "2024-01-09T10:00:00+08:00",
            json!({"program": P, "indicator": "A1", "score": "10.00", "rationale": "资金全部到位"})),
        ev("score.A3", city, "indicator_scored", "2024-01-09T10:01:00+08:00",
            json!({"program": P, "indicator": "A3", "score": "60.00", "rationale": "—"})),
        ev("kunming-2024e.opened", city, "program_opened", "2024-01-10T09:00:00+08:00",
            json!({"program": "kunming-2024e", "fiscal_year": 2024, "name": "2024年培训补助", "funding_documents": [],
                "districts": [{"code": "530102", "name": "五华区"}],
                "targets": {"trainees_min": 10, "satisfaction_min": "80.00"},
                "deadlines": {"training_ledger_due_local": "2024-10-30", "fund_use_report_due_local": "2024-11-30"}})),
        ev("kunming-2024e.budget", city, "budget_approved", "2024-01-11T09:00:00+08:00",
            json!({"program": "kunming-2024e", "amount_cny": "100000.00", "document": {"number": "昆财社〔2024〕9号", "title": "t"}})),
        ev("kunming-2024e.alloc.530102", city, "allocation_made", "2024-01-12T09:00:00+08:00",
            json!({"program": "kunming-2024e", "district_code": "530102", "amount_cny": "50000.00"})),
    ]);
    events
}

fn find<'a>(findings: &'a [Value], code: &str) -> Vec<&'a Value> {
    findings
        .iter()
        .filter(|f| f["code"] == json!(code))
        .collect()
}

fn ids(finding: &Value) -> Vec<&str> {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect()
}

#[test]
fn refiled_settlements_imposed_surpluses_and_hand_scores_are_found_and_feed_the_evaluation() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let text: String = year().iter().map(|e| e.to_string() + "\n").collect();
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
    let as_of = "2024-02-01T00:00:00+08:00";
    let report: Value = crate::support::report_json(p, l, P, &["--as-of", as_of]);
    let findings = report["findings"].as_array().unwrap();

    let refiled = find(findings, "SETTLEMENT_REFILED");
    assert_eq!(refiled.len(), 1, "{findings:#?}");
    assert_eq!(
        ids(refiled[0]),
        ["dc.settle.1", "dc.settle.undo", "dc.settle.2"]
    );
    assert_eq!(refiled[0]["district"], json!("530113"));
    assert!(
        refiled[0]["zh"]
            .as_str()
            .unwrap()
            .contains("100000.00 → 99000.00"),
        "{}",
        refiled[0]
    );

    let not_offset = find(findings, "SURPLUS_NOT_OFFSET");
    assert_eq!(not_offset.len(), 1, "{findings:#?}");
    assert_eq!(
        ids(not_offset[0]),
        ["wh.imposed", "kunming-2024e.alloc.530102"]
    );
    assert!(not_offset[0]["en"]
        .as_str()
        .unwrap()
        .contains("surplus of 100000.00 CNY"));

    let contradiction = find(findings, "SCORE_CONTRADICTS_MEASURE");
    assert_eq!(contradiction.len(), 1, "{findings:#?}");
    assert_eq!(ids(contradiction[0]), ["score.A1"]);
    let en = contradiction[0]["en"].as_str().unwrap();
    assert!(en.contains("100.00%") && en.contains("50.33%"), "{en}");

    // The evaluation deducts 2.00 per high or medium finding from A2's 30.
    let counted = findings
        .iter()
        .filter(|f| f["severity"] == json!("high") || f["severity"] == json!("medium"))
        .count();
    assert!(counted >= 3, "{counted}");
    let program = &report["program"];
    assert_eq!(program["findings_counted"], json!(counted));
    let a2 = &program["evaluation"]["indicators"][0]["children"][1];
    assert_eq!(a2["code"], json!("A2"));
    let expected = (30.0 - 2.0 * counted as f64).max(0.0);
    assert_eq!(a2["score"], json!(format!("{expected:.2}")), "{a2}");
    assert_eq!(a2["basis"], json!("audit_findings"));
    let a1 = &program["evaluation"]["indicators"][0]["children"][0];
    assert_eq!(
        a1["cross_check"]["score_rate_percent"],
        json!("50.30"),
        "{a1}"
    );
    // `findings` gives the same list.
    let alone: Value = serde_json::from_str(&ok(
        p,
        &[
            "findings",
            "--ledger",
            l,
            "--program",
            P,
            "--format",
            "json",
            "--as-of",
            as_of,
        ],
    ))
    .unwrap();
    assert_eq!(&alone["findings"], &report["findings"]);
    ok(p, &["verify", "--ledger", l]);
}
