//! Shared by the benches: a seeded generator, 32-byte ids, an engine driven only through its
//! public API, and the steady-state churn workloads. Each bench uses part of it.
#![allow(dead_code)]

pub mod naive;

use naive::Naive;

use roomcore::{
    Config, Engine, Input, Millis, Outcome, Output, Outputs, RoomId, RoomInfo, SessionId, Stamped,
    UserId,
};

/// splitmix64: tiny, seeded, the same sequence on every machine. No randomness from the OS.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough below `n` (n far below 2^64).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut v: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
        v
    }
}

/// Whether criterion runs in test mode (`cargo bench -- --test`, or `cargo test --benches`,
/// which passes no `--bench`): each bench runs once, so sizes are cut to keep it quick.
pub fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench")
}

/// `n`, or at most `cap` in test mode.
pub fn size(n: usize, cap: usize) -> usize {
    if test_mode() {
        n.min(cap)
    } else {
        n
    }
}

/// A 32-byte id: `prefix`, zero padding, then `i` in 16 hex digits. Cheap to build (no
/// formatting machinery), so building ids costs the floor and the engine alike.
pub fn id32(prefix: u8, i: u64) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [b'0'; 32];
    b[0] = prefix;
    for k in 0..16 {
        b[31 - k] = HEX[((i >> (4 * k)) & 0xf) as usize];
    }
    b
}

fn text(b: &[u8; 32]) -> &str {
    std::str::from_utf8(b).expect("id32 writes ASCII only")
}

/// A 32-byte id as text on the stack, for the hand-written baseline (which takes `&str`
/// ids, as from the wire, and allocates only what it stores).
pub struct IdText([u8; 32]);

impl IdText {
    pub fn as_str(&self) -> &str {
        text(&self.0)
    }
}

impl std::ops::Deref for IdText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

pub fn room_id_text(i: u64) -> IdText {
    IdText(id32(b'r', i))
}

pub fn session_id_text(i: u64) -> IdText {
    IdText(id32(b's', i))
}

pub fn user_id_text(i: u64) -> IdText {
    IdText(id32(b'u', i))
}

pub fn room_id(i: u64) -> RoomId {
    RoomId::new(text(&id32(b'r', i)))
}

pub fn session_id(i: u64) -> SessionId {
    SessionId::new(text(&id32(b's', i)))
}

pub fn user_id(i: u64) -> UserId {
    UserId::new(text(&id32(b'u', i)))
}

/// Limits far above every workload here; the rest are the defaults.
pub fn big_config() -> Config {
    Config {
        max_rooms: 4_000_000,
        max_members_per_room: 1_000_000,
        max_sessions: 20_000_000,
        ..Config::default()
    }
}

/// An engine, its reused output buffer, the clock and request numbers.
pub struct World {
    pub engine: Engine,
    pub out: Outputs,
    pub now: u64,
    request: u64,
    /// The name every created room gets (empty unless a figure asks for names).
    pub room_name: String,
}

impl World {
    pub fn new(config: Config) -> World {
        World {
            engine: Engine::new(config).expect("the bench config is valid"),
            out: Outputs::new(),
            now: 0,
            request: 0,
            room_name: String::new(),
        }
    }

    /// Feeds one input; its outputs replace the previous ones in `out`.
    pub fn input(&mut self, input: &Input) {
        self.out.clear();
        self.engine
            .handle_input(Millis(self.now), input, &mut self.out);
    }

    fn request(&mut self) -> u64 {
        self.request += 1;
        self.request
    }

    /// Panics unless the last output is an ok reply: a bench must not time refusals.
    pub fn expect_ok(&self) {
        let ok = matches!(
            self.out.as_slice().last(),
            Some(Stamped {
                output: Output::Reply {
                    outcome: Outcome::Ok(_),
                    ..
                },
                ..
            })
        );
        assert!(
            ok,
            "expected an ok reply, got {:?}",
            self.out.as_slice().last()
        );
    }

    pub fn login(&mut self, s: u64) {
        let input = Input::Login {
            session: session_id(s),
            request: self.request(),
            user: user_id(s),
        };
        self.input(&input);
        self.expect_ok();
    }

    pub fn create(&mut self, s: u64, r: u64, destroy_delay_s: u64) {
        let config = (destroy_delay_s > 0).then(|| roomcore::RoomConfig {
            destroy_delay_s,
            ..roomcore::RoomConfig::default()
        });
        let input = Input::CreateRoom {
            session: session_id(s),
            request: self.request(),
            room: RoomInfo {
                id: room_id(r),
                name: self.room_name.as_str().into(),
            },
            config,
        };
        self.input(&input);
        self.expect_ok();
    }

