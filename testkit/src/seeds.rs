//! The fuzzers' seed corpus, built from the published traces when fuzzing starts rather than
//! stored as copies: `trace_reader` gets each trace as it is, `engine_vs_model` gets each
//! trace translated into its command alphabet ([`from_trace`]) and encoded as the bytes
//! libFuzzer hands over ([`encode`]).
//!
//! The translation is approximate by design (the alphabet has a few ids and short menus): ids
//! map to the domain's by first appearance, time gaps to the nearest waits, configs to the
//! knobs that resemble them. What it keeps is the shape of each scenario (who logs in, enters,
//! switches, loses its link, gets kicked, in what order), which is what a seed is for.

use crate::cmd::{Cmd, COUNTS, WAITS};
use crate::fuzz::EngineVsModel;
use roomcore::config::{Config, DevicePolicy, RoomConfig, MAX_DESTROY_DELAY_S};
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::{Input, RoomInfo};
use roomcore::trace::{Record, TraceError, TraceReader};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One trace's seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The trace's file name without its extension.
    pub name: String,
    /// The trace (a snapshot's front matter removed): the `trace_reader` seed.
    pub trace: String,
    /// Its translation, encoded: the `engine_vs_model` seed.
    pub commands: Vec<u8>,
}

/// The seeds of every trace named: files as given, directories expanded to their `.jsonl`
/// vectors and `.snap` snapshots, in name order.
///
/// # Errors
/// A file that cannot be read or is not a valid trace.
pub fn from_paths(paths: &[PathBuf]) -> Result<Vec<Seed>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl" || x == "snap"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files.iter().map(|f| seed(f)).collect()
}

/// The seeds of one trace file.
///
/// # Errors
/// If the file cannot be read or is not a valid trace.
pub fn seed(path: &Path) -> Result<Seed, String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let mut trace = String::new();
    roomcore::check::skip_front_matter(std::io::BufReader::new(file))
        .and_then(|mut r| r.read_to_string(&mut trace))
        .map_err(|e| fail(&e))?;
    // The blank lines that stood for the front matter are of no use to a fuzzer.
    let trace = trace.trim_start_matches(['\n', '\r']).to_owned();
    let commands = encode(&from_trace(&trace).map_err(|e| fail(&e))?);
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Seed {
        name,
        trace,
        commands,
    })
}

/// The number of [`Cmd`] variants, which the derived decoding scales its selector by.
const CMD_VARIANTS: u64 = 29;

/// At most this many waits stand for one time gap (the rest of the gap is dropped).
const MAX_WAITS_PER_GAP: usize = 4;

/// The bytes that `EngineVsModel::arbitrary_take_rest` decodes into `input` (the inverse of
/// the derived decoding: a little-endian `u16` of knobs, then per command a continue byte,
/// a `u32` variant selector and the fields, `u8`s and `bool`s one byte each).
#[must_use]
pub fn encode(input: &EngineVsModel) -> Vec<u8> {
    let mut b = input.knobs.to_le_bytes().to_vec();
    for cmd in &input.cmds {
        b.push(1);
        let (variant, fields) = parts(cmd);
        b.extend_from_slice(&selector(variant).to_le_bytes());
        b.extend_from_slice(&fields);
    }
    b
}

/// The smallest `u32` the derived decoding maps to `variant`: it picks
/// `(selector * CMD_VARIANTS) >> 32`.
fn selector(variant: u64) -> u32 {
    let x = (variant << 32).div_ceil(CMD_VARIANTS);
    // variant < CMD_VARIANTS, so x < 2^32.
    u32::try_from(x).expect("variant index below the variant count")
}

