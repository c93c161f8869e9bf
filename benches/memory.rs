//! Heap bytes and allocation counts, measured with a counting global allocator
//! (`stats_alloc`: the crate forbids unsafe code, so it cannot implement `GlobalAlloc`
//! itself). Bytes are what the program asked the allocator for (live = allocated minus
//! freed); malloc's own per-block overhead is not in them, so the RSS growth from
//! `/proc/self/statm` is printed beside each for comparison.
//!
//! Prints one line per figure (see BENCHMARKS.md):
//! - bytes per logged-in session (32-byte session and user ids);
//! - bytes per membership with 1, 10 and 1,000 members per room (1e6 memberships);
//! - bytes per empty room waiting for its destroy deadline (its timer included);
//! - bytes per pending timer (the engine's table, a `BTreeMap`, tokio-util's `DelayQueue`);
//! - heap allocations per steady-state join/leave pair and per switch in rooms of 8.
//!
//! `cargo bench --bench memory -- --test` runs it at small sizes, quickly.

mod common;

use common::{size, test_mode, Churn, Rng, World};
use roomcore::bench_internals::{TimerKind, Timers};
use roomcore::Millis;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::collections::BTreeMap;
use std::time::Duration;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes in use and resident set size now.
#[derive(Clone, Copy)]
struct Mark {
    live: i64,
    rss: i64,
}

fn mark() -> Mark {
    let s = GLOBAL.stats();
    Mark {
        live: s.bytes_allocated as i64 - s.bytes_deallocated as i64,
        rss: rss(),
    }
}

/// Resident pages times the page size (4 KiB on this machine kind), 0 if unreadable.
fn rss() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn report(name: &str, unit: &str, count: usize, before: Mark, after: Mark) {
    let per = |x: i64| x as f64 / count as f64;
    println!(
        "memory/{name}: {:.1} B per {unit} (RSS growth {:.1} B per {unit}; {count} {unit}s)",
        per(after.live - before.live),
        per(after.rss - before.rss),
    );
}

fn sessions() {
    let n = size(1_000_000, 1_000);
    let mut w = World::new(common::big_config());
    let before = mark();
    for s in 0..n as u64 {
        w.login(s);
    }
    report("session", "session", n, before, mark());
}

/// `memberships` memberships in rooms of `per_room`: the bytes the rooms and their member
/// lists add on top of the logged-in sessions.
fn memberships(per_room: usize) {
    let m = size(1_000_000, 2_000);
    let mut w = World::new(common::big_config());
    for s in 0..m as u64 {
        w.login(s);
    }
    let before = mark();
    for s in 0..m {
        let r = (s / per_room) as u64;
        if s % per_room == 0 {
            w.create(s as u64, r, 0);
        } else {
            w.join(s as u64, r);
        }
    }
    w.out = roomcore::Outputs::new();
    report(
        &format!("membership/{per_room}_per_room"),
        "membership",
        m,
        before,
        mark(),
    );
}

/// Rooms emptied with a destroy delay: each waits with its timer pending.
fn empty_rooms() {
    let n = size(100_000, 1_000);
    let mut w = World::new(common::big_config());
    for s in 0..n as u64 {
        w.login(s);
    }
    w.out = roomcore::Outputs::new();
    let before = mark();
    for s in 0..n as u64 {
        w.create(s, s, 3_600);
        w.leave(s, s);
    }
    w.out = roomcore::Outputs::new();
    assert_eq!(w.engine.pending_timers(), n);
    report("empty_waiting_room", "room", n, before, mark());
}

fn deadlines(n: usize) -> Vec<u64> {
    let mut rng = Rng::new(0x7133_7E55);
    (0..n).map(|_| rng.below(3 * 3_600_000)).collect()
}

fn kind(i: usize) -> TimerKind {
    TimerKind::DestroyRoom {
        slot: i as u32,
        incarnation: i as u64,
    }
}

