//! The books: per program and per district, everything the money rules and
//! the projections need, folded from accepted events.
//!
//! [`Books::decide`] holds the money rules (see `docs/rules.md`); it reads the
//! books and changes nothing. [`Books::apply`] folds an accepted event in and
//! checks nothing. A reversal removes the reversed event's contribution, so
//! every projection sees the ledger as if the event had never counted.

use crate::body::{Body, Measure, ProgramOpened, SurveyRecorded};
use crate::ids::{parse_date, DistrictCode, Hash32, Timestamp};
use crate::kind::EventKind;
use crate::money::Money;
use crate::Rejection;
use chrono::FixedOffset;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What [`Books::decide`] knows of the event being decided.
pub struct Context<'a> {
    /// The event's id.
    pub event_id: &'a str,
    /// Its kind.
    pub kind: EventKind,
    /// When the actor says it happened.
    pub at: Timestamp,
    /// The ledger's offset.
    pub utc_offset: FixedOffset,
}

/// What [`Books::apply`] knows of the accepted record.
pub struct Applied<'a> {
    /// Its seq.
    pub seq: u64,
    /// The event's id.
    pub event_id: &'a str,
    /// Its kind.
    pub kind: EventKind,
    /// When the actor says it happened.
    pub at: Timestamp,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// For a reversal in a rules-only ledger: the reversed event's body
    /// (a full ledger remembers what each event contributed).
    pub reversed_original: Option<&'a Body>,
}

/// A filing's two times: claimed and recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filing {
    /// The record's seq.
    pub seq: u64,
    /// `event.at`, as the actor claims.
    pub at: Timestamp,
    /// `recorded_at`, the ledger's own time.
    pub recorded_at: Timestamp,
}

/// A roster as the books keep it.
#[derive(Clone, Debug)]
pub struct RosterFacts {
    /// When it was filed.
    pub filing: Filing,
    /// Township.
    pub township: String,
    /// All seven documents present.
    pub documents_complete: bool,
    /// Distinct people on it.
    pub person_digests: Arc<Vec<Hash32>>,
}

/// One district's books in one program.
#[derive(Clone, Debug, Default)]
pub struct DistrictBooks {
    /// Name, as the program lists it.
    pub name: String,
    /// Pre-allocated (年初预拨).
    pub allocated: Money,
    /// Reported expenditure.
    pub spent: Money,
    /// Rosters by event id.
    pub rosters: imbl::OrdMap<String, RosterFacts>,
    /// Distinct people across its rosters, with how many rosters name each.
    pub people: imbl::HashMap<Hash32, u32>,
    /// Fund-use reports by event id.
    pub fund_use_reports: imbl::OrdMap<String, Filing>,
    /// The settlement in force: event id, and its body's figures.
    pub settlement: Option<Box<(String, Filing, Money, Money)>>,
    /// The offset out of this program in force: event id, surplus, target program.
    pub offset_out: Option<Box<(String, Money, String)>>,
    /// Offsets into this program from the previous year's (the surplus; negative: a deficit).
    pub offset_in: Money,
}

/// An indicator score in force.
#[derive(Clone, Debug)]
pub struct Score {
    /// The `indicator_scored` event.
    pub event_id: String,
    /// Score.
    pub score: Decimal,
    /// Why.
    pub rationale: String,
}

/// A spot check.
#[derive(Clone, Debug)]
pub struct SpotCheck {
    /// The event.
    pub event_id: String,
    /// Districts sampled.
    pub districts_sampled: Vec<DistrictCode>,
    /// Findings.
    pub findings: String,
}

