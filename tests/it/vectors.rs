//! Known-answer vectors for chain format v1 (`fixtures/vectors/`): a tiny
//! chain with every intermediate value, so a second implementation can test
//! itself. The test recomputes each value independently of the ledger code
//! (plain BLAKE3 over the documented byte strings) and checks the committed
//! files; `FUNDLEDGER_BLESS=1` rewrites them.

use crate::support::repo;
use fundledger_core::checkpoint::Checkpoint;
use fundledger_core::crypto::{person_digest, PublicKey, SecretKey};
use fundledger_core::ids::{Hash32, Timestamp};
use fundledger_core::jcs::canonical_bytes;
use fundledger_core::ledger::{Appended, Ledger};
use serde_json::{json, Value};

fn tiny_chain() -> Vec<(Value, String)> {
    let op = SecretKey::demo("vector-operator");
    let city = SecretKey::demo("vector-city");
    vec![
        (
            json!({"id": "ledger-opened", "actor": "op", "kind": "ledger_opened", "at": "2022-01-04T09:00:00+08:00",
                   "body": {"name": "向量 vector ledger", "operator_key": op.public().to_hex(), "currency": "CNY", "utc_offset": "+08:00"}}),
            "vector-operator".to_string(),
        ),
        (
            json!({"id": "enrol.city", "actor": "op", "kind": "actor_enrolled", "at": "2022-01-04T09:01:00+08:00",
                   "body": {"actor": "city", "role": "city", "key": city.public().to_hex()}}),
            "vector-operator".to_string(),
        ),
        (
            json!({"id": "p.opened", "actor": "city", "kind": "program_opened", "at": "2022-01-10T10:00:00+08:00",
                   "body": {"program": "p", "fiscal_year": 2022, "name": "培训\"补助\"\n", "funding_documents": [],
                            "districts": [{"code": "530128", "name": "禄劝县"}],
                            "targets": {"trainees_min": 10, "satisfaction_min": "80.00"},
                            "deadlines": {"training_ledger_due_local": "2022-10-30", "fund_use_report_due_local": "2022-11-30"}}}),
            "vector-city".to_string(),
        ),
        (
            json!({"id": "p.budget", "actor": "city", "kind": "budget_approved", "at": "2022-01-20T10:00:00+08:00",
                   "body": {"program": "p", "amount_cny": "370000.00", "document": {"number": "昆财社〔2022〕34号", "title": "t"}}}),
            "vector-city".to_string(),
        ),
    ]
}

fn hex_blake3(domain: &str, bytes: &[u8]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(domain.as_bytes());
    h.update(&[0]);
    h.update(bytes);
    h.finalize().to_hex().to_string()
}

