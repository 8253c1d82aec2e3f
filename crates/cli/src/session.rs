//! An open ledger: the store and the state replayed from it, and the one
//! append path every command (append, submit, init, demo, import) goes through.

use crate::error::{CliError, CliResult};
use crate::input::Located;
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::{Appended, Ledger, SealedRecord};
use fundledger_store::Store;
use serde_json::Value;
use std::path::Path;

/// Where `recorded_at` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Clock {
    /// The machine's clock, in the ledger's UTC offset.
    Now,
    /// Each event's own `at` (for loading history).
    Event,
}

/// An open ledger.
pub struct Session {
    /// The store.
    pub store: Store,
    /// The state after every stored record.
    pub ledger: Ledger,
}

/// What a batch did.
#[derive(Default)]
pub struct BatchOutcome {
    /// New records: seq and event id.
    pub appended: Vec<(u64, String)>,
    /// Identical events already present: seq and event id.
    pub existing: Vec<(u64, String)>,
}

/// A signed event waiting to be appended.
pub struct Submission<'a> {
    /// Where it came from, for errors.
    pub location: &'a str,
    /// The event object.
    pub event: &'a Value,
    /// Its signature.
    pub sig: &'a str,
}

impl Session {
    /// Opens a ledger, re-verifying every stored record.
    pub fn open(dir: &Path) -> CliResult<Session> {
        let (store, ledger) = Store::open(dir)?;
        Ok(Session { store, ledger })
    }

    /// Appends signed events as one batch: every one or none, flushed before
    /// this returns.
    pub fn append(&mut self, batch: &[Submission<'_>], clock: Clock) -> CliResult<BatchOutcome> {
        let mut working = self.ledger.clone();
        let mut sealed: Vec<SealedRecord> = Vec::with_capacity(batch.len());
        let mut outcome = BatchOutcome::default();
        for submission in batch {
            let recorded_at = match clock {
                Clock::Now => {
                    let now = Timestamp::from_datetime(
                        chrono::Utc::now().with_timezone(&working.utc_offset()),
                    );
                    working.last_recorded_at().map_or(now, |last| now.max(last))
                }
                Clock::Event => submission
                    .event
                    .get("at")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "at is missing or not a string".to_string())
                    .and_then(|t| Timestamp::parse(t).map_err(|e| e.0))
                    .map_err(|e| {
                        CliError::rejected(format!("{}, field event.at: {e}", submission.location))
                    })?,
            };
            match working.append_event(submission.event, submission.sig, recorded_at) {
                Ok(Appended::New(record)) => {
                    outcome.appended.push((record.seq, record.event_id.clone()));
                    sealed.push(record);
                }
                Ok(Appended::Exists(seq)) => {
                    let id = submission.event["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    outcome.existing.push((seq, id));
                }
                Err(rejection) => {
                    return Err(CliError::rejected(format!(
                        "{}, {rejection}; nothing was appended",
                        submission.location
                    )))
                }
            }
        }
        self.store.append(&sealed)?;
        self.ledger = working;
        Ok(outcome)
    }
}

/// Splits parsed items into submissions.
pub fn submissions(items: &[Located]) -> CliResult<Vec<Submission<'_>>> {
    items
        .iter()
        .map(|item| {
            let (event, sig) = crate::input::split_submission(item)?;
            Ok(Submission {
                location: &item.location,
                event,
                sig,
            })
        })
        .collect()
}