/// A command's variant index (declaration order) and field bytes.
fn parts(cmd: &Cmd) -> (u64, Vec<u8>) {
    let b = u8::from;
    match *cmd {
        Cmd::Wait(i) => (0, vec![i]),
        Cmd::Login(s, u) => (1, vec![s, u]),
        Cmd::Logout(s) => (2, vec![s]),
        Cmd::LinkLost(s) => (3, vec![s]),
        Cmd::LinkRestored(s) => (4, vec![s]),
        Cmd::Create(s, r, o) => (5, vec![s, r, o]),
        Cmd::Join(s, r) => (6, vec![s, r]),
        Cmd::Enter(s, r, o) => (7, vec![s, r, o]),
        Cmd::Switch(s, f, t, c, o) => (8, vec![s, f, t, b(c), o]),
        Cmd::Leave(s, r) => (9, vec![s, r]),
        Cmd::LeaveAll(s) => (10, vec![s]),
        Cmd::Query(s, r, c, n) => (11, vec![s, r, c, n]),
        Cmd::SetAttrs(s, r, w, f) => (12, vec![s, r, w, f]),
        Cmd::DelAttrs(s, r, w, f) => (13, vec![s, r, w, b(f)]),
        Cmd::Send(s, r, p) => (14, vec![s, r, p]),
        Cmd::Kick(r, m) => (15, vec![r, m]),
        Cmd::Dismiss(r) => (16, vec![r]),
        Cmd::SetMemberAttrs(s, r, w, u) => (17, vec![s, r, w, u]),
        Cmd::DelMemberAttrs(s, r, w, u) => (18, vec![s, r, w, u]),
        Cmd::QueryMemberAttrs(s, r, u) => (19, vec![s, r, u]),
        Cmd::QueryRoomAttrs(s, r) => (20, vec![s, r]),
        Cmd::OnlineCount(s, r) => (21, vec![s, r]),
        Cmd::AdminCreate(r, o) => (22, vec![r, o]),
        Cmd::ListRooms(c, n) => (23, vec![c, n]),
        Cmd::QueryRoom(r) => (24, vec![r]),
        Cmd::AdminAttrs(r, w, k) => (25, vec![r, w, k]),
        Cmd::Move(f, t, m, c, o) => (26, vec![f, t, m, b(c), o]),
        Cmd::Ban(r, m, d) => (27, vec![r, m, d]),
        Cmd::Unban(r, m) => (28, vec![r, m]),
    }
}

/// A trace (a vector, or a golden snapshot without its front matter) as an
/// `engine_vs_model` input. Output lines are ignored.
///
/// # Errors
/// The first line that is not a valid trace line.
pub fn from_trace(text: &str) -> Result<EngineVsModel, TraceError> {
    let mut t = Translator::default();
    let mut config = Config::default();
    for record in TraceReader::new(text.as_bytes()) {
        match record?.1 {
            Record::Config(c) => config = *c,
            Record::Input { at, input } => t.input(at.as_ms(), &input),
            Record::Output(_) | Record::Note(_) => {}
        }
    }
    Ok(EngineVsModel {
        knobs: knobs(&config),
        cmds: t.cmds,
    })
}

/// The knobs (see [`EngineVsModel`]) whose config most resembles `c`.
fn knobs(c: &Config) -> u16 {
    let bits = [
        c.device_policy == DevicePolicy::Multi,
        c.max_rooms <= 2,
        c.max_members_per_room <= 2,
        c.max_rooms_per_session <= 2,
        c.max_sessions <= 3,
        c.max_closed_sessions <= 1,
        c.closed_session_ttl_ms == 0,
        c.reconnect_grace_ms <= 1000,
        c.message_rate_per_s > 0,
        c.max_kick_users <= 2,
        c.max_member_attributes <= 2,
        c.member_attributes_max_room_members <= 1,
        c.member_attributes_max_users <= 2,
        c.member_notify_threshold < Config::default().member_notify_threshold,
        c.member_batch_interval_ms >= 2000,
    ];
    bits.iter()
        .enumerate()
        .filter(|(_, on)| **on)
        .fold(0, |k, (i, _)| k | (1 << i))
}

/// Ids by first appearance, wrapping onto the domain's valid ones; invalid ids map to the
/// domain's invalid one (`Domain::standard` lists it last).
#[derive(Debug, Default)]
struct Ids {
    seen: BTreeMap<String, u8>,
}

impl Ids {
    fn index(&mut self, id: &str, valid: bool, domain: u8) -> u8 {
        if !valid {
            return domain;
        }
        let next = u8::try_from(self.seen.len() % usize::from(domain)).unwrap_or(0);
        *self.seen.entry(id.to_owned()).or_insert(next)
    }
}

