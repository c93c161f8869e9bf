//! What a pending timer is for, as the engine's getters name it (the timer table itself is
//! internal).

use crate::ids::{RoomId, SessionId, UserId};
use serde::{Deserialize, Serialize};

/// What a pending timer is for (see [`Engine::next_timer`](crate::Engine::next_timer)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerReason {
    /// An empty room's destroy delay: the room goes at the deadline (`room_destroyed`, cause
    /// `empty`) unless someone joins first.
    DestroyRoom {
        /// The room.
        room_id: RoomId,
    },
    /// A lost link's reconnect grace: the session leaves the rooms it is reconnecting to at
    /// the deadline unless its link comes back first.
    ReconnectGrace {
        /// The session.
        session: SessionId,
    },
    /// A large room's coalescing window: its `room_members_changed` goes out at the
    /// deadline.
    MemberBatch {
        /// The room.
        room_id: RoomId,
    },
    /// A ban's end: the user may join the room again from the deadline on.
    BanExpiry {
        /// The room id.
        room_id: RoomId,
        /// The banned user.
        user_id: UserId,
    },
}
