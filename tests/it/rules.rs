//! Given events, expect figures — or the rule's error. Through the library:
//! the same `Ledger` the binary uses, with demo keys.

use fundledger_core::crypto::SecretKey;
use fundledger_core::ids::Timestamp;
use fundledger_core::jcs::canonical_bytes;
use fundledger_core::ledger::{Appended, Ledger};
use fundledger_core::projection::{program_figures, ProgramFigures};
use fundledger_core::Rejection;
use proptest::prelude::*;
use serde_json::{json, Value};

pub const D1: &str = "530128";
pub const D2: &str = "530113";

/// A ledger with an operator, a city clerk, two districts, an auditor, and
/// programs p22 (2022) and p23 (2023) in both districts.
pub struct Scenario {
    pub ledger: Ledger,
    pub lines: Vec<Vec<u8>>,
    /// Every event offered, accepted or not: (event, sig, recorded_at).
    pub attempts: Vec<(Value, String, String)>,
    next_id: usize,
}

fn actor_key(actor: &str) -> SecretKey {
    SecretKey::demo(&format!("rules-{actor}"))
}

pub fn district_actor(code: &str) -> &'static str {
    if code == D1 {
        "d1"
    } else {
        "d2"
    }
}

fn program(id: &str, year: i32) -> Value {
    json!({"program": id, "fiscal_year": year, "name": format!("program {year}"), "funding_documents": [],
           "districts": [{"code": D1, "name": "禄劝县"}, {"code": D2, "name": "东川区"}],
           "targets": {"trainees_min": 3, "satisfaction_min": "80.00", "cost_per_trainee_max_cny": "500.00"},
           "deadlines": {"training_ledger_due_local": format!("{year}-10-30"), "fund_use_report_due_local": format!("{year}-11-30")},
           "evaluation_framework": {"indicators": [
               {"code": "A", "name": "judged", "weight": "40.00"},
               {"code": "B", "name": "execution", "weight": "30.00", "measure": "execution_rate"},
               {"code": "C", "name": "timeliness", "weight": "30.00", "measure": "timeliness"}]}})
}

impl Scenario {
    pub fn new() -> Scenario {
        let mut s = Scenario {
            ledger: Ledger::new(),
            lines: Vec::new(),
            attempts: Vec::new(),
            next_id: 0,
        };
        s.ok("op", "ledger_opened", "2022-01-01T09:00:00+08:00", json!({"name": "rules", "operator_key": actor_key("op").public().to_hex(), "currency": "CNY", "utc_offset": "+08:00", "nonce": "01".repeat(32)}));
        for (actor, role, district) in [
            ("city", "city", None),
            ("d1", "district", Some(D1)),
            ("d2", "district", Some(D2)),
            ("audit", "auditor", None),
        ] {
            let mut body =
                json!({"actor": actor, "role": role, "key": actor_key(actor).public().to_hex()});
            if let Some(d) = district {
                body["district"] = json!(d);
            }
            s.ok("op", "actor_enrolled", "2022-01-01T09:01:00+08:00", body);
        }
        s.ok(
            "city",
            "program_opened",
            "2022-01-02T09:00:00+08:00",
            program("p22", 2022),
        );
        s.ok(
            "city",
            "program_opened",
            "2022-01-02T09:00:00+08:00",
            program("p23", 2023),
        );
        s.ok("city", "budget_approved", "2022-01-03T09:00:00+08:00", json!({"program": "p22", "amount_cny": "1000.00", "document": {"number": "D-1", "title": "t"}}));
        s.ok("city", "budget_approved", "2022-01-03T09:00:00+08:00", json!({"program": "p23", "amount_cny": "1000.00", "document": {"number": "D-2", "title": "t"}}));
        s
    }

    /// Appends an event recorded at `at`; returns its id.
    pub fn try_append(
        &mut self,
        actor: &str,
        kind: &str,
        at: &str,
        body: Value,
    ) -> Result<String, Rejection> {
        self.try_append_recorded(actor, kind, at, at, body)
    }

    pub fn try_append_recorded(
        &mut self,
        actor: &str,
        kind: &str,
        at: &str,
        recorded_at: &str,
        body: Value,
    ) -> Result<String, Rejection> {
        self.next_id += 1;
        let id = format!("e{}", self.next_id);
        let mut event = json!({"id": id, "actor": actor, "kind": kind, "at": at, "body": body});
        if let Some(ledger_id) = self.ledger.ledger_id() {
            event["ledger"] = json!(ledger_id.to_hex());
        }
        let sig = actor_key(actor).sign_event(&event).unwrap();
        self.attempts
            .push((event.clone(), sig.clone(), recorded_at.to_string()));
        match self
            .ledger
            .append_event(&event, &sig, Timestamp::parse(recorded_at).unwrap())?
        {
            Appended::New(record) => {
                self.lines.push(record.bytes);
                Ok(id)
            }
            Appended::Exists(_) => panic!("fresh ids never exist"),
        }
    }

    pub fn ok(&mut self, actor: &str, kind: &str, at: &str, body: Value) -> String {
        self.try_append(actor, kind, at, body)
            .unwrap_or_else(|r| panic!("{kind} rejected: {r}"))
    }

    /// The append must fail with `expect` in the message; the state must not change.
    pub fn rejects(&mut self, actor: &str, kind: &str, at: &str, body: Value, expect: &str) {
        let before = (self.ledger.size(), self.ledger.head());
        let err = self
            .try_append(actor, kind, at, body)
            .expect_err("must be rejected")
            .to_string();
        assert!(err.contains(expect), "expected {expect:?} in {err:?}");
        assert_eq!(before, (self.ledger.size(), self.ledger.head()));
    }

