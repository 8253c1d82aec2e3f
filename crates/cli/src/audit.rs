//! The auditor's commands: `verify` (of a ledger or an export, with or
//! without a kept checkpoint), `checkpoint` (the operator's newest or an
//! older seal, as a C2SP note), `prove` (a receipt of one record) and
//! `verify-proof` (checking a receipt offline).

use crate::error::{CliError, CliResult};
use crate::session::Session;
use fundledger_core::checkpoint::{verifier_key, CheckpointFit, SignedCheckpoint};
use fundledger_core::crypto::PublicKey;
use fundledger_core::ledger::Ledger;
use fundledger_core::merkle::{leaf_hash, Frontier, NodeHash};
use fundledger_core::receipt::Receipt;
use fundledger_store::Store;
use fundledger_verify::{verify_stream, RecallSource, VerifyError};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;

/// The binary's error for a verification that failed.
pub fn verify_error(e: VerifyError<CliError>) -> CliError {
    match e {
        VerifyError::Read { .. } => CliError::usage(e.to_string()),
        VerifyError::Failed { .. } | VerifyError::Empty { .. } => CliError::rejected(e.to_string()),
        VerifyError::Stopped(e) => e,
    }
}

/// Streams records through full verification; returns the ledger and the
/// Merkle root of the first `wanted_size` records (what a checkpoint claims).
fn verify_with_progress(
    source: &str,
    next_line: impl FnMut(&mut Vec<u8>) -> std::io::Result<usize> + Send,
    recall: Option<&RecallSource>,
    wanted_size: Option<u64>,
) -> CliResult<(Ledger, Option<NodeHash>)> {
    let bar = crate::progress::progress(0, "verify");
    let mut frontier = Frontier::default();
    let mut wanted_root = None;
    let ledger = verify_stream(source, next_line, recall, |seq, hash, _| {
        if wanted_size.is_some_and(|size| seq < size) {
            frontier.push(leaf_hash(&hash.0));
            if wanted_size == Some(seq + 1) {
                wanted_root = Some(frontier.root());
            }
        }
        if seq % 8192 == 0 {
            bar.set_position(seq);
        }
        Ok(())
    })
    .map_err(verify_error)?;
    bar.finish_and_clear();
    Ok((ledger, wanted_root))
}

fn read_checkpoint(path: &Path) -> CliResult<SignedCheckpoint> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("checkpoint {}: cannot read: {e}", path.display())))?;
    SignedCheckpoint::parse(&text)
        .map_err(|e| CliError::rejected(format!("checkpoint {}: {e}", path.display())))
}

/// Where `verify` reads records from.
pub enum Source<'a> {
    /// A ledger directory.
    Ledger(&'a Path),
    /// An export file, or `-`.
    File(&'a str),
}

pub fn verify(
    source: Source<'_>,
    checkpoint: Option<&Path>,
    allow_unsealed: bool,
) -> CliResult<()> {
    let checkpoint = checkpoint
        .map(|p| read_checkpoint(p).map(|c| (p, c)))
        .transpose()?;
    let wanted = checkpoint.as_ref().map(|(_, c)| c.checkpoint.size);
    let (ledger, wanted_root) = match source {
        Source::Ledger(dir) => {
            let store = Store::open_for_scan(dir)?;
            let recall = RecallSource::Store(store.reader());
            let mut records = store.records(0).fuse();
            verify_with_progress(
                &format!("ledger {}", dir.display()),
                |buf| match records.next() {
                    None => Ok(0),
                    Some(Ok((_, bytes))) => {
                        buf.extend_from_slice(&bytes);
                        Ok(bytes.len() + 1)
                    }
                    Some(Err(e)) => Err(std::io::Error::other(e.to_string())),
                },
                Some(&recall),
                wanted,
            )?
        }
        Source::File("-") => {
            let mut reader = std::io::BufReader::with_capacity(1 << 20, std::io::stdin());
            // Standard input cannot be read back: the full state is kept.
            verify_with_progress(
                "input <stdin>",
                |buf| reader.read_until(b'\n', buf),
                None,
                wanted,
            )?
        }
        Source::File(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("input {path}: cannot read: {e}")))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            let recall = RecallSource::file(Path::new(path))
                .map_err(|e| CliError::usage(format!("input {path}: cannot read: {e}")))?;
            verify_with_progress(
                &format!("input {path}"),
                |buf| reader.read_until(b'\n', buf),
                Some(&recall),
                wanted,
            )?
        }
    };
    if let Some((path, signed)) = checkpoint {
        check_kept_checkpoint(&ledger, path, &signed, wanted_root)?;
    }
    println!("ok: {} records, head {}", ledger.size(), ledger.head());
    report_seals(&ledger, allow_unsealed)
}

