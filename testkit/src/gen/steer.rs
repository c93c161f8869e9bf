//! The generator of the lockstep property test, `roomcore gen` and `roomcore conform`: a
//! random config of small limits, then commands of the small-domain alphabet
//! ([`crate::cmd`]), steered by a reference model run ahead so most commands reach past the
//! first checks (live sessions, existing rooms, rooms the caller is in) while some still
//! name the wrong session, room or user, or an invalid one.

use super::groups::{Group, Groups};
use crate::cmd::{Cmd, Domain};
use crate::model::Model;
use proptest::prelude::*;
use proptest::strategy::Union;
use roomcore::config::{Config, DevicePolicy};
use roomcore::input::Input;
use roomcore::time::Millis;

/// Indexes into `Domain::standard()`: 4 valid sessions then an invalid one, 3 valid users
/// then an invalid one, 3 valid rooms then an invalid one.
const SESSIONS: u8 = 4;
const USERS: u8 = 3;
const ROOMS: u8 = 3;

/// The generator's state: the configuration and a model run ahead of whatever consumes the
/// commands, only to steer generation towards live sessions and existing rooms (most random
/// commands would otherwise answer `not_logged_in`).
#[derive(Debug, Clone)]
pub struct Steer {
    /// The engine config of the sequence.
    pub config: Config,
    /// The steering model.
    pub model: Model,
    /// The time reached, in ms.
    pub now: u64,
}

impl Steer {
    /// A fresh state for `config`.
    ///
    /// # Panics
    /// If `config` is invalid (the config strategy only makes valid ones).
    #[must_use]
    pub fn new(config: Config) -> Steer {
        Steer {
            model: Model::new(config.clone()).expect("the config strategy makes valid configs"),
            config,
            now: 0,
        }
    }

    /// Applies a command to the steering model (request numbers and cursors do not matter
    /// to the steering).
    pub fn apply(&mut self, cmd: &Cmd) {
        self.now += cmd.wait_ms();
        let input = cmd
            .to_input(&Domain::standard(), 0, &mut |_, _| String::new())
            .unwrap_or(Input::Tick);
        self.model
            .handle_input(Millis(self.now), &input, &mut Vec::new());
    }

    /// The next command, from the commands of `groups`.
    pub fn transitions(&self, groups: &Groups) -> BoxedStrategy<Cmd> {
        let m = Menus::new(&self.model);
        let mut options: Vec<(u32, BoxedStrategy<Cmd>)> = Vec::new();
        for g in groups.iter() {
            options.extend(match g {
                Group::Core => core(&m),
                Group::Net => net(&m),
                Group::Attrs => attrs(&m),
                Group::Service => service(&m),
            });
        }
        Union::new_weighted(options).boxed()
    }
}

/// The initial state: a random config of small limits (see [`config_strategy`]).
pub fn init_state(groups: &Groups) -> BoxedStrategy<Steer> {
    let multi_allowed = groups.has(Group::Net);
    let service = groups.has(Group::Service);
    (config_strategy(), service_strategy())
        .prop_map(move |(mut config, knobs)| {
            if !multi_allowed {
                config.device_policy = DevicePolicy::Single;
            }
            if service {
                knobs.apply(&mut config);
            }
            Steer::new(config)
        })
        .boxed()
}

/// The service's config knobs: service events on in half the cases; clients may create
/// rooms in most; a ban limit of 2 (reached) or the default; the `reject_new` device policy
/// sometimes.
#[derive(Debug, Clone, Copy)]
struct ServiceKnobs {
    events: bool,
    clients_create: bool,
    max_bans: u32,
    reject_new: bool,
}

impl ServiceKnobs {
    fn apply(self, c: &mut Config) {
        c.service_events = self.events;
        c.clients_create_rooms = self.clients_create;
        c.max_bans = self.max_bans;
        if self.reject_new {
            c.device_policy = DevicePolicy::RejectNew;
        }
    }
}

