//! The wheel's layout: placing entries in buckets, moving the cursor, sorting a bucket when
//! it becomes current, sweeping stale entries, growing and shrinking (see the parent module's
//! docs).

use super::*;

impl Timers {
    pub(super) fn index(&self, bucket: u64) -> usize {
        // The mask keeps the value below the bucket count, a usize.
        (bucket & (self.wheel.len() as u64 - 1)) as usize
    }

    /// Puts a pending entry where invariants 1-4 want it.
    pub(super) fn place(&mut self, e: Entry) {
        let bucket = e.bucket(self.shift);
        let n = self.wheel.len() as u64;
        if self.due.is_empty() {
            // By invariant 4 the wheel is empty, so the current bucket can move freely.
            self.cursor = bucket;
            self.due.push_back(e);
        } else if bucket == self.cursor {
            self.due.insert_sorted(e);
        } else if bucket > self.cursor {
            if bucket - self.cursor < n {
                self.push_wheel(bucket, e);
            } else {
                self.spill.insert(e.key, e.kind);
            }
        } else if self.cursor - bucket < n {
            self.rewind(bucket, e);
        } else {
            self.spill.insert(e.key, e.kind);
        }
    }

    pub(super) fn push_wheel(&mut self, bucket: u64, e: Entry) {
        let i = self.index(bucket);
        self.wheel[i].push(e);
        self.occupied[i / 64] |= 1 << (i % 64);
    }

    /// A timer earlier than the current bucket (but within a span of it): the current
    /// bucket's entries go back to the wheel and the new one's bucket becomes current. Costs
    /// one bucket's entries; with `due` non-empty this only happens when the earliest
    /// pending timer is later than the new one.
    pub(super) fn rewind(&mut self, bucket: u64, e: Entry) {
        for d in self.due.take() {
            if self.live.contains(d.key.seq) {
                self.push_wheel(d.bucket(self.shift), d);
            } else {
                self.stale = self.stale.saturating_sub(1);
            }
        }
        self.due.push_back(e);
        self.cursor = bucket;
    }

    // ---- moving on -----------------------------------------------------------------------

    /// Restores invariants 2 and 4 after the front of `due` went: drops stale entries from
    /// the front, and when `due` runs dry moves on to the next occupied bucket.
    pub(super) fn settle(&mut self) {
        loop {
            while let Some(front) = self.due.front() {
                if self.live.contains(front.key.seq) {
                    return;
                }
                self.due.pop_front();
                self.stale = self.stale.saturating_sub(1);
            }
            if !self.advance() {
                return;
            }
        }
    }

    /// With `due` empty: makes the next occupied bucket current and loads its entries of that
    /// lap into `due`, sorted. Returns false when the wheel is empty.
    pub(super) fn advance(&mut self) -> bool {
        let Some(bucket) = self.next_occupied() else {
            return false;
        };
        self.cursor = bucket;
        self.load(bucket);
        if !self.spill.is_empty() && self.pull_spill() {
            self.due.sort();
        }
        true
    }

