//! Which timer sequence numbers are pending: cancelling clears a bit.

use super::*;

/// Which sequence numbers are pending: one bit per seq over a window of recent ones, and an
/// ordered set for the few pending ones older than the window.
///
/// The window `[base, base + 64 * words.len())` drops whole zero words at its front as timers
/// end. A long-lived timer would pin the front while new seqs keep coming, so `trim` moves
/// the front word's pending seqs into `old` whenever the window has more words than pending
/// seqs in it plus a constant: at most 8 bytes per pending timer plus 8 KiB, whatever the
/// history. Each seq moves at most once, so that is amortized O(1) too.
#[derive(Debug, Clone, Default)]
pub(super) struct LiveSeqs {
    pub(super) base: u64,
    pub(super) words: Words,
    /// Set bits in `words`.
    pub(super) in_window: usize,
    /// Pending seqs not in the window (older ones; or, from a corrupt snapshot, far newer).
    pub(super) old: BTreeSet<u64>,
}

impl LiveSeqs {
    pub(super) fn from_sorted(seqs: &[u64], next_seq: u64) -> LiveSeqs {
        // The window starts no earlier than it could be kept dense; older seqs go to `old`.
        let reach = 64 * (seqs.len() + WINDOW_SLACK_WORDS) as u64;
        let floor = next_seq.saturating_sub(reach);
        let mut live = LiveSeqs::default();
        for &seq in seqs {
            if seq < floor {
                live.old.insert(seq);
            } else {
                live.insert(seq);
            }
        }
        live
    }

    /// Where `seq`'s bit is, if it is inside the window: the index into the words' vector
    /// itself (not counted from the window's front, so the read needs no second addition
    /// and one bounds check) and the bit.
    #[inline]
    fn at(&self, seq: u64) -> Option<(usize, u64)> {
        let offset = seq.checked_sub(self.base)?;
        let i = usize::try_from(offset / 64)
            .ok()?
            .checked_add(self.words.head)?;
        (i < self.words.v.len()).then_some((i, 1 << (offset % 64)))
    }

    #[inline]
    pub(super) fn insert(&mut self, seq: u64) {
        // The common case, a seq inside the window: one bit set. The window did not grow,
        // so there is nothing to trim.
        if let Some((i, bit)) = self.at(seq) {
            if let Some(word) = self.words.v.get_mut(i) {
                self.in_window += usize::from(*word & bit == 0);
                *word |= bit;
                return;
            }
        }
        self.insert_outside(seq);
    }

    /// `insert` of a seq outside the window: it grows, or the seq goes to `old`.
    #[cold]
    fn insert_outside(&mut self, seq: u64) {
        if self.words.is_empty() {
            // Also when the window ran past `seq` (its last word emptied): a seq in `old`
            // that the window now covers is still found, `contains` and `remove` fall back.
            self.base = seq & !63;
        }
        let Some(offset) = seq.checked_sub(self.base) else {
            self.old.insert(seq);
            return;
        };
        let word = offset / 64;
        if word >= (self.words.len() + WINDOW_SLACK_WORDS) as u64 {
            self.old.insert(seq);
            return;
        }
        // Just checked to be within the window's length plus a constant.
        let word = word as usize;
        while self.words.len() <= word {
            self.words.v.push(0);
        }
        let bit = 1 << (offset % 64);
        if self.words[word] & bit == 0 {
            self.words[word] |= bit;
            self.in_window += 1;
        }
        self.trim();
    }

    #[inline]
    pub(super) fn contains(&self, seq: u64) -> bool {
        let in_window = self
            .at(seq)
            .and_then(|(i, bit)| Some(self.words.v.get(i)? & bit != 0))
            .unwrap_or(false);
        in_window || (!self.old.is_empty() && self.old.contains(&seq))
    }