/// One program's books.
#[derive(Clone, Debug)]
pub struct ProgramBooks {
    /// The `program_opened` body.
    pub opened: Arc<ProgramOpened>,
    /// Its seq.
    pub opened_seq: u64,
    /// Sum of budget approvals in force.
    pub budget_approved: Money,
    /// Sum of funds received in force.
    pub funds_received: Money,
    /// Participating districts.
    pub districts: imbl::OrdMap<DistrictCode, DistrictBooks>,
    /// The sum of the districts' pre-allocations, kept up to date (a rule
    /// reads it at every allocation).
    allocated_total: Money,
    /// Surveys in force, by event id.
    pub surveys: imbl::OrdMap<String, Arc<SurveyRecorded>>,
    /// Judged indicator scores in force, by indicator code.
    pub scores: imbl::OrdMap<String, Score>,
    /// Spot checks in force.
    pub spot_checks: imbl::OrdMap<String, SpotCheck>,
    /// Every person on a roster in force, with how many districts claim them.
    pub people: imbl::HashMap<Hash32, u32>,
    /// People claimed by more than one district.
    pub double_claimed: imbl::OrdSet<Hash32>,
}

impl ProgramBooks {
    /// Total pre-allocated.
    pub fn allocated(&self) -> Money {
        self.allocated_total
    }
    /// Total spent.
    pub fn spent(&self) -> Money {
        self.districts.values().map(|d| d.spent).sum()
    }
}

/// How an event contributed, so a reversal can take it back.
#[derive(Clone, Debug)]
enum Contribution {
    Budget(String, Money),
    Funds(String, Money),
    Allocation(String, DistrictCode, Money),
    Roster(String, DistrictCode),
    Expenditure(String, DistrictCode, Money),
    FundUse(String, DistrictCode),
    Settlement(String, DistrictCode),
    Offset(String, DistrictCode, Money, String),
    Survey(String),
    Score(String, String),
    SpotCheck(String),
    Unreversible,
}

/// All programs.
#[derive(Clone, Debug, Default)]
pub struct Books {
    programs: imbl::OrdMap<String, ProgramBooks>,
    contributions: imbl::HashMap<String, Contribution>,
    rules_only: bool,
}

/// What `event` contributed to the books, derived from its body.
fn contribution_of(body: &Body) -> Contribution {
    match body {
        Body::BudgetApproved(b) => Contribution::Budget(b.program.clone(), b.amount_cny),
        Body::FundsReceived(b) => Contribution::Funds(b.program.clone(), b.amount_cny),
        Body::AllocationMade(b) => {
            Contribution::Allocation(b.program.clone(), b.district_code, b.amount_cny)
        }
        Body::RosterFiled(b) => Contribution::Roster(b.program.clone(), b.district_code),
        Body::ExpenditureReported(b) => {
            Contribution::Expenditure(b.program.clone(), b.district_code, b.amount_cny)
        }
        Body::FundUseReported(b) => Contribution::FundUse(b.program.clone(), b.district_code),
        Body::SettlementFiled(b) => Contribution::Settlement(b.program.clone(), b.district_code),
        Body::OffsetApplied(b) => Contribution::Offset(
            b.program.clone(),
            b.district_code,
            b.surplus_cny,
            b.into_program.clone(),
        ),
        Body::SurveyRecorded(b) => Contribution::Survey(b.program.clone()),
        Body::IndicatorScored(b) => Contribution::Score(b.program.clone(), b.indicator.clone()),
        Body::SpotCheckRecorded(b) => Contribution::SpotCheck(b.program.clone()),
        Body::ProgramOpened(_)
        | Body::EventReversed(_)
        | Body::LedgerOpened(_)
        | Body::ActorEnrolled(_)
        | Body::ActorRevoked(_) => Contribution::Unreversible,
    }
}

fn rule(message: String, field: &str) -> Rejection {
    Rejection::rule(message).with_field(field)
}

impl Books {
    /// Books that keep only what the rules read — no rosters, trainees or
    /// fund-use filings, and no per-event contributions (a reversal is given
    /// the reversed event's body instead). What `verify` folds a chain into.
    pub fn rules_only() -> Books {
        Books {
            rules_only: true,
            ..Books::default()
        }
    }

    /// A program's books.
    pub fn program(&self, id: &str) -> Option<&ProgramBooks> {
        self.programs.get(id)
    }

    /// All programs, by id.
    pub fn programs(&self) -> impl Iterator<Item = (&String, &ProgramBooks)> {
        self.programs.iter()
    }

