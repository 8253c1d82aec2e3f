//! Signed checkpoints: `{"ledger", "size", "head", "at"}` signed by the
//! operator over `BLAKE3("fundledger:checkpoint:v1" ‖ 0x00 ‖ JCS(checkpoint))`.
//! An outside party that kept an earlier checkpoint can prove the log only grew.

use crate::crypto::{domain_hash, PublicKey, SecretKey, CHECKPOINT_DOMAIN};
use crate::ids::{Hash32, Timestamp};
use crate::jcs::canonical_bytes;
use crate::ledger::Ledger;
use serde::{Deserialize, Serialize};

/// The signed statement "ledger L had `size` records ending in `head` at `at`".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Hash of record 0.
    pub ledger: Hash32,
    /// Number of records.
    pub size: u64,
    /// Hash of record `size − 1`.
    pub head: Hash32,
    /// When the operator signed it.
    pub at: Timestamp,
}

/// A checkpoint with the operator's signature, as `checkpoint` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The statement.
    pub checkpoint: Checkpoint,
    /// Ed25519 by the operator key over the checkpoint hash, lowercase hex.
    pub sig: String,
}

impl Checkpoint {
    /// The domain-separated hash that is signed.
    pub fn hash(&self) -> Hash32 {
        let value = serde_json::to_value(self).expect("checkpoints serialize");
        domain_hash(
            CHECKPOINT_DOMAIN,
            &canonical_bytes(&value).expect("checkpoints hold no floats"),
        )
    }

    /// Signs with the operator's key.
    pub fn sign(self, key: &SecretKey) -> SignedCheckpoint {
        let sig = key.sign(&self.hash());
        SignedCheckpoint {
            checkpoint: self,
            sig,
        }
    }
}

impl SignedCheckpoint {
    /// True when the operator's key signed it.
    pub fn verify(&self, operator_key: &PublicKey) -> bool {
        operator_key.verify(&self.checkpoint.hash(), &self.sig)
    }
}

/// How a checkpoint that holds relates to a verified chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointFit {
    /// The chain holds the checkpoint's records, ending in its head.
    Contained,
    /// The checkpoint covers more records than the chain has: a follower
    /// checks it once it holds them; to an auditor of a whole export, the
    /// export was truncated.
    Ahead,
}

/// Why a checkpoint contradicts a verified chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointMismatch {
    /// The chain has no operator to have signed it.
    #[error("the chain has no operator")]
    NoOperator,
    /// Not signed by the chain's operator.
    #[error("its signature does not verify with the operator's key")]
    BadSignature,
    /// Signed for another ledger.
    #[error("it is for ledger {0}, not this one")]
    OtherLedger(Hash32),
    /// It claims no records at all: no checkpoint is of an empty chain.
    #[error("it claims 0 records; a checkpoint covers at least record 0")]
    Empty,
    /// The chain's record at `seq` is not the checkpoint's head.
    #[error(
        "record {seq} has another hash than the checkpoint's head {head}: the history was rewritten"
    )]
    Rewritten {
        /// The last record the checkpoint covers.
        seq: u64,
        /// The head it claims.
        head: Hash32,
    },
}

impl SignedCheckpoint {
    /// Checks this checkpoint against a verified chain: signed by its
    /// operator, for its ledger, and ending in the hash the chain has at
    /// record `size − 1` (`hash_at` gives it; it is asked only for a seq the
    /// chain holds).
    pub fn check_against(
        &self,
        ledger: &Ledger,
        hash_at: impl FnOnce(u64) -> Option<Hash32>,
    ) -> Result<CheckpointFit, CheckpointMismatch> {
        let cp = &self.checkpoint;
        let operator = ledger.operator().ok_or(CheckpointMismatch::NoOperator)?;
        if !self.verify(&operator.key) {
            return Err(CheckpointMismatch::BadSignature);
        }
        if Some(cp.ledger) != ledger.ledger_id() {
            return Err(CheckpointMismatch::OtherLedger(cp.ledger));
        }
        let Some(last) = cp.size.checked_sub(1) else {
            return Err(CheckpointMismatch::Empty);
        };
        if cp.size > ledger.size() {
            return Ok(CheckpointFit::Ahead);
        }
        if hash_at(last) != Some(cp.head) {
            return Err(CheckpointMismatch::Rewritten {
                seq: last,
                head: cp.head,
            });
        }
        Ok(CheckpointFit::Contained)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Appended;

    fn opened(key: &SecretKey) -> Ledger {
        let event = serde_json::json!({
            "id": "ledger-opened", "actor": "op", "kind": "ledger_opened",
            "at": "2022-01-01T09:00:00+08:00",
            "body": {"name": "t", "operator_key": key.public().to_hex(), "currency": "CNY", "utc_offset": "+08:00"}
        });
        let mut ledger = Ledger::new();
        let at = Timestamp::parse("2022-01-01T09:00:00+08:00").unwrap();
        let sig = key.sign_event(&event).unwrap();
        assert!(matches!(
            ledger.append_event(&event, &sig, at),
            Ok(Appended::New(_))
        ));
        ledger
    }

    fn check(
        size: u64,
        head: Option<Hash32>,
        signer: &str,
    ) -> Result<CheckpointFit, CheckpointMismatch> {
        let key = SecretKey::demo("operator");
        let ledger = opened(&key);
        let checkpoint = Checkpoint {
            ledger: ledger.ledger_id().unwrap(),
            size,
            head: head.unwrap_or(ledger.head()),
            at: ledger.last_recorded_at().unwrap(),
        }
        .sign(&SecretKey::demo(signer));
        checkpoint.check_against(&ledger, |seq| (seq == 0).then(|| ledger.head()))
    }

    #[test]
    fn a_checkpoint_is_checked_against_the_chain() {
        assert_eq!(check(1, None, "operator"), Ok(CheckpointFit::Contained));
        assert_eq!(check(2, None, "operator"), Ok(CheckpointFit::Ahead));
        assert_eq!(check(0, None, "operator"), Err(CheckpointMismatch::Empty));
        assert_eq!(
            check(1, None, "someone"),
            Err(CheckpointMismatch::BadSignature)
        );
        assert_eq!(
            check(1, Some(Hash32::ZERO), "operator"),
            Err(CheckpointMismatch::Rewritten {
                seq: 0,
                head: Hash32::ZERO
            })
        );
    }
}