fn service_strategy() -> impl Strategy<Value = ServiceKnobs> {
    (
        any::<bool>(),
        prop_oneof![4 => Just(true), 1 => Just(false)],
        prop::sample::select(vec![2u32, 100_000]),
        prop_oneof![5 => Just(false), 1 => Just(true)],
    )
        .prop_map(
            |(events, clients_create, max_bans, reject_new)| ServiceKnobs {
                events,
                clients_create,
                max_bans,
                reject_new,
            },
        )
}

/// Configs with small limits, so they are hit: rooms, members, rooms per session, sessions
/// (2, or a value never reached), grace and closed-session times the waits cross, one or
/// two messages per second, small member attribute limits in half the cases, large-room
/// coalescing in half the cases; both device policies.
pub fn config_strategy() -> BoxedStrategy<Config> {
    (
        any::<bool>(),
        // A limit of 1 is hit by the second room or membership, so `server_room_limit` and
        // `joined_room_limit` come up in many traces, not one in hundreds.
        prop::sample::select(vec![1u32, 2, 1000]),
        prop::sample::select(vec![2u32, 100]),
        prop::sample::select(vec![1u32, 2, 5]),
        prop::sample::select(vec![1000u64, 2000, 3000]),
        prop::sample::select(vec![0u64, 2000, 5000]),
        prop::sample::select(vec![1u32, 2, 100]),
        prop::sample::select(vec![3u32, 100]),
        prop::sample::select(vec![0u32, 1]),
        prop::sample::select(vec![2u32, 50]),
        member_limits_strategy(),
        batch_strategy(),
    )
        .prop_map(
            |(
                multi,
                rooms,
                members,
                per_session,
                grace,
                ttl,
                tombs,
                sessions,
                rate,
                kicks,
                ma,
                batch,
            )| {
                Config {
                    device_policy: if multi {
                        DevicePolicy::Multi
                    } else {
                        DevicePolicy::Single
                    },
                    max_rooms: rooms,
                    max_members_per_room: members,
                    max_rooms_per_session: per_session,
                    reconnect_grace_ms: grace,
                    closed_session_ttl_ms: ttl,
                    max_closed_sessions: tombs,
                    max_sessions: sessions,
                    message_rate_per_s: rate,
                    message_burst: 2,
                    message_max_bytes: 16,
                    attributes_total_max_bytes: 1000,
                    max_kick_users: kicks,
                    max_member_attributes: ma.0,
                    member_attributes_max_room_members: ma.1,
                    member_attributes_max_users: ma.2,
                    member_notify_threshold: batch.0,
                    member_batch_interval_ms: batch.1,
                    ..Config::default()
                }
            },
        )
        .boxed()
}

/// Large rooms: half the cases keep the default threshold (500: never reached, every change
/// an exact event); the others batch constantly (threshold 0, 1 or 2 against rooms of up to
/// 4 users) with windows that the `WAITS` land before, on and after (1 ms, 1 s, 2 s).
fn batch_strategy() -> impl Strategy<Value = (u32, u64)> {
    prop_oneof![
        3 => Just((500u32, 1000u64)),
        3 => (
            prop::sample::select(vec![0u32, 1, 2]),
            prop::sample::select(vec![1u64, 1000, 2000]),
        ),
    ]
}

/// Member attribute limits: keys per member (ZIM's 30, or 2 so the count is hit), room size
/// (500, or 1 so a room of two refuses sets), users per call (100, or 2). Key, value and
/// total sizes keep ZIM's 8, 64 and 144 bytes, which the command menus reach.
fn member_limits_strategy() -> impl Strategy<Value = (u32, u32, u32)> {
    (
        prop::sample::select(vec![2u32, 30]),
        prop::sample::select(vec![1u32, 500]),
        prop::sample::select(vec![2u32, 100]),
    )
}

/// Mostly one of `preferred`, sometimes any index below `valid`, rarely the invalid one.
fn biased(preferred: Vec<u8>, valid: u8) -> BoxedStrategy<u8> {
    if preferred.is_empty() {
        prop_oneof![9 => 0..valid, 1 => Just(valid)].boxed()
    } else {
        prop_oneof![24 => prop::sample::select(preferred), 3 => 0..valid, 1 => Just(valid)].boxed()
    }
}

