//! Inputs: session commands, transport events, admin commands and time passing.

use crate::config::RoomConfig;
use crate::ids::{RoomId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use smallvec::{smallvec, SmallVec};
use std::collections::BTreeMap;

/// A client-chosen number that the single `reply` to a command echoes.
pub type RequestId = u64;

/// A room's id and display name (ZIM `ZIMRoomInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomInfo {
    /// The room id.
    pub id: RoomId,
    /// The room name (may be empty).
    #[serde(default)]
    pub name: String,
}

/// One input to the engine. The JSON form is the `in` object of a trace line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    /// Log a session in as `user`.
    Login {
        /// The session (device) id.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The user this session belongs to.
        user: UserId,
    },
    /// Close the session: leaves all its rooms.
    Logout {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
    },
    /// Transport event: the session's connection dropped. No reply.
    LinkLost {
        /// The session.
        session: SessionId,
    },
    /// Transport event: the session's connection is back. No reply.
    LinkRestored {
        /// The session.
        session: SessionId,
    },
    /// Create a room and become its first member.
    CreateRoom {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// Id and name of the new room.
        room: RoomInfo,
        /// Settings for the new room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<RoomConfig>,
    },
    /// Join an existing room.
    JoinRoom {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room.
        room_id: RoomId,
    },
    /// Join the room, creating it first if it does not exist.
    EnterRoom {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// Id, and the name used only if the room is created.
        room: RoomInfo,
        /// Settings used only if the room is created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<RoomConfig>,
    },
    /// Move from one room to another in one step.
    SwitchRoom {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room the session is in.
        from: RoomId,
        /// The room to move to.
        to: RoomInfo,
        /// Create `to` if it does not exist.
        #[serde(default)]
        create_if_missing: bool,
        /// Settings used only if `to` is created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<RoomConfig>,
    },
    /// Leave one room.
    LeaveRoom {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room.
        room_id: RoomId,
    },
    /// Leave every room this session is in (other devices keep theirs).
    LeaveAllRooms {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
    },
    /// Read one page of a room's member list, in join order.
    QueryMembers {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// The cursor from the previous page; empty for the first page.
        #[serde(default)]
        next: String,
        /// Page size, 1..=100.
        count: u32,
    },
    /// Set room attributes.
    SetRoomAttributes {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// Keys and values to set.
        attributes: BTreeMap<String, String>,
        /// Overwrite keys owned by other users.
        #[serde(default)]
        is_force: bool,
        /// Make the caller the owner of keys it overwrites.
        #[serde(default)]
        is_update_owner: bool,
        /// Delete these keys when their owner leaves the room.
        #[serde(default)]
        is_delete_after_owner_left: bool,
    },
    /// Delete room attributes.
    DeleteRoomAttributes {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// Keys to delete.
        keys: Vec<String>,
        /// Delete keys owned by other users.
        #[serde(default)]
        is_force: bool,
    },
    /// Send a message to every other member of a room.
    SendRoomMessage {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// The message body.
        payload: String,
    },
    /// Set attributes of members of a room (ZIM `setRoomMembersAttributes`): each pair is
    /// set on every listed member. Any live member may set any member's attributes.
    SetRoomMembersAttributes {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// Keys and values to set.
        attributes: BTreeMap<String, String>,
        /// The members to set them on (1..=`member_attributes_max_users`); absent: the
        /// caller's own user. Users not in the room are skipped and named in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_ids: Option<Vec<UserId>>,
    },
    /// Delete attributes of members of a room (ZIM `deleteRoomMembersAttributes`).
    DeleteRoomMembersAttributes {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// Keys to delete from every listed member.
        keys: Vec<String>,
        /// The members; absent: the caller's own user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_ids: Option<Vec<UserId>>,
    },
    /// Read the attributes of members of a room (ZIM `queryRoomMembersAttributes`).
    QueryRoomMembersAttributes {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
        /// The members; absent: the caller's own user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_ids: Option<Vec<UserId>>,
    },
    /// Read every attribute of a room the session is in.
    QueryRoomAttributes {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
    },
    /// Read how many members a room the session is in has.
    QueryRoomOnlineCount {
        /// The session.
        session: SessionId,
        /// Echoed by the reply.
        request: RequestId,
        /// The room (the session must be in it).
        room_id: RoomId,
    },
    /// Admin: remove (kick) users from a room. Answered by `admin_reply`.
    RemoveUsers {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room.
        room_id: RoomId,
        /// Users to remove (1..=`max_kick_users`).
        users: Vec<UserId>,
    },
    /// Admin: destroy a room at once. Answered by `admin_reply`.
    DismissRoom {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room.
        room_id: RoomId,
    },
    /// Admin: create a room nobody is in yet. Answered by `admin_reply`.
    AdminCreateRoom {
        /// Echoed by the admin reply.
        request: RequestId,
        /// Id and name of the new room.
        room: RoomInfo,
        /// Its settings, with `empty_timeout_s` (how long it waits for a first member).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<RoomConfig>,
    },
    /// Admin: one page of the rooms, in creation order. Answered by `admin_reply`.
    ListRooms {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The cursor from the previous page; empty for the first page.
        #[serde(default)]
        next: String,
        /// Page size, 1..=100.
        count: u32,
    },
    /// Admin: one room as it is. Answered by `admin_reply`.
    QueryRoom {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room.
        room_id: RoomId,
    },
    /// Admin: set and delete room attributes whatever their owners. Answered by
    /// `admin_reply`.
    AdminSetRoomAttributes {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room.
        room_id: RoomId,
        /// Keys and values to set (owned by the service).
        #[serde(default)]
        set: BTreeMap<String, String>,
        /// Keys to delete.
        #[serde(default)]
        delete: Vec<String>,
    },
    /// Admin: move users from one room to another, as a switch would. Answered by
    /// `admin_reply`.
    MoveUsers {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room they are in.
        from: RoomId,
        /// The room to move them to.
        to: RoomInfo,
        /// Users to move (1..=`max_kick_users`).
        users: Vec<UserId>,
        /// Create `to` if it does not exist.
        #[serde(default)]
        create_if_missing: bool,
        /// Settings used only if `to` is created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<RoomConfig>,
    },
    /// Admin: ban users from a room id for a while (and remove them from it). Answered by
    /// `admin_reply`.
    BanUsers {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room id (the room need not exist).
        room_id: RoomId,
        /// Users to ban (1..=`max_kick_users`).
        users: Vec<UserId>,
        /// How long, 1..=604,800 s.
        duration_s: u64,
    },
    /// Admin: lift bans. Answered by `admin_reply`.
    UnbanUsers {
        /// Echoed by the admin reply.
        request: RequestId,
        /// The room id.
        room_id: RoomId,
        /// Users to unban (1..=`max_kick_users`).
        users: Vec<UserId>,
    },
    /// Time passes; due timers fire. No reply.
    Tick,
}

