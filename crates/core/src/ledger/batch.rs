//! A batch of signed events, decided on an O(1) clone of the state: every
//! event or none. The one append path of the CLI and the server.

use super::{Appended, Ledger, PendingSignature, SealedRecord};
use crate::crypto::SecretKey;
use crate::ids::Timestamp;
use crate::Rejection;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Where each record's `recorded_at` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordClock {
    /// The machine's time, read by the caller: in the ledger's UTC offset,
    /// and never earlier than the last record's (see [`Ledger::now`]).
    Now(DateTime<Utc>),
    /// Each event's own `at` (for loading history).
    EventAt,
}

/// A signed event offered for the next record.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The event object.
    pub event: &'a Value,
    /// The actor's signature of its hash, lowercase hex.
    pub sig: &'a str,
}

impl<'a> BatchItem<'a> {
    /// A signed submission `{"event", "sig"}`, as `fundledger sign` prints
    /// it and `POST /v1/submissions` takes it.
    pub fn parse(submission: &'a Value) -> Result<BatchItem<'a>, Rejection> {
        let object = submission.as_object().ok_or_else(|| {
            Rejection::malformed("a submission is an object {\"event\", \"sig\"}".to_string())
        })?;
        if let Some(extra) = object.keys().find(|k| *k != "event" && *k != "sig") {
            return Err(Rejection::malformed(
                "unknown member; a submission has only \"event\" and \"sig\"".to_string(),
            )
            .with_field(extra));
        }
        let event = object
            .get("event")
            .ok_or_else(|| Rejection::malformed("missing".to_string()).with_field("event"))?;
        let sig = object.get("sig").and_then(Value::as_str).ok_or_else(|| {
            Rejection::malformed("missing or not a string".to_string()).with_field("sig")
        })?;
        Ok(BatchItem { event, sig })
    }
}

/// How far ahead of the machine's clock an event's `at` may be, by default.
pub const FUTURE_SKEW_DEFAULT_HOURS: u32 = 24;

/// Refuses an event whose `at` is more than `skew` ahead of `now_utc`: the
/// ledger's time never decreases, so one far-future time would hold every
/// later record at it (and refuse every `--clock event` load after it).
pub fn refuse_far_future(
    items: &[BatchItem<'_>],
    now_utc: DateTime<Utc>,
    skew: chrono::Duration,
) -> Result<(), BatchRejection> {
    let latest = now_utc + skew;
    for (index, item) in items.iter().enumerate() {
        let Ok(at) = event_at(item.event) else {
            continue; // the decision names a malformed `at`
        };
        if at.datetime() > latest {
            return Err(BatchRejection {
                index,
                rejection: Rejection::rule(format!(
                    "at {at} is more than {} hours ahead of this machine's clock ({}); the ledger's time never goes back, so a far-future time is refused",
                    skew.num_hours(),
                    Timestamp::from_datetime(now_utc.fixed_offset())
                ))
                .with_field("event.at"),
            });
        }
    }
    Ok(())
}

/// What became of one item of an accepted batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemOutcome {
    /// A new record at this seq.
    New(u64),
    /// An identical event was already at this seq: nothing appended.
    Exists(u64),
}

impl ItemOutcome {
    /// The seq of the item's record, new or existing.
    pub fn seq(self) -> u64 {
        match self {
            ItemOutcome::New(seq) | ItemOutcome::Exists(seq) => seq,
        }
    }
}

/// An accepted batch, not yet stored.
#[derive(Debug)]
pub struct DecidedBatch {
    /// The state after the batch: keep it only once `records` are durable.
    pub ledger: Ledger,
    /// The new records, in order, ending with the seal when any is new.
    pub records: Vec<SealedRecord>,
    /// One outcome per item, in order.
    pub outcomes: Vec<ItemOutcome>,
}

/// The first item of a batch that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRejection {
    /// Its index in the batch; the number of items when the batch's seal
    /// was refused (the key given is not the operator's).
    pub index: usize,
    /// Why.
    pub rejection: Rejection,
}

impl Ledger {
    /// `now_utc` as the next record's `recorded_at`: in the ledger's UTC
    /// offset, and clamped so the ledger's time never decreases.
    pub fn now(&self, now_utc: DateTime<Utc>) -> Timestamp {
        let now = Timestamp::from_datetime(now_utc.with_timezone(&self.utc_offset));
        self.last_recorded_at.map_or(now, |last| now.max(last))
    }

