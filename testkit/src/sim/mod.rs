//! Deterministic simulation: several clients, the core (engine and
//! reference model in lockstep, every harness check on every step), and a seeded network
//! that drops, delays, reorders and duplicates client messages and loses links.
//!
//! One seed determines everything: the configuration, every client decision, every network
//! fault. [`Sim::safety`] runs the faulty phase, checking after every step that each client
//! that has received everything sent to it sees its rooms (and, where it knows them, their
//! members and member attributes) exactly as the core holds them. [`Sim::liveness`] then heals the network, makes
//! everyone leave and lets every delay pass: no room, no membership and no timer may be
//! left. [`Sim::transcript_hash`] fingerprints every output (FNV-1a of their JSON).
//!
//! The service acts too (see `Sim::admin`): dismissals, kicks, moves, short bans and
//! provisioned rooms, with service events on in half the seeds; [`Sim::tally`] counts what
//! they did.
//!
//! Large-room mode (two seeds in five): `member_notify_threshold` 1 or 2 and a window of
//! 100..1,000 ms, so most rooms coalesce. The simulated server hands each
//! `room_members_changed` to the room's live members (`Engine::room_recipients`) at its
//! emission (due timers fire in a core step of their own, before the input that follows),
//! each copy through that client's stream; clients apply it as a set delta. The member
//! check then skips a room while its window is open (every live member still knows the room
//! as at the window's start, and learns the net change at its end), and skips a list the
//! client learned (query answer, restore) while a window was open: the window's delta is
//! counted from its start, so such a list can stay off by someone who joined before the
//! answer and left after it (the net change omits them, or is empty and sends nothing).
//! Such a client asks again now and then, and at the next room delta.

pub mod client;
pub mod net;
pub mod rng;

use crate::cmd::Domain;
use crate::lockstep::Lockstep;
use client::Client;
use net::{Delivered, Faults, Net};
use rng::{Fnv1a, Rng};
use roomcore::config::{Config, DevicePolicy, RoomConfig};
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::{Input, InputKind, RoomInfo, RoomName};
use roomcore::output::{Outcome, Output, ReplyOk, RoomState, Stamped};
use std::collections::{BTreeMap, BTreeSet};

/// Clients (sessions) per simulation; clients 0 and 1 are two devices of one user.
const CLIENTS: usize = 6;
/// Rooms the clients pick from.
const ROOMS: usize = 4;
/// Longest time a step may move the clock, ms.
const MAX_TICK_MS: u64 = 250;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Sim {
    /// The core: engine and model in lockstep.
    pub core: Lockstep,
    /// The clients.
    pub clients: Vec<Client>,
    /// The network.
    pub net: Net,
    rng: Rng,
    rooms: Vec<RoomId>,
    now: u64,
    admin_request: u64,
    hash: Fnv1a,
    /// Core inputs applied so far.
    pub inputs: u64,
    /// What the service's commands did so far.
    pub tally: Tally,
}

/// What the service's commands did in a run: how often each succeeded, and how many
/// memberships moves and bans ended (from their replies). A test uses it to show the
/// simulation reaches them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Admin commands answered `ok`, by kind.
    pub admin_ok: BTreeMap<InputKind, u64>,
    /// Users `move_users` moved.
    pub moved: u64,
    /// Members `ban_users` removed.
    pub banned: u64,
}

impl Tally {
    fn count(&mut self, input: &Input, out: &[Stamped]) {
        for s in out {
            let Output::AdminReply {
                outcome: Outcome::Ok(ok),
                ..
            } = &s.output
            else {
                continue;
            };
            *self.admin_ok.entry(input.kind()).or_default() += 1;
            match ok {
                ReplyOk::UsersMoved { moved, .. } => self.moved += moved.len() as u64,
                ReplyOk::UsersBanned { removed, .. } => self.banned += removed.len() as u64,
                _ => {}
            }
        }
    }
}

