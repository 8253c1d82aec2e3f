//! Findings (审计发现): what an auditor would otherwise find by reading
//! tables, computed from a program's records as of an instant. Each has a
//! stable code, a severity, its district, one sentence in Chinese and in
//! English, and the evidence: the seqs and event ids of the records that
//! prove it, so anyone can check it against the chain. docs/audit.md
//! specifies every code.
//!
//! The input is the program's records in seq order ([`Findings::add`]);
//! a record reversed by an `event_reversed` in force counts for nothing
//! (and is itself a finding, `EVENT_REVERSED`). Pure: no clock — the
//! instant deadlines are judged at is given.

use crate::body::Body;
use crate::ids::{Hash32, Timestamp};
use crate::ledger::StoredRecord;
use crate::money::Money;
use crate::projection::due_end;
use chrono::{FixedOffset, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

mod claims;
mod scores;
mod settlements;

pub use scores::{audited, counted, SCORE_CONTRADICTION_POINTS};

use claims::double_claims;
use settlements::{offset_findings, refiled_settlements, reversal_findings};

/// A filing recorded more than this after its own `at` is backdated (the
/// documented default; `program_opened.findings.backdated_after_hours`).
pub const BACKDATED_AFTER_HOURS: i64 = 24;

/// A district's cost per trainee more than this many times the program's
/// median is an outlier (the documented default;
/// `program_opened.findings.cost_per_trainee_factor`).
pub const COST_PER_TRAINEE_FACTOR: &str = "2.00";

/// A record a finding rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Its seq.
    pub seq: u64,
    /// Its event's id.
    pub event_id: String,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code, e.g. `SPENT_OVER_ALLOCATION`.
    pub code: &'static str,
    /// `high`, `medium`, `low` or `info`.
    pub severity: &'static str,
    /// The district, if it is one district's.
    pub district: Option<String>,
    /// One sentence, Chinese.
    pub zh: String,
    /// One sentence, English.
    pub en: String,
    /// The records that prove it, in seq order.
    pub evidence: Vec<Evidence>,
}

/// A record of the program, as findings need it.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
struct Fact {
    seq: u64,
    id: String,
    actor: String,
    at: Timestamp,
    recorded_at: Timestamp,
    body: Body,
}

impl Fact {
    fn evidence(&self) -> Evidence {
        Evidence {
            seq: self.seq,
            event_id: self.id.clone(),
        }
    }
}

/// The records of one program, gathered in seq order (a snapshot of the
/// books keeps them, so a report need not read them back).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Findings {
    program: String,
    facts: Vec<Fact>,
    /// Other programs' openings and allocations (the next year's, for
    /// `SURPLUS_NOT_OFFSET`).
    others: Vec<Fact>,
}

/// One district's records in force.
#[derive(Default)]
struct District<'a> {
    allocations: Vec<&'a Fact>,
    spending: Vec<&'a Fact>,
    rosters: Vec<&'a Fact>,
    reports: Vec<&'a Fact>,
}

fn sorted(mut evidence: Vec<Evidence>) -> Vec<Evidence> {
    evidence.sort_by_key(|e| e.seq);
    evidence.dedup();
    evidence
}

impl Findings {
    /// Findings of `program`.
    pub fn new(program: &str) -> Findings {
        Findings {
            program: program.to_string(),
            facts: Vec::new(),
            others: Vec::new(),
        }
    }

    /// The program whose findings these are.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Where a record goes: the program's own records and every reversal
    /// (`Some(true)`), other programs' openings and allocations
    /// (`Some(false)`), or nowhere.
    fn place(&self, record: &StoredRecord) -> Option<bool> {
        let body = &record.event.body;
        record.seq?;
        if body.program() == Some(self.program.as_str()) || matches!(body, Body::EventReversed(_)) {
            Some(true)
        } else if matches!(body, Body::ProgramOpened(_) | Body::AllocationMade(_)) {
            Some(false)
        } else {
            None
        }
    }

