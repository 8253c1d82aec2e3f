//! The performance evaluation (绩效评价): the indicator tree, with the
//! leaves that follow from ledger facts scored from the figures and the
//! others as the evaluation group scored them.

use super::{percent, Fixed2, ProgramFigures};
use crate::body::{Indicator, Measure};
use crate::books::{parse_score, ProgramBooks};
use crate::money::fixed;
use rust_decimal::Decimal;
use serde::Serialize;

/// One indicator's score.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorFigures {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level, 1–4.
    pub level: usize,
    /// Full marks.
    pub weight: Fixed2,
    /// Score.
    pub score: Fixed2,
    /// weight − score (扣分).
    pub deduction: Fixed2,
    /// score ÷ weight, in percent (得分率).
    pub score_rate_percent: Option<Fixed2>,
    /// How a leaf was scored: a measure, `judged`, or `not_scored`.
    pub basis: String,
    /// The measured figure or the evaluators' rationale.
    pub note: String,
    /// For a leaf scored by hand with a `cross_check`: what the figure it
    /// should agree with would give.
    pub cross_check: Option<CrossCheckFigures>,
    /// Sub-indicators.
    pub children: Vec<IndicatorFigures>,
}

/// What a hand-scored leaf's cross-check measure gives.
#[derive(Clone, Debug, Serialize)]
pub struct CrossCheckFigures {
    /// The measure.
    pub measure: String,
    /// The score it would give.
    pub score: Fixed2,
    /// That score ÷ the weight, in percent.
    pub score_rate_percent: Option<Fixed2>,
    /// The measured figure.
    pub note: String,
}

/// The evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvaluationFigures {
    /// Level-1 indicators with their subtrees.
    pub indicators: Vec<IndicatorFigures>,
    /// Total weight (100).
    pub weight: Fixed2,
    /// Total score.
    pub score: Fixed2,
    /// Total deduction.
    pub deduction: Fixed2,
    /// Grade: 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, else 差 (财预〔2020〕10号); none
    /// while any points are open.
    pub grade: Option<&'static str>,
    /// The grade in English.
    pub grade_en: Option<&'static str>,
    /// Judged leaves not yet scored.
    pub unscored: Vec<String>,
    /// Derived leaves whose facts are not yet due (timeliness before any
    /// deadline, satisfaction before a survey, outputs before the fiscal
    /// year ends): shown, not scored.
    pub not_due: Vec<String>,
    /// The weight of the unscored and not-yet-due leaves: points still open.
    pub open_points: Fixed2,
}

impl EvaluationFigures {
    /// The grade and its English name, or how many points are still open.
    pub fn grade_label(&self, zh: bool) -> String {
        match (self.grade, self.grade_en, zh) {
            (Some(grade), _, true) => grade.to_string(),
            (Some(grade), Some(en), false) => format!("{grade} ({en})"),
            (_, _, true) => format!("待定（尚有 {} 分未评或未到期）", self.open_points),
            (_, _, false) => format!(
                "none yet ({} points not yet scored or not yet due)",
                self.open_points
            ),
        }
    }
}

/// The grade bands of 财预〔2020〕10号.
pub fn grade(score: Decimal) -> (&'static str, &'static str) {
    let score = Decimal::from_str_exact(&fixed(score, 2)).unwrap_or(score);
    if score >= Decimal::from(90) {
        ("优", "excellent")
    } else if score >= Decimal::from(80) {
        ("良", "good")
    } else if score >= Decimal::from(60) {
        ("中", "fair")
    } else {
        ("差", "poor")
    }
}

pub(super) fn evaluate(
    indicators: &[Indicator],
    p: &ProgramBooks,
    figures: &ProgramFigures,
) -> EvaluationFigures {
    let mut open = Open::default();
    let nodes: Vec<IndicatorFigures> = indicators
        .iter()
        .map(|i| score_node(i, 1, p, figures, &mut open))
        .collect();
    let weight: Decimal = nodes.iter().map(|n| n.weight.0).sum();
    let score: Decimal = nodes.iter().map(|n| n.score.0).sum();
    let (grade, grade_en) = match open.points.is_zero() {
        true => {
            let (zh, en) = grade(score);
            (Some(zh), Some(en))
        }
        false => (None, None),
    };
    EvaluationFigures {
        indicators: nodes,
        weight: Fixed2(weight),
        score: Fixed2(score),
        deduction: Fixed2(weight - score),
        grade,
        grade_en,
        unscored: open.unscored,
        not_due: open.not_due,
        open_points: Fixed2(open.points),
    }
}

/// Full marks when met, proportional when not, capped at the weight; rounded to the fen of a point.
fn proportional(weight: Decimal, ratio: Decimal) -> Decimal {
    let capped = ratio.clamp(Decimal::ZERO, Decimal::ONE);
    Decimal::from_str_exact(&fixed(weight * capped, 2)).unwrap_or_default()
}

/// The leaves that hold the grade back.
#[derive(Default)]
struct Open {
    unscored: Vec<String>,
    not_due: Vec<String>,
    points: Decimal,
}

