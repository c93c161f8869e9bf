//! The 20-byte entries and the chunked buckets: every branch of packing, unpacking and
//! chunk reuse, and the table's fallbacks for what does not pack.

use super::bucket::{Bucket, Pool, CHUNK};
use super::entry::{Entry, DEADLINE_BITS};
use super::*;

const WIDE_MAX: u64 = (1 << 48) - 1;

fn all_kinds(slot: u32, incarnation: u64) -> [TimerKind; 4] {
    [
        TimerKind::DestroyRoom { slot, incarnation },
        TimerKind::ReconnectGrace { slot, incarnation },
        TimerKind::MemberBatch { slot, incarnation },
        TimerKind::BanExpiry { slot, incarnation },
    ]
}

fn key(deadline: u64, seq: u64) -> TimerKey {
    TimerKey {
        deadline: Millis(deadline),
        seq,
    }
}

#[test]
fn an_entry_is_20_bytes_without_padding() {
    assert_eq!(std::mem::size_of::<Entry>(), 20);
    assert_eq!(std::mem::size_of::<[Entry; CHUNK]>(), 20 * CHUNK);
}

#[test]
fn every_kind_round_trips_at_the_edges_of_its_fields() {
    let base = 5 << 40;
    for (slot, incarnation, seq) in [
        (0, 0, 0),
        (u32::MAX, WIDE_MAX, WIDE_MAX),
        (7, 1 << 32, (1 << 32) + 1),
        (1 << 31, 0xffff_0000_0000, 0xabcd_1234_5678),
    ] {
        for kind in all_kinds(slot, incarnation) {
            for offset in [0, 1, (1 << DEADLINE_BITS) - 1] {
                let k = key(base + offset, seq);
                let e = Entry::pack(k, kind).expect("fits");
                assert_eq!(e.seq(), seq);
                assert_eq!(e.kind(), kind);
                assert_eq!(e.offset(base), offset);
                assert_eq!(e.key(base), k);
            }
        }
    }
}

#[test]
fn a_seq_or_incarnation_beyond_48_bits_does_not_pack() {
    let [kind, ..] = all_kinds(1, 0);
    assert!(Entry::pack(key(10, WIDE_MAX + 1), kind).is_none());
    for kind in all_kinds(1, WIDE_MAX + 1) {
        assert!(Entry::pack(key(10, 3), kind).is_none());
    }
    assert!(Entry::pack(key(10, u64::MAX), all_kinds(1, u64::MAX)[3]).is_none());
}

#[test]
fn a_deadline_reads_back_across_a_wrap_of_its_low_bits() {
    let [kind, ..] = all_kinds(2, 9);
    // The base's low 30 bits are above the deadline's: the difference wraps.
    let base = (3 << DEADLINE_BITS) - 100;
    for deadline in [base, base + 99, base + 100, base + 5_000_000] {
        let e = Entry::pack(key(deadline, 1), kind).expect("fits");
        assert_eq!(e.deadline(base), deadline);
    }
    // Deadlines near the end of time, base in the same window.
    let base = u64::MAX - 1000;
    let e = Entry::pack(key(u64::MAX, 1), kind).expect("fits");
    assert_eq!(e.deadline(base), u64::MAX);
}

#[test]
fn rank_orders_by_deadline_then_seq() {
    let [kind, ..] = all_kinds(0, 0);
    let base = 1 << DEADLINE_BITS;
    let a = Entry::pack(key(base + 5, 9), kind).expect("fits");
    let b = Entry::pack(key(base + 5, 10), kind).expect("fits");
    let c = Entry::pack(key(base + 6, 0), kind).expect("fits");
    assert!(a.rank(base) < b.rank(base) && b.rank(base) < c.rank(base));
}

fn entry(i: u64) -> Entry {
    Entry::pack(key(i, i), all_kinds(i as u32, i)[(i % 4) as usize]).expect("fits")
}

