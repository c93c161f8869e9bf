//! The wheel's layout: placing entries in buckets, moving the cursor, sorting a bucket when
//! it becomes current, sweeping stale entries, growing and shrinking (see the parent module's
//! docs).

use super::sort::{sort_bucket, Parts};
use super::*;

impl Timers {
    #[inline]
    pub(super) fn index(&self, bucket: u64) -> usize {
        // The mask keeps the value below the bucket count, a usize.
        (bucket & (self.wheel.len() as u64 - 1)) as usize
    }

    /// The start of the current bucket, in ms: what packed deadlines are read against.
    #[inline]
    pub(super) fn base(&self) -> u64 {
        // `cursor` is a stored deadline shifted right by `shift`, so this cannot overflow.
        self.cursor << self.shift
    }

    /// Puts a pending timer where invariants 1-5 want it. The common case, a packable timer
    /// for a later bucket within the wheel's span, is inlined into `arm`; the rest is not.
    #[inline(always)]
    pub(super) fn place(&mut self, key: TimerKey, kind: TimerKind) {
        if let Some(e) = Entry::pack(key, kind) {
            let deadline = key.deadline.0;
            let bucket = deadline >> self.shift;
            let ahead = bucket.wrapping_sub(self.cursor);
            if !self.due.is_empty() && ahead != 0 && ahead < self.wheel.len() as u64 {
                self.high = self.high.max(deadline);
                self.push_wheel(bucket, e);
                return;
            }
        }
        self.place_rest(key, kind);
    }

    /// [`Timers::place`] for every case but the common one.
    #[inline(never)]
    fn place_rest(&mut self, key: TimerKey, kind: TimerKind) {
        let Some(e) = Entry::pack(key, kind) else {
            self.spill.insert(key, kind);
            return;
        };
        let deadline = key.deadline.0;
        let bucket = deadline >> self.shift;
        let n = self.wheel.len() as u64;
        if self.due.is_empty() {
            // By invariant 4 the wheel is empty, so the current bucket can move freely.
            self.cursor = bucket;
            self.high = deadline;
            self.due.push_back(e);
        } else if bucket == self.cursor {
            self.high = self.high.max(deadline);
            let base = self.base();
            self.due.insert_sorted(e, base);
        } else if bucket > self.cursor {
            if bucket - self.cursor < n {
                self.high = self.high.max(deadline);
                self.push_wheel(bucket, e);
            } else {
                self.spill.insert(key, kind);
            }
        } else if self.cursor - bucket < n
            && self.high - (bucket << self.shift) < 1 << entry::DEADLINE_BITS
        {
            // (`high` is at least the current base, above `bucket`'s start.) Rewinding
            // further would stretch the stored deadlines past what a packed one can say.
            self.rewind(bucket, e);
        } else {
            self.spill.insert(key, kind);
        }
    }

    #[inline(always)]
    pub(super) fn push_wheel(&mut self, bucket: u64, e: Entry) {
        let i = self.index(bucket);
        // A bucket that was empty takes a new chunk: marking it then (once per chunk, not
        // per entry) is enough to keep its bit set while it holds anything.
        if self.wheel[i].push(e, &mut self.pool) {
            self.occupied[i / 64] |= 1 << (i % 64);
        }
    }

    /// A timer earlier than the current bucket (but within a span of it): the current
    /// bucket's entries go back to the wheel and the new one's bucket becomes current. Costs
    /// one bucket's entries; with `due` non-empty this only happens when the earliest
    /// pending timer is later than the new one.
    pub(super) fn rewind(&mut self, bucket: u64, e: Entry) {
        let base = self.base();
        let mut old = self.due.take();
        for d in old.drain(..) {
            if self.live.contains(d.seq()) {
                self.push_wheel(d.deadline(base) >> self.shift, d);
            } else {
                self.stale = self.stale.saturating_sub(1);
            }
        }
        self.due.replace(old);
        self.due.push_back(e);
        self.due_stale = 0;
        self.cursor = bucket;
    }

    // ---- moving on -----------------------------------------------------------------------

    /// Restores invariants 2 and 4 after the front of `due` went: drops stale entries from
    /// the front, and when `due` runs dry moves on to the next occupied bucket.
    #[inline]
    pub(super) fn settle(&mut self) {
        loop {
            while let Some(front) = self.due.front() {
                if self.due_stale == 0 || self.live.contains(front.seq()) {
                    return;
                }
                self.due.pop_front();
                self.stale = self.stale.saturating_sub(1);
                self.due_stale -= 1;
            }
            if !self.advance() {
                return;
            }
        }
    }

