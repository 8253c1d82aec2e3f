//! The verifier: full verification of a stream of records on every core,
//! as `fundledger verify`, `import` and the benchmarks run it. The stream
//! and the place earlier records are read back from are given by the
//! caller; this crate reads nothing else.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod recall;
mod signatures;

pub use recall::RecallSource;

use fundledger_core::event_index::{NoRecall, Recall};
use fundledger_core::ids::Hash32;
use fundledger_core::ledger::{precheck_line, CheckedRecord, Ledger, PendingSignature};
use fundledger_core::Rejection;
use rayon::prelude::*;
use signatures::SignatureChecks;

/// Records per pipeline step of [`verify_stream`].
const VERIFY_CHUNK_RECORDS: usize = 512;
/// Bytes per pipeline step, whatever the records: two steps are in memory.
const VERIFY_CHUNK_BYTES: usize = 4 << 20;
/// Signatures per Ed25519 batch. With each key's signatures summed
/// (`fundledger_core::crypto::verify_batch`), 512 was measured 7 % faster
/// than 128 (the floor's batch) on the bench workload, and 1024 no faster.
const SIGNATURE_BATCH: usize = 512;

/// Ed25519 batches queued at most, while the ordered checks go on (each
/// holds 512 signatures with their keys and actors, some 200 KiB).
const SIGNATURE_BATCHES_QUEUED_MAX: usize = 8;

/// Why a stream did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError<E> {
    /// The stream could not be read.
    #[error("{input}: cannot read: {error}")]
    Read {
        /// What was read (`input FILE`, `ledger DIR`).
        input: String,
        /// Why.
        error: std::io::Error,
    },
    /// The first record that fails, as a one-record-at-a-time verifier
    /// would name it.
    #[error("FAILED at seq {seq} ({input}, line {}): {rejection}", seq + 1)]
    Failed {
        /// Its seq.
        seq: u64,
        /// What was read.
        input: String,
        /// Why.
        rejection: Rejection,
    },
    /// The stream holds no records at all.
    #[error("FAILED: {input} holds no records")]
    Empty {
        /// What was read.
        input: String,
    },
    /// The caller's `on_record` stopped the verification.
    #[error("{0}")]
    Stopped(E),
}

/// Full verification of a stream of records, on every core, in three steps
/// per chunk of records: the checks that need no state run in parallel
/// (parse, canonical bytes, hashes, privacy, schema); the checks that need
/// the state run in order (links, enrolment, authorization, rules); the
/// signatures are checked in Ed25519 batches of [`SIGNATURE_BATCH`], queued as soon as their
/// records are decided and run on whichever core is free (at most
/// [`SIGNATURE_BATCHES_QUEUED_MAX`] wait). While one chunk is decided, the
/// next is prechecked. The first failing seq is reported, as a
/// one-record-at-a-time verifier would. `on_record` sees each record (seq,
/// hash, bytes) once the ordered checks have passed it; its signature may
/// still be in a queued batch, so nothing `on_record` does may count until
/// this returns `Ok` (import removes its store otherwise).
///
/// With a `recall`, the chain is folded into a [`Ledger::compact`]: memory
/// stays a few bytes per record, and the returned ledger has no
/// projections. Without, into a full ledger.
pub fn verify_stream<E: Send>(
    source: &str,
    next_line: impl FnMut(&mut Vec<u8>) -> std::io::Result<usize> + Send,
    recall: Option<&RecallSource>,
    on_record: impl FnMut(u64, Hash32, &[u8]) -> Result<(), E> + Send,
) -> Result<Ledger, VerifyError<E>> {
    let (ledger, remember): (Ledger, &(dyn Recall + Sync)) = match recall {
        Some(recall) => (Ledger::compact(), recall),
        None => (Ledger::new(), &NoRecall),
    };
    let ledger = pipeline(ledger, source, next_line, recall, remember, on_record)?;
    if ledger.size() == 0 {
        return Err(VerifyError::Empty {
            input: source.to_string(),
        });
    }
    Ok(ledger)
}

/// [`verify_stream`] of the records that follow a verified prefix, whose
/// state is `verified` (a full ledger: nothing is read back).
pub fn verify_continuation<E: Send>(
    verified: Ledger,
    source: &str,
    next_line: impl FnMut(&mut Vec<u8>) -> std::io::Result<usize> + Send,
    on_record: impl FnMut(u64, Hash32, &[u8]) -> Result<(), E> + Send,
) -> Result<Ledger, VerifyError<E>> {
    pipeline(verified, source, next_line, None, &NoRecall, on_record)
}

