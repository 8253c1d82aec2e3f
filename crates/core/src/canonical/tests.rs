//! The fast path against the slow one.

use super::*;
use crate::crypto::{domain_hash_parts, RECORD_DOMAIN};
use crate::jcs::canonical_bytes;
use crate::ledger::precheck::{parse_stored_slow, precheck_line_slow};

/// Every line of the known-answer vectors, and thousands of one-byte
/// changes of them: the fast path accepts only what the slow path
/// accepts, with the same result, and takes the unchanged lines.
#[test]
fn the_fast_path_agrees_with_the_slow_one() {
    let vectors = include_str!("../../../../fixtures/vectors/chain-v2.jsonl");
    let mut rng = crate::workload::SplitMix64(7);
    let mut fast = 0;
    for line in vectors.lines().map(str::as_bytes) {
        assert!(
            precheck_canonical(line).is_some(),
            "a vector line takes the fast path"
        );
        fast += changed_lines_agree(line, &mut rng, 2000);
    }
    assert!(fast > 500, "changed lines that pass: {fast}");
}

/// Offers `rounds` one-byte changes of `line`, as changed and re-sealed:
/// whatever the fast path accepts, the slow path accepts with the same
/// result. Returns how many the fast path accepted.
fn changed_lines_agree(line: &[u8], rng: &mut crate::workload::SplitMix64, rounds: usize) -> usize {
    let mut fast = 0;
    for _ in 0..rounds {
        let mut changed = line.to_vec();
        let at = (rng.next_u64() % changed.len() as u64) as usize;
        changed[at] = match rng.next_u64() % 4 {
            0 => changed[at] ^ (1 << (rng.next_u64() % 8)),
            1 => b"0123456789abcdef"[(rng.next_u64() % 16) as usize],
            2 => b" \\\"{}[],:-.eE"[(rng.next_u64() % 13) as usize],
            _ => changed[at].wrapping_add(1),
        };
        // As changed, and re-sealed (so that the record hash holds
        // and the other checks decide).
        let mut resealed = changed.clone();
        reseal(&mut resealed);
        for candidate in [changed, resealed] {
            fast += fast_agrees_with_slow(&candidate) as usize;
        }
    }
    fast
}

/// True when the fast path accepts `line`; panics if the slow path
/// then disagrees.
fn fast_agrees_with_slow(line: &[u8]) -> bool {
    let slow = precheck_line_slow(line);
    let Some(checked) = precheck_canonical(line) else {
        return false;
    };
    let slow = slow.unwrap_or_else(|r| {
        panic!(
            "the fast path accepted what the slow path refuses ({r}): {}",
            String::from_utf8_lossy(line)
        )
    });
    assert_eq!(format!("{checked:?}"), format!("{slow:?}"));
    true
}

/// A record line around `event` (unsigned: prechecks do not verify
/// signatures), sealed with its record hash.
fn sealed_line(event: &Value) -> Vec<u8> {
    let record = serde_json::json!({
        "v": 2, "seq": 7, "prev": "ab".repeat(32),
        "recorded_at": "2022-03-01T09:00:00+08:00",
        "event": event, "sig": "cd".repeat(64), "hash": "00".repeat(32),
    });
    let mut line = canonical_bytes(&record).unwrap();
    reseal(&mut line);
    line
}

