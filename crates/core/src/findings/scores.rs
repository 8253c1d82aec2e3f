//! Findings and the evaluation: hand scores that contradict the figure
//! they should agree with, and the one composition of figures and
//! findings every report uses ([`audited`]).

use super::{Fact, Finding, Findings};
use crate::body::Body;
use crate::books::Books;
use crate::ids::Timestamp;
use crate::projection::{
    program_figures, with_findings, EvaluationFigures, IndicatorFigures, ProgramFigures,
};
use chrono::FixedOffset;
use rust_decimal::Decimal;

/// A hand score contradicts its cross-check when their score rates differ
/// by more than this many percentage points (the documented default;
/// `program_opened.findings.score_contradiction_points`).
pub const SCORE_CONTRADICTION_POINTS: u32 = 10;

/// The findings an `audit_findings` leaf deducts for: high and medium.
pub fn counted(findings: &[Finding]) -> u64 {
    findings
        .iter()
        .filter(|f| matches!(f.severity, "high" | "medium"))
        .count() as u64
}

/// A program's figures and findings as of `as_of`: the figures, the
/// findings (hand scores checked against the figures' evaluation), then the
/// evaluation scored again with the findings counted. `None` when the
/// program is not open at `as_of`.
pub fn audited(
    books: &Books,
    findings: &Findings,
    program: &str,
    offset: FixedOffset,
    as_of: Timestamp,
) -> Option<(ProgramFigures, Vec<Finding>)> {
    // The figures and most findings are independent: one core each.
    let (figures, unscored) = std::thread::scope(|scope| {
        let unscored = scope.spawn(|| findings.unscored(as_of, offset));
        let figures = program_figures(books, program, offset, as_of);
        (figures, unscored.join().expect("finding does not panic"))
    });
    let figures = figures?;
    let list = unscored.scored(figures.evaluation.as_ref());
    let figures = with_findings(books, figures, counted(&list));
    Some((figures, list))
}

/// `SCORE_CONTRADICTS_MEASURE`: each hand-scored leaf with a cross-check
/// whose score rate is more than `points` percentage points from the
/// cross-check's.
pub(super) fn score_contradictions(
    out: &mut Vec<Finding>,
    in_force: &[&Fact],
    evaluation: &EvaluationFigures,
    points: u32,
) {
    fn leaves<'a>(nodes: &'a [IndicatorFigures], into: &mut Vec<&'a IndicatorFigures>) {
        for node in nodes {
            if node.children.is_empty() {
                into.push(node);
            }
            leaves(&node.children, into);
        }
    }
    let mut all = Vec::new();
    leaves(&evaluation.indicators, &mut all);
    for leaf in all {
        let (Some(check), Some(rate)) = (&leaf.cross_check, leaf.score_rate_percent) else {
            continue;
        };
        if leaf.basis != "judged" {
            continue;
        }
        let Some(derived) = check.score_rate_percent else {
            continue;
        };
        let gap = (rate.0 - derived.0).abs();
        if gap <= Decimal::from(points) {
            continue;
        }
        let scored = in_force
            .iter()
            .filter(|f| matches!(&f.body, Body::IndicatorScored(s) if s.indicator == leaf.code))
            .max_by_key(|f| f.seq);
        let Some(scored) = scored else { continue };
        out.push(Finding {
            code: "SCORE_CONTRADICTS_MEASURE",
            severity: "medium",
            district: None,
            zh: format!(
                "指标 {} {} 人工评分 {} 分（得分率 {}%），而账本数据 {}（{}）对应得分率 {}%，相差超过 {points} 个百分点",
                leaf.code, leaf.name, leaf.score, rate, check.measure, check.note, derived
            ),
            en: format!(
                "indicator {} ({}) was scored {} by hand ({}%), but the ledger's {} ({}) gives {}%: more than {points} points apart",
                leaf.code, leaf.name, leaf.score, rate, check.measure, check.note, derived
            ),
            evidence: vec![scored.evidence()],
        });
    }
}
