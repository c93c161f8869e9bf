//! The timer table against an ordered map, under random and adversarial calls.

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

/// All four kinds; incarnations that pack, but one in 16 too big to (those spill).
fn kind(i: u64) -> TimerKind {
    let slot = (i % 1000) as u32;
    let incarnation = if i % 16 == 15 {
        i | 1 << 60
    } else {
        i.wrapping_mul(3) & ((1 << 48) - 1)
    };
    match i % 4 {
        0 => TimerKind::DestroyRoom { slot, incarnation },
        1 => TimerKind::ReconnectGrace { slot, incarnation },
        2 => TimerKind::MemberBatch { slot, incarnation },
        _ => TimerKind::BanExpiry { slot, incarnation },
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
    /// Pending timers after the last arm (or restore): what the table stores is bounded by
    /// it (cancels and pops do not sweep; pops only take entries away).
    mark: usize,
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
            mark: 0,
        }
    }

    fn arm(&mut self) {
        let mut deadline = self
            .now
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
        self.mark = self.t.len();
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
        let all: Vec<_> = self.t.iter().collect();
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
            self.mark = self.t.len();
        }
    }

    fn check_bounds(&self) {
        let (stored, words) = self.t.footprint();
        let len = self.t.len();
        assert!(
            stored <= 2 * self.mark + self.t.wheel.len() + COMPACT_SLACK + 1,
            "stale entries unbounded: {stored} stored for {len} ({} at the last arm)",
            self.mark
        );
        assert!(words <= self.t.live.in_window + WINDOW_SLACK_WORDS + 1);
        assert!(self.t.live.in_window + self.t.live.old.len() == len);
        let n = self.t.wheel.len();
        assert!(
            n.is_power_of_two() && (1 << MIN_BUCKETS_LOG2..=1 << MAX_BUCKETS_LOG2).contains(&n)
        );
        assert!(len <= GROW_LOAD * n || n == 1 << MAX_BUCKETS_LOG2);
        // The count that lets `settle` skip the live bits never falls short.
        let stale_in_due = self
            .t
            .due
            .iter()
            .filter(|e| !self.t.live.contains(e.seq()))
            .count();
        assert!(
            stale_in_due <= self.t.due_stale,
            "{stale_in_due} stale in due, {} counted",
            self.t.due_stale
        );
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
            r#"[{"deadline":3456000000,"seq":2},{"kind":"ban_expiry","slot":3,"incarnation":9}]],"#,
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
        // Two pending at the last arm: at most twice that plus the sweep's slack stored.
        assert!(
            stored <= 2 * 2 + t.wheel.len() + COMPACT_SLACK,
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
    assert_eq!(
        t.wheel.len(),
        1 << MAX_BUCKETS_LOG2.min(12),
        "cancel only clears a bit"
    );
    let extra = t.arm(Millis(4 * HOUR), kind(1));
    assert!(
        t.wheel.len() < 1 << MAX_BUCKETS_LOG2.min(12),
        "shrank on the next arm"
    );
    t.cancel(extra);
    let mut last = None;
    while let Some((key, _)) = t.pop_due(Millis(u64::MAX)) {
        assert!(Some(key) > last);
        last = Some(key);
    }
    assert_eq!(t.wheel.len(), 1 << MIN_BUCKETS_LOG2, "shrank on pops");
    assert_eq!(t.footprint().0, 0);
}

#[test]
fn restoring_many_timers_of_one_bucket_keeps_their_order() {
    // 100,000 timers within one second (one bucket whatever the wheel's size), their seqs
    // running against their deadlines so the restored list is far from arming order.
    let n: u64 = std::env::var("NN")
        .map(|s| s.parse().unwrap())
        .unwrap_or(100_000);
    let pending: Vec<(TimerKey, TimerKind)> = (0..n)
        .map(|i| {
            let key = TimerKey {
                deadline: Millis(5_000 + (n - 1 - i) / 100),
                seq: i,
            };
            (key, kind(i % 16 * 4))
        })
        .collect();
    let mut t = Timers::restore(pending.clone(), n).expect("distinct seqs");
    assert_eq!(t.len(), pending.len());
    let mut want = pending;
    want.sort_by_key(|p| p.0);
    assert!(t.iter().eq(want.iter().copied()));
    for expected in want {
        assert_eq!(t.pop_due(Millis(6_000)), Some(expected));
    }
    assert!(t.is_empty());
}

#[test]
fn the_bucket_sort_matches_a_comparison_sort() {
    let mut rng = Rng(11);
    let mut counts = Vec::new();
    let mut out = Vec::new();
    for round in 0..300u64 {
        // Every bucket width the wheel can have, from the largest wheel's to the smallest's.
        let shift = SPAN_LOG2 - MAX_BUCKETS_LOG2 + (round % 5) as u32;
        let width = 1u64 << shift;
        let base = (rng.below(1 << 20) << shift) + if round % 7 == 0 { 1 << 29 } else { 0 };
        let len = match round % 4 {
            0 => rng.below(70) as usize,
            1 => rng.below(3000) as usize,
            _ => rng.below(20_000) as usize,
        };
        // Some rounds crowd few deadlines (long equal runs), some spread them.
        let distinct = if round % 3 == 0 {
            1 + rng.below(4)
        } else {
            width
        };
        let spots: Vec<u64> = (0..distinct.min(64)).map(|_| rng.below(width)).collect();
        let entries: Vec<Entry> = (0..len as u64)
            .map(|i| {
                let offset = if distinct < width {
                    spots[rng.below(spots.len() as u64) as usize]
                } else {
                    rng.below(width)
                };
                // Seqs in arming order, reversed, or shuffled.
                let seq = match round % 3 {
                    0 => i,
                    1 => len as u64 - i,
                    _ => rng.below(1 << 48),
                };
                let key = TimerKey {
                    deadline: Millis(base + offset),
                    seq,
                };
                Entry::pack(key, kind(i * 4)).expect("packs")
            })
            .collect();
        sort::sort_bucket(&entries, &mut out, &mut counts, shift, base);
        let mut want = entries.clone();
        want.sort_by_key(|e| e.rank(base));
        let keys = |v: &[Entry]| v.iter().map(|e| e.key(base)).collect::<Vec<_>>();
        assert_eq!(keys(&out), keys(&want), "round {round}");
        assert_eq!(out, want, "the entries themselves, not only their keys");
        assert!(counts.len() <= (1 << sort::MAX_PARTS_LOG2) + 1);
    }
}

#[test]
fn stale_entries_at_and_after_the_front_are_skipped() {
    // One bucket, cancelled in patterns around the front of the sorted run: the front
    // itself, the next one, a run in the middle and the last one.
    for pattern in 0..4u64 {
        let mut t = Timers::default();
        let keys: Vec<TimerKey> = (0..500u64)
            .map(|i| t.arm(Millis(1_000 + (i * 7919) % 997), kind(i * 4)))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        let gone: Vec<TimerKey> = match pattern {
            0 => sorted[..3].to_vec(),
            1 => vec![sorted[1], sorted[2], sorted[499]],
            2 => sorted[100..400].to_vec(),
            _ => sorted.iter().step_by(2).copied().collect(),
        };
        // Pop a few first so the cursor is inside the run when the cancels come.
        let mut fired = Vec::new();
        for _ in 0..pattern {
            fired.extend(t.pop_due(Millis(u64::MAX)).map(|(k, _)| k));
        }
        for key in &gone {
            t.cancel(*key);
        }
        while let Some((key, _)) = t.pop_due(Millis(u64::MAX)) {
            fired.push(key);
        }
        let want: Vec<TimerKey> = sorted
            .iter()
            .enumerate()
            .filter(|&(i, k)| (i as u64) < pattern || !gone.contains(k))
            .map(|(_, k)| *k)
            .collect();
        assert_eq!(fired, want, "pattern {pattern}");
        assert_eq!(t.footprint().0, 0, "nothing left stored");
        assert_eq!(t.stale, 0);
    }
}

#[test]
fn the_size_limits_follow_the_wheel() {
    // What `keep_small` compares against, for each size: growth stops at the largest wheel
    // and shrinking at the smallest.
    for log2 in MIN_BUCKETS_LOG2..=MAX_BUCKETS_LOG2 {
        let t = Timers::with_buckets_log2(log2);
        let n = 1usize << log2;
        let l = t.limits;
        assert_eq!(l.sweep_slack, n + COMPACT_SLACK);
        if log2 == MAX_BUCKETS_LOG2 {
            assert_eq!(l.grow_above, usize::MAX);
        } else {
            assert_eq!(l.grow_above, GROW_LOAD * n);
        }
        if log2 == MIN_BUCKETS_LOG2 {
            assert_eq!(l.shrink_below, 0);
        } else {
            assert_eq!(l.shrink_below, n / 2);
        }
    }
}

#[test]
fn a_big_bucket_loads_in_order_with_stale_entries_and_a_seq_older_than_the_window() {
    let mut t = Timers::default();
    // Pending throughout and last to fire, while churn moves the live-seq window past it:
    // loading a bucket then has to ask the older seqs' set too.
    let long = t.arm(Millis(4 * HOUR), kind(0));
    for i in 0..70_000u64 {
        let key = t.arm(Millis(HOUR + i), kind(i * 4));
        t.cancel(key);
    }
    assert!(t.live.old.contains(&long.seq), "the window moved on");
    // One bucket of the smallest wheel, big enough to be split into parts, a third of it
    // cancelled; deadlines crowded so that parts hold several entries.
    let mut rng = Rng(17);
    let keys: Vec<TimerKey> = (0..600u64)
        .map(|i| t.arm(Millis(2 * W + rng.below(W / 8)), kind(i * 4)))
        .collect();
    for key in keys.iter().step_by(3) {
        t.cancel(*key);
    }
    let mut want: Vec<TimerKey> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, k)| *k)
        .collect();
    want.sort();
    want.push(long);
    let fired: Vec<TimerKey> = std::iter::from_fn(|| t.pop_due(Millis(u64::MAX)))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(fired, want);
    assert_eq!(t.footprint().0, 0, "nothing left stored");
}

#[test]
fn a_bucket_emptied_and_refilled_stays_marked_occupied() {
    // The occupied bit is set when a bucket takes a new chunk; a bucket swept down to a
    // count that is a multiple of the chunk size, then appended to, must still be found.
    let mut t = Timers::default();
    let first = t.arm(Millis(100), kind(0));
    let keys: Vec<TimerKey> = (0..2 * bucket::CHUNK as u64)
        .map(|i| t.arm(Millis(3 * W + i), kind(i * 4)))
        .collect();
    for key in &keys[bucket::CHUNK..] {
        t.cancel(*key);
    }
    t.compact();
    let extra = t.arm(Millis(3 * W + 5_000), kind(8));
    let fired: Vec<TimerKey> = std::iter::from_fn(|| t.pop_due(Millis(u64::MAX)))
        .map(|(k, _)| k)
        .collect();
    let mut want = vec![first];
    want.extend_from_slice(&keys[..bucket::CHUNK]);
    want.push(extra);
    assert_eq!(fired, want);
}
