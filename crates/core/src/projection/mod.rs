//! Projections: the figures people ask of a program, computed from the
//! books as of an instant. Pure: the books and the instant are arguments.
//!
//! Every rate and score is kept exact ([`Fixed2`] wraps an exact decimal)
//! and rounded once, half away from zero, when it is written out.

use crate::books::{parse_score, Books, DistrictBooks, Filing, ProgramBooks};
use crate::ids::{parse_date, DistrictCode, Hash32, Timestamp};
use crate::money::{fixed, Money};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

mod evaluation;
mod report_json;
mod spot_checks;
mod survey;

use evaluation::evaluate;
pub use evaluation::{grade, CrossCheckFigures, EvaluationFigures, IndicatorFigures};
pub use report_json::{LedgerRef, ReportJson};
pub use spot_checks::{DrawSealFigures, PlannedDistrict, SpotCheckFigures, SpotCheckPlanFigures};
pub use survey::{survey_figures, OptionFigures, QuestionFigures, SurveyFigures};

/// An exact decimal written with exactly two decimals (`"96.28"`, `"100.00"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fixed2(pub Decimal);

impl Fixed2 {
    /// The value rounded to two decimals, as text.
    pub fn text(&self) -> String {
        fixed(self.0, 2)
    }
}

impl std::fmt::Display for Fixed2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for Fixed2 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

fn percent(part: Decimal, whole: Decimal) -> Option<Fixed2> {
    (whole != Decimal::ZERO).then(|| Fixed2(part * Decimal::from(100) / whole))
}

/// Whether a deadline was met, as of the query instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Compliance {
    /// Recorded by 23:59:59 local on the due day.
    OnTime {
        /// When the ledger recorded the (last) filing.
        recorded_at: Timestamp,
    },
    /// Recorded after the due day.
    Late {
        /// When the ledger recorded the (last) filing.
        recorded_at: Timestamp,
        /// Local days after the due day.
        days_late: i64,
    },
    /// Not (completely) filed, and the due day is over.
    Missing {
        /// For training ledgers: rosters filed without all seven documents.
        #[serde(skip_serializing_if = "Option::is_none")]
        incomplete_rosters: Option<usize>,
    },
    /// Not filed yet, but the due day is not over.
    NotDue,
}

impl Compliance {
    /// True for `on_time`.
    pub fn is_on_time(&self) -> bool {
        matches!(self, Compliance::OnTime { .. })
    }
    /// True unless `not_due`.
    pub fn is_due(&self) -> bool {
        !matches!(self, Compliance::NotDue)
    }
}

/// The end of a local due day: 23:59:59 at the ledger's offset.
pub fn due_end(date: NaiveDate, offset: FixedOffset) -> Timestamp {
    let end = date.and_hms_opt(23, 59, 59).expect("valid time");
    Timestamp::from_datetime(
        offset
            .from_local_datetime(&end)
            .single()
            .expect("fixed offsets are unambiguous"),
    )
}

fn compliance(
    filed: Option<Timestamp>,
    complete: bool,
    incomplete: Option<usize>,
    due: NaiveDate,
    offset: FixedOffset,
    as_of: Timestamp,
) -> Compliance {
    let end = due_end(due, offset);
    match filed {
        Some(recorded_at) if complete && recorded_at <= end => Compliance::OnTime { recorded_at },
        Some(recorded_at) if complete => {
            let local = recorded_at.datetime().with_timezone(&offset).date_naive();
            Compliance::Late {
                recorded_at,
                days_late: (local - due).num_days(),
            }
        }
        _ if as_of <= end => Compliance::NotDue,
        _ => Compliance::Missing {
            incomplete_rosters: incomplete,
        },
    }
}

/// A filing whose claimed time is more than a day before the ledger recorded it.
#[derive(Clone, Debug, Serialize)]
pub struct Backdated {
    /// The event.
    pub event_id: String,
    /// The district.
    pub district_code: DistrictCode,
    /// What the actor claims.
    pub at: Timestamp,
    /// What the ledger recorded.
    pub recorded_at: Timestamp,
}

