//! Spot-check plans: each program's draw seal, and the rule that a
//! `spot_check_planned` body is exactly the draw from it ([`crate::draw`]).

use super::{rule, Books, DistrictBooks, ProgramBooks};
use crate::body::SpotCheckPlanned;
use crate::draw::{draw_districts, draw_people, parse_fraction};
use crate::ids::{parse_date, DistrictCode, Hash32, Timestamp};
use crate::merkle::NodeHash;
use crate::Rejection;
use chrono::FixedOffset;
use rust_decimal::Decimal;
use std::sync::Arc;

/// A program's draw seal: the first seal recorded after its last filing
/// deadline, with the districts' books as they stood at it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DrawBasis {
    /// The seal's seq (its checkpoint covers every record before it).
    pub seal_seq: u64,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// The root its checkpoint signs: the seed.
    pub root: NodeHash,
    /// The participating districts' books at the seal (rosters and people
    /// are empty in a rules-only ledger, which draws districts only).
    pub districts: imbl::OrdMap<DistrictCode, DistrictBooks>,
}

impl DrawBasis {
    /// The participating districts, in ascending code order.
    pub fn population(&self) -> Vec<DistrictCode> {
        self.districts.keys().copied().collect()
    }

    /// The people who had signed a roster of `district` at the seal, in
    /// ascending byte order.
    pub fn signed_people(&self, district: DistrictCode) -> Vec<Hash32> {
        let mut people: Vec<Hash32> = self
            .districts
            .get(&district)
            .map(|d| d.people(true).into_iter().collect())
            .unwrap_or_default();
        people.sort();
        people
    }

    /// The draw of `fraction`: the districts in draw order.
    pub fn districts_drawn(&self, program: &str, fraction: Decimal) -> Vec<DistrictCode> {
        draw_districts(&self.root, program, &self.population(), fraction)
    }

    /// The people to call back in `district`.
    pub fn people_drawn(&self, program: &str, district: DistrictCode, n: usize) -> Vec<Hash32> {
        draw_people(
            &self.root,
            program,
            district,
            &self.signed_people(district),
            n,
        )
    }

    /// The root in hex, as plans state it.
    pub fn root_hex(&self) -> String {
        hex::encode(self.root)
    }
}

/// A spot-check plan in force.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SpotCheckPlan {
    /// The `spot_check_planned` event.
    pub event_id: String,
    /// Its seq.
    pub seq: u64,
    /// The share of districts drawn.
    #[serde(with = "crate::snapshot::decimal_text")]
    pub fraction: Decimal,
    /// Trainees to call back in each.
    pub people_per_district: u32,
    /// The districts drawn, in draw order.
    pub districts: Vec<DistrictCode>,
}

/// The instant after which a program's filings are all due: the end of
/// the later of its two deadline days, local time.
pub fn last_deadline(program: &ProgramBooks, offset: FixedOffset) -> Option<Timestamp> {
    let d = &program.opened.deadlines;
    let ledger = parse_date(&d.training_ledger_due_local).ok()?;
    let report = parse_date(&d.fund_use_report_due_local).ok()?;
    Some(crate::projection::due_end(ledger.max(report), offset))
}

impl Books {
    /// A seal at `seq`, signing `root`, was recorded at `recorded_at`: it is
    /// the draw seal of every program whose filings were all due before it
    /// and that has none yet.
    pub fn note_seal(
        &mut self,
        seq: u64,
        root: NodeHash,
        recorded_at: Timestamp,
        offset: FixedOffset,
    ) {
        let due: Vec<String> = self
            .programs
            .iter()
            .filter(|(_, p)| p.draw_basis.is_none())
            .filter(|(_, p)| last_deadline(p, offset).is_some_and(|end| recorded_at > end))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let program = self.program_mut(&id);
            program.draw_basis = Some(Arc::new(DrawBasis {
                seal_seq: seq,
                recorded_at,
                root,
                districts: program.districts.clone(),
            }));
        }
    }

    /// The rule of `spot_check_planned`: its seal is the program's draw
    /// seal, its root that seal's, and its districts exactly the draw.
    pub(super) fn decide_plan(&self, b: &SpotCheckPlanned) -> Result<(), Rejection> {
        let program = self.open_program(&b.program)?;
        let Some(basis) = &program.draw_basis else {
            return Err(rule(
                format!(
                    "no seal has been recorded after the program's filing deadlines ({}, {}) yet; the draw is made from the first one",
                    program.opened.deadlines.training_ledger_due_local,
                    program.opened.deadlines.fund_use_report_due_local
                ),
                "body.seal_seq",
            ));
        };
        if b.seal_seq != basis.seal_seq {
            return Err(rule(
                format!(
                    "the draw is made from seal {}, the first recorded after the filing deadlines, not {}",
                    basis.seal_seq, b.seal_seq
                ),
                "body.seal_seq",
            ));
        }
        if b.checkpoint_root != basis.root_hex() {
            return Err(rule(
                format!(
                    "seal {} signs root {}, not {}",
                    basis.seal_seq,
                    basis.root_hex(),
                    b.checkpoint_root
                ),
                "body.checkpoint_root",
            ));
        }
        let fraction = parse_fraction(&b.fraction).ok_or_else(|| {
            rule(
                format!("fraction {:?} is not between 0.01 and 1.00", b.fraction),
                "body.fraction",
            )
        })?;
        let drawn = basis.districts_drawn(&b.program, fraction);
        if b.districts != drawn {
            let list: Vec<String> = drawn.iter().map(|c| c.to_string()).collect();
            return Err(rule(
                format!(
                    "the districts are not the draw of {} from seal {}, which is [{}]",
                    b.fraction,
                    basis.seal_seq,
                    list.join(", ")
                ),
                "body.districts",
            ));
        }
        Ok(())
    }

    /// Folds an accepted plan in.
    pub(super) fn apply_plan(&mut self, seq: u64, id: &str, b: &SpotCheckPlanned) {
        let plan = SpotCheckPlan {
            event_id: id.to_string(),
            seq,
            fraction: parse_fraction(&b.fraction).expect("decided"),
            people_per_district: b.people_per_district,
            districts: b.districts.clone(),
        };
        self.program_mut(&b.program)
            .spot_check_plans
            .insert(id.to_string(), plan);
    }
}
