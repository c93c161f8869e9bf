//! Outputs: replies, room state changes, member deltas and server-side events.

use crate::error::{Error, ErrorCode};
use crate::ids::{RoomId, RoomSid, SessionId, UserId};
use crate::input::{RequestId, RoomInfo, RoomName};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::BTreeMap;

mod classify;
mod kind;
mod sink;
mod to;
mod wire;
pub use kind::{OutputKind, Recipient};
pub(crate) use sink::sealed::Buffer;
pub use sink::{Expanded, OutputSink, Outputs, SessionHandle};
pub use to::{Recipients, To};

/// A session's connection state for one room (ZIM `ZIMRoomState`, numbered 0..=2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomState {
    /// Not in the room.
    Disconnected,
    /// Joining, or reconnecting after a lost link.
    Connecting,
    /// In the room.
    Connected,
}

/// Why a session's room state changed (ZIM `ZIMRoomEvent`, numbered 0..=12 in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomEvent {
    /// The flow succeeded (joined, left, reconnected).
    Success,
    /// The link dropped; reconnecting.
    NetworkInterrupted,
    /// The link is gone for good.
    NetworkDisconnected,
    /// The room does not exist (or was dismissed).
    RoomNotExist,
    /// A create flow started.
    ActiveCreate,
    /// A create flow failed.
    CreateFailed,
    /// A join or enter flow started.
    ActiveEnter,
    /// A join or enter flow failed.
    EnterFailed,
    /// Removed by the server.
    KickedOut,
    /// The reconnect grace ran out.
    ConnectTimeout,
    /// Another device of the same user took over.
    KickedOutByOtherDevice,
    /// A switch flow started.
    ActiveSwitch,
    /// A switch flow failed.
    SwitchFailed,
}

/// Why members left, as the remaining members are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// Left on their own (leave, leave all, switch, logout).
    Left,
    /// Removed by the server.
    Kicked,
    /// Their reconnect grace ran out.
    Timeout,
    /// Another device of the same user logged in (single-device policy).
    OtherDevice,
    /// Banned from the room by the service (removed as by a kick).
    Banned,
}

/// Why a membership ended, as the service is told (`member_left.reason`): the reasons
/// members see, plus the ones only the service tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Left on its own: leave, leave all, logout, or the source room of a switch.
    Left,
    /// Removed by the service (`remove_users`).
    Kicked,
    /// Banned by the service (`ban_users`).
    Banned,
    /// Moved to another room by the service (`move_users`).
    Moved,
    /// Its reconnect grace ran out.
    Timeout,
    /// Another device of the same user took its place: a login under the single-device
    /// policy, or the user's other device entering the room.
    OtherDevice,
    /// The room was dismissed.
    Dismissed,
}

impl ExitReason {
    /// What the remaining members are told (`members_left.reason`); `None` when nobody
    /// remains to be told (a dismissal). A move looks like a switch to them: `left`.
    #[must_use]
    pub fn members_see(self) -> Option<LeaveReason> {
        match self {
            ExitReason::Left | ExitReason::Moved => Some(LeaveReason::Left),
            ExitReason::Kicked => Some(LeaveReason::Kicked),
            ExitReason::Banned => Some(LeaveReason::Banned),
            ExitReason::Timeout => Some(LeaveReason::Timeout),
            ExitReason::OtherDevice => Some(LeaveReason::OtherDevice),
            ExitReason::Dismissed => None,
        }
    }
}

/// Why a room was destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestroyCause {
    /// Its destroy delay ran out while it was empty.
    Empty,
    /// The server dismissed it.
    Dismissed,
}

/// Why a session was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The session logged out.
    Logout,
    /// A newer login of the same user closed it (single-device policy).
    KickedOutByOtherDevice,
}

/// One room as `list_rooms` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room id.
    pub room_id: RoomId,
    /// The room's incarnation.
    pub sid: RoomSid,
    /// Its name.
    pub name: RoomName,
    /// Members now (reconnecting ones included).
    pub member_count: u32,
}

/// A member as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    /// The member's user id.
    pub user_id: UserId,
}

/// One member gone from a large room, in a coalesced `room_members_changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLeft {
    /// The member's user id.
    pub user_id: UserId,
    /// Why it left.
    pub reason: LeaveReason,
}

/// A member list as carried by outputs; one member stays inline (the common case).
pub type Members = SmallVec<[Member; 1]>;

/// One member's attributes in a room (ZIM `ZIMRoomMemberAttributesInfo`): the whole set
/// after the change, so a client replaces what it had; an empty set means none are left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAttributesInfo {
    /// The member.
    pub user_id: UserId,
    /// All of its attributes now.
    pub attributes: BTreeMap<String, String>,
}

