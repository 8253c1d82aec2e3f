//! Ed25519 batch verification with each key's signatures summed into one
//! term.
//!
//! ed25519-dalek 2's `verify_batch` checks that
//!
//! ```text
//! −(Σ zᵢ·sᵢ)·B + Σ zᵢ·Rᵢ + Σ (zᵢ·kᵢ)·Aᵢ = 0        (kᵢ = SHA-512(Rᵢ ‖ Aᵢ ‖ Mᵢ))
//! ```
//!
//! with coefficients `zᵢ` drawn from a merlin transcript of the inputs, in
//! one multiscalar multiplication of `2n + 1` points. Here the same `zᵢ` are
//! drawn from the same transcript and the same point is computed, but the
//! `Aᵢ` terms of one key are summed first: `Σ (zᵢ·kᵢ)·Aᵢ = Σ_A (Σ_{Aᵢ=A}
//! zᵢ·kᵢ)·A`. The point is the same, so the answer is the same for every
//! input (a test compares the two on random and broken batches); the
//! multiplication has `n + keys + 1` points. A ledger's records come in runs
//! by one actor, so a batch of 128 holds a handful of keys and the curve
//! arithmetic is about halved.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::VerifyingKey;
use merlin::Transcript;
use sha2::{Digest, Sha512};

/// ed25519-dalek's `ZeroRng`: finalizing the transcript's RNG with it adds
/// nothing, so the coefficients depend on the inputs only.
struct ZeroRng;

impl rand_core::RngCore for ZeroRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, _dest: &mut [u8]) {}
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for ZeroRng {}

/// One key's summed coefficient.
struct KeyTerm<'a> {
    key: &'a VerifyingKey,
    coefficient: Scalar,
}