/// Valid ids of the standard domain (the invalid one is index 4, 3 and 3).
const SESSIONS: u8 = 4;
const USERS: u8 = 3;
const ROOMS: u8 = 3;

#[derive(Debug, Default)]
struct Translator {
    sessions: Ids,
    users: Ids,
    rooms: Ids,
    now: u64,
    cmds: Vec<Cmd>,
}

impl Translator {
    fn s(&mut self, id: SessionId) -> u8 {
        self.sessions
            .index(id.as_str(), id.0.is_valid(32), SESSIONS)
    }

    fn u(&mut self, id: UserId) -> u8 {
        self.users.index(id.as_str(), id.0.is_valid(32), USERS)
    }

    fn r(&mut self, id: RoomId) -> u8 {
        self.rooms.index(id.as_str(), id.0.is_valid(32), ROOMS)
    }

    /// Waits standing for the time from the last input to `at`, largest first.
    fn wait_until(&mut self, at: u64) {
        let mut gap = at.saturating_sub(self.now);
        self.now = self.now.max(at);
        for _ in 0..MAX_WAITS_PER_GAP {
            let Some(i) = WAITS.iter().rposition(|w| *w > 0 && *w <= gap) else {
                return;
            };
            gap -= WAITS[i];
            self.cmds
                .push(Cmd::Wait(u8::try_from(i).expect("ten waits")));
        }
    }

    fn input(&mut self, at: u64, input: &Input) {
        self.wait_until(at);
        if let Some(cmd) = self.cmd(input) {
            self.cmds.push(cmd);
        }
    }

