//! Exhaustive model checking of small configurations: a breadth-first explorer over every
//! interleaving of a small command alphabet (sessions x rooms, one time step), running the
//! engine and the reference model in lockstep.
//!
//! - `always`: every state reached passes the harness checks (the state
//!   invariants, refused commands change nothing and tell only the caller, member events
//!   reach only live members, snapshot-restore replays identically) and the engine's outputs
//!   and observable state equal the model's, on every transition.
//! - `sometimes`: interesting situations are reached (a switch that fails, a destroy timer
//!   cancelled by a rejoin, a grace expiry, a takeover by another device, a restore with a
//!   delta, a tombstone answering `session_closed`).
//! - States are deduplicated by the model's canonical form (times relative to now, counters
//!   renumbered); the engine's observable state is asserted equal to the model's in every
//!   state, so the key describes both.
//!
//! The CI test explores 3 sessions x 2 rooms for each device policy; `explore_large`
//! (ignored; run with `cargo test --release --test it explore:: -- --ignored --nocapture`)
//! explores 4 sessions x 3 rooms.
//! - Large rooms have their own: threshold 1, 3 users x 1 room, 1 s window (`sometimes`: a
//!   flush with a delta, one with both joins and leaves, a window that nets out to nothing,
//!   a restore whose delta covers an open window).
//! - Member attributes have their own, smaller explorations (the full alphabet with them
//!   multiplies the states): 2 users x 1 room in CI, 3 sessions (two devices of one user)
//!   x 1 room under the multi-device policy by hand.

use roomcore::{Config, DevicePolicy, Output, RoomEvent, Stamped};
use roomcore_testkit::cmd::{Cmd, Domain};
use roomcore_testkit::lockstep::Lockstep;
use roomcore_testkit::model::Canonical;
use std::collections::{BTreeSet, HashSet, VecDeque};

/// What the explorer found.
#[derive(Debug, Default)]
struct Report {
    states: usize,
    transitions: usize,
    depth: usize,
    /// Whether the depth bound cut the exploration short.
    cut: bool,
    seen: BTreeSet<&'static str>,
}

/// The command alphabet for `sessions` x `rooms`: every session command on every room (and
/// pair of rooms for a switch), the admin commands on every room, and one time step.
/// Session `i` always logs in as the same user; with `two_devices`, sessions 0 and 1 are
/// devices of one user.
fn alphabet(sessions: u8, rooms: u8, two_devices: bool) -> Vec<Cmd> {
    let user = |s: u8| if s == 0 || !two_devices { s } else { s - 1 };
    // Options byte 2: destroy delay 1 s, valid name.
    let mut a = vec![Cmd::Wait(4)];
    for s in 0..sessions {
        a.extend([
            Cmd::Login(s, user(s)),
            Cmd::Logout(s),
            Cmd::LinkLost(s),
            Cmd::LinkRestored(s),
        ]);
        for r in 0..rooms {
            a.extend([Cmd::Enter(s, r, 2), Cmd::Join(s, r), Cmd::Leave(s, r)]);
            for to in (0..rooms).filter(|to| *to != r) {
                a.push(Cmd::Switch(s, r, to, r % 2 == 0, 2));
            }
        }
    }
    for r in 0..rooms {
        a.push(Cmd::Dismiss(r));
        for u in 0..sessions.saturating_sub(1) {
            a.push(Cmd::Kick(r, 1 << u));
        }
    }
    a
}

/// [`alphabet`] plus member attribute commands on every room: each session sets `a` on its
/// own user and on every user (mask of all of them), deletes `a` the same two ways, and
/// queries everyone. One key and one value keep the attribute states few (none, written and
/// emptied, `a` set) while every path that clears them (leave, switch, kick, dismiss,
/// logout, takeover, grace expiry) and every restore delta is reached.
fn member_alphabet(sessions: u8, rooms: u8, two_devices: bool) -> Vec<Cmd> {
    let mut a = alphabet(sessions, rooms, two_devices);
    let users: u8 = if two_devices { sessions - 1 } else { sessions };
    let all = (1u8 << users) - 1;
    for s in 0..sessions {
        for r in 0..rooms {
            a.extend([
                Cmd::SetMemberAttrs(s, r, 0, 0),
                Cmd::SetMemberAttrs(s, r, 0, all),
                Cmd::DelMemberAttrs(s, r, 0, 0),
                Cmd::DelMemberAttrs(s, r, 0, all),
                Cmd::QueryMemberAttrs(s, r, all),
            ]);
        }
    }
    a
}

