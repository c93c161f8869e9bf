//! Vendor dialects: the canonical vocabulary as ZEGO ZIM, Tencent TRTC, the ByteDance
//! mini-program RTC API and LiveKit name it (docs/dialects.md).
//!
//! Two layers. The number mappings (`zim`, `trtc`, `bytedance`, `livekit` submodules) are
//! plain functions over the canonical enums, one table each. [`view`] builds on them to show
//! one engine output as the callbacks a vendor SDK would fire for it; it is stateless, so it
//! cannot tell, say, a first connect from a reconnect (the outputs do not say either).
//! Outputs a vendor has no counterpart for map to no callback at all.

use crate::error::ErrorCode;
use crate::input::Input;
use crate::output::ExitReason;
use crate::output::{
    LeaveReason, Member, MemberLeft, Members, Outcome, Output, RoomEvent, RoomState,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;
use std::str::FromStr;

mod service;
use service::service_view;

/// A vendor vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    /// ZEGO ZIM: room state and event numbers, SDK error codes.
    Zim,
    /// Tencent TRTC: `onExitRoom` reasons and remote leave reasons.
    Trtc,
    /// ByteDance mini-program `RtcRoomContext`: `errMsg` strings and `errNo`.
    ByteDance,
    /// LiveKit: room events and `DisconnectReason`.
    LiveKit,
}

impl Dialect {
    /// Every dialect, in documentation order.
    pub const ALL: [Dialect; 4] = [
        Dialect::Zim,
        Dialect::Trtc,
        Dialect::ByteDance,
        Dialect::LiveKit,
    ];

    /// The name used on the command line and as the JSON key of the vendor view.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Zim => "zim",
            Dialect::Trtc => "trtc",
            Dialect::ByteDance => "bytedance",
            Dialect::LiveKit => "livekit",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown dialect name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect `{0}` (expected zim, trtc, bytedance or livekit)")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;
    fn from_str(s: &str) -> Result<Dialect, UnknownDialect> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDialect(s.to_owned()))
    }
}

pub mod zim;

pub mod trtc;

pub mod bytedance;

pub mod livekit;

/// One argument of a vendor callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A number.
    Int(u64),
    /// A string.
    Str(String),
    /// A list of strings (user ids, keys).
    List(Vec<String>),
}

impl Serialize for Arg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Arg::Int(n) => s.serialize_u64(*n),
            Arg::Str(v) => s.serialize_str(v),
            Arg::List(v) => v.serialize(s),
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Int(n) => write!(f, "{n}"),
            Arg::Str(v) => write!(f, "{v:?}"),
            Arg::List(v) => write!(f, "[{}]", v.join(", ")),
        }
    }
}

/// One callback a vendor SDK fires, with its arguments in the vendor's names. Serializes as
/// `{"callback": name, arg: value, ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorEvent {
    /// The callback (or API result) name.
    pub callback: &'static str,
    /// Named arguments, in the vendor's order.
    pub args: Vec<(&'static str, Arg)>,
}

impl VendorEvent {
    fn new(callback: &'static str) -> VendorEvent {
        VendorEvent {
            callback,
            args: Vec::new(),
        }
    }

    fn arg(mut self, name: &'static str, value: Arg) -> VendorEvent {
        self.args.push((name, value));
        self
    }

    fn int(self, name: &'static str, n: impl Into<u64>) -> VendorEvent {
        self.arg(name, Arg::Int(n.into()))
    }

    fn str(self, name: &'static str, v: impl fmt::Display) -> VendorEvent {
        self.arg(name, Arg::Str(v.to_string()))
    }
}

impl Serialize for VendorEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.args.len() + 1))?;
        m.serialize_entry("callback", self.callback)?;
        for (k, v) in &self.args {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl fmt::Display for VendorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.callback)?;
        for (i, (k, v)) in self.args.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{k}={v}")?;
        }
        f.write_str(")")
    }
}

/// The callbacks `dialect`'s SDK would fire for `out`. `cause` is the input being handled
/// (`None` for timer outputs); replies need it to name the API they answer. Empty when the
/// vendor has no counterpart.
#[must_use]
pub fn view(dialect: Dialect, out: &Output, cause: Option<&Input>) -> Vec<VendorEvent> {
    if let Some(events) = service_view(dialect, out) {
        return events;
    }
    match dialect {
        Dialect::Zim => zim_view(out, cause),
        Dialect::Trtc => trtc_view(out),
        Dialect::ByteDance => bytedance_view(out, cause),
        Dialect::LiveKit => livekit_view(out),
    }
}

fn user_ids(members: &Members) -> Arg {
    Arg::List(members.iter().map(|m| m.user_id.to_string()).collect())
}

