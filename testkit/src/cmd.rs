//! A small-domain command alphabet shared by the property tests, the explorer and the fuzzer.
//!
//! Each [`Cmd`] names sessions, users and rooms by small indexes into a [`Domain`], so that
//! random sequences collide on the same ids (the interesting cases), and picks arguments from
//! short menus that include invalid values (bad ids, overlong names, out-of-range configs,
//! bad page sizes and cursors, oversized attributes and payloads). Indexes wrap, so any byte
//! is a valid choice (which is what the fuzzer needs).
//!
//! Not covered by this alphabet: inputs added after the model was written (the model ignores
//! them), and message payloads over 32 KiB other than the one oversized menu entry.
//! Member attribute commands are covered (set, delete, query, with user lists that name
//! the caller, other users, repeats, an invalid id, none, or too many).

use roomcore::config::RoomConfig;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::{Input, RequestId, RoomInfo};
use std::collections::BTreeMap;

/// One abstract command. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, arbitrary::Arbitrary)]
#[allow(missing_docs)]
pub enum Cmd {
    /// Time passes by `WAITS[i]` ms (then a `tick`).
    Wait(u8),
    Login(u8, u8),
    Logout(u8),
    LinkLost(u8),
    LinkRestored(u8),
    /// session, room, options (config menu: low 4 bits; name menu: high 3 bits).
    Create(u8, u8, u8),
    Join(u8, u8),
    Enter(u8, u8, u8),
    /// session, from, to, create_if_missing, options.
    Switch(u8, u8, u8, bool, u8),
    Leave(u8, u8),
    LeaveAll(u8),
    /// session, room, cursor menu, count menu.
    Query(u8, u8, u8, u8),
    /// session, room, attribute menu, flag bits (force, update owner, delete after left).
    SetAttrs(u8, u8, u8, u8),
    /// session, room, key menu, force.
    DelAttrs(u8, u8, u8, bool),
    /// session, room, payload menu.
    Send(u8, u8, u8),
    /// room, bit set of users (bit 7: repeat the first user).
    Kick(u8, u8),
    Dismiss(u8),
    /// session, room, member attribute menu, user list menu (see [`Domain::member_users`]).
    SetMemberAttrs(u8, u8, u8, u8),
    /// session, room, member key menu, user list menu.
    DelMemberAttrs(u8, u8, u8, u8),
    /// session, room, user list menu.
    QueryMemberAttrs(u8, u8, u8),
    /// session, room.
    QueryRoomAttrs(u8, u8),
    /// session, room.
    OnlineCount(u8, u8),
    /// Admin: room, options (admin config menu: low 3 bits; name menu: high 3 bits).
    AdminCreate(u8, u8),
    /// Admin: cursor menu (the last room-list cursor, or a member cursor as "another"),
    /// count menu.
    ListRooms(u8, u8),
    /// Admin: room.
    QueryRoom(u8),
    /// Admin: room, attribute menu (set), key menu (delete).
    AdminAttrs(u8, u8, u8),
    /// Admin: from, to, user bit set (as a kick), create_if_missing, options.
    Move(u8, u8, u8, bool, u8),
    /// Admin: room, user bit set, duration menu.
    Ban(u8, u8, u8),
    /// Admin: room, user bit set.
    Unban(u8, u8),
}

/// Ban durations, in seconds: within the test waits, longer, and the two invalid ones.
pub const BAN_DURATIONS_S: [u64; 5] = [1, 2, 60, 0, 604_801];

/// The key the room list's cursors are kept under, beside the per-room member cursors.
#[must_use]
pub fn room_list_key() -> RoomId {
    RoomId::new("#rooms")
}

/// Time steps, chosen to land just before, on and after the delays the test configs use.
pub const WAITS: [u64; 10] = [0, 1, 250, 999, 1000, 1001, 1999, 2000, 3000, 7000];

/// Page sizes: valid ones and the two just outside 1..=100.
pub const COUNTS: [u32; 5] = [1, 2, 100, 0, 101];