    /// [`Findings::add`], taking the record instead of cloning its body.
    pub fn add_owned(&mut self, record: StoredRecord) {
        let Some(ours) = self.place(&record) else {
            return;
        };
        let mut event = record.event;
        // No finding reads a trainee's masked name: not kept (a snapshot's
        // findings section is then a third smaller to read).
        if let Body::RosterFiled(roster) = &mut event.body {
            for trainee in &mut roster.trainees {
                trainee.name_masked = String::new();
            }
        }
        let fact = Fact {
            seq: record.seq.unwrap_or_default(),
            id: event.id,
            actor: event.actor,
            at: event.at,
            recorded_at: record.recorded_at,
            body: event.body,
        };
        if ours {
            self.facts.push(fact);
        } else {
            self.others.push(fact);
        }
    }

    /// Takes a record (in seq order): one of the program's, or a reversal.
    pub fn add(&mut self, record: &StoredRecord) {
        if self.place(record).is_some() {
            self.add_owned(record.clone());
        }
    }

    /// The allocations of programs of fiscal year `year + 1` recorded by `as_of`.
    fn next_year_allocations(&self, year: i32, as_of: Timestamp) -> Vec<&Fact> {
        let next: BTreeSet<&str> = self
            .others
            .iter()
            .filter(|f| f.recorded_at <= as_of)
            .filter_map(|f| match &f.body {
                Body::ProgramOpened(p) if p.fiscal_year == year + 1 => Some(p.program.as_str()),
                _ => None,
            })
            .collect();
        self.others
            .iter()
            .filter(|f| f.recorded_at <= as_of)
            .filter(
                |f| matches!(&f.body, Body::AllocationMade(a) if next.contains(a.program.as_str())),
            )
            .collect()
    }

