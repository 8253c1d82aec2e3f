//! Known-answer vectors for chain format v2 (`fixtures/vectors/`): a tiny
//! chain of two sealed batches with every intermediate value, so a second
//! implementation can test itself. The test recomputes each value apart
//! from the ledger code — plain BLAKE3 over the documented byte strings,
//! and the Merkle tree, proofs and signed notes with independent
//! implementations (`tlog_tiles`, `signed_note`: ports of Go's tlog and note
//! packages) — and checks the committed files; `FUNDLEDGER_BLESS=1`
//! rewrites them.

use crate::support::repo;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fundledger_core::checkpoint::{key_id, verifier_key, SignedCheckpoint};
use fundledger_core::crypto::{person_digest, PublicKey, SecretKey};
use fundledger_core::ids::Hash32;
use fundledger_core::jcs::canonical_bytes;
use fundledger_core::ledger::{BatchItem, Ledger, RecordClock};
use fundledger_core::receipt::Receipt;
use serde_json::{json, Value};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::tlog::{
    check_record, check_tree, record_hash, stored_hashes, tree_hash, Error, Hash, HashReader,
};

/// Two batches: record 0 (then its seal), and three events (then their seal).
fn batches(ledger_id: Option<Hash32>) -> Vec<Vec<(Value, &'static str)>> {
    let op = SecretKey::demo("vector-operator");
    let city = SecretKey::demo("vector-city");
    let mut second = vec![
        (
            json!({"id": "enrol.city", "actor": "op", "kind": "actor_enrolled", "at": "2022-01-04T09:01:00+08:00",
                   "body": {"actor": "city", "role": "city", "key": city.public().to_hex()}}),
            "vector-operator",
        ),
        (
            json!({"id": "p.opened", "actor": "city", "kind": "program_opened", "at": "2022-01-10T10:00:00+08:00",
                   "body": {"program": "p", "fiscal_year": 2022, "name": "培训\"补助\"\n", "funding_documents": [],
                            "districts": [{"code": "530128", "name": "禄劝县"}],
                            "targets": {"trainees_min": 10, "satisfaction_min": "80.00"},
                            "deadlines": {"training_ledger_due_local": "2022-10-30", "fund_use_report_due_local": "2022-11-30"}}}),
            "vector-city",
        ),
        (
            json!({"id": "p.budget", "actor": "city", "kind": "budget_approved", "at": "2022-01-20T10:00:00+08:00",
                   "body": {"program": "p", "amount_cny": "370000.00", "document": {"number": "昆财社〔2022〕34号", "title": "t"}}}),
            "vector-city",
        ),
    ];
    if let Some(id) = ledger_id {
        for (event, _) in &mut second {
            event["ledger"] = json!(id.to_hex());
        }
    }
    vec![
        vec![(
            json!({"id": "ledger-opened", "actor": "op", "kind": "ledger_opened", "at": "2022-01-04T09:00:00+08:00",
                   "body": {"name": "向量 vector ledger", "operator_key": op.public().to_hex(), "currency": "CNY",
                            "utc_offset": "+08:00", "nonce": "5e".repeat(32)}}),
            "vector-operator",
        )],
        second,
    ]
}

fn hex_blake3(domain: &str, bytes: &[u8]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(domain.as_bytes());
    h.update(&[0]);
    h.update(bytes);
    h.finalize().to_hex().to_string()
}

/// The chain, built by the ledger code.
fn chain() -> (Ledger, Vec<Vec<u8>>) {
    let op = SecretKey::demo("vector-operator");
    let mut ledger = Ledger::new();
    let mut lines = Vec::new();
    for index in 0..2 {
        let batch = batches(ledger.ledger_id()).swap_remove(index);
        let sigs: Vec<String> = batch
            .iter()
            .map(|(event, signer)| SecretKey::demo(signer).sign_event(event).unwrap())
            .collect();
        let items: Vec<BatchItem<'_>> = batch
            .iter()
            .zip(&sigs)
            .map(|((event, _), sig)| BatchItem { event, sig })
            .collect();
        let decided = ledger
            .append_batch(&items, RecordClock::EventAt, &op)
            .unwrap();
        lines.extend(decided.records.iter().map(|r| r.bytes.clone()));
        ledger = decided.ledger;
    }
    (ledger, lines)
}

fn b64(hash: &[u8]) -> String {
    BASE64.encode(hash)
}

