//! Steady-state churn, each size measured right after its floor in the same run (see
//! BENCHMARKS.md):
//!
//! All of `churn/*` is one criterion group, so each size's floor, hand-written baseline and
//! roomcore figures come from the same run:
//!
//! - `churn/floor/N`: one insert and one remove on a hash map holding N inline 32-byte ids (the
//!   engine's own `RoomId`, hashed with foldhash as the engine's index is) — the cheapest
//!   possible "a member came, a member went" at that size;
//! - `churn/baseline_join_leave/N`, `churn/baseline_switch/N`: the same workloads on the
//!   registry a user would write by hand (`benches/common/naive.rs`: `HashMap<String,
//!   Vec<String>>` rooms, `HashMap<String, _>` sessions, one `String`-carrying event per
//!   recipient, the same events roomcore emits — checked before timing);
//! - `churn/join_leave/N`: N rooms of 8; a logged-in session joins a random room and the
//!   oldest member of another room leaves, all outputs delivered into a reused buffer;
//! - `churn/switch/N`: the same population; the oldest member of one room switches to a
//!   random other room;
//! - `churn/join_leave_handles/N`, `churn/switch_handles/N`: the same, into a buffer that
//!   keeps runs of recipients as session handles (`Outputs::with_handles`), as an embedder
//!   that routes by handle would: no recipient's id is read;
//! - `large_room/M`: join/leave churn inside one room of M members, the clock moving 1 ms a
//!   step; `large_room/8` is the small-room reference (exact events to the 7 others), and
//!   above `member_notify_threshold` (500) changes are coalesced into one delta per second,
//!   so 1e3..1e5 should cost about the same as 8; `large_room_naive/M` tells every change
//!   to every member one by one (the threshold off), for contrast;
//! - `reconnect_storm/1e5`: 100,000 sessions in rooms of 8 lose their link, 90% restore
//!   within the grace, the rest expire.
//!
//! In test mode (`cargo bench -- --test`) sizes are cut so each runs once, quickly.

mod common;

use common::naive::Naive;
use common::{room_id, session_id, size, Churn, LargeRoom, Rng};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use foldhash::fast::FixedState;
use roomcore::{Engine, Input, Millis, Outputs, RoomId};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [(&str, usize); 4] = [
    ("1e3", 1_000),
    ("1e4", 10_000),
    ("1e5", 100_000),
    ("1e6", 1_000_000),
];

/// The floor: a map of N ids; each step inserts the next id and removes the oldest. The
/// ids are built beforehand (a ring of 2N, read in order, so reading them costs next to
/// nothing): the floor is the hash map alone.
struct Floor {
    map: HashMap<RoomId, u32, FixedState>,
    ids: Vec<RoomId>,
    oldest: usize,
}

impl Floor {
    fn new(n: usize) -> Floor {
        let ids: Vec<RoomId> = (0..2 * n as u64).map(room_id).collect();
        let mut map = HashMap::with_hasher(FixedState::with_seed(0));
        for (i, id) in ids[..n].iter().enumerate() {
            map.insert(*id, i as u32);
        }
        Floor {
            map,
            ids,
            oldest: 0,
        }
    }

    fn step(&mut self) {
        let ring = self.ids.len();
        let new = (self.oldest + ring / 2) % ring;
        self.map.insert(self.ids[new], new as u32);
        black_box(self.map.remove(&self.ids[self.oldest]));
        self.oldest = (self.oldest + 1) % ring;
    }
}

/// What the engine benches spend outside the engine per join/leave pair: building the four
/// ids and the two inputs (`room_id`/`session_id` from a number, as `World::join`/`leave`
/// do). Subtract it from `churn/join_leave` for the engine's own cost.
fn harness_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness_overhead");
    let mut i = 0u64;
    g.bench_function("join_leave_inputs", |b| {
        b.iter(|| {
            i = i.wrapping_add(0x9E37_79B9);
            let join = Input::JoinRoom {
                session: session_id(i),
                request: i,
                room_id: room_id(i >> 3),
            };
            let leave = Input::LeaveRoom {
                session: session_id(i ^ 5),
                request: i + 1,
                room_id: room_id(i >> 4),
            };
            black_box((join, leave));
        });
    });
    g.finish();
}

/// The baseline emits what roomcore emits: the same number of events for every join, leave
/// and switch of the workload (checked before timing, on a small population, so a drift in
/// either shows up as a panic rather than as a flattering ratio).
fn check_same_events() {
    let mut engine = Churn::new(50);
    let mut handles = Churn::handles(50);
    let mut naive = Churn::naive(50);
    for _ in 0..200 {
        let events = naive.join_leave();
        assert_eq!(engine.join_leave(), events, "join/leave events");
        assert_eq!(handles.join_leave(), events, "join/leave events, handles");
        let events = naive.switch();
        assert_eq!(engine.switch(), events, "switch events");
        assert_eq!(handles.switch(), events, "switch events, handles");
    }
}

