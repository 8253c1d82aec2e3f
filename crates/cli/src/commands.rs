//! The commands of issue #2: keys, init, append, sign, submit, verify,
//! export, import, log, checkpoint.

use crate::error::{CliError, CliResult};
use crate::input::{read_values, Located};
use crate::keyfile;
use crate::session::{submissions, BatchOutcome, Clock, Session, Submission};
use fundledger_core::checkpoint::{Checkpoint, CheckpointFit, SignedCheckpoint};
use fundledger_core::crypto::SecretKey;
use fundledger_core::ids::{Hash32, Timestamp};
use fundledger_core::jcs::canonical_bytes;
use fundledger_core::ledger::{Ledger, PendingSignature};
use fundledger_store::Store;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::Path;

/// Records written to the store per batch by `import`.
const IMPORT_BATCH_RECORDS: usize = 4096;

pub fn keygen(out: &Path) -> CliResult<()> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| CliError::usage(format!("cannot draw a random key: {e}")))?;
    let key = SecretKey::from_seed(seed);
    keyfile::write(out, &key, "Keep it private.")?;
    println!("{}", key.public().to_hex());
    Ok(())
}

fn parse_time(text: Option<&str>, flag: &str, offset: chrono::FixedOffset) -> CliResult<Timestamp> {
    match text {
        Some(t) => Timestamp::parse(t).map_err(|e| CliError::usage(format!("--{flag}: {}", e.0))),
        None => Ok(Timestamp::from_datetime(
            chrono::Utc::now().with_timezone(&offset),
        )),
    }
}

pub fn init(
    dir: &Path,
    name: &str,
    operator: &str,
    key_path: &Path,
    at: Option<&str>,
    utc_offset: &str,
) -> CliResult<()> {
    let offset = fundledger_core::ids::parse_utc_offset(utc_offset)
        .map_err(|e| CliError::usage(format!("--utc-offset: {}", e.0)))?;
    let key = keyfile::read(key_path)?;
    let at = parse_time(at, "at", offset)?;
    let event = json!({
        "id": "ledger-opened",
        "actor": operator,
        "kind": "ledger_opened",
        "at": at.to_string(),
        "body": {
            "name": name,
            "operator_key": key.public().to_hex(),
            "currency": "CNY",
            "utc_offset": utc_offset,
        }
    });
    let session = create_ledger(dir, &event, &key)?;
    println!(
        "created ledger {} (record 0 hash {})",
        dir.display(),
        session.ledger.head()
    );
    Ok(())
}

/// Creates a ledger whose record 0 is `event`, signed by `key`, recorded at its `at`.
pub fn create_ledger(dir: &Path, event: &Value, key: &SecretKey) -> CliResult<Session> {
    let sig = sign_event(event, "--operator/--name", key)?;
    // Decide before touching the disk, so a bad name or id leaves nothing behind.
    let mut probe = Ledger::new();
    let at = Timestamp::parse(event["at"].as_str().unwrap_or_default())
        .map_err(|e| CliError::usage(format!("--at: {}", e.0)))?;
    probe
        .append_event(event, &sig, at)
        .map_err(|r| CliError::usage(format!("ledger_opened: {r}")))?;
    let store = Store::create(dir)?;
    let mut session = Session {
        store,
        ledger: Ledger::new(),
    };
    session.append(
        &[Submission {
            location: "ledger_opened",
            event,
            sig: &sig,
        }],
        Clock::Event,
    )?;
    Ok(session)
}

/// Signs an event's hash; the event must have a canonical form.
pub fn sign_event(event: &Value, location: &str, key: &SecretKey) -> CliResult<String> {
    key.sign_event(event)
        .map_err(|e| CliError::rejected(format!("{location}, field {}: {}", e.path, e.problem)))
}