    pub fn figures(&self, program: &str, as_of: &str) -> ProgramFigures {
        program_figures(
            self.ledger.books(),
            program,
            self.ledger.utc_offset(),
            Timestamp::parse(as_of).unwrap(),
        )
        .unwrap()
    }

    /// `at`, or the ledger's last time if that is later (helpers keep time moving forward).
    fn stamp(&self, at: &str) -> String {
        let at = Timestamp::parse(at).unwrap();
        self.ledger
            .last_recorded_at()
            .map_or(at, |last| last.max(at))
            .to_string()
    }

    pub fn alloc(&mut self, program: &str, code: &str, amount: &str) -> String {
        let at = self.stamp("2022-02-01T09:00:00+08:00");
        self.ok(
            "city",
            "allocation_made",
            &at,
            json!({"program": program, "district_code": code, "amount_cny": amount}),
        )
    }

    pub fn spend(&mut self, program: &str, code: &str, amount: &str) -> String {
        let at = self.stamp("2022-06-01T09:00:00+08:00");
        self.ok(district_actor(code), "expenditure_reported", &at, json!({"program": program, "district_code": code, "amount_cny": amount, "purpose": "training"}))
    }

    pub fn settle(
        &mut self,
        program: &str,
        code: &str,
        allocated: &str,
        spent: &str,
        surplus: &str,
    ) -> String {
        let at = self.stamp("2022-12-20T09:00:00+08:00");
        self.ok(district_actor(code), "settlement_filed", &at, json!({"program": program, "district_code": code, "allocated_cny": allocated, "spent_cny": spent, "surplus_cny": surplus}))
    }
}

pub fn roster(code: &str, people: &[u8], complete: bool) -> Value {
    let digest = "ab".repeat(32);
    json!({"program": "p22", "district_code": code, "township": "镇",
           "session": {"title": "t", "start_date": "2022-05-01", "end_date": "2022-05-03"},
           "trainees": people.iter().map(|p| json!({"person_digest": format!("{:02x}", p).repeat(32), "name_masked": "张*", "disability_category": 4, "disability_level": 2, "signed": true})).collect::<Vec<_>>(),
           "documents": {"training_plan": digest, "trainee_roster": digest, "participant_publicity": digest, "training_briefing": digest,
                         "training_summary": digest, "fund_use_statement": digest, "courseware": if complete { json!(digest) } else { Value::Null }}})
}

fn fund_use(code: &str, spent: &str) -> Value {
    json!({"program": "p22", "district_code": code, "spent_cny": spent, "trainees_reported": 1})
}

