//! The RFC 6962 Merkle tree over a ledger's records (SHA-256, as RFC 6962
//! and the public witness ecosystem use): leaf hashes, the tree head of any
//! size, inclusion and consistency proofs and their verification (RFC 9162
//! §2.1.3–2.1.4). Pure functions and two ways to hold a tree: a [`Frontier`]
//! (the O(log n) hashes a verifier needs to know the root as it goes) and a
//! [`MerkleTree`] (every complete subtree, for proofs of any size).
//!
//! A ledger's leaf *i* is the 32 raw bytes of record *i*'s `hash`.

use sha2::{Digest, Sha256};

/// A SHA-256 node or leaf hash of the tree.
pub type NodeHash = [u8; 32];

/// The root of the empty tree: SHA-256 of nothing (RFC 6962 §2.1).
pub fn empty_root() -> NodeHash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> NodeHash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly less than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The hashes needed to know the root of a growing tree: one per set bit
/// of its size, the largest subtree first.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Frontier {
    size: u64,
    peaks: Vec<NodeHash>,
}

impl Frontier {
    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (its leaf hash).
    pub fn push(&mut self, leaf: NodeHash) {
        let mut node = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit");
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The tree head.
    pub fn root(&self) -> NodeHash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(*last, |right, left| node_hash(left, &right)),
        }
    }
}

/// Every complete, aligned subtree of a tree: `levels[k][i]` is the hash of
/// leaves `i·2^k .. (i+1)·2^k`. About two hashes a leaf; persistent vectors,
/// so a clone is O(1).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct MerkleTree {
    levels: Vec<imbl::Vector<NodeHash>>,
}

/// Why a proof was not made or does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index or sizes are outside the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The proof has the wrong number of hashes for its sizes.
    #[error("the proof has {0} hashes, which is not the length of a proof for these sizes")]
    WrongLength(usize),
    /// The proof leads to another root than the one given.
    #[error("the proof leads to another root: the record or the tree is not the one claimed")]
    RootMismatch,
}

impl MerkleTree {
    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf (its leaf hash).
    pub fn push(&mut self, leaf: NodeHash) {
        let mut node = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(imbl::Vector::new());
            }
            self.levels[level].push_back(node);
            let len = self.levels[level].len();
            if len % 2 == 1 {
                return;
            }
            node = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
    }

    /// The hash of leaves `start .. start + n` (n ≥ 1, within the tree):
    /// complete aligned subtrees are looked up, the rest split as RFC 6962 does.
    fn subtree(&self, start: u64, n: u64) -> NodeHash {
        if n.is_power_of_two() && start % n == 0 {
            let level = n.trailing_zeros() as usize;
            return self.levels[level][(start >> level) as usize];
        }
        let k = split(n);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, n - k))
    }

    /// The tree head at `size` (≤ the tree's size).
    pub fn root(&self, size: u64) -> Result<NodeHash, ProofError> {
        if size > self.size() {
            return Err(ProofError::OutOfRange(format!(
                "the tree has {} leaves, not {size}",
                self.size()
            )));
        }
        Ok(if size == 0 {
            empty_root()
        } else {
            self.subtree(0, size)
        })
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<NodeHash>, ProofError> {
        if index >= size || size > self.size() {
            return Err(ProofError::OutOfRange(format!(
                "leaf {index} is not in a tree of {size} leaves (the log has {})",
                self.size()
            )));
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    fn path(&self, m: u64, start: u64, n: u64, proof: &mut Vec<NodeHash>) {
        if n == 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, k, proof);
            proof.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, proof);
            proof.push(self.subtree(start, k));
        }
    }

    /// The consistency proof from the tree of `old` leaves to the tree of
    /// `new` leaves (RFC 6962 §2.1.2): empty when `old` is 0 or `old == new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<NodeHash>, ProofError> {
        if old > new || new > self.size() {
            return Err(ProofError::OutOfRange(format!(
                "no consistency proof from {old} to {new} leaves (the log has {})",
                self.size()
            )));
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof);
        }
        Ok(proof)
    }

    fn subproof(&self, m: u64, start: u64, n: u64, whole: bool, proof: &mut Vec<NodeHash>) {
        if m == n {
            if !whole {
                proof.push(self.subtree(start, n));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, whole, proof);
            proof.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, proof);
            proof.push(self.subtree(start, k));
        }
    }
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(
    leaf: &NodeHash,
    index: u64,
    size: u64,
    proof: &[NodeHash],
) -> Result<NodeHash, ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf {index} is not in a tree of {size} leaves"
        )));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    Ok(r)
}

