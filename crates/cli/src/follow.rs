//! `follow`: an auditor's mirror. Pulls new records, verifies each exactly
//! as `verify` does, stores them, checks every checkpoint against its own
//! copy, and raises an alarm (exit 3) the moment the server contradicts
//! what the mirror already holds.

use crate::error::{CliError, CliResult};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fundledger_core::checkpoint::{CheckpointFit, SignedCheckpoint};
use fundledger_core::ledger::{Ledger, SealedRecord};
use fundledger_core::merkle::{verify_consistency, NodeHash};
use fundledger_store::Store;
use std::path::Path;
use std::time::Duration;

/// Exit code of an alarm: the server rewrote or truncated history.
pub const EXIT_ALARM: u8 = 3;
/// Records asked for per request.
const PAGE_RECORDS: u64 = 256;

fn alarm(message: String) -> CliError {
    CliError {
        code: EXIT_ALARM,
        message: format!("ALARM: {message}"),
    }
}

struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn get(&self, path: &str) -> CliResult<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        crate::served::get(&self.agent, &url, PAGE_RECORDS)
            .map_err(|e| CliError::usage(format!("{url}: {e}")))
    }
}

struct Mirror {
    store: Option<Store>,
    ledger: Ledger,
    dir: std::path::PathBuf,
}

impl Mirror {
    fn open(dir: &Path) -> CliResult<Mirror> {
        if Store::exists(dir) {
            let (store, ledger) = Store::open(dir)?;
            Ok(Mirror {
                store: Some(store),
                ledger,
                dir: dir.to_path_buf(),
            })
        } else {
            Ok(Mirror {
                store: None,
                ledger: Ledger::new(),
                dir: dir.to_path_buf(),
            })
        }
    }

    /// The newest seal the mirror holds: a checkpoint it verified before.
    fn newest_checkpoint(&self) -> CliResult<Option<SignedCheckpoint>> {
        let Some(seq) = self.ledger.sealed_through() else {
            return Ok(None);
        };
        let record: serde_json::Value = serde_json::from_slice(&self.ours(seq)?)
            .map_err(|e| CliError::usage(format!("mirror record {seq}: {e}")))?;
        Ok(record["event"]["body"]["checkpoint"]
            .as_str()
            .and_then(|note| SignedCheckpoint::parse(note).ok()))
    }

    fn ours(&self, seq: u64) -> CliResult<Vec<u8>> {
        let store = self.store.as_ref().expect("a non-empty mirror has a store");
        Ok(store.record(seq)?.unwrap_or_default())
    }

    fn append(&mut self, batch: &[SealedRecord]) -> CliResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.store.is_none() {
            self.store = Some(Store::create(&self.dir)?);
        }
        self.store.as_mut().expect("created").append(batch)?;
        self.ledger.mark_stored();
        Ok(())
    }
}

/// Does the server still hold exactly what we hold? Finds the first seq where it does not.
fn check_prefix(client: &Client, mirror: &Mirror) -> CliResult<()> {
    let size = mirror.ledger.size();
    if size == 0 {
        return Ok(());
    }
    let same = |seq: u64| -> CliResult<Option<bool>> {
        let (status, body) = client.get(&format!("/v1/records/{seq}"))?;
        match status {
            200 => Ok(Some(body == mirror.ours(seq)?)),
            404 => Ok(None),
            s => Err(CliError::usage(format!("GET /v1/records/{seq}: HTTP {s}"))),
        }
    };
    match same(size - 1)? {
        Some(true) => Ok(()),
        None => Err(alarm(format!(
            "the server no longer has seq {} that this mirror holds: its history was truncated",
            size - 1
        ))),
        Some(false) => {
            // Binary search for the first record the server changed.
            let (mut good, mut bad) = (None::<u64>, size - 1);
            let mut low = 0;
            while low < bad {
                let mid = low + (bad - low) / 2;
                if same(mid)? == Some(true) {
                    good = Some(mid);
                    low = mid + 1;
                } else {
                    bad = mid;
                }
            }
            let _ = good;
            Err(alarm(format!(
                "the server serves a different record at seq {bad} than the one this mirror verified and holds: its history was rewritten"
            )))
        }
    }
}