#[test]
fn every_money_rule_rejects_with_its_error() {
    let mut s = Scenario::new();
    let at = "2023-01-01T09:00:00+08:00";
    s.rejects(
        "city",
        "budget_approved",
        at,
        json!({"program": "p99", "amount_cny": "1.00", "document": {"number": "D", "title": "t"}}),
        "program \"p99\" has not been opened",
    );
    s.rejects(
        "city",
        "budget_approved",
        at,
        json!({"program": "p22", "amount_cny": "0.00", "document": {"number": "D", "title": "t"}}),
        "amounts are positive",
    );
    s.ok(
        "city",
        "funds_received",
        at,
        json!({"program": "p22", "amount_cny": "900.00", "source": "finance bureau"}),
    );
    s.rejects(
        "city",
        "funds_received",
        at,
        json!({"program": "p22", "amount_cny": "100.01", "source": "finance bureau"}),
        "funds received would total 1000.01, more than the budget approved (1000.00)",
    );
    s.alloc("p22", D1, "600.00");
    s.rejects(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": D2, "amount_cny": "400.01"}),
        "pre-allocations would total 1000.01",
    );
    s.rejects(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": "530102", "amount_cny": "1.00"}),
        "district 530102 does not participate in program \"p22\"",
    );
    s.alloc("p22", D2, "400.00");
    let spend = s.spend("p22", D1, "550.00");
    s.rejects("d1", "settlement_filed", at, json!({"program": "p22", "district_code": D1, "allocated_cny": "600.00", "spent_cny": "500.00", "surplus_cny": "100.00"}), "spent_cny is 500.00, but the district's reported expenditure totals 550.00");
    s.rejects("d1", "settlement_filed", at, json!({"program": "p22", "district_code": D1, "allocated_cny": "500.00", "spent_cny": "550.00", "surplus_cny": "-50.00"}), "allocated_cny is 500.00, but the district's pre-allocations total 600.00");
    s.rejects("d1", "settlement_filed", at, json!({"program": "p22", "district_code": D1, "allocated_cny": "600.00", "spent_cny": "550.00", "surplus_cny": "60.00"}), "surplus_cny is 60.00, but allocated − spent is 50.00");
    s.rejects("city", "offset_applied", at, json!({"program": "p22", "district_code": D1, "surplus_cny": "50.00", "into_program": "p23"}), "district 530128 has not settled program \"p22\"");
    let settlement = s.settle("p22", D1, "600.00", "550.00", "50.00");
    s.rejects("d1", "settlement_filed", at, json!({"program": "p22", "district_code": D1, "allocated_cny": "600.00", "spent_cny": "550.00", "surplus_cny": "50.00"}), "already settled by");
    s.rejects(
        "d1",
        "expenditure_reported",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "1.00", "purpose": "p"}),
        "already settled in this program; reverse the settlement first",
    );
    s.rejects(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "1.00"}),
        "already settled in this program",
    );
    s.rejects(
        "d1",
        "event_reversed",
        at,
        json!({"event_id": spend, "reason": "r"}),
        "reverse the settlement before its expenditure_reported",
    );
    s.rejects("city", "offset_applied", at, json!({"program": "p22", "district_code": D1, "surplus_cny": "40.00", "into_program": "p23"}), "surplus_cny is 40.00, but the settled surplus is 50.00");
    s.rejects("city", "offset_applied", at, json!({"program": "p22", "district_code": D1, "surplus_cny": "50.00", "into_program": "p22"}), "an offset moves into the next fiscal year (2023)");
    s.rejects("city", "offset_applied", at, json!({"program": "p22", "district_code": D1, "surplus_cny": "50.00", "into_program": "p24"}), "program \"p24\" has not been opened");
    let offset = s.ok("city", "offset_applied", at, json!({"program": "p22", "district_code": D1, "surplus_cny": "50.00", "into_program": "p23"}));
    s.rejects("city", "offset_applied", at, json!({"program": "p22", "district_code": D1, "surplus_cny": "50.00", "into_program": "p23"}), "already offset by");
    s.rejects(
        "d1",
        "event_reversed",
        at,
        json!({"event_id": settlement, "reason": "r"}),
        "reverse the offset first",
    );
    s.rejects(
        "d2",
        "event_reversed",
        at,
        json!({"event_id": spend, "reason": "r"}),
        "may reverse only its own events",
    );
    // Unwinding in order works: offset, settlement, then the spending.
    s.ok(
        "city",
        "event_reversed",
        at,
        json!({"event_id": offset, "reason": "wrong year"}),
    );
    s.rejects(
        "op",
        "event_reversed",
        at,
        json!({"event_id": offset, "reason": "again"}),
        "was already reversed by",
    );
    s.ok(
        "d1",
        "event_reversed",
        at,
        json!({"event_id": settlement, "reason": "recount"}),
    );
    s.ok(
        "d1",
        "event_reversed",
        at,
        json!({"event_id": spend, "reason": "duplicate voucher"}),
    );
    let f = s.figures("p22", at);
    assert_eq!(f.districts[0].spent_cny.to_string(), "0.00");
    assert!(!f.districts[0].settled);
    // Surveys and scores.
    let survey = |counts: Value| {
        json!({"program": "p22", "survey": "s1", "title": "t", "respondents": 3,
        "options": [{"code": "A", "label": "好", "points": 10}, {"code": "B", "label": "中", "points": 5}],
        "questions": [{"number": 1, "text": "q", "counts": counts}]})
    };
    s.rejects(
        "city",
        "survey_recorded",
        at,
        survey(json!({"A": 1, "B": 1})),
        "question 1 has 2 answers but the survey has 3 respondents",
    );
    s.rejects(
        "city",
        "survey_recorded",
        at,
        survey(json!({"A": 1, "C": 2})),
        "counts name option \"C\"",
    );
    s.rejects(
        "city",
        "indicator_scored",
        at,
        json!({"program": "p22", "indicator": "A", "score": "40.01", "rationale": "r"}),
        "exceeds the indicator's weight 40.00",
    );
    s.rejects(
        "city",
        "indicator_scored",
        at,
        json!({"program": "p22", "indicator": "B", "score": "1.00", "rationale": "r"}),
        "derived from ledger facts",
    );
    s.rejects(
        "city",
        "indicator_scored",
        at,
        json!({"program": "p22", "indicator": "Z", "score": "1.00", "rationale": "r"}),
        "not in the program's framework",
    );
    s.rejects(
        "city",
        "program_opened",
        at,
        program("p22", 2022),
        "program \"p22\" is already open",
    );
    let mut bad = program("p30", 2030);
    bad["evaluation_framework"]["indicators"][0]["weight"] = json!("41.00");
    s.rejects(
        "city",
        "program_opened",
        at,
        bad,
        "the level-1 weights sum to 101.00, not 100",
    );
    s.rejects(
        "d1",
        "roster_filed",
        at,
        roster(D1, &[1, 1], true),
        "the same person appears twice on this roster",
    );
}