/// The large-room configuration: every change past one member is batched, in a 1 s window
/// the alphabet's 1 s wait reaches exactly.
fn batch_config() -> Config {
    Config {
        member_notify_threshold: 1,
        member_batch_interval_ms: 1000,
        max_members_per_room: 3,
        ..config(DevicePolicy::Single)
    }
}

fn config(policy: DevicePolicy) -> Config {
    Config {
        device_policy: policy,
        reconnect_grace_ms: 2000,
        closed_session_ttl_ms: 1000,
        max_closed_sessions: 2,
        max_members_per_room: 2,
        ..Config::default()
    }
}

fn has_event(out: &[Stamped], event: RoomEvent) -> bool {
    out.iter()
        .any(|s| matches!(s.output, Output::RoomStateChanged { event: e, .. } if e == event))
}

/// The `sometimes` properties a transition shows.
fn notable(before: &Lockstep, cmd: &Cmd, after: &Lockstep, out: &[Stamped]) -> Vec<&'static str> {
    let mut n = Vec::new();
    if has_event(out, RoomEvent::SwitchFailed) {
        n.push("switch failed");
    }
    if has_event(out, RoomEvent::ConnectTimeout) {
        n.push("grace expired");
    }
    if has_event(out, RoomEvent::KickedOutByOtherDevice) {
        n.push("taken over by another device");
    }
    if has_event(out, RoomEvent::NetworkInterrupted) {
        n.push("link lost in a room");
    }
    if matches!(cmd, Cmd::LinkRestored(_))
        && out.iter().any(|s| {
            matches!(
                s.output,
                Output::MembersJoined { .. } | Output::MembersLeft { .. }
            )
        })
    {
        n.push("restore with a member delta");
    }
    if matches!(cmd, Cmd::LinkRestored(_))
        && out
            .iter()
            .any(|s| matches!(s.output, Output::RoomMemberAttributesUpdated { .. }))
    {
        n.push("restore with a member attribute delta");
    }
    if !matches!(
        cmd,
        Cmd::SetMemberAttrs(..) | Cmd::DelMemberAttrs(..) | Cmd::LinkRestored(_)
    ) && out
        .iter()
        .any(|s| matches!(s.output, Output::RoomMemberAttributesUpdated { .. }))
    {
        n.push("member attributes taken along by a departure");
    }
    for s in out {
        if let Output::RoomMembersChanged { joined, left, .. } = &s.output {
            n.push("window flushed with a delta");
            if !joined.is_empty() && !left.is_empty() {
                n.push("window flushed with joins and leaves");
            }
        }
    }
    // A window whose deadline passed with nothing sent: no member was live to tell.
    let d = &before.domain;
    let windows_closed = before.model.pending_timers() > after.model.pending_timers();
    if windows_closed
        && matches!(cmd, Cmd::Wait(_))
        && !out
            .iter()
            .any(|s| matches!(s.output, Output::RoomMembersChanged { .. }))
        && d.rooms.iter().any(|r| {
            before.model.window_open(*r)
                && !after.model.window_open(*r)
                && after
                    .model
                    .room_recipients(*r)
                    .is_some_and(|live| live.is_empty())
        })
    {
        n.push("window closed with no live member to tell");
    }
    // A full window closed early, by a command rather than its deadline.
    if !matches!(cmd, Cmd::Wait(_))
        && out
            .iter()
            .any(|s| matches!(s.output, Output::RoomMembersChanged { .. }))
    {
        n.push("full window closed early");
    }
    // A restore whose delta covers a window still open, or one that closed while the link
    // was down.
    if let Cmd::LinkRestored(s) = cmd {
        let session = d.session(*s);
        let in_window = before
            .model
            .session_rooms(session)
            .unwrap_or_default()
            .iter()
            .any(|(r, st)| *st == roomcore::RoomState::Connecting && before.model.window_open(*r));
        let delta = out.iter().any(|s| {
            matches!(
                s.output,
                Output::MembersJoined { .. } | Output::MembersLeft { .. }
            )
        });
        if in_window && delta {
            n.push("restore with a delta covering an open window");
        }
    }
    if out.iter().any(|s| {
        matches!(&s.output, Output::Reply { outcome, .. }
            if outcome.error_code() == Some(roomcore::ErrorCode::SessionClosed))
    }) {
        n.push("closed session answered session_closed");
    }
    // A destroy timer cancelled by a rejoin: an empty room waiting for its deadline gets a
    // member, and a timer less is pending.
    for r in &d.rooms {
        let empty_before = before.model.room_sessions(*r).is_some_and(|m| m.is_empty());
        let joined_after = after.model.room_sessions(*r).is_some_and(|m| !m.is_empty());
        if empty_before && joined_after {
            n.push("destroy timer cancelled by a rejoin");
        }
    }
    n
}