/// The ids commands pick from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Session ids.
    pub sessions: Vec<SessionId>,
    /// User ids.
    pub users: Vec<UserId>,
    /// Room ids.
    pub rooms: Vec<RoomId>,
    /// Whether the option menus include invalid values.
    pub invalid: bool,
}

fn ids<T>(names: &[&str], f: fn(&str) -> T) -> Vec<T> {
    names.iter().map(|n| f(n)).collect()
}

impl Domain {
    /// Four sessions, three users, three rooms, each list with one invalid id at the end.
    #[must_use]
    pub fn standard() -> Domain {
        let long = "x".repeat(33);
        Domain {
            sessions: ids(&["s1", "s2", "s3", "s4", "bad session"], SessionId::new),
            users: ids(&["alice", "bob", "carol", &long], UserId::new),
            rooms: ids(&["r1", "r2", "r3", ""], RoomId::new),
            invalid: true,
        }
    }

    /// [`Domain::standard`] with ids that survive being written to a trace: an id over 32
    /// bytes is written as its first 32 bytes (ids are stored inline), which reads back as
    /// a valid id, so the invalid user here has a space in it instead. What `roomcore gen`
    /// writes.
    #[must_use]
    pub fn portable() -> Domain {
        let mut d = Domain::standard();
        if let Some(u) = d.users.last_mut() {
            *u = UserId::new("bad user");
        }
        d
    }

    /// Only valid ids: `sessions` sessions (users paired as alice, alice, bob, carol, ... so
    /// the first two are devices of one user) and `rooms` rooms.
    #[must_use]
    pub fn small(sessions: usize, rooms: usize) -> Domain {
        let s: Vec<String> = (1..=sessions).map(|i| format!("s{i}")).collect();
        let r: Vec<String> = (1..=rooms).map(|i| format!("r{i}")).collect();
        Domain {
            sessions: s.iter().map(|x| SessionId::new(x)).collect(),
            users: ids(&["alice", "bob", "carol", "dave", "erin"], UserId::new),
            rooms: r.iter().map(|x| RoomId::new(x)).collect(),
            invalid: false,
        }
    }

    /// The session at index `i` (wrapping).
    #[must_use]
    pub fn session(&self, i: u8) -> SessionId {
        pick(&self.sessions, i).unwrap_or_else(|| SessionId::new("s1"))
    }

    /// The user at index `i` (wrapping).
    #[must_use]
    pub fn user(&self, i: u8) -> UserId {
        pick(&self.users, i).unwrap_or_else(|| UserId::new("alice"))
    }

    /// The room at index `i` (wrapping).
    #[must_use]
    pub fn room(&self, i: u8) -> RoomId {
        pick(&self.rooms, i).unwrap_or_else(|| RoomId::new("r1"))
    }

    /// A room name from the menu: mostly valid, sometimes empty or one byte too long.
    #[must_use]
    pub fn name(&self, room: RoomId, opts: u8) -> String {
        match opts >> 5 {
            6 => String::new(),
            7 if self.invalid => "n".repeat(65),
            _ => format!("Room {room}"),
        }
    }

    /// A room config from the menu.
    #[must_use]
    pub fn room_config(&self, opts: u8) -> Option<RoomConfig> {
        let delay = |s: u64| RoomConfig {
            destroy_delay_s: s,
            ..RoomConfig::default()
        };
        let attrs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        match opts % 16 {
            0 | 6 => None,
            1 | 7 => Some(delay(0)),
            2 | 8 | 9 => Some(delay(1)),
            3 | 10 => Some(delay(2)),
            4 | 11 => Some(RoomConfig {
                attributes: attrs(&[("a", "1")]),
                keep_attributes_while_empty: true,
                ..delay(1)
            }),
            5 | 12 => Some(RoomConfig {
                attributes: attrs(&[("b", "x")]),
                ..delay(2)
            }),
            14 if self.invalid => Some(delay(10_801)),
            15 if self.invalid => Some(RoomConfig {
                attributes: attrs(&[(&"k".repeat(17), "v")]),
                ..RoomConfig::default()
            }),
            _ => Some(RoomConfig {
                destroy_delay_s: 10_800,
                ..RoomConfig::default()
            }),
        }
    }

