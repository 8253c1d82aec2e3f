//! Tamper evidence: any single-byte change, reordering, deletion or
//! duplication of export lines fails verification at the right seq.

use crate::attacks::rehash;
use crate::support::{bench_ok, demo_ledger, fails, ok, run, tempdir};
use fundledger_core::ledger::Ledger;
use proptest::prelude::*;
use std::sync::OnceLock;

/// The demo ledger's export, built once per test run by the real binary.
pub fn demo_export() -> &'static Vec<Vec<u8>> {
    static EXPORT: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    EXPORT.get_or_init(|| {
        let dir = tempdir();
        let ledger = demo_ledger(dir.path());
        let text = ok(
            dir.path(),
            &["export", "--ledger", ledger.to_str().unwrap()],
        );
        text.lines().map(|l| l.as_bytes().to_vec()).collect()
    })
}

/// The verified state after each prefix of the export (cloning is O(1)).
fn prefix_states() -> &'static Vec<Ledger> {
    static STATES: OnceLock<Vec<Ledger>> = OnceLock::new();
    STATES.get_or_init(|| {
        let mut ledger = Ledger::new();
        let mut states = vec![ledger.clone()];
        for line in demo_export() {
            ledger.verify_line(line).expect("the demo export verifies");
            states.push(ledger.clone());
        }
        states
    })
}

/// Verifies export bytes with the verifier `verify --file` runs (the
/// pipeline of `fundledger-verify`: lines split at `\n`, prechecks on every
/// core, Ed25519 batches), starting from the verified state after `skip`
/// untouched lines; returns the seq of the first failure, or the record count.
fn verify_bytes(bytes: &[u8], skip: usize) -> Result<u64, u64> {
    let mut lines = bytes.split_inclusive(|b| *b == b'\n').skip(skip);
    let next_line = |buf: &mut Vec<u8>| {
        Ok(lines.next().map_or(0, |line| {
            buf.extend_from_slice(line);
            line.len()
        }))
    };
    let verified = fundledger_verify::verify_continuation(
        prefix_states()[skip].clone(),
        "input mutated",
        next_line,
        |_, _, _| Ok::<(), ()>(()),
    );
    match verified {
        Ok(ledger) => Ok(ledger.size()),
        Err(fundledger_verify::VerifyError::Failed { seq, .. }) => Err(seq),
        Err(e) => panic!("not a verdict: {e:?}"),
    }
}

pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Byte { line: usize, pos: usize, byte: u8 },
    Swap { first: usize, second: usize },
    Delete { line: usize },
    Duplicate { line: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = demo_export().len();
    prop_oneof![
        4 => (0..n, any::<prop::sample::Index>(), any::<u8>())
            .prop_map(|(line, pos, byte)| Mutation::Byte { line, pos: pos.index(demo_export()[line].len()), byte }),
        1 => (0..n, 0..n).prop_filter("two lines", |(a, b)| a != b)
            .prop_map(|(a, b)| Mutation::Swap { first: a.min(b), second: a.max(b) }),
        1 => (0..n - 1).prop_map(|line| Mutation::Delete { line }),
        1 => (0..n).prop_map(|line| Mutation::Duplicate { line }),
    ]
}

/// Applies a mutation; returns the bytes and the seq verification must name.
fn apply(mutation: &Mutation) -> (Vec<u8>, u64) {
    let mut lines = demo_export().clone();
    let expected = match *mutation {
        Mutation::Byte { line, pos, byte } => {
            let old = lines[line][pos];
            lines[line][pos] = if byte == old { old ^ 0x01 } else { byte };
            line
        }
        Mutation::Swap { first, second } => {
            lines.swap(first, second);
            first
        }
        Mutation::Delete { line } => {
            lines.remove(line);
            line
        }
        Mutation::Duplicate { line } => {
            let copy = lines[line].clone();
            lines.insert(line + 1, copy);
            line + 1
        }
    };
    (join(&lines), expected as u64)
}