impl Input {
    /// The session a session command or transport event is about (`None` for admin and tick).
    #[must_use]
    pub fn session(&self) -> Option<SessionId> {
        match self {
            Input::Login { session, .. }
            | Input::Logout { session, .. }
            | Input::LinkLost { session }
            | Input::LinkRestored { session }
            | Input::CreateRoom { session, .. }
            | Input::JoinRoom { session, .. }
            | Input::EnterRoom { session, .. }
            | Input::SwitchRoom { session, .. }
            | Input::LeaveRoom { session, .. }
            | Input::LeaveAllRooms { session, .. }
            | Input::QueryMembers { session, .. }
            | Input::SetRoomAttributes { session, .. }
            | Input::DeleteRoomAttributes { session, .. }
            | Input::SendRoomMessage { session, .. }
            | Input::SetRoomMembersAttributes { session, .. }
            | Input::DeleteRoomMembersAttributes { session, .. }
            | Input::QueryRoomMembersAttributes { session, .. }
            | Input::QueryRoomAttributes { session, .. }
            | Input::QueryRoomOnlineCount { session, .. } => Some(*session),
            Input::RemoveUsers { .. }
            | Input::DismissRoom { .. }
            | Input::AdminCreateRoom { .. }
            | Input::ListRooms { .. }
            | Input::QueryRoom { .. }
            | Input::AdminSetRoomAttributes { .. }
            | Input::MoveUsers { .. }
            | Input::BanUsers { .. }
            | Input::UnbanUsers { .. }
            | Input::Tick => None,
        }
    }
}