/// The bulk kinds' shortcut (`bulk_bodies`) against the schema: every
/// member of a generated roster and line item set to values at and past
/// the schema's edges, and thousands of one-byte changes.
#[test]
fn the_bulk_shortcut_agrees_with_the_schema() {
    let spec = crate::workload::WorkloadSpec {
        counties: 2,
        years: 1,
        first_year: 2022,
        seed: 3,
        trainees_min: 3,
        trainees_max: 4,
    };
    let mut samples = Vec::new();
    for kind in ["roster_filed", "expenditure_reported"] {
        let generated = crate::workload::Workload::new(spec)
            .find(|g| g.event["kind"] == kind)
            .expect("the workload has the kind");
        samples.push(generated.event);
    }
    let values: Vec<Value> = serde_json::from_str(
        r#"["", " ", "a b", "x", "张*华", "张 *", "张*\u3000", "张*\ufeff", "张*\u0085", "*",
            "0.00", "01.00", "-1.00", "1.0", "999999999999999.99", "1000000000000000.00",
            "530101", "53010", "5301011", "2022-01-01", "2022-1-01", "p.q:r-s_t", "a\"b", "a\\b",
            "a\nb", "ABCDEF", null, 0, 1, 4, 5, 7, 8, -1, 300, true, [], {}]"#,
    )
    .unwrap();
    let long = |n: usize| Value::from("字".repeat(n));
    let digest = |c: &str| Value::from(c.repeat(64));
    let mut values = values;
    values.extend([
        long(100),
        long(101),
        long(200),
        long(201),
        long(500),
        long(501),
    ]);
    values.extend([digest("a"), digest("A"), Value::from("a".repeat(63))]);
    let mut rng = crate::workload::SplitMix64(19);
    let (mut offered, mut fast) = (0, 0);
    for event in &samples {
        let line = sealed_line(event);
        assert!(
            precheck_canonical(&line).is_some(),
            "a generated line takes the fast path"
        );
        fast += changed_lines_agree(&line, &mut rng, 3000);
        let body = &event["body"];
        let mut paths: Vec<Vec<String>> = Vec::new();
        for (key, value) in body.as_object().unwrap() {
            paths.push(vec![key.clone()]);
            if let Value::Object(inner) = value {
                for inner_key in inner.keys() {
                    paths.push(vec![key.clone(), inner_key.clone()]);
                }
            }
        }
        for extra in [
            "roster_event_id",
            "zzz",
            "session/location",
            "trainees/0/name_masked",
            "trainees/0/person_digest",
            "trainees/0/disability_category",
            "trainees/0/disability_level",
            "trainees/0/signed",
            "trainees/0/extra",
        ] {
            paths.push(extra.split('/').map(str::to_string).collect());
        }
        for path in &paths {
            for value in values.iter().cloned().map(Some).chain([None]) {
                let mut changed = event.clone();
                let parent: String = path[..path.len() - 1]
                    .iter()
                    .map(|step| format!("/{step}"))
                    .collect();
                let Some(at) = changed.pointer_mut(&format!("/body{parent}")) else {
                    continue;
                };
                let last = path.last().unwrap();
                match (at, value) {
                    (Value::Object(members), Some(value)) => {
                        members.insert(last.clone(), value);
                    }
                    (Value::Object(members), None) => {
                        members.remove(last);
                    }
                    _ => continue,
                }
                offered += 1;
                fast += fast_agrees_with_slow(&sealed_line(&changed)) as usize;
            }
        }
    }
    assert!(
        offered > 1000 && fast > 500,
        "offered {offered}, fast {fast}"
    );
}

/// The typed replay of stored lines agrees with the one on a tree.
#[test]
fn the_typed_replay_agrees_with_the_tree() {
    let vectors = include_str!("../../../../fixtures/vectors/chain-v2.jsonl");
    let mut rng = crate::workload::SplitMix64(11);
    let mut typed = 0;
    for line in vectors.lines().map(str::as_bytes) {
        assert!(parse_stored_typed(line).is_some());
        for _ in 0..2000 {
            let mut changed = line.to_vec();
            let at = (rng.next_u64() % changed.len() as u64) as usize;
            changed[at] = b"0123456789abcdef \\\"{}[],:"[(rng.next_u64() % 25) as usize];
            reseal(&mut changed);
            if let Some(record) = parse_stored_typed(&changed) {
                typed += 1;
                let slow = parse_stored_slow(&changed).expect("the tree accepts it too");
                assert_eq!(format!("{record:?}"), format!("{slow:?}"));
            }
        }
    }
    assert!(typed > 500, "changed lines replayed: {typed}");
}

/// Recomputes the record hash of a (changed) line in place.
fn reseal(line: &mut [u8]) {
    let marker = b",\"hash\":\"";
    let Some(at) = (0..line.len())
        .rev()
        .find(|&i| line[i..].starts_with(marker))
    else {
        return;
    };
    let (hex_at, end) = (at + marker.len(), at + marker.len() + 64);
    if line.get(end) != Some(&b'"') {
        return;
    }
    let hash = domain_hash_parts(RECORD_DOMAIN, &[&line[..at], &line[end + 1..]]);
    line[hex_at..end].copy_from_slice(hash.to_hex().as_bytes());
}