#[test]
fn the_untouched_export_verifies() {
    assert_eq!(
        verify_bytes(&join(demo_export()), 0),
        Ok(demo_export().len() as u64)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn any_mutation_fails_at_the_right_seq(m in mutation()) {
        let (bytes, expected) = apply(&m);
        // Lines before `expected` are untouched: start from their verified state.
        prop_assert_eq!(verify_bytes(&bytes, expected as usize), Err(expected), "mutation {:?}", m);
    }
}

#[test]
fn the_binary_names_the_seq_and_catches_truncation_with_a_checkpoint() {
    let dir = tempdir();
    let ledger = demo_ledger(dir.path());
    let ledger = ledger.to_str().unwrap();
    let lines = demo_export();
    // An amount changed in seq 21 (an allocation).
    let mut changed = lines.clone();
    let text = String::from_utf8(changed[21].clone()).unwrap();
    assert!(text.contains("\"amount_cny\":\"30000.00\""), "{text}");
    changed[21] = text.replacen("30000.00", "30001.00", 1).into_bytes();
    std::fs::write(dir.path().join("changed.jsonl"), join(&changed)).unwrap();
    let err = fails(dir.path(), &["verify", "--file", "changed.jsonl"], None, 1);
    assert!(err.contains("FAILED at seq 21"), "{err}");
    // The whole export verifies, sealed through its last record.
    let out = ok(dir.path(), &["verify", "--ledger", ledger]);
    assert!(
        out.contains(&format!("sealed through seq {}", lines.len() - 1)),
        "{out}"
    );
    // The last seal deleted: the records after the seal before it are
    // signed by nobody, which verify refuses (and only warns about with
    // --allow-unsealed).
    let unsealed = &lines[..lines.len() - 1];
    std::fs::write(dir.path().join("unsealed.jsonl"), join(unsealed)).unwrap();
    let err = fails(dir.path(), &["verify", "--file", "unsealed.jsonl"], None, 1);
    assert!(
        err.contains(&format!(
            "records 2 to {} follow the last seal (seq 1)",
            lines.len() - 2
        )),
        "{err}"
    );
    let out = run(
        dir.path(),
        &["verify", "--file", "unsealed.jsonl", "--allow-unsealed"],
        None,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: records 2 to"));
    // Truncated back to an earlier seal: a sealed chain; only a checkpoint
    // kept from before can tell.
    let checkpoint = ok(dir.path(), &["checkpoint", "--ledger", ledger]);
    assert!(
        checkpoint.starts_with("fundledger/") && checkpoint.contains("\n\n\u{2014} fundledger/"),
        "{checkpoint}"
    );
    std::fs::write(dir.path().join("kept.checkpoint"), &checkpoint).unwrap();
    // It is a C2SP signed note any note verifier checks, with the verifier
    // key the command prints: here the independent `signed_note`.
    let out = run(
        dir.path(),
        &["checkpoint", "--ledger", ledger, "--verifier-key"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let vkey = stderr
        .lines()
        .find_map(|l| l.strip_prefix("verifier key: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    let note = signed_note::Note::from_bytes(checkpoint.as_bytes()).unwrap();
    let verifier = signed_note::StandardVerifier::new(vkey).unwrap();
    note.verify(&signed_note::VerifierList::new(vec![Box::new(verifier)]))
        .unwrap();
    let truncated = &lines[..2];
    std::fs::write(dir.path().join("truncated.jsonl"), join(truncated)).unwrap();
    let out = ok(dir.path(), &["verify", "--file", "truncated.jsonl"]);
    assert!(out.contains("sealed through seq 1"), "{out}");
    let err = fails(
        dir.path(),
        &[
            "verify",
            "--file",
            "truncated.jsonl",
            "--checkpoint",
            "kept.checkpoint",
        ],
        None,
        1,
    );
    assert!(err.contains("truncated at seq 2"), "{err}");
    let out = ok(
        dir.path(),
        &[
            "verify",
            "--ledger",
            ledger,
            "--checkpoint",
            "kept.checkpoint",
        ],
    );
    assert!(out.contains("checkpoint ok"), "{out}");
    // An older checkpoint, of the seal after record 0, is in the chain too.
    let first = ok(
        dir.path(),
        &["checkpoint", "--ledger", ledger, "--size", "1"],
    );
    std::fs::write(dir.path().join("first.checkpoint"), first).unwrap();
    let out = ok(
        dir.path(),
        &[
            "verify",
            "--file",
            "truncated.jsonl",
            "--checkpoint",
            "first.checkpoint",
        ],
    );
    assert!(out.contains("checkpoint ok"), "{out}");
}

/// The fixture's demo key file of an actor.
pub fn key(actor: &str) -> String {
    crate::support::repo()
        .join(format!("fixtures/kunming-2022/keys/{actor}.key"))
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_resealed_chain_with_one_bad_signature_fails_at_that_seq() {
    // Hashes and links are all valid; only the signature of seq 97 is wrong.
    // The parallel verifier checks signatures in batches and must still name 97.
    let dir = tempdir();
    let mut lines = demo_export().clone();
    let mut record: serde_json::Value = serde_json::from_slice(&lines[97]).unwrap();
    let other: serde_json::Value = serde_json::from_slice(&lines[98]).unwrap();
    record["sig"] = other["sig"].clone();
    lines[97] = fundledger_core::jcs::canonical_bytes(&record).unwrap();
    rehash(&mut lines, 97);
    std::fs::write(dir.path().join("resealed.jsonl"), join(&lines)).unwrap();
    let err = fails(dir.path(), &["verify", "--file", "resealed.jsonl"], None, 1);
    assert!(
        err.contains("FAILED at seq 97")
            && err.contains("field sig")
            && err.contains("does not verify"),
        "{err}"
    );
    // A rule broken later in the same chunk does not mask it: break seq 120 too.
    let mut record: serde_json::Value = serde_json::from_slice(&lines[120]).unwrap();
    record["event"]["id"] = serde_json::json!("ledger-opened");
    lines[120] = fundledger_core::jcs::canonical_bytes(&record).unwrap();
    rehash(&mut lines, 120);
    std::fs::write(dir.path().join("resealed2.jsonl"), join(&lines)).unwrap();
    let err = fails(
        dir.path(),
        &["verify", "--file", "resealed2.jsonl"],
        None,
        1,
    );
    assert!(err.contains("FAILED at seq 97"), "{err}");
    // And the library's one-at-a-time path agrees.
    assert_eq!(verify_bytes(&join(&lines), 0), Err(97));
}

#[test]
fn reopening_a_store_rechecks_hashes_links_and_rules_but_not_signatures() {
    let replay = |lines: &[Vec<u8>]| -> Result<fundledger_core::ids::Hash32, u64> {
        let mut ledger = Ledger::new();
        for line in lines {
            let seq = ledger.size();
            ledger.replay_stored(line).map_err(|_| seq)?;
        }
        Ok(ledger.head())
    };
    let lines = demo_export().clone();
    // The honest store replays to the same head full verification reaches.
    assert_eq!(
        replay(&lines).unwrap(),
        prefix_states().last().unwrap().head()
    );
    // A changed amount breaks its record hash.
    let mut changed = lines.clone();
    changed[21] = String::from_utf8(changed[21].clone())
        .unwrap()
        .replacen("30000.00", "30001.00", 1)
        .into_bytes();
    assert_eq!(replay(&changed), Err(21));
    // A deleted record breaks the links.
    let mut deleted = lines.clone();
    deleted.remove(40);
    assert_eq!(replay(&deleted), Err(40));
    // A re-sealed rule break (an event id used twice) is still caught.
    let mut reused = lines.clone();
    let mut record: serde_json::Value = serde_json::from_slice(&reused[120]).unwrap();
    record["event"]["id"] = serde_json::json!("ledger-opened");
    reused[120] = fundledger_core::jcs::canonical_bytes(&record).unwrap();
    rehash(&mut reused, 120);
    assert_eq!(replay(&reused), Err(120));
    // A re-hashed bad signature is not caught at its own seq (that is what
    // `verify` is for), but the operator's seal after it no longer holds.
    let mut forged = lines.clone();
    let mut record: serde_json::Value = serde_json::from_slice(&forged[97]).unwrap();
    record["sig"] =
        serde_json::from_slice::<serde_json::Value>(&forged[98]).unwrap()["sig"].clone();
    forged[97] = fundledger_core::jcs::canonical_bytes(&record).unwrap();
    rehash(&mut forged, 97);
    assert_eq!(replay(&forged), Err(lines.len() as u64 - 1));
    assert_eq!(verify_bytes(&join(&forged), 0), Err(97));
}

/// Signature batches are checked apart from the ordered checks, and may
/// finish after later chunks were decided: the lowest failing seq is still
/// the one reported, whichever check finds it, chunks apart, and `import`
/// keeps nothing.
#[test]
fn the_first_failure_wins_across_pipeline_chunks() {
    let dir = tempdir();
    let p = dir.path();
    bench_ok(
        p,
        &[
            "gen",
            "--out",
            "w.jsonl",
            "--counties",
            "24",
            "--years",
            "3",
            "--seed",
            "4",
            "--trainees-max",
            "110",
        ],
    );
    let lines: Vec<Vec<u8>> = std::fs::read_to_string(p.join("w.jsonl"))
        .unwrap()
        .lines()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    assert!(lines.len() > 2000, "{} records", lines.len());
    let first_id =
        serde_json::from_slice::<serde_json::Value>(&lines[0]).unwrap()["event"]["id"].clone();
    // A bad signature at `bad_sig` and a broken rule (an id used again) at
    // `bad_rule`, both re-sealed so that hashes and links hold.
    let broken = |bad_sig: usize, bad_rule: usize| {
        let mut lines = lines.clone();
        let mut record: serde_json::Value = serde_json::from_slice(&lines[bad_sig]).unwrap();
        let other: serde_json::Value = serde_json::from_slice(&lines[bad_sig + 1]).unwrap();
        record["sig"] = other["sig"].clone();
        lines[bad_sig] = fundledger_core::jcs::canonical_bytes(&record).unwrap();
        let mut record: serde_json::Value = serde_json::from_slice(&lines[bad_rule]).unwrap();
        record["event"]["id"] = first_id.clone();
        lines[bad_rule] = fundledger_core::jcs::canonical_bytes(&record).unwrap();
        rehash(&mut lines, bad_sig.min(bad_rule));
        join(&lines)
    };
    for (bad_sig, bad_rule, want) in [(700, 1900, 700), (1900, 700, 700), (1500, 1501, 1500)] {
        std::fs::write(p.join("bad.jsonl"), broken(bad_sig, bad_rule)).unwrap();
        let err = fails(p, &["verify", "--file", "bad.jsonl"], None, 1);
        assert!(
            err.contains(&format!("FAILED at seq {want} ")),
            "{bad_sig}/{bad_rule}: {err}"
        );
        let err = fails(p, &["import", "--ledger", "L", "bad.jsonl"], None, 1);
        assert!(err.contains(&format!("FAILED at seq {want} ")), "{err}");
        assert!(!p.join("L").exists(), "a failed import leaves nothing");
    }
}