#[test]
fn deadlines_late_missing_not_due_and_on_the_last_second() {
    let mut s = Scenario::new();
    s.alloc("p22", D1, "600.00");
    s.alloc("p22", D2, "400.00");
    // d2 files a roster missing a document on Oct 20.
    let partial = s.ok(
        "d2",
        "roster_filed",
        "2022-10-20T10:00:00+08:00",
        roster(D2, &[3], false),
    );
    let before_due = s.figures("p22", "2022-10-30T12:00:00+08:00");
    assert_eq!(
        serde_json::to_value(&before_due.districts[1].training_ledger).unwrap(),
        json!({"status": "not_due"})
    );
    let after_due = s.figures("p22", "2022-10-31T00:00:00+08:00");
    assert_eq!(
        serde_json::to_value(&after_due.districts[1].training_ledger).unwrap(),
        json!({"status": "missing", "incomplete_rosters": 1})
    );
    // d1's roster comes 3 days late; d2 reverses its incomplete roster and files a complete one, also late.
    s.ok(
        "d1",
        "roster_filed",
        "2022-11-02T10:00:00+08:00",
        roster(D1, &[1, 2], true),
    );
    s.ok(
        "d2",
        "event_reversed",
        "2022-11-02T11:00:00+08:00",
        json!({"event_id": partial, "reason": "courseware missing"}),
    );
    s.ok(
        "d2",
        "roster_filed",
        "2022-11-02T11:00:00+08:00",
        roster(D2, &[3], true),
    );
    s.ok(
        "d1",
        "fund_use_reported",
        "2022-11-30T23:59:59+08:00",
        fund_use(D1, "600.00"),
    );
    let at_due = s.figures("p22", "2022-11-30T23:59:59+08:00");
    let json = |c| serde_json::to_value(c).unwrap();
    assert_eq!(
        json(&at_due.districts[0].training_ledger),
        json!({"status": "late", "recorded_at": "2022-11-02T10:00:00+08:00", "days_late": 3})
    );
    assert_eq!(
        json(&at_due.districts[0].fund_use_report),
        json!({"status": "on_time", "recorded_at": "2022-11-30T23:59:59+08:00"})
    );
    assert_eq!(
        json(&at_due.districts[1].fund_use_report),
        json!({"status": "not_due"})
    );
    let after = s.figures("p22", "2022-12-01T00:00:00+08:00");
    assert_eq!(
        json(&after.districts[1].fund_use_report),
        json!({"status": "missing"})
    );
    assert_eq!(
        (after.outputs.deadlines_on_time, after.outputs.deadlines_due),
        (1, 4)
    );
    // Timeliness scores 1 of 4 deadlines: 30 × 0.25 = 7.50.
    let e = after.evaluation.unwrap();
    assert_eq!(e.indicators[2].score.text(), "7.50");
    // A filing at 00:00:00 the day after is one day late.
    let mut t = Scenario::new();
    t.ok(
        "d1",
        "roster_filed",
        "2022-10-31T00:00:00+08:00",
        roster(D1, &[1], true),
    );
    assert_eq!(
        json(&t.figures("p22", "2022-12-01T00:00:00+08:00").districts[0].training_ledger)
            ["days_late"],
        1
    );
}

#[test]
fn an_overspent_district_and_a_surplus_are_offset_into_next_year() {
    let mut s = Scenario::new();
    s.alloc("p22", D1, "600.00");
    s.alloc("p22", D2, "400.00");
    s.alloc("p23", D1, "700.00");
    s.alloc("p23", D2, "300.00");
    s.spend("p22", D1, "650.00"); // overspent by 50
    s.spend("p22", D2, "300.00"); // 100 left
    let f = s.figures("p22", "2022-12-01T00:00:00+08:00");
    assert_eq!(f.districts[0].surplus_cny.to_string(), "-50.00");
    assert_eq!(
        f.districts[0].execution_rate_percent.unwrap().text(),
        "108.33"
    );
    assert_eq!(f.execution_rate_percent.unwrap().text(), "95.00");
    assert_eq!(
        f.carry_over_cny.to_string(),
        "-950.00",
        "nothing received yet"
    );
    s.settle("p22", D1, "600.00", "650.00", "-50.00");
    s.settle("p22", D2, "400.00", "300.00", "100.00");
    s.ok("city", "offset_applied", "2023-01-05T09:00:00+08:00", json!({"program": "p22", "district_code": D1, "surplus_cny": "-50.00", "into_program": "p23"}));
    s.ok("city", "offset_applied", "2023-01-05T09:00:00+08:00", json!({"program": "p22", "district_code": D2, "surplus_cny": "100.00", "into_program": "p23"}));
    let f22 = s.figures("p22", "2023-01-06T00:00:00+08:00");
    assert_eq!(
        f22.districts[1]
            .offset_out
            .as_ref()
            .unwrap()
            .surplus_cny
            .to_string(),
        "100.00"
    );
    let f23 = s.figures("p23", "2023-01-06T00:00:00+08:00");
    let d = |i: usize| {
        (
            f23.districts[i].allocated_cny.to_string(),
            f23.districts[i].offset_in_cny.to_string(),
            f23.districts[i].net_transfer_cny.to_string(),
        )
    };
    assert_eq!(
        d(0),
        ("700.00".into(), "-50.00".into(), "750.00".into()),
        "a deficit adds to next year's transfer"
    );
    assert_eq!(
        d(1),
        ("300.00".into(), "100.00".into(), "200.00".into()),
        "a surplus is deducted from it"
    );
    assert_eq!(
        (
            f23.offset_in_cny.to_string(),
            f23.net_transfer_cny.to_string()
        ),
        ("50.00".into(), "950.00".into())
    );
}

#[test]
fn reversals_double_claims_and_backdating() {
    let mut s = Scenario::new();
    s.alloc("p22", D1, "600.00");
    s.alloc("p22", D2, "400.00");
    let r1 = s.ok(
        "d1",
        "roster_filed",
        "2022-06-01T10:00:00+08:00",
        roster(D1, &[1, 2, 3], true),
    );
    s.ok(
        "d2",
        "roster_filed",
        "2022-06-02T10:00:00+08:00",
        roster(D2, &[3, 4], true),
    );
    let f = s.figures("p22", "2022-07-01T00:00:00+08:00");
    assert_eq!(f.outputs.trainees, 4, "person 3 counts once");
    assert_eq!(f.double_claims.len(), 1);
    assert_eq!(f.double_claims[0].person_digest.to_hex(), "03".repeat(32));
    assert_eq!(
        f.double_claims[0]
            .districts
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        [D2, D1],
        "sorted by code"
    );
    s.ok(
        "d1",
        "event_reversed",
        "2022-06-03T10:00:00+08:00",
        json!({"event_id": r1, "reason": "filed under the wrong township"}),
    );
    let f = s.figures("p22", "2022-07-01T00:00:00+08:00");
    assert_eq!(
        (
            f.outputs.trainees,
            f.double_claims.len(),
            f.districts[0].rosters
        ),
        (2, 0, 0)
    );
    // Claimed on Jun 1, recorded Jun 10: backdated.
    s.try_append_recorded(
        "d1",
        "roster_filed",
        "2022-06-01T10:00:00+08:00",
        "2022-06-10T10:00:00+08:00",
        roster(D1, &[5], true),
    )
    .unwrap();
    let f = s.figures("p22", "2022-07-01T00:00:00+08:00");
    assert_eq!(f.backdated.len(), 1);
    assert_eq!(
        f.backdated[0].recorded_at.to_string(),
        "2022-06-10T10:00:00+08:00"
    );
    // Budget reversal cannot leave the budget below what was allocated.
    let budget = s.ledger.event("e8").map(|e| e.kind);
    assert_eq!(
        budget,
        Some(fundledger_core::kind::EventKind::BudgetApproved)
    );
    s.rejects(
        "op",
        "event_reversed",
        "2022-07-01T10:00:00+08:00",
        json!({"event_id": "e8", "reason": "r"}),
        "less than what was received (0.00) or pre-allocated (1000.00)",
    );
}

