//! The records the state machine takes and gives: checked (no state yet),
//! sealed (accepted, ready to store), stored (read back from the ledger's
//! own store).

use crate::body::Body;
use crate::crypto::PublicKey;
use crate::ids::{Hash32, Timestamp};
use crate::kind::EventKind;
use crate::Rejection;

/// A record that passed every check, ready to store.
#[derive(Clone, Debug)]
pub struct SealedRecord {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash32,
    /// The event's id.
    pub event_id: String,
    /// The canonical (RFC 8785) bytes: one export line without the newline.
    pub bytes: Vec<u8>,
}

/// An event that passed the checks that need no ledger state: shape,
/// canonical form, size, privacy, schema, typed body. Computed in parallel
/// by `verify`; decided against the state by [`Ledger::accept`].
#[derive(Clone, Debug)]
pub struct CheckedEvent {
    pub(crate) event_hash: Hash32,
    pub(crate) kind: EventKind,
    pub(crate) id: String,
    pub(crate) actor: String,
    pub(crate) at: Timestamp,
    /// The ledger it was signed for (absent on record 0, which defines it).
    pub(crate) ledger: Option<Hash32>,
    pub(crate) body: Body,
}

/// A record that passed the checks that need no ledger state: canonical
/// bytes, members, formats, its own hash, and its event's checks.
#[derive(Clone, Debug)]
pub struct CheckedRecord {
    pub(crate) seq: Option<u64>,
    pub(crate) prev: Option<Hash32>,
    pub(crate) recorded_at: Timestamp,
    pub(crate) hash: Hash32,
    pub(crate) sig: String,
    pub(crate) event: CheckedEvent,
}

/// A signature whose check was deferred to a batch.
#[derive(Clone, Debug)]
pub struct PendingSignature {
    /// The record.
    pub seq: u64,
    /// The actor.
    pub actor: String,
    /// Its enrolled key.
    pub key: PublicKey,
    /// What was signed.
    pub event_hash: Hash32,
    /// The signature, lowercase hex.
    pub sig: String,
}

impl PendingSignature {
    /// The rejection a failing signature produces.
    pub fn rejection(&self) -> Rejection {
        Rejection::signature(format!(
            "the signature does not verify with the enrolled key of actor {:?}",
            self.actor
        ))
        .with_field("sig")
    }
}

/// The outcome of offering an event to the ledger.
#[derive(Clone, Debug)]
pub enum Appended {
    /// A new record.
    New(SealedRecord),
    /// An identical event is already in the ledger at this seq: nothing appended.
    Exists(u64),
}

/// A record of the ledger's own store, parsed: what
/// [`Ledger::accept_stored`] needs. [`parse_stored`] needs no state, so a
/// store is parsed on every core and folded in order.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    pub(crate) seq: Option<u64>,
    pub(crate) prev: Option<Hash32>,
    pub(crate) recorded_at: Timestamp,
    pub(crate) hash: Hash32,
    pub(crate) event: CheckedEvent,
}

impl StoredRecord {
    /// Its seq.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }
    /// Its hash (checked).
    pub fn hash(&self) -> Hash32 {
        self.hash
    }
    /// When the ledger recorded it.
    pub fn recorded_at(&self) -> Timestamp {
        self.recorded_at
    }
    /// The event's id.
    pub fn event_id(&self) -> &str {
        &self.event.id
    }
    /// Who asserts the event.
    pub fn actor(&self) -> &str {
        &self.event.actor
    }
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.event.kind
    }
    /// The event's typed body.
    pub fn body(&self) -> &Body {
        &self.event.body
    }
}