    /// The records recorded by `as_of`, the reversals among them that
    /// count, and the program's records in force.
    #[allow(clippy::type_complexity)]
    fn as_of<'a>(&'a self, as_of: Timestamp) -> (Vec<&'a Fact>, Vec<&'a Fact>, Vec<&'a Fact>) {
        let facts: Vec<&Fact> = self
            .facts
            .iter()
            .filter(|f| f.recorded_at <= as_of)
            .collect();
        let ids: HashSet<&str> = facts
            .iter()
            .filter(|f| !matches!(f.body, Body::EventReversed(_)))
            .map(|f| f.id.as_str())
            .collect();
        // Reversals of this program's events; a reversal itself reversed does not count.
        let reversal_target = |f: &'a Fact| match &f.body {
            Body::EventReversed(r) => Some(r.event_id.as_str()),
            _ => None,
        };
        let reversed_reversals: HashSet<&str> =
            facts.iter().filter_map(|f| reversal_target(f)).collect();
        let reversals: Vec<&Fact> = facts
            .iter()
            .copied()
            .filter(|f| {
                reversal_target(f).is_some_and(|t| ids.contains(t))
                    && !reversed_reversals.contains(f.id.as_str())
            })
            .collect();
        let reversed: HashSet<&str> = reversals
            .iter()
            .filter_map(|f| reversal_target(f))
            .collect();
        let in_force: Vec<&Fact> = facts
            .iter()
            .copied()
            .filter(|f| {
                !matches!(f.body, Body::EventReversed(_)) && !reversed.contains(f.id.as_str())
            })
            .collect();
        (facts, reversals, in_force)
    }

    /// The findings as of `as_of` (records recorded after it are ignored),
    /// deadlines judged in the ledger's `offset`.
    /// Hand scores are checked against `evaluation`'s cross-checks when given.
    pub fn finish(
        &self,
        as_of: Timestamp,
        offset: FixedOffset,
        evaluation: Option<&crate::projection::EvaluationFigures>,
    ) -> Vec<Finding> {
        self.unscored(as_of, offset).scored(evaluation)
    }

    /// Every finding but the hand scores' (which need the figures'
    /// evaluation): what can be found while the figures are computed.
    pub fn unscored(&self, as_of: Timestamp, offset: FixedOffset) -> Unscored<'_> {
        let (facts, reversals, in_force) = self.as_of(as_of);
        let mut out = Vec::new();
        let Some(opened) = in_force
            .iter()
            .find(|f| matches!(f.body, Body::ProgramOpened(_)))
        else {
            return Unscored {
                out,
                in_force,
                score_contradiction_points: None,
            };
        };
        let Body::ProgramOpened(program) = &opened.body else {
            unreachable!()
        };
        // Gathered by code (no text key made per record), then keyed by
        // the code's text, in the same order.
        let mut by_code: BTreeMap<crate::ids::DistrictCode, District> = program
            .districts
            .iter()
            .map(|d| (d.code, District::default()))
            .collect();
        for fact in &in_force {
            let code = match &fact.body {
                Body::AllocationMade(b) => b.district_code,
                Body::ExpenditureReported(b) => b.district_code,
                Body::RosterFiled(b) => b.district_code,
                Body::FundUseReported(b) => b.district_code,
                _ => continue,
            };
            let district = by_code.entry(code).or_default();
            match &fact.body {
                Body::AllocationMade(_) => district.allocations.push(fact),
                Body::ExpenditureReported(_) => district.spending.push(fact),
                Body::RosterFiled(_) => district.rosters.push(fact),
                _ => district.reports.push(fact),
            }
        }
        let districts: BTreeMap<String, District> = by_code
            .into_iter()
            .map(|(code, district)| (code.to_string(), district))
            .collect();
        let names: HashMap<&str, &str> = program
            .districts
            .iter()
            .map(|d| (d.code.as_str(), d.name.as_str()))
            .collect();
        let name = |code: &str| names.get(code).map_or(code, |n| *n).to_string();
        let parse_due = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        let ledger_due =
            parse_due(&program.deadlines.training_ledger_due_local).map(|d| due_end(d, offset));
        let report_due =
            parse_due(&program.deadlines.fund_use_report_due_local).map(|d| due_end(d, offset));
        for (code, district) in &districts {
            let name = name(code);
            money_findings(&mut out, code, &name, district, program.fiscal_year, offset);
            roster_findings(&mut out, code, &name, district);
            deadline_findings(
                &mut out, code, &name, district, opened, ledger_due, report_due, as_of,
            );
        }
        double_claims(&mut out, &districts, &name);
        let thresholds = program.findings.clone().unwrap_or_default();
        let factor = thresholds
            .cost_per_trainee_factor
            .as_deref()
            .unwrap_or(COST_PER_TRAINEE_FACTOR)
            .parse::<rust_decimal::Decimal>()
            .unwrap_or(rust_decimal::Decimal::TWO);
        let standard = program.targets.cost_per_trainee_max_cny;
        cost_outliers(&mut out, &districts, &name, factor, standard);
        let next_year: Vec<&Fact> = self.next_year_allocations(program.fiscal_year, as_of);
        offset_findings(&mut out, &in_force, &next_year, &name);
        refiled_settlements(&mut out, &facts, &reversals, &in_force, &name);
        let backdated_after = thresholds
            .backdated_after_hours
            .map_or(BACKDATED_AFTER_HOURS, i64::from);
        for fact in &in_force {
            backdated(&mut out, fact, backdated_after);
        }
        reversal_findings(&mut out, &facts, &reversals);
        Unscored {
            out,
            in_force,
            score_contradiction_points: Some(
                thresholds
                    .score_contradiction_points
                    .unwrap_or(SCORE_CONTRADICTION_POINTS),
            ),
        }
    }
}

/// [`Findings::unscored`]: the findings found without the evaluation.
pub struct Unscored<'a> {
    out: Vec<Finding>,
    in_force: Vec<&'a Fact>,
    /// `None` when the program is not open.
    score_contradiction_points: Option<u32>,
}

impl Unscored<'_> {
    /// Every finding, hand scores checked against `evaluation`'s
    /// cross-checks when given, in evidence order.
    pub fn scored(self, evaluation: Option<&crate::projection::EvaluationFigures>) -> Vec<Finding> {
        let Unscored {
            mut out,
            in_force,
            score_contradiction_points,
        } = self;
        let Some(points) = score_contradiction_points else {
            return out;
        };
        if let Some(evaluation) = evaluation {
            scores::score_contradictions(&mut out, &in_force, evaluation, points);
        }
        out.sort_by(|a, b| {
            let first = |f: &Finding| f.evidence.first().map_or(0, |e| e.seq);
            (first(a), a.code).cmp(&(first(b), b.code))
        });
        out
    }
}

