//! The store on a real sled database in a temporary directory.

use super::*;

/// Records of `len` bytes (the store does not check them).
fn records(from: u64, count: u64, len: usize) -> Vec<SealedRecord> {
    (from..from + count)
        .map(|seq| SealedRecord {
            seq,
            hash: Hash32([seq as u8; 32]),
            event_id: String::new(),
            // The acknowledgement check reads the `hash` member back.
            bytes: format!(
                "{{\"seq\":{seq},\"pad\":\"{}\",\"hash\":\"{}\"}}",
                "x".repeat(len),
                Hash32([seq as u8; 32])
            )
            .into_bytes(),
        })
        .collect()
}

#[test]
fn grouped_and_blob_records_read_back_after_a_reopen_and_blobs_are_synced() {
    let dir = std::env::temp_dir().join(format!("fundledger-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = Store::create(&dir).unwrap();
    // Small records, grouped; then records of 1.2 MB, each over a quarter
    // of a 4 MiB segment: sled writes each to a blob file. (Records of
    // 500 KB made blobs only when sled happened to consolidate their leaf:
    // not in every run.)
    let mut all = records(0, 300, 700);
    all.extend(records(300, 3, 1_200_000));
    all.extend(records(303, 1, 10));
    store.append_unflushed(&all[..250]).unwrap();
    store.append_unflushed(&all[250..]).unwrap();
    store.flush().unwrap();
    let blobs = std::fs::read_dir(dir.join("blobs")).unwrap().count();
    assert!(blobs > 0, "the test means to make sled write blobs");
    assert_eq!(store.synced_blobs.lock().unwrap().len(), blobs);
    drop(store);
    let store = Store::open_raw(&dir).unwrap();
    assert_eq!(store.len(), 304);
    let read: Vec<(u64, Vec<u8>)> = store.records(0).map(Result::unwrap).collect();
    assert_eq!(read.len(), 304);
    for ((seq, bytes), record) in read.iter().zip(&all) {
        assert_eq!((*seq, bytes), (record.seq, &record.bytes));
    }
    for seq in [0, 1, 63, 64, 249, 250, 299, 300, 302, 303] {
        assert_eq!(
            store.record(seq).unwrap().as_ref(),
            Some(&all[seq as usize].bytes)
        );
    }
    assert_eq!(store.record(304).unwrap(), None);
    let reader = store.reader();
    let range = reader.range(60, 70, 4).unwrap();
    assert_eq!(
        range.iter().map(|r| r.0).collect::<Vec<_>>(),
        [60, 61, 62, 63]
    );
    assert!(reader.range(303, 400, 10).unwrap().len() == 1);
    drop((store, reader));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A store written before groups: sled's default 512 KiB segments, one bare
/// record per key. It opens with the segment size in its `conf`, reads as
/// before, takes grouped batches after its bare records, and reads them all
/// back after a reopen.
#[test]
fn a_store_written_before_groups_opens_reads_and_takes_groups() {
    let dir = std::env::temp_dir().join(format!("fundledger-store-old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let old = records(0, 40, 300);
    {
        let db = sled::Config::new()
            .path(&dir)
            .segment_size(512 * 1024)
            .open()
            .unwrap();
        for record in &old {
            db.insert(key(record.seq), record.bytes.as_slice()).unwrap();
        }
        db.flush().unwrap();
    }
    assert_eq!(segment_bytes(&dir), 512 * 1024);
    let mut store = Store::open_raw(&dir).unwrap();
    assert_eq!(store.len(), 40);
    assert_eq!(store.record(39).unwrap().as_ref(), Some(&old[39].bytes));
    let new = records(40, 100, 300);
    store.append(&new).unwrap();
    drop(store);
    let store = Store::open_raw(&dir).unwrap();
    assert_eq!(store.len(), 140);
    let all: Vec<&SealedRecord> = old.iter().chain(&new).collect();
    let read: Vec<(u64, Vec<u8>)> = store.records(0).map(Result::unwrap).collect();
    assert_eq!(read.len(), 140);
    for ((seq, bytes), record) in read.iter().zip(&all) {
        assert_eq!((*seq, bytes), (record.seq, &record.bytes));
    }
    // A range across the last bare record and the first group.
    let range = store.reader().range(38, 45, 100).unwrap();
    assert_eq!(
        range.iter().map(|r| r.0).collect::<Vec<_>>(),
        (38..45).collect::<Vec<_>>()
    );
    // The new records went in as groups: fewer keys than records.
    assert!(store.tree.len() < 140);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A ledger that reads earlier records back from its store (what every open
/// gives) decides every batch as a full ledger holding every id does:
/// reversals (also of an event in the same batch, not yet stored), identical
/// retries, conflicting reuses of an id; and a reopened store folds into the
/// same books.
#[test]
fn a_ledger_reading_back_from_its_store_decides_as_a_full_one() {
    use fundledger_core::ledger::{BatchItem, RecordClock};
    use fundledger_core::workload::{actor_key, Workload};
    use serde_json::Value;
    let (dir, mut store) = fresh_store("recall");
    let (spec, operator) = small_workload(70, 11, 5);
    let mut full = Ledger::new();
    let mut recalling = store.new_ledger();
    let mut events: Vec<(Value, String)> = Vec::new();
    let (mut batches, mut reversed_in_batch, mut retries, mut conflicts) = (0, 0, 0, 0);
    let mut generated = Workload::new(spec).peekable();
    while generated.peek().is_some() {
        // Batches of 1 to 9 events.
        let mut batch: Vec<(Value, String)> = Vec::new();
        for _ in 0..=(batches % 9) {
            let Some(mut g) = generated.next() else { break };
            if let Some(id) = full.ledger_id() {
                g.event["ledger"] = Value::from(id.to_hex());
            }
            let sig = actor_key(spec.seed, &g.actor).sign_event(&g.event).unwrap();
            batch.push((g.event, sig));
        }
        // Now and then an identical retry of an earlier event, or its id
        // with other content (which refuses the whole batch).
        if batches % 5 == 4 {
            let (event, sig) = events[events.len() / 2].clone();
            batch.push((event.clone(), sig));
            retries += 1;
            if batches % 10 == 9 {
                let mut other = event;
                other["at"] = Value::from("2031-12-30T08:00:00+08:00");
                batch.insert(0, (other, "00".repeat(64)));
                conflicts += 1;
            }
        }
        let ids: Vec<&str> = batch
            .iter()
            .map(|(e, _)| e["id"].as_str().unwrap())
            .collect();
        reversed_in_batch += batch
            .iter()
            .filter(|(e, _)| {
                e["body"]["event_id"]
                    .as_str()
                    .is_some_and(|reversed| ids.contains(&reversed))
            })
            .count();
        let items: Vec<BatchItem<'_>> = batch
            .iter()
            .map(|(event, sig)| BatchItem { event, sig })
            .collect();
        let by_full = full.append_batch(&items, RecordClock::EventAt, &operator);
        let by_recalling = recalling.append_batch(&items, RecordClock::EventAt, &operator);
        match (by_full, by_recalling) {
            (Ok(a), Ok(b)) => {
                let bytes = |d: &fundledger_core::ledger::DecidedBatch| {
                    d.records
                        .iter()
                        .map(|r| r.bytes.clone())
                        .collect::<Vec<_>>()
                };
                assert_eq!(bytes(&a), bytes(&b), "batch {batches}");
                assert_eq!(a.outcomes, b.outcomes, "batch {batches}");
                store.append(&b.records).unwrap();
                (full, recalling) = (a.ledger, b.ledger);
                recalling.mark_stored();
                events.extend(batch);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "batch {batches}");
                // The conflicting item was first: the rest go in next time.
                assert_eq!(a.index, 0, "batch {batches}: {}", a.rejection);
                batch.remove(0);
                let items: Vec<BatchItem<'_>> = batch
                    .iter()
                    .map(|(event, sig)| BatchItem { event, sig })
                    .collect();
                let a = full
                    .append_batch(&items, RecordClock::EventAt, &operator)
                    .unwrap();
                let b = recalling
                    .append_batch(&items, RecordClock::EventAt, &operator)
                    .unwrap();
                store.append(&b.records).unwrap();
                (full, recalling) = (a.ledger, b.ledger);
                recalling.mark_stored();
                events.extend(batch);
            }
            (a, b) => panic!(
                "batch {batches}: the full ledger gave {a:?}, the other {b:?}",
                a = a.map(|d| d.outcomes),
                b = b.map(|d| d.outcomes)
            ),
        }
        batches += 1;
    }
    assert!(reversed_in_batch > 0 && retries > 0 && conflicts > 0);
    assert_eq!(recalling.head(), full.head());
    let books = |l: &Ledger| {
        l.books()
            .programs()
            .map(|(id, p)| (id.clone(), serde_json::to_string(p).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(books(&recalling), books(&full));
    // The ledger reads from the store: it holds it open too.
    drop((store, recalling));
    let (_store, reopened) = Store::open(&dir).unwrap();
    assert_eq!(reopened.head(), full.head());
    assert_eq!(books(&reopened), books(&full));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new store in a fresh temporary directory named after `what`.
fn fresh_store(what: &str) -> (std::path::PathBuf, Store) {
    let dir = std::env::temp_dir().join(format!("fundledger-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::create(&dir).unwrap();
    (dir, store)
}

/// A generated workload of `counties` counties over 2030 and 2031, rosters
/// of 2 to `trainees_max`, and its operator's key.
fn small_workload(
    counties: u32,
    seed: u64,
    trainees_max: u32,
) -> (
    fundledger_core::workload::WorkloadSpec,
    fundledger_core::crypto::SecretKey,
) {
    use fundledger_core::workload::{actor_key, WorkloadSpec, OPERATOR};
    let spec = WorkloadSpec {
        counties,
        years: 2,
        first_year: 2030,
        seed,
        trainees_min: 2,
        trainees_max,
    };
    (spec, actor_key(seed, OPERATOR))
}

/// A program's findings taken from the newest snapshot and the records
/// after it are those read from the whole store, at every size; a snapshot
/// whose findings section was damaged is refused and the store read instead.
#[test]
fn findings_from_a_snapshot_and_the_records_after_it_are_those_of_the_store() {
    use fundledger_core::findings::Findings;
    use fundledger_core::ledger::{BatchItem, RecordClock};
    use fundledger_core::workload::{actor_key, Workload};
    let (dir, mut store) = fresh_store("findings");
    let (spec, operator) = small_workload(40, 5, 4);
    let mut ledger = Ledger::new();
    let mut sizes = Vec::new();
    let mut generated = Workload::new(spec).peekable();
    while generated.peek().is_some() {
        let mut batch = Vec::new();
        // The first batch is the ledger's opening alone: later events name it.
        let take = if ledger.size() == 0 { 1 } else { 7 };
        for g in generated.by_ref().take(take) {
            let mut event = g.event;
            if let Some(id) = ledger.ledger_id() {
                event["ledger"] = serde_json::Value::from(id.to_hex());
            }
            let sig = actor_key(spec.seed, &g.actor).sign_event(&event).unwrap();
            batch.push((event, sig));
        }
        let items: Vec<BatchItem<'_>> = batch
            .iter()
            .map(|(event, sig)| BatchItem { event, sig })
            .collect();
        let decided = ledger
            .append_batch(&items, RecordClock::EventAt, &operator)
            .unwrap();
        store.append(&decided.records).unwrap();
        ledger = decided.ledger;
        // A snapshot at every seal (the newest two are kept).
        if store.write_snapshot(&ledger).unwrap().is_some() {
            sizes.push(ledger.size());
        }
    }
    assert!(sizes.len() >= 2, "the workload has seals: {sizes:?}");
    let reader = store.reader();
    let programs: Vec<String> = ledger
        .books()
        .programs()
        .map(|(id, _)| id.clone())
        .collect();
    let kept: Vec<u64> = store.snapshots().iter().map(|(size, _)| *size).collect();
    let json = |f: &Findings| serde_json::to_string(f).unwrap();
    let whole = |program: &str, end: u64| {
        let mut fold = Findings::new(program);
        reader.add_findings(&mut fold, &ledger, 0..end).unwrap();
        fold
    };
    let mut from_snapshots = 0;
    for program in &programs {
        for end in kept
            .iter()
            .flat_map(|size| [*size, size + 1, size + 50])
            .chain([1, ledger.size()])
            .filter(|end| *end <= ledger.size())
        {
            if reader.snapshot_findings(program, end).unwrap().is_some() {
                from_snapshots += 1;
            }
            let (ours, theirs) = (
                json(&reader.findings_until(&ledger, program, end).unwrap()),
                json(&whole(program, end)),
            );
            assert!(ours == theirs, "{program} at {end}: the folds differ");
        }
    }
    assert!(from_snapshots > programs.len(), "{from_snapshots}");
    // The newest snapshot's last byte is its last program's findings.
    let (newest, path) = store.snapshots()[0].clone();
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let last = programs.last().unwrap();
    assert!(reader.snapshot_findings(last, newest).unwrap().is_none());
    assert!(reader
        .snapshot_findings(&programs[0], newest)
        .unwrap()
        .is_some());
    let (ours, theirs) = (
        json(&reader.findings_until(&ledger, last, ledger.size()).unwrap()),
        json(&whole(last, ledger.size())),
    );
    assert!(ours == theirs, "{last}: the folds differ");
    drop((store, reader, ledger));
    let _ = std::fs::remove_dir_all(&dir);
}
