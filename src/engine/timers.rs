//! The timer table: pending deadlines, each naming the object it belongs to, fired in
//! `(deadline, seq)` order.
//!
//! Entries are keyed by `(deadline, seq)` where `seq` is never reused, and each names its
//! target by slot *and* incarnation. Cancelling removes the entry; and even an entry that
//! somehow outlived its target could not act on a new room or session that reuses the slot,
//! because the incarnation would not match.
//!
//! # Layout
//!
//! A hashed timing wheel that still fires in exact `(deadline, seq)` order:
//!
//! - `wheel`: `n` unsorted buckets of `2^shift` ms each, spanning 2^24 ms (4.66 h, more than
//!   ZIM's 3 h destroy-delay maximum). Arming appends to a bucket: O(1). Buckets are coarse
//!   (at most 1,024 of 16.4 s) on purpose: arming scatters writes over the buckets' tails,
//!   and a few hundred hot tails stay in cache where 65,536 would not (measured: 3x slower).
//! - `due`: the entries of the *current* bucket — the earliest one holding a pending timer —
//!   sorted by key. A bucket is sorted only when it becomes current, so each fired timer pays
//!   a share of one sort; a counting pass first splits the bucket into 64 sub-ranges of
//!   deadline, so that sort is of short runs. The bucket's own vector becomes `due` (no
//!   copy). The front of `due` is the earliest pending timer, unless `spill` holds an
//!   earlier one.
//! - `spill`: an ordered map for the rare entries outside the wheel's span (a reconnect grace
//!   configured longer than the span, or a timer armed more than a span before the current
//!   bucket). Exact, O(log n).
//! - `live`: a bitset over recent sequence numbers saying which are pending. Cancelling
//!   clears one bit — no search — and leaves the entry in its bucket as a *stale* one, dropped
//!   when its bucket comes up. Stale entries are swept as soon as they outnumber the pending
//!   ones (plus a constant), so memory stays proportional to what is pending.
//!
//! The wheel grows and shrinks with the number pending (64..=1,024 buckets), so an idle
//! engine pays for 64 bucket headers. Nothing here iterates a hash map; the layout depends
//! only on the sequence of calls, and equality, `Debug` and serialization see only the
//! pending set in `(deadline, seq)` order, so two tables with the same pending timers compare
//! equal and serialize identically whatever their internal layout.

use crate::time::Millis;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// An empty room's destroy delay ran out.
    DestroyRoom {
        /// Room slot.
        slot: u32,
        /// The room's incarnation when the timer was armed.
        incarnation: u64,
    },
    /// A lost session's reconnect grace ran out.
    ReconnectGrace {
        /// Session slot.
        slot: u32,
        /// The session's incarnation when the timer was armed.
        incarnation: u64,
    },
    /// A large room's member batch window closed: its coalesced changes go out.
    MemberBatch {
        /// Room slot.
        slot: u32,
        /// The room's incarnation when the timer was armed.
        incarnation: u64,
    },
}

/// Handle of a pending timer, kept by its owner to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerKey {
    /// When it fires.
    pub deadline: Millis,
    /// Arming order; never reused.
    pub seq: u64,
}

/// log2 of the wheel's span in ms (2^24 ms = 4.66 h).
const SPAN_LOG2: u32 = 24;
/// log2 of the fewest buckets (64; each then 262 s wide).
const MIN_BUCKETS_LOG2: u32 = 6;
/// log2 of the most buckets (1,024; each then 16.4 s wide). See the module docs for why not
/// more.
const MAX_BUCKETS_LOG2: u32 = 10;
/// The wheel doubles past this many pending timers per bucket on average.
const GROW_LOAD: usize = 8;
/// Stale entries allowed beyond the number pending (and the bucket count) before a sweep.
const COMPACT_SLACK: usize = 1024;
/// Words of the live-seq window allowed beyond one per pending timer (see `LiveSeqs::trim`).
const WINDOW_SLACK_WORDS: usize = 1024;

/// One armed timer as stored in the wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: TimerKey,
    kind: TimerKind,
}

impl Entry {
    /// The absolute bucket number of this entry for buckets of `2^shift` ms.
    fn bucket(&self, shift: u32) -> u64 {
        self.key.deadline.0 >> shift
    }

    /// The key as one number, in the same order (one comparison instead of two).
    fn rank(&self) -> u128 {
        (u128::from(self.key.deadline.0) << 64) | u128::from(self.key.seq)
    }
}

