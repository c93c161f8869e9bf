//! One-line descriptions of inputs, outputs and vendor events, shared by both formats.

use crate::config::RoomConfig;
use crate::dialect::VendorEvent;
use crate::input::Input;
use crate::output::{Member, Outcome, Output, ReplyOk};
use std::fmt::Write as _;

fn names(members: &[Member]) -> String {
    let v: Vec<String> = members.iter().map(|m| m.user_id.to_string()).collect();
    format!("[{}]", v.join(", "))
}

fn room_config(config: Option<&RoomConfig>) -> String {
    let Some(c) = config else {
        return String::new();
    };
    let mut s = format!(" destroy_delay_s={}", c.destroy_delay_s);
    if !c.attributes.is_empty() {
        let kv: Vec<String> = c
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let _ = write!(s, " attributes={{{}}}", kv.join(", "));
    }
    s
}

/// A short description of an input, without its session.
#[must_use]
pub fn describe_input(input: &Input) -> String {
    let name = input.name();
    match input {
        Input::Login { request, user, .. } => format!("{name} {user} #{request}"),
        Input::CreateRoom {
            request,
            room,
            config,
            ..
        }
        | Input::EnterRoom {
            request,
            room,
            config,
            ..
        } => {
            let config = room_config(config.as_ref());
            format!("{name} {} {:?}{config} #{request}", room.id, room.name)
        }
        Input::SwitchRoom {
            request,
            from,
            to,
            create_if_missing,
            config,
            ..
        } => {
            let create = if *create_if_missing {
                " create_if_missing"
            } else {
                ""
            };
            let config = room_config(config.as_ref());
            format!("{name} {from} -> {}{create}{config} #{request}", to.id)
        }
        _ => describe_room_input(input),
    }
}

fn describe_room_input(input: &Input) -> String {
    let name = input.name();
    match input {
        Input::JoinRoom {
            request, room_id, ..
        }
        | Input::LeaveRoom {
            request, room_id, ..
        }
        | Input::DismissRoom { request, room_id }
        | Input::QueryRoom { request, room_id }
        | Input::QueryRoomAttributes {
            request, room_id, ..
        }
        | Input::QueryRoomOnlineCount {
            request, room_id, ..
        } => format!("{name} {room_id} #{request}"),
        Input::QueryMembers {
            request,
            room_id,
            next,
            count,
            ..
        } => format!("{name} {room_id} next={next:?} count={count} #{request}"),
        Input::RemoveUsers {
            request,
            room_id,
            users,
        }
        | Input::UnbanUsers {
            request,
            room_id,
            users,
        } => {
            let u: Vec<String> = users.iter().map(ToString::to_string).collect();
            format!("{name} {room_id} [{}] #{request}", u.join(", "))
        }
        Input::BanUsers {
            request,
            room_id,
            users,
            duration_s,
        } => {
            let u: Vec<String> = users.iter().map(ToString::to_string).collect();
            format!(
                "{name} {room_id} [{}] for {duration_s} s #{request}",
                u.join(", ")
            )
        }
        Input::MoveUsers {
            request,
            from,
            to,
            users,
            ..
        } => {
            let u: Vec<String> = users.iter().map(ToString::to_string).collect();
            format!("{name} [{}] {from} -> {} #{request}", u.join(", "), to.id)
        }
        _ => describe_data_input(input),
    }
}

fn describe_data_input(input: &Input) -> String {
    let name = input.name();
    match input {
        Input::SetRoomAttributes {
            request,
            room_id,
            attributes,
            ..
        } => {
            let kv: Vec<String> = attributes
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            format!("{name} {room_id} {{{}}} #{request}", kv.join(", "))
        }
        Input::DeleteRoomAttributes {
            request,
            room_id,
            keys,
            ..
        } => format!("{name} {room_id} [{}] #{request}", keys.join(", ")),
        Input::SendRoomMessage {
            request,
            room_id,
            payload,
            ..
        } => format!("{name} {room_id} {payload:?} #{request}"),
        Input::Logout { request, .. } | Input::LeaveAllRooms { request, .. } => {
            format!("{name} #{request}")
        }
        _ => name.to_owned(),
    }
}

