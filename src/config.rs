//! Engine configuration and per-room configuration, with their validation.

use crate::error::ConfigError;
use crate::ids::ID_CAPACITY;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// ZIM's upper bound for `roomDestroyDelayTime`: 3 hours.
pub const MAX_DESTROY_DELAY_S: u64 = 10_800;

/// What a new login of a user already logged in elsewhere does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DevicePolicy {
    /// ZIM's default: the newer login closes the older session.
    #[default]
    Single,
    /// Several sessions of one user live side by side.
    Multi,
    /// While a user has a live session (its link lost or not), another login of that user
    /// is refused with `duplicate_login` (LiveKit's duplicate identity, refused instead of
    /// replacing).
    RejectNew,
}

/// Engine-wide limits and timings. Absent fields in JSON take the defaults (ZIM's numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The server's room-count limit (`server_room_limit`).
    pub max_rooms: u32,
    /// Rooms one session may be in at once (`joined_room_limit`; ZIM: 5).
    pub max_rooms_per_session: u32,
    /// Members one room may hold (`room_full`).
    pub max_members_per_room: u32,
    /// Logged-in sessions at once (at most [`MAX_SESSIONS_CAP`]).
    pub max_sessions: u32,
    /// How long a session whose link is lost keeps its rooms (TRTC: 90 s).
    pub reconnect_grace_ms: u64,
    /// `single` or `multi` device policy.
    pub device_policy: DevicePolicy,
    /// How long a closed session id answers `session_closed` rather than `not_logged_in`.
    pub closed_session_ttl_ms: u64,
    /// How many closed session ids are remembered at most (oldest forgotten first).
    pub max_closed_sessions: u32,
    /// Room id length limit in bytes (at most 32, the inline id capacity).
    pub room_id_max_bytes: u32,
    /// Room name length limit in bytes.
    pub room_name_max_bytes: u32,
    /// User id length limit in bytes (at most 32).
    pub user_id_max_bytes: u32,
    /// Users one `remove_users` call may name (ZIM: 50).
    pub max_kick_users: u32,
    /// Room attributes per room (ZIM: 20).
    pub max_room_attributes: u32,
    /// Room attribute key length limit in bytes (ZIM: 16).
    pub attribute_key_max_bytes: u32,
    /// Room attribute value length limit in bytes (ZIM: 1,024).
    pub attribute_value_max_bytes: u32,
    /// Total bytes of all keys and values of one room (ZIM: 5,120).
    pub attributes_total_max_bytes: u32,
    /// Room message payload limit in bytes (32 KiB).
    pub message_max_bytes: u32,
    /// Messages per second one session may send (token bucket); 0 turns the limit off.
    pub message_rate_per_s: u32,
    /// Messages a session may send in a burst when the rate limit is on (at least 1 then).
    pub message_burst: u32,
    /// Attributes one member may have in one room (ZIM: 30).
    pub max_member_attributes: u32,
    /// Member attribute key length limit in bytes (ZIM: 8).
    pub member_attribute_key_max_bytes: u32,
    /// Member attribute value length limit in bytes (ZIM: 64).
    pub member_attribute_value_max_bytes: u32,
    /// Total bytes of one member's keys and values in one room (ZIM: 144).
    pub member_attributes_total_max_bytes: u32,
    /// Member attributes can be set only in rooms with at most this many members (ZIM: 500).
    pub member_attributes_max_room_members: u32,
    /// Users one member attribute call may name (ZIM: 100).
    pub member_attributes_max_users: u32,
    /// Above this many members, a room's joins and leaves are no longer sent to every member
    /// one event per change: they are coalesced into one `room_members_changed` per room per
    /// `member_batch_interval_ms` (ZEGO and BytePlus stop per-join callbacks above 500).
    pub member_notify_threshold: u32,
    /// The coalescing window of a large room, in ms (1..=60,000).
    pub member_batch_interval_ms: u64,
    /// Report every membership change to the service (`member_joined` / `member_left`) and
    /// number every service event (`event_id`). Off by default.
    pub service_events: bool,
    /// Whether sessions may create rooms (`create_room`, and `enter_room` / `switch_room`
    /// with creation). When `false`, rooms come only from `admin_create_room` (LiveKit's
    /// `auto_create: false`).
    pub clients_create_rooms: bool,
    /// Bans (room id, user) held at once (`ban_limit` past it).
    pub max_bans: u32,
    /// Seed of the hash used for id lookups; pick a secret one against hostile ids. It never
    /// changes any output.
    pub hash_seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_rooms: 1_000_000,
            max_rooms_per_session: 5,
            max_members_per_room: 100_000,
            max_sessions: 1_000_000,
            reconnect_grace_ms: 90_000,
            device_policy: DevicePolicy::Single,
            closed_session_ttl_ms: 600_000,
            max_closed_sessions: 100_000,
            room_id_max_bytes: 32,
            room_name_max_bytes: 64,
            user_id_max_bytes: 32,
            max_kick_users: 50,
            max_room_attributes: 20,
            attribute_key_max_bytes: 16,
            attribute_value_max_bytes: 1024,
            attributes_total_max_bytes: 5120,
            message_max_bytes: 32 * 1024,
            message_rate_per_s: 0,
            message_burst: 10,
            max_member_attributes: 30,
            member_attribute_key_max_bytes: 8,
            member_attribute_value_max_bytes: 64,
            member_attributes_total_max_bytes: 144,
            member_attributes_max_room_members: 500,
            member_attributes_max_users: 100,
            member_notify_threshold: 500,
            member_batch_interval_ms: 1000,
            service_events: false,
            clients_create_rooms: true,
            max_bans: 100_000,
            hash_seed: 0,
        }
    }
}

