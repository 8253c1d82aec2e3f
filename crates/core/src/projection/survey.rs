//! The satisfaction survey, scored as the seed scores it: question score =
//! Σ count × points ÷ respondents; the total is the sum of the exact
//! question scores, rounded once.

use super::Fixed2;
use rust_decimal::Decimal;
use serde::Serialize;

/// One option's column of a survey question.
#[derive(Clone, Debug, Serialize)]
pub struct OptionFigures {
    /// Option code.
    pub code: String,
    /// Label.
    pub label: String,
    /// Respondents choosing it.
    pub count: u64,
    /// count ÷ respondents, in percent (占比).
    pub share_percent: Fixed2,
    /// count × points ÷ respondents (分数).
    pub score: Fixed2,
}

/// One question's scores.
#[derive(Clone, Debug, Serialize)]
pub struct QuestionFigures {
    /// Number.
    pub number: u32,
    /// Text.
    pub text: String,
    /// Per option.
    pub options: Vec<OptionFigures>,
    /// Σ count × points ÷ respondents.
    pub score: Fixed2,
}

/// A survey's scores.
#[derive(Clone, Debug, Serialize)]
pub struct SurveyFigures {
    /// Survey id.
    pub survey: String,
    /// Title.
    pub title: String,
    /// Respondents.
    pub respondents: u64,
    /// Per question.
    pub questions: Vec<QuestionFigures>,
    /// All questions together, per option (the 合计 row).
    pub totals: Vec<OptionFigures>,
    /// The total: the sum of exact question scores, scaled to 100 points, rounded once.
    pub score: Fixed2,
}

/// Scores a survey body.
pub fn survey_figures(survey: &crate::body::SurveyRecorded) -> SurveyFigures {
    let respondents = Decimal::from(survey.respondents);
    let hundred = Decimal::from(100);
    let option = |code: &str, count: u64, points: u32, label: &str, n: Decimal| OptionFigures {
        code: code.to_string(),
        label: label.to_string(),
        count,
        share_percent: Fixed2(Decimal::from(count) * hundred / n),
        score: Fixed2(Decimal::from(count) * Decimal::from(points) / respondents),
    };
    let mut total_exact = Decimal::ZERO;
    let questions: Vec<QuestionFigures> = survey
        .questions
        .iter()
        .map(|q| {
            let options: Vec<OptionFigures> = survey
                .options
                .iter()
                .map(|o| {
                    option(
                        &o.code,
                        q.counts.get(&o.code).copied().unwrap_or(0),
                        o.points,
                        &o.label,
                        respondents,
                    )
                })
                .collect();
            let score: Decimal = options.iter().map(|o| o.score.0).sum();
            total_exact += score;
            QuestionFigures {
                number: q.number,
                text: q.text.clone(),
                options,
                score: Fixed2(score),
            }
        })
        .collect();
    let answers = respondents * Decimal::from(survey.questions.len());
    let totals = survey
        .options
        .iter()
        .map(|o| {
            let count: u64 = survey
                .questions
                .iter()
                .map(|q| q.counts.get(&o.code).copied().unwrap_or(0))
                .sum();
            option(&o.code, count, o.points, &o.label, answers)
        })
        .collect();
    // Scale to 100 points: the maximum is questions × the best option's points.
    let best = survey.options.iter().map(|o| o.points).max().unwrap_or(0);
    let maximum = Decimal::from(best) * Decimal::from(survey.questions.len());
    let score = if maximum.is_zero() {
        Decimal::ZERO
    } else {
        total_exact * hundred / maximum
    };
    SurveyFigures {
        survey: survey.survey.clone(),
        title: survey.title.clone(),
        respondents: survey.respondents,
        questions,
        totals,
        score: Fixed2(score),
    }
}