    /// The first bucket number after `cursor` whose bucket is occupied (an entry of a later
    /// lap counts: loading it then finds nothing and the search goes on).
    pub(super) fn next_occupied(&self) -> Option<u64> {
        let n = self.wheel.len();
        let words = self.occupied.len();
        let start = self.index(self.cursor.wrapping_add(1));
        let mut w = start / 64;
        let mut bits = self.occupied[w] & (!0u64 << (start % 64));
        // One extra turn comes back to the first word for the bits below `start`.
        for _ in 0..=words {
            if bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                let distance = (i + n - start) & (n - 1);
                return Some(self.cursor + 1 + distance as u64);
            }
            w = (w + 1) % words;
            bits = self.occupied[w];
        }
        None
    }

    /// Makes the entries of bucket number `bucket` (this lap) the new `due`, in place: the
    /// bucket's own vector becomes `due` with stale entries dropped (so nothing is copied),
    /// and the old, empty `due` buffer goes back to the slot to be refilled. Entries of a
    /// later lap stay in the slot.
    pub(super) fn load(&mut self, bucket: u64) {
        let i = self.index(bucket);
        let shift = self.shift;
        let mut entries = std::mem::take(&mut self.wheel[i]);
        let mut later = Vec::new();
        let Timers { live, stale, .. } = self;
        entries.retain(|e| {
            if e.bucket(shift) > bucket {
                later.push(*e);
                return false;
            }
            let pending = live.contains(e.key.seq);
            if !pending {
                *stale = stale.saturating_sub(1);
            }
            pending
        });
        // `due` is empty: its buffer serves as scratch for the sort, and whichever buffer
        // the sort leaves spare goes back to the slot to be refilled.
        let mut spare = std::mem::take(&mut self.due.v);
        let sorted = sort_bucket(entries, &mut spare, bucket, shift);
        self.due.replace(sorted);
        if later.is_empty() {
            spare.clear();
            self.wheel[i] = spare;
            self.occupied[i / 64] &= !(1 << (i % 64));
        } else {
            self.wheel[i] = later;
        }
    }

    /// Moves spilled entries that now fall within the wheel's span into it (or into `due`);
    /// returns whether `due` got any.
    pub(super) fn pull_spill(&mut self) -> bool {
        let mut into_due = false;
        let n = self.wheel.len() as u64;
        let from = TimerKey {
            deadline: Millis(self.cursor << self.shift),
            seq: 0,
        };
        while let Some((&key, &kind)) = self.spill.range(from..).next() {
            let e = Entry { key, kind };
            let bucket = e.bucket(self.shift);
            if bucket - self.cursor >= n {
                break;
            }
            self.spill.remove(&key);
            if bucket == self.cursor {
                self.due.push_back(e);
                into_due = true;
            } else {
                self.push_wheel(bucket, e);
            }
        }
        into_due
    }

    // ---- keeping it small ----------------------------------------------------------------

    /// Drops every stale entry. Runs when they outnumber the pending ones plus the bucket
    /// count, so its cost is paid for by the cancels that made them.
    pub(super) fn compact(&mut self) {
        let Timers {
            wheel,
            occupied,
            due,
            live,
            ..
        } = self;
        due.retain(|e| live.contains(e.key.seq));
        for (i, slot) in wheel.iter_mut().enumerate() {
            if slot.is_empty() {
                continue;
            }
            slot.retain(|e| live.contains(e.key.seq));
            if slot.is_empty() {
                *slot = Vec::new();
                occupied[i / 64] &= !(1 << (i % 64));
            }
        }
        self.stale = 0;
        self.settle();
    }

    pub(super) fn maybe_shrink(&mut self) {
        if self.wheel.len() > 1 << MIN_BUCKETS_LOG2 && self.len * 2 < self.wheel.len() {
            self.resize();
        }
    }

    /// Rebuilds the wheel with about one bucket per two pending timers (within bounds).
    /// Doubling on growth and halving only below one timer per two buckets make this
    /// amortized O(1) per call.
    pub(super) fn resize(&mut self) {
        let wanted = (self.len / 2).max(1).next_power_of_two().trailing_zeros();
        let log2 = wanted.clamp(MIN_BUCKETS_LOG2, MAX_BUCKETS_LOG2);
        if 1usize << log2 == self.wheel.len() {
            return;
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(self.len);
        let live = &self.live;
        entries.extend(
            self.due
                .iter()
                .chain(self.wheel.iter().flatten())
                .filter(|e| live.contains(e.key.seq)),
        );
        let mut fresh = Timers::with_buckets_log2(log2);
        fresh.len = self.len;
        fresh.next_seq = self.next_seq;
        fresh.live = std::mem::take(&mut self.live);
        fresh.spill = std::mem::take(&mut self.spill);
        fresh.place_all(entries);
        *self = fresh;
    }

    /// Places pending entries into an empty wheel, the earliest first so nothing rewinds.
    pub(super) fn place_all(&mut self, mut entries: Vec<Entry>) {
        if let Some(first) = entries.iter().enumerate().min_by_key(|(_, e)| e.key) {
            let i = first.0;
            entries.swap(0, i);
        }
        for e in entries {
            self.place(e);
        }
        self.due.sort();
    }

    /// The smaller of `due`'s front and `spill`'s first, and whether it is the spilled one.
    pub(super) fn peek(&self) -> Option<(TimerKey, TimerKind, bool)> {
        let due = self.due.front().map(|e| (e.key, e.kind, false));
        let spill = self
            .spill
            .first_key_value()
            .map(|(key, kind)| (*key, *kind, true));
        match (due, spill) {
            (Some(d), Some(s)) => Some(if s.0 < d.0 { s } else { d }),
            (d, s) => d.or(s),
        }
    }

    /// Rebuilds a table from a snapshot's pending list. Identical keys collapse into one (the
    /// last wins, as when the list was collected into a map); two different keys with one
    /// seq are an error. A seq at or above `next_seq` is kept, for the engine's invariant
    /// check to reject.
    pub(super) fn restore(
        mut pending: Vec<(TimerKey, TimerKind)>,
        next_seq: u64,
    ) -> Result<Timers, String> {
        pending.reverse();
        pending.sort_by_key(|p| p.0);
        pending.dedup_by(|later, kept| later.0 == kept.0);
        let mut seqs: Vec<u64> = pending.iter().map(|(k, _)| k.seq).collect();
        seqs.sort_unstable();
        if let Some(w) = seqs.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("two pending timers share seq {}", w[0]));
        }
        let wanted = (pending.len() / 2)
            .max(1)
            .next_power_of_two()
            .trailing_zeros();
        let mut t = Timers::with_buckets_log2(wanted.clamp(MIN_BUCKETS_LOG2, MAX_BUCKETS_LOG2));
        t.next_seq = next_seq;
        t.live = LiveSeqs::from_sorted(&seqs, next_seq);
        t.len = pending.len();
        t.place_all(
            pending
                .into_iter()
                .map(|(key, kind)| Entry { key, kind })
                .collect(),
        );
        Ok(t)
    }

    /// Entries stored (pending and stale) and words of the live-seq window, for tests of
    /// the bounds.
    #[cfg(test)]
    pub(super) fn footprint(&self) -> (usize, usize) {
        let stored = self.due.slice().len() + self.wheel.iter().map(Vec::len).sum::<usize>();
        (stored + self.spill.len(), self.live.words.len())
    }
}