    fn open_program(&self, id: &str) -> Result<&ProgramBooks, Rejection> {
        self.programs.get(id).ok_or_else(|| {
            rule(
                format!("program {id:?} has not been opened"),
                "body.program",
            )
        })
    }

    fn district<'a>(
        &self,
        program: &'a ProgramBooks,
        code: DistrictCode,
    ) -> Result<&'a DistrictBooks, Rejection> {
        program.districts.get(&code).ok_or_else(|| {
            rule(
                format!(
                    "district {code} does not participate in program {:?}",
                    program.opened.program
                ),
                "body.district_code",
            )
        })
    }

    /// The money rules: may this body be appended now?
    pub fn decide(&self, context: &Context<'_>, body: &Body) -> Result<(), Rejection> {
        let positive = |amount: Money| {
            if amount.is_positive() {
                Ok(())
            } else {
                Err(rule(
                    format!("amounts are positive, got {amount}"),
                    "body.amount_cny",
                ))
            }
        };
        match body {
            Body::ProgramOpened(b) => decide_program_opened(self, b),
            Body::BudgetApproved(b) => {
                self.open_program(&b.program)?;
                positive(b.amount_cny)
            }
            Body::FundsReceived(b) => {
                let program = self.open_program(&b.program)?;
                positive(b.amount_cny)?;
                let total = program.funds_received + b.amount_cny;
                if total > program.budget_approved {
                    return Err(rule(
                        format!(
                            "funds received would total {total}, more than the budget approved ({})",
                            program.budget_approved
                        ),
                        "body.amount_cny",
                    ));
                }
                Ok(())
            }
            Body::AllocationMade(b) => {
                let program = self.open_program(&b.program)?;
                let district = self.district(program, b.district_code)?;
                positive(b.amount_cny)?;
                if district.settlement.is_some() {
                    return Err(rule(
                        format!(
                            "district {} is already settled in this program",
                            b.district_code
                        ),
                        "body.district_code",
                    ));
                }
                let total = program.allocated() + b.amount_cny;
                if total > program.budget_approved {
                    return Err(rule(
                        format!(
                            "pre-allocations would total {total}, more than the budget approved ({})",
                            program.budget_approved
                        ),
                        "body.amount_cny",
                    ));
                }
                Ok(())
            }
            Body::RosterFiled(b) => {
                let program = self.open_program(&b.program)?;
                self.district(program, b.district_code)?;
                let mut seen = BTreeSet::new();
                for (index, trainee) in b.trainees.iter().enumerate() {
                    if !seen.insert(trainee.person_digest) {
                        return Err(rule(
                            "the same person appears twice on this roster".to_string(),
                            &format!("body.trainees[{index}].person_digest"),
                        ));
                    }
                }
                let start = parse_date(&b.session.start_date)
                    .map_err(|e| rule(e.0, "body.session.start_date"))?;
                let end = parse_date(&b.session.end_date)
                    .map_err(|e| rule(e.0, "body.session.end_date"))?;
                if end < start {
                    return Err(rule(
                        "the session ends before it starts".to_string(),
                        "body.session.end_date",
                    ));
                }
                Ok(())
            }
            Body::ExpenditureReported(b) => {
                let program = self.open_program(&b.program)?;
                let district = self.district(program, b.district_code)?;
                positive(b.amount_cny)?;
                if district.settlement.is_some() {
                    return Err(rule(
                        format!(
                            "district {} is already settled in this program; reverse the settlement first",
                            b.district_code
                        ),
                        "body.district_code",
                    ));
                }
                Ok(())
            }
            Body::FundUseReported(b) => {
                let program = self.open_program(&b.program)?;
                self.district(program, b.district_code)?;
                Ok(())
            }
            Body::SettlementFiled(b) => {
                let program = self.open_program(&b.program)?;
                let district = self.district(program, b.district_code)?;
                if let Some((id, ..)) = district.settlement.as_deref() {
                    return Err(rule(
                        format!(
                            "district {} is already settled by {id:?}; reverse that settlement first",
                            b.district_code
                        ),
                        "body.district_code",
                    ));
                }
                if b.allocated_cny != district.allocated {
                    return Err(rule(
                        format!(
                            "allocated_cny is {}, but the district's pre-allocations total {}",
                            b.allocated_cny, district.allocated
                        ),
                        "body.allocated_cny",
                    ));
                }
                if b.spent_cny != district.spent {
                    return Err(rule(
                        format!(
                            "spent_cny is {}, but the district's reported expenditure totals {}",
                            b.spent_cny, district.spent
                        ),
                        "body.spent_cny",
                    ));
                }
                if b.surplus_cny != b.allocated_cny - b.spent_cny {
                    return Err(rule(
                        format!(
                            "surplus_cny is {}, but allocated − spent is {}",
                            b.surplus_cny,
                            b.allocated_cny - b.spent_cny
                        ),
                        "body.surplus_cny",
                    ));
                }
                Ok(())
            }
            Body::OffsetApplied(b) => {
                let program = self.open_program(&b.program)?;
                let district = self.district(program, b.district_code)?;
                let Some((_, _, allocated, spent)) = district.settlement.as_deref() else {
                    return Err(rule(
                        format!(
                            "district {} has not settled program {:?}; an offset follows the settlement",
                            b.district_code, b.program
                        ),
                        "body.district_code",
                    ));
                };
                if let Some((id, ..)) = district.offset_out.as_deref() {
                    return Err(rule(
                        format!("the surplus was already offset by {id:?}"),
                        "body.district_code",
                    ));
                }
                let surplus = *allocated - *spent;
                if b.surplus_cny != surplus {
                    return Err(rule(
                        format!(
                            "surplus_cny is {}, but the settled surplus is {surplus}",
                            b.surplus_cny
                        ),
                        "body.surplus_cny",
                    ));
                }
                let next = self.programs.get(&b.into_program).ok_or_else(|| {
                    rule(
                        format!("program {:?} has not been opened", b.into_program),
                        "body.into_program",
                    )
                })?;
                if next.opened.fiscal_year != program.opened.fiscal_year + 1 {
                    return Err(rule(
                        format!(
                            "an offset moves into the next fiscal year ({}), but {:?} is for {}",
                            program.opened.fiscal_year + 1,
                            b.into_program,
                            next.opened.fiscal_year
                        ),
                        "body.into_program",
                    ));
                }
                if !next.districts.contains_key(&b.district_code) {
                    return Err(rule(
                        format!(
                            "district {} does not participate in program {:?}",
                            b.district_code, b.into_program
                        ),
                        "body.into_program",
                    ));
                }
                Ok(())
            }
            Body::SurveyRecorded(b) => {
                let program = self.open_program(&b.program)?;
                if program.surveys.values().any(|s| s.survey == b.survey) {
                    return Err(rule(
                        format!("survey {:?} is already recorded for this program", b.survey),
                        "body.survey",
                    ));
                }
                let mut codes = BTreeSet::new();
                for (index, option) in b.options.iter().enumerate() {
                    if !codes.insert(option.code.as_str()) {
                        return Err(rule(
                            format!("option {:?} is listed twice", option.code),
                            &format!("body.options[{index}].code"),
                        ));
                    }
                }
                for (index, question) in b.questions.iter().enumerate() {
                    if let Some(code) = question.counts.keys().find(|c| !codes.contains(c.as_str()))
                    {
                        return Err(rule(
                            format!(
                                "counts name option {code:?}, which the survey does not define"
                            ),
                            &format!("body.questions[{index}].counts"),
                        ));
                    }
                    let answered: u64 = question.counts.values().sum();
                    if answered != b.respondents {
                        return Err(rule(
                            format!(
                                "question {} has {answered} answers but the survey has {} respondents",
                                question.number, b.respondents
                            ),
                            &format!("body.questions[{index}].counts"),
                        ));
                    }
                }
                Ok(())
            }
            Body::IndicatorScored(b) => {
                let program = self.open_program(&b.program)?;
                let framework = program
                    .opened
                    .evaluation_framework
                    .as_ref()
                    .ok_or_else(|| {
                        rule(
                            format!("program {:?} declares no evaluation framework", b.program),
                            "body.program",
                        )
                    })?;
                let leaf = crate::books::find_indicator(&framework.indicators, &b.indicator)
                    .ok_or_else(|| {
                        rule(
                            format!(
                                "indicator {:?} is not in the program's framework",
                                b.indicator
                            ),
                            "body.indicator",
                        )
                    })?;
                if !leaf.children.is_empty() {
                    return Err(rule(
                        format!(
                            "indicator {:?} has sub-indicators; score its leaves",
                            b.indicator
                        ),
                        "body.indicator",
                    ));
                }
                if let Some(measure) = leaf.measure {
                    return Err(rule(
                        format!(
                            "indicator {:?} is derived from ledger facts ({measure:?}); it is not scored by hand",
                            b.indicator
                        ),
                        "body.indicator",
                    ));
                }
                let score = parse_score(&b.score).ok_or_else(|| {
                    rule(
                        format!("a score has two decimals, got {:?}", b.score),
                        "body.score",
                    )
                })?;
                let weight = parse_score(&leaf.weight).unwrap_or_default();
                if score > weight {
                    return Err(rule(
                        format!(
                            "score {} exceeds the indicator's weight {}",
                            b.score, leaf.weight
                        ),
                        "body.score",
                    ));
                }
                if let Some(existing) = program.scores.get(&b.indicator) {
                    return Err(rule(
                        format!(
                            "indicator {:?} is already scored by {:?}; reverse that score first",
                            b.indicator, existing.event_id
                        ),
                        "body.indicator",
                    ));
                }
                Ok(())
            }
            Body::SpotCheckRecorded(b) => {
                let program = self.open_program(&b.program)?;
                for (index, code) in b.districts_sampled.iter().enumerate() {
                    if !program.districts.contains_key(code) {
                        return Err(rule(
                            format!("district {code} does not participate in this program"),
                            &format!("body.districts_sampled[{index}]"),
                        ));
                    }
                }
                Ok(())
            }
            Body::LedgerOpened(_)
            | Body::ActorEnrolled(_)
            | Body::ActorRevoked(_)
            | Body::EventReversed(_) => {
                let _ = context;
                Ok(())
            }
        }
    }

    /// May the event `event_id` of `kind` be reversed now? Rules-only books
    /// need its body, `original`.
    pub fn decide_reversal(
        &self,
        event_id: &str,
        kind: EventKind,
        original: Option<&Body>,
    ) -> Result<(), Rejection> {
        let field = "body.event_id";
        let contribution = match original {
            Some(body) if self.rules_only => Some(contribution_of(body)),
            _ => self.contributions.get(event_id).cloned(),
        };
        match contribution.as_ref() {
            None | Some(Contribution::Unreversible) => {
                Err(rule(format!("{kind} events cannot be reversed"), field))
            }
            Some(Contribution::Expenditure(program, code, _))
            | Some(Contribution::Allocation(program, code, _)) => {
                match self.programs.get(program).and_then(|p| p.districts.get(code)) {
                    Some(d) if d.settlement.is_some() => Err(rule(
                        format!(
                            "district {code} is settled in {program:?}; reverse the settlement before its {kind}"
                        ),
                        field,
                    )),
                    _ => Ok(()),
                }
            }
            Some(Contribution::Settlement(program, code)) => {
                match self.programs.get(program).and_then(|p| p.districts.get(code)) {
                    Some(d) if d.offset_out.is_some() => Err(rule(
                        "the settlement's surplus was offset into next year; reverse the offset first".to_string(),
                        field,
                    )),
                    _ => Ok(()),
                }
            }
            Some(Contribution::Budget(program, amount)) => {
                let p = &self.programs[program];
                let left = p.budget_approved - *amount;
                if p.funds_received > left || p.allocated() > left {
                    Err(rule(
                        format!(
                            "without this approval the budget would be {left}, less than what was received ({}) or pre-allocated ({})",
                            p.funds_received,
                            p.allocated()
                        ),
                        field,
                    ))
                } else {
                    Ok(())
                }
            }
            Some(_) => Ok(()),
        }
    }

    /// Folds an accepted event in. Holds no checks.
    pub fn apply(&mut self, applied: &Applied<'_>, body: &Body) {
        let filing = Filing {
            seq: applied.seq,
            at: applied.at,
            recorded_at: applied.recorded_at,
        };
        let id = applied.event_id.to_string();
        match body {
            Body::ProgramOpened(b) => {
                let rules_only = self.rules_only;
                let districts = b
                    .districts
                    .iter()
                    .map(|d| {
                        (
                            d.code,
                            DistrictBooks {
                                // Names are for reports (the program's body keeps them too).
                                name: if rules_only {
                                    String::new()
                                } else {
                                    d.name.clone()
                                },
                                ..DistrictBooks::default()
                            },
                        )
                    })
                    .collect();
                self.programs.insert(
                    b.program.clone(),
                    ProgramBooks {
                        opened: Arc::new((**b).clone()),
                        opened_seq: applied.seq,
                        budget_approved: Money::ZERO,
                        funds_received: Money::ZERO,
                        districts,
                        allocated_total: Money::ZERO,
                        surveys: imbl::OrdMap::new(),
                        scores: imbl::OrdMap::new(),
                        spot_checks: imbl::OrdMap::new(),
                        people: imbl::HashMap::new(),
                        double_claimed: imbl::OrdSet::new(),
                    },
                );
            }
            Body::BudgetApproved(b) => {
                self.program_mut(&b.program).budget_approved += b.amount_cny;
            }
            Body::FundsReceived(b) => {
                self.program_mut(&b.program).funds_received += b.amount_cny;
            }
            Body::AllocationMade(b) => {
                self.district_mut(&b.program, b.district_code).allocated += b.amount_cny;
                self.program_mut(&b.program).allocated_total += b.amount_cny;
            }
            // Rosters and fund-use filings feed projections only.
            Body::RosterFiled(_) | Body::FundUseReported(_) if self.rules_only => {}
            Body::RosterFiled(b) => {
                let digests: Vec<Hash32> = b.trainees.iter().map(|t| t.person_digest).collect();
                let district = self.district_mut(&b.program, b.district_code);
                let mut new_to_district = Vec::new();
                for digest in &digests {
                    let count = district.people.entry(*digest).or_insert(0);
                    *count += 1;
                    if *count == 1 {
                        new_to_district.push(*digest);
                    }
                }
                let program = self.program_mut(&b.program);
                for digest in new_to_district {
                    let claims = program.people.entry(digest).or_insert(0);
                    *claims += 1;
                    if *claims == 2 {
                        program.double_claimed.insert(digest);
                    }
                }
                let district = self.district_mut(&b.program, b.district_code);
                district.rosters.insert(
                    id.clone(),
                    RosterFacts {
                        filing,
                        township: b.township.clone(),
                        documents_complete: b.documents_complete(),
                        person_digests: Arc::new(digests),
                    },
                );
            }
            Body::ExpenditureReported(b) => {
                self.district_mut(&b.program, b.district_code).spent += b.amount_cny;
            }
            Body::FundUseReported(b) => {
                self.district_mut(&b.program, b.district_code)
                    .fund_use_reports
                    .insert(id.clone(), filing);
            }
            Body::SettlementFiled(b) => {
                self.district_mut(&b.program, b.district_code).settlement =
                    Some(Box::new((id.clone(), filing, b.allocated_cny, b.spent_cny)));
            }
            Body::OffsetApplied(b) => {
                self.district_mut(&b.program, b.district_code).offset_out = Some(Box::new((
                    id.clone(),
                    b.surplus_cny,
                    b.into_program.clone(),
                )));
                self.district_mut(&b.into_program, b.district_code)
                    .offset_in += b.surplus_cny;
            }
            Body::SurveyRecorded(b) => {
                self.program_mut(&b.program)
                    .surveys
                    .insert(id.clone(), Arc::new((**b).clone()));
            }
            Body::IndicatorScored(b) => {
                let score = parse_score(&b.score).unwrap_or_default();
                self.program_mut(&b.program).scores.insert(
                    b.indicator.clone(),
                    Score {
                        event_id: id.clone(),
                        score,
                        rationale: b.rationale.clone(),
                    },
                );
            }
            Body::SpotCheckRecorded(b) => {
                self.program_mut(&b.program).spot_checks.insert(
                    id.clone(),
                    SpotCheck {
                        event_id: id.clone(),
                        districts_sampled: b.districts_sampled.clone(),
                        findings: b.findings.clone(),
                    },
                );
            }
            Body::EventReversed(b) => {
                let contribution = if self.rules_only {
                    applied.reversed_original.map(contribution_of)
                } else {
                    self.contributions.remove(&b.event_id)
                };
                if let Some(contribution) = contribution {
                    self.take_back(&b.event_id, contribution);
                }
            }
            Body::LedgerOpened(_) | Body::ActorEnrolled(_) | Body::ActorRevoked(_) => {}
        }
        if !self.rules_only {
            let contribution = contribution_of(body);
            if !matches!(contribution, Contribution::Unreversible)
                || applied.kind == EventKind::ProgramOpened
            {
                self.contributions.insert(id, contribution);
            }
        }
    }

    fn take_back(&mut self, event_id: &str, contribution: Contribution) {
        match contribution {
            Contribution::Budget(p, amount) => self.program_mut(&p).budget_approved -= amount,
            Contribution::Funds(p, amount) => self.program_mut(&p).funds_received -= amount,
            Contribution::Allocation(p, code, amount) => {
                self.district_mut(&p, code).allocated -= amount;
                self.program_mut(&p).allocated_total -= amount;
            }
            Contribution::Expenditure(p, code, amount) => {
                self.district_mut(&p, code).spent -= amount
            }
            Contribution::Roster(p, code) => {
                let district = self.district_mut(&p, code);
                let mut gone_from_district = Vec::new();
                if let Some(roster) = district.rosters.remove(event_id) {
                    for digest in roster.person_digests.iter() {
                        match district.people.get(digest).copied() {
                            Some(n) if n > 1 => {
                                district.people.insert(*digest, n - 1);
                            }
                            _ => {
                                district.people.remove(digest);
                                gone_from_district.push(*digest);
                            }
                        }
                    }
                }
                let program = self.program_mut(&p);
                for digest in gone_from_district {
                    match program.people.get(&digest).copied() {
                        Some(n) if n > 1 => {
                            program.people.insert(digest, n - 1);
                            if n == 2 {
                                program.double_claimed.remove(&digest);
                            }
                        }
                        _ => {
                            program.people.remove(&digest);
                        }
                    }
                }
            }
            Contribution::FundUse(p, code) => {
                self.district_mut(&p, code)
                    .fund_use_reports
                    .remove(event_id);
            }
            Contribution::Settlement(p, code) => self.district_mut(&p, code).settlement = None,
            Contribution::Offset(p, code, surplus, into) => {
                self.district_mut(&p, code).offset_out = None;
                self.district_mut(&into, code).offset_in -= surplus;
            }
            Contribution::Survey(p) => {
                self.program_mut(&p).surveys.remove(event_id);
            }
            Contribution::Score(p, indicator) => {
                self.program_mut(&p).scores.remove(&indicator);
            }
            Contribution::SpotCheck(p) => {
                self.program_mut(&p).spot_checks.remove(event_id);
            }
            Contribution::Unreversible => {}
        }
    }

    fn program_mut(&mut self, id: &str) -> &mut ProgramBooks {
        self.programs
            .get_mut(id)
            .expect("decided: the program is open")
    }

    fn district_mut(&mut self, program: &str, code: DistrictCode) -> &mut DistrictBooks {
        self.program_mut(program)
            .districts
            .get_mut(&code)
            .expect("decided: the district participates")
    }
}

