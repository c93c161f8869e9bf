//! The timer table at 1e6 pending timers with deadlines spread over 3 hours, compared in the
//! same run with a `BTreeMap<(deadline, id), kind>` and tokio-util's `DelayQueue` (on a
//! paused current-thread tokio runtime). Each phase is timed on its own, its setup untimed:
//!
//! - `insert`: arm 1e6 timers into an empty table;
//! - `cancel_half`: cancel a random half, visited in arming order;
//! - `cancel_half_shuffled`: the same half, visited in random order;
//! - `expire_jump`: with the other half pending, jump to the 3 h mark and pop everything;
//! - `expire_10ms_steps`: the same, moving the clock in 10 ms steps (1.08 million of them).
//!
//! Criterion's time is per phase; divide by the count in the id (or read the throughput,
//! in timers per second) for the cost of one. See BENCHMARKS.md.

mod common;

use common::{size, Rng};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use roomcore::bench_internals::{TimerKey, TimerKind, Timers};
use roomcore::Millis;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_util::time::{delay_queue, DelayQueue};

/// The bench's own stopwatch: a bench times itself (the core never reads a clock).
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn stopwatch() -> impl FnOnce() -> Duration {
    let start = std::time::Instant::now();
    move || start.elapsed()
}

const HORIZON_MS: u64 = 3 * 3_600_000;
const STEP_MS: u64 = 10;

/// The workload, fixed before timing.
struct Plan {
    deadlines: Vec<u64>,
    /// Indexes (arming order) of the timers to cancel: a random half.
    cancel: Vec<usize>,
    /// The same indexes in random order.
    cancel_shuffled: Vec<usize>,
}

impl Plan {
    fn new(n: usize) -> Plan {
        let mut rng = Rng::new(0x7133_7E55);
        let deadlines = (0..n).map(|_| rng.below(HORIZON_MS)).collect();
        let cancel: Vec<usize> = (0..n).filter(|_| rng.below(2) == 0).collect();
        let perm = rng.permutation(cancel.len());
        let cancel_shuffled = perm.iter().map(|&i| cancel[i as usize]).collect();
        Plan {
            deadlines,
            cancel,
            cancel_shuffled,
        }
    }
}

fn kind(i: usize) -> TimerKind {
    TimerKind::DestroyRoom {
        slot: i as u32,
        incarnation: i as u64,
    }
}

/// What each contender offers: arm, cancel, and pop everything due.
trait Table {
    type Key: Copy;
    fn make(rt: &Runtime) -> Self;
    fn insert(&mut self, rt: &Runtime, i: usize, deadline: u64) -> Self::Key;
    fn cancel(&mut self, key: Self::Key);
    /// Moves the clock to `now` (after `from`) and pops every due timer; returns how many.
    fn expire(&mut self, rt: &Runtime, from: u64, now: u64) -> usize;
}

impl Table for Timers {
    type Key = TimerKey;
    fn make(_: &Runtime) -> Self {
        Timers::default()
    }
    fn insert(&mut self, _: &Runtime, i: usize, deadline: u64) -> TimerKey {
        self.arm(Millis(deadline), kind(i))
    }
    fn cancel(&mut self, key: TimerKey) {
        Timers::cancel(self, key);
    }
    fn expire(&mut self, _: &Runtime, _: u64, now: u64) -> usize {
        let mut fired = 0;
        while let Some(t) = self.pop_due(Millis(now)) {
            black_box(t);
            fired += 1;
        }
        fired
    }
}

struct Ordered(BTreeMap<(u64, u64), TimerKind>, u64);

impl Table for Ordered {
    type Key = (u64, u64);
    fn make(_: &Runtime) -> Self {
        Ordered(BTreeMap::new(), 0)
    }
    fn insert(&mut self, _: &Runtime, i: usize, deadline: u64) -> (u64, u64) {
        let key = (deadline, self.1);
        self.1 += 1;
        self.0.insert(key, kind(i));
        key
    }
    fn cancel(&mut self, key: (u64, u64)) {
        black_box(self.0.remove(&key));
    }
    fn expire(&mut self, _: &Runtime, _: u64, now: u64) -> usize {
        let mut fired = 0;
        while let Some(entry) = self.0.first_entry() {
            if entry.key().0 > now {
                break;
            }
            black_box(entry.remove());
            fired += 1;
        }
        fired
    }
}