fn amount(fact: &Fact) -> Money {
    match &fact.body {
        Body::AllocationMade(b) => b.amount_cny,
        Body::ExpenditureReported(b) => b.amount_cny,
        _ => Money::ZERO,
    }
}

fn money_findings(
    out: &mut Vec<Finding>,
    code: &str,
    name: &str,
    d: &District,
    year: i32,
    offset: FixedOffset,
) {
    let allocated = d
        .allocations
        .iter()
        .map(|f| amount(f))
        .fold(Money::ZERO, |a, b| a + b);
    let spent = d
        .spending
        .iter()
        .map(|f| amount(f))
        .fold(Money::ZERO, |a, b| a + b);
    if spent > allocated {
        let over = spent - allocated;
        out.push(Finding {
            code: "SPENT_OVER_ALLOCATION",
            severity: "high",
            district: Some(code.to_string()),
            zh: format!("{name}（{code}）支出 {spent} 元，超过预拨资金 {allocated} 元，超支 {over} 元"),
            en: format!("district {code} spent {spent} CNY, {over} more than its pre-allocation of {allocated}"),
            evidence: sorted(d.allocations.iter().chain(&d.spending).map(|f| f.evidence()).collect()),
        });
    }
    let year_end = due_end(
        NaiveDate::from_ymd_opt(year, 12, 31).expect("a date"),
        offset,
    );
    for fact in &d.spending {
        if fact.at > year_end {
            out.push(Finding {
                code: "SPENDING_AFTER_YEAR",
                severity: "medium",
                district: Some(code.to_string()),
                zh: format!(
                    "{name}（{code}）的支出 {} 发生于 {}，在 {year} 年度结束之后",
                    fact.id, fact.at
                ),
                en: format!(
                    "district {code}'s spending {} is dated {}, after fiscal year {year} ended",
                    fact.id, fact.at
                ),
                evidence: vec![fact.evidence()],
            });
        }
    }
    // One finding per district, naming every line: a sheet of line items
    // without roster references would otherwise give one finding a line.
    let unlinked: Vec<&&Fact> = d
        .spending
        .iter()
        .filter(|f| matches!(&f.body, Body::ExpenditureReported(b) if b.roster_event_id.is_none()))
        .collect();
    if !unlinked.is_empty() {
        let total = unlinked
            .iter()
            .map(|f| amount(f))
            .fold(Money::ZERO, |a, b| a + b);
        let n = unlinked.len();
        out.push(Finding {
            code: "SPENDING_WITHOUT_ROSTER",
            severity: "low",
            district: Some(code.to_string()),
            zh: format!("{name}（{code}）有 {n} 笔支出（共 {total} 元）未注明对应的培训台账"),
            en: format!("district {code} has {n} spending line(s), {total} CNY in all, that name no roster they paid for"),
            evidence: sorted(unlinked.iter().map(|f| f.evidence()).collect()),
        });
    }
}

fn people(fact: &Fact) -> Vec<Hash32> {
    match &fact.body {
        Body::RosterFiled(b) => b.trainees.iter().map(|t| t.person_digest).collect(),
        _ => Vec::new(),
    }
}