    /// A room config for `admin_create_room` from the menu: empty timeouts of 0, 1 and 2 s
    /// (within the test waits), a per-room member limit of 1, attributes, the default, and
    /// an invalid timeout.
    #[must_use]
    pub fn admin_config(&self, opts: u8) -> Option<RoomConfig> {
        let timeout = |s: u64| RoomConfig {
            empty_timeout_s: Some(s),
            destroy_delay_s: 1,
            ..RoomConfig::default()
        };
        match opts % 8 {
            0 => None,
            1 => Some(timeout(0)),
            2 => Some(timeout(1)),
            3 => Some(RoomConfig {
                max_members: 1,
                ..timeout(2)
            }),
            4 => Some(RoomConfig {
                attributes: [("s".to_owned(), "svc".to_owned())].into(),
                ..timeout(2)
            }),
            5 if self.invalid => Some(timeout(86_401)),
            6 if self.invalid => Some(RoomConfig {
                max_members: u32::MAX,
                ..timeout(1)
            }),
            _ => Some(timeout(1)),
        }
    }

    /// Attributes to set, from the menu.
    #[must_use]
    pub fn attributes(&self, what: u8) -> BTreeMap<String, String> {
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        match what % 8 {
            0 => m(&[("a", "1")]),
            1 => m(&[("b", "2")]),
            2 => m(&[("a", "3"), ("c", "4")]),
            3 => BTreeMap::new(),
            4 => m(&[(&"k".repeat(17), "v")]),
            5 => m(&[("v", &"v".repeat(1025))]),
            6 => (0..21).map(|i| (format!("k{i}"), "v".to_owned())).collect(),
            _ => m(&[("d", &"d".repeat(600))]),
        }
    }

    /// Keys to delete, from the menu.
    #[must_use]
    pub fn keys(&self, what: u8) -> Vec<String> {
        let v = |ks: &[&str]| ks.iter().map(|k| (*k).to_owned()).collect();
        match what % 4 {
            0 => v(&["a"]),
            1 => v(&["b", "c"]),
            2 => Vec::new(),
            _ => v(&["zz", "a"]),
        }
    }

    /// A message payload, from the menu (the test configs cap payloads at 16 bytes).
    #[must_use]
    pub fn payload(&self, what: u8) -> String {
        match what % 3 {
            0 => "hi".to_owned(),
            1 => String::new(),
            _ => "p".repeat(17),
        }
    }

    /// Member attributes to set, from the menu. The test configs use ZIM's key and value
    /// limits (8 and 64 bytes) with small count and total limits, so entries 7 to 9 add up
    /// to the total and the distinct keys to the count.
    #[must_use]
    pub fn member_attributes(&self, what: u8) -> BTreeMap<String, String> {
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        match what % 10 {
            0 => m(&[("a", "1")]),
            1 => m(&[("b", "2")]),
            2 => m(&[("a", "3"), ("c", "4")]),
            3 => BTreeMap::new(),
            4 => m(&[("", "x")]),
            5 => m(&[(&"k".repeat(9), "v")]),
            6 => m(&[("v", &"v".repeat(65))]),
            7 => m(&[("d", &"d".repeat(60))]),
            8 => m(&[("e", &"e".repeat(60))]),
            _ => m(&[("a", "1"), ("f", &"f".repeat(30))]),
        }
    }

    /// Member attribute keys to delete, from the menu.
    #[must_use]
    pub fn member_keys(&self, what: u8) -> Vec<String> {
        let v = |ks: &[&str]| ks.iter().map(|k| (*k).to_owned()).collect();
        match what % 6 {
            0 => v(&["a"]),
            1 => v(&["b", "c"]),
            2 => Vec::new(),
            3 => v(&["zz", "a"]),
            4 => v(&[""]),
            _ => v(&["d", "e", "f"]),
        }
    }