/// Checks a served checkpoint against the mirror; true when it covers
/// records the mirror holds, false when it is ahead of them.
fn check_checkpoint(mirror: &Mirror, signed: &SignedCheckpoint) -> CliResult<bool> {
    let tree = mirror
        .ledger
        .merkle_tree()
        .expect("a mirror keeps its tree");
    match signed.check_against(&mirror.ledger, |size| tree.root(size).ok()) {
        Ok(fit) => Ok(fit == CheckpointFit::Contained),
        Err(why) => Err(alarm(format!(
            "the server's checkpoint of size {}: {why}",
            signed.checkpoint.size
        ))),
    }
}

/// Asks the server to prove that its checkpoint `new` extends the one the
/// mirror verified before (`old`), and checks the proof (RFC 6962).
fn check_consistency(
    client: &Client,
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
) -> CliResult<()> {
    let (a, b) = (old.checkpoint.size, new.checkpoint.size);
    let (status, body) = client.get(&format!("/v1/proofs/consistency?from={a}&to={b}"))?;
    if status != 200 {
        return Err(alarm(format!(
            "the server gives no consistency proof from its checkpoint of size {a} to size {b} (HTTP {status})"
        )));
    }
    let proof: Vec<NodeHash> = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v["proof"].as_array().map(|hashes| {
                hashes
                    .iter()
                    .filter_map(|h| BASE64.decode(h.as_str()?).ok()?.try_into().ok())
                    .collect()
            })
        })
        .ok_or_else(|| {
            alarm("the server's consistency proof is not {\"proof\": [base64…]}".into())
        })?;
    verify_consistency(a, b, &old.checkpoint.root, &new.checkpoint.root, &proof).map_err(|e| {
        alarm(format!(
            "the server's checkpoint of size {b} is not an extension of its checkpoint of size {a}: {e}"
        ))
    })
}

/// What a follow has checked so far, for its lines and its summary.
#[derive(Default)]
struct Tally {
    checkpoints_verified: u64,
    consistency_proofs: u64,
    records_pulled: u64,
}

impl Tally {
    fn summary(&self, dir: &Path, mirror: &Mirror) -> String {
        format!(
            "mirror {}: {} records verified, head {}; {} checkpoint(s) consistent, {} consistency proof(s) checked; {} record(s) pulled this run",
            dir.display(),
            mirror.ledger.size(),
            mirror.ledger.head(),
            self.checkpoints_verified,
            self.consistency_proofs,
            self.records_pulled
        )
    }
}

/// Set by SIGINT/SIGTERM: the follow loop ends after its current poll and
/// prints its summary.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub fn run(url: &str, dir: &Path, once: bool, interval_secs: u64, quiet: bool) -> CliResult<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let client = Client {
        agent,
        base: url.trim_end_matches('/').to_string(),
    };
    let mut mirror = Mirror::open(dir)?;
    if !once {
        // SAFETY: installs a handler that only stores to an atomic.
        unsafe {
            libc::signal(
                libc::SIGINT,
                request_stop as *const () as libc::sighandler_t,
            );
            libc::signal(
                libc::SIGTERM,
                request_stop as *const () as libc::sighandler_t,
            );
        }
    }
    let mut tally = Tally::default();
    let result = follow_loop(&client, &mut mirror, &mut tally, once, interval_secs, quiet);
    match &result {
        // An alarm still says how far the mirror got before it.
        Err(e) if e.code == EXIT_ALARM => {
            eprintln!("before the alarm: {}", tally.summary(dir, &mirror))
        }
        Ok(()) => println!("{}", tally.summary(dir, &mirror)),
        Err(_) => {}
    }
    result
}