#[derive(Debug, Clone)]
enum Op {
    Alloc(usize, i64),
    Spend(usize, i64),
    Roster(usize, Vec<u8>),
    FundUse(usize),
    Settle(usize),
    Offset(usize),
    Reverse(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 1..400i64).prop_map(|(d, c)| Op::Alloc(d, c)),
        (0..2usize, 1..300i64).prop_map(|(d, c)| Op::Spend(d, c)),
        (0..2usize, prop::collection::btree_set(0..12u8, 1..4))
            .prop_map(|(d, p)| Op::Roster(d, p.into_iter().collect())),
        (0..2usize).prop_map(Op::FundUse),
        (0..2usize).prop_map(Op::Settle),
        (0..2usize).prop_map(Op::Offset),
        (0..64usize).prop_map(Op::Reverse),
    ]
}

/// Offers the event `op` stands for, at a time set by `minute`; true when
/// it was appended (its id is then in `appended`).
fn offer(s: &mut Scenario, op: &Op, minute: usize, appended: &mut Vec<String>) -> bool {
    let codes = [D1, D2];
    let at = format!(
        "2022-{:02}-{:02}T10:{:02}:00+08:00",
        3 + minute / 28 % 9,
        1 + minute % 28,
        minute % 60
    );
    let f = s.figures("p22", "2023-06-01T00:00:00+08:00");
    let (actor, kind, body) = match op {
        Op::Alloc(d, c) => (
            "city",
            "allocation_made",
            json!({"program": "p22", "district_code": codes[*d], "amount_cny": format!("{c}.00")}),
        ),
        Op::Spend(d, c) => (
            district_actor(codes[*d]),
            "expenditure_reported",
            json!({"program": "p22", "district_code": codes[*d], "amount_cny": format!("{c}.50"), "purpose": "p"}),
        ),
        Op::Roster(d, people) => (
            district_actor(codes[*d]),
            "roster_filed",
            roster(codes[*d], people, true),
        ),
        Op::FundUse(d) => (
            district_actor(codes[*d]),
            "fund_use_reported",
            fund_use(codes[*d], "1.00"),
        ),
        Op::Settle(d) => {
            let x = &f.districts[*d];
            (
                district_actor(codes[*d]),
                "settlement_filed",
                json!({"program": "p22", "district_code": codes[*d], "allocated_cny": x.allocated_cny, "spent_cny": x.spent_cny, "surplus_cny": x.surplus_cny}),
            )
        }
        Op::Offset(d) => (
            "city",
            "offset_applied",
            json!({"program": "p22", "district_code": codes[*d], "surplus_cny": f.districts[*d].surplus_cny, "into_program": "p23"}),
        ),
        // A district may reverse only its own events: both it and the operator try.
        Op::Reverse(k) if !appended.is_empty() => (
            if k % 3 == 0 { "d1" } else { "op" },
            "event_reversed",
            json!({"event_id": appended[k % appended.len()], "reason": "r"}),
        ),
        Op::Reverse(_) => return false,
    };
    match s.try_append(actor, kind, &at, body) {
        Ok(id) => {
            appended.push(id);
            true
        }
        Err(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Replaying the export up to any seq gives the figures the incremental
    /// state had at that seq.
    #[test]
    fn replay_equals_incremental(ops in prop::collection::vec(op(), 1..40)) {
        let mut s = Scenario::new();
        let as_of = "2023-06-01T00:00:00+08:00";
        let figures = |s: &Scenario| serde_json::to_value((s.figures("p22", as_of), s.figures("p23", as_of))).unwrap();
        let mut snapshots = vec![(s.ledger.size(), figures(&s))];
        let mut appended: Vec<String> = Vec::new();
        for (minute, op) in ops.iter().enumerate() {
            if offer(&mut s, op, minute, &mut appended) {
                snapshots.push((s.ledger.size(), figures(&s)));
            }
        }
        let mut replay = Ledger::new();
        let mut next = 0;
        for (size, expected) in &snapshots {
            while replay.size() < *size {
                replay.verify_line(&s.lines[next]).unwrap();
                next += 1;
            }
            let f = |p| program_figures(replay.books(), p, replay.utc_offset(), Timestamp::parse(as_of).unwrap()).unwrap();
            prop_assert_eq!(&serde_json::to_value((f("p22"), f("p23"))).unwrap(), expected, "at seq {}", size);
        }
    }
}

/// Reads back from the lines accepted so far.
struct LinesRecall<'a>(&'a [Vec<u8>]);

impl fundledger_core::event_index::Recall for LinesRecall<'_> {
    fn recall(&self, seq: u64) -> Result<Vec<u8>, String> {
        self.0
            .get(seq as usize)
            .cloned()
            .ok_or_else(|| format!("no line {seq}"))
    }
}

