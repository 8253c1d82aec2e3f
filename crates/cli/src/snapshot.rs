//! `snapshot`: write a snapshot of the books now (an open writes one by
//! itself after folding many records), and `verify --check-snapshot`:
//! replay the chain to each snapshot's seal and compare the bytes.

use crate::error::{CliError, CliResult};
use fundledger_core::snapshot;
use fundledger_store::Store;
use std::path::Path;

/// Writes a snapshot of the books at the last seal, or at the seal
/// `at_seq`, and prints its file.
pub fn write(dir: &Path, at_seq: Option<u64>) -> CliResult<()> {
    let store = Store::open_raw(dir)?;
    let ledger = match at_seq {
        None => store.replay_until(None, None)?,
        Some(seq) => {
            if seq >= store.len() {
                return Err(CliError::usage(format!(
                    "--at-seq: the ledger holds {} records; there is no record {seq}",
                    store.len()
                )));
            }
            store.replay_each(Some(seq + 1), None, |_, _, _| {})?
        }
    };
    let size = ledger.size();
    if ledger.sealed_through() != Some(size - 1) {
        return Err(CliError::usage(format!(
            "--at-seq: record {} is not a seal; a snapshot is taken at a seal (`fundledger log --kind ledger_sealed` lists them)",
            size - 1
        )));
    }
    match store.write_snapshot(&ledger)? {
        Some(path) => println!(
            "wrote {} ({} bytes): the books after records 0..{}",
            path.display(),
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            size - 1
        ),
        None => println!(
            "a snapshot of the books after records 0..{} is there already",
            size - 1
        ),
    }
    Ok(())
}

/// Replays the chain to each snapshot's seal, encodes that state and
/// compares it with the snapshot's bytes.
pub fn check(dir: &Path) -> CliResult<()> {
    let store = Store::open_raw(dir)?;
    let files = store.snapshots();
    if files.is_empty() {
        println!(
            "snapshot check: no snapshot of the books in {}",
            dir.display()
        );
        return Ok(());
    }
    for (size, path) in files {
        let failed =
            |why: String| CliError::rejected(format!("FAILED: snapshot {}: {why}", path.display()));
        let bytes = std::fs::read(&path).map_err(|e| failed(format!("cannot read: {e}")))?;
        let (header, body) = snapshot::open(&bytes).map_err(|r| failed(r.to_string()))?;
        let ledger = store.replay_each(Some(size), None, |_, _, _| {})?;
        if ledger.size() != size {
            return Err(failed(format!(
                "it covers {size} records and the chain holds {}",
                ledger.size()
            )));
        }
        let replayed = store
            .reader()
            .encode_snapshot(&ledger)
            .ok_or_else(|| failed(format!("record {} is not a seal", size - 1)))?;
        let (replayed_header, replayed_body) =
            snapshot::open(&replayed).expect("a fresh encoding opens");
        if replayed_header.head != header.head || replayed_body != body {
            return Err(failed(format!(
                "its books are not those a replay of records 0..{} gives (body BLAKE3 {} here, {} replayed)",
                size - 1,
                header.body_blake3,
                replayed_header.body_blake3
            )));
        }
        println!(
            "snapshot ok: {} is the books a replay of records 0..{} gives",
            path.display(),
            size - 1
        );
    }
    Ok(())
}