fn decide_program_opened(books: &Books, b: &ProgramOpened) -> Result<(), Rejection> {
    if books.programs.contains_key(&b.program) {
        return Err(rule(
            format!("program {:?} is already open", b.program),
            "body.program",
        ));
    }
    let mut codes = BTreeSet::new();
    for (index, district) in b.districts.iter().enumerate() {
        if !codes.insert(district.code) {
            return Err(rule(
                format!("district {} is listed twice", district.code),
                &format!("body.districts[{index}].code"),
            ));
        }
    }
    for (field, date) in [
        (
            "body.deadlines.training_ledger_due_local",
            &b.deadlines.training_ledger_due_local,
        ),
        (
            "body.deadlines.fund_use_report_due_local",
            &b.deadlines.fund_use_report_due_local,
        ),
    ] {
        parse_date(date).map_err(|e| rule(e.0, field))?;
    }
    if let Some(framework) = &b.evaluation_framework {
        let mut seen = BTreeSet::new();
        let total = check_indicators(
            &framework.indicators,
            1,
            &mut seen,
            "body.evaluation_framework.indicators",
        )?;
        if total != Decimal::from(100) {
            return Err(rule(
                format!("the level-1 weights sum to {total}, not 100"),
                "body.evaluation_framework.indicators",
            ));
        }
    }
    Ok(())
}

