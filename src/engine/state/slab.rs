//! A slab: values in a `Vec` addressed by `u32` slot, with a free list. Its order depends only
//! on the sequence of inserts and removes, so it serializes deterministically.

use serde::{Deserialize, Serialize};

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<u32>,
    len: u32,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
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
        if let Some(slot) = self.free.pop() {
            self.entries[slot as usize] = Some(value);
            slot
        } else {
            self.entries.push(Some(value));
            u32::try_from(self.entries.len() - 1).unwrap_or(u32::MAX)
        }
    }

    /// The slot the next [`Slab::insert`] will use.
    pub(crate) fn vacant_slot(&self) -> u32 {
        self.free
            .last()
            .copied()
            .unwrap_or_else(|| u32::try_from(self.entries.len()).unwrap_or(u32::MAX))
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Option<T> {
        let value = self.entries.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn get(&self, slot: u32) -> Option<&T> {
        self.entries.get(slot as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.entries.get_mut(slot as usize)?.as_mut()
    }

    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Live entries in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((u32::try_from(i).ok()?, e.as_ref()?)))
    }

    /// How many slots exist, live or free (the next fresh slot's number).
    pub(crate) fn slot_count(&self) -> usize {
        self.entries.len()
    }

    /// The entries by slot, the free list and the count (to write a slab of another form).
    pub(crate) fn parts(&self) -> (&[Option<T>], &[u32], u32) {
        (&self.entries, &self.free, self.len)
    }

    /// A slab from its parts as [`Slab::parts`] gives them; [`Slab::is_consistent`] tells
    /// whether they agree (a restored snapshot is checked before use).
    pub(crate) fn from_parts(entries: Vec<Option<T>>, free: Vec<u32>, len: u32) -> Slab<T> {
        Slab { entries, free, len }
    }

    /// Whether the free list and the count agree with the entries (for restored snapshots).
    pub(crate) fn is_consistent(&self) -> bool {
        let live = self.entries.iter().filter(|e| e.is_some()).count();
        let mut seen = vec![false; self.entries.len()];
        let free_ok = self.free.iter().all(|&s| {
            let i = s as usize;
            let ok = i < self.entries.len() && self.entries[i].is_none() && !seen[i];
            if ok {
                seen[i] = true;
            }
            ok
        });
        free_ok && live == self.len as usize && live + self.free.len() == self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slab behaves as a `Vec<Option<T>>` plus a LIFO free list: same slots, same
    /// order, and that serialized form (the snapshot's).
    #[test]
    fn behaves_as_a_vec_with_a_free_list() {
        let mut slab = Slab::default();
        let mut model: Vec<Option<u64>> = Vec::new();
        let mut free: Vec<u32> = Vec::new();
        let n = 3_000;
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