/// One district's figures.
#[derive(Clone, Debug, Serialize)]
pub struct DistrictFigures {
    /// GB/T 2260 code.
    pub code: DistrictCode,
    /// Name.
    pub name: String,
    /// Pre-allocated (年初预拨).
    pub allocated_cny: Money,
    /// Reported expenditure.
    pub spent_cny: Money,
    /// spent ÷ allocated, in percent.
    pub execution_rate_percent: Option<Fixed2>,
    /// allocated − spent (negative: a deficit, i.e. overspent).
    pub surplus_cny: Money,
    /// Has a settlement in force.
    pub settled: bool,
    /// The settlement was imposed by the city on a silent district: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settlement_imposed: Option<String>,
    /// The surplus offset into next year: amount and program.
    pub offset_out: Option<OffsetOut>,
    /// Surplus from the previous year offset against this year's allocation.
    pub offset_in_cny: Money,
    /// allocated − offset in: what the city actually transfers this year.
    pub net_transfer_cny: Money,
    /// Distinct people who signed its rosters: the people trained.
    pub trainees: usize,
    /// Distinct people listed on its rosters, signed or not.
    pub trainees_listed: usize,
    /// Listed but never signed: not counted as trained.
    pub trainees_unsigned: usize,
    /// Rosters in force.
    pub rosters: usize,
    /// The training-ledger deadline (Oct 30).
    pub training_ledger: Compliance,
    /// The fund-use report deadline (Nov 30).
    pub fund_use_report: Compliance,
}

/// A program's closing.
#[derive(Clone, Debug, Serialize)]
pub struct ClosingFigures {
    /// The `program_closed` event.
    pub event_id: String,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// Why.
    pub reason: String,
}

/// A budget adjustment.
#[derive(Clone, Debug, Serialize)]
pub struct AdjustmentFigures {
    /// The `budget_adjusted` event.
    pub event_id: String,
    /// The change.
    pub amount_cny: Money,
    /// The finance bureau's document number.
    pub document: String,
    /// Why.
    pub reason: String,
}

/// A district's surplus carried into next year.
#[derive(Clone, Debug, Serialize)]
pub struct OffsetOut {
    /// The surplus (negative: a deficit).
    pub surplus_cny: Money,
    /// The next year's program.
    pub into_program: String,
}

/// A person named by more than one district's rosters.
#[derive(Clone, Debug, Serialize)]
pub struct DoubleClaim {
    /// The person's digest.
    pub person_digest: Hash32,
    /// The districts claiming them.
    pub districts: Vec<DistrictCode>,
}

/// Outputs against targets.
#[derive(Clone, Debug, Serialize)]
pub struct Outputs {
    /// Distinct people trained (who signed a roster), all districts.
    pub trainees: usize,
    /// Distinct people listed on rosters, signed or not.
    pub trainees_listed: usize,
    /// Listed but never signed: a data-quality line, not trained.
    pub trainees_unsigned: usize,
    /// The target.
    pub trainees_target: u64,
    /// trainees ÷ target, in percent.
    pub trainees_rate_percent: Option<Fixed2>,
    /// Satisfaction (the survey score), if surveyed.
    pub satisfaction: Option<Fixed2>,
    /// Its target.
    pub satisfaction_target: Fixed2,
    /// spent ÷ trainees.
    pub cost_per_trainee_cny: Option<Money>,
    /// The standard not to exceed, if declared.
    pub cost_per_trainee_max_cny: Option<Money>,
    /// (district, deadline) pairs due as of the instant.
    pub deadlines_due: usize,
    /// Of those, met on time.
    pub deadlines_on_time: usize,
    /// (district, deadline) pairs whose due day is over: until one is,
    /// timeliness is not yet due.
    pub deadlines_passed: usize,
}