fn describe_ok(ok: &ReplyOk) -> String {
    match ok {
        ReplyOk::LoggedIn { user_id } => format!("ok user_id={user_id}"),
        ReplyOk::Room {
            room,
            sid,
            member_count,
            ..
        } => {
            let sid = sid.map_or_else(String::new, |s| format!(" sid={s}"));
            let count = member_count.map_or_else(String::new, |n| format!(" member_count={n}"));
            format!("ok room={} {:?}{sid}{count}", room.id, room.name)
        }
        ReplyOk::LeftAll { room_ids } => {
            let r: Vec<String> = room_ids.iter().map(ToString::to_string).collect();
            format!("ok room_ids=[{}]", r.join(", "))
        }
        ReplyOk::Members { members, next } => {
            let m: Vec<String> = members.iter().map(|m| m.user_id.to_string()).collect();
            format!("ok members=[{}] next={next:?}", m.join(", "))
        }
        ReplyOk::MessageSent { seq } => format!("ok seq={seq}"),
        ReplyOk::UsersRemoved { removed, skipped } => {
            let r: Vec<String> = removed.iter().map(ToString::to_string).collect();
            let s: Vec<String> = skipped.iter().map(ToString::to_string).collect();
            format!("ok removed=[{}] skipped=[{}]", r.join(", "), s.join(", "))
        }
        ReplyOk::RoomId { room_id } => format!("ok room_id={room_id}"),
        ReplyOk::Empty {} => "ok".to_owned(),
        other => format!("ok {}", compact(other)),
    }
}

fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(ok) => describe_ok(ok),
        Outcome::Error(e) => format!("error {} ({})", e.code.as_str(), e.message),
    }
}

/// A short description of an output, without its recipient.
#[must_use]
pub fn describe_output(out: &Output) -> String {
    match out {
        Output::Reply {
            request, outcome, ..
        } => format!("reply #{request} {}", describe_outcome(outcome)),
        Output::AdminReply { request, outcome } => {
            format!("admin_reply #{request} {}", describe_outcome(outcome))
        }
        Output::RoomStateChanged {
            room_id,
            state,
            event,
            ..
        } => format!("{room_id} {}/{}", snake(state), snake(event)),
        Output::MembersJoined {
            room_id, members, ..
        } => format!("{room_id} members_joined {}", names(members)),
        Output::MembersLeft {
            room_id,
            members,
            reason,
            ..
        } => format!(
            "{room_id} members_left {} ({})",
            names(members),
            snake(reason)
        ),
        _ => describe_other_output(out),
    }
}

fn describe_other_output(out: &Output) -> String {
    match out {
        Output::RoomCreated { room_id, sid, .. } => {
            format!("room_created {room_id}{}", sid_text(*sid))
        }
        Output::RoomDestroyed {
            room_id,
            sid,
            cause,
            ..
        } => {
            format!(
                "room_destroyed {room_id}{} ({})",
                sid_text(*sid),
                snake(cause)
            )
        }
        Output::MemberJoined {
            room_id,
            user_id,
            session_id,
            event_id,
            ..
        } => format!("service #{event_id}: {user_id} ({session_id}) joined {room_id}"),
        Output::MemberLeft {
            room_id,
            user_id,
            session_id,
            reason,
            event_id,
            ..
        } => format!(
            "service #{event_id}: {user_id} ({session_id}) left {room_id} ({})",
            snake(reason)
        ),
        Output::SessionClosed { reason, .. } => format!("session_closed ({})", snake(reason)),
        Output::RoomAttributesUpdated {
            room_id,
            set,
            deleted,
            ..
        } => {
            let kv: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!(
                "{room_id} attributes set {{{}}} deleted [{}]",
                kv.join(", "),
                deleted.join(", ")
            )
        }
        Output::RoomMessage {
            room_id,
            from,
            seq,
            payload,
            ..
        } => format!("{room_id} message #{seq} from {from}: {payload:?}"),
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => {
            let left: Vec<String> = left
                .iter()
                .map(|m| format!("{} ({})", m.user_id, snake(&m.reason)))
                .collect();
            format!(
                "{room_id} room_members_changed joined {} left [{}]",
                names(joined),
                left.join(", ")
            )
        }
        other => compact(other),
    }
}

/// Compact JSON, for values without a hand-written description.
fn compact<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The wire name of a unit enum value (its serde string).
fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A vendor callback without the session argument (the recipient column shows it).
pub(super) fn vendor_text(e: &VendorEvent) -> String {
    let args: Vec<String> = e
        .args
        .iter()
        .filter(|(k, _)| *k != "session")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{}({})", e.callback, args.join(", "))
}

fn sid_text(sid: Option<crate::ids::RoomSid>) -> String {
    sid.map_or_else(String::new, |s| format!(" {s}"))
}