    /// The command closest to `input`; `None` for a tick (the waits stand for it).
    fn cmd(&mut self, input: &Input) -> Option<Cmd> {
        Some(match input {
            Input::Login { session, user, .. } => Cmd::Login(self.s(*session), self.u(*user)),
            Input::Logout { session, .. } => Cmd::Logout(self.s(*session)),
            Input::LinkLost { session } => Cmd::LinkLost(self.s(*session)),
            Input::LinkRestored { session } => Cmd::LinkRestored(self.s(*session)),
            Input::CreateRoom {
                session,
                room,
                config,
                ..
            } => Cmd::Create(self.s(*session), self.r(room.id), options(room, config)),
            Input::JoinRoom {
                session, room_id, ..
            } => Cmd::Join(self.s(*session), self.r(*room_id)),
            Input::EnterRoom {
                session,
                room,
                config,
                ..
            } => Cmd::Enter(self.s(*session), self.r(room.id), options(room, config)),
            Input::SwitchRoom {
                session,
                from,
                to,
                create_if_missing,
                config,
                ..
            } => Cmd::Switch(
                self.s(*session),
                self.r(*from),
                self.r(to.id),
                *create_if_missing,
                options(to, config),
            ),
            Input::LeaveRoom {
                session, room_id, ..
            } => Cmd::Leave(self.s(*session), self.r(*room_id)),
            Input::LeaveAllRooms { session, .. } => Cmd::LeaveAll(self.s(*session)),
            Input::QueryMembers {
                session,
                room_id,
                next,
                count,
                ..
            } => Cmd::Query(
                self.s(*session),
                self.r(*room_id),
                u8::from(!next.is_empty()),
                count_menu(*count),
            ),
            Input::SetRoomAttributes {
                session,
                room_id,
                attributes,
                is_force,
                is_update_owner,
                is_delete_after_owner_left,
                ..
            } => Cmd::SetAttrs(
                self.s(*session),
                self.r(*room_id),
                if attributes.is_empty() { 3 } else { 0 },
                u8::from(*is_force)
                    | u8::from(*is_update_owner) << 1
                    | u8::from(*is_delete_after_owner_left) << 2,
            ),
            Input::DeleteRoomAttributes {
                session,
                room_id,
                keys,
                is_force,
                ..
            } => Cmd::DelAttrs(
                self.s(*session),
                self.r(*room_id),
                if keys.is_empty() { 2 } else { 0 },
                *is_force,
            ),
            Input::SendRoomMessage {
                session,
                room_id,
                payload,
                ..
            } => Cmd::Send(self.s(*session), self.r(*room_id), payload_menu(payload)),
            Input::RemoveUsers { room_id, users, .. } => {
                let room = self.r(*room_id);
                Cmd::Kick(room, self.user_mask(users))
            }
            Input::DismissRoom { room_id, .. } => Cmd::Dismiss(self.r(*room_id)),
            Input::QueryRoomAttributes {
                session, room_id, ..
            } => Cmd::QueryRoomAttrs(self.s(*session), self.r(*room_id)),
            Input::QueryRoomOnlineCount {
                session, room_id, ..
            } => Cmd::OnlineCount(self.s(*session), self.r(*room_id)),
            Input::AdminCreateRoom { room, .. } => Cmd::AdminCreate(self.r(room.id), 2),
            Input::ListRooms { next, count, .. } => {
                Cmd::ListRooms(u8::from(!next.is_empty()), count_menu(*count))
            }
            Input::QueryRoom { room_id, .. } => Cmd::QueryRoom(self.r(*room_id)),
            Input::AdminSetRoomAttributes {
                room_id,
                set,
                delete,
                ..
            } => Cmd::AdminAttrs(
                self.r(*room_id),
                if set.is_empty() { 3 } else { 0 },
                if delete.is_empty() { 2 } else { 0 },
            ),
            Input::MoveUsers {
                from,
                to,
                users,
                create_if_missing,
                config,
                ..
            } => {
                let mask = self.user_mask(users);
                Cmd::Move(
                    self.r(*from),
                    self.r(to.id),
                    mask,
                    *create_if_missing,
                    options(to, config),
                )
            }
            Input::BanUsers { room_id, users, .. } => {
                let mask = self.user_mask(users);
                Cmd::Ban(self.r(*room_id), mask, 2)
            }
            Input::UnbanUsers { room_id, users, .. } => {
                let mask = self.user_mask(users);
                Cmd::Unban(self.r(*room_id), mask)
            }
            Input::SetRoomMembersAttributes {
                session,
                room_id,
                attributes,
                user_ids,
                ..
            } => {
                let what = if attributes.is_empty() { 3 } else { 0 };
                let users = self.member_users(user_ids.as_deref());
                Cmd::SetMemberAttrs(self.s(*session), self.r(*room_id), what, users)
            }
            Input::DeleteRoomMembersAttributes {
                session,
                room_id,
                keys,
                user_ids,
                ..
            } => {
                let what = if keys.is_empty() { 2 } else { 0 };
                let users = self.member_users(user_ids.as_deref());
                Cmd::DelMemberAttrs(self.s(*session), self.r(*room_id), what, users)
            }
            Input::QueryRoomMembersAttributes {
                session,
                room_id,
                user_ids,
                ..
            } => {
                let users = self.member_users(user_ids.as_deref());
                Cmd::QueryMemberAttrs(self.s(*session), self.r(*room_id), users)
            }
            Input::Tick => return None,
        })
    }

    /// A kick's bit set: one bit per user index, bit 7 when the first user is named twice.
    fn user_mask(&mut self, users: &[UserId]) -> u8 {
        let mut mask = 0u8;
        for (i, u) in users.iter().enumerate() {
            let bit = 1u8 << self.u(*u);
            if i > 0 && users.first() == Some(u) {
                mask |= 0x80;
            }
            mask |= bit;
        }
        mask
    }

    /// A member attribute call's user menu: 0 for the caller's own user (no list).
    fn member_users(&mut self, users: Option<&[UserId]>) -> u8 {
        users.map_or(0, |u| self.user_mask(u))
    }
}

/// The options byte of a create, enter or switch: config menu (low 4 bits), name menu
/// (high 3 bits), as `Domain::room_config` and `Domain::name` read them.
fn options(room: &RoomInfo, config: &Option<RoomConfig>) -> u8 {
    let menu = match config {
        None => 0,
        Some(c) if c.destroy_delay_s > MAX_DESTROY_DELAY_S => 14,
        Some(c) if !c.attributes.is_empty() && c.keep_attributes_while_empty => 4,
        Some(c) if !c.attributes.is_empty() => 5,
        Some(c) => match c.destroy_delay_s {
            0 => 1,
            1 => 2,
            2 => 3,
            _ => 13,
        },
    };
    let name = match room.name.len() {
        0 => 6,
        n if n > 64 => 7,
        _ => 0,
    };
    menu | name << 5
}