/// Everything a report shows about one program, as of an instant.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramFigures {
    /// Program id.
    pub program: String,
    /// Name.
    pub name: String,
    /// Fiscal year.
    pub fiscal_year: i32,
    /// The query instant.
    pub as_of: Timestamp,
    /// 填报单位, if the program names one.
    pub reporting_unit: Option<String>,
    /// 联系人, if the program names one.
    pub contact: Option<String>,
    /// Funding documents, "number title".
    pub funding_documents: Vec<String>,
    /// The closing in force: the program takes nothing until it is reversed.
    pub closed: Option<ClosingFigures>,
    /// Closings reversed: each time the program was reopened.
    pub reopened: Vec<String>,
    /// The year-start budget (年初预算数): the approvals in force.
    pub budget_initial_cny: Money,
    /// The adjustments in force (调增 / 调减), in id order.
    pub budget_adjustments: Vec<AdjustmentFigures>,
    /// The budget after adjustments (全年预算数): what rates are of.
    pub budget_approved_cny: Money,
    /// Funds received (资金到位).
    pub funds_received_cny: Money,
    /// received ÷ budget, in percent (到位率).
    pub funds_received_rate_percent: Option<Fixed2>,
    /// Total pre-allocated.
    pub allocated_cny: Money,
    /// Total spent.
    pub spent_cny: Money,
    /// spent ÷ budget, in percent (支出率).
    pub execution_rate_percent: Option<Fixed2>,
    /// received − spent (结转结余) = unallocated + settled surplus −
    /// settled deficit + unsettled balance.
    pub carry_over_cny: Money,
    /// allocated − spent = settled surplus − settled deficit + unsettled balance.
    pub surplus_cny: Money,
    /// received − allocated: money never pre-allocated to a district.
    pub unallocated_cny: Money,
    /// The surpluses of settled districts (allocated − spent where positive).
    pub settled_surplus_cny: Money,
    /// The deficits of settled districts (spent − allocated where positive).
    pub settled_deficit_cny: Money,
    /// allocated − spent over the districts not settled: not a surplus yet.
    pub unsettled_balance_cny: Money,
    /// Offsets from the previous year into this program.
    pub offset_in_cny: Money,
    /// allocated − offset in.
    pub net_transfer_cny: Money,
    /// Per district.
    pub districts: Vec<DistrictFigures>,
    /// Outputs against targets.
    pub outputs: Outputs,
    /// People on more than one district's rosters.
    pub double_claims: Vec<DoubleClaim>,
    /// Filings claimed more than a day before they were recorded.
    pub backdated: Vec<Backdated>,
    /// Surveys.
    pub surveys: Vec<SurveyFigures>,
    /// The evaluation, if the program declares a framework.
    pub evaluation: Option<EvaluationFigures>,
    /// Spot checks: districts sampled and findings.
    pub spot_checks: Vec<SpotCheckFigures>,
    /// The draw seal, once one is recorded after the filing deadlines.
    pub draw_seal: Option<DrawSealFigures>,
    /// Spot-check plans drawn from it, with their coverage.
    pub spot_check_plans: Vec<SpotCheckPlanFigures>,
    /// High and medium findings of the auditor's desk, once they are
    /// computed ([`with_findings`]); `audit_findings` leaves wait for them.
    pub findings_counted: Option<u64>,
}

fn last_recorded<'a>(filings: impl Iterator<Item = &'a Filing>) -> Option<Timestamp> {
    filings.map(|f| f.recorded_at).max()
}

fn district_figures(
    code: DistrictCode,
    d: &DistrictBooks,
    p: &ProgramBooks,
    offset: FixedOffset,
    as_of: Timestamp,
) -> DistrictFigures {
    let ledger_due = parse_date(&p.opened.deadlines.training_ledger_due_local).expect("decided");
    let report_due = parse_date(&p.opened.deadlines.fund_use_report_due_local).expect("decided");
    let incomplete = d.rosters.values().filter(|r| !r.documents_complete).count();
    let training_ledger = compliance(
        last_recorded(d.rosters.values().map(|r| &r.filing)),
        incomplete == 0,
        Some(incomplete),
        ledger_due,
        offset,
        as_of,
    );
    let fund_use_report = compliance(
        d.fund_use_reports.values().map(|f| f.recorded_at).min(),
        true,
        None,
        report_due,
        offset,
        as_of,
    );
    DistrictFigures {
        code,
        name: d.name.clone(),
        allocated_cny: d.allocated,
        spent_cny: d.spent,
        execution_rate_percent: percent(d.spent.decimal(), d.allocated.decimal()),
        surplus_cny: d.allocated - d.spent,
        settled: d.settlement.is_some(),
        settlement_imposed: d.settlement.as_deref().and_then(|s| s.imposed.clone()),
        offset_out: d.offset_out.as_deref().map(|o| OffsetOut {
            surplus_cny: o.surplus_cny,
            into_program: o.into_program.clone(),
        }),
        offset_in_cny: d.offset_in,
        net_transfer_cny: d.allocated - d.offset_in,
        trainees: d.signed_count as usize,
        trainees_listed: d.people_count as usize,
        trainees_unsigned: (d.people_count - d.signed_count) as usize,
        rosters: d.rosters.len(),
        training_ledger,
        fund_use_report,
    }
}

