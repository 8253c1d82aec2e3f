//! Folding an accepted event into the books. Holds no checks.

use super::{
    contribution_of, parse_score, roster_key, Applied, Books, BudgetAdjustment, Closing,
    Contribution, DistrictBooks, Filing, OffsetOut, ProgramBooks, RosterFacts, Score, Settlement,
    SpotCheck,
};
use crate::body::{Body, OffsetApplied, ProgramOpened, RosterFiled};
use crate::ids::{DistrictCode, Hash32, Timestamp};
use crate::kind::EventKind;
use crate::money::Money;
use std::sync::Arc;

impl Books {
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
                self.apply_program_opened(applied.seq, applied.recorded_at, b)
            }
            Body::BudgetApproved(b) => {
                self.program_mut(&b.program).budget_approved += b.amount_cny;
            }
            Body::ProgramClosed(b) => {
                let reason = b.reason.clone();
                let closing = Closing {
                    event_id: id.clone(),
                    filing,
                    reason,
                };
                self.program_mut(&b.program).closed = Some(closing);
            }
            Body::BudgetAdjusted(b) => {
                let adjustment = BudgetAdjustment {
                    amount_cny: b.amount_cny,
                    document: b.document.number.clone(),
                    reason: b.reason.clone(),
                };
                let program = self.program_mut(&b.program);
                program.budget_adjustments.insert(id.clone(), adjustment);
            }
            Body::SettlementImposed(b) => {
                let district = self.district_mut(&b.program, b.district_code);
                let (allocated, spent) = (district.allocated, district.spent);
                let imposed = Some(b.reason.clone());
                district.settlement = Some(settlement(&id, filing, allocated, spent, imposed));
            }
            Body::FundsReceived(b) => {
                self.program_mut(&b.program).funds_received += b.amount_cny;
            }
            Body::AllocationMade(b) => {
                self.district_mut(&b.program, b.district_code).allocated += b.amount_cny;
                self.program_mut(&b.program).allocated_total += b.amount_cny;
            }
            // Beyond their ids, rosters and fund-use filings feed projections only.
            Body::RosterFiled(b) if self.rules_only => {
                self.rosters_in_force
                    .insert(roster_key(&b.program, b.district_code, &id));
            }
            Body::FundUseReported(_) if self.rules_only => {}
            Body::RosterFiled(b) => {
                self.rosters_in_force
                    .insert(roster_key(&b.program, b.district_code, &id));
                self.apply_roster(id.clone(), filing, b)
            }
            Body::ExpenditureReported(b) => {
                self.district_mut(&b.program, b.district_code).spent += b.amount_cny;
            }
            Body::FundUseReported(b) => {
                let district = self.district_mut(&b.program, b.district_code);
                Arc::make_mut(&mut district.fund_use_reports).insert(id.as_str().into(), filing);
            }
            Body::SettlementFiled(b) => {
                self.district_mut(&b.program, b.district_code).settlement =
                    Some(settlement(&id, filing, b.allocated_cny, b.spent_cny, None));
            }
            Body::OffsetApplied(b) => self.apply_offset(&id, b),
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
                let check = SpotCheck {
                    event_id: id.clone(),
                    districts_sampled: b.districts_sampled.clone(),
                    findings: b.findings.clone(),
                    plan: b.plan.clone(),
                };
                self.program_mut(&b.program)
                    .spot_checks
                    .insert(id.clone(), check);
            }
            Body::SpotCheckPlanned(b) => self.apply_plan(applied.seq, &id, b),
            Body::EventReversed(b) => {
                let contribution = if self.reads_back_contributions() {
                    applied.reversed_original.map(contribution_of)
                } else {
                    self.contributions.remove(&b.event_id)
                };
                if let Some(contribution) = contribution {
                    self.take_back(&b.event_id, contribution);
                }
            }
            Body::LedgerOpened(_)
            | Body::ActorEnrolled(_)
            | Body::ActorRevoked(_)
            | Body::LedgerSealed(_) => {}
        }
        self.remember(applied, body, id);
    }

    /// When the program last changed, and (in a full ledger) what the event
    /// contributed, so a reversal can take it back.
    fn remember(&mut self, applied: &Applied<'_>, body: &Body, id: String) {
        if let Some(program) = body.program() {
            let rules_only = self.rules_only;
            let program = self.program_mut(program);
            program.last_recorded_at = applied.recorded_at;
            if !rules_only {
                program.record_seqs.push_back(applied.seq);
            }
        }
        if !self.rules_only {
            match body {
                Body::EventReversed(_) => self.reversal_seqs.push_back(applied.seq),
                Body::ProgramOpened(b) => {
                    let seqs = imbl::Vector::unit(applied.seq);
                    self.openings
                        .insert(b.program.clone(), (b.fiscal_year, seqs));
                }
                Body::AllocationMade(b) => {
                    if let Some((_, seqs)) = self.openings.get_mut(&b.program) {
                        seqs.push_back(applied.seq);
                    }
                }
                _ => {}
            }
            let contribution = contribution_of(body);
            if !self.recalled
                && (!matches!(contribution, Contribution::Unreversible)
                    || applied.kind == EventKind::ProgramOpened)
            {
                self.contributions.insert(id, contribution);
            }
        }
    }

    fn apply_program_opened(&mut self, seq: u64, seq_time: Timestamp, b: &ProgramOpened) {
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
                opened: Arc::new(b.clone()),
                opened_seq: seq,
                budget_approved: Money::ZERO,
                budget_adjustments: imbl::OrdMap::new(),
                closed: None,
                reopened: imbl::Vector::new(),
                funds_received: Money::ZERO,
                districts,
                allocated_total: Money::ZERO,
                surveys: imbl::OrdMap::new(),
                scores: imbl::OrdMap::new(),
                spot_checks: imbl::OrdMap::new(),
                spot_check_plans: imbl::OrdMap::new(),
                draw_basis: None,
                last_recorded_at: seq_time,
                people: Default::default(),
                record_seqs: imbl::Vector::new(),
            },
        );
    }

    /// A roster's people count once per district, and a person on two
    /// districts' rosters is double-claimed; those who signed it count as
    /// trained.
    fn apply_roster(&mut self, id: String, filing: Filing, b: &RosterFiled) {
        let digests: Vec<Hash32> = b.trainees.iter().map(|t| t.person_digest).collect();
        let signed: Vec<Hash32> = b
            .trainees
            .iter()
            .filter(|t| t.signed)
            .map(|t| t.person_digest)
            .collect();
        // Usually everyone signed: one list then, shared.
        let everyone_signed = signed.len() == digests.len();
        let person_digests = Arc::new(digests);
        let signed_digests = if everyone_signed {
            Arc::clone(&person_digests)
        } else {
            Arc::new(signed)
        };
        let district = self.district_mut(&b.program, b.district_code);
        Arc::make_mut(&mut district.rosters).insert(
            id.into(),
            RosterFacts {
                filing,
                township: b.township.clone(),
                documents_complete: b.documents_complete(),
                person_digests,
                signed_digests,
            },
        );
        district.recount();
        self.program_mut(&b.program).people = Default::default();
    }

    /// A surplus (or deficit) moved into next year's program.
    fn apply_offset(&mut self, id: &str, b: &OffsetApplied) {
        self.district_mut(&b.program, b.district_code).offset_out = Some(Box::new(OffsetOut {
            event_id: id.to_string(),
            surplus_cny: b.surplus_cny,
            into_program: b.into_program.clone(),
        }));
        self.district_mut(&b.into_program, b.district_code)
            .offset_in += b.surplus_cny;
    }

    /// Takes a reversed roster's people back out of its district and program.
    fn take_back_roster(&mut self, program: &str, code: DistrictCode, event_id: &str) {
        self.rosters_in_force
            .remove(&roster_key(program, code, event_id));
        let district = self.district_mut(program, code);
        let Some(roster) = Arc::make_mut(&mut district.rosters).remove(event_id) else {
            return;
        };
        drop(roster);
        district.recount();
        self.program_mut(program).people = Default::default();
    }

    fn take_back(&mut self, event_id: &str, contribution: Contribution) {
        match contribution {
            Contribution::Budget(p, amount) => self.program_mut(&p).budget_approved -= amount,
            Contribution::Closing(p) => {
                let program = self.program_mut(&p);
                program.closed = None;
                program.reopened.push_back(event_id.to_string());
            }
            Contribution::BudgetAdjustment(p, _) => {
                self.program_mut(&p).budget_adjustments.remove(event_id);
            }
            Contribution::Funds(p, amount) => self.program_mut(&p).funds_received -= amount,
            Contribution::Allocation(p, code, amount) => {
                self.district_mut(&p, code).allocated -= amount;
                self.program_mut(&p).allocated_total -= amount;
            }
            Contribution::Expenditure(p, code, amount) => {
                self.district_mut(&p, code).spent -= amount
            }
            Contribution::Roster(p, code) => self.take_back_roster(&p, code, event_id),
            Contribution::FundUse(p, code) => {
                let district = self.district_mut(&p, code);
                Arc::make_mut(&mut district.fund_use_reports).remove(event_id);
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
            Contribution::SpotCheckPlan(p) => {
                self.program_mut(&p).spot_check_plans.remove(event_id);
            }
            Contribution::Unreversible => {}
        }
    }

    pub(super) fn program_mut(&mut self, id: &str) -> &mut ProgramBooks {
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

/// A settlement in force, filed or imposed.
fn settlement(
    id: &str,
    filing: Filing,
    allocated_cny: Money,
    spent_cny: Money,
    imposed: Option<String>,
) -> Box<Settlement> {
    Box::new(Settlement {
        event_id: id.to_string(),
        filing,
        allocated_cny,
        spent_cny,
        imposed,
    })
}