/// A configuration drawn from the seed: device policy, short delays, small limits.
fn config(rng: &mut Rng) -> Config {
    let large = rng.chance(40);
    Config {
        device_policy: if rng.chance(50) {
            DevicePolicy::Single
        } else {
            DevicePolicy::Multi
        },
        reconnect_grace_ms: 500 + rng.below(2500),
        closed_session_ttl_ms: rng.below(3000),
        max_members_per_room: 2 + u32::try_from(rng.below(4)).unwrap_or(0),
        max_rooms: 2 + u32::try_from(rng.below(3)).unwrap_or(0),
        max_rooms_per_session: 1 + u32::try_from(rng.below(3)).unwrap_or(0),
        // Large-room mode in two seeds of five: changes past one or two members coalesce.
        member_notify_threshold: if large {
            1 + u32::try_from(rng.below(2)).unwrap_or(0)
        } else {
            500
        },
        member_batch_interval_ms: 100 + rng.below(900),
        // Service events in half the seeds: they change no session's outputs, and the
        // harness's ledger pairs every member_joined with its member_left.
        service_events: rng.chance(50),
        ..Config::default()
    }
}

impl Sim {
    /// A simulation entirely determined by `seed`.
    ///
    /// # Errors
    /// If the drawn configuration is invalid (it cannot be).
    pub fn new(seed: u64) -> Result<Sim, String> {
        Sim::with_hash_seed(seed, 0)
    }

    /// As [`Sim::new`], with the engine's id-lookup hash seeded with `hash_seed` (which must
    /// change nothing observable).
    ///
    /// # Errors
    /// As [`Sim::new`].
    pub fn with_hash_seed(seed: u64, hash_seed: u64) -> Result<Sim, String> {
        let mut rng = Rng::new(seed);
        let config = Config {
            hash_seed,
            ..config(&mut rng)
        };
        let sessions: Vec<SessionId> = (0..CLIENTS)
            .map(|i| SessionId::new(&format!("c{i}")))
            .collect();
        let users: Vec<UserId> = (0..CLIENTS)
            .map(|i| UserId::new(&format!("u{}", i.saturating_sub(1))))
            .collect();
        let rooms: Vec<RoomId> = (0..ROOMS).map(|i| RoomId::new(&format!("r{i}"))).collect();
        let domain = Domain {
            sessions: sessions.clone(),
            users: users.clone(),
            rooms: rooms.clone(),
            invalid: false,
        };
        let clients = (0..CLIENTS)
            .map(|i| Client::new(i, sessions[i], users[i]))
            .collect();
        let faults = Faults {
            drop: rng.below(20),
            duplicate: rng.below(10),
            max_delay: 1 + rng.below(600),
            max_latency: rng.below(300),
        };
        Ok(Sim {
            core: Lockstep::new(config, domain)?,
            clients,
            net: Net::new(CLIENTS, faults),
            rng,
            rooms,
            now: 0,
            admin_request: 0,
            hash: Fnv1a::default(),
            inputs: 0,
            tally: Tally::default(),
        })
    }

    /// The FNV-1a hash of every core output so far (as JSON lines).
    #[must_use]
    pub fn transcript_hash(&self) -> u64 {
        self.hash.finish()
    }

    /// The simulated time.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Applies `input` to the core at `at` and routes its outputs. Due timers fire in a
    /// step of their own first, so a room delta they emit is routed to the room's live
    /// members as they are at its emission, before the input changes anything.
    fn core_input(&mut self, at: u64, input: &Input) -> Result<(), String> {
        let due = self
            .core
            .harness
            .engine
            .poll_timeout()
            .is_some_and(|t| t.as_ms() <= at);
        if due && *input != Input::Tick {
            self.core_step(at, &Input::Tick)?;
        }
        self.core_step(at, input)
    }

    fn core_step(&mut self, at: u64, input: &Input) -> Result<(), String> {
        let wait = at.saturating_sub(self.core.now());
        let out = self.core.step_input(wait, input)?;
        self.inputs += 1;
        self.tally.count(input, &out);
        self.route(&out);
        Ok(())
    }

