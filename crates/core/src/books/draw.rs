//! Spot-check plans: each program's draw seal, and the rule that a
//! `spot_check_planned` body is exactly the draw from it ([`crate::draw`]).

use super::{rule, Books, DistrictBooks, ProgramBooks, RosterFacts};
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

/// How a snapshot writes a program's books: its draw basis names each
/// roster still in the books unchanged instead of writing it again (the
/// seal comes after the filing deadlines, so that is nearly every one).
/// Decided by value, so one state has one encoding.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ProgramBooksWire {
    /// The books without their draw basis.
    books: ProgramBooks,
    basis: Option<BasisWire>,
}

/// A district's rosters in a written basis: `None` for one the books
/// still hold with the same facts.
type BasisRosters = Vec<(String, Option<RosterFacts>)>;

#[derive(serde::Serialize, serde::Deserialize)]
struct BasisWire {
    seal_seq: u64,
    recorded_at: Timestamp,
    root: NodeHash,
    /// Each district's books without rosters, then its rosters: `None`
    /// for one the program's books still hold with the same facts.
    districts: Vec<(DistrictCode, DistrictBooks, BasisRosters)>,
}

impl ProgramBooks {
    /// These books as a snapshot writes them.
    pub(crate) fn to_wire(&self) -> ProgramBooksWire {
        let mut books = self.clone();
        let basis = books.draw_basis.take().map(|basis| BasisWire {
            seal_seq: basis.seal_seq,
            recorded_at: basis.recorded_at,
            root: basis.root,
            districts: basis
                .districts
                .iter()
                .map(|(code, then)| {
                    let now = self.districts.get(code);
                    let rosters = then
                        .rosters
                        .iter()
                        .map(|(id, roster)| {
                            let same = now
                                .and_then(|d| d.rosters.get(id))
                                .is_some_and(|r| r == roster);
                            (id.to_string(), (!same).then(|| roster.clone()))
                        })
                        .collect();
                    let mut rest = then.clone();
                    rest.rosters = Default::default();
                    (*code, rest, rosters)
                })
                .collect(),
        });
        ProgramBooksWire { books, basis }
    }

