//! Folding an accepted event into the books. Holds no checks.

use super::{
    contribution_of, parse_score, roster_key, Applied, Books, Contribution, DistrictBooks, Filing,
    OffsetOut, ProgramBooks, RosterFacts, Score, Settlement, SpotCheck,
};
use crate::body::{Body, ProgramOpened, RosterFiled};
use crate::ids::{DistrictCode, Hash32};
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
            Body::ProgramOpened(b) => self.apply_program_opened(applied.seq, b),
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
                self.district_mut(&b.program, b.district_code)
                    .fund_use_reports
                    .insert(id.clone(), filing);
            }
            Body::SettlementFiled(b) => {
                self.district_mut(&b.program, b.district_code).settlement =
                    Some(Box::new(Settlement {
                        event_id: id.clone(),
                        filing,
                        allocated_cny: b.allocated_cny,
                        spent_cny: b.spent_cny,
                    }));
            }
            Body::OffsetApplied(b) => {
                self.district_mut(&b.program, b.district_code).offset_out =
                    Some(Box::new(OffsetOut {
                        event_id: id.clone(),
                        surplus_cny: b.surplus_cny,
                        into_program: b.into_program.clone(),
                    }));
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
            Body::LedgerOpened(_)
            | Body::ActorEnrolled(_)
            | Body::ActorRevoked(_)
            | Body::LedgerSealed(_) => {}
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

    fn apply_program_opened(&mut self, seq: u64, b: &ProgramOpened) {
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

    /// A roster's people count once per district, and a person on two
    /// districts' rosters is double-claimed.
    fn apply_roster(&mut self, id: String, filing: Filing, b: &RosterFiled) {
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
            id,
            RosterFacts {
                filing,
                township: b.township.clone(),
                documents_complete: b.documents_complete(),
                person_digests: Arc::new(digests),
            },
        );
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
                self.rosters_in_force
                    .remove(&roster_key(&p, code, event_id));
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