/// ZIM's result callback for each command.
fn zim_callback(input: &Input) -> &'static str {
    match input {
        Input::Login { .. } => "onLoggedIn",
        Input::CreateRoom { .. } => "onRoomCreated",
        Input::JoinRoom { .. } => "onRoomJoined",
        Input::EnterRoom { .. } => "onRoomEntered",
        Input::SwitchRoom { .. } => "onRoomSwitched",
        Input::LeaveRoom { .. } => "onRoomLeft",
        Input::LeaveAllRooms { .. } => "onRoomAllLeft",
        Input::QueryMembers { .. } => "onRoomMemberQueried",
        Input::SetRoomAttributes { .. } | Input::DeleteRoomAttributes { .. } => {
            "onRoomAttributesOperated"
        }
        Input::SendRoomMessage { .. } => "onMessageSent",
        Input::SetRoomMembersAttributes { .. } | Input::DeleteRoomMembersAttributes { .. } => {
            "onRoomMembersAttributesOperated"
        }
        Input::QueryRoomMembersAttributes { .. } => "onRoomMembersAttributesQueried",
        other => other.name(),
    }
}

fn zim_view(out: &Output, cause: Option<&Input>) -> Vec<VendorEvent> {
    match out {
        Output::RoomStateChanged {
            session,
            room_id,
            state,
            event,
        } => vec![VendorEvent::new("onRoomStateChanged")
            .str("session", session)
            .str("roomID", room_id)
            .int("state", zim::room_state(*state))
            .int("event", zim::room_event(*event))],
        Output::Reply {
            session, outcome, ..
        } => {
            let callback = cause.map_or("reply", zim_callback);
            let code = outcome.error_code().map_or(0, |c| zim::error_code(c).0);
            vec![VendorEvent::new(callback)
                .str("session", session)
                .int("errorCode", code)]
        }
        _ => zim_member_view(out),
    }
}

fn zim_member_view(out: &Output) -> Vec<VendorEvent> {
    let (callback, session, room_id, members) = match out {
        Output::MembersJoined {
            to: session,
            room_id,
            members,
        } => ("onRoomMemberJoined", session, room_id, members),
        Output::MembersLeft {
            to: session,
            room_id,
            members,
            ..
        } => ("onRoomMemberLeft", session, room_id, members),
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => {
            return room_members_changed(
                room_id,
                joined,
                left,
                ["onRoomMemberJoined", "onRoomMemberLeft"],
            )
        }
        _ => return zim_room_data_view(out),
    };
    vec![VendorEvent::new(callback)
        .str("session", session)
        .str("roomID", room_id)
        .arg("memberList", user_ids(members))]
}

fn zim_room_data_view(out: &Output) -> Vec<VendorEvent> {
    match out {
        Output::RoomAttributesUpdated {
            to: session,
            room_id,
            set,
            deleted,
        } => {
            let event = |action: u8, keys: Vec<String>| {
                VendorEvent::new("onRoomAttributesUpdated")
                    .str("session", session)
                    .str("roomID", room_id)
                    .int("action", action)
                    .arg("keys", Arg::List(keys))
            };
            let set = (!set.is_empty()).then(|| event(0, set.keys().cloned().collect()));
            let deleted = (!deleted.is_empty()).then(|| event(1, deleted.clone()));
            set.into_iter().chain(deleted).collect()
        }
        Output::RoomMessage {
            to: session,
            room_id,
            from,
            seq,
            payload,
        } => vec![VendorEvent::new("onReceiveRoomMessage")
            .str("session", session)
            .str("fromRoomID", room_id)
            .str("senderUserID", from)
            .int("messageSeq", *seq)
            .str("message", payload)],
        _ => Vec::new(),
    }
}

fn trtc_view(out: &Output) -> Vec<VendorEvent> {
    match out {
        Output::RoomStateChanged {
            session,
            state,
            event,
            ..
        } => trtc_state(session, *state, *event).into_iter().collect(),
        Output::MembersJoined {
            to: session,
            members,
            ..
        } => per_member(session, members, |e| {
            e.str_first("onRemoteUserEnterRoom", "userId")
        }),
        Output::MembersLeft {
            to: session,
            members,
            reason,
            ..
        } => per_member(session, members, |e| {
            e.str_first("onRemoteUserLeaveRoom", "userId")
                .int("reason", trtc::remote_leave_reason(*reason))
        }),
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => room_members_changed(
            room_id,
            joined,
            left,
            ["onRemoteUserEnterRoom", "onRemoteUserLeaveRoom"],
        ),
        _ => Vec::new(),
    }
}