/// True when every `(key, message, signature)` verifies, as
/// `ed25519_dalek::verify_batch` decides it.
pub(super) fn verify(items: &[(&VerifyingKey, &[u8; 32], [u8; 64])]) -> bool {
    use rand_core::RngCore;
    let hrams: Vec<[u8; 64]> = items
        .iter()
        .map(|(key, message, signature)| {
            let mut h = Sha512::new();
            h.update(&signature[..32]);
            h.update(key.as_bytes());
            h.update(&message[..]);
            h.finalize().into()
        })
        .collect();
    let mut transcript = Transcript::new(b"ed25519 batch verification");
    for hram in &hrams {
        transcript.append_message(b"hram", hram);
    }
    for (_, _, signature) in items {
        transcript.append_message(b"sig.s", &signature[32..]);
    }
    let mut rng = transcript.build_rng().finalize(&mut ZeroRng);
    // A signature whose s is not reduced is refused, as dalek refuses it.
    let mut scalars = Vec::with_capacity(items.len());
    for (_, _, signature) in items {
        let s: [u8; 32] = signature[32..].try_into().expect("64-byte signature");
        match Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) {
            Some(s) => scalars.push(s),
            None => return false,
        }
    }
    let mut base = Scalar::ZERO;
    let mut zs = Vec::with_capacity(items.len());
    let mut keys: Vec<KeyTerm> = Vec::new();
    for (((key, _, _), hram), s) in items.iter().zip(&hrams).zip(&scalars) {
        let mut z = [0u8; 16];
        rng.fill_bytes(&mut z);
        let z = Scalar::from(u128::from_le_bytes(z));
        base += z * s;
        let term = z * Scalar::from_bytes_mod_order_wide(hram);
        // Few keys per batch: a scan beats hashing.
        match keys.iter_mut().find(|k| k.key.as_bytes() == key.as_bytes()) {
            Some(k) => k.coefficient += term,
            None => keys.push(KeyTerm {
                key,
                coefficient: term,
            }),
        }
        zs.push(z);
    }
    let rs = items
        .iter()
        .map(|(_, _, signature)| CompressedEdwardsY(signature[..32].try_into().expect("64 bytes")));
    let sum = EdwardsPoint::optional_multiscalar_mul(
        std::iter::once(-base)
            .chain(zs)
            .chain(keys.iter().map(|k| k.coefficient)),
        std::iter::once(Some(ED25519_BASEPOINT_POINT))
            .chain(rs.map(|r| r.decompress()))
            .chain(keys.iter().map(|k| Some(k.key.to_edwards()))),
    );
    sum.is_some_and(|point| point.is_identity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Signer, SigningKey};
    use proptest::prelude::*;

    fn dalek(items: &[(&VerifyingKey, &[u8; 32], [u8; 64])]) -> bool {
        let messages: Vec<&[u8]> = items.iter().map(|(_, m, _)| &m[..]).collect();
        let signatures: Vec<Signature> = items
            .iter()
            .map(|(_, _, s)| Signature::from_bytes(s))
            .collect();
        let keys: Vec<VerifyingKey> = items.iter().map(|(k, _, _)| **k).collect();
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
    }

    /// How a signature is broken, if it is.
    #[derive(Clone, Copy, Debug)]
    enum Damage {
        None,
        /// A bit of the message flipped.
        Message,
        /// A bit of R flipped (often no curve point).
        R,
        /// s + ℓ: the same point, but not reduced.
        UnreducedS,
        /// R plus a point of order 8: strict verification refuses it, a
        /// batch accepts it when the coefficient is a multiple of 8.
        SmallOrderR,
        /// Another key's signature.
        OtherKey,
    }

    fn damage() -> impl Strategy<Value = Damage> {
        prop_oneof![
            6 => Just(Damage::None),
            1 => Just(Damage::Message),
            1 => Just(Damage::R),
            1 => Just(Damage::UnreducedS),
            1 => Just(Damage::SmallOrderR),
            1 => Just(Damage::OtherKey),
        ]
    }

    fn signed(
        keys: &[SigningKey],
        plan: &[(usize, [u8; 32], Damage)],
    ) -> Vec<(VerifyingKey, [u8; 32], [u8; 64])> {
        let order8 = curve25519_dalek::constants::EIGHT_TORSION[1];
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let mut ell = [0u8; 32];
        ell[..16].copy_from_slice(&[
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14,
        ]);
        ell[31] = 0x10;
        plan.iter()
            .map(|(k, message, damage)| {
                let key = &keys[k % keys.len()];
                let mut message = *message;
                let mut signature = key.sign(&message).to_bytes();
                match damage {
                    Damage::None => {}
                    Damage::Message => message[3] ^= 0x10,
                    Damage::R => signature[5] ^= 0x01,
                    Damage::UnreducedS => {
                        let mut carry = 0u16;
                        for i in 0..32 {
                            let sum = u16::from(signature[32 + i]) + u16::from(ell[i]) + carry;
                            signature[32 + i] = sum as u8;
                            carry = sum >> 8;
                        }
                    }
                    Damage::SmallOrderR => {
                        let r = CompressedEdwardsY(signature[..32].try_into().unwrap())
                            .decompress()
                            .unwrap();
                        signature[..32].copy_from_slice((r + order8).compress().as_bytes());
                    }
                    Damage::OtherKey => {
                        signature = keys[(k + 1) % keys.len()].sign(&message).to_bytes();
                    }
                }
                (key.verifying_key(), message, signature)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn decides_as_dalek_does(
            seeds in proptest::collection::vec(any::<[u8; 32]>(), 1..5),
            plan in proptest::collection::vec((0usize..8, any::<[u8; 32]>(), damage()), 1..40),
        ) {
            let keys: Vec<SigningKey> = seeds.iter().map(SigningKey::from_bytes).collect();
            let owned = signed(&keys, &plan);
            let items: Vec<_> = owned.iter().map(|(k, m, s)| (k, m, *s)).collect();
            prop_assert_eq!(verify(&items), dalek(&items));
        }
    }

    #[test]
    fn a_batch_of_one_key_and_of_many_keys_verify_and_one_bad_signature_fails_it() {
        let keys: Vec<SigningKey> = (0u8..5).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        for spread in [1, 5] {
            let plan: Vec<_> = (0..128u8)
                .map(|i| (usize::from(i) % spread, [i; 32], Damage::None))
                .collect();
            let owned = signed(&keys, &plan);
            let mut items: Vec<_> = owned.iter().map(|(k, m, s)| (k, m, *s)).collect();
            assert!(verify(&items) && dalek(&items));
            items[77].2[40] ^= 0x01;
            assert!(!verify(&items) && !dalek(&items));
        }
    }
}
