//! A slab: values addressed by `u32` slot, with a free list. Its order depends only on the
//! sequence of inserts and removes, so it serializes deterministically.
//!
//! The slots live in chunks that are never moved once allocated: the first chunks double
//! in size from [`FIRST_CHUNK`] slots up to [`CHUNK_CAP`], and every later chunk holds
//! [`CHUNK_CAP`]. A `Vec` of a million 150-byte sessions would instead copy 150 MB in the
//! one step that outgrows it (a pause no room service wants), and hold up to twice the
//! slots it needs afterwards; here growing allocates one chunk, and at most one chunk's
//! slots sit unused. A small engine (a test, a fuzz case) pays for 16 slots, not 1,024.
//! The chunk table itself is tiny (1,000 pointers for a million slots), so finding a slot
//! costs one cached load more than a `Vec` would.

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// Slots in the first chunk (a power of two).
const FIRST_CHUNK: usize = 16;
/// Slots in the largest chunk (a power of two, at least [`FIRST_CHUNK`]).
const CHUNK_CAP: usize = 1024;
/// log2 of [`FIRST_CHUNK`].
const FIRST_LOG2: u32 = FIRST_CHUNK.trailing_zeros();
/// How many chunks double before the size stays at [`CHUNK_CAP`].
const GROWING_CHUNKS: usize = (CHUNK_CAP / FIRST_CHUNK).trailing_zeros() as usize + 1;
/// Slots held by the doubling chunks together: `FIRST_CHUNK * (2^GROWING_CHUNKS - 1)`.
const GROWING_SLOTS: usize = FIRST_CHUNK * ((1 << GROWING_CHUNKS) - 1);

/// The chunk holding `slot`, and the slot's place in it.
#[inline]
fn locate(slot: usize) -> (usize, usize) {
    if slot < GROWING_SLOTS {
        // Chunk k covers slot + FIRST_CHUNK in [FIRST_CHUNK << k, FIRST_CHUNK << (k + 1)).
        let biased = slot + FIRST_CHUNK;
        let top = usize::BITS - 1 - biased.leading_zeros();
        ((top - FIRST_LOG2) as usize, biased - (1 << top))
    } else {
        let past = slot - GROWING_SLOTS;
        (GROWING_CHUNKS + past / CHUNK_CAP, past % CHUNK_CAP)
    }
}

/// How many slots chunk `k` holds.
fn chunk_len(k: usize) -> usize {
    if k < GROWING_CHUNKS {
        FIRST_CHUNK << k
    } else {
        CHUNK_CAP
    }
}