/// Who sends an input, which decides how it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A session's command: carries `session` and `request`, answered by one `reply`.
    Session,
    /// A transport event about a session (`link_lost`, `link_restored`): no reply.
    Transport,
    /// The service's (admin) command: carries `request`, answered by one `admin_reply`.
    Admin,
    /// Time passing (`tick`): no reply.
    Time,
}

/// Every kind of input, by its trace `type`. Matching on it (or on [`Input`]) without a
/// wildcard arm is how a new input becomes a compile error everywhere it must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is the input of the same name
pub enum InputKind {
    Login,
    Logout,
    LinkLost,
    LinkRestored,
    CreateRoom,
    JoinRoom,
    EnterRoom,
    SwitchRoom,
    LeaveRoom,
    LeaveAllRooms,
    QueryMembers,
    SetRoomAttributes,
    DeleteRoomAttributes,
    SendRoomMessage,
    SetRoomMembersAttributes,
    DeleteRoomMembersAttributes,
    QueryRoomMembersAttributes,
    QueryRoomAttributes,
    QueryRoomOnlineCount,
    RemoveUsers,
    DismissRoom,
    AdminCreateRoom,
    ListRooms,
    QueryRoom,
    AdminSetRoomAttributes,
    MoveUsers,
    BanUsers,
    UnbanUsers,
    Tick,
}

impl InputKind {
    /// Every kind, in declaration order.
    pub const ALL: [InputKind; 29] = [
        InputKind::Login,
        InputKind::Logout,
        InputKind::LinkLost,
        InputKind::LinkRestored,
        InputKind::CreateRoom,
        InputKind::JoinRoom,
        InputKind::EnterRoom,
        InputKind::SwitchRoom,
        InputKind::LeaveRoom,
        InputKind::LeaveAllRooms,
        InputKind::QueryMembers,
        InputKind::SetRoomAttributes,
        InputKind::DeleteRoomAttributes,
        InputKind::SendRoomMessage,
        InputKind::SetRoomMembersAttributes,
        InputKind::DeleteRoomMembersAttributes,
        InputKind::QueryRoomMembersAttributes,
        InputKind::QueryRoomAttributes,
        InputKind::QueryRoomOnlineCount,
        InputKind::RemoveUsers,
        InputKind::DismissRoom,
        InputKind::AdminCreateRoom,
        InputKind::ListRooms,
        InputKind::QueryRoom,
        InputKind::AdminSetRoomAttributes,
        InputKind::MoveUsers,
        InputKind::BanUsers,
        InputKind::UnbanUsers,
        InputKind::Tick,
    ];

