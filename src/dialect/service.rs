//! Service events as each vendor's server callbacks name them: LiveKit webhooks, TRTC room
//! event callbacks (event group 1: 101 create, 102 dismiss, 103 enter, 104 exit), and ZIM's
//! server callbacks (room created, destroyed, member entered, member left).

use super::{livekit, trtc, Dialect, VendorEvent};
use crate::output::Output;

/// The server callbacks for a service event (`room_created`, `room_destroyed`,
/// `member_joined`, `member_left`); `None` for any other output. ByteDance's mini-program API
/// has no server callbacks: its view of a service event is empty.
pub(super) fn service_view(dialect: Dialect, out: &Output) -> Option<Vec<VendorEvent>> {
    let event = match dialect {
        Dialect::LiveKit => livekit_webhook(out)?,
        Dialect::Trtc => trtc_callback(out)?,
        Dialect::Zim => zim_callback(out)?,
        Dialect::ByteDance => {
            return service_event(out).then(Vec::new);
        }
    };
    Some(vec![event])
}

/// Whether the output is one the service is told about by callback.
fn service_event(out: &Output) -> bool {
    matches!(
        out,
        Output::RoomCreated { .. }
            | Output::RoomDestroyed { .. }
            | Output::MemberJoined { .. }
            | Output::MemberLeft { .. }
    )
}

/// The event number, when service events are on.
fn numbered(e: VendorEvent, event_id: Option<u64>) -> VendorEvent {
    match event_id {
        Some(id) => e.int("id", id),
        None => e,
    }
}

fn livekit_webhook(out: &Output) -> Option<VendorEvent> {
    let e = match out {
        Output::RoomCreated {
            room_id,
            sid,
            event_id,
        } => numbered(room_event("room_started", room_id, *sid), *event_id),
        Output::RoomDestroyed {
            room_id,
            sid,
            event_id,
            ..
        } => numbered(room_event("room_finished", room_id, *sid), *event_id),
        Output::MemberJoined {
            room_id,
            sid,
            user_id,
            session_id,
            event_id,
        } => VendorEvent::new("participant_joined")
            .str("room", room_id)
            .str("roomSid", sid)
            .str("identity", user_id)
            .str("participantSid", session_id)
            .int("id", *event_id),
        Output::MemberLeft {
            room_id,
            sid,
            user_id,
            session_id,
            reason,
            event_id,
        } => VendorEvent::new("participant_left")
            .str("room", room_id)
            .str("roomSid", sid)
            .str("identity", user_id)
            .str("participantSid", session_id)
            .int("disconnectReason", livekit::webhook_reason(*reason))
            .int("id", *event_id),
        _ => return None,
    };
    Some(e)
}

fn room_event(
    name: &'static str,
    room_id: &crate::ids::RoomId,
    sid: Option<crate::ids::RoomSid>,
) -> VendorEvent {
    let e = VendorEvent::new(name).str("room", room_id);
    match sid {
        Some(sid) => e.str("roomSid", sid),
        None => e,
    }
}

fn trtc_callback(out: &Output) -> Option<VendorEvent> {
    let base = |event_type: u16, room_id: &crate::ids::RoomId| {
        VendorEvent::new("RoomEventCallback")
            .int("EventGroupId", 1u8)
            .int("EventType", event_type)
            .str("RoomId", room_id)
    };
    let e = match out {
        Output::RoomCreated {
            room_id, event_id, ..
        } => numbered(base(trtc::EVENT_CREATE_ROOM, room_id), *event_id),
        Output::RoomDestroyed {
            room_id, event_id, ..
        } => numbered(base(trtc::EVENT_DISMISS_ROOM, room_id), *event_id),
        Output::MemberJoined {
            room_id,
            user_id,
            event_id,
            ..
        } => base(trtc::EVENT_ENTER_ROOM, room_id)
            .str("UserId", user_id)
            .int("id", *event_id),
        Output::MemberLeft {
            room_id,
            user_id,
            reason,
            event_id,
            ..
        } => base(trtc::EVENT_EXIT_ROOM, room_id)
            .str("UserId", user_id)
            .int("Reason", trtc::exit_callback_reason(*reason))
            .int("id", *event_id),
        _ => return None,
    };
    Some(e)
}

fn zim_callback(out: &Output) -> Option<VendorEvent> {
    let e = match out {
        Output::RoomCreated {
            room_id, event_id, ..
        } => numbered(
            VendorEvent::new("room_create").str("room_id", room_id),
            *event_id,
        ),
        Output::RoomDestroyed {
            room_id, event_id, ..
        } => numbered(
            VendorEvent::new("room_destroy").str("room_id", room_id),
            *event_id,
        ),
        Output::MemberJoined {
            room_id,
            user_id,
            event_id,
            ..
        } => VendorEvent::new("room_member_enter")
            .str("room_id", room_id)
            .str("user_id", user_id)
            .int("id", *event_id),
        Output::MemberLeft {
            room_id,
            user_id,
            event_id,
            ..
        } => VendorEvent::new("room_member_leave")
            .str("room_id", room_id)
            .str("user_id", user_id)
            .int("id", *event_id),
        _ => return None,
    };
    Some(e)
}