    /// Decides `items` as one batch on a clone of the state; `self` is
    /// never changed. A batch that adds any record ends with the operator's
    /// seal of every record so far ([`Ledger::seal`], signed with
    /// `operator`), so a ledger never holds an unsealed record. On success
    /// the caller stores the records durably and only then replaces its
    /// state with the batch's.
    pub fn append_batch(
        &self,
        items: &[BatchItem<'_>],
        clock: RecordClock,
        operator: &SecretKey,
    ) -> Result<DecidedBatch, BatchRejection> {
        let mut batch = self.decide_batch(items, clock)?;
        batch.seal(operator).map_err(|rejection| BatchRejection {
            index: items.len(),
            rejection,
        })?;
        Ok(batch)
    }

    /// [`Ledger::append_batch`] without the seal, for a caller that decides
    /// several batches in a row and seals them together (the server's
    /// group commit): it must end the group with [`DecidedBatch::seal`].
    pub fn decide_batch(
        &self,
        items: &[BatchItem<'_>],
        clock: RecordClock,
    ) -> Result<DecidedBatch, BatchRejection> {
        let mut ledger = self.clone();
        let (records, outcomes) = ledger.decide_batch_in_place(items, clock, None)?;
        Ok(DecidedBatch {
            ledger,
            records,
            outcomes,
        })
    }

    /// [`Ledger::decide_batch`] on this ledger itself, for a caller that
    /// owns a working copy (the server's group commit): the new records and
    /// the outcomes, and this ledger then holds the batch. A batch of one
    /// event is decided and applied in place — deciding only reads the
    /// state, and only an accepted event changes it — which spares the
    /// copy of every map path a clone's first write makes. A longer batch
    /// is decided on a clone that replaces this ledger only if every event
    /// passes. Refused: this ledger is unchanged.
    ///
    /// With `deferred`, well-formed signatures are not checked but pushed
    /// there (none for a refused batch): the caller checks them together
    /// ([`crate::crypto::verify_batch`]) and, if that fails, decides again
    /// from the state before with `None`, so that a bad signature is
    /// refused exactly where checking each would have refused it.
    pub fn decide_batch_in_place(
        &mut self,
        items: &[BatchItem<'_>],
        clock: RecordClock,
        mut deferred: Option<&mut Vec<PendingSignature>>,
    ) -> Result<(Vec<SealedRecord>, Vec<ItemOutcome>), BatchRejection> {
        let pending_before = deferred.as_ref().map_or(0, |d| d.len());
        let mut working = if items.len() == 1 {
            None
        } else {
            Some(self.clone())
        };
        let mut records = Vec::with_capacity(items.len());
        let mut outcomes = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let ledger = working.as_mut().unwrap_or(&mut *self);
            let decided = match clock {
                RecordClock::Now(now_utc) => Ok(ledger.now(now_utc)),
                RecordClock::EventAt => event_at(item.event),
            }
            .and_then(|recorded_at| {
                ledger.append_event_with(item.event, item.sig, recorded_at, deferred.as_deref_mut())
            });
            match decided {
                Ok(Appended::New(record)) => {
                    outcomes.push(ItemOutcome::New(record.seq));
                    records.push(record);
                }
                Ok(Appended::Exists(seq)) => outcomes.push(ItemOutcome::Exists(seq)),
                Err(rejection) => {
                    if let Some(deferred) = deferred {
                        deferred.truncate(pending_before);
                    }
                    return Err(BatchRejection { index, rejection });
                }
            }
        }
        if let Some(ledger) = working {
            *self = ledger;
        }
        Ok((records, outcomes))
    }
}

impl DecidedBatch {
    /// Appends the operator's seal when the batch added any record (at the
    /// last record's time). Refused unless `operator` is the ledger's.
    pub fn seal(&mut self, operator: &SecretKey) -> Result<(), Rejection> {
        if let Some(recorded_at) = self
            .ledger
            .last_recorded_at
            .filter(|_| !self.records.is_empty())
        {
            let seal = self.ledger.seal(operator, recorded_at)?;
            self.records.push(seal);
        }
        Ok(())
    }
}

/// An event's own `at`, for [`RecordClock::EventAt`].
fn event_at(event: &Value) -> Result<Timestamp, Rejection> {
    event
        .get("at")
        .and_then(Value::as_str)
        .ok_or_else(|| "at is missing or not a string".to_string())
        .and_then(|t| Timestamp::parse(t).map_err(|e| e.0))
        .map_err(|message| Rejection::schema(message).with_field("event.at"))
}