/// The `user_ids` menu of member attribute calls (see `Domain::member_users`): mostly absent
/// (the caller) or one or two valid users, sometimes a repeat, the invalid user, an empty
/// list or more users than a call may name.
fn member_users() -> BoxedStrategy<u8> {
    prop_oneof![
        4 => Just(0u8),
        4 => 1u8..8,
        1 => prop::sample::select(vec![0x80u8, 0x81, 0x83, 0x08, 0x0f, 0x8f]),
    ]
    .boxed()
}

/// The argument strategies of one step, read from the steering model.
struct Menus {
    /// A session: mostly a live one.
    s: BoxedStrategy<u8>,
    /// A session to log in: mostly an idle one.
    fresh: BoxedStrategy<u8>,
    /// A room: mostly an existing one.
    r: BoxedStrategy<u8>,
    /// A (session, room) pair: mostly one where the session is in the room, which leave,
    /// switch, paging, attributes and messages need to get past the membership check.
    sr: BoxedStrategy<(u8, u8)>,
    /// A user: rarely the invalid one.
    u: BoxedStrategy<u8>,
    /// The weight of login: high until two sessions are live.
    login: u32,
    /// The weight of create and enter: high while no room exists.
    make: u32,
}

impl Menus {
    fn new(m: &Model) -> Menus {
        let d = Domain::standard();
        let live: Vec<u8> = (0..SESSIONS)
            .filter(|i| m.session_user(d.session(*i)).is_some())
            .collect();
        let idle: Vec<u8> = (0..SESSIONS).filter(|i| !live.contains(i)).collect();
        let rooms: Vec<u8> = (0..ROOMS).filter(|i| m.room_exists(d.room(*i))).collect();
        let mut joined: Vec<(u8, u8)> = Vec::new();
        for s in &live {
            let mine = m.session_rooms(d.session(*s)).unwrap_or_default();
            for r in 0..ROOMS {
                if mine.iter().any(|(x, _)| *x == d.room(r)) {
                    joined.push((*s, r));
                }
            }
        }
        let s = biased(live.clone(), SESSIONS);
        let r = biased(rooms.clone(), ROOMS);
        let sr = if joined.is_empty() {
            (s.clone(), r.clone()).boxed()
        } else {
            prop_oneof![3 => prop::sample::select(joined), 1 => (s.clone(), r.clone())].boxed()
        };
        Menus {
            fresh: biased(idle, SESSIONS),
            u: prop_oneof![9 => 0..USERS, 1 => Just(USERS)].boxed(),
            login: if live.len() < 2 { 30 } else { 5 },
            make: if rooms.is_empty() { 12 } else { 5 },
            s,
            r,
            sr,
        }
    }
}

type Weighted = Vec<(u32, BoxedStrategy<Cmd>)>;

/// Time, sessions, room flows, paging, admin kick and dismiss.
fn core(m: &Menus) -> Weighted {
    let (s, r, sr) = (&m.s, &m.r, &m.sr);
    vec![
        (10, (0u8..10).prop_map(Cmd::Wait).boxed()),
        (
            m.login,
            (m.fresh.clone(), m.u.clone())
                .prop_map(|(s, u)| Cmd::Login(s, u))
                .boxed(),
        ),
        (2, s.clone().prop_map(Cmd::Logout).boxed()),
        (
            m.make,
            (s.clone(), r.clone(), any::<u8>())
                .prop_map(|(s, r, o)| Cmd::Create(s, r, o))
                .boxed(),
        ),
        (
            8,
            (s.clone(), r.clone())
                .prop_map(|(s, r)| Cmd::Join(s, r))
                .boxed(),
        ),
        (
            m.make,
            (s.clone(), r.clone(), any::<u8>())
                .prop_map(|(s, r, o)| Cmd::Enter(s, r, o))
                .boxed(),
        ),
        (
            8,
            (sr.clone(), r.clone(), any::<bool>(), any::<u8>())
                .prop_map(|((s, a), b, c, o)| Cmd::Switch(s, a, b, c, o))
                .boxed(),
        ),
        (5, sr.clone().prop_map(|(s, r)| Cmd::Leave(s, r)).boxed()),
        (2, s.clone().prop_map(Cmd::LeaveAll).boxed()),
        (
            4,
            (sr.clone(), 0u8..5, prop_oneof![8 => 0u8..3, 1 => 3u8..5])
                .prop_map(|((s, r), c, n)| Cmd::Query(s, r, c, n))
                .boxed(),
        ),
        (
            3,
            (r.clone(), any::<u8>())
                .prop_map(|(r, m)| Cmd::Kick(r, m))
                .boxed(),
        ),
        (2, r.clone().prop_map(Cmd::Dismiss).boxed()),
    ]
}