/// The record `event` would be as the next record of `ledger`, whether or
/// not the ledger would accept it.
fn seal(ledger: &Ledger, event: &Value, sig: &str, recorded_at: &str) -> Vec<u8> {
    use fundledger_core::crypto::{domain_hash, RECORD_DOMAIN};
    let mut record = json!({"v": 2, "seq": ledger.size(), "prev": ledger.head().to_hex(),
                            "recorded_at": recorded_at, "event": event, "sig": sig});
    let hash = domain_hash(RECORD_DOMAIN, &canonical_bytes(&record).unwrap());
    record["hash"] = json!(hash.to_hex());
    canonical_bytes(&record).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The compact ledger `verify` uses decides every record — accepted or
    /// rejected, reversals, reversals of reversals, ids used again — with
    /// the same outcome and the same message as the full ledger.
    #[test]
    fn the_compact_ledger_decides_as_the_full_one(
        ops in prop::collection::vec(op(), 1..40),
        again in prop::collection::vec((0..64usize, 0..64usize), 0..6),
    ) {
        use fundledger_core::ledger::precheck_line;
        let mut s = Scenario::new();
        let mut appended: Vec<String> = Vec::new();
        for (minute, op) in ops.iter().enumerate() {
            offer(&mut s, op, minute, &mut appended);
        }
        // Offer again some earlier events (an id used twice), at positions.
        let mut offers = s.attempts.clone();
        for (from, to) in &again {
            let event = offers[from % offers.len()].clone();
            let at = (to % offers.len()).max(1);
            offers.insert(at, event);
        }
        let (mut full, mut compact) = (Ledger::new(), Ledger::compact());
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for (event, sig, recorded_at) in &offers {
            let line = seal(&full, event, sig, recorded_at);
            let by_full = full.clone().verify_line(&line).map_err(|r| r.to_string());
            let mut trial = compact.clone();
            let by_compact = precheck_line(&line)
                .and_then(|r| trial.accept_recalling(r, true, &LinesRecall(&lines)))
                .map(|(hash, _)| hash)
                .map_err(|r| r.to_string());
            prop_assert_eq!(&by_full, &by_compact, "offering {}", event);
            if by_full.is_ok() {
                full.verify_line(&line).unwrap();
                compact = trial;
                lines.push(line);
            }
        }
        prop_assert_eq!(full.head(), compact.head());
        prop_assert_eq!(full.size() as usize, lines.len());
        if again.is_empty() {
            prop_assert_eq!(&lines, &s.lines, "sealed as append seals");
        }
    }
}

/// Issue #17, 1: only those who signed and thumb-printed a roster count as
/// trained (the target, cost per trainee, the evaluation's output measure);
/// the others are listed, and said so.
#[test]
fn unsigned_trainees_are_listed_but_not_trained() {
    let mut s = Scenario::new();
    let at = "2022-05-10T09:00:00+08:00";
    s.ok(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "300.00"}),
    );
    let mut body = roster(D1, &[1, 2, 3], true);
    body["trainees"][2]["signed"] = json!(false);
    s.ok("d1", "roster_filed", at, body);
    // A second roster whose two people did not sign.
    let mut second = roster(D1, &[4, 5], true);
    second["trainees"][0]["signed"] = json!(false);
    second["trainees"][1]["signed"] = json!(false);
    let second_id = s.ok("d1", "roster_filed", at, second);
    s.ok(
        "d1",
        "expenditure_reported",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "300.00", "purpose": "x"}),
    );
    let f = s.figures("p22", "2022-06-01T00:00:00+08:00");
    let out = &f.outputs;
    assert_eq!(
        (out.trainees, out.trainees_listed, out.trainees_unsigned),
        (2, 5, 3)
    );
    assert_eq!(out.cost_per_trainee_cny.unwrap().to_string(), "150.00");
    let d = f
        .districts
        .iter()
        .find(|d| d.code.to_string() == D1)
        .unwrap();
    assert_eq!(
        (d.trainees, d.trainees_listed, d.trainees_unsigned),
        (2, 5, 3)
    );
    // The second roster reversed: its unsigned people are gone from the list.
    s.ok(
        "d1",
        "event_reversed",
        at,
        json!({"event_id": second_id, "reason": "wrong session"}),
    );
    let out = s.figures("p22", "2022-06-01T00:00:00+08:00").outputs;
    assert_eq!(
        (out.trainees, out.trainees_listed, out.trainees_unsigned),
        (2, 3, 1)
    );
}

