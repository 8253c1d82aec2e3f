//! Seals: after every batch the operator signs a C2SP checkpoint of every
//! record before it, appended as the batch's last record
//! (`ledger_sealed`). Record hashes are the leaves of an RFC 6962 tree;
//! a seal's checkpoint has the seal's own seq as its size and the tree head
//! of the records before it as its root, so any change, drop, reorder or
//! re-time of a sealed record, by anyone without the operator key, breaks
//! the next seal.

use super::{Appended, Ledger, SealedRecord};
use crate::body::LedgerSealed;
use crate::checkpoint::{origin, Checkpoint, SignedCheckpoint};
use crate::crypto::SecretKey;
use crate::ids::{Hash32, Timestamp};
use crate::merkle::{leaf_hash, Frontier, MerkleTree, NodeHash};
use crate::Rejection;
use serde_json::json;

/// The prefix of ids the ledger keeps for its own events.
pub const RESERVED_ID_PREFIX: &str = "ledger:";

/// The event id of the seal at `seq`.
pub fn seal_id(seq: u64) -> String {
    format!("{RESERVED_ID_PREFIX}seal:{seq}")
}

/// The ledger's Merkle tree over its record hashes: every subtree in full
/// mode (for proofs of any size), the frontier in compact mode.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Merkle {
    Full(MerkleTree),
    Compact(Frontier),
}

impl Merkle {
    pub(crate) fn push(&mut self, record_hash: &Hash32) {
        let leaf = leaf_hash(&record_hash.0);
        match self {
            Merkle::Full(tree) => tree.push(leaf),
            Merkle::Compact(frontier) => frontier.push(leaf),
        }
    }

    pub(crate) fn root(&self) -> NodeHash {
        match self {
            Merkle::Full(tree) => tree.root(tree.size()).expect("its own size"),
            Merkle::Compact(frontier) => frontier.root(),
        }
    }
}

impl Ledger {
    /// The RFC 6962 tree head of every record so far.
    pub fn merkle_root(&self) -> NodeHash {
        self.merkle.root()
    }

    /// Every subtree of the record tree, for inclusion and consistency
    /// proofs (`None` in compact mode, which keeps only the frontier).
    pub fn merkle_tree(&self) -> Option<&MerkleTree> {
        match &self.merkle {
            Merkle::Full(tree) => Some(tree),
            Merkle::Compact(_) => None,
        }
    }

    /// The seq of the last seal: every record up to it is sealed.
    pub fn sealed_through(&self) -> Option<u64> {
        self.last_seal
    }

    /// The rules of a `ledger_sealed` record: for this ledger, of exactly
    /// the records before it, with their tree head, signed by the operator.
    pub(super) fn decide_seal(&self, id: &str, b: &LedgerSealed) -> Result<(), Rejection> {
        let field = "body.checkpoint";
        let signed = SignedCheckpoint::parse(&b.checkpoint)
            .map_err(|e| Rejection::schema(e.to_string()).with_field(field))?;
        let cp = &signed.checkpoint;
        let (Some(ledger_id), Some(operator)) = (self.ledger_id, self.operator()) else {
            return Err(Rejection::rule("record 0 is ledger_opened".to_string()));
        };
        if cp.origin != origin(ledger_id) {
            return Err(Rejection::rule(format!(
                "the checkpoint's origin is {:?}, not this ledger's {:?}",
                cp.origin,
                origin(ledger_id)
            ))
            .with_field(field));
        }
        if cp.size != self.size {
            return Err(Rejection::chain(format!(
                "the seal at seq {} covers the {} records before it, but its checkpoint says {}: records were dropped or added",
                self.size, self.size, cp.size
            ))
            .with_field(field));
        }
        if cp.root != self.merkle.root() {
            let since = self
                .last_seal
                .map_or("record 0".to_string(), |s| format!("the seal at seq {s}"));
            return Err(Rejection::chain(format!(
                "the checkpoint's Merkle root is not the root of the {} records before it: a record after {since} was changed, dropped, added, reordered or re-timed",
                self.size
            ))
            .with_field(field));
        }
        if !signed.verify(&operator.key) {
            return Err(Rejection::signature(
                "the checkpoint carries no valid signature by the operator's key".to_string(),
            )
            .with_field(field));
        }
        if id != seal_id(self.size) {
            return Err(Rejection::rule(format!(
                "the seal at seq {} has the id {:?}",
                self.size,
                seal_id(self.size)
            ))
            .with_field("event.id"));
        }
        Ok(())
    }

    /// Seals every record so far: the operator's `ledger_sealed`, signed
    /// twice by `operator` (the checkpoint note and the event), recorded at
    /// `recorded_at`, folded in. Refused unless `operator` is the ledger's.
    pub fn seal(
        &mut self,
        operator: &SecretKey,
        recorded_at: Timestamp,
    ) -> Result<SealedRecord, Rejection> {
        let (Some(ledger_id), Some(actor)) = (self.ledger_id, self.operator()) else {
            return Err(Rejection::rule(
                "an empty ledger has nothing to seal".to_string(),
            ));
        };
        if actor.key != operator.public() {
            return Err(Rejection::unauthorized(format!(
                "the key given to seal the batch (public {}) is not the operator key of this ledger",
                &operator.public().to_hex()[..16]
            )));
        }
        let note = Checkpoint::new(ledger_id, self.size, self.merkle.root()).sign(operator);
        let event = json!({
            "id": seal_id(self.size),
            "actor": actor.id,
            "kind": "ledger_sealed",
            "at": recorded_at.to_string(),
            "ledger": ledger_id.to_hex(),
            "body": {"checkpoint": note.note()},
        });
        let sig = operator.sign_event(&event).map_err(Rejection::from)?;
        match self.append_event(&event, &sig, recorded_at)? {
            Appended::New(record) => Ok(record),
            Appended::Exists(seq) => Err(Rejection::conflict(format!(
                "the seal {} is already at seq {seq}",
                seal_id(self.size)
            ))),
        }
    }
}
