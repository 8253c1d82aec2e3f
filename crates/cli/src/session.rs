//! An open ledger: the store and the state replayed from it, and the one
//! append path every command (append, submit, init, demo, import) goes through.

use crate::error::{CliError, CliResult};
use crate::input::Located;
use fundledger_core::crypto::SecretKey;
use fundledger_core::ledger::{
    refuse_far_future, BatchItem, BatchRejection, ItemOutcome, Ledger, RecordClock,
    FUTURE_SKEW_DEFAULT_HOURS,
};
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
    /// How far ahead of this machine's clock an event's `at` may be.
    pub future_skew: chrono::Duration,
}

/// The default of `--future-skew-hours`.
pub fn default_future_skew() -> chrono::Duration {
    chrono::Duration::hours(i64::from(FUTURE_SKEW_DEFAULT_HOURS))
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

/// The batch of `items` signed with `sigs`, one each.
pub fn signed_batch<'a>(items: &'a [Located], sigs: &'a [String]) -> Vec<Submission<'a>> {
    items
        .iter()
        .zip(sigs)
        .map(|(item, sig)| Submission {
            location: &item.location,
            event: &item.value,
            sig,
        })
        .collect()
}

impl Session {
    /// Opens a ledger, re-verifying every stored record.
    pub fn open(dir: &Path) -> CliResult<Session> {
        let (store, ledger) = Store::open(dir)?;
        Ok(Session {
            store,
            ledger,
            future_skew: default_future_skew(),
        })
    }

    /// Appends signed events as one batch: every one or none, flushed before
    /// this returns.
    pub fn append(
        &mut self,
        batch: &[Submission<'_>],
        clock: Clock,
        operator: &SecretKey,
    ) -> CliResult<BatchOutcome> {
        let now = chrono::Utc::now();
        let clock = match clock {
            Clock::Now => RecordClock::Now(now),
            Clock::Event => RecordClock::EventAt,
        };
        let items: Vec<BatchItem<'_>> = batch
            .iter()
            .map(|s| BatchItem {
                event: s.event,
                sig: s.sig,
            })
            .collect();
        let decided = refuse_far_future(&items, now, self.future_skew)
            .and_then(|()| self.ledger.append_batch(&items, clock, operator))
            .map_err(|BatchRejection { index, rejection }| {
                let location = batch.get(index).map_or("the batch's seal", |s| s.location);
                CliError::rejected(format!("{location}, {rejection}; nothing was appended"))
            })?;
        self.store.append(&decided.records)?;
        self.ledger = decided.ledger;
        self.ledger.mark_stored();
        let mut outcome = BatchOutcome::default();
        let mut new_records = decided.records.iter();
        for (submission, item) in batch.iter().zip(decided.outcomes) {
            match item {
                ItemOutcome::New(seq) => {
                    let record = new_records.next().expect("one record per new item");
                    outcome.appended.push((seq, record.event_id.clone()));
                }
                ItemOutcome::Exists(seq) => {
                    let id = submission.event["id"].as_str().unwrap_or_default();
                    outcome.existing.push((seq, id.to_string()));
                }
            }
        }
        Ok(outcome)
    }
}

/// Splits parsed items into submissions.
pub fn submissions(items: &[Located]) -> CliResult<Vec<Submission<'_>>> {
    items
        .iter()
        .map(|item| {
            let parsed = BatchItem::parse(&item.value)
                .map_err(|r| CliError::rejected(format!("{}, {r}", item.location)))?;
            Ok(Submission {
                location: &item.location,
                event: parsed.event,
                sig: parsed.sig,
            })
        })
        .collect()
}