    /// With `due` empty: makes the next occupied bucket current and loads its entries of that
    /// lap into `due`, sorted. Returns false when the wheel is empty.
    // Kept out of `settle`, which is inlined: this runs once per bucket, `settle` per timer.
    #[inline(never)]
    pub(super) fn advance(&mut self) -> bool {
        let Some(bucket) = self.next_occupied() else {
            return false;
        };
        self.cursor = bucket;
        self.load(bucket);
        if !self.spill.is_empty() && self.pull_spill() {
            let base = self.base();
            self.due.sort(base);
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

    /// Makes the pending entries of bucket number `bucket` (the current one, this lap) the
    /// new, sorted `due`, dropping its stale entries; its chunks go back to the pool. Entries
    /// of a later lap stay in the slot.
    ///
    /// Each stored entry is read once: one pass checks its liveness, copies it to `spare`
    /// (kept only if pending) and counts it in its part (only if pending), so stale entries
    /// never reach the sort. The parts are sized for the entries expected to be pending (the
    /// table's share of pending among everything stored), not for all that is stored.
    pub(super) fn load(&mut self, bucket: u64) {
        let i = self.index(bucket);
        let shift = self.shift;
        let base = self.base();
        let pending_share = (self.len, self.len + self.stale);
        // `due` is refilled below with pending entries only.
        self.due_stale = 0;
        // Whether any stored entry could belong to a later lap: none can when every stored
        // deadline (all at most `high`, invariant 5) is within a span of this bucket's start.
        let span = (self.wheel.len() as u64) << shift;
        let laps = self.high.saturating_sub(base) >= span;
        let Timers {
            wheel,
            pool,
            live,
            stale,
            due,
            spare,
            counts,
            occupied,
            ..
        } = self;
        let slot = &mut wheel[i];
        let stored = slot.len();
        // Written by index below, never read past what the pass wrote: growing it only when
        // a bigger bucket comes keeps the zeroing off the common path.
        if spare.len() < stored {
            spare.resize(stored, Entry::default());
        }
        let expected =
            (stored as u128 * pending_share.0 as u128 / pending_share.1.max(1) as u128) as usize;
        let parts = Parts::for_len(expected, shift);
        // Without parts everything is counted in part 0 (and the counts go unused).
        let part_shift = match parts {
            Some(parts) => {
                parts.reset(counts);
                parts.shift()
            }
            None => {
                counts.clear();
                counts.resize(2, 0);
                shift
            }
        };
        let mut kept = 0;
        let mut later = Vec::new();
        let view = live.view();
        let mut pass = Gather {
            base,
            shift,
            part_shift,
            out: spare,
            kept: &mut kept,
            counts,
            later: &mut later,
        };
        match view.window() {
            // The common case: every pending seq is in the window's words.
            Some((first, words)) => {
                let is_live = |seq: u64| {
                    let at = seq.wrapping_sub(first);
                    // A seq below the window wraps to a huge index: not found, not live.
                    usize::try_from(at / 64)
                        .ok()
                        .and_then(|i| words.get(i))
                        .is_some_and(|w| w >> (at % 64) & 1 != 0)
                };
                for chunk in slot.slices() {
                    if laps {
                        pass.run::<true>(chunk, is_live);
                    } else {
                        pass.run::<false>(chunk, is_live);
                    }
                }
            }
            None => {
                for chunk in slot.slices() {
                    pass.run::<true>(chunk, |seq| view.contains(seq));
                }
            }
        }
        *stale = stale.saturating_sub(stored - later.len() - kept);
        slot.clear(pool);
        for e in later {
            // The slot's occupied bit is still set: it is cleared below only if this left
            // it empty.
            slot.push(e, pool);
        }
        if slot.is_empty() {
            occupied[i / 64] &= !(1 << (i % 64));
        }
        let entries = spare.get(..kept).unwrap_or(&[]);
        let out = due.refill();
        match parts {
            Some(parts) => parts.scatter(entries, counts, out, base),
            None => {
                out.extend_from_slice(entries);
                out.sort_unstable_by_key(|e| e.rank(base));
            }
        }
    }

    /// Moves spilled entries that now fall within the wheel's span into it (or into `due`);
    /// returns whether `due` got any. Entries that cannot be packed stay spilled.
    pub(super) fn pull_spill(&mut self) -> bool {
        let mut into_due = false;
        let n = self.wheel.len() as u64;
        let from = TimerKey {
            deadline: Millis(self.base()),
            seq: 0,
        };
        let cursor = self.cursor;
        let shift = self.shift;
        let moving: Vec<(TimerKey, Entry)> = self
            .spill
            .range(from..)
            .take_while(|(key, _)| (key.deadline.0 >> shift) - cursor < n)
            .filter_map(|(&key, &kind)| Some((key, Entry::pack(key, kind)?)))
            .collect();
        for (key, e) in moving {
            self.spill.remove(&key);
            let bucket = key.deadline.0 >> shift;
            self.high = self.high.max(key.deadline.0);
            if bucket == cursor {
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
            pool,
            ..
        } = self;
        due.retain(|e| live.contains(e.seq()));
        for (i, slot) in wheel.iter_mut().enumerate() {
            if slot.is_empty() {
                continue;
            }
            slot.retain(|e| live.contains(e.seq()), pool);
            if slot.is_empty() {
                occupied[i / 64] &= !(1 << (i % 64));
            }
        }
        self.stale = 0;
        self.due_stale = 0;
        self.settle();
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
        let mut entries: Vec<(TimerKey, TimerKind)> = Vec::with_capacity(self.len);
        let live = &self.live;
        let base = self.base();
        entries.extend(
            self.due
                .iter()
                .chain(self.wheel.iter().flat_map(Bucket::iter))
                .filter(|e| live.contains(e.seq()))
                .map(|e| (e.key(base), e.kind())),
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
    /// Entries of the first bucket are appended to `due` and sorted once at the end, so
    /// this is O(k) plus one bucket sort whatever order `entries` come in.
    pub(super) fn place_all(&mut self, mut entries: Vec<(TimerKey, TimerKind)>) {
        if let Some(first) = entries.iter().enumerate().min_by_key(|(_, e)| e.0) {
            let i = first.0;
            entries.swap(0, i);
        }
        for (key, kind) in entries {
            let Some(e) = Entry::pack(key, kind) else {
                self.spill.insert(key, kind);
                continue;
            };
            let bucket = key.deadline.0 >> self.shift;
            if self.due.is_empty() || bucket == self.cursor {
                // The first entry makes its bucket current; the earliest went first, so
                // every later one is in that bucket or after it.
                if self.due.is_empty() {
                    self.cursor = bucket;
                }
                self.high = self.high.max(key.deadline.0);
                self.due.push_back(e);
            } else {
                self.place(key, kind);
            }
        }
        let base = self.base();
        let Timers {
            due,
            spare,
            counts,
            shift,
            ..
        } = self;
        let unsorted = due.take();
        sort_bucket(&unsorted, due.refill(), counts, *shift, base);
        *spare = unsorted;
    }

    /// The smaller of `due`'s front and `spill`'s first, and whether it is the spilled one.
    pub(super) fn peek(&self) -> Option<(TimerKey, TimerKind, bool)> {
        let due = self
            .due
            .front()
            .map(|e| (e.key(self.base()), e.kind(), false));
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
        t.place_all(pending);
        Ok(t)
    }

    /// Entries stored (pending and stale) and words of the live-seq window, for tests of
    /// the bounds.
    #[cfg(test)]
    pub(super) fn footprint(&self) -> (usize, usize) {
        let stored = self.due.slice().len() + self.wheel.iter().map(Bucket::len).sum::<usize>();
        (stored + self.spill.len(), self.live.words.len())
    }
}

/// The single pass of [`Timers::load`] over a bucket's stored entries: each is copied to
/// `out` at `kept` (which only a pending one moves on), counted in its part with weight 1 if
/// pending and 0 if not, or set aside in `later` if it belongs to a later lap.
struct Gather<'a> {
    base: u64,
    shift: u32,
    part_shift: u32,
    out: &'a mut [Entry],
    kept: &'a mut usize,
    counts: &'a mut [usize],
    later: &'a mut Vec<Entry>,
}

impl Gather<'_> {
    // Inlined into each of its two callers so that `is_live` is too, and the loop's state
    // stays in registers.
    // `LAPS`: whether to look for entries of a later lap (the caller knows when there can
    // be none, and then the loop skips the test).
    #[inline(always)]
    fn run<const LAPS: bool>(&mut self, chunk: &[Entry], is_live: impl Fn(u64) -> bool) {
        let mut kept = *self.kept;
        for e in chunk {
            let offset = e.offset(self.base);
            if LAPS && offset >> self.shift != 0 {
                self.later.push(*e);
                continue;
            }
            // No branch on liveness: about half may be stale, and a branch on that coin flip
            // would be mispredicted half the time.
            if let Some(at) = self.out.get_mut(kept) {
                *at = *e;
            }
            let pending = usize::from(is_live(e.seq()));
            kept += pending;
            // `offset` is below 2^shift, so its part is below the parts' count.
            if let Some(count) = self
                .counts
                .get_mut(((offset >> self.part_shift) as usize).wrapping_add(1))
            {
                *count += pending;
            }
        }
        *self.kept = kept;
    }
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

    /// Drops the front entry (what `pop_front` does, without reading it).
    #[inline]
    pub(super) fn skip_front(&mut self) {
        self.head += 1;
        if self.head >= self.v.len() {
            self.v.clear();
            self.head = 0;
        }
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

    pub(super) fn insert_sorted(&mut self, e: Entry, base: u64) {
        let rank = e.rank(base);
        let pos = self.head + self.slice().partition_point(|d| d.rank(base) < rank);
        self.v.insert(pos, e);
    }

    pub(super) fn sort(&mut self, base: u64) {
        if let Some(rest) = self.v.get_mut(self.head..) {
            rest.sort_unstable_by_key(|e| e.rank(base));
        }
    }

    /// Empties it and hands out its buffer to be refilled with sorted entries.
    pub(super) fn refill(&mut self) -> &mut Vec<Entry> {
        self.v.clear();
        self.head = 0;
        &mut self.v
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