/// Issue #17, 4: the program's balances named for what they are: what was
/// never pre-allocated, settled surpluses, settled deficits, and the
/// balances of districts not yet settled, which add up to 结转结余.
#[test]
fn balances_are_split_by_settlement() {
    let mut s = Scenario::new();
    let at = "2022-03-01T09:00:00+08:00";
    s.ok(
        "city",
        "funds_received",
        at,
        json!({"program": "p22", "amount_cny": "1000.00", "source": "finance bureau"}),
    );
    for (code, amount) in [(D1, "400.00"), (D2, "300.00")] {
        s.ok(
            "city",
            "allocation_made",
            at,
            json!({"program": "p22", "district_code": code, "amount_cny": amount}),
        );
    }
    for (code, amount) in [(D1, "450.00"), (D2, "100.00")] {
        s.ok(
            district_actor(code),
            "expenditure_reported",
            at,
            json!({"program": "p22", "district_code": code, "amount_cny": amount, "purpose": "x"}),
        );
    }
    // D1 overspent and settles with a deficit; D2 never settles.
    s.settle("p22", D1, "400.00", "450.00", "-50.00");
    let f = s.figures("p22", "2023-01-01T00:00:00+08:00");
    let text = |m: fundledger_core::money::Money| m.to_string();
    assert_eq!(text(f.carry_over_cny), "450.00");
    assert_eq!(text(f.unallocated_cny), "300.00");
    assert_eq!(text(f.settled_surplus_cny), "0.00");
    assert_eq!(text(f.settled_deficit_cny), "50.00");
    assert_eq!(text(f.unsettled_balance_cny), "200.00");
    // received − spent = unallocated + surpluses − deficits + unsettled balances.
    assert_eq!(
        f.carry_over_cny,
        f.unallocated_cny + f.settled_surplus_cny - f.settled_deficit_cny + f.unsettled_balance_cny
    );
    assert_eq!(
        f.surplus_cny,
        f.settled_surplus_cny - f.settled_deficit_cny + f.unsettled_balance_cny
    );
}

/// Issue #17, 2: the city settles a district that never filed, once the
/// fund-use deadline is over; the district is then settled as by its own
/// settlement (its surplus can be offset), and reported as imposed.
#[test]
fn the_city_settles_a_silent_district_after_the_deadline() {
    let mut s = Scenario::new();
    let at = "2022-03-01T09:00:00+08:00";
    s.ok(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": D2, "amount_cny": "300.00"}),
    );
    s.ok(
        "d2",
        "expenditure_reported",
        at,
        json!({"program": "p22", "district_code": D2, "amount_cny": "100.00", "purpose": "x"}),
    );
    let imposed = |reason: &str| json!({"program": "p22", "district_code": D2, "reason": reason, "document": "昆残联〔2022〕9号"});
    // Before the fund-use deadline (2022-11-30) is over: the district settles itself.
    s.rejects(
        "city",
        "settlement_imposed",
        "2022-11-30T23:59:59+08:00",
        imposed("early"),
        "the fund-use deadline (2022-11-30) is not over",
    );
    // A district cannot impose a settlement, not even on itself.
    s.rejects(
        "d2",
        "settlement_imposed",
        "2022-12-02T09:00:00+08:00",
        imposed("self"),
        "may not append settlement_imposed",
    );
    s.ok(
        "city",
        "settlement_imposed",
        "2022-12-02T09:00:00+08:00",
        imposed("no settlement filed by the deadline"),
    );
    s.rejects(
        "city",
        "settlement_imposed",
        "2022-12-03T09:00:00+08:00",
        imposed("again"),
        "already settled by",
    );
    s.rejects(
        "d2",
        "expenditure_reported",
        "2022-12-03T09:00:00+08:00",
        json!({"program": "p22", "district_code": D2, "amount_cny": "1.00", "purpose": "x"}),
        "already settled",
    );
    let f = s.figures("p22", "2022-12-04T00:00:00+08:00");
    let d = f
        .districts
        .iter()
        .find(|d| d.code.to_string() == D2)
        .unwrap();
    assert!(d.settled);
    assert_eq!(
        d.settlement_imposed.as_deref(),
        Some("no settlement filed by the deadline")
    );
    assert_eq!(d.surplus_cny.to_string(), "200.00");
    // Its surplus is offset into next year as any settled surplus.
    s.ok("city", "offset_applied", "2022-12-05T09:00:00+08:00", json!({"program": "p22", "district_code": D2, "surplus_cny": "200.00", "into_program": "p23"}));
}

/// Issue #17, 3: a budget adjustment (调增 / 调减) is its own event: refused
/// below what was received or pre-allocated, naming the shortfall; a valid
/// cut changes the full-year budget and the execution rate, and the
/// year-start budget stays as approved.
#[test]
fn a_budget_adjustment_changes_the_full_year_budget() {
    let mut s = Scenario::new();
    let at = "2022-03-01T09:00:00+08:00";
    s.ok(
        "city",
        "funds_received",
        at,
        json!({"program": "p22", "amount_cny": "900.00", "source": "finance bureau"}),
    );
    s.ok(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "400.00"}),
    );
    s.ok(
        "d1",
        "expenditure_reported",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "300.00", "purpose": "x"}),
    );
    let adjust = |amount: &str| json!({"program": "p22", "amount_cny": amount, "document": {"number": "昆财社〔2022〕58号", "title": "调减"}, "reason": "年中调整"});
    s.rejects(
        "city",
        "budget_adjusted",
        at,
        adjust("-200.00"),
        "the budget would be 800.00, 100.00 less than what was received (900.00)",
    );
    s.rejects(
        "city",
        "budget_adjusted",
        at,
        adjust("0.00"),
        "its amount is not 0.00",
    );
    s.rejects(
        "d1",
        "budget_adjusted",
        at,
        adjust("10.00"),
        "may not append budget_adjusted",
    );
    let cut = s.ok("city", "budget_adjusted", at, adjust("-50.00"));
    let f = s.figures("p22", "2022-04-01T00:00:00+08:00");
    assert_eq!(f.budget_initial_cny.to_string(), "1000.00");
    assert_eq!(f.budget_approved_cny.to_string(), "950.00");
    assert_eq!(f.budget_adjustments.len(), 1);
    assert_eq!(f.execution_rate_percent.unwrap().to_string(), "31.58");
    // No more funds than the budget after the cut.
    s.rejects(
        "city",
        "funds_received",
        at,
        json!({"program": "p22", "amount_cny": "60.00", "source": "x"}),
        "more than the budget approved (950.00)",
    );
    // The cut reversed: the budget is as approved again.
    s.ok(
        "city",
        "event_reversed",
        at,
        json!({"event_id": cut, "reason": "mistaken"}),
    );
    assert_eq!(
        s.figures("p22", "2022-04-01T00:00:00+08:00")
            .budget_approved_cny
            .to_string(),
        "1000.00"
    );
}

