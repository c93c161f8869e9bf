//! Inputs: session commands, transport events, admin commands and time passing.

use crate::config::RoomConfig;
use crate::ids::{RoomId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod classify;
mod kind;
mod room_name;
pub use kind::{InputKind, Origin};
pub use room_name::RoomName;

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
    pub name: RoomName,
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
