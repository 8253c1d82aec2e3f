//! Spot checks: the plans drawn from the draw seal, the checks recorded,
//! and how much of each plan was visited.

use super::{percent, Fixed2};
use crate::books::ProgramBooks;
use crate::ids::{DistrictCode, Hash32, Timestamp};
use rust_decimal::Decimal;
use serde::Serialize;

/// A spot check recorded.
#[derive(Clone, Debug, Serialize)]
pub struct SpotCheckFigures {
    /// The event.
    pub event_id: String,
    /// The plan it visited, if it names one.
    pub plan: Option<String>,
    /// Districts sampled.
    pub districts_sampled: Vec<DistrictCode>,
    /// Their names, as the program lists them.
    pub district_names: Vec<String>,
    /// sampled ÷ participating, in percent.
    pub sample_rate_percent: Option<Fixed2>,
    /// Findings.
    pub findings: String,
}

/// The program's draw seal: the first seal after its filing deadlines.
#[derive(Clone, Debug, Serialize)]
pub struct DrawSealFigures {
    /// Its seq.
    pub seal_seq: u64,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// The root its checkpoint signs, the draw's seed (hex).
    pub checkpoint_root: String,
}

/// A district of a plan.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedDistrict {
    /// Its code.
    pub code: DistrictCode,
    /// Its name.
    pub name: String,
    /// Whether a spot check naming the plan visited it.
    pub visited: bool,
    /// The trainees to call back, as person digests, in draw order.
    pub people: Vec<Hash32>,
}

/// A spot-check plan and its coverage.
#[derive(Clone, Debug, Serialize)]
pub struct SpotCheckPlanFigures {
    /// The `spot_check_planned` event.
    pub event_id: String,
    /// Its seq.
    pub seq: u64,
    /// The share of districts it draws.
    pub fraction: Fixed2,
    /// Trainees to call back in each district.
    pub people_per_district: u32,
    /// Participating districts.
    pub participating: usize,
    /// The districts drawn, in draw order.
    pub districts: Vec<PlannedDistrict>,
    /// Drawn districts a check naming the plan visited.
    pub visited: usize,
    /// visited ÷ participating, in percent.
    pub coverage_percent: Option<Fixed2>,
    /// Whether the visits reach the plan's fraction.
    pub fraction_met: bool,
}

/// The spot checks recorded.
pub fn spot_check_figures(p: &ProgramBooks) -> Vec<SpotCheckFigures> {
    p.spot_checks
        .values()
        .map(|s| SpotCheckFigures {
            event_id: s.event_id.clone(),
            plan: s.plan.clone(),
            districts_sampled: s.districts_sampled.clone(),
            district_names: s
                .districts_sampled
                .iter()
                .map(|c| {
                    p.districts
                        .get(c)
                        .map(|d| d.name.clone())
                        .unwrap_or_default()
                })
                .collect(),
            sample_rate_percent: percent(
                Decimal::from(s.districts_sampled.len()),
                Decimal::from(p.districts.len()),
            ),
            findings: s.findings.clone(),
        })
        .collect()
}

/// The draw seal, once there is one.
pub fn draw_seal_figures(p: &ProgramBooks) -> Option<DrawSealFigures> {
    p.draw_basis.as_ref().map(|b| DrawSealFigures {
        seal_seq: b.seal_seq,
        recorded_at: b.recorded_at,
        checkpoint_root: b.root_hex(),
    })
}

/// Every plan in force with its coverage.
pub fn plan_figures(p: &ProgramBooks) -> Vec<SpotCheckPlanFigures> {
    let Some(basis) = &p.draw_basis else {
        return Vec::new();
    };
    let participating = p.districts.len();
    p.spot_check_plans
        .values()
        .map(|plan| {
            let visited_codes: Vec<DistrictCode> = p
                .spot_checks
                .values()
                .filter(|s| s.plan.as_deref() == Some(plan.event_id.as_str()))
                .flat_map(|s| s.districts_sampled.iter().copied())
                .collect();
            let districts: Vec<PlannedDistrict> = plan
                .districts
                .iter()
                .map(|&code| PlannedDistrict {
                    code,
                    name: p
                        .districts
                        .get(&code)
                        .map(|d| d.name.clone())
                        .unwrap_or_default(),
                    visited: visited_codes.contains(&code),
                    people: basis.people_drawn(
                        &p.opened.program,
                        code,
                        plan.people_per_district as usize,
                    ),
                })
                .collect();
            let visited = districts.iter().filter(|d| d.visited).count();
            SpotCheckPlanFigures {
                event_id: plan.event_id.clone(),
                seq: plan.seq,
                fraction: Fixed2(plan.fraction),
                people_per_district: plan.people_per_district,
                participating,
                visited,
                coverage_percent: percent(Decimal::from(visited), Decimal::from(participating)),
                fraction_met: Decimal::from(visited)
                    >= plan.fraction * Decimal::from(participating as u64),
                districts,
            }
        })
        .collect()
}
