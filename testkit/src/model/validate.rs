//! Argument checks, written from the documented limits (ZIM's, where it has them).

use roomcore::config::{Config, RoomConfig};
use roomcore::error::Error;
use roomcore::input::RoomInfo;

/// ZIM's id alphabet besides ASCII letters and digits.
const PUNCTUATION: &str = "!#$%&()+-:;<=.>?@[]^_{}|~";

/// ZIM's largest `roomDestroyDelayTime`: 3 hours.
const MAX_DELAY_S: u64 = 10_800;

/// Whether an id of `len` bytes (as originally given) with text `text` is 1..=`max` bytes of
/// the id alphabet. `len` can exceed `text.len()` when the id was too long to store.
pub(super) fn id_ok(len: usize, text: &str, max: u32) -> bool {
    len >= 1
        && len == text.len()
        && len <= max as usize
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || PUNCTUATION.contains(c))
}

/// Helper: (original length, text) of any id type.
macro_rules! id_parts {
    ($id:expr) => {
        ($id.0.len(), $id.as_str())
    };
}

pub(super) fn room_id(cfg: &Config, id: roomcore::ids::RoomId) -> Result<(), Error> {
    let (len, text) = id_parts!(id);
    if id_ok(len, text, cfg.room_id_max_bytes) {
        Ok(())
    } else {
        Err(Error::InvalidRoomId(""))
    }
}

pub(super) fn user_id(cfg: &Config, id: roomcore::ids::UserId) -> Result<(), Error> {
    let (len, text) = id_parts!(id);
    if id_ok(len, text, cfg.user_id_max_bytes) {
        Ok(())
    } else {
        Err(Error::InvalidUserId(""))
    }
}

pub(super) fn session_id(id: roomcore::ids::SessionId) -> Result<(), Error> {
    let (len, text) = id_parts!(id);
    if id_ok(len, text, 32) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(""))
    }
}

pub(super) fn room_info(cfg: &Config, info: &RoomInfo) -> Result<(), Error> {
    room_id(cfg, info.id)?;
    if info.name.len() > cfg.room_name_max_bytes as usize {
        return Err(Error::InvalidRoomName {
            max: cfg.room_name_max_bytes,
        });
    }
    Ok(())
}

/// A room config of a session's command: no `empty_timeout_s` (the service's own), and the
/// settings every room config shares.
pub(super) fn room_config(cfg: &Config, rc: Option<&RoomConfig>) -> Result<(), Error> {
    if rc.is_some_and(|c| c.empty_timeout_s.is_some()) {
        return Err(Error::InvalidConfig(""));
    }
    settings(cfg, rc)
}

/// The room config of `admin_create_room`: `empty_timeout_s` at most a day, then the rest.
pub(super) fn admin_room_config(cfg: &Config, rc: Option<&RoomConfig>) -> Result<(), Error> {
    if rc
        .and_then(|c| c.empty_timeout_s)
        .is_some_and(|t| t > 86_400)
    {
        return Err(Error::InvalidConfig(""));
    }
    settings(cfg, rc)
}

/// Delay in range, a member limit within the engine's, initial attributes within the
/// attribute limits.
fn settings(cfg: &Config, rc: Option<&RoomConfig>) -> Result<(), Error> {
    let Some(rc) = rc else { return Ok(()) };
    if rc.destroy_delay_s > MAX_DELAY_S {
        return Err(Error::InvalidConfig(""));
    }
    if rc.max_members > cfg.max_members_per_room {
        return Err(Error::InvalidConfig(""));
    }
    let pairs: Vec<(&String, &String)> = rc.attributes.iter().collect();
    if attrs_fit(cfg, &pairs, 0, 0).is_err() {
        return Err(Error::InvalidConfig(""));
    }
    Ok(())
}

/// Whether setting `pairs` on a room that already has `count` other keys and `bytes` bytes in
/// them stays within the attribute limits.
pub(super) fn attrs_fit(
    cfg: &Config,
    pairs: &[(&String, &String)],
    count: usize,
    bytes: usize,
) -> Result<(), Error> {
    for (k, v) in pairs {
        if k.is_empty() || k.len() > cfg.attribute_key_max_bytes as usize {
            return Err(Error::AttributeLimit(""));
        }
        if v.len() > cfg.attribute_value_max_bytes as usize {
            return Err(Error::AttributeLimit(""));
        }
    }
    if count + pairs.len() > cfg.max_room_attributes as usize {
        return Err(Error::AttributeLimit(""));
    }
    let total: usize = bytes + pairs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    if total > cfg.attributes_total_max_bytes as usize {
        return Err(Error::AttributeLimit(""));
    }
    Ok(())
}