/// Largest message payload limit accepted (1 MiB).
pub const MESSAGE_MAX_BYTES_CAP: u32 = 1 << 20;

/// Largest total attribute size accepted per room (1 MiB).
pub const ATTRIBUTES_TOTAL_MAX_BYTES_CAP: u32 = 1 << 20;

/// Largest total member attribute size accepted per member (64 KiB).
pub const MEMBER_ATTRIBUTES_TOTAL_MAX_BYTES_CAP: u32 = 1 << 16;

/// Most users one member attribute call may name.
pub const MEMBER_ATTRIBUTES_MAX_USERS_CAP: u32 = 1000;

/// Longest member batch window accepted (one minute): a longer one would leave members of a
/// large room blind to its changes for too long.
pub const MEMBER_BATCH_INTERVAL_MS_CAP: u64 = 60_000;

/// Largest room name limit accepted, so a config cannot make names unbounded.
pub const ROOM_NAME_MAX_BYTES_CAP: u32 = 4096;

/// Largest `max_sessions` accepted (2^30): session slots then stay below 2^31, so a large
/// room's member list keeps a member's lost-link bit in its slot's top bit (12 bytes per
/// member instead of 16). A billion sessions is far beyond one engine's memory anyway.
pub const MAX_SESSIONS_CAP: u32 = 1 << 30;

impl Config {
    /// Checks that every limit is usable: non-zero where zero would make the engine useless,
    /// id limits within the inline capacity.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let id_cap = u32::try_from(ID_CAPACITY).unwrap_or(u32::MAX);
        let checks: [(&'static str, bool); 16] = [
            (
                "message_max_bytes",
                self.message_max_bytes <= MESSAGE_MAX_BYTES_CAP,
            ),
            (
                "attributes_total_max_bytes",
                self.attributes_total_max_bytes <= ATTRIBUTES_TOTAL_MAX_BYTES_CAP,
            ),
            ("max_rooms", self.max_rooms > 0),
            ("max_rooms_per_session", self.max_rooms_per_session > 0),
            ("max_members_per_room", self.max_members_per_room > 0),
            ("max_sessions", self.max_sessions > 0),
            ("max_sessions", self.max_sessions <= MAX_SESSIONS_CAP),
            ("max_kick_users", self.max_kick_users > 0),
            (
                "room_id_max_bytes",
                (1..=id_cap).contains(&self.room_id_max_bytes),
            ),
            (
                "user_id_max_bytes",
                (1..=id_cap).contains(&self.user_id_max_bytes),
            ),
            (
                "room_name_max_bytes",
                self.room_name_max_bytes <= ROOM_NAME_MAX_BYTES_CAP,
            ),
            ("max_rooms_per_session", self.max_rooms_per_session <= 1024),
            // A rate limit with an empty bucket would refuse every message.
            (
                "message_burst",
                self.message_rate_per_s == 0 || self.message_burst > 0,
            ),
            (
                "member_attributes_total_max_bytes",
                self.member_attributes_total_max_bytes <= MEMBER_ATTRIBUTES_TOTAL_MAX_BYTES_CAP,
            ),
            (
                "member_attributes_max_users",
                (1..=MEMBER_ATTRIBUTES_MAX_USERS_CAP).contains(&self.member_attributes_max_users),
            ),
            (
                "member_batch_interval_ms",
                (1..=MEMBER_BATCH_INTERVAL_MS_CAP).contains(&self.member_batch_interval_ms),
            ),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((field, _)) => Err(ConfigError::OutOfRange { field }),
            None => Ok(()),
        }
    }
}

/// Per-room settings a create / enter / switch may carry (ZIM `ZIMRoomAdvancedConfig`).
/// They apply only when the command creates the room.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomConfig {
    /// Seconds an emptied room waits before it is destroyed (0..=10,800; 0 = at once).
    pub destroy_delay_s: u64,
    /// Initial room attributes (owned by the creator).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Keep the attributes while the room is empty and waiting for destruction (ZIM's
    /// default drops them).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_attributes_while_empty: bool,
    /// This room's member limit (`room_full`); 0 takes the engine's
    /// `max_members_per_room`, and a larger one is `invalid_config`.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_members: u32,
    /// `admin_create_room` only (0..=86,400 s, default 300, as LiveKit): a room nobody joins
    /// within it is destroyed with cause `empty`. Any other command refuses it as
    /// `invalid_config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_timeout_s: Option<u64>,
}

/// The longest `empty_timeout_s` accepted: one day.
pub const MAX_EMPTY_TIMEOUT_S: u64 = 86_400;

/// The `empty_timeout_s` of an `admin_create_room` that names none (LiveKit's default).
pub const DEFAULT_EMPTY_TIMEOUT_S: u64 = 300;

/// The longest ban accepted, in seconds: one week (ByteDance's `ForbiddenInterval` bound).
pub const MAX_BAN_S: u64 = 604_800;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RoomConfig {
    /// The destroy delay in milliseconds, if within ZIM's range.
    #[must_use]
    pub fn destroy_delay_ms(&self) -> Option<u64> {
        (self.destroy_delay_s <= MAX_DESTROY_DELAY_S).then(|| self.destroy_delay_s * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_sessions_is_capped_at_2_pow_30() {
        let at_cap = Config {
            max_sessions: MAX_SESSIONS_CAP,
            ..Config::default()
        };
        assert_eq!(at_cap.validate(), Ok(()));
        let over = Config {
            max_sessions: MAX_SESSIONS_CAP + 1,
            ..Config::default()
        };
        assert_eq!(
            over.validate(),
            Err(ConfigError::OutOfRange {
                field: "max_sessions"
            })
        );
    }
}