/// The error half of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The canonical code.
    pub code: ErrorCode,
    /// A human-readable message.
    pub message: String,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        ErrorBody {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The success half of a reply: which fields appear depends on the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplyOk {
    /// `login`: the user the session is logged in as.
    LoggedIn {
        /// The user.
        user_id: UserId,
    },
    /// `create_room`, `join_room`, `enter_room`, `switch_room`: the room now joined, as it is
    /// (the join snapshot). The three snapshot fields are always present in this engine's
    /// replies; they are optional only so that traces written before them still read.
    Room {
        /// Id and name.
        room: RoomInfo,
        /// The room's incarnation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<RoomSid>,
        /// Members after the join, the caller included.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_count: Option<u32>,
        /// Every room attribute now (`{}` when none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attributes: Option<BTreeMap<String, String>>,
    },
    /// `query_room`, `admin_create_room`: one room as it is.
    RoomDetails {
        /// The room id.
        room_id: RoomId,
        /// The room's incarnation.
        sid: RoomSid,
        /// Its name.
        name: RoomName,
        /// Members now (reconnecting ones included).
        member_count: u32,
        /// Every room attribute now.
        attributes: BTreeMap<String, String>,
    },
    /// `list_rooms`: one page of rooms in creation order.
    Rooms {
        /// The rooms of this page.
        rooms: Vec<RoomSummary>,
        /// Cursor for the next page; empty when done.
        next: String,
    },
    /// `query_room_attributes`: every room attribute now.
    RoomAttributes {
        /// Keys and values.
        attributes: BTreeMap<String, String>,
    },
    /// `query_room_online_count`: members now (reconnecting ones included).
    OnlineCount {
        /// How many.
        count: u32,
    },
    /// `move_users`: who was moved and who was skipped.
    UsersMoved {
        /// Moved users, in request order.
        moved: Vec<UserId>,
        /// Users skipped (not in the source room, already in the target, reconnecting, or
        /// banned from the target), in request order.
        skipped: Vec<UserId>,
    },
    /// `ban_users`: who is banned now and which of them were removed from the room.
    UsersBanned {
        /// Every user named, in request order.
        banned: Vec<UserId>,
        /// Those who were members and were removed, in request order.
        removed: Vec<UserId>,
    },
    /// `unban_users`: whose bans were lifted and who had none.
    UsersUnbanned {
        /// Users whose ban was lifted, in request order.
        unbanned: Vec<UserId>,
        /// Users who were not banned from the room, in request order.
        skipped: Vec<UserId>,
    },
    /// `leave_all_rooms`: the rooms left, in the order they were joined.
    LeftAll {
        /// The rooms.
        room_ids: Vec<RoomId>,
    },
    /// `query_members`: one page.
    Members {
        /// Members in join order.
        members: Vec<Member>,
        /// Cursor for the next page; empty when done.
        next: String,
    },
    /// `send_room_message`: the message's sequence number in the room.
    MessageSent {
        /// Per-room sequence number, from 1, gap-free.
        seq: u64,
    },
    /// `remove_users`: who was removed and who was not in the room.
    UsersRemoved {
        /// Removed users, in request order.
        removed: Vec<UserId>,
        /// Users skipped because they were not in the room.
        skipped: Vec<UserId>,
    },
    /// `set_room_members_attributes`, `delete_room_members_attributes`,
    /// `query_room_members_attributes`: each listed member's attributes now, and the listed
    /// users that are not in the room (ZIM's `errorUserList`).
    MemberAttributes {
        /// Members in request order, each with all of its attributes.
        member_attributes: Vec<MemberAttributesInfo>,
        /// Users skipped because they are not in the room, in request order.
        skipped: Vec<UserId>,
    },
    /// `leave_room`, `dismiss_room`: the room concerned.
    RoomId {
        /// The room.
        room_id: RoomId,
    },
    /// `logout`, `set_room_attributes`, `delete_room_attributes`: nothing to report.
    Empty {},
}

/// A reply's outcome: serialized as `"ok": {...}` or `"error": {...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The command succeeded.
    Ok(ReplyOk),
    /// The command was refused; nothing changed.
    Error(ErrorBody),
}

impl Outcome {
    /// The error code, if refused.
    #[must_use]
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Outcome::Ok(_) => None,
            Outcome::Error(e) => Some(e.code),
        }
    }
}

