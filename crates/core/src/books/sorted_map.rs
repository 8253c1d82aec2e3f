//! [`SortedMap`]: a few entries in one exactly sized vector, sorted by key;
//! many in a persistent map.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

/// Past this many entries a map is kept as a persistent B-tree.
const SMALL_MAX: usize = 32;

/// A map of a few entries in one allocation sized to them (a B-tree
/// allocates a node of eleven for one entry, a persistent map one of
/// sixty-four); lookups are binary searches. Past [`SMALL_MAX`] entries it
/// becomes a persistent map: a clone shares its nodes and an insert copies
/// one path, where copying a vector of thousands for every insert (a
/// district's filings under load, with the readers' state holding the
/// previous version) took a fifth of the server's writer. Serialised
/// exactly as a `BTreeMap` of the same entries.
#[derive(Clone)]
pub struct SortedMap<K: Clone, V: Clone> {
    entries: Entries<K, V>,
}

#[derive(Clone)]
enum Entries<K: Clone, V: Clone> {
    Small(Vec<(K, V)>),
    Large(imbl::OrdMap<K, V>),
}

impl<K: Clone, V: Clone> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            entries: Entries::Small(Vec::new()),
        }
    }
}

impl<K: Ord + Clone + fmt::Debug, V: Clone + fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> PartialEq for SortedMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Ord + Clone, V: Clone + Eq> Eq for SortedMap<K, V> {}

fn position<K: Borrow<Q>, V, Q: Ord + ?Sized>(entries: &[(K, V)], key: &Q) -> Result<usize, usize> {
    entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
}

impl<K: Ord + Clone, V: Clone> SortedMap<K, V> {
    /// The value under `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        match &self.entries {
            Entries::Small(entries) => position(entries, key).ok().map(|at| &entries[at].1),
            Entries::Large(map) => map.get(key),
        }
    }

    /// Puts `value` under `key`; the value it replaces, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let entries = match &mut self.entries {
            Entries::Large(map) => return map.insert(key, value),
            Entries::Small(entries) => entries,
        };
        match position(entries, &key) {
            Ok(at) => Some(std::mem::replace(&mut entries[at].1, value)),
            Err(_) if entries.len() >= SMALL_MAX => {
                let mut map: imbl::OrdMap<K, V> = std::mem::take(entries).into_iter().collect();
                map.insert(key, value);
                self.entries = Entries::Large(map);
                None
            }
            Err(at) => {
                // Exactly sized (a vector's first growth would make room
                // for four).
                entries.reserve_exact(1);
                entries.insert(at, (key, value));
                None
            }
        }
    }

    /// Takes the value under `key` out.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        match &mut self.entries {
            Entries::Large(map) => map.remove(key),
            Entries::Small(entries) => {
                let at = position(entries, key).ok()?;
                let (_, value) = entries.remove(at);
                entries.shrink_to_fit();
                Some(value)
            }
        }
    }
}

impl<K: Ord + Clone, V: Clone> SortedMap<K, V> {
    /// How many entries.
    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Small(entries) => entries.len(),
            Entries::Large(map) => map.len(),
        }
    }

    /// No entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        match &self.entries {
            Entries::Small(entries) => Iter::Small(entries.iter()),
            Entries::Large(map) => Iter::Large(map.iter()),
        }
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

/// A [`SortedMap`]'s entries in key order.
pub enum Iter<'a, K: Clone, V: Clone> {
    /// Of a small map.
    Small(std::slice::Iter<'a, (K, V)>),
    /// Of a large one.
    Large(imbl::ordmap::Iter<'a, K, V, imbl::shared_ptr::DefaultSharedPtr>),
}

impl<'a, K: Clone, V: Clone> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(entries) => entries.next().map(|(k, v)| (k, v)),
            Iter::Large(entries) => entries.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(entries) => entries.size_hint(),
            Iter::Large(entries) => entries.size_hint(),
        }
    }
}

impl<K: Ord + Clone + Borrow<Q>, Q: Ord + ?Sized, V: Clone> std::ops::Index<&Q>
    for SortedMap<K, V>
{
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry under that key")
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for SortedMap<K, V> {
    /// Sorted by key; of equal keys the last stays (as a `BTreeMap`'s).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        entries.reverse();
        // Stable: of equal keys the last given comes first, and stays.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        if entries.len() > SMALL_MAX {
            return SortedMap {
                entries: Entries::Large(entries.into_iter().collect()),
            };
        }
        entries.shrink_to_fit();
        SortedMap {
            entries: Entries::Small(entries),
        }
    }
}

impl<K: Serialize + Ord + Clone, V: Serialize + Clone> Serialize for SortedMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Deserialize<'de> + Ord + Clone, V: Deserialize<'de> + Clone> Deserialize<'de>
    for SortedMap<K, V>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Read<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord + Clone, V: Deserialize<'de> + Clone> Visitor<'de>
            for Read<K, V>
        {
            type Value = SortedMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Read(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::SortedMap;
    use std::collections::BTreeMap;

    #[test]
    fn it_behaves_and_encodes_as_a_b_tree_map() {
        let mut sorted = SortedMap::default();
        let mut tree = BTreeMap::new();
        // A fixed, shuffled sequence of inserts and removals.
        for step in 0u32..400 {
            let key = format!("e{:03}", (step * 37) % 53);
            if step % 5 == 3 {
                assert_eq!(sorted.remove(key.as_str()), tree.remove(key.as_str()));
            } else {
                assert_eq!(sorted.insert(key.clone(), step), tree.insert(key, step));
            }
            assert_eq!(sorted.len(), tree.len());
        }
        assert!(sorted.iter().eq(tree.iter()));
        assert!(tree.len() > super::SMALL_MAX, "it grew past a small map");
        assert!(matches!(sorted.entries, super::Entries::Large(_)));
        assert_eq!(sorted.get("e001"), tree.get("e001"));
        assert_eq!(
            postcard::to_allocvec(&sorted).unwrap(),
            postcard::to_allocvec(&tree).unwrap()
        );
        let back: SortedMap<String, u32> =
            postcard::from_bytes(&postcard::to_allocvec(&tree).unwrap()).unwrap();
        assert_eq!(back, sorted);
        let last_stays: SortedMap<&str, u32> = [("b", 1), ("a", 2), ("b", 3)].into_iter().collect();
        assert!(last_stays.iter().eq([(&"a", &2), (&"b", &3)]));
        assert!(matches!(last_stays.entries, super::Entries::Small(_)));
        // A small map, emptied and filled again, behaves the same.
        let mut small: SortedMap<u32, u32> = SortedMap::default();
        for k in [5, 1, 3] {
            small.insert(k, k);
        }
        assert_eq!(small.remove(&1), Some(1));
        assert_eq!(small.remove(&1), None);
        assert!(small.keys().eq([&3, &5]));
    }
}
