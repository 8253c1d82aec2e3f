//! The attacks issue #10 found against format v1, as someone without any
//! key would make them on an export: change, drop, reorder or re-time a
//! record and recompute every `prev`, `seq` and `hash`. Format v2 refuses
//! each from the export alone, at the operator's seal that covers it; an
//! event signed for one ledger is refused by another, at append and at
//! verify; an expenditure naming a roster that is not there is refused.

use crate::chain::{demo_export, join, key};
use crate::support::{demo_ledger, demo_ledger_id, fails, ok, tempdir};
use fundledger_core::crypto::{domain_hash, SecretKey, RECORD_DOMAIN};
use fundledger_core::jcs::canonical_bytes;
use serde_json::{json, Value};

/// Recomputes seq, prev and hash of every record from `from` on, as an
/// attacker rewriting an export would.
pub fn rehash(lines: &mut [Vec<u8>], from: usize) {
    let hash_of = |line: &[u8]| serde_json::from_slice::<Value>(line).unwrap()["hash"].clone();
    let mut prev = (from > 0).then(|| hash_of(&lines[from - 1]));
    for (seq, line) in lines.iter_mut().enumerate().skip(from) {
        let mut record: Value = serde_json::from_slice(line).unwrap();
        record["seq"] = json!(seq);
        if let Some(p) = &prev {
            record["prev"] = p.clone();
        }
        record.as_object_mut().unwrap().remove("hash");
        let hash = domain_hash(RECORD_DOMAIN, &canonical_bytes(&record).unwrap()).to_hex();
        record["hash"] = json!(hash);
        *line = canonical_bytes(&record).unwrap();
        prev = Some(json!(hash));
    }
}

/// `verify --file` of the rewritten export must fail at the demo's last
/// seal (seq `seal`), saying why.
fn refused_at_the_seal(lines: &[Vec<u8>], seal: usize, why: &str) {
    let dir = tempdir();
    std::fs::write(dir.path().join("rewritten.jsonl"), join(lines)).unwrap();
    let err = fails(
        dir.path(),
        &["verify", "--file", "rewritten.jsonl"],
        None,
        1,
    );
    assert!(err.contains(&format!("FAILED at seq {seal}")), "{err}");
    assert!(err.contains(why), "{err}");
    assert!(err.contains("field body.checkpoint"), "{err}");
}

fn set(line: &mut Vec<u8>, change: impl FnOnce(&mut Value)) {
    let mut record: Value = serde_json::from_slice(line).unwrap();
    change(&mut record);
    *line = canonical_bytes(&record).unwrap();
}

#[test]
fn a_changed_record_rehashed_fails_at_the_seal() {
    let mut lines = demo_export().clone();
    let last = lines.len() - 1;
    set(&mut lines[21], |r| {
        r["event"]["body"]["amount_cny"] = json!("30001.00")
    });
    // A changed event fails at its own seq: its actor's signature no longer
    // holds. What no actor signs (the ledger's time, the order, which
    // records there are) is what the seal covers.
    // A fund-use report made to look filed a day earlier.
    let mut retimed = demo_export().clone();
    set(&mut retimed[112], |r| {
        r["recorded_at"] = json!("2022-11-24T11:00:00+08:00")
    });
    rehash(&mut retimed, 112);
    refused_at_the_seal(
        &retimed,
        last,
        "a record after the seal at seq 1 was changed, dropped, added, reordered or re-timed",
    );
    rehash(&mut lines, 21);
    let dir = tempdir();
    std::fs::write(dir.path().join("changed.jsonl"), join(&lines)).unwrap();
    let err = fails(dir.path(), &["verify", "--file", "changed.jsonl"], None, 1);
    assert!(
        err.contains("FAILED at seq 21") && err.contains("does not verify"),
        "{err}"
    );
}

#[test]
fn a_dropped_record_rehashed_fails_at_the_seal() {
    let mut lines = demo_export().clone();
    lines.remove(104); // a fund-use report nothing depends on
    rehash(&mut lines, 104);
    let seal = lines.len() - 1;
    refused_at_the_seal(&lines, seal, "records were dropped or added");
}

#[test]
fn reordered_records_rehashed_fail_at_the_seal() {
    let mut lines = demo_export().clone();
    // Two fund-use reports of different districts, times kept in order:
    // every rule still holds in the new order.
    lines.swap(104, 105);
    let time = |l: &Vec<u8>| serde_json::from_slice::<Value>(l).unwrap()["recorded_at"].clone();
    let (t104, t105) = (time(&lines[105]), time(&lines[104]));
    set(&mut lines[104], |r| r["recorded_at"] = t104);
    set(&mut lines[105], |r| r["recorded_at"] = t105);
    rehash(&mut lines, 104);
    refused_at_the_seal(&lines, lines.len() - 1, "reordered");
}

