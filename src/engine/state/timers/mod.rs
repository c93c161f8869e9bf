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
//!   Entries are packed into 20 bytes (`entry.rs`) and buckets grow in fixed chunks
//!   (`bucket.rs`), so growing never copies a bucket and never leaves half of it unused.
//! - `due`: the entries of the *current* bucket — the earliest one holding a pending timer —
//!   sorted by key. A bucket is sorted only when it becomes current, so each fired timer pays
//!   a share of one sort: a single pass over the stored entries drops the stale ones and
//!   counts each pending one in one of about as many sub-ranges of deadline as are expected
//!   pending (`sort.rs`), so most sub-ranges hold zero or one entry and only the rest need
//!   a (comparison) sort. `due` is read from a cursor, so popping is an index bump. The
//!   front of `due` is the earliest pending timer, unless `spill` holds an earlier one; a
//!   count of the current bucket's cancels since it was loaded lets a pop skip the live
//!   bits of the next front while there were none.
//! - `spill`: an ordered map for the rare entries outside the wheel's span (a reconnect grace
//!   configured longer than the span, a timer armed more than a span before the current
//!   bucket, or one whose counters are too big to pack). Exact, O(log n).
//! - `live`: a bitset over recent sequence numbers saying which are pending. Cancelling
//!   clears one bit — no search, no threshold check — and leaves the entry in its bucket as
//!   a *stale* one, dropped when its bucket comes up. The next arm sweeps all stale entries
//!   once they outnumber the pending ones (plus a constant), so what is stored stays within
//!   twice the pending count at the last arm, plus a constant.
//!
//! The wheel grows and shrinks with the number pending (64..=1,024 buckets), so an idle
//! engine pays for 64 bucket headers. The counts that trigger growing, shrinking and
//! sweeping are worked out once per wheel size (`Limits`), so the check after each arm and
//! pop is three comparisons. Restoring a snapshot or resizing appends the first bucket's
//! entries unsorted and sorts them once: O(k) plus that sort, whatever the input order.
//! Nothing here iterates a hash map; the layout depends only on the sequence of calls, and equality, `Debug` and serialization see only the
//! pending set in `(deadline, seq)` order, so two tables with the same pending timers compare
//! equal and serialize identically whatever their internal layout.

use crate::time::Millis;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

mod bucket;
mod entry;
mod live;
#[cfg(test)]
mod packing_tests;
mod sort;
#[cfg(test)]
mod tests;
mod wheel;

use bucket::{Bucket, Pool};
use entry::Entry;
use live::LiveSeqs;
use wheel::Due;

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
    /// A ban ran out.
    BanExpiry {
        /// Ban slot.
        slot: u32,
        /// The ban's incarnation when the timer was armed.
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
///    and `spill`'s first;
/// 5. every entry in `due` and `wheel` has a deadline in `[base, base + 2^30)` for the
///    current bucket's start `base = cursor << shift`, and at most `high`: what its packed
///    deadline needs to be read back (see `entry.rs`).
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
    /// At least the number of stale entries in `due` (cancels of the current bucket since
    /// it was loaded): while it is zero, the front of `due` is pending without a look at
    /// the live bits.
    due_stale: usize,
    /// log2 of a bucket's width in ms.
    shift: u32,
    /// The bucket number `due` holds.
    cursor: u64,
    due: Due,
    /// The latest deadline placed in `due` or `wheel` since they were last empty.
    high: u64,
    /// A power-of-two number of buckets; bucket number `b` lives at `b mod n`.
    wheel: Vec<Bucket>,
    /// Emptied chunks for the buckets to reuse.
    pool: Pool,
    /// Scratch space for sorting a bucket that becomes current (kept to reuse).
    spare: Vec<Entry>,
    /// Scratch counters of that sort's counting pass (kept to reuse; at most
    /// `wheel::MAX_PARTS + 1`).
    counts: Vec<usize>,
    /// One bit per bucket: set iff the bucket holds an entry (pending or stale).
    occupied: Vec<u64>,
    spill: BTreeMap<TimerKey, TimerKind>,
    /// The pending counts that make `keep_small` act, fixed with the wheel's size.
    limits: Limits,
}

/// When to grow, shrink or sweep, worked out once per wheel size so that the check after
/// every arm and pop is three comparisons.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Grow when more are pending (never, at the largest size).
    grow_above: usize,
    /// Shrink when fewer are pending (never, at the smallest size).
    shrink_below: usize,
    /// Sweep when the stale entries outnumber the pending ones by more than this.
    sweep_slack: usize,
}