    /// The trace `type` (`"create_room"`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Login => "login",
            InputKind::Logout => "logout",
            InputKind::LinkLost => "link_lost",
            InputKind::LinkRestored => "link_restored",
            InputKind::CreateRoom => "create_room",
            InputKind::JoinRoom => "join_room",
            InputKind::EnterRoom => "enter_room",
            InputKind::SwitchRoom => "switch_room",
            InputKind::LeaveRoom => "leave_room",
            InputKind::LeaveAllRooms => "leave_all_rooms",
            InputKind::QueryMembers => "query_members",
            InputKind::SetRoomAttributes => "set_room_attributes",
            InputKind::DeleteRoomAttributes => "delete_room_attributes",
            InputKind::SendRoomMessage => "send_room_message",
            InputKind::SetRoomMembersAttributes => "set_room_members_attributes",
            InputKind::DeleteRoomMembersAttributes => "delete_room_members_attributes",
            InputKind::QueryRoomMembersAttributes => "query_room_members_attributes",
            InputKind::QueryRoomAttributes => "query_room_attributes",
            InputKind::QueryRoomOnlineCount => "query_room_online_count",
            InputKind::RemoveUsers => "remove_users",
            InputKind::DismissRoom => "dismiss_room",
            InputKind::AdminCreateRoom => "admin_create_room",
            InputKind::ListRooms => "list_rooms",
            InputKind::QueryRoom => "query_room",
            InputKind::AdminSetRoomAttributes => "admin_set_room_attributes",
            InputKind::MoveUsers => "move_users",
            InputKind::BanUsers => "ban_users",
            InputKind::UnbanUsers => "unban_users",
            InputKind::Tick => "tick",
        }
    }

    /// Who sends this kind of input.
    #[must_use]
    pub fn origin(self) -> Origin {
        match self {
            InputKind::Login
            | InputKind::Logout
            | InputKind::CreateRoom
            | InputKind::JoinRoom
            | InputKind::EnterRoom
            | InputKind::SwitchRoom
            | InputKind::LeaveRoom
            | InputKind::LeaveAllRooms
            | InputKind::QueryMembers
            | InputKind::SetRoomAttributes
            | InputKind::DeleteRoomAttributes
            | InputKind::SendRoomMessage
            | InputKind::SetRoomMembersAttributes
            | InputKind::DeleteRoomMembersAttributes
            | InputKind::QueryRoomMembersAttributes
            | InputKind::QueryRoomAttributes
            | InputKind::QueryRoomOnlineCount => Origin::Session,
            InputKind::LinkLost | InputKind::LinkRestored => Origin::Transport,
            InputKind::RemoveUsers
            | InputKind::DismissRoom
            | InputKind::AdminCreateRoom
            | InputKind::ListRooms
            | InputKind::QueryRoom
            | InputKind::AdminSetRoomAttributes
            | InputKind::MoveUsers
            | InputKind::BanUsers
            | InputKind::UnbanUsers => Origin::Admin,
            InputKind::Tick => Origin::Time,
        }
    }
}