    /// A read-only view for checking many seqs in a row (the window's bounds read once).
    #[inline]
    pub(super) fn view(&self) -> LiveView<'_> {
        LiveView {
            base: self.base,
            words: self.words.v.get(self.words.head..).unwrap_or(&[]),
            old: &self.old,
        }
    }

    /// Clears `seq`; returns whether it was pending.
    #[inline]
    pub(super) fn remove(&mut self, seq: u64) -> bool {
        if let Some((i, bit)) = self.at(seq) {
            let front = i == self.words.head;
            if let Some(word) = self.words.v.get_mut(i) {
                if *word & bit != 0 {
                    *word &= !bit;
                    self.in_window -= 1;
                    // Only the front word emptying lets the window move on.
                    if front && *word == 0 {
                        self.drop_empty_front();
                    }
                    return true;
                }
            }
        }
        !self.old.is_empty() && self.remove_old(seq)
    }

    /// `remove` of a seq older than the window (rare: kept out of the inlined path).
    #[cold]
    fn remove_old(&mut self, seq: u64) -> bool {
        self.old.remove(&seq)
    }

    /// Drops the window's empty words at its front.
    #[cold]
    fn drop_empty_front(&mut self) {
        while self.words.front() == Some(&0) {
            self.words.pop_front();
            self.base += 64;
        }
    }

    /// Keeps the window dense: see the type's docs.
    pub(super) fn trim(&mut self) {
        while self.words.len() > self.in_window + WINDOW_SLACK_WORDS {
            let Some(word) = self.words.pop_front() else {
                return;
            };
            let mut bits = word;
            while bits != 0 {
                self.old
                    .insert(self.base + u64::from(bits.trailing_zeros()));
                bits &= bits - 1;
            }
            self.in_window -= word.count_ones() as usize;
            self.base += 64;
        }
    }
}

/// [`LiveSeqs::view`]: `contains` with the window as a plain slice.
pub(super) struct LiveView<'a> {
    base: u64,
    words: &'a [u64],
    old: &'a BTreeSet<u64>,
}

impl<'a> LiveView<'a> {
    /// The window's first seq and its words, when every pending seq is in them (nothing
    /// older is pending): then a seq is pending iff its bit is set.
    #[inline]
    pub(super) fn window(&self) -> Option<(u64, &'a [u64])> {
        self.old.is_empty().then_some((self.base, self.words))
    }

    #[inline]
    pub(super) fn contains(&self, seq: u64) -> bool {
        let in_window = seq
            .checked_sub(self.base)
            .and_then(|offset| Some((self.words.get(usize::try_from(offset / 64).ok()?)?, offset)))
            .is_some_and(|(word, offset)| word & 1 << (offset % 64) != 0);
        // `old` is almost always empty: testing that first leaves `in_window` a value, not
        // a branch (callers check seqs that are pending or not at random).
        if self.old.is_empty() {
            in_window
        } else {
            in_window || self.old.contains(&seq)
        }
    }
}

/// A queue of words that is a plain vector read from `head` on: indexing is one addition
/// (no ring arithmetic) on the hot path of every liveness check. The consumed front is
/// dropped once it is at least half of the vector, so it costs O(1) amortized.
#[derive(Debug, Clone, Default)]
pub(super) struct Words {
    pub(super) v: Vec<u64>,
    pub(super) head: usize,
}

impl Words {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.v.len() - self.head
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn front(&self) -> Option<&u64> {
        self.v.get(self.head)
    }

    pub(super) fn pop_front(&mut self) -> Option<u64> {
        let w = *self.v.get(self.head)?;
        self.head += 1;
        if self.head == self.v.len() {
            self.v.clear();
            self.head = 0;
        } else if self.head >= 64 && self.head * 2 >= self.v.len() {
            self.v.drain(..self.head);
            self.head = 0;
        }
        Some(w)
    }
}

impl std::ops::Index<usize> for Words {
    type Output = u64;
    #[inline]
    fn index(&self, i: usize) -> &u64 {
        &self.v[self.head + i]
    }
}

impl std::ops::IndexMut<usize> for Words {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut u64 {
        &mut self.v[self.head + i]
    }
}