/// Checks that leaf `index` of the tree of `size` leaves with head `root`
/// is `leaf`.
pub fn verify_inclusion(
    leaf: &NodeHash,
    index: u64,
    size: u64,
    proof: &[NodeHash],
    root: &NodeHash,
) -> Result<(), ProofError> {
    if root_from_inclusion_proof(leaf, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `old` leaves with head `old_root` is a prefix of
/// the tree of `new` leaves with head `new_root` (RFC 9162 §2.1.4.2; from
/// an empty tree anything is consistent, and a tree only with itself).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &NodeHash,
    new_root: &NodeHash,
    proof: &[NodeHash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OutOfRange(format!(
            "a tree of {old} leaves cannot be a prefix of one of {new}"
        )));
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength(proof.len()));
        }
        return if old == 0 || old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let wrong_length = || ProofError::WrongLength(proof.len());
    let mut path: Vec<&NodeHash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof);
    let (first, rest) = path.split_first().ok_or_else(wrong_length)?;
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (**first, **first);
    for c in rest {
        if s == 0 {
            return Err(wrong_length());
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(wrong_length());
    }
    if fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MerkleTree {
        let mut t = MerkleTree::default();
        for i in 0..n {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    }

    /// RFC 6962's own definition, recursively, for comparison.
    fn mth(leaves: &[NodeHash]) -> NodeHash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn the_tree_frontier_and_definition_agree_at_every_size() {
        let mut frontier = Frontier::default();
        let mut leaves = Vec::new();
        let t = tree(130);
        for n in 0..=130u64 {
            assert_eq!(t.root(n).unwrap(), mth(&leaves), "size {n}");
            assert_eq!(frontier.root(), mth(&leaves), "size {n}");
            let leaf = leaf_hash(&n.to_be_bytes());
            frontier.push(leaf);
            leaves.push(leaf);
        }
    }

    #[test]
    fn every_inclusion_and_consistency_proof_of_small_trees_verifies() {
        let t = tree(70);
        for size in 1..=70 {
            let root = t.root(size).unwrap();
            for index in 0..size {
                let leaf = leaf_hash(&index.to_be_bytes());
                let proof = t.inclusion_proof(index, size).unwrap();
                assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
                let other = leaf_hash(b"other");
                assert_eq!(
                    verify_inclusion(&other, index, size, &proof, &root),
                    Err(ProofError::RootMismatch)
                );
                if !proof.is_empty() {
                    let short = &proof[..proof.len() - 1];
                    assert!(verify_inclusion(&leaf, index, size, short, &root).is_err());
                }
            }
            for old in 0..=size {
                let old_root = t.root(old).unwrap();
                let proof = t.consistency_proof(old, size).unwrap();
                assert_eq!(
                    verify_consistency(old, size, &old_root, &root, &proof),
                    Ok(()),
                    "{old} → {size}"
                );
                if old > 0 && old < size {
                    let wrong = leaf_hash(b"wrong");
                    assert!(verify_consistency(old, size, &wrong, &root, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn proofs_outside_the_tree_are_refused() {
        let t = tree(8);
        assert!(t.inclusion_proof(8, 8).is_err());
        assert!(t.inclusion_proof(0, 9).is_err());
        assert!(t.consistency_proof(5, 4).is_err());
        assert!(root_from_inclusion_proof(&[0; 32], 0, 0, &[]).is_err());
        let root = t.root(8).unwrap();
        assert_eq!(
            verify_consistency(8, 8, &root, &root, &[]),
            Ok(()),
            "a tree is consistent with itself"
        );
        assert_eq!(
            verify_consistency(8, 8, &[1; 32], &root, &[]),
            Err(ProofError::RootMismatch)
        );
        assert!(verify_consistency(9, 8, &root, &root, &[]).is_err());
    }
}