#[test]
fn an_event_signed_for_another_ledger_is_refused_at_append_and_at_verify() {
    let dir = tempdir();
    let p = dir.path();
    // Ledger B: the same operator key as the demo, another ledger.
    crate::support::empty_kunming_ledger(p, "B", "B");
    // An operator-signed event of the demo ledger, replayed: refused.
    let record: Value = serde_json::from_slice(&demo_export()[2]).unwrap();
    assert_eq!(record["event"]["ledger"], demo_ledger_id().as_str());
    let submission = json!({"event": record["event"], "sig": record["sig"]}).to_string();
    std::fs::write(p.join("replayed.json"), submission).unwrap();
    let err = fails(
        p,
        &[
            "submit",
            "--ledger",
            "B",
            "--operator-key",
            &key("kunming-dpf"),
            "replayed.json",
        ],
        None,
        1,
    );
    assert!(
        err.contains("field event.ledger")
            && err.contains(&format!("was signed for ledger {}", demo_ledger_id())),
        "{err}"
    );
    // The same record spliced into B's export by someone who rehashes it.
    let export = ok(p, &["export", "--ledger", "B"]);
    let mut lines: Vec<Vec<u8>> = export.lines().map(|l| l.as_bytes().to_vec()).collect();
    let head: Value = serde_json::from_slice(lines.last().unwrap()).unwrap();
    let mut spliced = record.clone();
    spliced["seq"] = json!(lines.len());
    spliced["prev"] = head["hash"].clone();
    spliced["recorded_at"] = head["recorded_at"].clone();
    spliced.as_object_mut().unwrap().remove("hash");
    let hash = domain_hash(RECORD_DOMAIN, &canonical_bytes(&spliced).unwrap()).to_hex();
    spliced["hash"] = json!(hash);
    lines.push(canonical_bytes(&spliced).unwrap());
    std::fs::write(p.join("spliced.jsonl"), join(&lines)).unwrap();
    let err = fails(p, &["verify", "--file", "spliced.jsonl"], None, 1);
    assert!(
        err.contains("FAILED at seq 2") && err.contains("was signed for ledger"),
        "{err}"
    );
}

#[test]
fn an_expenditure_naming_no_roster_in_force_is_refused() {
    let dir = tempdir();
    let ledger = crate::server::ledger_with_2023(dir.path());
    let ledger = ledger.to_str().unwrap();
    let append = |file: &str| {
        let args = [
            "append",
            "--ledger",
            ledger,
            "--key",
            &key("luquan-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            file,
        ];
        crate::support::run(dir.path(), &args, None)
    };
    let spend = |id: &str, roster: &str| {
        let event = json!({"id": id, "actor": "luquan-dpf", "kind": "expenditure_reported", "at": "2023-06-01T10:00:00+08:00",
               "body": {"program": "kunming-2023", "district_code": "530128", "amount_cny": "1.00",
                        "purpose": "培训", "roster_event_id": roster}});
        std::fs::write(dir.path().join("spend.json"), event.to_string()).unwrap();
        append("spend.json")
    };
    let before = ok(dir.path(), &["export", "--ledger", ledger]);
    // No such roster; a roster of the district in another program.
    for (n, roster) in [
        "kunming-2023.roster.nowhere",
        "kunming-2022.roster.530128.1",
    ]
    .iter()
    .enumerate()
    {
        let out = spend(&format!("s{n}"), roster);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("field body.roster_event_id")
                && err.contains("is not a roster of district 530128 in program \"kunming-2023\""),
            "{err}"
        );
    }
    assert_eq!(before, ok(dir.path(), &["export", "--ledger", ledger]));
    // A roster of the district in the program, once filed, is fine.
    let roster = crate::server::client_event(0, 1);
    std::fs::write(dir.path().join("roster.json"), roster.to_string()).unwrap();
    assert!(append("roster.json").status.success());
    let out = spend("s9", roster["id"].as_str().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_receipt_proves_a_record_offline() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let ledger = ledger.to_str().unwrap();
    let operator = SecretKey::demo("kunming-dpf").public().to_hex();
    ok(
        p,
        &[
            "prove",
            "--ledger",
            ledger,
            "--seq",
            "120",
            "--out",
            "settlement.tlog-proof",
        ],
    );
    let receipt = std::fs::read_to_string(p.join("settlement.tlog-proof")).unwrap();
    assert!(
        receipt.starts_with("c2sp.org/tlog-proof@v1\nextra "),
        "{receipt}"
    );
    let out = ok(
        p,
        &[
            "verify-proof",
            "--proof",
            "settlement.tlog-proof",
            "--operator-key",
            &operator,
        ],
    );
    assert!(
        out.contains("record seq 120 (settlement_filed \"kunming-2022.settlement.530181\"")
            && out.contains("at size 153"),
        "{out}"
    );
    // Another key, a changed proof hash or a changed record: refused.
    let other = SecretKey::demo("someone").public().to_hex();
    let err = fails(
        p,
        &[
            "verify-proof",
            "--proof",
            "settlement.tlog-proof",
            "--operator-key",
            &other,
        ],
        None,
        1,
    );
    assert!(err.contains("no valid signature"), "{err}");
    let lines: Vec<&str> = receipt.lines().collect();
    let mut tampered: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    tampered[3] = tampered[4].clone(); // one proof hash replaced by another
    std::fs::write(p.join("bad.tlog-proof"), tampered.join("\n") + "\n").unwrap();
    let err = fails(
        p,
        &[
            "verify-proof",
            "--proof",
            "bad.tlog-proof",
            "--operator-key",
            &operator,
        ],
        None,
        1,
    );
    assert!(
        err.contains("not proven to be in the checkpoint's tree"),
        "{err}"
    );
    // A seal covers the records before it: the last seal is in no checkpoint yet.
    let err = fails(p, &["prove", "--ledger", ledger, "--seq", "153"], None, 2);
    assert!(err.contains("a seal covers the records before it"), "{err}");
}