impl Input {
    /// What kind of input this is.
    #[must_use]
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Login { .. } => InputKind::Login,
            Input::Logout { .. } => InputKind::Logout,
            Input::LinkLost { .. } => InputKind::LinkLost,
            Input::LinkRestored { .. } => InputKind::LinkRestored,
            Input::CreateRoom { .. } => InputKind::CreateRoom,
            Input::JoinRoom { .. } => InputKind::JoinRoom,
            Input::EnterRoom { .. } => InputKind::EnterRoom,
            Input::SwitchRoom { .. } => InputKind::SwitchRoom,
            Input::LeaveRoom { .. } => InputKind::LeaveRoom,
            Input::LeaveAllRooms { .. } => InputKind::LeaveAllRooms,
            Input::QueryMembers { .. } => InputKind::QueryMembers,
            Input::SetRoomAttributes { .. } => InputKind::SetRoomAttributes,
            Input::DeleteRoomAttributes { .. } => InputKind::DeleteRoomAttributes,
            Input::SendRoomMessage { .. } => InputKind::SendRoomMessage,
            Input::SetRoomMembersAttributes { .. } => InputKind::SetRoomMembersAttributes,
            Input::DeleteRoomMembersAttributes { .. } => InputKind::DeleteRoomMembersAttributes,
            Input::QueryRoomMembersAttributes { .. } => InputKind::QueryRoomMembersAttributes,
            Input::QueryRoomAttributes { .. } => InputKind::QueryRoomAttributes,
            Input::QueryRoomOnlineCount { .. } => InputKind::QueryRoomOnlineCount,
            Input::RemoveUsers { .. } => InputKind::RemoveUsers,
            Input::DismissRoom { .. } => InputKind::DismissRoom,
            Input::AdminCreateRoom { .. } => InputKind::AdminCreateRoom,
            Input::ListRooms { .. } => InputKind::ListRooms,
            Input::QueryRoom { .. } => InputKind::QueryRoom,
            Input::AdminSetRoomAttributes { .. } => InputKind::AdminSetRoomAttributes,
            Input::MoveUsers { .. } => InputKind::MoveUsers,
            Input::BanUsers { .. } => InputKind::BanUsers,
            Input::UnbanUsers { .. } => InputKind::UnbanUsers,
            Input::Tick => InputKind::Tick,
        }
    }

    /// The trace `type` of this input.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Who sent it.
    #[must_use]
    pub fn origin(&self) -> Origin {
        self.kind().origin()
    }

    /// Whether the service sent it (answered by `admin_reply`, never by a session's `reply`).
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.origin() == Origin::Admin
    }

    /// The request number its reply or admin reply echoes (`None` for transport events and
    /// `tick`, which are not answered).
    #[must_use]
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Input::Login { request, .. }
            | Input::Logout { request, .. }
            | Input::CreateRoom { request, .. }
            | Input::JoinRoom { request, .. }
            | Input::EnterRoom { request, .. }
            | Input::SwitchRoom { request, .. }
            | Input::LeaveRoom { request, .. }
            | Input::LeaveAllRooms { request, .. }
            | Input::QueryMembers { request, .. }
            | Input::SetRoomAttributes { request, .. }
            | Input::DeleteRoomAttributes { request, .. }
            | Input::SendRoomMessage { request, .. }
            | Input::SetRoomMembersAttributes { request, .. }
            | Input::DeleteRoomMembersAttributes { request, .. }
            | Input::QueryRoomMembersAttributes { request, .. }
            | Input::QueryRoomAttributes { request, .. }
            | Input::QueryRoomOnlineCount { request, .. }
            | Input::RemoveUsers { request, .. }
            | Input::DismissRoom { request, .. }
            | Input::AdminCreateRoom { request, .. }
            | Input::ListRooms { request, .. }
            | Input::QueryRoom { request, .. }
            | Input::AdminSetRoomAttributes { request, .. }
            | Input::MoveUsers { request, .. }
            | Input::BanUsers { request, .. }
            | Input::UnbanUsers { request, .. } => Some(*request),
            Input::LinkLost { .. } | Input::LinkRestored { .. } | Input::Tick => None,
        }
    }

    /// The room a session command would put its session in (and may create): the room of
    /// `create_room`, `join_room` and `enter_room`, the target of `switch_room`. Admin
    /// commands and the rest put no session anywhere on its own request.
    #[must_use]
    pub fn target_room(&self) -> Option<RoomId> {
        match self {
            Input::CreateRoom { room, .. } | Input::EnterRoom { room, .. } => Some(room.id),
            Input::JoinRoom { room_id, .. } => Some(*room_id),
            Input::SwitchRoom { to, .. } => Some(to.id),
            Input::Login { .. }
            | Input::Logout { .. }
            | Input::LinkLost { .. }
            | Input::LinkRestored { .. }
            | Input::LeaveRoom { .. }
            | Input::LeaveAllRooms { .. }
            | Input::QueryMembers { .. }
            | Input::SetRoomAttributes { .. }
            | Input::DeleteRoomAttributes { .. }
            | Input::SendRoomMessage { .. }
            | Input::SetRoomMembersAttributes { .. }
            | Input::DeleteRoomMembersAttributes { .. }
            | Input::QueryRoomMembersAttributes { .. }
            | Input::QueryRoomAttributes { .. }
            | Input::QueryRoomOnlineCount { .. }
            | Input::RemoveUsers { .. }
            | Input::DismissRoom { .. }
            | Input::AdminCreateRoom { .. }
            | Input::ListRooms { .. }
            | Input::QueryRoom { .. }
            | Input::AdminSetRoomAttributes { .. }
            | Input::MoveUsers { .. }
            | Input::BanUsers { .. }
            | Input::UnbanUsers { .. }
            | Input::Tick => None,
        }
    }

    /// The rooms the input names, in the order it names them (a switch: source, then
    /// target). Inputs about a session's rooms in general (`leave_all_rooms`, `logout`,
    /// link events) name none.
    #[must_use]
    pub fn rooms(&self) -> SmallVec<[RoomId; 2]> {
        match self {
            Input::CreateRoom { room, .. }
            | Input::EnterRoom { room, .. }
            | Input::AdminCreateRoom { room, .. } => smallvec![room.id],
            Input::SwitchRoom { from, to, .. } | Input::MoveUsers { from, to, .. } => {
                smallvec![*from, to.id]
            }
            Input::JoinRoom { room_id, .. }
            | Input::LeaveRoom { room_id, .. }
            | Input::QueryMembers { room_id, .. }
            | Input::SetRoomAttributes { room_id, .. }
            | Input::DeleteRoomAttributes { room_id, .. }
            | Input::SendRoomMessage { room_id, .. }
            | Input::SetRoomMembersAttributes { room_id, .. }
            | Input::DeleteRoomMembersAttributes { room_id, .. }
            | Input::QueryRoomMembersAttributes { room_id, .. }
            | Input::QueryRoomAttributes { room_id, .. }
            | Input::QueryRoomOnlineCount { room_id, .. }
            | Input::RemoveUsers { room_id, .. }
            | Input::DismissRoom { room_id, .. }
            | Input::QueryRoom { room_id, .. }
            | Input::AdminSetRoomAttributes { room_id, .. }
            | Input::BanUsers { room_id, .. }
            | Input::UnbanUsers { room_id, .. } => smallvec![*room_id],
            Input::Login { .. }
            | Input::Logout { .. }
            | Input::LinkLost { .. }
            | Input::LinkRestored { .. }
            | Input::LeaveAllRooms { .. }
            | Input::ListRooms { .. }
            | Input::Tick => SmallVec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_and_named_as_serde_names_it() {
        for (i, k) in InputKind::ALL.iter().enumerate() {
            assert!(!InputKind::ALL[..i].contains(k), "{k:?} twice");
            let json = serde_json::to_string(k).expect("a unit variant serializes");
            assert_eq!(json, format!("\"{}\"", k.name()));
        }
    }

    #[test]
    fn an_input_names_its_kind_as_its_trace_type() {
        let lines = [
            r#"{"type":"login","session":"s1","request":1,"user":"alice"}"#,
            r#"{"type":"switch_room","session":"s1","request":4,"from":"r1","to":{"id":"r2"}}"#,
            r#"{"type":"remove_users","request":8,"room_id":"r1","users":["bob"]}"#,
            r#"{"type":"link_lost","session":"s1"}"#,
            r#"{"type":"tick"}"#,
        ];
        let expected = [
            (Origin::Session, Some(1), 1, vec![]),
            (Origin::Session, Some(4), 1, vec!["r1", "r2"]),
            (Origin::Admin, Some(8), 0, vec!["r1"]),
            (Origin::Transport, None, 1, vec![]),
            (Origin::Time, None, 0, vec![]),
        ];
        for (line, (origin, request, sessions, rooms)) in lines.iter().zip(expected) {
            let input: Input = serde_json::from_str(line).expect("a valid input line");
            let tag: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            assert_eq!(Some(input.name()), tag["type"].as_str());
            assert_eq!(input.origin(), origin, "{line}");
            assert_eq!(input.is_admin(), origin == Origin::Admin);
            assert_eq!(input.request(), request, "{line}");
            assert_eq!(usize::from(input.session().is_some()), sessions, "{line}");
            let named: Vec<String> = input.rooms().iter().map(ToString::to_string).collect();
            assert_eq!(named, rooms, "{line}");
        }
    }
}