fn roster_findings(out: &mut Vec<Finding>, code: &str, name: &str, d: &District) {
    for fact in &d.rosters {
        let Body::RosterFiled(b) = &fact.body else {
            continue;
        };
        let missing: Vec<&str> = b
            .documents
            .iter()
            .filter(|(_, digest)| digest.is_none())
            .map(|(doc, _)| doc.as_str())
            .collect();
        if !missing.is_empty() || b.documents.len() < 7 {
            out.push(Finding {
                code: "ROSTER_DOCUMENTS_MISSING",
                severity: "medium",
                district: Some(code.to_string()),
                zh: format!(
                    "{name}（{code}）台账 {} 缺少资料：{}",
                    fact.id,
                    missing.join("、")
                ),
                en: format!(
                    "district {code}'s roster {} lacks documents: {}",
                    fact.id,
                    missing.join(", ")
                ),
                evidence: vec![fact.evidence()],
            });
        }
        let unsigned = b.trainees.iter().filter(|t| !t.signed).count();
        if unsigned > 0 {
            out.push(Finding {
                code: "ROSTER_UNSIGNED_TRAINEES",
                severity: "medium",
                district: Some(code.to_string()),
                zh: format!(
                    "{name}（{code}）台账 {} 中有 {unsigned} 名学员未签字按印",
                    fact.id
                ),
                en: format!(
                    "district {code}'s roster {} lists {unsigned} trainee(s) who did not sign",
                    fact.id
                ),
                evidence: vec![fact.evidence()],
            });
        }
    }
    let rostered: BTreeSet<Hash32> = d.rosters.iter().flat_map(|f| people(f)).collect();
    if let Some(report) = d.reports.iter().max_by_key(|f| f.seq) {
        let Body::FundUseReported(b) = &report.body else {
            return;
        };
        if b.trainees_reported > rostered.len() as u64 {
            let mut evidence = vec![report.evidence()];
            evidence.extend(d.rosters.iter().map(|f| f.evidence()));
            out.push(Finding {
                code: "CLAIMED_OVER_ROSTERED",
                severity: "high",
                district: Some(code.to_string()),
                zh: format!(
                    "{name}（{code}）资金使用报告称培训 {} 人，但台账只列出 {} 人",
                    b.trainees_reported,
                    rostered.len()
                ),
                en: format!(
                    "district {code} reports {} trainees but its rosters list {} distinct people",
                    b.trainees_reported,
                    rostered.len()
                ),
                evidence: sorted(evidence),
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn deadline_findings(
    out: &mut Vec<Finding>,
    code: &str,
    name: &str,
    d: &District,
    opened: &Fact,
    ledger_due: Option<Timestamp>,
    report_due: Option<Timestamp>,
    as_of: Timestamp,
) {
    for (filings, due, what_zh, what_en, late_code, missing_code) in [
        (
            &d.rosters,
            ledger_due,
            "培训台账",
            "training ledger",
            "TRAINING_LEDGER_LATE",
            "TRAINING_LEDGER_MISSING",
        ),
        (
            &d.reports,
            report_due,
            "资金使用报告",
            "fund-use report",
            "FUND_USE_REPORT_LATE",
            "FUND_USE_REPORT_MISSING",
        ),
    ] {
        let Some(due) = due else { continue };
        if filings.is_empty() {
            if as_of > due {
                out.push(Finding {
                    code: missing_code,
                    severity: "medium",
                    district: Some(code.to_string()),
                    zh: format!(
                        "{name}（{code}）截至 {as_of} 未报送{what_zh}（应于 {due} 前报送）"
                    ),
                    en: format!("district {code} has filed no {what_en} by {as_of} (due by {due})"),
                    evidence: vec![opened.evidence()],
                });
            }
            continue;
        }
        for fact in filings.iter().filter(|f| f.recorded_at > due) {
            let days = (fact.recorded_at.datetime() - due.datetime()).num_days() + 1;
            out.push(Finding {
                code: late_code,
                severity: "medium",
                district: Some(code.to_string()),
                zh: format!(
                    "{name}（{code}）的{what_zh} {} 于 {} 报送，逾期 {days} 天",
                    fact.id, fact.recorded_at
                ),
                en: format!(
                    "district {code}'s {what_en} {} was recorded at {}, {days} day(s) late",
                    fact.id, fact.recorded_at
                ),
                evidence: vec![opened.evidence(), fact.evidence()],
            });
        }
    }
}

/// Surpluses and deficits carried into the next year (次年抵补): a settled
/// surplus not offset by the time the next year's program pre-allocated to
/// the district, and every deficit offset.
/// A district's cost per trainee: spent ÷ distinct people who signed its
/// rosters (districts with no spending or no such people have none).
fn cost_per_trainee(d: &District) -> Option<rust_decimal::Decimal> {
    let spent = d
        .spending
        .iter()
        .map(|f| amount(f))
        .fold(Money::ZERO, |a, b| a + b);
    let trained: crate::ids::DigestSet = d
        .rosters
        .iter()
        .flat_map(|f| match &f.body {
            Body::RosterFiled(b) => b
                .trainees
                .iter()
                .filter(|t| t.signed)
                .map(|t| t.person_digest)
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    (spent > Money::ZERO && !trained.is_empty())
        .then(|| spent.decimal() / rust_decimal::Decimal::from(trained.len() as u64))
}

fn cost_outliers(
    out: &mut Vec<Finding>,
    districts: &BTreeMap<String, District>,
    name: &dyn Fn(&str) -> String,
    factor: rust_decimal::Decimal,
    standard: Option<Money>,
) {
    let costs: Vec<(&String, rust_decimal::Decimal)> = districts
        .iter()
        .filter_map(|(code, d)| Some((code, cost_per_trainee(d)?)))
        .collect();
    if costs.len() < 3 {
        return; // no median worth comparing with
    }
    let mut sorted_costs: Vec<rust_decimal::Decimal> = costs.iter().map(|(_, c)| *c).collect();
    sorted_costs.sort();
    let n = sorted_costs.len();
    let median = if n % 2 == 1 {
        sorted_costs[n / 2]
    } else {
        (sorted_costs[n / 2 - 1] + sorted_costs[n / 2]) / rust_decimal::Decimal::TWO
    };
    let round = |d: rust_decimal::Decimal| {
        d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    for (code, cost) in costs {
        let above_standard = standard.map_or(true, |s| cost > s.decimal());
        if cost > median * factor && above_standard {
            let d = &districts[code];
            let standard_text =
                standard.map_or(String::new(), |s| format!("; the standard is {s}"));
            out.push(Finding {
                code: "COST_PER_TRAINEE_OUTLIER",
                severity: "medium",
                district: Some(code.clone()),
                zh: format!(
                    "{}（{code}）人均培训成本 {} 元，超过全项目中位数 {} 元的 {factor} 倍{}",
                    name(code),
                    round(cost),
                    round(median),
                    standard.map_or(String::new(), |s| format!("，且高于成本标准 {s} 元"))
                ),
                en: format!(
                    "district {code}'s cost per trainee is {} CNY, more than {factor} times the program's median of {}{standard_text}",
                    round(cost),
                    round(median)
                ),
                evidence: sorted(d.spending.iter().chain(&d.rosters).map(|f| f.evidence()).collect()),
            });
        }
    }
}

fn backdated(out: &mut Vec<Finding>, fact: &Fact, after_hours: i64) {
    let district = match &fact.body {
        Body::RosterFiled(b) => b.district_code.to_string(),
        Body::FundUseReported(b) => b.district_code.to_string(),
        Body::ExpenditureReported(b) => b.district_code.to_string(),
        Body::SettlementFiled(b) => b.district_code.to_string(),
        _ => return,
    };
    let lag = fact.recorded_at.datetime() - fact.at.datetime();
    if lag.num_hours() > after_hours {
        let days = lag.num_days();
        out.push(Finding {
            code: "FILING_BACKDATED",
            severity: "low",
            district: Some(district.clone()),
            zh: format!(
                "{} 的日期为 {}，但 {} 才记入账本（倒签 {days} 天）",
                fact.id, fact.at, fact.recorded_at
            ),
            en: format!(
                "{} is dated {} but was recorded at {}, {days} day(s) later",
                fact.id, fact.at, fact.recorded_at
            ),
            evidence: vec![fact.evidence()],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_in_seq_order_once() {
        let e = |seq| Evidence {
            seq,
            event_id: format!("e{seq}"),
        };
        assert_eq!(sorted(vec![e(3), e(1), e(3)]), vec![e(1), e(3)]);
    }
}