    pub fn join(&mut self, s: u64, r: u64) {
        let input = Input::JoinRoom {
            session: session_id(s),
            request: self.request(),
            room_id: room_id(r),
        };
        self.input(&input);
        self.expect_ok();
    }

    pub fn leave(&mut self, s: u64, r: u64) {
        let input = Input::LeaveRoom {
            session: session_id(s),
            request: self.request(),
            room_id: room_id(r),
        };
        self.input(&input);
        self.expect_ok();
    }

    pub fn switch(&mut self, s: u64, from: u64, to: u64) {
        let input = Input::SwitchRoom {
            session: session_id(s),
            request: self.request(),
            from: room_id(from),
            to: RoomInfo {
                id: room_id(to),
                name: roomcore::RoomName::EMPTY,
            },
            create_if_missing: false,
            config: None,
        };
        self.input(&input);
        self.expect_ok();
    }
}

/// A room's members in join order, as the bench tracks them (no engine getter in the
/// loop: those allocate). Rooms here hold 8 or 9 members.
#[derive(Clone, Copy, Default)]
struct Ring {
    head: u8,
    len: u8,
    slots: [u32; 10],
}

impl Ring {
    fn push(&mut self, s: u32) {
        let i = (usize::from(self.head) + usize::from(self.len)) % self.slots.len();
        self.slots[i] = s;
        self.len += 1;
    }

    fn pop(&mut self) -> u32 {
        let s = self.slots[usize::from(self.head)];
        self.head = ((usize::from(self.head) + 1) % self.slots.len()) as u8;
        self.len -= 1;
        s
    }
}

/// What the churn workload drives: roomcore (through [`World`]) or the hand-written
/// baseline ([`Naive`]), with the same commands in the same order.
pub trait Registry {
    fn login(&mut self, s: u64);
    fn create(&mut self, s: u64, r: u64);
    fn join(&mut self, s: u64, r: u64);
    fn leave(&mut self, s: u64, r: u64);
    fn switch(&mut self, s: u64, from: u64, to: u64);
    /// Outputs of the last command.
    fn outputs(&self) -> usize;
}

impl Registry for World {
    fn login(&mut self, s: u64) {
        World::login(self, s);
    }
    fn create(&mut self, s: u64, r: u64) {
        World::create(self, s, r, 0);
    }
    fn join(&mut self, s: u64, r: u64) {
        World::join(self, s, r);
    }
    fn leave(&mut self, s: u64, r: u64) {
        World::leave(self, s, r);
    }
    fn switch(&mut self, s: u64, from: u64, to: u64) {
        World::switch(self, s, from, to);
    }
    /// Deliveries, as the baseline counts them: a member event counts once per recipient.
    fn outputs(&self) -> usize {
        self.out.expanded_len()
    }
}

impl Registry for Naive {
    fn login(&mut self, s: u64) {
        Naive::login(self, s);
    }
    fn create(&mut self, s: u64, r: u64) {
        Naive::create(self, s, r);
    }
    fn join(&mut self, s: u64, r: u64) {
        Naive::join(self, s, r);
    }
    fn leave(&mut self, s: u64, r: u64) {
        Naive::leave(self, s, r);
    }
    fn switch(&mut self, s: u64, from: u64, to: u64) {
        Naive::switch(self, s, from, to);
    }
    fn outputs(&self) -> usize {
        self.out.len()
    }
}

/// `rooms` rooms of 8 members each (members drawn at random from the sessions, so a room's
/// sessions are scattered in memory as after long churn), except one room of 9, plus one
/// spare session in no room. Every step keeps that shape: all rooms at 8 but one at 9.
pub struct Churn<W = World> {
    pub world: W,
    rooms: Vec<Ring>,
    /// A logged-in session in no room (join/leave churn).
    spare: u32,
    /// The room holding 9.
    full: u32,
    rng: Rng,
}

impl Churn<World> {
    /// The workload on roomcore.
    pub fn new(rooms: usize) -> Churn<World> {
        Churn::with(World::new(big_config()), rooms)
    }

    /// The same, every room created with a 24-byte name.
    pub fn named(rooms: usize) -> Churn<World> {
        let mut world = World::new(big_config());
        world.room_name = "a room with a name 24 B.".to_owned();
        Churn::with(world, rooms)
    }
}

impl Churn<World> {
    /// The same, runs of recipients kept as session handles (`Outputs::with_handles`): what
    /// an embedder that routes by handle pays, no recipient's id read.
    pub fn handles(rooms: usize) -> Churn<World> {
        let mut world = World::new(big_config());
        world.out = Outputs::with_handles();
        Churn::with(world, rooms)
    }
}