fn check_key_matches(ledger: &Ledger, items: &[Located], key: &SecretKey) -> CliResult<()> {
    let public = key.public();
    for item in items {
        let Some(actor_id) = item.value.get("actor").and_then(Value::as_str) else {
            continue; // the decide step names the missing field
        };
        if let Some(actor) = ledger.actor(actor_id) {
            if actor.key != public {
                return Err(CliError::rejected(format!(
                    "{}, field event.actor: the key given (public {}) is not the enrolled key of actor {actor_id:?}; nothing was appended",
                    item.location,
                    &public.to_hex()[..16]
                )));
            }
        }
    }
    Ok(())
}

fn report_outcome(outcome: &BatchOutcome) {
    for (seq, id) in &outcome.appended {
        println!("appended seq {seq}: {id}");
    }
    for (seq, id) in &outcome.existing {
        println!("exists   seq {seq}: {id} (identical; nothing appended)");
    }
    println!(
        "{} appended, {} already present",
        outcome.appended.len(),
        outcome.existing.len()
    );
}

pub fn append(dir: &Path, key_path: &Path, clock: Clock, file: &str) -> CliResult<()> {
    let key = keyfile::read(key_path)?;
    let items = read_values(file)?;
    let mut session = Session::open(dir)?;
    check_key_matches(&session.ledger, &items, &key)?;
    let sigs = items
        .iter()
        .map(|item| sign_event(&item.value, &item.location, &key))
        .collect::<CliResult<Vec<_>>>()?;
    let batch: Vec<Submission<'_>> = items
        .iter()
        .zip(&sigs)
        .map(|(item, sig)| Submission {
            location: &item.location,
            event: &item.value,
            sig,
        })
        .collect();
    let outcome = session.append(&batch, clock)?;
    report_outcome(&outcome);
    Ok(())
}

pub fn sign(key_path: &Path, file: &str) -> CliResult<()> {
    let key = keyfile::read(key_path)?;
    let items = read_values(file)?;
    let mut out = std::io::stdout().lock();
    for item in &items {
        let sig = sign_event(&item.value, &item.location, &key)?;
        let submission = json!({"event": item.value, "sig": sig});
        let line = canonical_bytes(&submission).expect("signed events are canonical");
        out.write_all(&line)
            .and_then(|_| out.write_all(b"\n"))
            .map_err(|e| CliError::usage(format!("cannot write output: {e}")))?;
    }
    Ok(())
}

pub fn submit(dir: &Path, clock: Clock, file: &str) -> CliResult<()> {
    let items = read_values(file)?;
    let batch = submissions(&items)?;
    let mut session = Session::open(dir)?;
    let outcome = session.append(&batch, clock)?;
    report_outcome(&outcome);
    Ok(())
}

/// Records per pipeline step of `verify_pipeline`.
const VERIFY_CHUNK_RECORDS: usize = 512;
/// Bytes per pipeline step, whatever the records: two steps are in memory.
const VERIFY_CHUNK_BYTES: usize = 4 << 20;
/// Signatures per Ed25519 batch.
const SIGNATURE_BATCH: usize = 128;

/// Ed25519 batches queued at most, while the ordered checks go on (each
/// holds 128 signatures with their keys and actors, some 50 KiB).
const SIGNATURE_BATCHES_QUEUED_MAX: usize = 16;

/// Signature batches checked apart from the ordered steps of
/// [`verify_pipeline`], on whichever core is free, with the lowest failing
/// seq among them.
#[derive(Default)]
struct SignatureChecks {
    state: std::sync::Mutex<SignatureState>,
}

#[derive(Default)]
struct SignatureState {
    queued: usize,
    failure: Option<(u64, fundledger_core::Rejection)>,
}