/// A 128-bit digest of a canonical state (two independent 64-bit hashes), so millions of
/// states fit in memory; a collision would merge two states, at odds of about 2^-100 here.
fn key(c: &Canonical) -> u128 {
    use std::hash::{Hash, Hasher};
    let text = format!("{c:?}");
    let mut fnv = roomcore_testkit::sim::rng::Fnv1a::default();
    fnv.write(text.as_bytes());
    // std's default hasher with its fixed keys: the same in every run of this build.
    let mut sip = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut sip);
    (u128::from(fnv.finish()) << 64) | u128::from(sip.finish())
}

/// Explores every state reachable with `alphabet`; panics with the shortest path to the
/// first failed check.
fn explore(config: Config, domain: Domain, alphabet: &[Cmd], max_depth: usize) -> Report {
    explore_with(config, domain, alphabet, max_depth, |_| Vec::new())
}

/// [`explore`], with `extra` naming more `sometimes` properties of a transition's outputs.
fn explore_with(
    config: Config,
    domain: Domain,
    alphabet: &[Cmd],
    max_depth: usize,
    extra: fn(&[Stamped]) -> Vec<&'static str>,
) -> Report {
    let mut start = Lockstep::new(config, domain).expect("valid config");
    // The snapshot-restore replay check doubles the cost; it runs in the property tests and
    // the simulation, and here when ROOMCORE_EXPLORE_RESTORE is set.
    start.harness.check_restore = std::env::var_os("ROOMCORE_EXPLORE_RESTORE").is_some();
    let mut seen: HashSet<u128> = HashSet::new();
    seen.insert(key(&start.model.canonical()));
    // The queue holds paths, not states: a state is rebuilt by replaying its path from the
    // start (a few steps, against the alphabet's worth of steps to expand it), so memory
    // stays at a few bytes per state.
    let mut queue: VecDeque<Vec<Cmd>> = VecDeque::from([Vec::new()]);
    let mut report = Report {
        states: 1,
        ..Report::default()
    };
    while let Some(path) = queue.pop_front() {
        report.depth = report.depth.max(path.len());
        if path.len() >= max_depth {
            report.cut = true;
            continue;
        }
        let mut state = start.clone();
        for cmd in &path {
            state
                .step(cmd)
                .unwrap_or_else(|e| panic!("replay of {path:?} diverged: {e}"));
        }
        for cmd in alphabet {
            let mut next = state.clone();
            report.transitions += 1;
            let out = match next.step(cmd) {
                Ok(out) => out,
                Err(e) => panic!("check failed after {path:?} then {cmd:?}:\n{e}"),
            };
            report.seen.extend(notable(&state, cmd, &next, &out));
            report.seen.extend(extra(&out));
            if seen.insert(key(&next.model.canonical())) {
                report.states += 1;
                assert!(
                    report.states <= MAX_STATES,
                    "more than {MAX_STATES} states: unbounded?"
                );
                let mut p = path.clone();
                p.push(*cmd);
                queue.push_back(p);
            }
        }
    }
    report
}

/// A guard against a canonical form that fails to make the state space finite.
const MAX_STATES: usize = 20_000_000;

const SOMETIMES: [&str; 7] = [
    "switch failed",
    "grace expired",
    "taken over by another device",
    "link lost in a room",
    "restore with a member delta",
    "closed session answered session_closed",
    "destroy timer cancelled by a rejoin",
];