impl Churn<Naive> {
    /// The same workload on the hand-written baseline.
    pub fn naive(rooms: usize) -> Churn<Naive> {
        Churn::with(Naive::default(), rooms)
    }
}

impl<W: Registry> Churn<W> {
    fn with(mut world: W, rooms: usize) -> Churn<W> {
        let mut rng = Rng::new(0x5EED_0000 + rooms as u64);
        let sessions = rooms * 8 + 2;
        for s in 0..sessions {
            world.login(s as u64);
        }
        let order = rng.permutation(sessions);
        let mut rings = vec![Ring::default(); rooms];
        for (k, &s) in order[..rooms * 8].iter().enumerate() {
            let r = k / 8;
            if k % 8 == 0 {
                world.create(u64::from(s), r as u64);
            } else {
                world.join(u64::from(s), r as u64);
            }
            rings[r].push(s);
        }
        let full = rng.below(rooms as u64) as u32;
        let ninth = order[rooms * 8];
        world.join(u64::from(ninth), u64::from(full));
        rings[full as usize].push(ninth);
        Churn {
            world,
            rooms: rings,
            spare: order[rooms * 8 + 1],
            full,
            rng,
        }
    }

    fn other_room(&mut self, not: u32) -> u32 {
        let n = self.rooms.len() as u64;
        loop {
            let r = self.rng.below(n) as u32;
            if r != not || n == 1 {
                return r;
            }
        }
    }

    /// One join/leave pair: the spare session joins a random room, then the oldest member
    /// of the room holding 9 leaves (and becomes the spare).
    /// Returns the outputs of the join and of the leave.
    pub fn join_leave(&mut self) -> (usize, usize) {
        let a = self.other_room(self.full);
        self.world.join(u64::from(self.spare), u64::from(a));
        let joined = self.world.outputs();
        self.rooms[a as usize].push(self.spare);
        let leaver = self.rooms[self.full as usize].pop();
        self.world.leave(u64::from(leaver), u64::from(self.full));
        self.spare = leaver;
        self.full = a;
        (joined, self.world.outputs())
    }

    /// One switch: the oldest member of the room holding 9 switches to a random other room.
    /// Returns its outputs.
    pub fn switch(&mut self) -> usize {
        let from = self.full;
        let to = self.other_room(from);
        let s = self.rooms[from as usize].pop();
        self.world
            .switch(u64::from(s), u64::from(from), u64::from(to));
        self.rooms[to as usize].push(s);
        self.full = to;
        self.world.outputs()
    }

    /// Outputs of the last input.
    pub fn outputs(&self) -> usize {
        self.world.outputs()
    }
}

/// One room of `members` members (joined in a random order of session slots), and one
/// spare session; each step the spare joins and the oldest member leaves, and the clock
/// moves 1 ms, so a large room's coalescing window (1 s by default) closes every 1,000
/// steps and its flush is part of the measured cost.
pub struct LargeRoom {
    pub world: World,
    order: std::collections::VecDeque<u32>,
    spare: u32,
}

impl LargeRoom {
    pub fn new(members: usize) -> LargeRoom {
        LargeRoom::with(members, big_config())
    }

    /// The same with every change told to every member one by one (no coalescing).
    pub fn naive(members: usize) -> LargeRoom {
        let config = Config {
            member_notify_threshold: u32::MAX,
            ..big_config()
        };
        LargeRoom::with(members, config)
    }

    fn with(members: usize, config: Config) -> LargeRoom {
        let mut rng = Rng::new(0x1A26E + members as u64);
        let mut world = World::new(config);
        for s in 0..=members {
            world.login(s as u64);
        }
        let perm = rng.permutation(members + 1);
        let mut order = std::collections::VecDeque::with_capacity(members + 1);
        for (k, &s) in perm[..members].iter().enumerate() {
            if k == 0 {
                world.create(u64::from(s), 0, 0);
            } else {
                world.join(u64::from(s), 0);
            }
            order.push_back(s);
        }
        LargeRoom {
            world,
            order,
            spare: perm[members],
        }
    }

    /// One join/leave pair; returns the outputs of both.
    pub fn step(&mut self) -> usize {
        self.world.now += 1;
        self.world.join(u64::from(self.spare), 0);
        let joined = self.world.out.expanded_len();
        self.order.push_back(self.spare);
        let leaver = self.order.pop_front().expect("the room is never empty");
        self.world.leave(u64::from(leaver), 0);
        self.spare = leaver;
        joined + self.world.out.expanded_len()
    }
}
