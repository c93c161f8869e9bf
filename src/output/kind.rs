//! The kinds of output and who receives each: the closed list a router matches on.

use crate::ids::{RoomId, SessionId};
use serde::{Deserialize, Serialize};

/// Who an output is for: where an embedder delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// One session.
    Session(SessionId),
    /// Several sessions, named in the [`Outputs`](super::Outputs) buffer that holds the
    /// output ([`Outputs::sessions`](super::Outputs::sessions)).
    Sessions(super::Recipients),
    /// Every member of the room whose link is live ([`Engine::room_recipients`](crate::Engine::room_recipients)),
    /// read after the step: a large room's coalesced delta.
    Room(RoomId),
    /// The embedding service itself: admin replies and server-side events.
    Service,
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Session(s) => write!(f, "session {s}"),
            Recipient::Sessions(run) => write!(f, "{} sessions", run.len()),
            Recipient::Room(r) => write!(f, "room {r}"),
            Recipient::Service => f.write_str("server"),
        }
    }
}

/// Every kind of output, by its trace `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is the output of the same name
pub enum OutputKind {
    Reply,
    AdminReply,
    RoomStateChanged,
    MembersJoined,
    MembersLeft,
    RoomCreated,
    RoomDestroyed,
    SessionClosed,
    RoomAttributesUpdated,
    RoomMessage,
    RoomMembersChanged,
    RoomMemberAttributesUpdated,
    MemberJoined,
    MemberLeft,
}

impl OutputKind {
    /// Every kind, in declaration order.
    pub const ALL: [OutputKind; 14] = [
        OutputKind::Reply,
        OutputKind::AdminReply,
        OutputKind::RoomStateChanged,
        OutputKind::MembersJoined,
        OutputKind::MembersLeft,
        OutputKind::RoomCreated,
        OutputKind::RoomDestroyed,
        OutputKind::SessionClosed,
        OutputKind::RoomAttributesUpdated,
        OutputKind::RoomMessage,
        OutputKind::RoomMembersChanged,
        OutputKind::RoomMemberAttributesUpdated,
        OutputKind::MemberJoined,
        OutputKind::MemberLeft,
    ];

    /// The trace `type` (`"room_state_changed"`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Reply => "reply",
            OutputKind::AdminReply => "admin_reply",
            OutputKind::RoomStateChanged => "room_state_changed",
            OutputKind::MembersJoined => "members_joined",
            OutputKind::MembersLeft => "members_left",
            OutputKind::RoomCreated => "room_created",
            OutputKind::RoomDestroyed => "room_destroyed",
            OutputKind::SessionClosed => "session_closed",
            OutputKind::RoomAttributesUpdated => "room_attributes_updated",
            OutputKind::RoomMessage => "room_message",
            OutputKind::RoomMembersChanged => "room_members_changed",
            OutputKind::RoomMemberAttributesUpdated => "room_member_attributes_updated",
            OutputKind::MemberJoined => "member_joined",
            OutputKind::MemberLeft => "member_left",
        }
    }

    /// Whether this output tells members of a room about the room (a member event): it only
    /// ever reaches live members, never the session it is about.
    #[must_use]
    pub fn is_member_event(self) -> bool {
        match self {
            OutputKind::MembersJoined
            | OutputKind::MembersLeft
            | OutputKind::RoomAttributesUpdated
            | OutputKind::RoomMessage
            | OutputKind::RoomMembersChanged
            | OutputKind::RoomMemberAttributesUpdated => true,
            OutputKind::Reply
            | OutputKind::AdminReply
            | OutputKind::RoomStateChanged
            | OutputKind::RoomCreated
            | OutputKind::RoomDestroyed
            | OutputKind::SessionClosed
            | OutputKind::MemberJoined
            | OutputKind::MemberLeft => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_and_named_as_serde_names_it() {
        for (i, k) in OutputKind::ALL.iter().enumerate() {
            assert!(!OutputKind::ALL[..i].contains(k), "{k:?} twice");
            let json = serde_json::to_string(k).expect("a unit variant serializes");
            assert_eq!(json, format!("\"{}\"", k.name()));
        }
    }
}