impl SignatureChecks {
    /// Checks `batch` on the pool.
    fn queue<'scope>(&'scope self, scope: &rayon::Scope<'scope>, batch: Vec<PendingSignature>) {
        self.state.lock().expect("signature state").queued += 1;
        scope.spawn(move |_| {
            let all_valid = fundledger_core::crypto::verify_batch(
                batch
                    .iter()
                    .map(|p| (&p.key, &p.event_hash, p.sig.as_str())),
            );
            // A batch that fails says nothing of which: check one by one.
            let bad = (!all_valid)
                .then(|| batch.iter().find(|p| !p.key.verify(&p.event_hash, &p.sig)))
                .flatten()
                .map(|p| (p.seq, p.rejection()));
            let mut state = self.state.lock().expect("signature state");
            state.queued -= 1;
            if let Some(bad) = bad {
                if state.failure.as_ref().map_or(true, |(seq, _)| bad.0 < *seq) {
                    state.failure = Some(bad);
                }
            }
        });
    }

    fn failed(&self) -> bool {
        self.state
            .lock()
            .expect("signature state")
            .failure
            .is_some()
    }

    /// Until fewer than `max` batches are queued, checks queued batches
    /// (or other work of the pool) on this thread.
    fn wait_below(&self, max: usize) {
        while self.state.lock().expect("signature state").queued >= max {
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                std::thread::yield_now();
            }
        }
    }

    fn into_failure(self) -> Option<(u64, fundledger_core::Rejection)> {
        self.state.into_inner().expect("signature state").failure
    }
}

/// Where a compact verification reads earlier records back (see
/// [`Ledger::compact`]): the export file by offset, or the store by seq.
pub enum RecallSource {
    /// An export file, with the offset of every 16th line read so far.
    File {
        /// A second handle on the file.
        file: std::fs::File,
        /// The offset of line `16 k` at `k`: half a byte a record. A
        /// read-back skips at most 15 lines from there (read-backs are rare:
        /// a reversal, or an id that may be reused).
        offsets: std::sync::Mutex<Vec<u64>>,
    },
    /// A store.
    Store(fundledger_store::StoreReader),
}

/// Lines per remembered offset.
const LINES_PER_OFFSET: u64 = 16;

impl RecallSource {
    /// Reading back from the file at `path`.
    pub fn file(path: &Path) -> CliResult<RecallSource> {
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("input {}: cannot read: {e}", path.display())))?;
        Ok(RecallSource::File {
            file,
            offsets: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Line `seq` starts at `offset`.
    fn note(&self, seq: u64, offset: u64) {
        if let RecallSource::File { offsets, .. } = self {
            if seq % LINES_PER_OFFSET == 0 {
                offsets.lock().expect("offsets lock").push(offset);
            }
        }
    }
}

impl fundledger_core::event_index::Recall for RecallSource {
    fn recall(&self, seq: u64) -> Result<Vec<u8>, String> {
        match self {
            RecallSource::Store(reader) => reader
                .record(seq)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the store has no record {seq}")),
            RecallSource::File { file, offsets } => {
                use std::io::{BufRead, Read};
                let offset = usize::try_from(seq / LINES_PER_OFFSET)
                    .ok()
                    .and_then(|k| offsets.lock().expect("offsets lock").get(k).copied())
                    .ok_or_else(|| format!("no line was read for record {seq}"))?;
                /// Reads from an offset of a shared handle, without moving
                /// its position.
                struct ReadAt<'a>(&'a std::fs::File, u64);
                impl Read for ReadAt<'_> {
                    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                        use std::os::unix::fs::FileExt;
                        let n = self.0.read_at(buf, self.1)?;
                        self.1 += n as u64;
                        Ok(n)
                    }
                }
                // No line is longer than the record limit (and its newline).
                let mut reader = std::io::BufReader::with_capacity(64 * 1024, ReadAt(file, offset))
                    .take(
                        LINES_PER_OFFSET * (fundledger_core::limits::RECORD_BYTES_MAX as u64 + 1),
                    );
                let mut line = Vec::new();
                for _ in 0..=seq % LINES_PER_OFFSET {
                    line.clear();
                    reader
                        .read_until(b'\n', &mut line)
                        .map_err(|e| e.to_string())?;
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                Ok(line)
            }
        }
    }
}

