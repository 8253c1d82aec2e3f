//! `PERSON_CLAIMED_TWICE`: people on two rosters, of one district (medium)
//! or of two (high), one finding per pair of rosters.

use super::{people, District, Fact, Finding};
use crate::body::Body;
use std::collections::BTreeMap;

/// People two rosters share: how many, and each roster with its district.
struct SharedPeople<'a> {
    count: usize,
    first: (&'a str, &'a Fact),
    second: (&'a str, &'a Fact),
}

pub(super) fn double_claims(
    out: &mut Vec<Finding>,
    districts: &BTreeMap<String, District>,
    name: &dyn Fn(&str) -> String,
) {
    // Each person's rosters: the first in the map, any other in a list of
    // its own (most people are on one roster: no list is made). A pair is
    // ordered by seq below.
    type Claim<'a> = (&'a str, &'a Fact);
    let rosters: Vec<Claim<'_>> = districts
        .iter()
        .flat_map(|(code, d)| d.rosters.iter().map(move |r| (code.as_str(), *r)))
        .collect();
    const ONE: u32 = u32::MAX;
    let listed: usize = rosters
        .iter()
        .map(|(_, r)| match &r.body {
            Body::RosterFiled(b) => b.trainees.len(),
            _ => 0,
        })
        .sum();
    // Per person: its first roster, and its list of further ones (or ONE).
    let mut claims: crate::ids::DigestMap<(u32, u32)> =
        crate::ids::DigestMap::with_capacity_and_hasher(listed, Default::default());
    let mut further: Vec<Vec<u32>> = Vec::new();
    for (index, (_, roster)) in rosters.iter().enumerate() {
        let index = index as u32;
        let mut on_roster = people(roster);
        on_roster.sort_unstable();
        on_roster.dedup();
        for person in on_roster {
            match claims.entry(person) {
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert((index, ONE));
                }
                std::collections::hash_map::Entry::Occupied(mut entry) => {
                    let list = &mut entry.get_mut().1;
                    if *list == ONE {
                        further.push(Vec::new());
                        *list = (further.len() - 1) as u32;
                    }
                    further[*list as usize].push(index);
                }
            }
        }
    }
    // People per pair of rosters.
    let mut pairs: BTreeMap<(u64, u64), SharedPeople> = BTreeMap::new();
    let claimed_twice = claims
        .values()
        .filter(|(_, list)| *list != ONE)
        .map(|(first, list)| {
            std::iter::once(*first)
                .chain(further[*list as usize].iter().copied())
                .map(|i| rosters[i as usize])
                .collect::<Vec<Claim<'_>>>()
        });
    for rosters in claimed_twice {
        for (i, (code_a, a)) in rosters.iter().enumerate() {
            for (code_b, b) in &rosters[i + 1..] {
                let (x, y) = if a.seq < b.seq {
                    ((code_a, a), (code_b, b))
                } else {
                    ((code_b, b), (code_a, a))
                };
                pairs
                    .entry((x.1.seq, y.1.seq))
                    .or_insert(SharedPeople {
                        count: 0,
                        first: (x.0, x.1),
                        second: (y.0, y.1),
                    })
                    .count += 1;
            }
        }
    }
    for shared in pairs.into_values() {
        let (count, (code_a, a), (code_b, b)) = (shared.count, shared.first, shared.second);
        let (severity, district, zh, en) = if code_a == code_b {
            (
                "medium",
                Some(code_a.to_string()),
                format!(
                    "{}（{code_a}）有 {count} 人同时出现在台账 {} 和 {} 中",
                    name(code_a),
                    a.id,
                    b.id
                ),
                format!(
                    "{count} person(s) appear on both rosters {} and {} of district {code_a}",
                    a.id, b.id
                ),
            )
        } else {
            (
                "high",
                None,
                format!("{count} 人同时被 {}（{code_a}）的台账 {} 和 {}（{code_b}）的台账 {} 列为学员", name(code_a), a.id, name(code_b), b.id),
                format!("{count} person(s) are claimed by both district {code_a} (roster {}) and district {code_b} (roster {})", a.id, b.id),
            )
        };
        out.push(Finding {
            code: "PERSON_CLAIMED_TWICE",
            severity,
            district,
            zh,
            en,
            evidence: vec![a.evidence(), b.evidence()],
        });
    }
}
