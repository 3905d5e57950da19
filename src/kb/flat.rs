//! Flat lookup tables for the compiled KB: a handful of plain arrays instead of a hash map of
//! strings to vectors, so that a snapshot (see [`super::snapshot`]) reads back with a few
//! allocations in all, not one or two per key. A one-shot command spent most of its start
//! building or re-allocating maps of tens of thousands of small strings and vectors.
//!
//! Lookups hash the key, binary-search the sorted hashes and compare the key itself, so a
//! hash collision costs a comparison, never a wrong answer.

use std::hash::Hasher;

use serde::{Deserialize, Serialize};

use super::packed::Pod;

/// A fixed (unkeyed) hash, the same in every process: the tables are written to disk.
fn hash(key: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(key.as_bytes());
    h.finish()
}

/// Distinct strings, each at a position `0..len()`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    /// Sorted; equal hashes are ordered by key.
    #[serde(with = "super::packed")]
    hashes: Vec<u64>,
    /// End of each key in `blob`; a key starts where the one before ends.
    #[serde(with = "super::packed")]
    ends: Vec<u32>,
    blob: String,
}

impl Keys {
    /// The table of `items`' keys, and their values in table order. Keys must be distinct
    /// (they come from maps); a repeated key is kept once, with its first value.
    pub fn build<K: AsRef<str>, V>(items: impl IntoIterator<Item = (K, V)>) -> (Keys, Vec<V>) {
        let mut items: Vec<(u64, K, V)> = items.into_iter().map(|(k, v)| (hash(k.as_ref()), k, v)).collect();
        items.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.as_ref().cmp(b.1.as_ref())));
        items.dedup_by(|later, first| first.0 == later.0 && first.1.as_ref() == later.1.as_ref());
        let mut keys = Keys {
            hashes: Vec::with_capacity(items.len()),
            ends: Vec::with_capacity(items.len()),
            blob: String::with_capacity(items.iter().map(|(_, k, _)| k.as_ref().len()).sum()),
        };
        let mut values = Vec::with_capacity(items.len());
        for (h, k, v) in items {
            keys.hashes.push(h);
            keys.blob.push_str(k.as_ref());
            keys.ends.push(u32::try_from(keys.blob.len()).unwrap_or(u32::MAX));
            values.push(v);
        }
        (keys, values)
    }

    /// The position of `key`, if the table has it.
    pub fn get(&self, key: &str) -> Option<usize> {
        let h = hash(key);
        let mut i = self.hashes.partition_point(|&x| x < h);
        while self.hashes.get(i) == Some(&h) {
            if self.key(i) == key {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// The key at position `i` (empty when out of range).
    pub fn key(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).map_or(0, |&e| e as usize)
        };
        let end = self.ends.get(i).map_or(start, |&e| e as usize);
        self.blob.get(start..end).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Every key, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.key(i))
    }

    /// Whether a table read back from disk is whole: one end per hash, ends within the text
    /// and on character boundaries, hashes sorted. (A wrong hash could only make a lookup
    /// miss; the snapshot's checksum is what catches changed bytes.)
    pub fn is_sound(&self) -> bool {
        self.hashes.len() == self.ends.len()
            && self.hashes.is_sorted()
            && self.ends.is_sorted()
            && self.ends.last().is_none_or(|&e| e as usize == self.blob.len())
            && self.ends.iter().all(|&e| self.blob.is_char_boundary(e as usize))
    }
}

/// Lists of items, one per position, laid end to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Pod", deserialize = "T: Pod"))]
pub struct Lists<T> {
    /// `starts[i]..starts[i + 1]` are the items of list `i`; one more start than lists.
    #[serde(with = "super::packed")]
    starts: Vec<u32>,
    #[serde(with = "super::packed")]
    items: Vec<T>,
}

impl<T> Default for Lists<T> {
    fn default() -> Self {
        Lists {
            starts: vec![0],
            items: Vec::new(),
        }
    }
}

impl<T> Lists<T> {
    pub fn from_vecs(lists: impl IntoIterator<Item = Vec<T>>) -> Lists<T> {
        let mut out = Lists::default();
        for list in lists {
            out.items.extend(list);
            out.starts.push(u32::try_from(out.items.len()).unwrap_or(u32::MAX));
        }
        out
    }

    /// List `i` (empty when out of range).
    pub fn get(&self, i: usize) -> &[T] {
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&s), Some(&e)) => self.items.get(s as usize..e as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Where list `i` lies among all the items (empty when out of range): for data kept
    /// beside the items, one value per item.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&s), Some(&e)) if s <= e && e as usize <= self.items.len() => s as usize..e as usize,
            _ => 0..0,
        }
    }

    /// All items, list after list.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// Number of lists.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether lists read back from disk are whole: `lists` of them, in order, within the
    /// items, and every item passing `item_ok`.
    pub fn is_sound(&self, lists: usize, item_ok: impl Fn(&T) -> bool) -> bool {
        self.starts.len() == lists + 1
            && self.starts.first() == Some(&0)
            && self.starts.is_sorted()
            && self.starts.last().is_some_and(|&e| e as usize == self.items.len())
            && self.items.iter().all(item_ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_find_every_key_and_nothing_else() {
        let words = ["qntc", "", "smb", "kennwort", "パスワード", "qntcx"];
        let (keys, values) = Keys::build(words.iter().enumerate().map(|(i, w)| (*w, i)));
        assert_eq!(keys.len(), words.len());
        assert!(keys.is_sound());
        for (i, w) in words.iter().enumerate() {
            let pos = keys.get(w).expect("present");
            assert_eq!(keys.key(pos), *w);
            assert_eq!(values[pos], i);
        }
        assert_eq!(keys.get("qnt"), None);
        assert_eq!(keys.get("SMB"), None);
        assert_eq!(keys.key(99), "");
        let mut all: Vec<&str> = keys.iter().collect();
        all.sort_unstable();
        let mut want = words.to_vec();
        want.sort_unstable();
        assert_eq!(all, want);
    }

    #[test]
    fn a_repeated_key_is_kept_once() {
        let (keys, values) = Keys::build([("a", 1), ("b", 2), ("a", 3)]);
        assert_eq!(keys.len(), 2);
        assert_eq!(values.len(), 2);
        assert!(keys.get("a").is_some());
    }

    #[test]
    fn lists_keep_order_and_refuse_broken_bounds() {
        let lists = Lists::from_vecs([vec![3, 1], vec![], vec![7]]);
        assert_eq!(lists.len(), 3);
        assert_eq!(lists.get(0), &[3, 1]);
        assert!(lists.get(1).is_empty());
        assert_eq!(lists.get(2), &[7]);
        assert!(lists.get(3).is_empty());
        assert!(lists.is_sound(3, |&x| x < 8));
        assert!(!lists.is_sound(3, |&x| x < 7));
        assert!(!lists.is_sound(2, |_| true));
        let broken = Lists {
            starts: vec![0, 5, 2],
            items: vec![1, 2],
        };
        assert!(!broken.is_sound(2, |_| true));
        assert!(broken.get(0).is_empty(), "out of range reads nothing, never panics");
        let keys = Keys {
            hashes: vec![2, 1],
            ends: vec![1, 2],
            blob: "ab".into(),
        };
        assert!(!keys.is_sound());
        let split = Keys {
            hashes: vec![1],
            ends: vec![1],
            blob: "é".into(),
        };
        assert!(!split.is_sound());
        assert_eq!(split.key(0), "");
    }
}