/// One output of the engine. The JSON form is the `out` object of a trace line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// The answer to a session command.
    Reply {
        /// The session that sent the command.
        session: SessionId,
        /// The command's request number.
        request: RequestId,
        /// `ok` or `error`.
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// The answer to an admin command.
    AdminReply {
        /// The command's request number.
        request: RequestId,
        /// `ok` or `error`.
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// A session's state for one room changed.
    RoomStateChanged {
        /// The session told.
        session: SessionId,
        /// The room.
        room_id: RoomId,
        /// The new state.
        state: RoomState,
        /// Why.
        event: RoomEvent,
    },
    /// Members joined a room the session is in.
    MembersJoined {
        /// The session told, or the sessions (see [`To`]).
        #[serde(rename = "session")]
        to: To,
        /// The room.
        room_id: RoomId,
        /// Who joined.
        members: Members,
    },
    /// Members left a room the session is in.
    MembersLeft {
        /// The session told, or the sessions (see [`To`]).
        #[serde(rename = "session")]
        to: To,
        /// The room.
        room_id: RoomId,
        /// Who left.
        members: Members,
        /// Why.
        reason: LeaveReason,
    },
    /// A room came into existence (server-side event).
    RoomCreated {
        /// The room.
        room_id: RoomId,
        /// Its incarnation (always present from this engine; optional so that older traces
        /// still read).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<RoomSid>,
        /// The service event number, when `service_events` is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event_id: Option<u64>,
    },
    /// A room is gone (server-side event).
    RoomDestroyed {
        /// The room.
        room_id: RoomId,
        /// Its incarnation (always present from this engine).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<RoomSid>,
        /// Why.
        cause: DestroyCause,
        /// The service event number, when `service_events` is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event_id: Option<u64>,
    },
    /// Service event (`service_events`): a session's membership of a room started.
    MemberJoined {
        /// The room.
        room_id: RoomId,
        /// Its incarnation.
        sid: RoomSid,
        /// The member's user.
        user_id: UserId,
        /// The member's session.
        session_id: SessionId,
        /// The service event number.
        event_id: u64,
    },
    /// Service event (`service_events`): a session's membership of a room ended.
    MemberLeft {
        /// The room.
        room_id: RoomId,
        /// Its incarnation.
        sid: RoomSid,
        /// The member's user.
        user_id: UserId,
        /// The member's session.
        session_id: SessionId,
        /// Why.
        reason: ExitReason,
        /// The service event number.
        event_id: u64,
    },
    /// A session was closed; its later commands answer `session_closed`.
    SessionClosed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// Room attributes changed (one operation: what was set and what was deleted).
    RoomAttributesUpdated {
        /// The session told, or the sessions (see [`To`]).
        #[serde(rename = "session")]
        to: To,
        /// The room.
        room_id: RoomId,
        /// Keys set, with their new values.
        set: BTreeMap<String, String>,
        /// Keys deleted.
        deleted: Vec<String>,
    },
    /// A room message from another member.
    RoomMessage {
        /// The session told, or the sessions (see [`To`]).
        #[serde(rename = "session")]
        to: To,
        /// The room.
        room_id: RoomId,
        /// The sender's user id.
        from: UserId,
        /// The per-room sequence number.
        seq: u64,
        /// The message body.
        payload: String,
    },
    /// The coalesced member changes of a large room (over `member_notify_threshold`
    /// members) during one `member_batch_interval_ms` window, addressed to the room: the
    /// embedder delivers this one output to every member of the room whose link is live.
    /// The final outcome of every user whose membership changed in the window: a user who
    /// joined and left within it is in `left`, one who left and came back in `joined`.
    RoomMembersChanged {
        /// The room.
        room_id: RoomId,
        /// Users touched by the window who are members at its end, in the order of their
        /// last join.
        joined: Vec<Member>,
        /// Users touched by the window who are gone at its end, in the order of their last
        /// leave, each with its reason.
        left: Vec<MemberLeft>,
    },
    /// Member attributes changed (one operation, or a member left and took its attributes
    /// along): each member concerned with all of its attributes now.
    RoomMemberAttributesUpdated {
        /// The session told, or the sessions (see [`To`]).
        #[serde(rename = "session")]
        to: To,
        /// The room.
        room_id: RoomId,
        /// The members whose attributes changed, each with its whole set.
        members: Vec<MemberAttributesInfo>,
    },
}

/// An output with the time it happened: the input's time, or a timer's own deadline.
/// Serializes as a trace line: `{"at": 1500, "out": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    /// When.
    pub at: Millis,
    /// What.
    #[serde(rename = "out")]
    pub output: Output,
}