/// The service's surface.
fn service(m: &Menus) -> Weighted {
    let (r, sr) = (&m.r, &m.sr);
    vec![
        (
            2,
            sr.clone()
                .prop_map(|(s, r)| Cmd::QueryRoomAttrs(s, r))
                .boxed(),
        ),
        (
            2,
            sr.clone().prop_map(|(s, r)| Cmd::OnlineCount(s, r)).boxed(),
        ),
        (
            m.make,
            (r.clone(), any::<u8>())
                .prop_map(|(r, o)| Cmd::AdminCreate(r, o))
                .boxed(),
        ),
        (
            2,
            (0u8..5, prop_oneof![8 => 0u8..3, 1 => 3u8..5])
                .prop_map(|(c, n)| Cmd::ListRooms(c, n))
                .boxed(),
        ),
        (1, r.clone().prop_map(Cmd::QueryRoom).boxed()),
        (
            2,
            (r.clone(), 0u8..8, 0u8..4)
                .prop_map(|(r, w, k)| Cmd::AdminAttrs(r, w, k))
                .boxed(),
        ),
        (
            4,
            (
                r.clone(),
                r.clone(),
                any::<u8>(),
                any::<bool>(),
                any::<u8>(),
            )
                .prop_map(|(a, b, m, c, o)| Cmd::Move(a, b, m, c, o))
                .boxed(),
        ),
        (
            3,
            (r.clone(), any::<u8>(), 0u8..5)
                .prop_map(|(r, m, t)| Cmd::Ban(r, m, t))
                .boxed(),
        ),
        (
            2,
            (r.clone(), any::<u8>())
                .prop_map(|(r, m)| Cmd::Unban(r, m))
                .boxed(),
        ),
    ]
}

/// Transport events.
fn net(m: &Menus) -> Weighted {
    vec![
        (4, m.s.clone().prop_map(Cmd::LinkLost).boxed()),
        (4, m.s.clone().prop_map(Cmd::LinkRestored).boxed()),
    ]
}

/// Room attributes, messages, member attributes.
fn attrs(m: &Menus) -> Weighted {
    let sr = &m.sr;
    vec![
        (
            4,
            (sr.clone(), 0u8..8, 0u8..8)
                .prop_map(|((s, r), w, f)| Cmd::SetAttrs(s, r, w, f))
                .boxed(),
        ),
        (
            3,
            (sr.clone(), 0u8..4, any::<bool>())
                .prop_map(|((s, r), w, f)| Cmd::DelAttrs(s, r, w, f))
                .boxed(),
        ),
        (
            4,
            (sr.clone(), 0u8..3)
                .prop_map(|((s, r), p)| Cmd::Send(s, r, p))
                .boxed(),
        ),
        (
            4,
            (sr.clone(), 0u8..10, member_users())
                .prop_map(|((s, r), w, u)| Cmd::SetMemberAttrs(s, r, w, u))
                .boxed(),
        ),
        (
            3,
            (sr.clone(), 0u8..6, member_users())
                .prop_map(|((s, r), w, u)| Cmd::DelMemberAttrs(s, r, w, u))
                .boxed(),
        ),
        (
            2,
            (sr.clone(), member_users())
                .prop_map(|((s, r), u)| Cmd::QueryMemberAttrs(s, r, u))
                .boxed(),
        ),
    ]
}