/// A checkpoint kept from before must be contained in the chain.
fn check_kept_checkpoint(
    ledger: &Ledger,
    path: &Path,
    signed: &SignedCheckpoint,
    root: Option<NodeHash>,
) -> CliResult<()> {
    let failed =
        |why: String| CliError::rejected(format!("FAILED: checkpoint {}: {why}", path.display()));
    match signed.check_against(ledger, |_| root) {
        Ok(CheckpointFit::Contained) => {
            println!(
                "checkpoint ok: the first {} records are the ones the kept checkpoint covers",
                signed.checkpoint.size
            );
            Ok(())
        }
        Ok(CheckpointFit::Ahead) => Err(failed(format!(
            "it covers {} records but the chain ends after {}: truncated at seq {}",
            signed.checkpoint.size,
            ledger.size(),
            ledger.size()
        ))),
        Err(why) => Err(failed(why.to_string())),
    }
}

/// How far the operator's seals reach; records after the last seal are an
/// error unless `allow_unsealed`.
fn report_seals(ledger: &Ledger, allow_unsealed: bool) -> CliResult<()> {
    let last = ledger.size() - 1;
    let unsealed = match ledger.sealed_through() {
        Some(seal) if seal == last => {
            println!(
                "sealed through seq {seal}: every record is covered by the operator's signed checkpoints; \
only a truncation back to an earlier seal would go unseen without a checkpoint kept from before (--checkpoint)"
            );
            return Ok(());
        }
        Some(seal) => format!(
            "records {} to {last} follow the last seal (seq {seal}): nobody signed their order or time",
            seal + 1
        ),
        None => format!("no record is sealed: nobody signed the order or time of records 0 to {last}"),
    };
    if allow_unsealed {
        eprintln!("warning: {unsealed}");
        Ok(())
    } else {
        Err(CliError::rejected(format!(
            "FAILED: {unsealed} (--allow-unsealed accepts that)"
        )))
    }
}

/// The seal covering exactly `size` records (default: the newest).
fn seal_note(session: &Session, size: Option<u64>) -> CliResult<SignedCheckpoint> {
    let newest = session
        .ledger
        .sealed_through()
        .ok_or_else(|| CliError::rejected("the ledger holds no seal"))?;
    let seq = size.unwrap_or(newest);
    let bytes = session.store.record(seq)?.ok_or_else(|| {
        CliError::usage(format!(
            "--size {seq}: the ledger has {} records",
            session.ledger.size()
        ))
    })?;
    let record: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::usage(format!("record {seq}: {e}")))?;
    let note = record["event"]["body"]["checkpoint"]
        .as_str()
        .filter(|_| record["event"]["kind"] == "ledger_sealed")
        .ok_or_else(|| {
            CliError::usage(format!(
                "--size {seq}: record {seq} is not a seal; seals are the last record of every batch (newest: size {newest})"
            ))
        })?;
    SignedCheckpoint::parse(note).map_err(|e| CliError::rejected(format!("record {seq}: {e}")))
}

pub fn checkpoint(dir: &Path, size: Option<u64>, show_key: bool) -> CliResult<()> {
    let session = Session::open(dir)?;
    let note = seal_note(&session, size)?;
    print!("{}", note.note());
    if show_key {
        let operator = session
            .ledger
            .operator()
            .expect("an open ledger has an operator");
        eprintln!(
            "verifier key: {}",
            verifier_key(&note.checkpoint.origin, &operator.key)
        );
    }
    Ok(())
}

pub fn prove(dir: &Path, seq: u64, size: Option<u64>, out: Option<&Path>) -> CliResult<()> {
    let session = Session::open(dir)?;
    let note = seal_note(&session, size)?;
    let tree = session
        .ledger
        .merkle_tree()
        .expect("an open ledger keeps its tree");
    let proof = tree
        .inclusion_proof(seq, note.checkpoint.size)
        .map_err(|e| {
            CliError::usage(format!(
                "--seq {seq}: {e}; a seal covers the records before it (give --size of a later seal)"
            ))
        })?;
    let record = session
        .store
        .record(seq)?
        .expect("a record below the seal's size is stored");
    let receipt = Receipt::render(&record, seq, &proof, note.note());
    match out {
        Some(path) => std::fs::write(path, receipt)
            .map_err(|e| CliError::usage(format!("--out {}: {e}", path.display())))?,
        None => print!("{receipt}"),
    }
    Ok(())
}

pub fn verify_proof(path: &Path, operator: &str) -> CliResult<()> {
    let key = PublicKey::parse(operator)
        .map_err(|e| CliError::usage(format!("--operator-key: {}", e.0)))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("proof {}: cannot read: {e}", path.display())))?;
    let receipt = Receipt::parse(&text)
        .map_err(|e| CliError::rejected(format!("FAILED: proof {}: {e}", path.display())))?;
    let record = receipt
        .verify(&key)
        .map_err(|e| CliError::rejected(format!("FAILED: proof {}: {e}", path.display())))?;
    let cp = &receipt.checkpoint.checkpoint;
    println!(
        "ok: record seq {} ({} {:?}, recorded {}) is in {} at size {}, signed by the operator key",
        receipt.index,
        record.kind(),
        record.event_id(),
        record.recorded_at(),
        cp.origin,
        cp.size
    );
    Ok(())
}