fn build() -> (String, Value) {
    let (ledger, lines) = chain();
    let tree = ledger.merkle_tree().unwrap();
    let mut records = Vec::new();
    for line in &lines {
        let record: Value = serde_json::from_slice(line).unwrap();
        let event_jcs = String::from_utf8(canonical_bytes(&record["event"]).unwrap()).unwrap();
        let mut without_hash = record.clone();
        without_hash.as_object_mut().unwrap().remove("hash");
        let record_jcs = String::from_utf8(canonical_bytes(&without_hash).unwrap()).unwrap();
        let hash = Hash32::parse(record["hash"].as_str().unwrap()).unwrap();
        let signer = if record["event"]["actor"] == "city" {
            "vector-city"
        } else {
            "vector-operator"
        };
        records.push(json!({
            "seq": record["seq"],
            "signer_public_key": SecretKey::demo(signer).public().to_hex(),
            "event_jcs": event_jcs,
            "event_hash": hex_blake3("fundledger:event:v1", event_jcs.as_bytes()),
            "sig": record["sig"],
            "record_without_hash_jcs": record_jcs,
            "hash": hash.to_hex(),
            "leaf_hash_base64": b64(&fundledger_core::merkle::leaf_hash(&hash.0)),
        }));
    }
    let roots: Vec<String> = (1..=lines.len() as u64)
        .map(|size| b64(&tree.root(size).unwrap()))
        .collect();
    let op = SecretKey::demo("vector-operator").public();
    let seal: Value = serde_json::from_slice(&lines[5]).unwrap();
    let note = seal["event"]["body"]["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let origin = SignedCheckpoint::parse(&note).unwrap().checkpoint.origin;
    let proof = tree.inclusion_proof(3, 5).unwrap();
    let expected = json!({
        "about": "Known-answer vectors for fundledger chain format v2 (docs/format.md). Keys are demo keys: SecretKey seed = BLAKE3 derive_key(\"fundledger:demo-key:v1\", label).",
        "secret_key_seeds": {
            "vector-operator": SecretKey::demo("vector-operator").seed_hex(),
            "vector-city": SecretKey::demo("vector-city").seed_hex(),
        },
        "ledger_id": ledger.ledger_id().unwrap().to_hex(),
        "records": records,
        "merkle_roots_base64_by_size": roots,
        "checkpoint": {
            "note": note,
            "origin": origin,
            "key_id": format!("{:08x}", key_id(&origin, &op)),
            "verifier_key": verifier_key(&origin, &op),
        },
        "inclusion_proof": {"seq": 3, "size": 5, "hashes_base64": proof.iter().map(|h| b64(h)).collect::<Vec<_>>()},
        "consistency_proof": {"from": 1, "to": 5, "hashes_base64": tree.consistency_proof(1, 5).unwrap().iter().map(|h| b64(h)).collect::<Vec<_>>()},
        "receipt": Receipt::render(&lines[3], 3, &proof, &note),
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
    let mut text = String::new();
    for line in &lines {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    (text, expected)
}

/// tlog's stored hashes, as its tests keep them.
struct Stored(Vec<Hash>);

impl HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        Ok(indexes.iter().map(|i| self.0[*i as usize]).collect())
    }
}

fn hash_of(b64_text: &Value) -> Hash {
    Hash(
        BASE64
            .decode(b64_text.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
}

#[test]
fn known_answer_vectors_hold() {
    let dir = repo().join("fixtures/vectors");
    let (lines, expected) = build();
    let expected_text = serde_json::to_string_pretty(&expected).unwrap() + "\n";
    if std::env::var_os("FUNDLEDGER_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("chain-v2.jsonl"), &lines).unwrap();
        std::fs::write(dir.join("chain-v2.expected.json"), &expected_text).unwrap();
    }
    let committed_lines = std::fs::read_to_string(dir.join("chain-v2.jsonl")).unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chain-v2.expected.json")).unwrap())
            .unwrap();
    // 1. This implementation still produces the committed bytes and values.
    assert_eq!(
        committed_lines, lines,
        "chain-v2.jsonl changed: the format is frozen"
    );
    assert_eq!(
        committed, expected,
        "chain-v2.expected.json changed: the format is frozen"
    );
    // 2. Every committed value follows from the documented recipe alone.
    let stored = recompute_chain(&committed_lines, &committed);
    check_merkle_values(&committed, &stored);
    check_note_independently(&committed);
    for case in committed["jcs_cases"].as_array().unwrap() {
        let input: Value = serde_json::from_str(case["input"].as_str().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(canonical_bytes(&input).unwrap()).unwrap(),
            case["canonical"]
        );
    }
}

/// Records, event hashes, signatures, links and record hashes from BLAKE3
/// and Ed25519 alone; returns tlog's stored hashes of the record tree.
fn recompute_chain(lines: &str, committed: &Value) -> Stored {
    let mut prev = "0".repeat(64);
    let mut stored = Stored(Vec::new());
    for (n, (line, rec)) in lines
        .lines()
        .zip(committed["records"].as_array().unwrap())
        .enumerate()
    {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["v"], 2);
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
        // Every event after record 0 names the ledger: the hash of record 0.
        if n > 0 {
            assert_eq!(record["event"]["ledger"], committed["ledger_id"]);
        }
        assert_eq!(record["prev"], prev.as_str());
        let mut without_hash = record.clone();
        without_hash.as_object_mut().unwrap().remove("hash");
        let jcs = String::from_utf8(canonical_bytes(&without_hash).unwrap()).unwrap();
        assert_eq!(jcs, rec["record_without_hash_jcs"]);
        let hash = hex_blake3("fundledger:record:v1", jcs.as_bytes());
        assert_eq!(record["hash"], hash.as_str());
        // The leaf is the record hash's 32 bytes, hashed as RFC 6962 says.
        let data = hex::decode(&hash).unwrap();
        assert_eq!(record_hash(&data), hash_of(&rec["leaf_hash_base64"]));
        let more = stored_hashes(n as u64, &data, &stored).unwrap();
        stored.0.extend(more);
        prev = hash;
    }
    stored
}

/// Roots and proofs against tlog's implementation.
fn check_merkle_values(committed: &Value, stored: &Stored) {
    let roots = committed["merkle_roots_base64_by_size"].as_array().unwrap();
    for (i, root) in roots.iter().enumerate() {
        assert_eq!(tree_hash(i as u64 + 1, stored).unwrap(), hash_of(root));
    }
    let inclusion = &committed["inclusion_proof"];
    let proof: Vec<Hash> = inclusion["hashes_base64"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash_of)
        .collect();
    let leaf = hash_of(&committed["records"][3]["leaf_hash_base64"]);
    check_record(&proof, 5, hash_of(&roots[4]), 3, leaf).unwrap();
    let consistency = &committed["consistency_proof"];
    let proof: Vec<Hash> = consistency["hashes_base64"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash_of)
        .collect();
    check_tree(&proof, 5, hash_of(&roots[4]), 1, hash_of(&roots[0])).unwrap();
}

/// The seal's note as a C2SP signed note and tlog-checkpoint, by the
/// independent implementations, and the receipt by the documented steps.
fn check_note_independently(committed: &Value) {
    let cp = &committed["checkpoint"];
    let text = cp["note"].as_str().unwrap();
    let note = Note::from_bytes(text.as_bytes()).unwrap();
    let verifier = StandardVerifier::new(cp["verifier_key"].as_str().unwrap()).unwrap();
    let (verified, _) = note
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .unwrap();
    assert_eq!(verified.len(), 1);
    let checkpoint = tlog_tiles::checkpoint::Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(checkpoint.origin(), cp["origin"].as_str().unwrap());
    assert_eq!(checkpoint.size(), 5);
    assert_eq!(
        *checkpoint.hash(),
        hash_of(&committed["merkle_roots_base64_by_size"][4])
    );
    // The key ID: the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key).
    let op = PublicKey::parse(
        committed["records"][0]["signer_public_key"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let id = signed_note::key_id(
        cp["origin"].as_str().unwrap(),
        &[&[1u8][..], op.0.as_bytes()].concat(),
    );
    assert_eq!(format!("{id:08x}"), cp["key_id"]);
    // The receipt checks with the operator's key.
    let receipt = Receipt::parse(committed["receipt"].as_str().unwrap()).unwrap();
    let record = receipt.verify(&op).unwrap();
    assert_eq!(record.event_id(), "p.opened");
}

#[test]
fn the_binary_verifies_the_vector_chain() {
    let out = crate::support::ok(
        &repo(),
        &["verify", "--file", "fixtures/vectors/chain-v2.jsonl"],
    );
    assert!(out.starts_with("ok: 6 records, head "), "{out}");
    assert!(out.contains("sealed through seq 5"), "{out}");
}