fn trtc_state(
    session: &crate::ids::SessionId,
    state: RoomState,
    event: RoomEvent,
) -> Option<VendorEvent> {
    let base = |name| VendorEvent::new(name).str("session", session);
    match (state, event) {
        (RoomState::Disconnected, _) => {
            Some(base("onExitRoom").int("reason", trtc::exit_room_reason(event)?))
        }
        (RoomState::Connecting, RoomEvent::NetworkInterrupted) => Some(base("onConnectionLost")),
        (RoomState::Connected, RoomEvent::Success) => Some(base("onEnterRoom")),
        _ => None,
    }
}

fn bytedance_view(out: &Output, cause: Option<&Input>) -> Vec<VendorEvent> {
    let (
        Output::Reply {
            session, outcome, ..
        },
        Some(input),
    ) = (out, cause)
    else {
        return Vec::new();
    };
    let api = bytedance::api_name(input);
    let callback = match outcome {
        Outcome::Ok(_) => "success",
        Outcome::Error(_) => "fail",
    };
    let mut e = VendorEvent::new(callback)
        .str("session", session)
        .str("errMsg", bytedance::err_msg(api, outcome));
    if let Some(n) = outcome.error_code().and_then(bytedance::err_no) {
        e = e.int("errNo", n);
    }
    vec![e]
}

fn livekit_view(out: &Output) -> Vec<VendorEvent> {
    match out {
        Output::RoomStateChanged {
            session,
            state,
            event,
            ..
        } => livekit_state(session, *state, *event).into_iter().collect(),
        Output::MembersJoined {
            to: session,
            members,
            ..
        } => per_member(session, members, |e| {
            e.str_first("ParticipantConnected", "identity")
        }),
        Output::MembersLeft {
            to: session,
            members,
            reason,
            ..
        } => per_member(session, members, |e| {
            e.str_first("ParticipantDisconnected", "identity")
                .int("reason", livekit::participant_reason(*reason))
        }),
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => room_members_changed(
            room_id,
            joined,
            left,
            ["ParticipantConnected", "ParticipantDisconnected"],
        ),
        Output::RoomMessage {
            to: session,
            from,
            payload,
            ..
        } => vec![VendorEvent::new("DataReceived")
            .str("session", session)
            .str("participant", from)
            .str("payload", payload)],
        _ => Vec::new(),
    }
}

/// One event per member: `make` names the callback and the member argument of a draft that
/// carries the session and the member's user id.
fn per_member(
    session: &crate::output::To,
    members: &Members,
    make: impl Fn(Draft) -> VendorEvent,
) -> Vec<VendorEvent> {
    members
        .iter()
        .map(|m| {
            make(Draft {
                session: session.to_string(),
                user: m.user_id.to_string(),
            })
        })
        .collect()
}

/// A large room's coalesced delta, addressed to the room rather than to a session: one
/// joined event and one left event (each only if non-empty) with the member list, named
/// `[joined callback, left callback]`.
fn room_members_changed(
    room_id: &crate::ids::RoomId,
    joined: &[Member],
    left: &[MemberLeft],
    [on_joined, on_left]: [&'static str; 2],
) -> Vec<VendorEvent> {
    let event = |is_join: bool, users: Vec<String>| {
        VendorEvent::new(if is_join { on_joined } else { on_left })
            .str("roomID", room_id)
            .arg("memberList", Arg::List(users))
    };
    let joined = (!joined.is_empty())
        .then(|| event(true, joined.iter().map(|m| m.user_id.to_string()).collect()));
    let left = (!left.is_empty())
        .then(|| event(false, left.iter().map(|m| m.user_id.to_string()).collect()));
    joined.into_iter().chain(left).collect()
}

/// A per-member callback before its name is known.
struct Draft {
    session: String,
    user: String,
}

impl Draft {
    /// The event `callback` with the session, then the member as `arg`.
    fn str_first(self, callback: &'static str, arg: &'static str) -> VendorEvent {
        VendorEvent::new(callback)
            .arg("session", Arg::Str(self.session))
            .arg(arg, Arg::Str(self.user))
    }
}

fn livekit_state(
    session: &crate::ids::SessionId,
    state: RoomState,
    event: RoomEvent,
) -> Option<VendorEvent> {
    let base = |name| VendorEvent::new(name).str("session", session);
    match (state, event) {
        (RoomState::Disconnected, _) => {
            Some(base("Disconnected").int("reason", livekit::disconnect_reason(event)?))
        }
        (RoomState::Connecting, RoomEvent::NetworkInterrupted) => Some(base("Reconnecting")),
        (RoomState::Connected, RoomEvent::Success) => Some(base("Connected")),
        _ => None,
    }
}