/// The engine's pending timers: arm and cancel in O(1), pop in `(deadline, seq)` order.
/// See the module docs for the layout.
///
/// Invariants kept by every method:
/// 1. every pending timer is in exactly one of `due`, `wheel`, `spill`;
/// 2. `due` holds only entries of bucket `cursor`, sorted by key, and its front (if any) is
///    pending;
/// 3. pending entries in `wheel` have a bucket number after `cursor`;
/// 4. if `due` is empty the wheel holds no entry at all (`settle` moves on to the next
///    occupied bucket eagerly), so the earliest pending timer is the smaller of `due`'s front
///    and `spill`'s first.
#[derive(Clone)]
pub struct Timers {
    /// Pending timers.
    len: usize,
    /// The next `seq` to hand out.
    next_seq: u64,
    /// Which sequence numbers are pending.
    live: LiveSeqs,
    /// Entries in `due` and `wheel` that are no longer pending.
    stale: usize,
    /// log2 of a bucket's width in ms.
    shift: u32,
    /// The bucket number `due` holds.
    cursor: u64,
    due: Due,
    /// A power-of-two number of buckets; bucket number `b` lives at `b mod n`.
    wheel: Vec<Vec<Entry>>,
    /// One bit per bucket: set iff the bucket holds an entry (pending or stale).
    occupied: Vec<u64>,
    spill: BTreeMap<TimerKey, TimerKind>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers::with_buckets_log2(MIN_BUCKETS_LOG2)
    }
}

impl Timers {
    fn with_buckets_log2(log2: u32) -> Timers {
        let n = 1usize << log2;
        Timers {
            len: 0,
            next_seq: 0,
            live: LiveSeqs::default(),
            stale: 0,
            shift: SPAN_LOG2 - log2,
            cursor: 0,
            due: Due::default(),
            wheel: vec![Vec::new(); n],
            occupied: vec![0; n / 64],
            spill: BTreeMap::new(),
        }
    }

    /// Arms a timer firing at `deadline`; the returned key cancels it.
    pub fn arm(&mut self, deadline: Millis, kind: TimerKind) -> TimerKey {
        let key = TimerKey {
            deadline,
            seq: self.next_seq,
        };
        // The engine refuses snapshots with counters above u64::MAX / 2 and adds one per
        // timer, so this cannot overflow.
        self.next_seq += 1;
        self.live.insert(key.seq);
        self.len += 1;
        self.place(Entry { key, kind });
        if self.len > GROW_LOAD * self.wheel.len() {
            self.resize();
        }
        key
    }

    /// Cancels a pending timer; does nothing if it already fired or was cancelled. `key` must
    /// be one that [`Timers::arm`] returned (the engine's owners hold only such keys).
    pub fn cancel(&mut self, key: TimerKey) {
        debug_assert!(
            !self.live.contains(key.seq) || self.get(key).is_some(),
            "cancel with a key arm did not return: {key:?}"
        );
        if !self.live.remove(key.seq) {
            return;
        }
        self.len -= 1;
        if !self.spill.is_empty() && self.spill.remove(&key).is_some() {
            self.maybe_shrink();
            return;
        }
        self.stale += 1;
        if self.due.front().is_some_and(|e| e.key.seq == key.seq) {
            self.settle();
        }
        if self.stale > self.len + self.wheel.len() + COMPACT_SLACK {
            self.compact();
        }
        self.maybe_shrink();
    }

    /// The earliest pending timer.
    #[must_use]
    pub fn next(&self) -> Option<(TimerKey, TimerKind)> {
        self.peek().map(|(key, kind, _)| (key, kind))
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<(TimerKey, TimerKind)> {
        loop {
            let (key, _, from_spill) = self.peek()?;
            if key.deadline > now {
                return None;
            }
            let entry = if from_spill {
                self.spill
                    .pop_first()
                    .map(|(key, kind)| Entry { key, kind })?
            } else {
                self.due.pop_front()?
            };
            if !self.live.remove(entry.key.seq) {
                // Only a stale entry can fail this; `settle` keeps them off the front, so
                // this is defence in depth.
                if !from_spill {
                    self.stale = self.stale.saturating_sub(1);
                }
                continue;
            }
            self.len -= 1;
            if !from_spill {
                self.settle();
            }
            self.maybe_shrink();
            return Some((entry.key, entry.kind));
        }
    }

    /// What the pending timer with this key does, if it is pending.
    #[must_use]
    pub fn get(&self, key: TimerKey) -> Option<TimerKind> {
        if !self.live.contains(key.seq) {
            return None;
        }
        if let Some(kind) = self.spill.get(&key) {
            return Some(*kind);
        }
        let bucket = key.deadline.0 >> self.shift;
        if bucket == self.cursor {
            let due = self.due.slice();
            if let Ok(i) = due.binary_search_by(|e| e.key.cmp(&key)) {
                return due.get(i).map(|e| e.kind);
            }
        }
        self.wheel
            .get(self.index(bucket))?
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.kind)
    }