fn pipeline<E: Send>(
    mut ledger: Ledger,
    source: &str,
    mut next_line: impl FnMut(&mut Vec<u8>) -> std::io::Result<usize> + Send,
    notes: Option<&RecallSource>,
    recall: &(dyn Recall + Sync),
    mut on_record: impl FnMut(u64, Hash32, &[u8]) -> Result<(), E> + Send,
) -> Result<Ledger, VerifyError<E>> {
    let (mut seq, mut offset) = (ledger.size(), 0u64);
    let mut read_chunk = || -> Result<Vec<Vec<u8>>, VerifyError<E>> {
        let mut chunk = Vec::with_capacity(VERIFY_CHUNK_RECORDS);
        let mut bytes = 0;
        while chunk.len() < VERIFY_CHUNK_RECORDS && bytes < VERIFY_CHUNK_BYTES {
            let mut line = Vec::new();
            let n = next_line(&mut line).map_err(|error| VerifyError::Read {
                input: source.to_string(),
                error,
            })?;
            if n == 0 {
                break;
            }
            if let Some(notes) = notes {
                notes.note(seq, offset);
            }
            seq += 1;
            offset += n as u64;
            bytes += n;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            chunk.push(line);
        }
        Ok(chunk)
    };
    let precheck = |chunk: &[Vec<u8>]| -> Vec<Result<CheckedRecord, Rejection>> {
        chunk.par_iter().map(|line| precheck_line(line)).collect()
    };
    let signatures = SignatureChecks::default();
    // The first failure of the ordered checks, if any.
    let mut failure: Option<(u64, Rejection)> = None;
    let streamed = rayon::scope(|scope| -> Result<(), VerifyError<E>> {
        let mut chunk = read_chunk()?;
        let mut checked = precheck(&chunk);
        // Signatures decided but not yet queued: batches are always full
        // (as in the floor), but the last.
        let mut unqueued: Vec<PendingSignature> = Vec::new();
        while !chunk.is_empty() {
            // Chunk k is decided while chunk k+1 is prechecked, and the
            // signatures of earlier chunks are checked on whichever core is
            // free. (Reading k+2 at the same time was measured: no faster on
            // two cores, and a third chunk in memory.)
            let next = read_chunk()?;
            let (next_checked, (hashes, found)) = rayon::join(
                || precheck(&next),
                || {
                    let mut hashes = Vec::with_capacity(checked.len());
                    for record in checked.drain(..) {
                        let seq = ledger.size();
                        match record.and_then(|r| ledger.accept_recalling(r, false, recall)) {
                            Ok((hash, signature)) => {
                                hashes.push(hash);
                                unqueued.extend(signature);
                            }
                            Err(rejection) => return (hashes, Some((seq, rejection))),
                        }
                    }
                    (hashes, None)
                },
            );
            let last = found.is_some() || next.is_empty();
            while unqueued.len() >= SIGNATURE_BATCH || (last && !unqueued.is_empty()) {
                let rest = unqueued.split_off(SIGNATURE_BATCH.min(unqueued.len()));
                signatures.queue(scope, std::mem::replace(&mut unqueued, rest));
            }
            if found.is_some() {
                failure = found;
                return Ok(());
            }
            if signatures.failed() {
                // Its seq is the lowest failure once the batches queued
                // before it are done: nothing after it matters.
                return Ok(());
            }
            signatures.wait_below(SIGNATURE_BATCHES_QUEUED_MAX);
            let first = ledger.size() - hashes.len() as u64;
            for (i, (hash, line)) in hashes.iter().zip(&chunk).enumerate() {
                on_record(first + i as u64, *hash, line).map_err(VerifyError::Stopped)?;
            }
            chunk = next;
            checked = next_checked;
        }
        Ok(())
    });
    // Every queued batch is done here (the scope waited for them).
    let first_failure = [signatures.into_failure(), failure]
        .into_iter()
        .flatten()
        .min_by_key(|(seq, _)| *seq);
    if let Some((seq, rejection)) = first_failure {
        return Err(VerifyError::Failed {
            seq,
            input: source.to_string(),
            rejection,
        });
    }
    streamed?;
    Ok(ledger)
}
