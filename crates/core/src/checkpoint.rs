//! Checkpoints: C2SP tlog-checkpoints (https://c2sp.org/tlog-checkpoint)
//! in C2SP signed notes (https://c2sp.org/signed-note), over the RFC 6962
//! tree of a ledger's records ([`crate::merkle`]). The note's text is
//!
//! ```text
//! fundledger/<ledger id, 64 hex>
//! <tree size, decimal>
//! <root hash, standard base64>
//! ```
//!
//! and the operator signs it with Ed25519 under the key name equal to the
//! origin line: `— <origin> <base64(key ID ‖ signature)>`, key ID = the first
//! four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). Any C2SP note
//! verifier or witness can check them with the verifier key
//! [`verifier_key`] prints.

use crate::crypto::{PublicKey, SecretKey};
use crate::ids::Hash32;
use crate::ledger::Ledger;
use crate::merkle::NodeHash;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// What every origin line starts with.
pub const ORIGIN_PREFIX: &str = "fundledger/";
/// The signed-note signature type of Ed25519.
const ALG_ED25519: u8 = 0x01;
/// The longest note accepted.
pub const NOTE_BYTES_MAX: usize = 4096;

/// "The log `origin` had `size` records with RFC 6962 root `root`."
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// `fundledger/<ledger id>`.
    pub origin: String,
    /// Records covered.
    pub size: u64,
    /// The tree head of the first `size` records.
    pub root: NodeHash,
}

/// A checkpoint with its note's signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The statement.
    pub checkpoint: Checkpoint,
    /// Every signature line, as (key name, key ID, signature).
    signatures: Vec<(String, u32, [u8; 64])>,
    /// The whole note, as written.
    note: String,
}

/// Why a note is not a fundledger checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a signed checkpoint note: {0}")]
pub struct NoteError(pub String);

/// The origin line of a ledger.
pub fn origin(ledger_id: Hash32) -> String {
    format!("{ORIGIN_PREFIX}{ledger_id}")
}

/// The signed-note key ID of an Ed25519 key under `name`.
pub fn key_id(name: &str, key: &PublicKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALG_ED25519]);
    hasher.update(key.0.as_bytes());
    u32::from_be_bytes(hasher.finalize()[..4].try_into().expect("four bytes"))
}

/// The C2SP verifier key `<name>+<key ID hex>+<base64(0x01 ‖ key)>`, as
/// witnesses and note verifiers are configured with.
pub fn verifier_key(name: &str, key: &PublicKey) -> String {
    let mut encoded = vec![ALG_ED25519];
    encoded.extend_from_slice(key.0.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id(name, key),
        BASE64.encode(encoded)
    )
}

impl Checkpoint {
    /// The checkpoint of `ledger_id`'s first `size` records.
    pub fn new(ledger_id: Hash32, size: u64, root: NodeHash) -> Checkpoint {
        Checkpoint {
            origin: origin(ledger_id),
            size,
            root,
        }
    }

    /// The note's text: origin, size and root, each line ending in `\n`.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Signs as the operator: key name = origin.
    pub fn sign(self, key: &SecretKey) -> SignedCheckpoint {
        let text = self.text();
        let signature = key.sign_bytes(text.as_bytes());
        let id = key_id(&self.origin, &key.public());
        let mut line = id.to_be_bytes().to_vec();
        line.extend_from_slice(&signature);
        let note = format!("{text}\n\u{2014} {} {}\n", self.origin, BASE64.encode(line));
        SignedCheckpoint {
            signatures: vec![(self.origin.clone(), id, signature)],
            checkpoint: self,
            note,
        }
    }
}

/// How a checkpoint that holds relates to a verified chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointFit {
    /// The chain's first `size` records have the checkpoint's root.
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
    /// No signature line by the chain's operator verifies.
    #[error("it carries no valid signature by the operator's key")]
    BadSignature,
    /// For another ledger.
    #[error("its origin is {0:?}, not this ledger's")]
    OtherLedger(String),
    /// It claims no records at all.
    #[error("it claims 0 records; a checkpoint covers at least record 0")]
    Empty,
    /// The chain's first `size` records have another root.
    #[error(
        "the first {size} records of this chain have another Merkle root than the checkpoint's: the history was rewritten"
    )]
    Rewritten {
        /// Records covered.
        size: u64,
    },
}

