//! Findings about settlements, offsets and reversals (docs/audit.md).

use super::{sorted, Fact, Finding};
use crate::body::{Body, EventReversed};
use crate::ids::DistrictCode;
use crate::money::Money;
use std::collections::{BTreeMap, HashMap};

/// Each reversal that counts: who reversed what, when, why.
pub(super) fn reversal_findings(out: &mut Vec<Finding>, facts: &[&Fact], reversals: &[&Fact]) {
    let targets: HashMap<&str, &&Fact> = facts
        .iter()
        .filter(|f| !matches!(f.body, Body::EventReversed(_)))
        .map(|f| (f.id.as_str(), f))
        .collect();
    for reversal in reversals {
        let Body::EventReversed(r) = &reversal.body else {
            continue;
        };
        let target = targets.get(r.event_id.as_str());
        let mut evidence = vec![reversal.evidence()];
        evidence.extend(target.map(|t| t.evidence()));
        out.push(Finding {
            code: "EVENT_REVERSED",
            severity: "info",
            district: None,
            zh: format!(
                "{} 于 {} 撤销了 {}，理由：{}",
                reversal.actor, reversal.recorded_at, r.event_id, r.reason
            ),
            en: format!(
                "{} reversed {} at {}: {}",
                reversal.actor, r.event_id, reversal.recorded_at, r.reason
            ),
            evidence: sorted(evidence),
        });
    }
}

pub(super) fn offset_findings(
    out: &mut Vec<Finding>,
    in_force: &[&Fact],
    next_year: &[&Fact],
    name: &dyn Fn(&str) -> String,
) {
    let offsets: Vec<&Fact> = in_force
        .iter()
        .copied()
        .filter(|f| matches!(f.body, Body::OffsetApplied(_)))
        .collect();
    for fact in &offsets {
        let Body::OffsetApplied(o) = &fact.body else {
            continue;
        };
        if o.surplus_cny < Money::ZERO {
            let code = o.district_code.to_string();
            out.push(Finding {
                code: "DEFICIT_OFFSET",
                severity: "medium",
                district: Some(code.clone()),
                zh: format!(
                    "{}（{code}）的赤字 {} 元抵减入次年项目 {}",
                    name(&code),
                    o.surplus_cny,
                    o.into_program
                ),
                en: format!(
                    "district {code}'s deficit of {} CNY was offset into next year's program {}",
                    o.surplus_cny, o.into_program
                ),
                evidence: vec![fact.evidence()],
            });
        }
    }
    let balances = district_balances(in_force);
    for fact in in_force {
        let (district, surplus) = match &fact.body {
            Body::SettlementFiled(s) => (s.district_code, s.surplus_cny),
            // An imposed settlement closes the district at what the ledger
            // holds: its allocations less its spending in force.
            Body::SettlementImposed(s) => (
                s.district_code,
                balances
                    .get(&s.district_code)
                    .copied()
                    .unwrap_or(Money::ZERO),
            ),
            _ => continue,
        };
        let code = district.to_string();
        let offset = offsets
            .iter()
            .any(|f| matches!(&f.body, Body::OffsetApplied(o) if o.district_code == district));
        if surplus <= Money::ZERO || offset {
            continue;
        }
        let allocation = next_year
            .iter()
            .filter(|f| matches!(&f.body, Body::AllocationMade(a) if a.district_code == district))
            .min_by_key(|f| f.seq);
        if let Some(allocation) = allocation {
            out.push(Finding {
                code: "SURPLUS_NOT_OFFSET",
                severity: "medium",
                district: Some(code.clone()),
                zh: format!("{}（{code}）结余 {surplus} 元，次年预拨 {} 时尚未抵补", name(&code), allocation.id),
                en: format!("district {code}'s surplus of {surplus} CNY was not offset when next year's allocation {} was made", allocation.id),
                evidence: vec![fact.evidence(), allocation.evidence()],
            });
        }
    }
}

/// Each district's allocations less its spending, in force.
fn district_balances(in_force: &[&Fact]) -> BTreeMap<DistrictCode, Money> {
    let mut balances = BTreeMap::new();
    for fact in in_force {
        match &fact.body {
            Body::AllocationMade(a) => {
                *balances.entry(a.district_code).or_insert(Money::ZERO) += a.amount_cny;
            }
            Body::ExpenditureReported(e) => {
                *balances.entry(e.district_code).or_insert(Money::ZERO) -= e.amount_cny;
            }
            _ => {}
        }
    }
    balances
}

/// A settlement's district and, when the district filed it, its surplus.
fn settlement_of(fact: &Fact) -> Option<(DistrictCode, Option<Money>)> {
    match &fact.body {
        Body::SettlementFiled(s) => Some((s.district_code, Some(s.surplus_cny))),
        Body::SettlementImposed(s) => Some((s.district_code, None)),
        _ => None,
    }
}

/// A settlement reversed and another filed (or imposed) after it for the
/// same district: the year-end figures changed after they were closed.
pub(super) fn refiled_settlements(
    out: &mut Vec<Finding>,
    facts: &[&Fact],
    reversals: &[&Fact],
    in_force: &[&Fact],
    name: &dyn Fn(&str) -> String,
) {
    // Each reversed settlement, by district, with its reversal.
    let by_id: HashMap<&str, &Fact> = facts
        .iter()
        .filter(|f| settlement_of(f).is_some())
        .map(|f| (f.id.as_str(), *f))
        .collect();
    let mut reversed: BTreeMap<DistrictCode, Vec<(&Fact, &Fact, &EventReversed)>> = BTreeMap::new();
    for reversal in reversals {
        let Body::EventReversed(r) = &reversal.body else {
            continue;
        };
        if let Some(old) = by_id.get(r.event_id.as_str()) {
            let (district, _) = settlement_of(old).expect("a settlement");
            reversed
                .entry(district)
                .or_default()
                .push((old, reversal, r));
        }
    }
    for current in in_force {
        let Some((district, surplus)) = settlement_of(current) else {
            continue;
        };
        for (old, reversal, r) in reversed.get(&district).into_iter().flatten() {
            if old.seq >= current.seq {
                continue;
            }
            let code = district.to_string();
            let shown = |s: Option<Money>| s.map_or("—".to_string(), |m| m.to_string());
            let old_surplus = settlement_of(old).and_then(|(_, s)| s);
            out.push(Finding {
                code: "SETTLEMENT_REFILED",
                severity: "medium",
                district: Some(code.clone()),
                zh: format!(
                    "{}（{code}）的年终决算 {} 由 {} 于 {} 撤销（理由：{}），后以 {} 重新报送；结余 {} → {} 元",
                    name(&code),
                    old.id,
                    reversal.actor,
                    reversal.recorded_at,
                    r.reason,
                    current.id,
                    shown(old_surplus),
                    shown(surplus)
                ),
                en: format!(
                    "district {code}'s settlement {} was reversed by {} at {} ({}) and settled again by {}; surplus {} -> {} CNY",
                    old.id,
                    reversal.actor,
                    reversal.recorded_at,
                    r.reason,
                    current.id,
                    shown(old_surplus),
                    shown(surplus)
                ),
                evidence: sorted(vec![old.evidence(), reversal.evidence(), current.evidence()]),
            });
        }
    }
}