#[test]
fn a_bucket_grows_chunk_by_chunk_and_keeps_order() {
    let mut pool = Pool::default();
    let mut b = Bucket::default();
    let n = 3 * CHUNK as u64 + 5;
    for i in 0..n {
        b.push(entry(i), &mut pool);
    }
    assert_eq!(b.len(), n as usize);
    assert!(b.iter().copied().eq((0..n).map(entry)));
    // Keep every third: compacted in order, freed chunks go to the pool.
    b.retain(|e| e.seq() % 3 == 0, &mut pool);
    assert!(b
        .iter()
        .copied()
        .eq((0..n).filter(|i| i % 3 == 0).map(entry)));
    assert_eq!(pool.len(), 2, "4 chunks held 197 entries, 2 hold 66");
    // A later push reuses a pooled chunk.
    b.clear(&mut pool);
    assert!(b.is_empty() && b.iter().next().is_none());
    assert_eq!(pool.len(), 4);
    b.push(entry(1), &mut pool);
    assert_eq!(pool.len(), 3);
    b.retain(|_| false, &mut pool);
    assert!(b.is_empty());
    assert_eq!(pool.len(), 4);
}

#[test]
fn the_pool_of_spare_chunks_is_bounded() {
    let mut pool = Pool::default();
    let mut b = Bucket::default();
    for i in 0..200 * CHUNK as u64 {
        b.push(entry(i), &mut pool);
    }
    b.clear(&mut pool);
    assert_eq!(pool.len(), 64, "the rest were freed");
}

#[test]
fn timers_with_counters_too_big_to_pack_spill_and_still_fire_in_order() {
    // A snapshot restored with a seq past 48 bits: every new timer spills.
    let mut t = Timers::restore(Vec::new(), 1 << 50).expect("valid");
    let late = t.arm(Millis(2000), all_kinds(1, 1)[0]);
    let early = t.arm(Millis(1000), all_kinds(2, 2)[1]);
    assert_eq!(t.spill.len(), 2);
    let mut small = Timers::default();
    let packed = small.arm(Millis(1500), all_kinds(3, 3)[2]);
    let big = small.arm(Millis(1200), all_kinds(4, 1 << 49)[3]);
    assert_eq!(small.spill.len(), 1, "the big incarnation spilled");
    assert_eq!(small.get(big), Some(all_kinds(4, 1 << 49)[3]));
    assert_eq!(small.pop_due(Millis(5000)).map(|(k, _)| k), Some(big));
    assert_eq!(small.pop_due(Millis(5000)).map(|(k, _)| k), Some(packed));
    assert_eq!(t.pop_due(Millis(5000)).map(|(k, _)| k), Some(early));
    t.cancel(late);
    assert_eq!(t.pop_due(Millis(u64::MAX)), None);
    assert!(t.is_empty() && t.spill.is_empty());
}

#[test]
fn a_spilled_timer_that_cannot_pack_stays_spilled_when_the_wheel_reaches_it() {
    let mut t = Timers::default();
    let first = t.arm(Millis(1000), all_kinds(0, 0)[0]);
    // Within the span, but its incarnation is too big: spilled, and pulling it into the
    // wheel later must leave it where it is.
    let big = t.arm(Millis(3_600_000), all_kinds(0, u64::MAX)[1]);
    let far = t.arm(Millis(6 * 3_600_000), all_kinds(0, 1)[2]);
    assert_eq!(t.spill.len(), 2);
    assert_eq!(t.pop_due(Millis(1000)).map(|(k, _)| k), Some(first));
    let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(Millis(u64::MAX)))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(fired, vec![big, far]);
}

#[test]
fn rewinds_that_would_outrun_a_packed_deadline_spill_instead() {
    const SPAN: u64 = 1 << SPAN_LOG2;
    let start = 1 << 40;
    let mut t = Timers::default();
    let mut keys = vec![t.arm(Millis(start), all_kinds(0, 0)[0])];
    keys.push(t.arm(Millis(start + SPAN - 1), all_kinds(0, 0)[1]));
    // Each new timer is half a span before the current bucket: the wheel rewinds while
    // the stored deadlines fit in 2^30 ms above the new bucket, then spills.
    for k in 1..200u64 {
        keys.push(t.arm(Millis(start - k * (SPAN / 2)), all_kinds(0, k)[2]));
    }
    assert!(!t.spill.is_empty(), "the last ones spilled");
    assert!(t.cursor << t.shift > start - (1 << DEADLINE_BITS));
    keys.sort();
    let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(Millis(u64::MAX)))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(fired, keys);
}
