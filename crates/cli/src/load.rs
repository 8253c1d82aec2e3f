//! `load`: a past year in one command. A file of events from several
//! actors and a directory of their key files: each event is signed with
//! its actor's key (`KEYS/<actor>.key`), bound to the ledger, and appended
//! in file order at its own time (`--clock event`), as one batch or in
//! batches of `--batch-size`.

use crate::commands::{bind_to_ledger, report_outcome, sealing_key, sign_event};
use crate::error::{CliError, CliResult};
use crate::input::read_values;
use crate::keyfile;
use crate::session::{Clock, Session};
use fundledger_core::crypto::SecretKey;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// Runs `load`.
pub fn load(
    dir: &Path,
    keys: &Path,
    operator_key: &Path,
    batch_size: Option<usize>,
    future_skew_hours: u32,
    file: &str,
) -> CliResult<()> {
    let mut items = read_values(file)?;
    let mut session = Session::open(dir)?;
    session.future_skew = chrono::Duration::hours(i64::from(future_skew_hours));
    let sealer = sealing_key(&session.ledger, Some(operator_key), None)?;
    let ledger_id = session
        .ledger
        .ledger_id()
        .expect("an open ledger has record 0");
    bind_to_ledger(&mut items, ledger_id);
    let mut key_of: HashMap<String, SecretKey> = HashMap::new();
    let mut sigs = Vec::with_capacity(items.len());
    for item in &items {
        let actor = item
            .value
            .get("actor")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                CliError::rejected(format!(
                "{}, field event.actor: missing; every event names its actor; nothing was appended",
                item.location
            ))
            })?;
        if !key_of.contains_key(actor) {
            let path = keys.join(format!("{actor}.key"));
            if !path.exists() {
                return Err(CliError::usage(format!(
                    "{}, field event.actor: no key file {} for actor {actor:?}; nothing was appended",
                    item.location,
                    path.display()
                )));
            }
            key_of.insert(actor.to_string(), keyfile::read(&path)?);
        }
        sigs.push(sign_event(&item.value, &item.location, &key_of[actor])?);
    }
    let batch = crate::session::signed_batch(&items, &sigs);
    let size = batch_size.unwrap_or(batch.len()).max(1);
    let batches = batch.len().div_ceil(size);
    for (n, chunk) in batch.chunks(size).enumerate() {
        let outcome = session
            .append(chunk, Clock::Event, &sealer)
            .map_err(|mut e| {
                if n > 0 {
                    e.message = format!(
                        "batch {} of {batches}: {} (batches 1 to {n} were appended)",
                        n + 1,
                        e.message
                    );
                }
                e
            })?;
        report_outcome(&outcome);
    }
    eprintln!(
        "loaded {} event(s) from {file} in {batches} batch(es), signed by {} actor(s)",
        batch.len(),
        key_of.len()
    );
    Ok(())
}