impl Limits {
    fn for_buckets_log2(log2: u32) -> Limits {
        let n = 1usize << log2;
        Limits {
            grow_above: if log2 < MAX_BUCKETS_LOG2 {
                GROW_LOAD * n
            } else {
                usize::MAX
            },
            shrink_below: if log2 > MIN_BUCKETS_LOG2 { n / 2 } else { 0 },
            sweep_slack: n + COMPACT_SLACK,
        }
    }
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
            due_stale: 0,
            shift: SPAN_LOG2 - log2,
            cursor: 0,
            due: Due::default(),
            high: 0,
            wheel: vec![Bucket::default(); n],
            pool: Pool::default(),
            spare: Vec::new(),
            counts: Vec::new(),
            occupied: vec![0; n / 64],
            spill: BTreeMap::new(),
            limits: Limits::for_buckets_log2(log2),
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
        self.place(key, kind);
        self.keep_small(true);
        key
    }

    /// Grows, sweeps or shrinks when a bound is crossed: one cold branch on the common path.
    /// Runs after every arm and pop, not on cancel (which stays a bit clear). Only an arm
    /// sweeps: stale entries are what cancels left behind, and arming is what adds to what
    /// is stored, so checking there bounds it (pops only take entries away, and a sweep
    /// while popping would rescan every bucket for entries that their own turn drops).
    #[inline]
    fn keep_small(&mut self, armed: bool) {
        let Limits {
            grow_above,
            shrink_below,
            sweep_slack,
        } = self.limits;
        // Only an arm adds to the pending count, so only an arm can cross `grow_above`.
        let resize = self.len < shrink_below || (armed && self.len > grow_above);
        let sweep = armed && self.stale > self.len + sweep_slack;
        if resize || sweep {
            self.rebalance(resize);
        }
    }

    #[cold]
    fn rebalance(&mut self, resize: bool) {
        if resize {
            // Rebuilding keeps only the pending entries: a sweep too.
            self.resize();
        } else {
            self.compact();
        }
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
            return;
        }
        self.stale += 1;
        // Only the current bucket's entries are in `due` (invariant 2).
        if key.deadline.0 >> self.shift == self.cursor {
            self.due_stale += 1;
            if self.due.front().is_some_and(|e| e.seq() == key.seq) {
                self.settle();
            }
        }
    }

    /// The earliest pending timer.
    #[must_use]
    pub fn next(&self) -> Option<(TimerKey, TimerKind)> {
        self.peek().map(|(key, kind, _)| (key, kind))
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<(TimerKey, TimerKind)> {
        // The common case: nothing spilled, so the front of `due` is the earliest timer
        // (invariant 4), and it is pending (invariant 2).
        if self.spill.is_empty() {
            let base = self.base();
            let e = *self.due.front()?;
            let deadline = e.deadline(base);
            if deadline > now.0 {
                return None;
            }
            let seq = e.seq();
            if self.live.remove(seq) {
                self.due.skip_front();
                return Some(self.popped(deadline, seq, e.kind()));
            }
        }
        self.pop_due_rest(now)
    }

    /// [`Timers::pop_due`] with spilled timers to merge (or a stale front, which the
    /// invariants rule out).
    #[inline(never)]
    fn pop_due_rest(&mut self, now: Millis) -> Option<(TimerKey, TimerKind)> {
        loop {
            let base = self.base();
            let front = self.due.front().copied();
            // The spill is empty on the common path: then the front of `due` is the earliest.
            let from_spill = match (front, self.spill.first_key_value()) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(e), Some((spilled, _))) => *spilled < e.key(base),
            };
            if from_spill {
                let (key, _) = self.spill.first_key_value()?;
                if key.deadline > now {
                    return None;
                }
                let (key, kind) = self.spill.pop_first()?;
                // Cancel removes spilled entries, so this holds unless the table is corrupt.
                if !self.live.remove(key.seq) {
                    continue;
                }
                self.len -= 1;
                self.keep_small(false);
                return Some((key, kind));
            }
            let e = front?;
            let deadline = e.deadline(base);
            if deadline > now.0 {
                return None;
            }
            self.due.skip_front();
            let seq = e.seq();
            if !self.live.remove(seq) {
                // Invariant 2 keeps stale entries off the front; this is defence in depth.
                self.stale = self.stale.saturating_sub(1);
                self.due_stale = self.due_stale.saturating_sub(1);
                self.settle();
                continue;
            }
            return Some(self.popped(deadline, seq, e.kind()));
        }
    }

    /// The pending front of `due` was just taken (its live bit cleared, the entry skipped):
    /// count it gone, settle the next front, and keep the table small.
    #[inline]
    fn popped(&mut self, deadline: u64, seq: u64, kind: TimerKind) -> (TimerKey, TimerKind) {
        self.len -= 1;
        self.settle();
        self.keep_small(false);
        let key = TimerKey {
            deadline: Millis(deadline),
            seq,
        };
        (key, kind)
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
        // Seqs are unique, so the seq finds the entry; the deadline says where to look.
        let bucket = key.deadline.0 >> self.shift;
        let base = self.base();
        if bucket == self.cursor {
            let due = self.due.slice();
            if let Ok(i) = due.binary_search_by(|e| e.key(base).cmp(&key)) {
                return due.get(i).map(Entry::kind);
            }
        }
        self.wheel
            .get(self.index(bucket))?
            .iter()
            .find(|e| e.seq() == key.seq && e.deadline(base) == key.deadline.0)
            .map(Entry::kind)
    }

    /// Pending timers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is pending. (Only the benches call it, through `bench-internals`.)
    #[must_use]
    #[cfg_attr(not(feature = "bench-internals"), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pending timers in `(deadline, seq)` order. Unpacks and sorts a copy: meant for
    /// snapshots and checks, not for hot paths.
    pub fn iter(&self) -> impl Iterator<Item = (TimerKey, TimerKind)> {
        let live = &self.live;
        let base = self.base();
        let mut all: Vec<(TimerKey, TimerKind)> = self
            .due
            .iter()
            .chain(self.wheel.iter().flat_map(Bucket::iter))
            .filter(|e| live.contains(e.seq()))
            .map(|e| (e.key(base), e.kind()))
            .chain(
                self.spill
                    .iter()
                    .filter(|(k, _)| live.contains(k.seq))
                    .map(|(k, v)| (*k, *v)),
            )
            .collect();
        all.sort_unstable_by_key(|a| a.0);
        all.into_iter()
    }

    /// The `seq` the next armed timer will get; every key handed out so far is below it.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next_seq
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
struct ReprOut {
    pending: Vec<(TimerKey, TimerKind)>,
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