fn timers_wheel() {
    let n = size(1_000_000, 10_000);
    let ds = deadlines(n);
    let before = mark();
    let mut t = Timers::default();
    let keys: Vec<_> = ds
        .iter()
        .enumerate()
        .map(|(i, &d)| t.arm(Millis(d), kind(i)))
        .collect();
    let armed = mark();
    // The keys' own vector is the caller's, not the table's.
    let keys_bytes = (keys.capacity() * std::mem::size_of_val(&keys[0])) as i64;
    let adjust = |m: Mark| Mark {
        live: m.live - keys_bytes,
        rss: m.rss - keys_bytes,
    };
    report("pending_timer/wheel", "timer", n, before, adjust(armed));
    for (i, key) in keys.iter().enumerate() {
        if i % 2 == 0 {
            t.cancel(*key);
        }
    }
    report(
        "pending_timer/wheel_after_cancelling_half",
        "timer",
        t.len(),
        before,
        adjust(mark()),
    );
}

fn timers_btreemap() {
    let n = size(1_000_000, 10_000);
    let ds = deadlines(n);
    let before = mark();
    let mut b: BTreeMap<(u64, u64), TimerKind> = BTreeMap::new();
    for (i, &d) in ds.iter().enumerate() {
        b.insert((d, i as u64), kind(i));
    }
    report("pending_timer/btreemap", "timer", n, before, mark());
}

fn timers_delay_queue() {
    let n = size(1_000_000, 10_000);
    let ds = deadlines(n);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    let _in_runtime = rt.enter();
    let before = mark();
    let mut q = tokio_util::time::DelayQueue::new();
    for (i, &d) in ds.iter().enumerate() {
        q.insert(kind(i), Duration::from_millis(d));
    }
    report("pending_timer/delay_queue", "timer", n, before, mark());
}

/// Heap allocations per steady-state operation in rooms of 8, after a warm-up that lets
/// every buffer reach its working size.
fn allocations() {
    allocations_in("", Churn::new);
    allocations_in("named_rooms/", Churn::named);
}

/// [`allocations`] for the workload `build` makes.
fn allocations_in(prefix: &str, build: fn(usize) -> Churn) {
    let rooms = size(10_000, 200);
    let steps = size(200_000, 2_000);
    let mut churn = build(rooms);
    for (name, op) in [
        (
            "join_leave_pair",
            (|c| {
                c.join_leave();
            }) as fn(&mut Churn),
        ),
        (
            "switch",
            (|c| {
                c.switch();
            }) as fn(&mut Churn),
        ),
    ] {
        for _ in 0..steps {
            op(&mut churn);
        }
        let before = GLOBAL.stats();
        for _ in 0..steps {
            op(&mut churn);
        }
        let after = GLOBAL.stats();
        let per = |a: usize, b: usize| (a - b) as f64 / steps as f64;
        println!(
            "memory/allocations_per_op/{prefix}{name}: {:.3} allocations, {:.3} reallocations, {:.3} frees per op ({steps} ops, {rooms} rooms of 8)",
            per(after.allocations, before.allocations),
            per(after.reallocations, before.reallocations),
            per(after.deallocations, before.deallocations),
        );
    }
}

/// Every figure, each run in a fresh child process so that memory freed by one cannot
/// hide the RSS growth of the next.
const FIGURES: [(&str, fn()); 9] = [
    ("session", sessions),
    ("membership/1_per_room", || memberships(1)),
    ("membership/10_per_room", || memberships(10)),
    ("membership/1000_per_room", || memberships(1_000)),
    ("empty_waiting_room", empty_rooms),
    ("pending_timer/wheel", timers_wheel),
    ("pending_timer/btreemap", timers_btreemap),
    ("pending_timer/delay_queue", timers_delay_queue),
    ("allocations_per_op", allocations),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in FIGURES {
            println!("memory/{name}: bench");
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--figure") {
        let name = args.get(i + 1).map_or("", String::as_str);
        if let Some((_, run)) = FIGURES.iter().find(|(n, _)| *n == name) {
            run();
        }
        return;
    }
    // Positional arguments filter the figures by substring, as criterion's do.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    println!(
        "memory bench ({} mode); sizes: Stamped {} B, Timers {} B",
        if test_mode() { "test" } else { "full" },
        std::mem::size_of::<roomcore::Stamped>(),
        std::mem::size_of::<Timers>()
    );
    let me = std::env::current_exe().expect("the bench knows its own path");
    for (name, _) in FIGURES {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut child = std::process::Command::new(&me);
        child.args(["--figure", name]);
        if test_mode() {
            child.arg("--test");
        } else {
            child.arg("--bench");
        }
        let status = child.status().expect("the bench can run itself");
        assert!(status.success(), "figure {name} failed");
    }
}