    /// The `user_ids` of a member attribute call: 0 is absent (the caller's own user);
    /// otherwise a bit set as for a kick (an empty list when no user bit is set).
    #[must_use]
    pub fn member_users(&self, mask: u8) -> Option<Vec<UserId>> {
        (mask != 0).then(|| self.kick_users(mask))
    }

    /// The users of a kick, from a bit set (bit 7 repeats the first one).
    #[must_use]
    pub fn kick_users(&self, mask: u8) -> Vec<UserId> {
        let mut v: Vec<UserId> = (0..7u8)
            .filter(|b| mask & (1 << b) != 0)
            .filter_map(|b| self.users.get(usize::from(b)).copied())
            .collect();
        if mask & 0x80 != 0 {
            if let Some(first) = v.first().copied() {
                v.push(first);
            }
        }
        v
    }
}

fn pick<T: Copy>(v: &[T], i: u8) -> Option<T> {
    if v.is_empty() {
        return None;
    }
    v.get(usize::from(i) % v.len()).copied()
}

/// Where a query's cursor comes from: resolved separately for the engine and the model,
/// since each issues its own (opaque) cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorPick {
    /// The empty cursor (first page).
    First,
    /// The last non-empty cursor returned for this room.
    Same,
    /// The last non-empty cursor returned for another room (or an older room of this id).
    Other,
    /// A string no cursor format accepts.
    Garbage,
}

/// The cursor menu.
#[must_use]
pub fn cursor_pick(i: u8) -> CursorPick {
    match i % 5 {
        1 | 2 => CursorPick::Same,
        3 => CursorPick::Other,
        4 => CursorPick::Garbage,
        _ => CursorPick::First,
    }
}