    /// Pending timers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pending timers in `(deadline, seq)` order. Sorts a copy of the references: meant
    /// for snapshots and checks, not for hot paths.
    pub fn iter(&self) -> impl Iterator<Item = (&TimerKey, &TimerKind)> {
        let live = &self.live;
        let mut all: Vec<(&TimerKey, &TimerKind)> = self
            .due
            .iter()
            .chain(self.wheel.iter().flatten())
            .filter(|e| live.contains(e.key.seq))
            .map(|e| (&e.key, &e.kind))
            .chain(self.spill.iter().filter(|(k, _)| live.contains(k.seq)))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// The `seq` the next armed timer will get; every key handed out so far is below it.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    // ---- placement -----------------------------------------------------------------------

    fn index(&self, bucket: u64) -> usize {
        // The mask keeps the value below the bucket count, a usize.
        (bucket & (self.wheel.len() as u64 - 1)) as usize
    }

    /// Puts a pending entry where invariants 1-4 want it.
    fn place(&mut self, e: Entry) {
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

    fn push_wheel(&mut self, bucket: u64, e: Entry) {
        let i = self.index(bucket);
        self.wheel[i].push(e);
        self.occupied[i / 64] |= 1 << (i % 64);
    }

    /// A timer earlier than the current bucket (but within a span of it): the current
    /// bucket's entries go back to the wheel and the new one's bucket becomes current. Costs
    /// one bucket's entries; with `due` non-empty this only happens when the earliest
    /// pending timer is later than the new one.
    fn rewind(&mut self, bucket: u64, e: Entry) {
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
    fn settle(&mut self) {
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
    fn advance(&mut self) -> bool {
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
    fn next_occupied(&self) -> Option<u64> {
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
    fn load(&mut self, bucket: u64) {
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
    fn pull_spill(&mut self) -> bool {
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
    fn compact(&mut self) {
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

    fn maybe_shrink(&mut self) {
        if self.wheel.len() > 1 << MIN_BUCKETS_LOG2 && self.len * 2 < self.wheel.len() {
            self.resize();
        }
    }

    /// Rebuilds the wheel with about one bucket per two pending timers (within bounds).
    /// Doubling on growth and halving only below one timer per two buckets make this
    /// amortized O(1) per call.
    fn resize(&mut self) {
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
    fn place_all(&mut self, mut entries: Vec<Entry>) {
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
    fn peek(&self) -> Option<(TimerKey, TimerKind, bool)> {
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
    fn restore(mut pending: Vec<(TimerKey, TimerKind)>, next_seq: u64) -> Result<Timers, String> {
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
    fn footprint(&self) -> (usize, usize) {
        let stored = self.due.slice().len() + self.wheel.iter().map(Vec::len).sum::<usize>();
        (stored + self.spill.len(), self.live.words.len())
    }
}

/// Sorts the pending entries of bucket number `bucket` (each `2^shift` ms wide) by key. A
/// counting pass first splits them into 64 sub-ranges of deadline (using `spare` as the
/// scatter buffer), so only short runs are left to sort: cheaper than one big sort.
fn sort_bucket(
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
struct Due {
    v: Vec<Entry>,
    head: usize,
}

impl Due {
    fn slice(&self) -> &[Entry] {
        self.v.get(self.head..).unwrap_or(&[])
    }

    fn front(&self) -> Option<&Entry> {
        self.v.get(self.head)
    }

    fn pop_front(&mut self) -> Option<Entry> {
        let e = *self.v.get(self.head)?;
        self.head += 1;
        if self.head == self.v.len() {
            self.v.clear();
            self.head = 0;
        }
        Some(e)
    }

    fn is_empty(&self) -> bool {
        self.head >= self.v.len()
    }

    fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.slice().iter()
    }

    fn push_back(&mut self, e: Entry) {
        self.v.push(e);
    }

    fn insert_sorted(&mut self, e: Entry) {
        let pos = self.head + self.slice().partition_point(|d| d.key < e.key);
        self.v.insert(pos, e);
    }

    fn sort(&mut self) {
        if let Some(rest) = self.v.get_mut(self.head..) {
            rest.sort_unstable_by_key(Entry::rank);
        }
    }

    fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        self.v.drain(..self.head);
        self.head = 0;
        self.v.retain(keep);
    }

    /// Takes the entries out, leaving it empty.
    fn take(&mut self) -> Vec<Entry> {
        let mut v = std::mem::take(&mut self.v);
        v.drain(..self.head);
        self.head = 0;
        v
    }

    /// Makes `v` the entries; returns the old buffer.
    fn replace(&mut self, v: Vec<Entry>) -> Vec<Entry> {
        self.head = 0;
        std::mem::replace(&mut self.v, v)
    }
}

impl PartialEq for Timers {
    /// Same pending timers and the same next seq; the internal layout does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.next_seq == other.next_seq && self.iter().eq(other.iter())
    }
}

impl Eq for Timers {}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("pending", &self.iter().collect::<Vec<_>>())
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

/// The snapshot form: `{"pending": [[key, kind], ...], "next_seq": n}`, pending in
/// `(deadline, seq)` order (a list: JSON maps need string keys).
#[derive(Serialize)]
struct ReprOut<'a> {
    pending: Vec<(&'a TimerKey, &'a TimerKind)>,
    next_seq: u64,
}

#[derive(Deserialize)]
struct ReprIn {
    pending: Vec<(TimerKey, TimerKind)>,
    next_seq: u64,
}

impl Serialize for Timers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ReprOut {
            pending: self.iter().collect(),
            next_seq: self.next_seq,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Timers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = ReprIn::deserialize(d)?;
        Timers::restore(repr.pending, repr.next_seq).map_err(serde::de::Error::custom)
    }
}

/// Which sequence numbers are pending: one bit per seq over a window of recent ones, and an
/// ordered set for the few pending ones older than the window.
///
/// The window `[base, base + 64 * words.len())` drops whole zero words at its front as timers
/// end. A long-lived timer would pin the front while new seqs keep coming, so `trim` moves
/// the front word's pending seqs into `old` whenever the window has more words than pending
/// seqs in it plus a constant: at most 8 bytes per pending timer plus 8 KiB, whatever the
/// history. Each seq moves at most once, so that is amortized O(1) too.
#[derive(Debug, Clone, Default)]
struct LiveSeqs {
    base: u64,
    words: Words,
    /// Set bits in `words`.
    in_window: usize,
    /// Pending seqs not in the window (older ones; or, from a corrupt snapshot, far newer).
    old: BTreeSet<u64>,
}

impl LiveSeqs {
    fn from_sorted(seqs: &[u64], next_seq: u64) -> LiveSeqs {
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

    /// Word index and bit of `seq` if it is inside the window.
    fn locate(&self, seq: u64) -> Option<(usize, u64)> {
        let offset = seq.checked_sub(self.base)?;
        let word = usize::try_from(offset / 64).ok()?;
        (word < self.words.len()).then_some((word, 1 << (offset % 64)))
    }

    fn insert(&mut self, seq: u64) {
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

    fn contains(&self, seq: u64) -> bool {
        if let Some((word, bit)) = self.locate(seq) {
            if self.words[word] & bit != 0 {
                return true;
            }
        }
        !self.old.is_empty() && self.old.contains(&seq)
    }

    /// Clears `seq`; returns whether it was pending.
    fn remove(&mut self, seq: u64) -> bool {
        if let Some((word, bit)) = self.locate(seq) {
            if self.words[word] & bit != 0 {
                self.words[word] &= !bit;
                self.in_window -= 1;
                while self.words.front() == Some(&0) {
                    self.words.pop_front();
                    self.base += 64;
                }
                return true;
            }
        }
        !self.old.is_empty() && self.old.remove(&seq)
    }

    /// Keeps the window dense: see the type's docs.
    fn trim(&mut self) {
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

/// A queue of words that is a plain vector read from `head` on: indexing is one addition
/// (no ring arithmetic) on the hot path of every liveness check. The consumed front is
/// dropped once it is at least half of the vector, so it costs O(1) amortized.
#[derive(Debug, Clone, Default)]
struct Words {
    v: Vec<u64>,
    head: usize,
}

impl Words {
    fn len(&self) -> usize {
        self.v.len() - self.head
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn front(&self) -> Option<&u64> {
        self.v.get(self.head)
    }

    fn pop_front(&mut self) -> Option<u64> {
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
    fn index(&self, i: usize) -> &u64 {
        &self.v[self.head + i]
    }
}

impl std::ops::IndexMut<usize> for Words {
    fn index_mut(&mut self, i: usize) -> &mut u64 {
        &mut self.v[self.head + i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: a tiny seeded generator, so every run checks the same sequences.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    const HOUR: u64 = 3_600_000;

    fn kind(i: u64) -> TimerKind {
        if i.is_multiple_of(2) {
            TimerKind::DestroyRoom {
                slot: (i % 1000) as u32,
                incarnation: i,
            }
        } else {
            TimerKind::ReconnectGrace {
                slot: (i % 777) as u32,
                incarnation: i.wrapping_mul(3),
            }
        }
    }

    /// How far ahead of `now` a random timer goes, per profile.
    fn delay(rng: &mut Rng, profile: u64, now: u64) -> u64 {
        match profile {
            // Seconds: all in one or two buckets of a small wheel.
            0 => rng.below(10_000),
            // The engine's real range: up to ZIM's 3 h.
            1 => rng.below(3 * HOUR),
            // Mixed: near, 3 h, beyond the wheel's span, and next to u64::MAX.
            2 => match rng.below(10) {
                0 => rng.below(30 * 24 * HOUR),
                1 => (u64::MAX - now).saturating_sub(rng.below(3)),
                2..=5 => rng.below(1000),
                _ => rng.below(3 * HOUR),
            },
            // Few distinct deadlines: long runs of equal keys but for seq.
            _ => 1000 * rng.below(4),
        }
    }

    /// The table and a `BTreeMap` model fed the same random calls, compared after each.
    struct Check {
        t: Timers,
        model: BTreeMap<TimerKey, TimerKind>,
        keys: Vec<TimerKey>,
        gone: Vec<TimerKey>,
        now: u64,
        rng: Rng,
        profile: u64,
    }

    impl Check {
        fn new(seed: u64, profile: u64) -> Check {
            Check {
                t: Timers::default(),
                model: BTreeMap::new(),
                keys: Vec::new(),
                gone: Vec::new(),
                now: 0,
                rng: Rng(seed),
                profile,
            }
        }

        fn arm(&mut self) {
            let mut deadline =
                self.now
                    .saturating_add(delay(&mut self.rng, self.profile, self.now));
            if self.rng.chance(3) {
                // Before now: the table must take it and fire it at the next pop.
                deadline = self.now.saturating_sub(self.rng.below(HOUR));
            }
            let k = kind(self.rng.next());
            let key = self.t.arm(Millis(deadline), k);
            assert_eq!(key.seq, self.model.len() as u64 + self.gone.len() as u64);
            self.model.insert(key, k);
            self.keys.push(key);
        }

        fn cancel(&mut self) {
            if self.keys.is_empty() {
                return;
            }
            let i = self.rng.below(self.keys.len() as u64) as usize;
            let key = self.keys.swap_remove(i);
            self.t.cancel(key);
            self.model.remove(&key);
            self.gone.push(key);
        }

        fn cancel_gone(&mut self) {
            if let Some(&key) = self
                .gone
                .get(self.rng.below(self.gone.len() as u64) as usize)
            {
                self.t.cancel(key);
            }
        }

        fn advance(&mut self) {
            let step = match self.rng.below(20) {
                0 => self.rng.below(10 * HOUR),
                1 => u64::MAX,
                _ => self.rng.below(2000),
            };
            self.now = self.now.saturating_add(step);
            while let Some((key, k)) = self.t.pop_due(Millis(self.now)) {
                let expected = self.model.pop_first();
                assert_eq!(Some((key, k)), expected, "fired out of order");
                assert!(key.deadline.0 <= self.now);
                self.keys.retain(|x| *x != key);
                self.gone.push(key);
            }
            if let Some((first, _)) = self.model.first_key_value() {
                assert!(first.deadline.0 > self.now, "a due timer did not fire");
            }
        }

        fn compare(&mut self) {
            assert_eq!(self.t.len(), self.model.len());
            assert_eq!(self.t.is_empty(), self.model.is_empty());
            assert_eq!(
                self.t.next(),
                self.model.first_key_value().map(|(k, v)| (*k, *v))
            );
            for _ in 0..3 {
                if let Some(&key) = self
                    .keys
                    .get(self.rng.below(self.keys.len() as u64) as usize)
                {
                    assert_eq!(self.t.get(key), self.model.get(&key).copied());
                }
                if let Some(&key) = self
                    .gone
                    .get(self.rng.below(self.gone.len() as u64) as usize)
                {
                    assert_eq!(self.t.get(key), None);
                }
            }
            self.check_bounds();
        }

        fn compare_all(&mut self) {
            let all: Vec<_> = self.t.iter().map(|(k, v)| (*k, *v)).collect();
            let expected: Vec<_> = self.model.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(all, expected);
            assert!(all.iter().all(|(k, _)| k.seq < self.t.next_seq()));
            // A snapshot restores to an equal table with the same snapshot; go on with it.
            let json = serde_json::to_string(&self.t).unwrap();
            let back: Timers = serde_json::from_str(&json).unwrap();
            assert_eq!(back, self.t);
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
            if self.rng.chance(50) {
                self.t = back;
            }
        }

        fn check_bounds(&self) {
            let (stored, words) = self.t.footprint();
            let len = self.t.len();
            assert!(
                stored <= 2 * len + self.t.wheel.len() + COMPACT_SLACK + 1,
                "stale entries unbounded: {stored} stored for {len}"
            );
            assert!(words <= self.t.live.in_window + WINDOW_SLACK_WORDS + 1);
            assert!(self.t.live.in_window + self.t.live.old.len() == len);
            let n = self.t.wheel.len();
            assert!(
                n.is_power_of_two() && (1 << MIN_BUCKETS_LOG2..=1 << MAX_BUCKETS_LOG2).contains(&n)
            );
            assert!(len <= GROW_LOAD * n || n == 1 << MAX_BUCKETS_LOG2);
        }

        fn run(&mut self, steps: usize) {
            for step in 0..steps {
                match self.rng.below(100) {
                    0..=44 => self.arm(),
                    45..=69 => self.cancel(),
                    70..=74 => self.cancel_gone(),
                    _ => self.advance(),
                }
                self.compare();
                if step % 997 == 0 {
                    self.compare_all();
                }
            }
            self.compare_all();
        }
    }

    #[test]
    fn matches_an_ordered_map_under_random_calls() {
        for profile in 0..4 {
            for seed in 0..6 {
                Check::new(seed * 31 + profile, profile).run(4000);
            }
        }
    }

    #[test]
    fn matches_an_ordered_map_through_growth_and_shrinking() {
        // Bursts of arms grow the wheel past its minimum; mass cancels and pops shrink it.
        for profile in [1, 2] {
            let mut c = Check::new(7 + profile, profile);
            for _ in 0..3 {
                for _ in 0..6000 {
                    c.arm();
                }
                c.compare_all();
                assert!(c.t.wheel.len() > 1 << MIN_BUCKETS_LOG2, "the wheel grew");
                for _ in 0..5000 {
                    c.cancel();
                }
                c.compare();
                c.run(3000);
                c.now = c.now.saturating_add(4 * HOUR);
                c.advance();
                c.compare_all();
            }
            while !c.keys.is_empty() {
                c.cancel();
            }
            c.compare();
            assert_eq!(
                c.t.wheel.len(),
                1 << MIN_BUCKETS_LOG2,
                "the wheel shrank back"
            );
        }
    }

    #[test]
    fn equal_deadlines_fire_in_arming_order() {
        let mut t = Timers::default();
        let keys: Vec<_> = (0..100).map(|i| t.arm(Millis(500), kind(i))).collect();
        t.cancel(keys[3]);
        let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(Millis(500)))
            .map(|(k, _)| k)
            .collect();
        let expected: Vec<_> = keys.iter().copied().filter(|k| *k != keys[3]).collect();
        assert_eq!(fired, expected);
        assert!(t.is_empty());
    }

    #[test]
    fn nothing_fires_early_and_an_earlier_arm_goes_first() {
        let mut t = Timers::default();
        let late = t.arm(Millis(3 * HOUR), kind(0));
        assert_eq!(t.pop_due(Millis(3 * HOUR - 1)), None);
        // Earlier than the current bucket: the wheel rewinds to it.
        let early = t.arm(Millis(60_000), kind(1));
        let far = t.arm(Millis(40 * 24 * HOUR), kind(2));
        assert_eq!(t.next().map(|(k, _)| k), Some(early));
        assert_eq!(t.pop_due(Millis(59_999)), None);
        assert_eq!(t.pop_due(Millis(60_000)).map(|(k, _)| k), Some(early));
        assert_eq!(t.pop_due(Millis(u64::MAX)).map(|(k, _)| k), Some(late));
        assert_eq!(t.pop_due(Millis(u64::MAX)).map(|(k, _)| k), Some(far));
        assert_eq!(t.pop_due(Millis(u64::MAX)), None);
    }

    #[test]
    fn cancelling_twice_or_after_firing_changes_nothing() {
        let mut t = Timers::default();
        let a = t.arm(Millis(10), kind(0));
        let b = t.arm(Millis(20), kind(1));
        let c = t.arm(Millis(30), kind(2));
        t.cancel(b);
        t.cancel(b);
        assert_eq!(t.pop_due(Millis(10)), Some((a, kind(0))));
        t.cancel(a);
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(a), None);
        assert_eq!(t.get(b), None);
        assert_eq!(t.get(c), Some(kind(2)));
        assert_eq!(t.next(), Some((c, kind(2))));
        assert_eq!(t.next_seq(), 3);
    }

    #[test]
    fn deadlines_at_the_end_of_time_fire_in_order() {
        let mut t = Timers::default();
        let a = t.arm(Millis(u64::MAX), kind(0));
        let b = t.arm(Millis(u64::MAX - 1), kind(1));
        let c = t.arm(Millis(u64::MAX), kind(2));
        let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(Millis(u64::MAX)))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(fired, vec![b, a, c]);
    }

    #[test]
    fn the_snapshot_form_is_a_sorted_list_whatever_the_layout() {
        let mut t = Timers::default();
        let a = t.arm(Millis(2 * HOUR), kind(0));
        t.arm(Millis(5), kind(1));
        t.arm(Millis(40 * 24 * HOUR), kind(3));
        t.cancel(a);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"pending":[[{"deadline":5,"seq":1},{"kind":"reconnect_grace","slot":1,"incarnation":3}],"#,
                r#"[{"deadline":3456000000,"seq":2},{"kind":"reconnect_grace","slot":3,"incarnation":9}]],"#,
                r#""next_seq":3}"#
            )
        );
        // The same pending set reached another way (restored: a fresh wheel, no stale
        // entries) is equal and serializes identically.
        let restored: Timers = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, t);
        assert_eq!(format!("{restored:?}"), format!("{t:?}"));
        assert_eq!(serde_json::to_string(&restored).unwrap(), json);
        // A different next_seq is a different table.
        let mut other = restored.clone();
        other.next_seq += 1;
        assert_ne!(other, t);
    }

    #[test]
    fn a_big_table_equals_its_restored_copy_after_heavy_churn() {
        let mut t = Timers::default();
        let mut rng = Rng(99);
        let mut keys = Vec::new();
        for i in 0..50_000 {
            keys.push(t.arm(Millis(rng.below(3 * HOUR)), kind(i)));
        }
        for key in keys.iter().step_by(2) {
            t.cancel(*key);
        }
        let restored: Timers = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(restored, t);
        let (stored, _) = t.footprint();
        let (stored_restored, _) = restored.footprint();
        assert!(
            stored > stored_restored,
            "the original still holds stale entries"
        );
        let mut a = t;
        let mut b = restored;
        for now in (0..=3 * HOUR).step_by(600_000) {
            loop {
                let (x, y) = (a.pop_due(Millis(now)), b.pop_due(Millis(now)));
                assert_eq!(x, y);
                if x.is_none() {
                    break;
                }
            }
        }
        assert!(a.is_empty() && b.is_empty());
    }

    #[test]
    fn restoring_collapses_identical_keys_and_refuses_a_shared_seq() {
        let k = |deadline, seq| TimerKey {
            deadline: Millis(deadline),
            seq,
        };
        let same = Timers::restore(vec![(k(5, 0), kind(0)), (k(5, 0), kind(1))], 1).unwrap();
        assert_eq!(same.len(), 1);
        assert_eq!(same.get(k(5, 0)), Some(kind(1)), "the last one wins");
        let err = Timers::restore(vec![(k(5, 0), kind(0)), (k(6, 0), kind(1))], 1).unwrap_err();
        assert!(err.contains("share seq 0"), "{err}");
        // A seq from the future is kept, for the engine's invariant check to see and refuse.
        let future = Timers::restore(vec![(k(5, 9), kind(0))], 1).unwrap();
        assert_eq!(future.iter().next().map(|(k, _)| k.seq), Some(9));
        assert_eq!(future.get(k(5, 9)), Some(kind(0)));
        // An ancient seq far below next_seq lands outside the window and still works.
        let mut old = Timers::restore(vec![(k(5, 3), kind(0))], u64::MAX / 2).unwrap();
        assert_eq!(old.get(k(5, 3)), Some(kind(0)));
        let fresh = old.arm(Millis(7), kind(1));
        old.cancel(k(5, 3));
        assert_eq!(old.len(), 1);
        assert_eq!(old.pop_due(Millis(10)).map(|(k, _)| k), Some(fresh));
    }

    #[test]
    fn a_long_lived_timer_does_not_pin_memory_under_churn() {
        let mut t = Timers::default();
        let long = t.arm(Millis(3 * HOUR), kind(0));
        let mut rng = Rng(5);
        for i in 0..300_000u64 {
            let key = t.arm(Millis(1000 + rng.below(HOUR)), kind(i));
            t.cancel(key);
            let (stored, words) = t.footprint();
            assert!(
                stored <= 2 + t.wheel.len() + COMPACT_SLACK + 1,
                "{stored} entries stored"
            );
            assert!(words <= WINDOW_SLACK_WORDS + 2, "{words} window words");
        }
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(long), Some(kind(0)));
        assert_eq!(t.pop_due(Millis(u64::MAX)), Some((long, kind(0))));
    }

    #[test]
    fn the_wheel_sweeps_stale_entries_of_a_cancelled_bucket() {
        let mut t = Timers::default();
        let keys: Vec<_> = (0..1000)
            .map(|i| t.arm(Millis(1000 + i), kind(i)))
            .collect();
        let last = t.arm(Millis(2 * HOUR), kind(7));
        for key in &keys {
            t.cancel(*key);
        }
        // Everything before `last` is gone, and `next` sees it at once.
        assert_eq!(t.next(), Some((last, kind(7))));
        let (stored, _) = t.footprint();
        assert!(stored < 1000, "{stored}");
    }

    /// The width of a bucket of the smallest wheel, in ms.
    const W: u64 = 1 << (SPAN_LOG2 - MIN_BUCKETS_LOG2);

    #[test]
    fn an_entry_of_a_later_lap_waits_for_its_own_turn() {
        let mut t = Timers::default();
        let a = t.arm(Millis(100 * W), kind(0));
        // 63 buckets after the current one: the last bucket of the span.
        let b = t.arm(Millis(163 * W), kind(1));
        // Ten buckets before the current one: the wheel rewinds, and `b` is now more than a
        // span ahead, sharing its bucket with bucket number 99.
        let c = t.arm(Millis(90 * W), kind(2));
        let d = t.arm(Millis(110 * W), kind(3));
        assert_eq!(t.cursor, 90);
        let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(Millis(u64::MAX)))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(fired, vec![c, a, d, b]);
    }

    #[test]
    fn spilled_entries_move_into_the_wheel_when_it_reaches_them() {
        let mut t = Timers::default();
        let a = t.arm(Millis(1000), kind(0));
        let b = t.arm(Millis(2 * HOUR), kind(1));
        let s = t.arm(Millis(5 * HOUR), kind(2));
        assert_eq!(t.spill.len(), 1, "beyond the span from the current bucket");
        assert_eq!(t.pop_due(Millis(1000)).map(|(k, _)| k), Some(a));
        assert!(t.spill.is_empty(), "pulled in when the wheel moved to 2 h");
        assert_eq!(t.get(s), Some(kind(2)));
        assert_eq!(t.pop_due(Millis(u64::MAX)).map(|(k, _)| k), Some(b));
        assert_eq!(t.pop_due(Millis(u64::MAX)).map(|(k, _)| k), Some(s));
    }

    #[test]
    fn the_wheel_grows_with_the_pending_count_and_shrinks_back() {
        let mut t = Timers::default();
        let mut rng = Rng(3);
        let keys: Vec<_> = (0..20_000)
            .map(|i| t.arm(Millis(rng.below(3 * HOUR)), kind(i)))
            .collect();
        assert_eq!(t.wheel.len(), 1 << MAX_BUCKETS_LOG2.min(12));
        for key in &keys[..19_900] {
            t.cancel(*key);
        }
        assert!(
            t.wheel.len() < 1 << MAX_BUCKETS_LOG2.min(12),
            "shrank on cancels"
        );
        let mut last = None;
        while let Some((key, _)) = t.pop_due(Millis(u64::MAX)) {
            assert!(Some(key) > last);
            last = Some(key);
        }
        assert_eq!(t.wheel.len(), 1 << MIN_BUCKETS_LOG2, "shrank on pops");
        assert_eq!(t.footprint().0, 0);
    }
}