fn check_and_print(
    sessions: u8,
    rooms: u8,
    two_devices: bool,
    policy: DevicePolicy,
    max_depth: usize,
    expected: &[&str],
) {
    let alphabet = alphabet(sessions, rooms, two_devices);
    run_and_print(
        config(policy),
        (sessions, rooms),
        max_depth,
        expected,
        &alphabet,
    );
}

// The wall-clock time is printed for the record, never asserted on.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn run_and_print(
    config: Config,
    (sessions, rooms): (u8, u8),
    max_depth: usize,
    expected: &[&str],
    alphabet: &[Cmd],
) {
    let t = std::time::Instant::now();
    let policy = config.device_policy;
    let domain = Domain::small(usize::from(sessions), usize::from(rooms));
    let report = explore(config, domain, alphabet, max_depth);
    println!(
        "explore {sessions} sessions x {rooms} rooms, {policy:?} policy, {} commands: {} unique \
         states, {} transitions, depth {}{}, {:.1?}",
        alphabet.len(),
        report.states,
        report.transitions,
        report.depth,
        if report.cut {
            " (bound reached)"
        } else {
            " (complete)"
        },
        t.elapsed()
    );
    for p in expected {
        assert!(report.seen.contains(p), "never reached: {p}");
    }
}

/// Without a second user, no restore can carry a member delta.
const ONE_USER: [&str; 6] = [
    "switch failed",
    "grace expired",
    "taken over by another device",
    "link lost in a room",
    "closed session answered session_closed",
    "destroy timer cancelled by a rejoin",
];

#[test]
fn explore_2_devices_2_rooms_single_device_policy() {
    check_and_print(2, 2, true, DevicePolicy::Single, usize::MAX, &ONE_USER);
}

#[test]
fn explore_2_devices_2_rooms_multi_device_policy() {
    check_and_print(2, 2, true, DevicePolicy::Multi, usize::MAX, &ONE_USER);
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "a minute in debug; run in release (ci/verify.sh)"
)]
fn explore_2_users_2_rooms() {
    let expected = [
        "switch failed",
        "grace expired",
        "restore with a member delta",
        "destroy timer cancelled by a rejoin",
    ];
    check_and_print(2, 2, false, DevicePolicy::Single, usize::MAX, &expected);
}

/// The CI configuration (release: `cargo test --release --test it explore::`); minutes in debug.
#[test]
#[cfg_attr(debug_assertions, ignore = "run in release (ci/verify.sh)")]
fn explore_3_sessions_2_rooms_single_device_policy() {
    check_and_print(3, 2, true, DevicePolicy::Single, usize::MAX, &SOMETIMES);
}

#[test]
#[ignore = "minutes in release; run by hand and record the figures"]
fn explore_3_sessions_2_rooms_multi_device_policy() {
    check_and_print(3, 2, true, DevicePolicy::Multi, usize::MAX, &SOMETIMES);
}

