//! Signed checkpoints: `{"ledger", "size", "head", "at"}` signed by the
//! operator over `BLAKE3("fundledger:checkpoint:v1" ‖ 0x00 ‖ JCS(checkpoint))`.
//! An outside party that kept an earlier checkpoint can prove the log only grew.

use crate::crypto::{domain_hash, PublicKey, SecretKey, CHECKPOINT_DOMAIN};
use crate::ids::{Hash32, Timestamp};
use crate::jcs::canonical_bytes;
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
