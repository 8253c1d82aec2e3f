//! [`SortedMap`]: a few entries in one exactly sized vector, sorted by key.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

/// A map of a few entries: one allocation, sized to them (a B-tree
/// allocates a node of eleven for one entry, a persistent map one of
/// sixty-four). Lookups are binary searches; an insert or a removal moves
/// the entries after it, which is cheap for the handful a district has.
/// Serialised exactly as a `BTreeMap` of the same entries.
#[derive(Clone, PartialEq, Eq)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    fn position<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value under `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|at| &self.entries[at].1)
    }

    /// Puts `value` under `key`; the value it replaces, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                // Exactly sized while small (a vector's first growth
                // would make room for four).
                if self.entries.len() < 16 {
                    self.entries.reserve_exact(1);
                }
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// Takes the value under `key` out.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let at = self.position(key).ok()?;
        let (_, value) = self.entries.remove(at);
        if self.entries.len() < 16 {
            self.entries.shrink_to_fit();
        }
        Some(value)
    }
}

impl<K, V> SortedMap<K, V> {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for SortedMap<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry under that key")
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    /// Sorted by key; of equal keys the last stays (as a `BTreeMap`'s).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        entries.reverse();
        // Stable: of equal keys the last given comes first, and stays.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        entries.shrink_to_fit();
        SortedMap { entries }
    }
}

impl<K: Serialize, V: Serialize> Serialize for SortedMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for SortedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
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
        d.deserialize_map(Entries(PhantomData))
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
    }
}
