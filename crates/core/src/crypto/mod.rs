//! Domain-separated BLAKE3 hashing and Ed25519 signatures.
//!
//! ```text
//! event_hash      = BLAKE3("fundledger:event:v1"      ‖ 0x00 ‖ JCS(event))
//! hash            = BLAKE3("fundledger:record:v1"     ‖ 0x00 ‖ JCS(record without "hash"))
//! checkpoint_hash = BLAKE3("fundledger:checkpoint:v1" ‖ 0x00 ‖ JCS(checkpoint))
//! ```
//! Signatures are Ed25519 over the 32 bytes of the hash. Signing takes the
//! secret key as an argument: this module draws no random numbers.

use crate::ids::{parse_lower_hex, truncate, Hash32, IdError};
use crate::jcs::{canonical_bytes, JcsError};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

mod batch;

/// Domain tag of event hashes.
pub const EVENT_DOMAIN: &str = "fundledger:event:v1";
/// Domain tag of record hashes.
pub const RECORD_DOMAIN: &str = "fundledger:record:v1";
/// Key-derivation context for person digests' keys (see [`person_digest`]).
pub const PERSON_DIGEST_DOMAIN: &str = "fundledger:person:v1";

/// BLAKE3 of `domain ‖ 0x00 ‖ canonical`.
pub fn domain_hash(domain: &str, canonical: &[u8]) -> Hash32 {
    domain_hash_parts(domain, &[canonical])
}

/// The hash an actor signs: [`EVENT_DOMAIN`] over the event's canonical bytes.
pub fn event_hash(event: &serde_json::Value) -> Result<Hash32, JcsError> {
    Ok(domain_hash(EVENT_DOMAIN, &canonical_bytes(event)?))
}

/// [`domain_hash`] of the concatenation of `parts`, without concatenating.
pub fn domain_hash_parts(domain: &str, parts: &[&[u8]]) -> Hash32 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(domain.as_bytes());
    hasher.update(&[0]);
    for part in parts {
        hasher.update(part);
    }
    Hash32(*hasher.finalize().as_bytes())
}

/// An Ed25519 public key, written as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(pub VerifyingKey);

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        PublicKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl PublicKey {
    /// Parses 64 lowercase hex characters holding a valid curve point.
    pub fn parse(text: &str) -> Result<PublicKey, IdError> {
        let bytes = parse_lower_hex::<32>(text).ok_or_else(|| {
            IdError(format!(
                "a public key is 64 lowercase hex characters, got {:?}",
                truncate(text)
            ))
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| IdError(format!("{:?} is not an Ed25519 public key", truncate(text))))?;
        if key.is_weak() {
            return Err(IdError(format!(
                "{:?} is a weak (small-order) Ed25519 key",
                truncate(text)
            )));
        }
        Ok(PublicKey(key))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Checks `sig_hex` over `hash`; strict (no malleable signatures).
    pub fn verify(&self, hash: &Hash32, sig_hex: &str) -> bool {
        let Some(bytes) = parse_lower_hex::<64>(sig_hex) else {
            return false;
        };
        let signature = Signature::from_bytes(&bytes);
        self.0.verify_strict(&hash.0, &signature).is_ok()
    }

    /// Strict Ed25519 verification of a signature over `message` (a signed
    /// note's text).
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// Checks many signatures at once (Ed25519 batch verification, which is
/// deterministic here: its coefficients come from a transcript of the
/// inputs). True when all verify. A `false` says nothing about which one
/// failed: check them one by one with [`PublicKey::verify`].
///
/// It decides exactly as ed25519-dalek's `verify_batch` does, with the
/// signatures of one key summed into one term ([`batch`]): a ledger's
/// records come in runs by one actor, so a batch has about half the points.
pub fn verify_batch<'a>(items: impl Iterator<Item = (&'a PublicKey, &'a Hash32, &'a str)>) -> bool {
    let mut parsed = Vec::with_capacity(items.size_hint().0);
    for (key, hash, sig) in items {
        let Some(bytes) = parse_lower_hex::<64>(sig) else {
            return false;
        };
        parsed.push((&key.0, &hash.0, bytes));
    }
    batch::verify(&parsed)
}

/// An Ed25519 secret key (the 32-byte seed).
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// From the 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// A deterministic key derived from a label — for demos and tests only.
    pub fn demo(label: &str) -> SecretKey {
        SecretKey::from_seed(blake3::derive_key(
            "fundledger:demo-key:v1",
            label.as_bytes(),
        ))
    }

    /// The seed as lowercase hex.
    pub fn seed_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs an event: its [`event_hash`]; the event must have a canonical form.
    pub fn sign_event(&self, event: &serde_json::Value) -> Result<String, JcsError> {
        Ok(self.sign(&event_hash(event)?))
    }

    /// Signs `message` (a signed note's text); the 64 raw bytes.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// Signs the 32 bytes of `hash`; returns lowercase hex.
    pub fn sign(&self, hash: &Hash32) -> String {
        hex::encode(self.0.sign(&hash.0).to_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public {})", self.public().to_hex())
    }
}

/// The keyed digest of a person's identifier: BLAKE3 keyed by
/// `derive_key(PERSON_DIGEST_DOMAIN, secret)` over the upper-cased identifier.
/// Only the holder of the federation's digest secret can compute it, so a
/// digest in the public log cannot be reversed by trying every ID number.
pub fn person_digest(digest_secret: &[u8], resident_id: &str) -> Hash32 {
    let key = blake3::derive_key(PERSON_DIGEST_DOMAIN, digest_secret);
    Hash32(*blake3::keyed_hash(&key, resident_id.to_ascii_uppercase().as_bytes()).as_bytes())
}

/// The public commitment to a digest secret, recorded in `program_opened`
/// and carried by every roster digested with it: the keyed digest (as
/// [`person_digest`] keys it) of a fixed text that is no ID number. A
/// roster made with another secret carries another commitment and is
/// refused, instead of silently breaking double-claim detection. It does
/// not reveal the secret.
pub fn person_digest_commitment(digest_secret: &[u8]) -> Hash32 {
    let key = blake3::derive_key(PERSON_DIGEST_DOMAIN, digest_secret);
    Hash32(*blake3::keyed_hash(&key, b"fundledger person-digest commitment v1").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let key = SecretKey::demo("op");
        let hash = domain_hash(EVENT_DOMAIN, b"{}");
        let sig = key.sign(&hash);
        assert!(key.public().verify(&hash, &sig));
        let other = domain_hash(EVENT_DOMAIN, b"[]");
        assert!(!key.public().verify(&other, &sig));
        assert!(!key.public().verify(&hash, &sig.to_uppercase()));
        assert!(PublicKey::parse(&key.public().to_hex()).is_ok());
    }
}