    /// The books a snapshot wrote ([`ProgramBooks::to_wire`]), or why not.
    pub(crate) fn from_wire(wire: ProgramBooksWire) -> Result<ProgramBooks, String> {
        let ProgramBooksWire { mut books, basis } = wire;
        if let Some(basis) = basis {
            let mut districts = imbl::OrdMap::new();
            for (code, mut then, rosters) in basis.districts {
                for (id, roster) in rosters {
                    let roster = match roster {
                        Some(roster) => roster,
                        None => books
                            .districts
                            .get(&code)
                            .and_then(|d| d.rosters.get(id.as_str()))
                            .cloned()
                            .ok_or_else(|| {
                                format!("its draw basis names roster {id} of district {code}, which its books do not hold")
                            })?,
                    };
                    Arc::make_mut(&mut then.rosters).insert(id.into(), roster);
                }
                districts.insert(code, then);
            }
            books.draw_basis = Some(Arc::new(DrawBasis {
                seal_seq: basis.seal_seq,
                recorded_at: basis.recorded_at,
                root: basis.root,
                districts,
            }));
        }
        Ok(books)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::books::{Filing, RosterFacts};

    fn roster(seq: u64, people: &[u8], signed: &[u8]) -> RosterFacts {
        let at = Timestamp::parse("2022-10-01T09:00:00+08:00").unwrap();
        let digests = |of: &[u8]| Arc::new(of.iter().map(|b| Hash32([*b; 32])).collect::<Vec<_>>());
        RosterFacts {
            filing: Filing {
                seq,
                at,
                recorded_at: at,
            },
            township: "t".into(),
            documents_complete: true,
            person_digests: digests(people),
            signed_digests: digests(signed),
        }
    }

    fn books() -> ProgramBooks {
        let line = include_str!("../../../../fixtures/kunming-2022/events.jsonl")
            .lines()
            .find(|l| l.contains("\"kind\":\"program_opened\""))
            .unwrap();
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let opened: crate::body::ProgramOpened =
            serde_json::from_value(event["body"].clone()).unwrap();
        let at = Timestamp::parse("2022-01-10T09:30:00+08:00").unwrap();
        ProgramBooks {
            opened: Arc::new(opened),
            opened_seq: 17,
            budget_approved: Default::default(),
            budget_adjustments: Default::default(),
            closed: None,
            reopened: Default::default(),
            funds_received: Default::default(),
            districts: Default::default(),
            allocated_total: Default::default(),
            surveys: Default::default(),
            scores: Default::default(),
            spot_checks: Default::default(),
            spot_check_plans: Default::default(),
            draw_basis: None,
            last_recorded_at: at,
            people: Default::default(),
            record_seqs: Default::default(),
        }
    }

    fn encoded(books: &ProgramBooks) -> Vec<u8> {
        postcard::to_stdvec(&books.to_wire()).unwrap()
    }

    /// A snapshot names the basis's rosters the books still hold unchanged,
    /// writes the others (reversed or refiled since the seal) in full, and
    /// reads back the same books: the same encoding, the same values.
    #[test]
    fn a_draw_basis_round_trips_with_changed_and_removed_rosters() {
        let code = |c: &str| DistrictCode::parse(c).unwrap();
        let mut books = books();
        let mut kept = DistrictBooks::default();
        Arc::make_mut(&mut kept.rosters).insert("r1".into(), roster(20, &[1, 2, 3], &[1, 2, 3]));
        Arc::make_mut(&mut kept.rosters).insert("r2".into(), roster(21, &[4, 5], &[4]));
        let mut changed = DistrictBooks::default();
        Arc::make_mut(&mut changed.rosters).insert("r3".into(), roster(22, &[6], &[6]));
        Arc::make_mut(&mut changed.rosters).insert("r4".into(), roster(23, &[7, 8], &[]));
        let mut then = books.districts.clone();
        then.insert(code("530103"), kept.clone());
        then.insert(code("530102"), changed.clone());
        books.draw_basis = Some(Arc::new(DrawBasis {
            seal_seq: 30,
            recorded_at: books.last_recorded_at,
            root: [9; 32],
            districts: then,
        }));
        // After the seal: r3 reversed, r4 refiled under the same id.
        Arc::make_mut(&mut changed.rosters).remove("r3");
        Arc::make_mut(&mut changed.rosters).insert("r4".into(), roster(40, &[7], &[7]));
        books.districts.insert(code("530103"), kept);
        books.districts.insert(code("530102"), changed);

        let bytes = encoded(&books);
        let wire: ProgramBooksWire = postcard::from_bytes(&bytes).unwrap();
        let named = wire
            .basis
            .as_ref()
            .unwrap()
            .districts
            .iter()
            .flat_map(|(_, _, rosters)| rosters.iter().filter(|(_, r)| r.is_none()))
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>();
        assert_eq!(named, ["r1", "r2"], "only the unchanged rosters are named");
        let back = ProgramBooks::from_wire(wire).unwrap();
        assert_eq!(encoded(&back), bytes);
        let basis = back.draw_basis.as_ref().unwrap();
        assert_eq!(
            basis.districts[&code("530102")].rosters["r4"].filing.seq,
            23,
            "the basis keeps the roster as it stood at the seal"
        );
        assert_eq!(
            basis.districts[&code("530102")].rosters["r3"].filing.seq,
            22
        );
        assert_eq!(basis.signed_people(code("530103")).len(), 4);
        // A roster everyone signed shares one list once read back.
        let r1 = &back.districts[&code("530103")].rosters["r1"];
        assert!(Arc::ptr_eq(&r1.person_digests, &r1.signed_digests));
    }

    /// A basis naming a roster its books do not hold is refused, not
    /// misread.
    #[test]
    fn a_basis_naming_a_missing_roster_is_refused() {
        let code = DistrictCode::parse("530103").unwrap();
        let mut books = books();
        let mut district = DistrictBooks::default();
        Arc::make_mut(&mut district.rosters).insert("r1".into(), roster(20, &[1], &[1]));
        books.districts.insert(code, district.clone());
        books.draw_basis = Some(Arc::new(DrawBasis {
            seal_seq: 30,
            recorded_at: books.last_recorded_at,
            root: [9; 32],
            districts: books.districts.clone(),
        }));
        let mut wire = books.to_wire();
        wire.books.districts = Default::default();
        let err = ProgramBooks::from_wire(wire).unwrap_err();
        assert!(err.contains("roster r1 of district 530103"), "{err}");
    }
}