/// The program's closing in force.
fn closing(p: &ProgramBooks) -> Option<ClosingFigures> {
    p.closed.as_ref().map(|c| ClosingFigures {
        event_id: c.event_id.clone(),
        recorded_at: c.filing.recorded_at,
        reason: c.reason.clone(),
    })
}

/// The budget adjustments in force.
fn adjustments(p: &ProgramBooks) -> Vec<AdjustmentFigures> {
    p.budget_adjustments
        .iter()
        .map(|(id, a)| AdjustmentFigures {
            event_id: id.clone(),
            amount_cny: a.amount_cny,
            document: a.document.clone(),
            reason: a.reason.clone(),
        })
        .collect()
}

/// A program's districts' balances, by whether they are settled.
#[derive(Default)]
struct Balances {
    settled_surplus: Money,
    settled_deficit: Money,
    unsettled: Money,
}

impl Balances {
    fn of(p: &ProgramBooks) -> Balances {
        let mut b = Balances::default();
        for d in p.districts.values() {
            let balance = d.allocated - d.spent;
            match (d.settlement.is_some(), balance.is_negative()) {
                (true, false) => b.settled_surplus += balance,
                (true, true) => b.settled_deficit -= balance,
                (false, _) => b.unsettled += balance,
            }
        }
        b
    }
}

/// The people claimed by more than one district, with who claims them.
fn double_claims(p: &ProgramBooks) -> Vec<DoubleClaim> {
    p.people()
        .double_claimed
        .iter()
        .map(|(person_digest, districts)| DoubleClaim {
            person_digest: *person_digest,
            districts: districts.clone(),
        })
        .collect()
}

/// Filings claimed more than a day before the ledger recorded them.
fn backdated(p: &ProgramBooks) -> Vec<Backdated> {
    let mut backdated = Vec::new();
    for (code, d) in p.districts.iter() {
        let filings = d
            .rosters
            .iter()
            .map(|(id, r)| (&**id, &r.filing))
            .chain(d.fund_use_reports.iter().map(|(id, f)| (&**id, f)))
            .chain(
                d.settlement
                    .as_deref()
                    .map(|s| (s.event_id.as_str(), &s.filing)),
            );
        for (id, f) in filings {
            if f.recorded_at.unix_seconds() - f.at.unix_seconds() > 86_400 {
                backdated.push(Backdated {
                    event_id: id.to_string(),
                    district_code: *code,
                    at: f.at,
                    recorded_at: f.recorded_at,
                });
            }
        }
    }
    backdated.sort_by_key(|b| b.recorded_at);
    backdated.sort_by_key(|b| b.recorded_at);
    backdated
}