fn check_indicators<'a>(
    nodes: &'a [crate::body::Indicator],
    level: usize,
    seen: &mut BTreeSet<&'a str>,
    path: &str,
) -> Result<Decimal, Rejection> {
    let mut total = Decimal::ZERO;
    for (index, node) in nodes.iter().enumerate() {
        let here = format!("{path}[{index}]");
        if level > 4 {
            return Err(rule(
                "an indicator tree has at most four levels".to_string(),
                &here,
            ));
        }
        if !seen.insert(node.code.as_str()) {
            return Err(rule(
                format!("indicator code {:?} is used twice", node.code),
                &format!("{here}.code"),
            ));
        }
        let weight = parse_score(&node.weight).ok_or_else(|| {
            rule(
                format!("weight {:?} is not a score", node.weight),
                &format!("{here}.weight"),
            )
        })?;
        if !node.children.is_empty() {
            if node.measure.is_some() {
                return Err(rule(
                    "only leaves carry a measure".to_string(),
                    &format!("{here}.measure"),
                ));
            }
            let sum =
                check_indicators(&node.children, level + 1, seen, &format!("{here}.children"))?;
            if sum != weight {
                return Err(rule(
                    format!(
                        "the sub-indicators of {:?} weigh {sum}, not its weight {weight}",
                        node.code
                    ),
                    &format!("{here}.children"),
                ));
            }
        }
        total += weight;
    }
    Ok(total)
}

/// Finds an indicator by code anywhere in the tree.
pub fn find_indicator<'a>(
    nodes: &'a [crate::body::Indicator],
    code: &str,
) -> Option<&'a crate::body::Indicator> {
    nodes.iter().find_map(|node| {
        if node.code == code {
            Some(node)
        } else {
            find_indicator(&node.children, code)
        }
    })
}

/// Parses a two-decimal score such as "18.50".
pub fn parse_score(text: &str) -> Option<Decimal> {
    let (whole, fraction) = text.split_once('.')?;
    if fraction.len() != 2 || whole.is_empty() || whole.len() > 3 {
        return None;
    }
    text.parse().ok()
}

/// Which measure a leaf uses, for reports.
pub fn measure_name(measure: Measure) -> &'static str {
    match measure {
        Measure::ExecutionRate => "execution_rate",
        Measure::TraineesAgainstTarget => "trainees_against_target",
        Measure::Timeliness => "timeliness",
        Measure::SatisfactionAgainstTarget => "satisfaction_against_target",
        Measure::CostPerTrainee => "cost_per_trainee",
    }
}