impl Table for DelayQueue<TimerKind> {
    type Key = delay_queue::Key;
    fn make(rt: &Runtime) -> Self {
        let _in_runtime = rt.enter();
        DelayQueue::new()
    }
    fn insert(&mut self, rt: &Runtime, i: usize, deadline: u64) -> delay_queue::Key {
        // The paused clock stands still while we insert, so relative == absolute here.
        let _in_runtime = rt.enter();
        DelayQueue::insert(self, kind(i), Duration::from_millis(deadline))
    }
    fn cancel(&mut self, key: delay_queue::Key) {
        black_box(self.remove(&key));
    }
    fn expire(&mut self, rt: &Runtime, from: u64, now: u64) -> usize {
        rt.block_on(tokio::time::advance(Duration::from_millis(now - from)));
        let _in_runtime = rt.enter();
        let mut cx = Context::from_waker(Waker::noop());
        let mut fired = 0;
        while let Poll::Ready(Some(t)) = self.poll_expired(&mut cx) {
            black_box(t);
            fired += 1;
        }
        fired
    }
}

/// A fresh table with every timer armed; the keys in arming order.
fn armed<T: Table>(rt: &Runtime, plan: &Plan) -> (T, Vec<T::Key>) {
    let mut t = T::make(rt);
    let keys = plan
        .deadlines
        .iter()
        .enumerate()
        .map(|(i, &d)| t.insert(rt, i, d))
        .collect();
    (t, keys)
}

/// A fresh table with the random half cancelled.
fn half<T: Table>(rt: &Runtime, plan: &Plan) -> T {
    let (mut t, keys) = armed::<T>(rt, plan);
    for &i in &plan.cancel {
        t.cancel(keys[i]);
    }
    t
}

fn insert<T: Table>(rt: &Runtime, plan: &Plan, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut t = T::make(rt);
        let mut keys = Vec::with_capacity(plan.deadlines.len());
        let elapsed = stopwatch();
        for (i, &d) in plan.deadlines.iter().enumerate() {
            keys.push(t.insert(rt, i, d));
        }
        total += elapsed();
        black_box(&keys);
    }
    total
}

fn cancel<T: Table>(rt: &Runtime, plan: &Plan, order: &[usize], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (mut t, keys) = armed::<T>(rt, plan);
        let elapsed = stopwatch();
        for &i in order {
            t.cancel(keys[i]);
        }
        total += elapsed();
        black_box(&mut t);
    }
    total
}

fn expire<T: Table>(rt: &Runtime, plan: &Plan, step: Option<u64>, iters: u64) -> Duration {
    let expected = plan.deadlines.len() - plan.cancel.len();
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut t = half::<T>(rt, plan);
        let elapsed = stopwatch();
        let fired = match step {
            None => t.expire(rt, 0, HORIZON_MS),
            Some(step) => {
                let mut fired = 0;
                let mut now = 0;
                while now < HORIZON_MS {
                    fired += t.expire(rt, now, now + step);
                    now += step;
                }
                fired
            }
        };
        total += elapsed();
        assert_eq!(fired, expected, "every pending timer fired once");
    }
    total
}

fn contender<T: Table>(c: &mut Criterion, rt: &Runtime, plan: &Plan, name: &str) {
    let n = plan.deadlines.len() as u64;
    let half_n = plan.cancel.len() as u64;
    let mut g = c.benchmark_group(format!("timers/{name}"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("insert", |b| {
        b.iter_custom(|iters| insert::<T>(rt, plan, iters))
    });
    g.throughput(Throughput::Elements(half_n));
    g.bench_function("cancel_half", |b| {
        b.iter_custom(|iters| cancel::<T>(rt, plan, &plan.cancel, iters))
    });
    g.bench_function("cancel_half_shuffled", |b| {
        b.iter_custom(|iters| cancel::<T>(rt, plan, &plan.cancel_shuffled, iters))
    });
    g.throughput(Throughput::Elements(n - half_n));
    g.bench_function("expire_jump", |b| {
        b.iter_custom(|iters| expire::<T>(rt, plan, None, iters))
    });
    g.bench_function("expire_10ms_steps", |b| {
        b.iter_custom(|iters| expire::<T>(rt, plan, Some(STEP_MS), iters))
    });
    g.finish();
}

fn timers(c: &mut Criterion) {
    let plan = Plan::new(size(1_000_000, 10_000));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    contender::<Timers>(c, &rt, &plan, "wheel");
    contender::<Ordered>(c, &rt, &plan, "btreemap");
    contender::<DelayQueue<TimerKind>>(c, &rt, &plan, "delay_queue");
}

criterion_group!(benches, timers);
criterion_main!(benches);