/// The figures of `program` as of `as_of` (the books must hold only records
/// recorded by then; deadlines are judged at `as_of`).
pub fn program_figures(
    books: &Books,
    program: &str,
    offset: FixedOffset,
    as_of: Timestamp,
) -> Option<ProgramFigures> {
    let p = books.program(program)?;
    // In the order the program lists them (the order a clerk knows).
    let districts: Vec<DistrictFigures> = p
        .opened
        .districts
        .iter()
        .map(|listed| district_figures(listed.code, &p.districts[&listed.code], p, offset, as_of))
        .collect();
    // Distinct people and double claims come from the rosters in force;
    // only those who signed a roster count as trained.
    let people = p.people();
    let trainees = people.signed;
    let double_claims = double_claims(p);
    let backdated = backdated(p);
    let spent = p.spent();
    let allocated = p.allocated();
    let surveys: Vec<SurveyFigures> = p.surveys.values().map(|s| survey_figures(s)).collect();
    let satisfaction = surveys.last().map(|s| Fixed2(s.score.0));
    let satisfaction_target =
        Fixed2(parse_score(&p.opened.targets.satisfaction_min).unwrap_or_default());
    let deadlines: Vec<&Compliance> = districts
        .iter()
        .flat_map(|d| [&d.training_ledger, &d.fund_use_report])
        .collect();
    let outputs = Outputs {
        trainees,
        trainees_listed: people.listed,
        trainees_unsigned: people.listed - trainees,
        trainees_target: p.opened.targets.trainees_min,
        trainees_rate_percent: percent(
            Decimal::from(trainees),
            Decimal::from(p.opened.targets.trainees_min),
        ),
        satisfaction,
        satisfaction_target,
        cost_per_trainee_cny: (trainees > 0)
            .then(|| Money::from_decimal_rounded(spent.decimal() / Decimal::from(trainees))),
        cost_per_trainee_max_cny: p.opened.targets.cost_per_trainee_max_cny,
        deadlines_due: deadlines.iter().filter(|c| c.is_due()).count(),
        deadlines_on_time: deadlines.iter().filter(|c| c.is_on_time()).count(),
        deadlines_passed: [
            &p.opened.deadlines.training_ledger_due_local,
            &p.opened.deadlines.fund_use_report_due_local,
        ]
        .into_iter()
        .filter(|due| as_of > due_end(parse_date(due).expect("decided"), offset))
        .count()
            * districts.len(),
    };
    let offset_in: Money = p.districts.values().map(|d| d.offset_in).sum();
    let balances = Balances::of(p);
    let mut figures = ProgramFigures {
        program: p.opened.program.clone(),
        name: p.opened.name.clone(),
        fiscal_year: p.opened.fiscal_year,
        as_of,
        reporting_unit: p.opened.reporting_unit.clone(),
        contact: p.opened.contact.clone(),
        funding_documents: p
            .opened
            .funding_documents
            .iter()
            .map(|d| format!("{} {}", d.number, d.title))
            .collect(),
        closed: closing(p),
        reopened: p.reopened.iter().cloned().collect(),
        budget_initial_cny: p.budget_approved,
        budget_adjustments: adjustments(p),
        budget_approved_cny: p.budget(),
        funds_received_cny: p.funds_received,
        funds_received_rate_percent: percent(p.funds_received.decimal(), p.budget().decimal()),
        allocated_cny: allocated,
        spent_cny: spent,
        execution_rate_percent: percent(spent.decimal(), p.budget().decimal()),
        carry_over_cny: p.funds_received - spent,
        surplus_cny: allocated - spent,
        unallocated_cny: p.funds_received - allocated,
        settled_surplus_cny: balances.settled_surplus,
        settled_deficit_cny: balances.settled_deficit,
        unsettled_balance_cny: balances.unsettled,
        offset_in_cny: offset_in,
        net_transfer_cny: allocated - offset_in,
        districts,
        outputs,
        double_claims,
        backdated,
        surveys,
        evaluation: None,
        spot_checks: spot_checks::spot_check_figures(p),
        draw_seal: spot_checks::draw_seal_figures(p),
        spot_check_plans: spot_checks::plan_figures(p),
        findings_counted: None,
    };
    figures.evaluation = p
        .opened
        .evaluation_framework
        .as_ref()
        .map(|framework| evaluate(&framework.indicators, p, &figures));
    Some(figures)
}

/// The figures with the program's findings counted: `counted` high and
/// medium findings, which `audit_findings` leaves deduct for. The
/// evaluation is scored again; nothing else changes.
pub fn with_findings(books: &Books, mut figures: ProgramFigures, counted: u64) -> ProgramFigures {
    figures.findings_counted = Some(counted);
    if let Some(p) = books.program(&figures.program) {
        figures.evaluation = p
            .opened
            .evaluation_framework
            .as_ref()
            .map(|framework| evaluate(&framework.indicators, p, &figures));
    }
    figures
}