impl SignedCheckpoint {
    /// The note, as written.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Parses a note: text of exactly origin, size and root; a blank line;
    /// one or more signature lines.
    pub fn parse(note: &str) -> Result<SignedCheckpoint, NoteError> {
        let bad = |why: &str| NoteError(why.to_string());
        if note.len() > NOTE_BYTES_MAX {
            return Err(bad("longer than 4096 bytes"));
        }
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(bad("it holds a control character"));
        }
        let (text, signatures) = note
            .rsplit_once("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(bad(
                "the text is not exactly three lines (origin, size, root hash)",
            ));
        };
        if !origin.starts_with(ORIGIN_PREFIX) || origin.contains([' ', '+']) {
            return Err(bad("the origin is not fundledger/<ledger id>"));
        }
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size: u64 = size
            .parse()
            .ok()
            .filter(|_| size_ok)
            .ok_or_else(|| bad("the size is not a decimal number"))?;
        let root: NodeHash = BASE64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("the root hash is not 32 bytes of base64"))?;
        let signatures = signatures
            .strip_suffix('\n')
            .ok_or_else(|| bad("it does not end with a newline"))?
            .split('\n')
            .map(parse_signature_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                origin: origin.to_string(),
                size,
                root,
            },
            signatures,
            note: note.to_string(),
        })
    }

    /// True when a signature line under the origin's name and `key`'s key
    /// ID verifies (strict Ed25519 over the note's text).
    pub fn verify(&self, key: &PublicKey) -> bool {
        let name = &self.checkpoint.origin;
        let id = key_id(name, key);
        let text = self.checkpoint.text();
        self.signatures
            .iter()
            .filter(|(n, i, _)| n == name && *i == id)
            .any(|(_, _, sig)| key.verify_bytes(text.as_bytes(), sig))
    }

    /// Checks this checkpoint against a verified chain: signed by its
    /// operator, for its ledger, and with the root the chain has at `size`
    /// (`root_at` gives it; asked only for a size the chain holds).
    pub fn check_against(
        &self,
        ledger: &Ledger,
        root_at: impl FnOnce(u64) -> Option<NodeHash>,
    ) -> Result<CheckpointFit, CheckpointMismatch> {
        let cp = &self.checkpoint;
        let operator = ledger.operator().ok_or(CheckpointMismatch::NoOperator)?;
        if ledger.ledger_id().map(origin).as_deref() != Some(cp.origin.as_str()) {
            return Err(CheckpointMismatch::OtherLedger(cp.origin.clone()));
        }
        if !self.verify(&operator.key) {
            return Err(CheckpointMismatch::BadSignature);
        }
        if cp.size == 0 {
            return Err(CheckpointMismatch::Empty);
        }
        if cp.size > ledger.size() {
            return Ok(CheckpointFit::Ahead);
        }
        if root_at(cp.size) != Some(cp.root) {
            return Err(CheckpointMismatch::Rewritten { size: cp.size });
        }
        Ok(CheckpointFit::Contained)
    }
}

/// `— <name> <base64(key ID ‖ signature)>`, Ed25519 signatures only.
fn parse_signature_line(line: &str) -> Result<(String, u32, [u8; 64]), NoteError> {
    let bad = |why: &str| NoteError(format!("signature line {line:?}: {why}"));
    let rest = line
        .strip_prefix("\u{2014} ")
        .ok_or_else(|| bad("does not start with \"— \""))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| bad("no space between the key name and the signature"))?;
    if name.is_empty() || name.contains('+') || encoded.contains(' ') {
        return Err(bad("not a key name and one base64 signature"));
    }
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| bad("the signature is not base64"))?;
    if bytes.len() != 4 + 64 {
        return Err(bad("not a 4-byte key ID and a 64-byte Ed25519 signature"));
    }
    let id = u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"));
    let signature: [u8; 64] = bytes[4..].try_into().expect("64 bytes");
    Ok((name.to_string(), id, signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Appended;

    fn opened(key: &SecretKey) -> Ledger {
        let event = serde_json::json!({
            "id": "ledger-opened", "actor": "op", "kind": "ledger_opened",
            "at": "2022-01-01T09:00:00+08:00",
            "body": {"name": "t", "operator_key": key.public().to_hex(), "currency": "CNY", "utc_offset": "+08:00", "nonce": "00".repeat(32)}
        });
        let mut ledger = Ledger::new();
        let at = crate::ids::Timestamp::parse("2022-01-01T09:00:00+08:00").unwrap();
        let sig = key.sign_event(&event).unwrap();
        assert!(matches!(
            ledger.append_event(&event, &sig, at),
            Ok(Appended::New(_))
        ));
        ledger
    }

    fn check(
        size: u64,
        root: Option<NodeHash>,
        signer: &str,
    ) -> Result<CheckpointFit, CheckpointMismatch> {
        let key = SecretKey::demo("operator");
        let ledger = opened(&key);
        let actual = [7u8; 32];
        let checkpoint = Checkpoint::new(ledger.ledger_id().unwrap(), size, root.unwrap_or(actual))
            .sign(&SecretKey::demo(signer));
        let parsed = SignedCheckpoint::parse(checkpoint.note()).unwrap();
        assert_eq!(parsed, checkpoint);
        parsed.check_against(&ledger, |n| (n == 1).then_some(actual))
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
            check(1, Some([0; 32]), "operator"),
            Err(CheckpointMismatch::Rewritten { size: 1 })
        );
    }

    #[test]
    fn malformed_notes_are_refused() {
        let key = SecretKey::demo("operator");
        let note = Checkpoint::new(Hash32::ZERO, 5, [1; 32]).sign(&key);
        let text = note.note();
        for bad in [
            text.replacen("\n5\n", "\n05\n", 1),
            text.replacen("\n5\n", "\n-5\n", 1),
            text.replacen("fundledger/", "other/", 1),
            text.replacen("\n\n", "\n", 1),
            text.replacen("\u{2014}", "-", 1),
            text.trim_end().to_string(),
            text.replacen("\n\n", "\nextension\n\n", 1),
        ] {
            assert!(SignedCheckpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let tampered = text.replacen("\n5\n", "\n6\n", 1);
        assert!(!SignedCheckpoint::parse(&tampered)
            .unwrap()
            .verify(&key.public()));
        assert!(SignedCheckpoint::parse(text).unwrap().verify(&key.public()));
    }
}