/// 4 sessions x 3 rooms, bounded depth (`ROOMCORE_EXPLORE_DEPTH`, default 7).
#[test]
#[ignore = "long; run by hand in release and record the figures"]
fn explore_4_sessions_3_rooms() {
    let depth = std::env::var("ROOMCORE_EXPLORE_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    check_and_print(4, 3, true, DevicePolicy::Single, depth, &SOMETIMES);
}

/// Member attributes, with set, delete and query on top of the CI alphabet: 2 users x 1
/// room in CI (3 s in release); 2 devices of one user plus another user x 1 room
/// (multi-device policy: a takeover keeps the attributes) by hand.
#[test]
#[cfg_attr(debug_assertions, ignore = "run in release (ci/verify.sh)")]
fn explore_member_attributes_2_users_1_room() {
    let expected = [
        "restore with a member attribute delta",
        "member attributes taken along by a departure",
        "grace expired",
        "restore with a member delta",
    ];
    let a = member_alphabet(2, 1, false);
    let c = config(DevicePolicy::Single);
    run_and_print(c, (2, 1), usize::MAX, &expected, &a);
}

#[test]
#[ignore = "45 s in release; run by hand and record the figures"]
fn explore_member_attributes_3_sessions_1_room_multi_device_policy() {
    let expected = [
        "restore with a member attribute delta",
        "member attributes taken along by a departure",
        "taken over by another device",
    ];
    let a = member_alphabet(3, 1, true);
    let c = config(DevicePolicy::Multi);
    run_and_print(c, (3, 1), usize::MAX, &expected, &a);
}

/// Large rooms (threshold 1: every change past the first member is batched): 3 users x 1
/// room, a 1 s window the 1 s wait reaches. Windows that flush a delta, net out to nothing,
/// and restores that cover an open window are all reached, and every flush and restore
/// equals the model's set-difference version.
#[test]
#[cfg_attr(debug_assertions, ignore = "run in release (ci/verify.sh)")]
fn explore_large_room_batching_3_users() {
    let expected = [
        "window flushed with a delta",
        "window flushed with joins and leaves",
        "window closed with no live member to tell",
        "full window closed early",
        "restore with a delta covering an open window",
    ];
    let a = batch_alphabet();
    run_and_print(batch_config(), (3, 1), usize::MAX, &expected, &a);
}

/// Three users who log in and enter the room (delay 0: an emptied room goes at once); the
/// first two also leave, the first loses and restores its link, the second can be kicked;
/// the 1 s wait. The depth of the state space comes from windows, so commands that only
/// matter elsewhere (logout, switch, dismiss, other links) are left out.
fn batch_alphabet() -> Vec<Cmd> {
    let mut a = vec![
        Cmd::Wait(4),
        Cmd::LinkLost(0),
        Cmd::LinkRestored(0),
        Cmd::Kick(0, 2),
    ];
    for s in 0..3u8 {
        a.extend([Cmd::Login(s, s), Cmd::Enter(s, 0, 1)]);
    }
    a.extend([Cmd::Leave(0, 0), Cmd::Leave(1, 0)]);
    a
}

/// The service's surface: service events on, 2 users x 2 rooms, the CI alphabet plus a
/// ban of the second user from the first room (1 s, reached by the 1 s wait) and its unban,
/// a move of either user from either room to the other (creating the target), and a room
/// the service creates (waiting 1 s for a member). Every output, service events included,
/// equals the model's.
fn service_alphabet() -> Vec<Cmd> {
    let mut a = alphabet(2, 2, false);
    a.extend([
        Cmd::AdminCreate(1, 2),
        Cmd::Ban(0, 0b10, 0),
        Cmd::Unban(0, 0b10),
        Cmd::Move(0, 1, 0b11, true, 2),
        Cmd::Move(1, 0, 0b11, false, 2),
    ]);
    a
}

/// What a transition of the service's surface shows.
fn notable_service(out: &[Stamped]) -> Vec<&'static str> {
    let mut n = Vec::new();
    for s in out {
        match &s.output {
            Output::Reply { outcome, .. }
                if outcome.error_code() == Some(roomcore::ErrorCode::UserBanned) =>
            {
                n.push("join refused by a ban");
            }
            Output::MemberLeft { reason, .. } => n.push(match reason {
                roomcore::ExitReason::Moved => "member moved",
                roomcore::ExitReason::Banned => "member banned",
                roomcore::ExitReason::Dismissed => "member dismissed",
                _ => "member left",
            }),
            Output::RoomDestroyed { .. } => n.push("room destroyed"),
            _ => {}
        }
    }
    n
}

#[test]
#[cfg_attr(debug_assertions, ignore = "run in release (ci/verify.sh)")]
fn explore_service_2_users_2_rooms() {
    let config = Config {
        service_events: true,
        ..config(DevicePolicy::Single)
    };
    let alphabet = service_alphabet();
    let domain = Domain::small(2, 2);
    let report = explore_with(config, domain, &alphabet, usize::MAX, notable_service);
    println!(
        "explore service 2 users x 2 rooms, {} commands: {} unique states, {} transitions, depth {}",
        alphabet.len(),
        report.states,
        report.transitions,
        report.depth,
    );
    for p in [
        "join refused by a ban",
        "member moved",
        "member banned",
        "member dismissed",
        "room destroyed",
    ] {
        assert!(report.seen.contains(p), "never reached: {p}");
    }
}