impl Cmd {
    /// The input for this command, with request number `request`; `cursor` resolves a
    /// query's cursor pick (for the engine or the model). `None` for [`Cmd::Wait`].
    pub fn to_input(
        &self,
        d: &Domain,
        request: RequestId,
        cursor: &mut dyn FnMut(RoomId, CursorPick) -> String,
    ) -> Option<Input> {
        let info = |r: u8, opts: u8| {
            let id = d.room(r);
            RoomInfo {
                id,
                name: d.name(id, opts).into(),
            }
        };
        Some(match *self {
            Cmd::Wait(_) => return None,
            Cmd::Login(s, u) => Input::Login {
                session: d.session(s),
                request,
                user: d.user(u),
            },
            Cmd::Logout(s) => Input::Logout {
                session: d.session(s),
                request,
            },
            Cmd::LinkLost(s) => Input::LinkLost {
                session: d.session(s),
            },
            Cmd::LinkRestored(s) => Input::LinkRestored {
                session: d.session(s),
            },
            Cmd::Create(s, r, o) => Input::CreateRoom {
                session: d.session(s),
                request,
                room: info(r, o),
                config: d.room_config(o),
            },
            Cmd::Join(s, r) => Input::JoinRoom {
                session: d.session(s),
                request,
                room_id: d.room(r),
            },
            Cmd::Enter(s, r, o) => Input::EnterRoom {
                session: d.session(s),
                request,
                room: info(r, o),
                config: d.room_config(o),
            },
            Cmd::Switch(s, from, to, cim, o) => Input::SwitchRoom {
                session: d.session(s),
                request,
                from: d.room(from),
                to: info(to, o),
                create_if_missing: cim,
                config: d.room_config(o),
            },
            Cmd::Leave(s, r) => Input::LeaveRoom {
                session: d.session(s),
                request,
                room_id: d.room(r),
            },
            Cmd::LeaveAll(s) => Input::LeaveAllRooms {
                session: d.session(s),
                request,
            },
            Cmd::Query(s, r, c, n) => Input::QueryMembers {
                session: d.session(s),
                request,
                room_id: d.room(r),
                next: cursor(d.room(r), cursor_pick(c)),
                count: COUNTS[usize::from(n) % COUNTS.len()],
            },
            Cmd::SetAttrs(s, r, w, f) => Input::SetRoomAttributes {
                session: d.session(s),
                request,
                room_id: d.room(r),
                attributes: d.attributes(w),
                is_force: f & 1 != 0,
                is_update_owner: f & 2 != 0,
                is_delete_after_owner_left: f & 4 != 0,
            },
            Cmd::DelAttrs(s, r, w, force) => Input::DeleteRoomAttributes {
                session: d.session(s),
                request,
                room_id: d.room(r),
                keys: d.keys(w),
                is_force: force,
            },
            Cmd::Send(s, r, p) => Input::SendRoomMessage {
                session: d.session(s),
                request,
                room_id: d.room(r),
                payload: d.payload(p),
            },
            Cmd::Kick(r, mask) => Input::RemoveUsers {
                request,
                room_id: d.room(r),
                users: d.kick_users(mask),
            },
            Cmd::Dismiss(r) => Input::DismissRoom {
                request,
                room_id: d.room(r),
            },
            Cmd::SetMemberAttrs(s, r, w, u) => Input::SetRoomMembersAttributes {
                session: d.session(s),
                request,
                room_id: d.room(r),
                attributes: d.member_attributes(w),
                user_ids: d.member_users(u),
            },
            Cmd::DelMemberAttrs(s, r, w, u) => Input::DeleteRoomMembersAttributes {
                session: d.session(s),
                request,
                room_id: d.room(r),
                keys: d.member_keys(w),
                user_ids: d.member_users(u),
            },
            Cmd::QueryMemberAttrs(s, r, u) => Input::QueryRoomMembersAttributes {
                session: d.session(s),
                request,
                room_id: d.room(r),
                user_ids: d.member_users(u),
            },
            Cmd::QueryRoomAttrs(s, r) => Input::QueryRoomAttributes {
                session: d.session(s),
                request,
                room_id: d.room(r),
            },
            Cmd::OnlineCount(s, r) => Input::QueryRoomOnlineCount {
                session: d.session(s),
                request,
                room_id: d.room(r),
            },
            Cmd::AdminCreate(r, o) => Input::AdminCreateRoom {
                request,
                room: info(r, o),
                config: d.admin_config(o),
            },
            Cmd::ListRooms(c, n) => Input::ListRooms {
                request,
                next: cursor(room_list_key(), cursor_pick(c)),
                count: COUNTS[usize::from(n) % COUNTS.len()],
            },
            Cmd::QueryRoom(r) => Input::QueryRoom {
                request,
                room_id: d.room(r),
            },
            Cmd::AdminAttrs(r, w, k) => Input::AdminSetRoomAttributes {
                request,
                room_id: d.room(r),
                set: d.attributes(w),
                delete: d.keys(k),
            },
            Cmd::Move(from, to, mask, cim, o) => Input::MoveUsers {
                request,
                from: d.room(from),
                to: info(to, o),
                users: d.kick_users(mask),
                create_if_missing: cim,
                config: d.room_config(o),
            },
            Cmd::Ban(r, mask, t) => Input::BanUsers {
                request,
                room_id: d.room(r),
                users: d.kick_users(mask),
                duration_s: BAN_DURATIONS_S[usize::from(t) % BAN_DURATIONS_S.len()],
            },
            Cmd::Unban(r, mask) => Input::UnbanUsers {
                request,
                room_id: d.room(r),
                users: d.kick_users(mask),
            },
        })
    }

    /// How long this command waits before it applies, in ms.
    #[must_use]
    pub fn wait_ms(&self) -> u64 {
        match *self {
            Cmd::Wait(i) => WAITS[usize::from(i) % WAITS.len()],
            _ => 0,
        }
    }
}