    /// Sends each output to its session's client; a room-addressed delta goes to the room's
    /// live members (`Engine::room_recipients`), each through its own stream.
    fn route(&mut self, out: &[Stamped]) {
        for s in out {
            if let Ok(line) = serde_json::to_string(s) {
                self.hash.write(line.as_bytes());
                self.hash.write(b"\n");
            }
            let recipients: Vec<SessionId> = match (&s.output, s.output.session()) {
                (_, Some(session)) => vec![session],
                (Output::RoomMembersChanged { room_id, .. }, None) => self
                    .core
                    .harness
                    .engine
                    .room_recipients(*room_id)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for session in recipients {
                let Some(i) = self.clients.iter().position(|c| c.session == session) else {
                    continue;
                };
                let room = s.output.room_id().or_else(|| match &s.output {
                    Output::Reply { request, .. } => self.clients[i].query_room(*request),
                    _ => None,
                });
                let in_window = room.is_some_and(|r| self.core.model.window_open(r));
                let d = Delivered {
                    output: s.output.clone(),
                    in_window,
                };
                self.net.push_to_client(&mut self.rng, s.at.as_ms(), i, d);
            }
        }
    }

    /// Moves time on by one random tick and delivers everything due.
    fn tick(&mut self, max_ms: u64) -> Result<(), String> {
        self.now += self.rng.below(max_ms + 1);
        while let Some((at, _, input)) = self.net.next_to_core(self.now) {
            self.core_input(at, &input)?;
        }
        // Timers due by now fire (their outputs are stamped with their deadlines).
        self.core_input(self.now, &Input::Tick)?;
        for i in 0..self.clients.len() {
            while let Some(d) = self.net.next_to_client(self.now, i) {
                if let Some(room) = self.clients[i].receive(&d.output, d.in_window) {
                    let q = self.clients[i].query(self.now, room);
                    self.net.send(&mut self.rng, self.now, i, q);
                    let users = self.core.domain.users.clone();
                    let q = self.clients[i].query_member_attrs(self.now, room, &users);
                    self.net.send(&mut self.rng, self.now, i, q);
                }
            }
        }
        Ok(())
    }

    /// One step of the faulty phase: time passes, messages arrive, links fail and heal,
    /// clients act and retry, the admin interferes.
    ///
    /// # Errors
    /// The first failed check.
    pub fn step(&mut self) -> Result<(), String> {
        self.tick(MAX_TICK_MS)?;
        let i = usize::try_from(self.rng.below(CLIENTS as u64)).unwrap_or(0);
        match self.rng.below(100) {
            0..=3 if self.net.is_up(i) => {
                self.net.set_up(i, false);
                let session = self.clients[i].session;
                self.core_input(self.now, &Input::LinkLost { session })?;
            }
            4..=9 if !self.net.is_up(i) => {
                self.net.set_up(i, true);
                let session = self.clients[i].session;
                self.core_input(self.now, &Input::LinkRestored { session })?;
            }
            10..=13 => self.admin()?,
            // A client whose list of a large room may be off asks again now and then (a
            // window that nets out sends nothing to prompt it).
            14..=18 if self.clients[i].stale_room().is_some() => {
                if let Some(room) = self.clients[i].stale_room() {
                    let q = self.clients[i].query(self.now, room);
                    self.net.send(&mut self.rng, self.now, i, q);
                }
            }
            _ => {
                let users = &self.core.domain.users;
                if let Some(input) =
                    self.clients[i].act(&mut self.rng, self.now, &self.rooms, users)
                {
                    self.net.send(&mut self.rng, self.now, i, input);
                }
            }
        }
        for i in 0..self.clients.len() {
            for input in self.clients[i].retries(self.now) {
                self.net.send(&mut self.rng, self.now, i, input);
            }
        }
        self.check_views()
    }

    /// One of the service's commands, on a random room and user: two in ten each a dismiss,
    /// a kick, a move to another room and a ban of 1-3 s; one in ten each an unban and a
    /// provisioned room waiting 1-3 s for its first member. Bans and provisioned rooms are
    /// short so that every one of them ends within the liveness run.
    fn admin(&mut self) -> Result<(), String> {
        self.admin_request += 1;
        let request = self.admin_request;
        // Mostly a room with members and one of them (so kicks, moves and bans end
        // memberships), else any room and anyone.
        let engine = &self.core.harness.engine;
        let occupied: Vec<RoomId> = (self.rooms.iter().copied())
            .filter(|r| !engine.room_members(*r).unwrap_or_default().is_empty())
            .collect();
        let pool = if !occupied.is_empty() && self.rng.chance(70) {
            &occupied
        } else {
            &self.rooms
        };
        let Some(room) = self.rng.pick(pool).copied() else {
            return Ok(());
        };
        // Mostly a member of the room (so kicks, moves and bans end memberships), else anyone.
        let members = self
            .core
            .harness
            .engine
            .room_members(room)
            .unwrap_or_default();
        let user = match self.rng.pick(&members).copied() {
            Some(member) if self.rng.chance(70) => member,
            _ => {
                let client = usize::try_from(self.rng.below(CLIENTS as u64)).unwrap_or(0);
                self.clients[client].user
            }
        };
        let users = vec![user];
        let input = match self.rng.below(10) {
            0..=1 => Input::DismissRoom {
                request,
                room_id: room,
            },
            2..=3 => Input::RemoveUsers {
                request,
                room_id: room,
                users,
            },
            4..=5 => {
                let to = self.rng.pick(&self.rooms).copied().unwrap_or(room);
                Input::MoveUsers {
                    request,
                    from: room,
                    to: RoomInfo {
                        id: to,
                        name: RoomName::EMPTY,
                    },
                    users,
                    create_if_missing: self.rng.chance(50),
                    config: None,
                }
            }
            6..=7 => Input::BanUsers {
                request,
                room_id: room,
                users,
                duration_s: 1 + self.rng.below(3),
            },
            8 => Input::UnbanUsers {
                request,
                room_id: room,
                users,
            },
            _ => Input::AdminCreateRoom {
                request,
                room: RoomInfo {
                    id: room,
                    name: RoomName::EMPTY,
                },
                config: Some(RoomConfig {
                    empty_timeout_s: Some(1 + self.rng.below(3)),
                    ..RoomConfig::default()
                }),
            },
        };
        self.core_input(self.now, &input)
    }

    /// Every client that has received everything sent to it sees its rooms as the core
    /// holds them, and the members and member attributes of each room it knows them for
    /// (connected rooms only: a reconnecting client is told what it missed when its link is
    /// back).
    ///
    /// # Errors
    /// The first client whose view is wrong.
    pub fn check_views(&self) -> Result<(), String> {
        let engine = &self.core.harness.engine;
        for (i, c) in self.clients.iter().enumerate() {
            if !self.net.caught_up(i) {
                continue;
            }
            let core_rooms = engine.session_rooms(c.session).unwrap_or_default();
            let view: Vec<(RoomId, RoomState)> =
                c.view.iter().map(|(r, v)| (*r, v.state)).collect();
            let mut core_sorted = core_rooms.clone();
            core_sorted.sort_by_key(|(r, _)| *r);
            if view != core_sorted {
                return Err(format!(
                    "{} at {}: view {view:?}, core {core_sorted:?}",
                    c.session, self.now
                ));
            }
            for (room, v) in &c.view {
                let (Some(members), RoomState::Connected) = (&v.members, v.state) else {
                    continue;
                };
                // While a window is open the client knows the room as it was at the window's
                // start (the delta comes at its end); a list learned inside a window waits
                // for the next answer (see `RoomView::stale`).
                if v.stale || self.core.model.window_open(*room) {
                    continue;
                }
                let core: BTreeSet<UserId> = engine
                    .room_members(*room)
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                if *members != core {
                    return Err(format!(
                        "{} at {}: members of {room}: view {members:?}, core {core:?}",
                        c.session, self.now
                    ));
                }
            }
            for (room, v) in &c.view {
                let (Some(known), RoomState::Connected) = (&v.member_attrs, v.state) else {
                    continue;
                };
                let core = self.core.model.member_attributes(*room).unwrap_or_default();
                if *known != core {
                    return Err(format!(
                        "{} at {}: member attributes of {room}: view {known:?}, core {core:?}",
                        c.session, self.now
                    ));
                }
            }
        }
        Ok(())
    }

    /// Runs `steps` faulty steps.
    ///
    /// # Errors
    /// The first failed check, with the step number.
    pub fn safety(&mut self, steps: u64) -> Result<(), String> {
        for n in 0..steps {
            self.step().map_err(|e| format!("safety step {n}: {e}"))?;
        }
        Ok(())
    }

    /// Heals the network, has every client leave all its rooms (retrying until it is out),
    /// then lets every delay pass: no room, no membership and no pending timer may be left.
    ///
    /// # Errors
    /// What is left, or the first failed check.
    pub fn liveness(&mut self) -> Result<(), String> {
        self.net.faults = Faults::CALM;
        for i in 0..self.clients.len() {
            if !self.net.is_up(i) {
                self.net.set_up(i, true);
                let session = self.clients[i].session;
                self.core_input(self.now, &Input::LinkRestored { session })?;
            }
        }
        // Whatever was outstanding is given up on (late replies are ignored).
        for c in &mut self.clients {
            c.forget_pending();
        }
        for _ in 0..400 {
            self.tick(50)?;
            let engine = &self.core.harness.engine;
            let done = self.net.quiet()
                && self.clients.iter().all(|c| c.view.is_empty() && !c.busy())
                && self.clients.iter().all(|c| {
                    engine
                        .session_rooms(c.session)
                        .unwrap_or_default()
                        .is_empty()
                });
            if done {
                break;
            }
            for i in 0..self.clients.len() {
                if !self.clients[i].view.is_empty() && !self.clients[i].busy() {
                    let input = self.clients[i].leave_all(self.now);
                    self.net.send(&mut self.rng, self.now, i, input);
                }
            }
            self.check_views()?;
        }
        // Every delay passes: destroy delays (at most 2 s here), grace, tombstones.
        let c = self.core.harness.engine.config().clone();
        let longest = 10_000 + c.reconnect_grace_ms.max(c.closed_session_ttl_ms);
        self.now += longest;
        self.core_input(self.now, &Input::Tick)?;
        let e = &self.core.harness.engine;
        let in_rooms: Vec<SessionId> = self
            .clients
            .iter()
            .filter(|c| !e.session_rooms(c.session).unwrap_or_default().is_empty())
            .map(|c| c.session)
            .collect();
        if e.room_count() != 0 || !in_rooms.is_empty() || e.pending_timers() != 0 {
            let clients: Vec<String> = self
                .clients
                .iter()
                .map(|c| {
                    format!(
                        "{}: logged in {}, busy {}, view {:?}, core {:?}",
                        c.session,
                        c.logged_in,
                        c.busy(),
                        c.view,
                        e.session_rooms(c.session)
                    )
                })
                .collect();
            return Err(format!(
                "after everyone left: {} rooms, sessions still in rooms {in_rooms:?}, {} timers\n{}",
                e.room_count(),
                e.pending_timers(),
                clients.join("\n")
            ));
        }
        Ok(())
    }

    /// Every output so far is also kept by the core when asked (for replay comparisons).
    pub fn keep_outputs(&mut self) {
        self.core.keep_outputs = true;
    }

    /// The outputs kept so far (see [`Sim::keep_outputs`]).
    #[must_use]
    pub fn outputs(&self) -> &[Stamped] {
        &self.core.outputs
    }
}