/// The index of the page size in [`COUNTS`] nearest to `count`.
fn count_menu(count: u32) -> u8 {
    let nearest = COUNTS
        .iter()
        .enumerate()
        .min_by_key(|(_, c)| c.abs_diff(count))
        .map_or(0, |(i, _)| i);
    u8::try_from(nearest).expect("five page sizes")
}

/// The payload menu entry like `payload`: `hi`, empty, or over the test configs' limit.
fn payload_menu(payload: &str) -> u8 {
    match payload.len() {
        0 => 1,
        n if n > 16 => 2,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitrary::{Arbitrary, Unstructured};

    /// One command of every variant, with fields that are neither zero nor equal.
    fn every_variant() -> Vec<Cmd> {
        vec![
            Cmd::Wait(9),
            Cmd::Login(1, 2),
            Cmd::Logout(3),
            Cmd::LinkLost(4),
            Cmd::LinkRestored(5),
            Cmd::Create(1, 2, 0xe3),
            Cmd::Join(2, 1),
            Cmd::Enter(3, 2, 7),
            Cmd::Switch(1, 2, 3, true, 9),
            Cmd::Leave(4, 1),
            Cmd::LeaveAll(2),
            Cmd::Query(1, 2, 3, 4),
            Cmd::SetAttrs(1, 2, 5, 6),
            Cmd::DelAttrs(2, 1, 3, true),
            Cmd::Send(3, 1, 2),
            Cmd::Kick(2, 0x83),
            Cmd::Dismiss(1),
            Cmd::SetMemberAttrs(1, 2, 9, 0x81),
            Cmd::DelMemberAttrs(2, 1, 5, 3),
            Cmd::QueryMemberAttrs(3, 2, 7),
            Cmd::QueryRoomAttrs(1, 2),
            Cmd::OnlineCount(2, 1),
            Cmd::AdminCreate(1, 2),
            Cmd::ListRooms(1, 2),
            Cmd::QueryRoom(2),
            Cmd::AdminAttrs(1, 2, 3),
            Cmd::Move(1, 2, 3, true, 4),
            Cmd::Ban(1, 2, 3),
            Cmd::Unban(2, 1),
        ]
    }

    #[test]
    fn encoding_decodes_to_the_same_input() {
        let input = EngineVsModel {
            knobs: 0x5a3c,
            cmds: every_variant(),
        };
        assert_eq!(input.cmds.len() as u64, CMD_VARIANTS);
        let bytes = encode(&input);
        let back = EngineVsModel::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        assert_eq!(back.knobs, input.knobs);
        assert_eq!(back.cmds, input.cmds);
    }

    #[test]
    fn a_trace_translates_into_its_scenario() {
        let trace = concat!(
            "{\"config\":{\"device_policy\":\"multi\",\"member_notify_threshold\":2}}\n",
            "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"a\",\"request\":1,\"user\":\"u\"}}\n",
            "{\"at\":0,\"in\":{\"type\":\"enter_room\",\"session\":\"a\",\"request\":2,\"room\":{\"id\":\"r\"},\"config\":{\"destroy_delay_s\":2}}}\n",
            "{\"at\":3500,\"in\":{\"type\":\"remove_users\",\"request\":3,\"room_id\":\"r\",\"users\":[\"v\",\"u\",\"v\"]}}\n",
            "{\"at\":3500,\"in\":{\"type\":\"tick\"}}\n",
        );
        let input = from_trace(trace).expect("valid trace");
        assert_eq!(input.knobs, 1 | 1 << 13);
        assert_eq!(
            input.cmds,
            [
                Cmd::Login(0, 0),
                Cmd::Enter(0, 0, 3 | 6 << 5),
                Cmd::Wait(8),
                Cmd::Wait(2),
                Cmd::Wait(2),
                Cmd::Kick(0, 0x83),
            ]
        );
    }
}
