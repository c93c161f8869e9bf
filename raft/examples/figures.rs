//! The figures in FIGURES.md: failover and write latency in virtual ms (simulated runtime),
//! replicated inputs per second in wall-clock time, snapshot bytes per 1,000 rooms.
//!
//! `cargo run --release -p roomcore-raft --example figures [SEEDS]`

// A measuring program reads the wall clock (to time throughput); the replicated code never
// does, and clippy.toml keeps it that way everywhere else.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use openraft::AsyncRuntime;
use openraft_rt_sim::SimRuntime;
use roomcore::{Input, RoomId, RoomInfo, SessionId, UserId};
use roomcore_raft::cluster::{Group, GroupSpec};
use roomcore_raft::driver::{stamp, Clock};
use roomcore_raft::{Command, Limits, Proposal, RequestKey, RoomMachine};

fn login(i: u64) -> Input {
    Input::Login {
        session: SessionId::new(&format!("s{i}")),
        request: i,
        user: UserId::new(&format!("u{i}")),
    }
}

fn create(i: u64) -> Input {
    Input::CreateRoom {
        session: SessionId::new(&format!("s{i}")),
        request: i,
        room: RoomInfo {
            id: RoomId::new(&format!("room-{i}")),
            name: roomcore::RoomName::EMPTY,
        },
        config: None,
    }
}

fn stats(mut v: Vec<u64>) -> String {
    v.sort_unstable();
    format!(
        "min {} / median {} / max {}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

/// Virtual ms from killing the leader to (a) a new leader, (b) the first write it applies.
fn failover(seed: u64) -> (u64, u64) {
    SimRuntime::with_seed(seed).block_on(async move {
        let mut group = Group::start(GroupSpec::three(0, 1, seed)).await;
        for i in 0..5 {
            group
                .write(
                    Command::Input { input: login(i) },
                    Some(RequestKey { client: 1, seq: i }),
                )
                .await
                .expect("write");
        }
        let leader = group.leader().expect("leader");
        let t0 = Clock::default().now_ms();
        group.kill(leader).await;
        group
            .wait_leader(Duration::from_secs(10))
            .await
            .expect("new leader");
        let elected = Clock::default().now_ms() - t0;
        group
            .write(
                Command::Input { input: login(99) },
                Some(RequestKey { client: 2, seq: 0 }),
            )
            .await
            .expect("write");
        (elected, Clock::default().now_ms() - t0)
    })
}

/// Mean virtual ms per sequential write, and wall-clock inputs per second.
fn sequential(n: u64, max_delay_us: u64) -> (f64, f64) {
    SimRuntime::with_seed(1).block_on(async move {
        let mut spec = GroupSpec::three(0, 1, 1);
        spec.record = false;
        spec.max_delay_us = max_delay_us;
        let mut group = Group::start(spec).await;
        let v0 = Clock::default().now_ms();
        let wall = Instant::now();
        for i in 0..n {
            let input = if i % 2 == 0 { login(i) } else { create(i - 1) };
            group
                .write(
                    Command::Input { input },
                    Some(RequestKey { client: 1, seq: i }),
                )
                .await
                .expect("write");
        }
        let secs = wall.elapsed().as_secs_f64();
        let virt = (Clock::default().now_ms() - v0) as f64 / n as f64;
        (virt, n as f64 / secs)
    })
}

/// Wall-clock inputs per second with `clients` writers in flight at once.
fn concurrent(n: u64, clients: u64) -> f64 {
    SimRuntime::with_seed(2).block_on(async move {
        let mut spec = GroupSpec::three(0, 1, 2);
        spec.record = false;
        spec.max_delay_us = 100;
        let group = Group::start(spec).await;
        let leader = group
            .node(group.leader().expect("leader"))
            .expect("node")
            .clone();
        let wall = Instant::now();
        let per = n / clients;
        let writers = (0..clients).map(|c| {
            let node = leader.clone();
            async move {
                for k in 0..per {
                    let i = c * per + k;
                    let input = if k % 2 == 0 { login(i) } else { create(i - 1) };
                    let p: Proposal = stamp(
                        node.clock,
                        Some(RequestKey { client: c, seq: k }),
                        Command::Input { input },
                    );
                    node.raft.client_write(p).await.expect("write");
                }
            }
        });
        futures_util::future::join_all(writers).await;
        (per * clients) as f64 / wall.elapsed().as_secs_f64()
    })
}

/// Snapshot bytes with `rooms` rooms of one member each: the engine alone, and the whole
/// machine (with the request table remembering the 2 x `rooms` writes).
fn snapshot_bytes(rooms: u64) -> (usize, usize) {
    let mut m = RoomMachine::new(roomcore::Config::default(), Limits::default()).expect("config");
    for i in 0..rooms {
        for (seq, input) in [(2 * i, login(i)), (2 * i + 1, create(i))] {
            let p = Proposal {
                request: Some(RequestKey { client: 1, seq }),
                now_ms: i,
                command: Command::Input { input },
            };
            m.apply(&p);
        }
    }
    let engine = serde_json::to_vec(m.engine()).expect("serializes").len();
    (engine, m.to_bytes().len())
}

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    println!(
        "config: 3 nodes, heartbeat 50 ms, election timeout 150-300 ms, one-way delay 1 us..2 ms"
    );
    let (elected, served): (Vec<u64>, Vec<u64>) = (0..seeds).map(failover).unzip();
    println!(
        "failover, new leader (virtual ms, {seeds} seeds): {}",
        stats(elected)
    );
    println!(
        "failover, first write applied by it (virtual ms): {}",
        stats(served)
    );
    let (virt, seq_rate) = sequential(2_000, 2_000);
    println!("sequential write latency (virtual ms, delay 1 us..2 ms): {virt:.2}");
    let (virt_fast, seq_rate_fast) = sequential(2_000, 100);
    println!("sequential write latency (virtual ms, delay 1..100 us): {virt_fast:.2}");
    println!("sequential replicated inputs/s (wall): {seq_rate:.0} (delay up to 2 ms), {seq_rate_fast:.0} (up to 100 us)");
    for clients in [16, 64] {
        println!(
            "concurrent replicated inputs/s (wall, {clients} clients): {:.0}",
            concurrent(4_096, clients)
        );
    }
    for rooms in [1_000, 10_000] {
        let (engine, machine) = snapshot_bytes(rooms);
        println!("snapshot bytes, {rooms} rooms x 1 member: engine {engine}, machine with request table {machine}");
    }
}
