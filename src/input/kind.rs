//! The kinds of input and who sends each: the closed list a router matches on.

use serde::{Deserialize, Serialize};

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

/// Every kind of input, by its trace `type`. Matching on it (or on [`Input`](crate::Input)) without a
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
}