/// Sorts the pending entries of bucket number `bucket` (each `2^shift` ms wide) by key. A
/// counting pass first splits them into 64 sub-ranges of deadline (using `spare` as the
/// scatter buffer), so only short runs are left to sort: cheaper than one big sort.
pub(super) fn sort_bucket(
    mut entries: Vec<Entry>,
    spare: &mut Vec<Entry>,
    bucket: u64,
    shift: u32,
) -> Vec<Entry> {
    const PARTS: usize = 64;
    let Some(&first) = entries.first() else {
        return entries;
    };
    if entries.len() <= 2 * PARTS || shift < 6 {
        entries.sort_unstable_by_key(Entry::rank);
        return entries;
    }
    let part_shift = shift - 6;
    let base = bucket << shift;
    // Entries of this bucket have `base <= deadline < base + 2^shift`; the clamp keeps an
    // out-of-range one (never expected) in the last part rather than out of bounds.
    let part =
        |e: &Entry| ((e.key.deadline.0.saturating_sub(base) >> part_shift) as usize).min(PARTS - 1);
    let mut starts = [0usize; PARTS + 1];
    for e in &entries {
        starts[part(e) + 1] += 1;
    }
    for i in 0..PARTS {
        starts[i + 1] += starts[i];
    }
    spare.clear();
    spare.resize(entries.len(), first);
    let mut next = starts;
    for e in &entries {
        let p = part(e);
        spare[next[p]] = *e;
        next[p] += 1;
    }
    for w in starts.windows(2) {
        spare[w[0]..w[1]].sort_unstable_by_key(Entry::rank);
    }
    std::mem::swap(&mut entries, spare);
    entries
}

/// The current bucket's pending entries, sorted: a vector read from `head` on, so taking
/// the front is an index bump and a loaded bucket's own vector can serve as it.
#[derive(Debug, Clone, Default)]
pub(super) struct Due {
    v: Vec<Entry>,
    head: usize,
}

impl Due {
    pub(super) fn slice(&self) -> &[Entry] {
        self.v.get(self.head..).unwrap_or(&[])
    }

    pub(super) fn front(&self) -> Option<&Entry> {
        self.v.get(self.head)
    }

    pub(super) fn pop_front(&mut self) -> Option<Entry> {
        let e = *self.v.get(self.head)?;
        self.head += 1;
        if self.head == self.v.len() {
            self.v.clear();
            self.head = 0;
        }
        Some(e)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.head >= self.v.len()
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.slice().iter()
    }

    pub(super) fn push_back(&mut self, e: Entry) {
        self.v.push(e);
    }

    pub(super) fn insert_sorted(&mut self, e: Entry) {
        let pos = self.head + self.slice().partition_point(|d| d.key < e.key);
        self.v.insert(pos, e);
    }

    pub(super) fn sort(&mut self) {
        if let Some(rest) = self.v.get_mut(self.head..) {
            rest.sort_unstable_by_key(Entry::rank);
        }
    }

    pub(super) fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        self.v.drain(..self.head);
        self.head = 0;
        self.v.retain(keep);
    }

    /// Takes the entries out, leaving it empty.
    pub(super) fn take(&mut self) -> Vec<Entry> {
        let mut v = std::mem::take(&mut self.v);
        v.drain(..self.head);
        self.head = 0;
        v
    }

    /// Makes `v` the entries; returns the old buffer.
    pub(super) fn replace(&mut self, v: Vec<Entry>) -> Vec<Entry> {
        self.head = 0;
        std::mem::replace(&mut self.v, v)
    }
}