/// See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Slab<T> {
    /// Chunk `k` holds [`chunk_len`]`(k)` slots; only the last may hold slots past `end`.
    chunks: Vec<Box<[Option<T>]>>,
    /// Slots handed out so far (live or free); the next new slot is `end`.
    end: u32,
    free: Vec<u32>,
    len: u32,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            end: 0,
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` and returns its slot. Callers bound the count (`max_rooms`,
    /// `max_sessions`, both `u32`), so the slot always fits in `u32`.
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        self.len += 1;
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => self.push_slot(),
        };
        *self.entry_mut(slot) = Some(value);
        slot
    }

    /// A new slot at the end, allocating a chunk when the last one is full.
    fn push_slot(&mut self) -> u32 {
        let slot = self.end;
        let (chunk, _) = locate(slot as usize);
        if chunk == self.chunks.len() {
            self.chunks.push(
                std::iter::repeat_with(|| None)
                    .take(chunk_len(chunk))
                    .collect(),
            );
        }
        self.end += 1;
        slot
    }

    /// The place of a slot below `end`.
    fn entry_mut(&mut self, slot: u32) -> &mut Option<T> {
        let (chunk, at) = locate(slot as usize);
        &mut self.chunks[chunk][at]
    }

    /// The slot the next [`Slab::insert`] will use.
    pub(crate) fn vacant_slot(&self) -> u32 {
        self.free.last().copied().unwrap_or(self.end)
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Option<T> {
        let value = self.get_entry_mut(slot)?.take()?;
        self.free.push(slot);
        self.len -= 1;
        Some(value)
    }

    fn get_entry_mut(&mut self, slot: u32) -> Option<&mut Option<T>> {
        if slot >= self.end {
            return None;
        }
        Some(self.entry_mut(slot))
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&T> {
        if slot >= self.end {
            return None;
        }
        let (chunk, at) = locate(slot as usize);
        self.chunks[chunk][at].as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.get_entry_mut(slot)?.as_mut()
    }

    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Every slot handed out so far, live or free, in slot order.
    fn entries(&self) -> impl Iterator<Item = &Option<T>> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .take(self.end as usize)
    }

    /// Live entries in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        (0..self.end)
            .zip(self.entries())
            .filter_map(|(i, e)| Some((i, e.as_ref()?)))
    }

    /// Whether the free list and the count agree with the entries (for restored snapshots).
    pub(crate) fn is_consistent(&self) -> bool {
        let end = self.end as usize;
        let live = self.entries().filter(|e| e.is_some()).count();
        let mut seen = vec![false; end];
        let free_ok = self.free.iter().all(|&s| {
            s < self.end && self.get(s).is_none() && !std::mem::replace(&mut seen[s as usize], true)
        });
        free_ok && live == self.len as usize && live + self.free.len() == end
    }
}

impl<T: fmt::Debug> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slab")
            .field("entries", &Entries(self))
            .field("free", &self.free)
            .field("len", &self.len)
            .finish()
    }
}

/// The slots of a slab as one sequence: its `Debug` and serialized form, which never show
/// the chunks (the snapshot format predates them).
struct Entries<'a, T>(&'a Slab<T>);

impl<T: fmt::Debug> fmt::Debug for Entries<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.entries()).finish()
    }
}

impl<T: Serialize> Serialize for Entries<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.end as usize))?;
        for entry in self.0.entries() {
            seq.serialize_element(entry)?;
        }
        seq.end()
    }
}

impl<T: Serialize> Serialize for Slab<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Slab", 3)?;
        st.serialize_field("entries", &Entries(self))?;
        st.serialize_field("free", &self.free)?;
        st.serialize_field("len", &self.len)?;
        st.end()
    }
}

/// The serialized form, read field by field; the entries go straight into chunks.
#[derive(Deserialize)]
#[serde(rename = "Slab")]
struct SlabForm<T> {
    entries: Filled<T>,
    free: Vec<u32>,
    len: u32,
}

/// A slab whose slots were read from a sequence, before `free` and `len` are known.
struct Filled<T>(Slab<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Filled<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fill<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fill<T> {
            type Value = Filled<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of slab entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Filled<T>, A::Error> {
                let mut slab = Slab::default();
                while let Some(entry) = seq.next_element::<Option<T>>()? {
                    if slab.end == u32::MAX {
                        return Err(serde::de::Error::custom(
                            "a slab holds fewer than 2^32 slots",
                        ));
                    }
                    let slot = slab.push_slot();
                    *slab.entry_mut(slot) = entry;
                }
                Ok(Filled(slab))
            }
        }
        d.deserialize_seq(Fill(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Slab<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let form = SlabForm::<T>::deserialize(d)?;
        let mut slab = form.entries.0;
        slab.free = form.free;
        slab.len = form.len;
        Ok(slab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every slot maps to one place, chunks fill in order, and each chunk has its size.
    #[test]
    fn slots_fill_each_chunk_in_order() {
        let mut expected = (0, 0);
        for slot in 0..(GROWING_SLOTS + 3 * CHUNK_CAP) {
            assert_eq!(locate(slot), expected, "slot {slot}");
            expected.1 += 1;
            if expected.1 == chunk_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        assert_eq!(chunk_len(0), FIRST_CHUNK);
        assert_eq!(chunk_len(GROWING_CHUNKS - 1), CHUNK_CAP);
        assert_eq!(chunk_len(GROWING_CHUNKS + 5), CHUNK_CAP);
    }

    /// The slab behaves as the `Vec<Option<T>>` plus free list it replaced: same slots,
    /// same order, same serialized form (the snapshot's), across chunk boundaries.
    #[test]
    fn behaves_as_a_vec_with_a_free_list() {
        let mut slab = Slab::default();
        let mut model: Vec<Option<u64>> = Vec::new();
        let mut free: Vec<u32> = Vec::new();
        let n = GROWING_SLOTS as u64 + 1500;
        for v in 0..n {
            let slot = slab.insert(v);
            let expected = free.pop().unwrap_or(model.len() as u32);
            assert_eq!(slot, expected);
            if slot as usize == model.len() {
                model.push(Some(v));
            } else {
                model[slot as usize] = Some(v);
            }
            if v % 3 == 0 {
                let gone = (v * 7 % (model.len() as u64)) as u32;
                assert_eq!(slab.remove(gone), model[gone as usize].take());
                if !free.contains(&gone) {
                    free.push(gone);
                }
            }
        }
        assert!(slab.is_consistent());
        assert_eq!(
            slab.vacant_slot(),
            free.last().copied().unwrap_or(model.len() as u32)
        );
        let live: Vec<(u32, u64)> = model
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i as u32, (*e)?)))
            .collect();
        assert_eq!(slab.iter().map(|(i, v)| (i, *v)).collect::<Vec<_>>(), live);
        assert_eq!(slab.len() as usize, live.len());
        assert_eq!(slab.get(model.len() as u32), None);
        assert_eq!(slab.get(u32::MAX), None);
        assert_eq!(slab.remove(u32::MAX), None);

        let json = serde_json::to_value(&slab).unwrap();
        let vec_form = serde_json::json!({ "entries": model, "free": free, "len": live.len() });
        assert_eq!(json, vec_form);
        let back: Slab<u64> = serde_json::from_value(json).unwrap();
        assert_eq!(back, slab);
        assert!(back.is_consistent());
    }

    /// A restored slab with a free list that names a live or repeated slot is caught.
    #[test]
    fn an_inconsistent_free_list_is_caught() {
        let json = serde_json::json!({ "entries": [1, null, 3], "free": [0], "len": 2 });
        let slab: Slab<u64> = serde_json::from_value(json).unwrap();
        assert!(!slab.is_consistent());
        let json = serde_json::json!({ "entries": [1, null, null], "free": [1, 1], "len": 1 });
        let slab: Slab<u64> = serde_json::from_value(json).unwrap();
        assert!(!slab.is_consistent());
        let json = serde_json::json!({ "entries": [1, null], "free": [5], "len": 1 });
        let slab: Slab<u64> = serde_json::from_value(json).unwrap();
        assert!(!slab.is_consistent());
    }
}
