//! The commands of issue #2: keys, init, append, sign, submit, verify,
//! export, import, log, checkpoint.

use crate::audit::verify_error;
use crate::error::{CliError, CliResult};
use crate::input::{read_values, Located};
use crate::keyfile;
use crate::session::{submissions, BatchOutcome, Clock, Session, Submission};
use fundledger_core::crypto::SecretKey;
use fundledger_core::ids::{Hash32, Timestamp};
use fundledger_core::jcs::canonical_bytes;
use fundledger_core::ledger::Ledger;
use fundledger_store::Store;
use fundledger_verify::{verify_stream, RecallSource};
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
    let mut nonce = [0u8; 32];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| CliError::usage(format!("cannot draw the ledger's nonce: {e}")))?;
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
            "nonce": hex::encode(nonce),
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
        ledger: store.new_ledger(),
        store,
        future_skew: crate::session::default_future_skew(),
    };
    session.append(
        &[Submission {
            location: "ledger_opened",
            event,
            sig: &sig,
        }],
        Clock::Event,
        key,
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

pub(crate) fn report_outcome(outcome: &BatchOutcome) {
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

/// The operator's key, which seals every batch: `--operator-key`, or the
/// signing key itself when it is the operator's.
pub(crate) fn sealing_key(
    ledger: &Ledger,
    operator_key: Option<&Path>,
    signing_key: Option<&SecretKey>,
) -> CliResult<SecretKey> {
    let operator = ledger.operator().expect("an open ledger has an operator");
    let key = match (operator_key, signing_key) {
        (Some(path), _) => keyfile::read(path)?,
        (None, Some(key)) if key.public() == operator.key => key.clone(),
        _ => {
            return Err(CliError::usage(
                "every batch is sealed by the operator: give --operator-key FILE (the operator's secret key)",
            ))
        }
    };
    if key.public() != operator.key {
        return Err(CliError::usage(format!(
            "--operator-key: not the operator key of this ledger (operator {:?}); every batch is sealed with it",
            operator.id
        )));
    }
    Ok(key)
}

/// Binds unsigned events to a ledger: each event without a `ledger`
/// member gets the ledger's id (an event names the ledger it is signed for).
pub fn bind_to_ledger(items: &mut [Located], ledger_id: Hash32) {
    for item in items {
        if let Some(event) = item.value.as_object_mut() {
            event
                .entry("ledger")
                .or_insert_with(|| Value::from(ledger_id.to_hex()));
        }
    }
}

pub fn append(
    dir: &Path,
    key_path: &Path,
    operator_key: Option<&Path>,
    clock: Clock,
    future_skew_hours: u32,
    file: &str,
) -> CliResult<()> {
    let key = keyfile::read(key_path)?;
    let mut items = read_values(file)?;
    let mut session = Session::open(dir)?;
    session.future_skew = chrono::Duration::hours(i64::from(future_skew_hours));
    let sealer = sealing_key(&session.ledger, operator_key, Some(&key))?;
    check_key_matches(&session.ledger, &items, &key)?;
    bind_to_ledger(
        &mut items,
        session
            .ledger
            .ledger_id()
            .expect("an open ledger has record 0"),
    );
    let sigs = items
        .iter()
        .map(|item| sign_event(&item.value, &item.location, &key))
        .collect::<CliResult<Vec<_>>>()?;
    let batch = crate::session::signed_batch(&items, &sigs);
    let outcome = session.append(&batch, clock, &sealer)?;
    report_outcome(&outcome);
    Ok(())
}

/// The id of the ledger events are signed for: `--ledger-id`, or read
/// from the ledger directory's record 0.
pub fn ledger_id_of(ledger: Option<&Path>, ledger_id: Option<&str>) -> CliResult<Hash32> {
    match (ledger, ledger_id) {
        (_, Some(text)) => {
            Hash32::parse(text).map_err(|e| CliError::usage(format!("--ledger-id: {}", e.0)))
        }
        (Some(dir), None) => {
            let store = Store::open_raw(dir)?;
            let record = store.record(0)?.ok_or_else(|| {
                CliError::usage(format!("ledger {}: no ledger here", dir.display()))
            })?;
            let record: Value = serde_json::from_slice(&record)
                .map_err(|e| CliError::usage(format!("ledger {}: record 0: {e}", dir.display())))?;
            record["hash"]
                .as_str()
                .and_then(|h| Hash32::parse(h).ok())
                .ok_or_else(|| CliError::usage(format!("ledger {}: record 0 has no hash", dir.display())))
        }
        (None, None) => Err(CliError::usage(
            "every event is signed for one ledger: give --ledger-id ID (the hash of its record 0, as `fundledger status` prints it) or --ledger DIR",
        )),
    }
}

pub fn sign(key_path: &Path, ledger_id: Hash32, file: &str) -> CliResult<()> {
    let key = keyfile::read(key_path)?;
    let mut items = read_values(file)?;
    bind_to_ledger(&mut items, ledger_id);
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

pub fn submit(
    dir: &Path,
    operator_key: &Path,
    clock: Clock,
    future_skew_hours: u32,
    file: &str,
) -> CliResult<()> {
    let items = read_values(file)?;
    let batch = submissions(&items)?;
    let mut session = Session::open(dir)?;
    session.future_skew = chrono::Duration::hours(i64::from(future_skew_hours));
    let sealer = sealing_key(&session.ledger, Some(operator_key), None)?;
    let outcome = session.append(&batch, clock, &sealer)?;
    report_outcome(&outcome);
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
    let (count, head) = import_quietly(dir, file)?;
    println!(
        "imported {count} records into {}, head {head}",
        dir.display()
    );
    Ok(())
}

/// [`import`] without its report: the records and head imported.
pub fn import_quietly(dir: &Path, file: &str) -> CliResult<(u64, Hash32)> {
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
    result
}

/// Rebuilds a damaged or rolled-back ledger from a verified export (or a
/// mirror's export) that holds every record the ledger acknowledged, ending
/// with the acknowledged head. The damaged store's files are moved aside,
/// never deleted.
pub fn recover(dir: &Path, file: &str) -> CliResult<()> {
    let (size, head) = Store::acknowledged(dir)?.ok_or_else(|| {
        CliError::usage(format!(
            "ledger {}: it records no acknowledgement, so nothing tells what it lost; import the export into a new directory instead",
            dir.display()
        ))
    })?;
    // The export must hold the acknowledged records, ending as acknowledged.
    let input = std::fs::File::open(file)
        .map_err(|e| CliError::usage(format!("input {file}: cannot read: {e}")))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, input);
    let recall = RecallSource::file(Path::new(file))
        .map_err(|e| CliError::usage(format!("input {file}: cannot read: {e}")))?;
    let mut at_acknowledged = None;
    let verified = verify_stream(
        &format!("input {file}"),
        |buf| reader.read_until(b'\n', buf),
        Some(&recall),
        |seq, hash, _| {
            if seq + 1 == size {
                at_acknowledged = Some(hash);
            }
            Ok::<(), CliError>(())
        },
    )
    .map_err(verify_error)?;
    if at_acknowledged != Some(head) {
        return Err(CliError::rejected(format!(
            "input {file}: it does not continue the ledger's acknowledged head: {size} records ending in {head} were acknowledged, the export has {} records{}",
            verified.size(),
            at_acknowledged.map_or(String::new(), |h| format!(" and record {} is {h}", size - 1))
        )));
    }
    let aside = dir.with_file_name(format!(
        "{}.damaged",
        dir.file_name()
            .map_or("ledger".into(), |n| n.to_string_lossy())
    ));
    let moved = Store::set_aside(dir, &aside)?;
    eprintln!(
        "recover: moved the damaged store's files ({}) to {}",
        moved.join(", "),
        aside.display()
    );
    let (count, new_head) = import_into(dir, file)?;
    println!(
        "recovered {count} records into {}, head {new_head}; they continue the acknowledged {size} records (head {head})",
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
        .transpose()
        .map_err(|e| CliError::usage(format!("input {file}: cannot read: {e}")))?;
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
    let bar = crate::progress::progress(0, "import");
    let verified = verify_stream(
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
    let ledger = verified.map_err(verify_error).map_err(|e| CliError {
        message: format!("{}; nothing was imported", e.message),
        ..e
    })?;
    // A ledger never holds records nobody sealed (format §8).
    let last = ledger.size() - 1;
    if ledger.sealed_through() != Some(last) {
        return Err(CliError::rejected(format!(
            "input {file}: records after seq {} follow the last seal: nobody signed their order or time; nothing was imported",
            ledger.sealed_through().map_or("— (none sealed)".to_string(), |s| s.to_string())
        )));
    }
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
        "budget_approved" | "funds_received" | "budget_adjusted" => {
            format!("{} {} CNY", s("program"), s("amount_cny"))
        }
        "program_closed" => format!("{} closed: {}", s("program"), s("reason")),
        "settlement_imposed" => format!(
            "{} district {} settled by the city: {}",
            s("program"),
            s("district_code"),
            s("reason")
        ),
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
        "spot_check_planned" => format!(
            "{} plans {} of districts from seal {}: {}",
            s("program"),
            s("fraction"),
            body["seal_seq"],
            body["districts"]
        ),
        "event_reversed" => format!("reverses {}: {}", s("event_id"), s("reason")),
        "ledger_sealed" => {
            let note = s("checkpoint");
            let size = note.lines().nth(1).unwrap_or_default().to_string();
            format!("seals the {size} records before it")
        }
        _ => String::new(),
    }
}

/// `fundledger bench`: the benchmarks binary beside this one (under cargo,
/// built first), with `args` (none: `run`). It exits as the benchmarks did.
pub fn bench(args: &[String]) -> CliResult<()> {
    let own = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("bench: cannot find this binary: {e}")))?;
    let bench = own.with_file_name("fundledger-bench");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--quiet", "--bin", "fundledger-bench"]);
        if own.components().any(|c| c.as_os_str() == "release") {
            build.arg("--release");
        }
        let built = build
            .status()
            .map_err(|e| CliError::usage(format!("bench: cannot run cargo: {e}")))?;
        if !built.success() {
            return Err(CliError::usage(
                "bench: cargo could not build fundledger-bench",
            ));
        }
    }
    if !bench.exists() {
        return Err(CliError::usage(format!(
            "bench: {} is missing: build it with `cargo build --release --bin fundledger-bench`",
            bench.display()
        )));
    }
    let run = ["run".to_string()];
    let args = if args.is_empty() { &run[..] } else { args };
    let status = std::process::Command::new(&bench)
        .args(args)
        .status()
        .map_err(|e| CliError::usage(format!("bench: cannot run {}: {e}", bench.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError {
            code: status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(crate::error::EXIT_REJECTED),
            message: format!(
                "bench: fundledger-bench {} failed ({status})",
                args.join(" ")
            ),
        })
    }
}