fn build() -> (String, Value) {
    let mut ledger = Ledger::new();
    let mut lines = String::new();
    let mut records = Vec::new();
    for (event, signer) in tiny_chain() {
        let key = SecretKey::demo(&signer);
        let event_jcs = String::from_utf8(canonical_bytes(&event).unwrap()).unwrap();
        let event_hash = hex_blake3("fundledger:event:v1", event_jcs.as_bytes());
        let sig = key.sign(&Hash32::parse(&event_hash).unwrap());
        let at = Timestamp::parse(event["at"].as_str().unwrap()).unwrap();
        let Appended::New(sealed) = ledger.append_event(&event, &sig, at).unwrap() else {
            panic!("new")
        };
        let line = String::from_utf8(sealed.bytes.clone()).unwrap();
        let mut without_hash: Value = serde_json::from_str(&line).unwrap();
        without_hash.as_object_mut().unwrap().remove("hash");
        let record_jcs = String::from_utf8(canonical_bytes(&without_hash).unwrap()).unwrap();
        records.push(json!({
            "seq": sealed.seq,
            "signer_public_key": key.public().to_hex(),
            "event_jcs": event_jcs,
            "event_hash": event_hash,
            "sig": sig,
            "record_without_hash_jcs": record_jcs,
            "hash": hex_blake3("fundledger:record:v1", record_jcs.as_bytes()),
        }));
        lines.push_str(&line);
        lines.push('\n');
    }
    let checkpoint = Checkpoint {
        ledger: ledger.ledger_id().unwrap(),
        size: ledger.size(),
        head: ledger.head(),
        at: Timestamp::parse("2022-02-01T00:00:00+08:00").unwrap(),
    };
    let checkpoint_jcs =
        String::from_utf8(canonical_bytes(&serde_json::to_value(&checkpoint).unwrap()).unwrap())
            .unwrap();
    let signed = checkpoint.clone().sign(&SecretKey::demo("vector-operator"));
    let expected = json!({
        "about": "Known-answer vectors for fundledger chain format v1 (docs/format.md). Keys are demo keys: SecretKey seed = BLAKE3 derive_key(\"fundledger:demo-key:v1\", label).",
        "secret_key_seeds": {
            "vector-operator": SecretKey::demo("vector-operator").seed_hex(),
            "vector-city": SecretKey::demo("vector-city").seed_hex(),
        },
        "records": records,
        "checkpoint": {
            "jcs": checkpoint_jcs,
            "hash": hex_blake3("fundledger:checkpoint:v1", checkpoint_jcs.as_bytes()),
            "signed": signed,
        },
        "jcs_cases": [
            {"input": r#"{"b":1,"a":{"d":[true,null],"c":"é\u0001\n"}}"#, "canonical": r#"{"a":{"c":"é\u0001\n","d":[true,null]},"b":1}"#},
            {"input": "{\"\u{fb33}\":1,\"\u{1f600}\":2}", "canonical": "{\"\u{1f600}\":2,\"\u{fb33}\":1}"},
        ],
        "person_digest": {
            "secret": "vector digest secret",
            "resident_id": "11010519491231002X",
            "digest": person_digest(b"vector digest secret", "11010519491231002X").to_hex(),
            "recipe": "BLAKE3 keyed_hash(key = BLAKE3 derive_key(\"fundledger:person:v1\", secret), upper-cased resident ID)",
        },
    });
    (lines, expected)
}

#[test]
fn known_answer_vectors_hold() {
    let dir = repo().join("fixtures/vectors");
    let (lines, expected) = build();
    let expected_text = serde_json::to_string_pretty(&expected).unwrap() + "\n";
    if std::env::var_os("FUNDLEDGER_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("chain-v1.jsonl"), &lines).unwrap();
        std::fs::write(dir.join("chain-v1.expected.json"), &expected_text).unwrap();
    }
    let committed_lines = std::fs::read_to_string(dir.join("chain-v1.jsonl")).unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chain-v1.expected.json")).unwrap())
            .unwrap();
    // 1. This implementation still produces the committed bytes and values.
    assert_eq!(
        committed_lines, lines,
        "chain-v1.jsonl changed: the format is frozen"
    );
    assert_eq!(
        committed, expected,
        "chain-v1.expected.json changed: the format is frozen"
    );
    // 2. Every committed value follows from the documented recipe alone.
    let mut prev = "0".repeat(64);
    for (line, rec) in committed_lines
        .lines()
        .zip(committed["records"].as_array().unwrap())
    {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            String::from_utf8(canonical_bytes(&record).unwrap()).unwrap(),
            line
        );
        let event_jcs = String::from_utf8(canonical_bytes(&record["event"]).unwrap()).unwrap();
        assert_eq!(event_jcs, rec["event_jcs"]);
        assert_eq!(
            hex_blake3("fundledger:event:v1", event_jcs.as_bytes()),
            rec["event_hash"]
        );
        let key = PublicKey::parse(rec["signer_public_key"].as_str().unwrap()).unwrap();
        assert!(key.verify(
            &Hash32::parse(rec["event_hash"].as_str().unwrap()).unwrap(),
            record["sig"].as_str().unwrap()
        ));
        assert_eq!(record["prev"], prev.as_str());
        let mut without_hash = record.clone();
        without_hash.as_object_mut().unwrap().remove("hash");
        let jcs = String::from_utf8(canonical_bytes(&without_hash).unwrap()).unwrap();
        assert_eq!(jcs, rec["record_without_hash_jcs"]);
        assert_eq!(
            record["hash"],
            hex_blake3("fundledger:record:v1", jcs.as_bytes()).as_str()
        );
        prev = record["hash"].as_str().unwrap().to_string();
    }
    let cp = &committed["checkpoint"];
    assert_eq!(
        cp["hash"],
        hex_blake3(
            "fundledger:checkpoint:v1",
            cp["jcs"].as_str().unwrap().as_bytes()
        )
        .as_str()
    );
    for case in committed["jcs_cases"].as_array().unwrap() {
        let input: Value = serde_json::from_str(case["input"].as_str().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(canonical_bytes(&input).unwrap()).unwrap(),
            case["canonical"]
        );
    }
}

#[test]
fn the_binary_verifies_the_vector_chain() {
    let out = crate::support::ok(
        &repo(),
        &["verify", "--file", "fixtures/vectors/chain-v1.jsonl"],
    );
    assert!(out.starts_with("ok: 4 records, head "), "{out}");
}
