//! Receipts: a record, its inclusion proof and the operator's checkpoint,
//! in the C2SP tlog-proof format (https://c2sp.org/tlog-proof):
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the record's canonical line>
//! index <seq>
//! <inclusion proof, one base64 hash a line>
//!
//! <the checkpoint note>
//! ```
//!
//! Anyone holding the operator's public key can check one offline: a
//! district keeps the receipt of its settlement and shows it to anyone.

use crate::checkpoint::{NoteError, SignedCheckpoint};
use crate::crypto::PublicKey;
use crate::ledger::{parse_stored, StoredRecord};
use crate::merkle::{leaf_hash, verify_inclusion, NodeHash, ProofError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// The first line of every receipt.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed receipt.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// The record's canonical line.
    pub record: Vec<u8>,
    /// Its seq: its leaf index.
    pub index: u64,
    /// The inclusion proof in the checkpoint's tree.
    pub proof: Vec<NodeHash>,
    /// The operator's checkpoint.
    pub checkpoint: SignedCheckpoint,
}

/// Why a receipt does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not in the receipt format.
    #[error("not a receipt (c2sp.org/tlog-proof@v1): {0}")]
    Malformed(String),
    /// The checkpoint note is malformed.
    #[error("{0}")]
    Note(#[from] NoteError),
    /// The record is not a well-formed record.
    #[error("the record in the receipt is not a valid record: {0}")]
    Record(String),
    /// The checkpoint is not signed by the key given.
    #[error("the checkpoint carries no valid signature by the operator key given")]
    NotSigned,
    /// The proof does not place the record in the checkpoint's tree.
    #[error("the record is not proven to be in the checkpoint's tree: {0}")]
    Proof(#[from] ProofError),
}

impl Receipt {
    /// Writes the receipt.
    pub fn render(record: &[u8], index: u64, proof: &[NodeHash], checkpoint_note: &str) -> String {
        let mut out = format!("{HEADER}\nextra {}\nindex {index}\n", BASE64.encode(record));
        for hash in proof {
            out.push_str(&BASE64.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(checkpoint_note);
        out
    }

    /// Parses a receipt.
    pub fn parse(text: &str) -> Result<Receipt, ReceiptError> {
        let bad = |why: &str| ReceiptError::Malformed(why.to_string());
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let record = lines
            .next()
            .and_then(|l| l.strip_prefix("extra "))
            .and_then(|b| BASE64.decode(b).ok())
            .ok_or_else(|| bad("no `extra` line with the record in base64"))?;
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("no `index` line"))?;
        let proof = lines
            .map(|l| {
                BASE64
                    .decode(l)
                    .ok()
                    .and_then(|h| NodeHash::try_from(h).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Receipt {
            record,
            index,
            proof,
            checkpoint: SignedCheckpoint::parse(note)?,
        })
    }

    /// Checks the receipt against the operator's public key: the record is
    /// well formed (its own hash holds), the checkpoint is signed by the
    /// key, and the proof places the record's hash at `index` in the
    /// checkpoint's tree. Returns the record.
    pub fn verify(&self, operator: &PublicKey) -> Result<StoredRecord, ReceiptError> {
        let record = parse_stored(&self.record).map_err(|r| ReceiptError::Record(r.to_string()))?;
        if !self.checkpoint.verify(operator) {
            return Err(ReceiptError::NotSigned);
        }
        let cp = &self.checkpoint.checkpoint;
        if record.seq() != Some(self.index) {
            return Err(ReceiptError::Malformed(format!(
                "the record is seq {:?}, the index says {}",
                record.seq(),
                self.index
            )));
        }
        verify_inclusion(
            &leaf_hash(&record.hash().0),
            self.index,
            cp.size,
            &self.proof,
            &cp.root,
        )?;
        Ok(record)
    }
}