/// Issue #11, 7: one key, one actor (the operator's key is never enrolled
/// again), and one operator.
#[test]
fn keys_and_roles_do_not_blur() {
    let mut s = Scenario::new();
    let at = "2022-02-01T09:00:00+08:00";
    let enrol = |actor: &str, role: &str, key: &str| {
        let mut body =
            json!({"actor": actor, "role": role, "key": actor_key(key).public().to_hex()});
        if role == "district" {
            body["district"] = json!(D1);
        }
        body
    };
    s.rejects(
        "op",
        "actor_enrolled",
        at,
        enrol("d1-again", "district", "d1"),
        "this key is already enrolled for actor \"d1\"",
    );
    s.rejects(
        "op",
        "actor_enrolled",
        at,
        enrol("op-as-district", "district", "op"),
        "this key is already enrolled for actor \"op\"",
    );
    s.rejects(
        "op",
        "actor_enrolled",
        at,
        enrol("op2", "operator", "op2"),
        "a ledger has one operator, \"op\"",
    );
    s.ok(
        "op",
        "actor_enrolled",
        at,
        enrol("d1-new", "district", "d1-new"),
    );
    // A district code of no county of GB/T 2260: nonsense, and a code of
    // the right shape in a real prefecture that has no such county.
    for (n, code) in ["000000", "530199"].into_iter().enumerate() {
        let mut nowhere = enrol(&format!("d-nowhere{n}"), "district", "d-nowhere");
        nowhere["district"] = json!(code);
        s.rejects(
            "op",
            "actor_enrolled",
            at,
            nowhere,
            "one of the 2978 county-level codes of GB/T 2260",
        );
    }
}

/// Issue #11, 6: a settled district's year is closed: no roster, fund-use
/// report or spending is accepted, and none is reversed, until the
/// settlement itself is reversed.
#[test]
fn a_settled_district_takes_no_more_filings() {
    let mut s = Scenario::new();
    let at = "2022-05-10T09:00:00+08:00";
    s.ok(
        "city",
        "allocation_made",
        at,
        json!({"program": "p22", "district_code": D1, "amount_cny": "100.00"}),
    );
    let roster_id = s.ok("d1", "roster_filed", at, roster(D1, &[1], true));
    let settlement = s.settle("p22", D1, "100.00", "0.00", "100.00");
    let later = "2023-01-10T09:00:00+08:00";
    s.rejects(
        "d1",
        "roster_filed",
        later,
        roster(D1, &[2], true),
        "already settled in this program; reverse the settlement first",
    );
    s.rejects(
        "d1",
        "fund_use_reported",
        later,
        fund_use(D1, "0.00"),
        "already settled in this program",
    );
    s.rejects(
        "d1",
        "event_reversed",
        later,
        json!({"event_id": roster_id, "reason": "x"}),
        "reverse the settlement before its roster_filed",
    );
    s.ok(
        "d1",
        "event_reversed",
        later,
        json!({"event_id": settlement, "reason": "reopened"}),
    );
    s.ok("d1", "roster_filed", later, roster(D1, &[2], true));
}

/// Issue #11, 6: once its evaluation is done a program is closed
/// (`program_closed`): nothing for it is accepted or reversed — the
/// seed's finding, a late roster changing a closed year, is refused —
/// until the closing is reversed, which reopens it and is reported.
#[test]
fn a_closed_program_takes_nothing_until_reopened() {
    let mut s = Scenario::new();
    let at = "2023-05-20T09:00:00+08:00";
    let allocation = s.ok(
        "city",
        "allocation_made",
        "2022-03-01T09:00:00+08:00",
        json!({"program": "p22", "district_code": D1, "amount_cny": "100.00"}),
    );
    let close = |reason: &str| json!({"program": "p22", "reason": reason});
    s.rejects(
        "d1",
        "program_closed",
        at,
        close("x"),
        "may not append program_closed",
    );
    let closing = s.ok("city", "program_closed", at, close("evaluation complete"));
    let later = "2023-06-01T09:00:00+08:00";
    s.rejects(
        "d1",
        "roster_filed",
        later,
        roster(D1, &[1], true),
        "program \"p22\" is closed by",
    );
    s.rejects(
        "city",
        "budget_approved",
        later,
        json!({"program": "p22", "amount_cny": "1.00", "document": {"number": "D", "title": "t"}}),
        "is closed by",
    );
    s.rejects(
        "city",
        "program_closed",
        later,
        close("again"),
        "is closed by",
    );
    s.rejects(
        "city",
        "event_reversed",
        later,
        json!({"event_id": allocation, "reason": "x"}),
        "is closed by",
    );
    let f = s.figures("p22", later);
    assert_eq!(
        f.closed.as_ref().map(|c| c.event_id.as_str()),
        Some(closing.as_str())
    );
    // Reopened by reversing the closing, and the report says so.
    s.ok(
        "city",
        "event_reversed",
        later,
        json!({"event_id": closing, "reason": "a late correction"}),
    );
    s.ok("d1", "roster_filed", later, roster(D1, &[1], true));
    let f = s.figures("p22", later);
    assert!(f.closed.is_none());
    assert_eq!(f.reopened, vec![closing]);
}
