//! The money rules (`docs/rules.md`): may this body be appended now? They
//! read the books and change nothing; one function per kind of event.

use super::{
    contribution_of, parse_score, roster_key, rule, Books, Context, Contribution, DistrictBooks,
    ProgramBooks,
};
use crate::body::{
    Body, IndicatorScored, OffsetApplied, ProgramOpened, RosterFiled, SettlementFiled,
    SettlementImposed, SurveyRecorded,
};
use crate::ids::{parse_date, DistrictCode};
use crate::kind::EventKind;
use crate::money::Money;
use crate::Rejection;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

impl Books {
    /// The money rules: may this body be appended now?
    pub fn decide(&self, context: &Context<'_>, body: &Body) -> Result<(), Rejection> {
        // A closed program takes nothing (an offset into it neither).
        let into = match body {
            Body::OffsetApplied(b) => Some(b.into_program.as_str()),
            _ => None,
        };
        for program in body.program().into_iter().chain(into) {
            self.not_closed(program)?;
        }
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
                within_budget(program, total, "funds received")
            }
            Body::AllocationMade(b) => {
                let (program, district) = self.participating(&b.program, b.district_code)?;
                positive(b.amount_cny)?;
                not_settled(district, b.district_code, "")?;
                within_budget(
                    program,
                    program.allocated() + b.amount_cny,
                    "pre-allocations",
                )
            }
            Body::RosterFiled(b) => {
                let (program, district) = self.participating(&b.program, b.district_code)?;
                not_settled(district, b.district_code, "; reverse the settlement first")?;
                same_digest_secret(&program.opened, b)?;
                decide_roster(b)
            }
            Body::ExpenditureReported(b) => {
                let (_, district) = self.participating(&b.program, b.district_code)?;
                positive(b.amount_cny)?;
                not_settled(district, b.district_code, "; reverse the settlement first")?;
                match &b.roster_event_id {
                    Some(roster)
                        if !self
                            .rosters_in_force
                            .contains(&roster_key(&b.program, b.district_code, roster)) =>
                    {
                        Err(rule(
                        format!(
                            "roster_event_id {roster:?} is not a roster of district {} in program {:?} in force (filed, and not reversed)",
                            b.district_code, b.program
                        ),
                        "body.roster_event_id",
                        ))
                    }
                    _ => Ok(()),
                }
            }
            Body::FundUseReported(b) => {
                let (_, district) = self.participating(&b.program, b.district_code)?;
                not_settled(district, b.district_code, "; reverse the settlement first")
            }
            Body::SettlementFiled(b) => self.decide_settlement(b),
            Body::SettlementImposed(b) => self.decide_imposed_settlement(context, b),
            Body::BudgetAdjusted(b) => {
                let program = self.open_program(&b.program)?;
                if b.amount_cny == Money::ZERO {
                    return Err(rule(
                        "an adjustment changes the budget: its amount is not 0.00".to_string(),
                        "body.amount_cny",
                    ));
                }
                let budget = program.budget() + b.amount_cny;
                for (what, floor) in [
                    ("received", program.funds_received),
                    ("pre-allocated", program.allocated()),
                ] {
                    if budget < floor {
                        return Err(rule(
                            format!(
                                "the budget would be {budget}, {} less than what was {what} ({floor})",
                                floor - budget
                            ),
                            "body.amount_cny",
                        ));
                    }
                }
                Ok(())
            }
            Body::OffsetApplied(b) => self.decide_offset(b),
            Body::SurveyRecorded(b) => self.decide_survey(b),
            Body::IndicatorScored(b) => self.decide_score(b),
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
                match &b.plan {
                    Some(plan) if !program.spot_check_plans.contains_key(plan) => Err(rule(
                        format!("{plan:?} is not a spot-check plan in force for this program"),
                        "body.plan",
                    )),
                    _ => Ok(()),
                }
            }
            Body::SpotCheckPlanned(b) => self.decide_plan(b),
            Body::LedgerOpened(_)
            | Body::ActorEnrolled(_)
            | Body::ActorRevoked(_)
            | Body::EventReversed(_)
            | Body::LedgerSealed(_) => Ok(()),
            Body::ProgramClosed(b) => self.open_program(&b.program).map(|_| ()),
        }
    }

    /// Nothing for a closed program is accepted until its closing is reversed.
    fn not_closed(&self, program: &str) -> Result<(), Rejection> {
        match self.programs.get(program).and_then(|p| p.closed.as_ref()) {
            Some(closing) => Err(rule(
                format!(
                    "program {program:?} is closed by {:?}; reverse the closing to reopen it",
                    closing.event_id
                ),
                "body.program",
            )),
            None => Ok(()),
        }
    }

    /// The program, opened, and the district, participating in it.
    fn participating(
        &self,
        program: &str,
        code: DistrictCode,
    ) -> Result<(&ProgramBooks, &DistrictBooks), Rejection> {
        let program = self.open_program(program)?;
        let district = self.district(program, code)?;
        Ok((program, district))
    }

    fn decide_settlement(&self, b: &SettlementFiled) -> Result<(), Rejection> {
        let (_, district) = self.participating(&b.program, b.district_code)?;
        no_settlement_yet(district, b.district_code)?;
        let stated = [
            (
                b.allocated_cny,
                district.allocated,
                "allocated_cny",
                "the district's pre-allocations total",
            ),
            (
                b.spent_cny,
                district.spent,
                "spent_cny",
                "the district's reported expenditure totals",
            ),
            (
                b.surplus_cny,
                b.allocated_cny - b.spent_cny,
                "surplus_cny",
                "allocated − spent is",
            ),
        ];
        for (stated, books, name, what) in stated {
            if stated != books {
                return Err(rule(
                    format!("{name} is {stated}, but {what} {books}"),
                    &format!("body.{name}"),
                ));
            }
        }
        Ok(())
    }

    /// The city settles a district that filed no settlement, once the
    /// fund-use deadline is over.
    fn decide_imposed_settlement(
        &self,
        context: &Context<'_>,
        b: &SettlementImposed,
    ) -> Result<(), Rejection> {
        let (program, district) = self.participating(&b.program, b.district_code)?;
        no_settlement_yet(district, b.district_code)?;
        let due = parse_date(&program.opened.deadlines.fund_use_report_due_local)
            .map_err(|e| rule(e.0, "body.program"))?;
        if context.at <= crate::projection::due_end(due, context.utc_offset) {
            return Err(rule(
                format!(
                    "the fund-use deadline ({due}) is not over at {}; until it is, the district settles itself",
                    context.at
                ),
                "event.at",
            ));
        }
        Ok(())
    }

    fn decide_offset(&self, b: &OffsetApplied) -> Result<(), Rejection> {
        let (program, district) = self.participating(&b.program, b.district_code)?;
        let Some(settlement) = district.settlement.as_deref() else {
            return Err(rule(
                format!(
                    "district {} has not settled program {:?}; an offset follows the settlement",
                    b.district_code, b.program
                ),
                "body.district_code",
            ));
        };
        if let Some(offset) = district.offset_out.as_deref() {
            return Err(rule(
                format!("the surplus was already offset by {:?}", offset.event_id),
                "body.district_code",
            ));
        }
        let surplus = settlement.allocated_cny - settlement.spent_cny;
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

    fn decide_survey(&self, b: &SurveyRecorded) -> Result<(), Rejection> {
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
            if let Some(code) = question.counts.keys().find(|c| !codes.contains(c.as_str())) {
                return Err(rule(
                    format!("counts name option {code:?}, which the survey does not define"),
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

    fn decide_score(&self, b: &IndicatorScored) -> Result<(), Rejection> {
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
        let leaf = super::find_indicator(&framework.indicators, &b.indicator).ok_or_else(|| {
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
            Some(body) if self.reads_back_contributions() => Some(contribution_of(body)),
            _ => self.contributions.get(event_id).cloned(),
        };
        // Reversing the closing reopens the program; nothing else of a
        // closed program is reversed.
        if let Some(program) = contribution.as_ref().and_then(Contribution::program) {
            if !matches!(contribution, Some(Contribution::Closing(_))) {
                self.not_closed(program)?;
            }
        }
        match contribution.as_ref() {
            None | Some(Contribution::Unreversible) => {
                Err(rule(format!("{kind} events cannot be reversed"), field))
            }
            Some(Contribution::Expenditure(program, code, _))
            | Some(Contribution::Allocation(program, code, _))
            | Some(Contribution::Roster(program, code))
            | Some(Contribution::FundUse(program, code)) => {
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
            Some(Contribution::Budget(program, amount))
            | Some(Contribution::BudgetAdjustment(program, amount)) => {
                let p = &self.programs[program];
                let left = p.budget() - *amount;
                if p.funds_received > left || p.allocated() > left {
                    Err(rule(
                        format!(
                            "without this {} the budget would be {left}, less than what was received ({}) or pre-allocated ({})",
                            if kind == EventKind::BudgetAdjusted { "adjustment" } else { "approval" },
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
        if node.cross_check.is_some() && (node.measure.is_some() || !node.children.is_empty()) {
            return Err(rule(
                "only leaves scored by hand carry a cross_check".to_string(),
                &format!("{here}.cross_check"),
            ));
        }
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

/// Amounts are positive.
fn positive(amount: Money) -> Result<(), Rejection> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(rule(
            format!("amounts are positive, got {amount}"),
            "body.amount_cny",
        ))
    }
}

/// `what` would total `total`: no more than the budget approved.
fn within_budget(program: &ProgramBooks, total: Money, what: &str) -> Result<(), Rejection> {
    if total > program.budget() {
        return Err(rule(
            format!(
                "{what} would total {total}, more than the budget approved ({})",
                program.budget()
            ),
            "body.amount_cny",
        ));
    }
    Ok(())
}

/// One settlement per district and program.
fn no_settlement_yet(district: &DistrictBooks, code: DistrictCode) -> Result<(), Rejection> {
    match district.settlement.as_deref() {
        Some(settlement) => Err(rule(
            format!(
                "district {code} is already settled by {:?}; reverse that settlement first",
                settlement.event_id
            ),
            "body.district_code",
        )),
        None => Ok(()),
    }
}

/// Nothing changes a settled district's money; `hint` says what to do.
fn not_settled(district: &DistrictBooks, code: DistrictCode, hint: &str) -> Result<(), Rejection> {
    if district.settlement.is_some() {
        return Err(rule(
            format!("district {code} is already settled in this program{hint}"),
            "body.district_code",
        ));
    }
    Ok(())
}

/// A program that names its digest secret takes only rosters digested with
/// it (an honest mistake — the wrong secret file — would otherwise make the
/// same person look like two, silently).
fn same_digest_secret(program: &ProgramOpened, b: &RosterFiled) -> Result<(), Rejection> {
    let Some(expected) = program.person_digest_commitment else {
        return Ok(());
    };
    let short = |h: crate::ids::Hash32| h.to_hex()[..12].to_string();
    match b.person_digest_commitment {
        Some(commitment) if commitment == expected => Ok(()),
        Some(commitment) => Err(rule(
            format!(
                "the roster's person digests were made with another digest secret (its commitment {}…, program {:?}'s {}…); prepare the roster again with the program's secret",
                short(commitment),
                b.program,
                short(expected)
            ),
            "body.person_digest_commitment",
        )),
        None => Err(rule(
            format!(
                "program {:?} names its digest secret (commitment {}…) and this roster does not say which secret made its digests; prepare it with `fundledger prepare roster --secret`",
                b.program,
                short(expected)
            ),
            "body.person_digest_commitment",
        )),
    }
}

/// A roster's own rules: each person once, a session that ends after it starts.
fn decide_roster(b: &RosterFiled) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for (index, trainee) in b.trainees.iter().enumerate() {
        if !seen.insert(trainee.person_digest) {
            return Err(rule(
                "the same person appears twice on this roster".to_string(),
                &format!("body.trainees[{index}].person_digest"),
            ));
        }
    }
    let start =
        parse_date(&b.session.start_date).map_err(|e| rule(e.0, "body.session.start_date"))?;
    let end = parse_date(&b.session.end_date).map_err(|e| rule(e.0, "body.session.end_date"))?;
    if end < start {
        return Err(rule(
            "the session ends before it starts".to_string(),
            "body.session.end_date",
        ));
    }
    Ok(())
}
