//! Shared helpers: a seeded input generator, the engine config, and replica checks.
#![allow(dead_code)]

use std::time::Duration;

use openraft::AsyncRuntime;
use openraft_rt_sim::SimRuntime;
use roomcore::{
    Input, Output, RoomConfig, RoomEvent, RoomId, RoomInfo, RoomState, SessionId, UserId,
};
use roomcore_raft::cluster::Group;
use roomcore_raft::store::Applied;

/// Seeds per sweep: `0..20`, or `ROOMCORE_RAFT_SEEDS` as a count (`500`) or a range
/// (`126..127`, to replay one seed).
pub fn seeds() -> std::ops::Range<u64> {
    let var = std::env::var("ROOMCORE_RAFT_SEEDS").unwrap_or_default();
    match var.split_once("..") {
        Some((a, b)) => a.parse().unwrap_or(0)..b.parse().unwrap_or(20),
        None => 0..var.parse().unwrap_or(20),
    }
}

/// splitmix64: seeded, tiny, the same everywhere.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const SESSIONS: [&str; 5] = ["s0", "s1", "s2", "s3", "s4"];
const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];
const ROOMS: [&str; 4] = ["r0", "r1", "r2", "r3"];

/// Short timers so that destroy delays and grace periods fire inside a run.
pub fn engine_config() -> roomcore::Config {
    roomcore::Config {
        reconnect_grace_ms: 400,
        ..roomcore::Config::default()
    }
}

/// One random input over a small id domain (so that collisions happen).
pub fn random_input(g: &mut Gen, request: u64) -> Input {
    let session = SessionId::new(g.pick(&SESSIONS));
    let room_id = RoomId::new(g.pick(&ROOMS));
    let room = RoomInfo {
        id: room_id,
        name: roomcore::RoomName::EMPTY,
    };
    let config = Some(RoomConfig {
        destroy_delay_s: g.below(2),
        ..RoomConfig::default()
    });
    match g.below(14) {
        0 | 1 => Input::Login {
            session,
            request,
            user: UserId::new(g.pick(&USERS)),
        },
        2 => Input::Logout { session, request },
        3 => Input::CreateRoom {
            session,
            request,
            room,
            config,
        },
        4 => Input::JoinRoom {
            session,
            request,
            room_id,
        },
        5 | 6 => Input::EnterRoom {
            session,
            request,
            room,
            config,
        },
        7 => Input::LeaveRoom {
            session,
            request,
            room_id,
        },
        8 => Input::SwitchRoom {
            session,
            request,
            from: RoomId::new(g.pick(&ROOMS)),
            to: room,
            create_if_missing: g.below(2) == 0,
            config,
        },
        9 => Input::LeaveAllRooms { session, request },
        10 => Input::LinkLost { session },
        11 => Input::LinkRestored { session },
        12 => Input::SendRoomMessage {
            session,
            request,
            room_id,
            payload: "hi".into(),
        },
        _ => Input::DismissRoom { request, room_id },
    }
}

/// Runs `f` on a fresh simulated runtime seeded with `seed`.
pub fn sim<F: std::future::Future>(seed: u64, f: F) -> F::Output {
    SimRuntime::with_seed(seed).block_on(f)
}

/// Waits for the connected replicas to apply the same last entry, then asserts their
/// snapshots are byte-equal; returns the bytes.
pub async fn assert_equal(group: &Group, context: &str) -> Vec<u8> {
    assert!(
        group.settle(Duration::from_secs(20)).await,
        "{context}: replicas did not settle"
    );
    let live = group.live();
    let first = live[0].sm.bytes();
    for n in &live[1..] {
        assert_eq!(
            n.sm.last_applied(),
            live[0].sm.last_applied(),
            "{context}: node {} applied a different index",
            n.id
        );
        assert!(
            n.sm.bytes() == first,
            "{context}: node {} differs from node {}",
            n.id,
            live[0].id
        );
    }
    first
}

/// How many outputs in `history` match `pred`.
pub fn count(history: &[Applied], pred: impl Fn(&Output) -> bool) -> usize {
    history
        .iter()
        .flat_map(|a| a.response.outputs().expanded())
        .filter(|s| pred(&s.output))
        .count()
}

/// Whether `o` is `room_state_changed` for `(session, room)` to `state`.
pub fn state_is(o: &Output, session: &str, room: &str, state: RoomState) -> bool {
    matches!(o, Output::RoomStateChanged { session: s, room_id: r, state: st, .. }
        if s.as_str() == session && r.as_str() == room && *st == state)
}

/// Whether `o` is `room_state_changed` for `(session, room)` with `event`.
pub fn event_is(o: &Output, session: &str, room: &str, event: RoomEvent) -> bool {
    matches!(o, Output::RoomStateChanged { session: s, room_id: r, event: e, .. }
        if s.as_str() == session && r.as_str() == room && *e == event)
}
