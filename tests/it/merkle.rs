//! The Merkle tree and its proofs against an independent implementation:
//! `tlog_tiles`, a port of Go's `golang.org/x/mod/sumdb/tlog` (RFC 6962,
//! SHA-256). Every (index, size) and (old, new) pair of trees up to 70
//! leaves, which covers the sizes where implementations slip: 1, 2, 3, 7,
//! 8, 9 and 2^k ± 1 up to 65.

use fundledger_core::merkle::{
    leaf_hash, verify_consistency, verify_inclusion, MerkleTree, NodeHash,
};
use tlog_tiles::tlog::{
    check_record, check_tree, prove_record, prove_tree, stored_hashes, tree_hash, Error, Hash,
    HashReader,
};

const LEAVES: u64 = 70;

/// tlog's stored hashes, as its tests keep them.
struct Stored(Vec<Hash>);

impl HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        Ok(indexes.iter().map(|i| self.0[*i as usize]).collect())
    }
}

/// Leaf data as a ledger has it: a record's 32-byte hash.
fn data(i: u64) -> [u8; 32] {
    *blake3::hash(&i.to_be_bytes()).as_bytes()
}

fn both() -> (MerkleTree, Stored) {
    let mut ours = MerkleTree::default();
    let mut theirs = Stored(Vec::new());
    for i in 0..LEAVES {
        ours.push(leaf_hash(&data(i)));
        let more = stored_hashes(i, &data(i), &theirs).unwrap();
        theirs.0.extend(more);
    }
    (ours, theirs)
}

fn hashes(proof: &[Hash]) -> Vec<NodeHash> {
    proof.iter().map(|h| h.0).collect()
}

#[test]
fn roots_agree_with_tlog_at_every_size() {
    let (ours, theirs) = both();
    for size in 1..=LEAVES {
        assert_eq!(
            ours.root(size).unwrap(),
            tree_hash(size, &theirs).unwrap().0,
            "size {size}"
        );
    }
}

#[test]
fn inclusion_proofs_agree_with_tlog_both_ways() {
    let (ours, theirs) = both();
    for size in 1..=LEAVES {
        let root = ours.root(size).unwrap();
        for index in 0..size {
            let leaf = leaf_hash(&data(index));
            let mine = ours.inclusion_proof(index, size).unwrap();
            let theirs_proof = prove_record(size, index, &theirs).unwrap();
            assert_eq!(mine, hashes(&theirs_proof), "index {index} size {size}");
            check_record(
                &mine.iter().map(|h| Hash(*h)).collect(),
                size,
                Hash(root),
                index,
                Hash(leaf),
            )
            .unwrap();
            verify_inclusion(&leaf, index, size, &hashes(&theirs_proof), &root).unwrap();
        }
    }
}

#[test]
fn consistency_proofs_agree_with_tlog_both_ways() {
    let (ours, theirs) = both();
    for new in 1..=LEAVES {
        let new_root = ours.root(new).unwrap();
        for old in 1..=new {
            let old_root = ours.root(old).unwrap();
            let mine = ours.consistency_proof(old, new).unwrap();
            let theirs_proof = prove_tree(new, old, &theirs).unwrap();
            assert_eq!(mine, hashes(&theirs_proof), "{old} → {new}");
            check_tree(
                &mine.iter().map(|h| Hash(*h)).collect(),
                new,
                Hash(new_root),
                old,
                Hash(old_root),
            )
            .unwrap();
            verify_consistency(old, new, &old_root, &new_root, &hashes(&theirs_proof)).unwrap();
        }
    }
}
