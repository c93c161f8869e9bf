//! How inputs classify themselves: the methods every router, checker and view
//! uses instead of its own match over every variant. Matching here without a wildcard arm is
//! what makes a new input a compile error in every place that must handle it.

use super::kind::{InputKind, Origin};
use super::{Input, RequestId};
use crate::ids::{RoomId, SessionId};
use smallvec::{smallvec, SmallVec};

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
