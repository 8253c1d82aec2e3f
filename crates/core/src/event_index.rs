//! Where each event id is, in about 9 bytes an event: the index of a
//! ledger in compact mode ([`crate::ledger::Ledger::compact`]), which is what
//! lets `verify` check a million-record chain in a few tens of MiB.
//!
//! The full mode keeps every id with what the rules need of its event. The
//! compact mode keeps only a 32-bit hash of each id, by seq, and tables from
//! hash to seq. What the rules need of an earlier event (rare: a reversal, or
//! an id that may appear again) is read back through [`Recall`] and parsed
//! again, so a hash collision costs a read and can never give a wrong answer.

use hashbrown::HashTable;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Reads back an earlier record, its canonical line, by seq. The core does
/// no I/O: the caller that owns the source (a file, a store) provides it.
pub trait Recall {
    /// The canonical line of record `seq`, or why it cannot be read.
    fn recall(&self, seq: u64) -> Result<Vec<u8>, String>;
}

/// For a ledger in full mode, which never reads back.
pub struct NoRecall;

impl Recall for NoRecall {
    fn recall(&self, seq: u64) -> Result<Vec<u8>, String> {
        Err(format!("record {seq} cannot be read back here"))
    }
}

/// Keys are kept in blocks so that growing never copies (nor doubles) them.
const BLOCK_LEN: usize = 1 << 16;
/// Tables, chosen by a key's top bits: one grows at a time, so growing
/// never holds two copies of the whole index.
const SHARDS: usize = 16;

/// Seq by id hash, and id hash by seq.
#[derive(Clone, Debug, Default)]
pub struct CompactIndex {
    /// The id hash of record `seq` is `blocks[seq / BLOCK_LEN][seq % BLOCK_LEN]`.
    blocks: Vec<Vec<u32>>,
    len: usize,
    /// Seqs, hashed by their id hash, in shards.
    tables: [HashTable<u32>; SHARDS],
}

/// The index's 32-bit hash of an event id. Fixed keys: the index lives in
/// memory only, and a collision (about one in 4,000 lookups at a million
/// records) costs a read, never a wrong answer.
pub fn id_hash(id: &str) -> u32 {
    let full = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
    (full >> 32) as u32
}

/// Spreads a 32-bit key over the 64 bits hashbrown reads (its bucket from the
/// low bits, its tag from the top seven).
fn table_hash(key: u32) -> u64 {
    u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn shard(key: u32) -> usize {
    (key >> 28) as usize
}

impl CompactIndex {
    /// Records indexed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn key_at(blocks: &[Vec<u32>], seq: u32) -> u32 {
        let seq = seq as usize;
        blocks[seq / BLOCK_LEN][seq % BLOCK_LEN]
    }

    /// Adds the id of record `seq`, which must be the next one.
    ///
    /// # Panics
    /// If `seq` is not the next record or exceeds `u32::MAX` (callers check
    /// [`CompactIndex::has_room`] first).
    pub fn push(&mut self, seq: u64, id: &str) {
        assert_eq!(seq, self.len as u64, "the compact index grows by one seq");
        let seq = u32::try_from(seq).expect("the compact index holds up to 2^32 records");
        let key = id_hash(id);
        if self.len % BLOCK_LEN == 0 {
            self.blocks.push(Vec::with_capacity(BLOCK_LEN));
        }
        self.blocks.last_mut().expect("a block").push(key);
        self.len += 1;
        let blocks = &self.blocks;
        self.tables[shard(key)].insert_unique(table_hash(key), seq, |s| {
            table_hash(Self::key_at(blocks, *s))
        });
    }

    /// Can one more record be indexed?
    pub fn has_room(&self) -> bool {
        self.len < u32::MAX as usize
    }

    /// The seqs whose id hash equals that of `id`: almost always none or the
    /// one record with that id; the caller confirms by reading it back.
    pub fn candidates(&self, id: &str) -> impl Iterator<Item = u64> + '_ {
        let key = id_hash(id);
        self.tables[shard(key)]
            .iter_hash(table_hash(key))
            .filter(move |s| Self::key_at(&self.blocks, **s) == key)
            .map(|s| u64::from(*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_id_and_nothing_else() {
        let mut index = CompactIndex::default();
        for seq in 0..200_000u64 {
            index.push(seq, &format!("ev-{seq}"));
        }
        assert_eq!(index.len(), 200_000);
        for seq in (0..200_000u64).step_by(997) {
            let found: Vec<u64> = index.candidates(&format!("ev-{seq}")).collect();
            assert!(found.contains(&seq), "ev-{seq}: {found:?}");
            assert!(found.len() <= 2, "a 32-bit collision is rare: {found:?}");
        }
        let strangers = (200_000..210_000)
            .filter(|n| index.candidates(&format!("ev-{n}")).next().is_some())
            .count();
        assert!(
            strangers < 10,
            "{strangers} of 10,000 new ids had candidates"
        );
    }

    #[test]
    fn ids_with_one_hash_are_both_candidates() {
        // Two ids whose 32-bit hashes collide (found by search).
        let mut seen = std::collections::HashMap::new();
        let (a, b) = (0u64..)
            .map(|n| format!("c-{n}"))
            .find_map(|id| {
                seen.insert(id_hash(&id), id.clone())
                    .map(|other| (other, id))
            })
            .expect("a birthday collision among a few hundred thousand ids");
        let mut index = CompactIndex::default();
        index.push(0, &a);
        index.push(1, "unrelated");
        index.push(2, &b);
        assert_eq!(index.candidates(&a).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(index.candidates(&b).collect::<Vec<_>>(), vec![0, 2]);
    }
}
