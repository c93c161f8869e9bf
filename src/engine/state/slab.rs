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
