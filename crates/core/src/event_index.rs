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
/// Ids indexed in the tail, while the frozen part is shared with a clone,
/// before the tail is merged into it.
const TAIL_MAX: usize = 4096;

/// Seq by id hash, and id hash by seq.
///
/// Cloning is cheap: the bulk of the index is shared, behind an `Arc`, and
/// only the ids indexed since it was last merged (at most [`TAIL_MAX`]) are
/// copied. A ledger is cloned for every batch it decides, and a server
/// publishes a clone after every group commit.
#[derive(Clone, Debug, Default)]
pub struct CompactIndex {
    frozen: std::sync::Arc<Frozen>,
    /// The keys of the records after the frozen part, in seq order.
    tail_keys: Vec<u32>,
    /// Their seqs, hashed by key.
    tail_table: HashTable<u32>,
}

/// The shared part of a [`CompactIndex`].
#[derive(Clone, Debug, Default)]
struct Frozen {
    /// The id hash of record `seq` is `blocks[seq / BLOCK_LEN][seq % BLOCK_LEN]`.
    blocks: Vec<Vec<u32>>,
    len: usize,
    /// Seqs, hashed by their id hash, in shards.
    tables: [HashTable<u32>; SHARDS],
}

/// The index's 32-bit hash of an event id: FNV-1a (64 bits), its high half.
/// Written here, not taken from the standard library, because snapshots
/// keep these hashes: they must not change with the compiler. A collision
/// costs a read, never a wrong answer.
pub fn id_hash(id: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash >> 32) as u32 ^ hash as u32
}

/// Spreads a 32-bit key over the 64 bits hashbrown reads (its bucket from the
/// low bits, its tag from the top seven).
fn table_hash(key: u32) -> u64 {
    u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn shard(key: u32) -> usize {
    (key >> 28) as usize
}

impl Frozen {
    fn key_at(blocks: &[Vec<u32>], seq: u32) -> u32 {
        let seq = seq as usize;
        blocks[seq / BLOCK_LEN][seq % BLOCK_LEN]
    }

    fn push(&mut self, key: u32) {
        let seq = self.len as u32;
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

    fn candidates(&self, key: u32) -> impl Iterator<Item = u64> + '_ {
        self.tables[shard(key)]
            .iter_hash(table_hash(key))
            .filter(move |s| Self::key_at(&self.blocks, **s) == key)
            .map(|s| u64::from(*s))
    }
}

impl CompactIndex {
    /// Records indexed so far.
    pub fn len(&self) -> usize {
        self.frozen.len + self.tail_keys.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the id of record `seq`, which must be the next one.
    ///
    /// # Panics
    /// If `seq` is not the next record or exceeds `u32::MAX` (callers check
    /// [`CompactIndex::has_room`] first).
    pub fn push(&mut self, seq: u64, id: &str) {
        assert_eq!(seq, self.len() as u64, "the compact index grows by one seq");
        u32::try_from(seq).expect("the compact index holds up to 2^32 records");
        self.push_key(id_hash(id));
    }

    fn push_key(&mut self, key: u32) {
        // Not shared (as when verifying): straight into the frozen part.
        if self.tail_keys.is_empty() {
            if let Some(frozen) = std::sync::Arc::get_mut(&mut self.frozen) {
                frozen.push(key);
                return;
            }
        }
        let seq = self.len() as u32;
        let base = self.frozen.len as u32;
        self.tail_keys.push(key);
        let keys = &self.tail_keys;
        self.tail_table.insert_unique(table_hash(key), seq, |s| {
            table_hash(keys[(s - base) as usize])
        });
        if self.tail_keys.len() >= TAIL_MAX {
            self.merge_tail();
        }
    }

    /// Moves the tail into the frozen part (copying the frozen part first if
    /// a clone shares it).
    fn merge_tail(&mut self) {
        let frozen = std::sync::Arc::make_mut(&mut self.frozen);
        for key in self.tail_keys.drain(..) {
            frozen.push(key);
        }
        self.tail_table.clear();
    }

    /// Can one more record be indexed?
    pub fn has_room(&self) -> bool {
        self.len() < u32::MAX as usize
    }

    /// The seqs whose id hash equals that of `id`: almost always none or the
    /// one record with that id; the caller confirms by reading it back.
    pub fn candidates(&self, id: &str) -> impl Iterator<Item = u64> + '_ {
        let key = id_hash(id);
        let base = self.frozen.len as u32;
        let tail = self
            .tail_table
            .iter_hash(table_hash(key))
            .filter(move |s| self.tail_keys[(**s - base) as usize] == key)
            .map(|s| u64::from(*s));
        self.frozen.candidates(key).chain(tail)
    }

    /// Every key, in seq order.
    fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.frozen
            .blocks
            .iter()
            .flatten()
            .chain(self.tail_keys.iter())
            .copied()
    }
}

/// A snapshot keeps the keys in seq order, four bytes each (little-endian);
/// the tables are built again when it is read.
impl serde::Serialize for CompactIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.len() * 4);
        for key in self.keys() {
            bytes.extend_from_slice(&key.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }
}

impl<'de> serde::Deserialize<'de> for CompactIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl serde::de::Visitor<'_> for Keys {
            type Value = CompactIndex;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the index's keys, four bytes each")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<CompactIndex, E> {
                if bytes.len() % 4 != 0 || bytes.len() / 4 > u32::MAX as usize {
                    return Err(E::custom("the index's keys are not whole"));
                }
                let mut index = CompactIndex::default();
                for key in bytes.chunks_exact(4) {
                    index.push_key(u32::from_le_bytes(key.try_into().expect("four bytes")));
                }
                Ok(index)
            }
        }
        d.deserialize_bytes(Keys)
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
    fn a_clone_shares_the_past_and_not_the_future() {
        let mut index = CompactIndex::default();
        for seq in 0..100_000u64 {
            index.push(seq, &format!("ev-{seq}"));
        }
        let before = index.clone();
        // Past the tail's limit, so the shared part is copied once.
        for seq in 100_000..110_000u64 {
            index.push(seq, &format!("ev-{seq}"));
        }
        assert_eq!((before.len(), index.len()), (100_000, 110_000));
        for seq in [0u64, 99_999, 100_000, 104_095, 104_096, 109_999] {
            let id = format!("ev-{seq}");
            assert!(index.candidates(&id).any(|s| s == seq), "{id}");
            assert_eq!(
                before.candidates(&id).any(|s| s == seq),
                seq < 100_000,
                "{id}"
            );
        }
    }

    #[test]
    fn reads_back_what_it_wrote_and_its_hash_is_pinned() {
        // A snapshot keeps the keys: the hash must never change.
        // FNV-1a-64 of "e1" is 0x088e7b07_b539b883 (computed by hand).
        assert_eq!(id_hash("e1"), 0x088e_7b07 ^ 0xb539_b883);
        assert_eq!(id_hash(""), 0xcbf2_9ce4 ^ 0x8422_2325);
        let mut index = CompactIndex::default();
        let shared = index.clone();
        for seq in 0..5_000u64 {
            index.push(seq, &format!("ev-{seq}"));
        }
        drop(shared);
        let bytes = postcard::to_allocvec(&index).expect("encodes");
        assert_eq!(bytes.len(), 5_000 * 4 + 3);
        let read: CompactIndex = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(
            read.keys().collect::<Vec<_>>(),
            index.keys().collect::<Vec<_>>()
        );
        assert!(read.candidates("ev-4321").any(|s| s == 4321));
        assert!(postcard::from_bytes::<CompactIndex>(&[3, 1, 2, 3]).is_err());
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