/// Full verification of a stream of records, on every core, in three steps
/// per chunk of records: the checks that need no state run in parallel
/// (parse, canonical bytes, hashes, privacy, schema); the checks that need
/// the state run in order (links, enrolment, authorization, rules); the
/// signatures are checked in Ed25519 batches of 128, queued as soon as their
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
pub fn verify_pipeline(
    source: &str,
    mut next_line: impl FnMut(&mut Vec<u8>) -> std::io::Result<usize> + Send,
    recall: Option<&RecallSource>,
    mut on_record: impl FnMut(u64, Hash32, &[u8]) -> CliResult<()> + Send,
) -> CliResult<Ledger> {
    use fundledger_core::event_index::{NoRecall, Recall};
    use fundledger_core::ledger::{precheck_line, CheckedRecord};
    use rayon::prelude::*;
    let (mut seq, mut offset) = (0u64, 0u64);
    let mut read_chunk = || -> CliResult<Vec<Vec<u8>>> {
        let mut chunk = Vec::with_capacity(VERIFY_CHUNK_RECORDS);
        let mut bytes = 0;
        while chunk.len() < VERIFY_CHUNK_RECORDS && bytes < VERIFY_CHUNK_BYTES {
            let mut line = Vec::new();
            let n = next_line(&mut line)
                .map_err(|e| CliError::usage(format!("{source}: cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            if let Some(recall) = recall {
                recall.note(seq, offset);
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
    let precheck = |chunk: &[Vec<u8>]| -> Vec<Result<CheckedRecord, fundledger_core::Rejection>> {
        chunk.par_iter().map(|line| precheck_line(line)).collect()
    };
    let (mut ledger, recall): (Ledger, &(dyn Recall + Sync)) = match recall {
        Some(recall) => (Ledger::compact(), recall),
        None => (Ledger::new(), &NoRecall),
    };
    let signatures = SignatureChecks::default();
    // The first failure of the ordered checks, if any.
    let mut failure: Option<(u64, fundledger_core::Rejection)> = None;
    let streamed = rayon::scope(|scope| -> CliResult<()> {
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
                on_record(first + i as u64, *hash, line)?;
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
    if let Some((seq, r)) = first_failure {
        return Err(CliError::rejected(format!(
            "FAILED at seq {seq} ({source}, line {}): {r}",
            seq + 1
        )));
    }
    streamed?;
    if ledger.size() == 0 {
        return Err(CliError::rejected(format!(
            "FAILED: {source} holds no records"
        )));
    }
    Ok(ledger)
}

/// Streams records through full verification; returns the ledger and the
/// hash at the seq a checkpoint asks about.
fn verify_stream(
    source: &str,
    next_line: impl FnMut(&mut Vec<u8>) -> std::io::Result<usize> + Send,
    recall: Option<&RecallSource>,
    wanted_seq: Option<u64>,
) -> CliResult<(Ledger, Option<Hash32>)> {
    let bar = crate::gen::progress(0, "verify");
    let mut wanted_hash = None;
    let ledger = verify_pipeline(source, next_line, recall, |seq, hash, _| {
        if wanted_seq == Some(seq) {
            wanted_hash = Some(hash);
        }
        if seq % 8192 == 0 {
            bar.set_position(seq);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok((ledger, wanted_hash))
}

fn read_checkpoint(path: &Path) -> CliResult<SignedCheckpoint> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("checkpoint {}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::rejected(format!(
            "checkpoint {}, line {}: not a signed checkpoint {{\"checkpoint\": {{ledger, size, head, at}}, \"sig\"}}: {e}",
            path.display(),
            e.line()
        ))
    })
}

pub fn verify(
    ledger_dir: Option<&Path>,
    file: Option<&str>,
    checkpoint: Option<&Path>,
) -> CliResult<()> {
    let checkpoint = checkpoint
        .map(|p| read_checkpoint(p).map(|c| (p, c)))
        .transpose()?;
    let wanted = checkpoint
        .as_ref()
        .and_then(|(_, c)| c.checkpoint.size.checked_sub(1));
    let (ledger, wanted_hash) = match (ledger_dir, file) {
        (Some(dir), _) => {
            let store = Store::open_for_scan(dir)?;
            let recall = RecallSource::Store(store.reader());
            let mut records = store.records(0).fuse();
            let source = format!("ledger {}", dir.display());
            verify_stream(
                &source,
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
        (None, Some("-")) => {
            let mut reader = std::io::BufReader::with_capacity(1 << 20, std::io::stdin());
            // Standard input cannot be read back: the full state is kept.
            verify_stream(
                "input <stdin>",
                |buf| reader.read_until(b'\n', buf),
                None,
                wanted,
            )?
        }
        (None, Some(path)) => {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("input {path}: cannot read: {e}")))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            let recall = RecallSource::file(Path::new(path))?;
            verify_stream(
                &format!("input {path}"),
                |buf| reader.read_until(b'\n', buf),
                Some(&recall),
                wanted,
            )?
        }
        (None, None) => return Err(CliError::usage("give --ledger DIR or --file EXPORT")),
    };
    if let Some((path, signed)) = checkpoint {
        let failed = |why: String| {
            CliError::rejected(format!("FAILED: checkpoint {}: {why}", path.display()))
        };
        match signed.check_against(&ledger, |_| wanted_hash) {
            Ok(CheckpointFit::Contained) => {}
            Ok(CheckpointFit::Ahead) => {
                return Err(failed(format!(
                    "it claims {} records but the chain ends after {}: truncated at seq {}",
                    signed.checkpoint.size,
                    ledger.size(),
                    ledger.size()
                )))
            }
            Err(why) => return Err(failed(why.to_string())),
        }
        println!(
            "checkpoint ok: size {} head {} is part of this chain",
            signed.checkpoint.size, signed.checkpoint.head
        );
    }
    println!("ok: {} records, head {}", ledger.size(), ledger.head());
    Ok(())
}

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The chain, one canonical record per line.
    Jsonl,
    /// A ledger-cli / hledger journal of the money events.
    Ledger,
}

pub fn export(dir: &Path, out: Option<&Path>, format: ExportFormat) -> CliResult<()> {
    let store = Store::open_raw(dir)?;
    let write_all = |w: &mut (dyn Write + Send)| -> CliResult<u64> {
        let io = |e: std::io::Error| CliError::usage(format!("cannot write the export: {e}"));
        let mut count = 0;
        match format {
            ExportFormat::Jsonl => {
                for entry in store.records(0) {
                    let (_, bytes) = entry?;
                    w.write_all(&bytes)
                        .and_then(|_| w.write_all(b"\n"))
                        .map_err(io)?;
                    count += 1;
                }
            }
            ExportFormat::Ledger => {
                // Records are parsed on every core and folded in order; each
                // becomes a transaction as it is folded in.
                let mut journal = fundledger_core::journal::JournalWriter::default();
                let mut written: std::io::Result<()> = Ok(());
                store.replay_each(None, None, |ledger, seq, record| {
                    if written.is_err() {
                        return;
                    }
                    let mut text = if seq == 0 {
                        fundledger_core::journal::JournalWriter::header(ledger.name())
                    } else {
                        String::new()
                    };
                    if let Some(transaction) = journal.transaction(
                        seq,
                        record.event_id(),
                        record.kind().as_str(),
                        record.recorded_at(),
                        ledger.utc_offset(),
                        record.body(),
                    ) {
                        text.push_str(&transaction);
                        count += 1;
                    }
                    written = w.write_all(text.as_bytes());
                })?;
                written.map_err(io)?;
            }
        }
        w.flush().map_err(io)?;
        Ok(count)
    };
    match out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| {
                CliError::usage(format!("output {}: cannot create: {e}", path.display()))
            })?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
            let count = write_all(&mut writer)?;
            let what = if format == ExportFormat::Jsonl {
                "records"
            } else {
                "transactions"
            };
            eprintln!("exported {count} {what} to {}", path.display());
        }
        None => {
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            write_all(&mut writer)?;
        }
    }
    Ok(())
}

pub fn import(dir: &Path, file: &str) -> CliResult<()> {
    if Store::exists(dir) {
        return Err(fundledger_store::StoreError::AlreadyExists(dir.to_path_buf()).into());
    }
    let existed = dir.exists();
    let result = import_into(dir, file);
    if result.is_err() {
        // Nothing is left behind: remove what this import created.
        let _ = Store::destroy(dir);
        if !existed {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    let (count, head) = result?;
    println!(
        "imported {count} records into {}, head {head}",
        dir.display()
    );
    Ok(())
}

fn import_into(dir: &Path, file: &str) -> CliResult<(u64, Hash32)> {
    let mut reader: Box<dyn BufRead + Send> = if file == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(file)
                .map_err(|e| CliError::usage(format!("input {file}: cannot read: {e}")))?,
        ))
    };
    // From a file, earlier records can be read back: a compact ledger will do.
    let recall = (file != "-")
        .then(|| RecallSource::file(Path::new(file)))
        .transpose()?;
    let mut store = Store::create(dir)?;
    // A writer thread puts verified batches into the store while the next ones
    // are verified; the store is flushed once, at the end (a failed import
    // removes it).
    let (to_writer, batches) =
        std::sync::mpsc::sync_channel::<Vec<fundledger_core::ledger::SealedRecord>>(2);
    let writer = std::thread::spawn(move || -> CliResult<Store> {
        for batch in batches {
            store.append_unflushed(&batch)?;
        }
        Ok(store)
    });
    let mut pending = Vec::with_capacity(IMPORT_BATCH_RECORDS);
    let bar = crate::gen::progress(0, "import");
    let verified = verify_pipeline(
        &format!("input {file}"),
        |buf| reader.read_until(b'\n', buf),
        recall.as_ref(),
        |seq, hash, bytes| {
            pending.push(fundledger_core::ledger::SealedRecord {
                seq,
                hash,
                event_id: String::new(),
                bytes: bytes.to_vec(),
            });
            if pending.len() == IMPORT_BATCH_RECORDS {
                let batch =
                    std::mem::replace(&mut pending, Vec::with_capacity(IMPORT_BATCH_RECORDS));
                // A closed channel means the writer failed: its error is reported below.
                if to_writer.send(batch).is_err() {
                    return Err(CliError::usage("the store writer stopped".to_string()));
                }
                bar.set_position(seq);
            }
            Ok(())
        },
    );
    if verified.is_ok() && !pending.is_empty() {
        let _ = to_writer.send(std::mem::take(&mut pending));
    }
    drop(to_writer);
    let written = writer
        .join()
        .map_err(|_| CliError::usage("the store writer panicked".to_string()))?;
    // A store error is the cause of any "writer stopped": report it first.
    let store = written?;
    let ledger = verified.map_err(|e| CliError {
        message: format!("{}; nothing was imported", e.message),
        ..e
    })?;
    store.flush()?;
    bar.finish_and_clear();
    Ok((ledger.size(), ledger.head()))
}

pub fn log(
    dir: &Path,
    kind: Option<&str>,
    district: Option<&str>,
    json_out: bool,
) -> CliResult<()> {
    if let Some(k) = kind {
        if fundledger_core::kind::EventKind::parse(k).is_none() {
            return Err(CliError::usage(format!("--kind: unknown event kind {k:?}")));
        }
    }
    let session = Session::open(dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for entry in session.store.records(0) {
        let (seq, bytes) = entry?;
        let record: Value =
            serde_json::from_slice(&bytes).expect("stored records are verified JSON");
        let event = &record["event"];
        if kind.is_some_and(|k| event["kind"] != k) {
            continue;
        }
        if let Some(code) = district {
            let body_code = event["body"]["district_code"].as_str();
            let actor_code = session
                .ledger
                .actor(event["actor"].as_str().unwrap_or_default())
                .and_then(|a| a.district)
                .map(|d| d.to_string());
            let in_body = event["body"]["districts"]
                .as_array()
                .is_some_and(|ds| ds.iter().any(|d| d["code"] == code));
            if body_code != Some(code) && actor_code.as_deref() != Some(code) && !in_body {
                continue;
            }
        }
        let result = if json_out {
            out.write_all(&bytes).and_then(|_| out.write_all(b"\n"))
        } else {
            writeln!(
                out,
                "{seq:>7}  {}  {:<22} {:<20} {:<24} {}",
                record["recorded_at"].as_str().unwrap_or_default(),
                event["actor"].as_str().unwrap_or_default(),
                event["kind"].as_str().unwrap_or_default(),
                event["id"].as_str().unwrap_or_default(),
                summarize(event)
            )
        };
        result.map_err(|e| CliError::usage(format!("cannot write output: {e}")))?;
    }
    out.flush()
        .map_err(|e| CliError::usage(format!("cannot write output: {e}")))?;
    Ok(())
}

fn summarize(event: &Value) -> String {
    let body = &event["body"];
    let s = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    match event["kind"].as_str().unwrap_or_default() {
        "ledger_opened" => s("name"),
        "actor_enrolled" => format!(
            "{} as {}{}",
            s("actor"),
            s("role"),
            body["district"]
                .as_str()
                .map(|d| format!(" of {d}"))
                .unwrap_or_default()
        ),
        "actor_revoked" => format!("{}: {}", s("actor"), s("reason")),
        "program_opened" => format!(
            "{} ({}), {} districts",
            s("program"),
            body["fiscal_year"],
            body["districts"].as_array().map_or(0, Vec::len)
        ),
        "budget_approved" | "funds_received" => format!("{} {} CNY", s("program"), s("amount_cny")),
        "allocation_made" | "expenditure_reported" => {
            format!(
                "{} district {} {} CNY",
                s("program"),
                s("district_code"),
                s("amount_cny")
            )
        }
        "roster_filed" => format!(
            "{} district {} {}: {} trainees",
            s("program"),
            s("district_code"),
            s("township"),
            body["trainees"].as_array().map_or(0, Vec::len)
        ),
        "fund_use_reported" => format!(
            "{} district {} spent {} CNY",
            s("program"),
            s("district_code"),
            s("spent_cny")
        ),
        "settlement_filed" => format!(
            "{} district {} spent {} surplus {} CNY",
            s("program"),
            s("district_code"),
            s("spent_cny"),
            s("surplus_cny")
        ),
        "offset_applied" => format!(
            "district {} surplus {} CNY from {} into {}",
            s("district_code"),
            s("surplus_cny"),
            s("program"),
            s("into_program")
        ),
        "survey_recorded" => format!(
            "{} {}: {} respondents",
            s("program"),
            s("survey"),
            body["respondents"]
        ),
        "indicator_scored" => format!("{} {} = {}", s("program"), s("indicator"), s("score")),
        "spot_check_recorded" => format!("{} sampled {}", s("program"), body["districts_sampled"]),
        "event_reversed" => format!("reverses {}: {}", s("event_id"), s("reason")),
        _ => String::new(),
    }
}

pub fn checkpoint(dir: &Path, key_path: &Path, at: Option<&str>) -> CliResult<()> {
    let key = keyfile::read(key_path)?;
    let session = Session::open(dir)?;
    let operator = session
        .ledger
        .operator()
        .expect("an open ledger has an operator");
    if operator.key != key.public() {
        return Err(CliError::usage(format!(
            "key file {}: not the operator's key; checkpoints are signed by the operator",
            key_path.display()
        )));
    }
    let at = parse_time(at, "at", session.ledger.utc_offset())?;
    let signed = Checkpoint {
        ledger: session
            .ledger
            .ledger_id()
            .expect("an open ledger has record 0"),
        size: session.ledger.size(),
        head: session.ledger.head(),
        at,
    }
    .sign(&key);
    println!(
        "{}",
        serde_json::to_string(&signed).expect("checkpoints serialize")
    );
    Ok(())
}