fn follow_loop(
    client: &Client,
    mirror: &mut Mirror,
    tally: &mut Tally,
    once: bool,
    interval_secs: u64,
    quiet: bool,
) -> CliResult<()> {
    let say = |line: String| {
        if !quiet {
            println!("{line}");
        }
    };
    // The newest seal the mirror already verified: the server must prove
    // that its next checkpoint extends it.
    let mut last_checkpoint = mirror.newest_checkpoint()?;
    loop {
        check_prefix(client, mirror)?;
        // Pull and verify new records, page by page.
        loop {
            let from = mirror.ledger.size();
            let (status, body) =
                client.get(&format!("/v1/records?from={from}&limit={PAGE_RECORDS}"))?;
            if status != 200 {
                return Err(CliError::usage(format!(
                    "GET /v1/records: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            let mut batch = Vec::new();
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let seq = mirror.ledger.size();
                let hash = mirror.ledger.verify_line(line).map_err(|r| {
                    alarm(format!("the server served seq {seq}, which fails verification against this mirror's copy: {r}"))
                })?;
                batch.push(SealedRecord {
                    seq,
                    hash,
                    event_id: String::new(),
                    bytes: line.to_vec(),
                });
            }
            let got = batch.len() as u64;
            mirror.append(&batch)?;
            if got > 0 {
                tally.records_pulled += got;
                say(format!(
                    "mirrored seq {from}–{}: {got} record(s) verified (links, hashes, signatures, rules), head {}",
                    from + got - 1,
                    mirror.ledger.head()
                ));
            }
            if got < PAGE_RECORDS {
                break;
            }
        }
        if mirror.ledger.size() > 0 {
            let (status, body) = client.get("/v1/checkpoint")?;
            if status == 200 {
                let signed = SignedCheckpoint::parse(&String::from_utf8_lossy(&body))
                    .map_err(|e| alarm(format!("the server's checkpoint: {e}")))?;
                let is_new = last_checkpoint
                    .as_ref()
                    .map_or(true, |old| old.checkpoint.size != signed.checkpoint.size);
                if check_checkpoint(mirror, &signed)? {
                    let mut line = format!(
                        "checkpoint of size {}: signed by the operator, its root matches the mirror",
                        signed.checkpoint.size
                    );
                    if let Some(old) = &last_checkpoint {
                        check_consistency(client, old, &signed)?;
                        tally.consistency_proofs += 1;
                        line.push_str(&format!(
                            "; proven to extend the checkpoint of size {}",
                            old.checkpoint.size
                        ));
                    }
                    tally.checkpoints_verified += 1;
                    if is_new {
                        say(line);
                    }
                    last_checkpoint = Some(signed);
                }
            }
        }
        if once || STOP.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        // Sleep in short steps so that a stop request is seen soon.
        let until = std::time::Instant::now() + Duration::from_secs(interval_secs.max(1));
        while std::time::Instant::now() < until {
            if STOP.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `submit --url`: sends a batch as `sign` prints it (JSON Lines, one
/// object or an array) to a server's `POST /v1/submissions`, and reports
/// each record as `append` does. The server's error answer becomes the
/// one sentence of a rejection (exit 1).
pub fn submit_to_server(url: &str, file: &str) -> CliResult<()> {
    let body = if file == "-" {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut text)
            .map_err(|e| CliError::usage(format!("standard input: {e}")))?;
        text
    } else {
        std::fs::read(file).map_err(|e| CliError::usage(format!("{file}: cannot read: {e}")))?
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let endpoint = format!("{}/v1/submissions", url.trim_end_matches('/'));
    let mut response = agent
        .post(&endpoint)
        .header("content-type", "application/json")
        .send(&body[..])
        .map_err(|e| CliError::usage(format!("{endpoint}: cannot send: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| CliError::usage(format!("{endpoint}: cannot read the answer: {e}")))?;
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    if !(200..300).contains(&status) {
        let error = &answer["error"];
        let mut message = format!("{file}: the server refused the batch ({status}");
        if let Some(class) = error["class"].as_str() {
            message.push_str(&format!(" {class}"));
        }
        message.push(')');
        if let Some(item) = error["item"].as_u64() {
            message.push_str(&format!(", item {item}"));
        }
        if let Some(field) = error["field"].as_str() {
            message.push_str(&format!(", field {field}"));
        }
        message.push_str(&format!(
            ": {}; nothing was appended",
            error["message"].as_str().unwrap_or(text.trim())
        ));
        return Err(if status >= 500 {
            CliError::in_the_way(message)
        } else {
            CliError::rejected(message)
        });
    }
    let records = answer["records"].as_array().cloned().unwrap_or_default();
    for record in &records {
        println!(
            "{} seq {}: {}",
            if status == 201 {
                "recorded"
            } else {
                "exists  "
            },
            record["seq"],
            record["event"]["id"].as_str().unwrap_or("?")
        );
    }
    println!(
        "{} record(s) {}; the server acknowledged the batch on disk",
        records.len(),
        if status == 201 {
            "appended or already present"
        } else {
            "already present (identical retry)"
        }
    );
    Ok(())
}