/// Why a derived leaf is not yet due at the figures' instant, if it is not.
fn not_yet_due(measure: Measure, f: &ProgramFigures) -> Option<&'static str> {
    use chrono::Datelike;
    let year_over = f.as_of.datetime().date_naive().year() > f.fiscal_year;
    match measure {
        Measure::Timeliness if f.outputs.deadlines_passed == 0 => {
            Some("no deadline has passed yet")
        }
        Measure::SatisfactionAgainstTarget if f.outputs.satisfaction.is_none() => {
            Some("no survey recorded yet")
        }
        Measure::TraineesAgainstTarget | Measure::CostPerTrainee if !year_over => {
            Some("the fiscal year is not over")
        }
        Measure::AuditFindings if f.findings_counted.is_none() => {
            Some("the findings are not computed here")
        }
        _ => None,
    }
}

fn score_leaf(
    measure: Measure,
    weight: Decimal,
    p: &ProgramBooks,
    f: &ProgramFigures,
) -> (Decimal, String) {
    let o = &f.outputs;
    match measure {
        Measure::AuditFindings => {
            let counted = f.findings_counted.unwrap_or(0);
            let per = p
                .opened
                .findings
                .as_ref()
                .and_then(|t| t.deduction_per_finding.as_deref())
                .and_then(parse_score)
                .unwrap_or(Decimal::ONE);
            let score = (weight - per * Decimal::from(counted)).max(Decimal::ZERO);
            (
                score,
                format!("{counted} high or medium finding(s), {per} point(s) each"),
            )
        }
        Measure::ExecutionRate => match f.execution_rate_percent {
            Some(rate) => (
                proportional(weight, rate.0 / Decimal::from(100)),
                format!("支出率 execution rate {rate}% (target 100.00%)"),
            ),
            None => (Decimal::ZERO, "no budget approved".to_string()),
        },
        Measure::TraineesAgainstTarget => {
            let ratio = if o.trainees_target == 0 {
                Decimal::ONE
            } else {
                Decimal::from(o.trainees) / Decimal::from(o.trainees_target)
            };
            (
                proportional(weight, ratio),
                format!(
                    "trainees {} against target {}",
                    o.trainees, o.trainees_target
                ),
            )
        }
        Measure::Timeliness => {
            let ratio = if o.deadlines_due == 0 {
                Decimal::ONE
            } else {
                Decimal::from(o.deadlines_on_time) / Decimal::from(o.deadlines_due)
            };
            (
                proportional(weight, ratio),
                format!(
                    "{} of {} district deadlines met on time",
                    o.deadlines_on_time, o.deadlines_due
                ),
            )
        }
        Measure::SatisfactionAgainstTarget => match o.satisfaction {
            Some(s) if !o.satisfaction_target.0.is_zero() => (
                proportional(
                    weight,
                    Decimal::from_str_exact(&s.text()).unwrap_or(s.0) / o.satisfaction_target.0,
                ),
                format!("satisfaction {s} against target {}", o.satisfaction_target),
            ),
            Some(s) => (weight, format!("satisfaction {s}; no target")),
            None => (Decimal::ZERO, "no survey recorded".to_string()),
        },
        Measure::CostPerTrainee => match (o.cost_per_trainee_cny, o.cost_per_trainee_max_cny) {
            (Some(cost), Some(max)) if cost.is_positive() => (
                proportional(weight, max.decimal() / cost.decimal()),
                format!("cost per trainee {cost} CNY against a standard of {max}"),
            ),
            (Some(cost), None) => (
                Decimal::ZERO,
                format!("cost per trainee {cost} CNY; the program declares no standard"),
            ),
            _ => (Decimal::ZERO, "no trainees or no spending".to_string()),
        },
    }
}

fn score_node(
    node: &Indicator,
    level: usize,
    p: &ProgramBooks,
    f: &ProgramFigures,
    open: &mut Open,
) -> IndicatorFigures {
    let weight = parse_score(&node.weight).unwrap_or_default();
    let (score, basis, note, children) = if !node.children.is_empty() {
        let children: Vec<IndicatorFigures> = node
            .children
            .iter()
            .map(|c| score_node(c, level + 1, p, f, open))
            .collect();
        let score = children.iter().map(|c| c.score.0).sum();
        (score, "sum".to_string(), String::new(), children)
    } else if let Some(why) = node.measure.and_then(|m| not_yet_due(m, f)) {
        open.not_due.push(node.code.clone());
        open.points += weight;
        (
            Decimal::ZERO,
            "not_due".to_string(),
            format!("未到期 not yet due: {why}"),
            Vec::new(),
        )
    } else if let Some(measure) = node.measure {
        let (score, note) = score_leaf(measure, weight, p, f);
        (
            score,
            crate::books::measure_name(measure).to_string(),
            note,
            Vec::new(),
        )
    } else if let Some(s) = p.scores.get(&node.code) {
        (
            s.score,
            "judged".to_string(),
            s.rationale.clone(),
            Vec::new(),
        )
    } else {
        open.unscored.push(node.code.clone());
        open.points += weight;
        (
            Decimal::ZERO,
            "not_scored".to_string(),
            String::new(),
            Vec::new(),
        )
    };
    IndicatorFigures {
        code: node.code.clone(),
        name: node.name.clone(),
        level,
        weight: Fixed2(weight),
        score: Fixed2(score),
        deduction: Fixed2(weight - score),
        score_rate_percent: percent(score, weight),
        basis,
        note,
        cross_check: node
            .cross_check
            .filter(|m| node.measure.is_none() && not_yet_due(*m, f).is_none())
            .map(|m| {
                let (score, note) = score_leaf(m, weight, p, f);
                CrossCheckFigures {
                    measure: crate::books::measure_name(m).to_string(),
                    score: Fixed2(score),
                    score_rate_percent: percent(score, weight),
                    note,
                }
            }),
        children,
    }
}