/// One group, so that at each size the floor, the hand-written baseline and roomcore read
/// side by side: `churn/{floor,baseline_join_leave,join_leave,baseline_switch,switch}/N`, and
/// the handle forms `churn/{join_leave,switch}_handles/N`.
/// Each population is built (untimed) just before its first figure and dropped after its
/// last, so at most one is in memory at a time.
fn churn(c: &mut Criterion) {
    check_same_events();
    let mut g = c.benchmark_group("churn");
    for (label, n) in SIZES {
        let n = size(n, 1_000);
        let mut floor: Option<Floor> = None;
        g.bench_function(BenchmarkId::new("floor", label), |b| {
            let f = floor.get_or_insert_with(|| Floor::new(n));
            b.iter(|| f.step());
        });
        drop(floor);
        let mut naive: Option<Churn<Naive>> = None;
        g.bench_function(BenchmarkId::new("baseline_join_leave", label), |b| {
            let w = naive.get_or_insert_with(|| Churn::naive(n));
            b.iter(|| w.join_leave());
        });
        g.bench_function(BenchmarkId::new("baseline_switch", label), |b| {
            let w = naive.get_or_insert_with(|| Churn::naive(n));
            b.iter(|| w.switch());
        });
        drop(naive);
        let mut world: Option<Churn> = None;
        g.bench_function(BenchmarkId::new("join_leave", label), |b| {
            let w = world.get_or_insert_with(|| Churn::new(n));
            b.iter(|| w.join_leave());
        });
        g.bench_function(BenchmarkId::new("switch", label), |b| {
            let w = world.get_or_insert_with(|| Churn::new(n));
            b.iter(|| w.switch());
        });
        drop(world);
        let mut handles: Option<Churn> = None;
        g.bench_function(BenchmarkId::new("join_leave_handles", label), |b| {
            let w = handles.get_or_insert_with(|| Churn::handles(n));
            b.iter(|| w.join_leave());
        });
        g.bench_function(BenchmarkId::new("switch_handles", label), |b| {
            let w = handles.get_or_insert_with(|| Churn::handles(n));
            b.iter(|| w.switch());
        });
    }
    g.finish();
}

fn large_room(c: &mut Criterion) {
    let sizes = [("8", 8), ("1e3", 1_000), ("1e4", 10_000), ("1e5", 100_000)];
    for (label, m) in sizes {
        let m = size(m, 1_000);
        let mut room: Option<LargeRoom> = None;
        let mut g = c.benchmark_group("large_room");
        g.throughput(Throughput::Elements(2));
        g.bench_function(label, |b| {
            let r = room.get_or_insert_with(|| LargeRoom::new(m));
            b.iter(|| r.step());
        });
        g.finish();
    }
    for (label, m) in [("1e3", 1_000), ("1e4", 10_000)] {
        let m = size(m, 1_000);
        let mut room: Option<LargeRoom> = None;
        let mut g = c.benchmark_group("large_room_naive");
        // Outputs per join/leave pair: both are told to every other member.
        g.throughput(Throughput::Elements(2 * m as u64));
        g.bench_function(label, |b| {
            let r = room.get_or_insert_with(|| LargeRoom::naive(m));
            b.iter(|| r.step());
        });
        g.finish();
    }
}

/// The storm's script, fixed before timing: who loses the link when, who comes back when.
struct Storm {
    base: Engine,
    sessions: u64,
    /// Sessions that restore, in the order they do (90%).
    restore: Vec<u64>,
}

const LOST_AT: u64 = 1_000;
const GRACE_MS: u64 = 90_000;

impl Storm {
    fn new(sessions: usize) -> Storm {
        let churn = Churn::new(sessions / 8);
        let mut rng = Rng::new(0x5707);
        let order = rng.permutation(sessions);
        let restore = order[..sessions * 9 / 10]
            .iter()
            .map(|&s| u64::from(s))
            .collect();
        Storm {
            base: churn.world.engine,
            sessions: sessions as u64,
            restore,
        }
    }

    /// Link losses over one second, restores spread over the next 80 s, then the grace
    /// runs out for the rest. Returns the engine so its drop is not timed.
    fn run(&self, mut engine: Engine) -> (Engine, usize) {
        let mut out = Outputs::new();
        let mut outputs = 0;
        for s in 0..self.sessions {
            out.clear();
            let now = Millis(LOST_AT + s * 1_000 / self.sessions);
            let input = Input::LinkLost {
                session: session_id(s),
            };
            engine.handle_input(now, &input, &mut out);
            outputs += out.expanded_len();
        }
        let n = self.restore.len() as u64;
        for (k, &s) in self.restore.iter().enumerate() {
            out.clear();
            let now = Millis(LOST_AT + 1_000 + k as u64 * 80_000 / n);
            let input = Input::LinkRestored {
                session: session_id(s),
            };
            engine.handle_input(now, &input, &mut out);
            outputs += out.expanded_len();
        }
        out.clear();
        engine.handle_timeout(Millis(LOST_AT + 1_000 + GRACE_MS), &mut out);
        outputs += out.expanded_len();
        assert_eq!(engine.pending_timers(), 0, "every grace ended");
        (engine, outputs)
    }
}

fn reconnect_storm(c: &mut Criterion) {
    let sessions = size(100_000, 2_000);
    let mut storm: Option<Storm> = None;
    let mut g = c.benchmark_group("reconnect_storm");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(sessions as u64));
    g.bench_function("1e5", |b| {
        let s = storm.get_or_insert_with(|| Storm::new(sessions));
        b.iter_batched(
            || s.base.clone(),
            |engine| s.run(engine),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(
    benches,
    harness_overhead,
    churn,
    large_room,
    reconnect_storm
);
criterion_main!(benches);
