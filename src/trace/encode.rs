//! Output lines written by hand: the same bytes serde_json writes for a [`Stamped`], without
//! going through serde's data model for the fields every line has.
//!
//! Each output kind writes its fields in the order its `Serialize` derive does, and the
//! values the hot lines are made of (ids, numbers, enum names, member lists) are written
//! here; anything rarer or richer (attribute maps, the bodies of admin replies, error codes)
//! is handed to serde_json field by field, which writes it exactly as it would inside the
//! whole line (the compact formatter has no state between values). `trace::tests_fast` and
//! `tests/it/trace_fast_paths.rs` compare hand-made outputs and every output of every
//! vector, snapshot and generated trace with serde_json's line.

use super::scan;
use crate::ids::{InlineId, RoomId, RoomSid, SessionId, UserId, ID_CAPACITY};
use crate::input::RoomInfo;
use crate::output::{
    ErrorBody, LeaveReason, Member, Outcome, Output, ReplyOk, RoomEvent, RoomState, Stamped, To,
};
use serde::Serialize;

/// Writes the trace line of `s` and a newline to `buf`. An output addressed to one session
/// is written whole. One addressed to a run ([`To::Sessions`]) is written without its
/// session id, and the offset in `buf` where that id belongs is returned: the line of each
/// recipient is the bytes before it, the recipient's id as a JSON string ([`session`]), and
/// the bytes after it.
pub(super) fn line(buf: &mut Vec<u8>, s: &Stamped) -> Option<usize> {
    // Most lines fit: one check of the capacity instead of one per piece.
    buf.reserve(LINE_BYTES);
    buf.extend_from_slice(b"{\"at\":");
    number(buf, s.at.0);
    buf.extend_from_slice(b",\"out\":{\"type\":\"");
    buf.extend_from_slice(s.output.name().as_bytes());
    buf.push(b'"');
    let cut = fields(buf, &s.output);
    buf.extend_from_slice(b"}}\n");
    cut
}

/// Room for a line of the common kinds (a longer one grows the buffer as it goes).
const LINE_BYTES: usize = 256;

/// The fields after `type`, each with its leading comma.
fn fields(buf: &mut Vec<u8>, output: &Output) -> Option<usize> {
    match output {
        Output::Reply {
            session: id,
            request,
            outcome,
        } => {
            buf.extend_from_slice(b",\"session\":");
            session(buf, *id);
            buf.extend_from_slice(b",\"request\":");
            number(buf, *request);
            self::outcome(buf, outcome);
            None
        }
        Output::AdminReply { request, outcome } => {
            buf.extend_from_slice(b",\"request\":");
            number(buf, *request);
            self::outcome(buf, outcome);
            None
        }
        Output::RoomStateChanged {
            session: id,
            room_id,
            state,
            event,
        } => {
            buf.extend_from_slice(b",\"session\":");
            session(buf, *id);
            key_id(buf, b",\"room_id\":", &room_id.0);
            key_name(buf, b",\"state\":", state_name(*state));
            key_name(buf, b",\"event\":", event_name(*event));
            None
        }
        Output::MembersJoined {
            to,
            room_id,
            members: who,
        } => {
            let cut = addressee(buf, to);
            key_id(buf, b",\"room_id\":", &room_id.0);
            buf.extend_from_slice(b",\"members\":");
            members(buf, who);
            cut
        }
        Output::MembersLeft {
            to,
            room_id,
            members: who,
            reason,
        } => {
            let cut = addressee(buf, to);
            key_id(buf, b",\"room_id\":", &room_id.0);
            buf.extend_from_slice(b",\"members\":");
            members(buf, who);
            key_name(buf, b",\"reason\":", leave_reason_name(*reason));
            cut
        }
        Output::RoomMessage {
            to,
            room_id,
            from,
            seq,
            payload,
        } => {
            let cut = addressee(buf, to);
            key_id(buf, b",\"room_id\":", &room_id.0);
            key_id(buf, b",\"from\":", &from.0);
            buf.extend_from_slice(b",\"seq\":");
            number(buf, *seq);
            key_str(buf, b",\"payload\":", payload);
            cut
        }
        Output::SessionClosed {
            session: id,
            reason,
        } => {
            buf.extend_from_slice(b",\"session\":");
            session(buf, *id);
            key_serde(buf, b",\"reason\":", reason);
            None
        }
        Output::RoomCreated {
            room_id,
            sid,
            event_id,
        } => {
            key_id(buf, b",\"room_id\":", &room_id.0);
            key_sid_if(buf, *sid);
            key_number_if(buf, b",\"event_id\":", *event_id);
            None
        }
        Output::RoomDestroyed {
            room_id,
            sid,
            cause,
            event_id,
        } => {
            key_id(buf, b",\"room_id\":", &room_id.0);
            key_sid_if(buf, *sid);
            key_serde(buf, b",\"cause\":", cause);
            key_number_if(buf, b",\"event_id\":", *event_id);
            None
        }
        Output::MemberJoined {
            room_id,
            sid,
            user_id,
            session_id,
            event_id,
        } => {
            membership(buf, *room_id, *sid, *user_id, *session_id);
            key_number_if(buf, b",\"event_id\":", Some(*event_id));
            None
        }
        Output::MemberLeft {
            room_id,
            sid,
            user_id,
            session_id,
            reason,
            event_id,
        } => {
            membership(buf, *room_id, *sid, *user_id, *session_id);
            key_serde(buf, b",\"reason\":", reason);
            key_number_if(buf, b",\"event_id\":", Some(*event_id));
            None
        }
        Output::RoomAttributesUpdated {
            to,
            room_id,
            set,
            deleted,
        } => {
            let cut = addressee(buf, to);
            key_id(buf, b",\"room_id\":", &room_id.0);
            key_serde(buf, b",\"set\":", set);
            key_serde(buf, b",\"deleted\":", deleted);
            cut
        }
        Output::RoomMemberAttributesUpdated {
            to,
            room_id,
            members: who,
        } => {
            let cut = addressee(buf, to);
            key_id(buf, b",\"room_id\":", &room_id.0);
            key_serde(buf, b",\"members\":", who);
            cut
        }
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => {
            key_id(buf, b",\"room_id\":", &room_id.0);
            buf.extend_from_slice(b",\"joined\":");
            members(buf, joined);
            key_serde(buf, b",\"left\":", left);
            None
        }
    }
}

/// The fields a service event about one membership starts with.
fn membership(buf: &mut Vec<u8>, room_id: RoomId, sid: RoomSid, user_id: UserId, id: SessionId) {
    key_id(buf, b",\"room_id\":", &room_id.0);
    key_sid_if(buf, Some(sid));
    key_id(buf, b",\"user_id\":", &user_id.0);
    key_id(buf, b",\"session_id\":", &id.0);
}

/// `,"session":` and the id, or nothing after the key when the event goes to a run (the
/// returned offset is where each recipient's id goes).
fn addressee(buf: &mut Vec<u8>, to: &To) -> Option<usize> {
    buf.extend_from_slice(b",\"session\":");
    match to {
        To::Session(id) => {
            session(buf, *id);
            None
        }
        To::Sessions(_) => Some(buf.len()),
    }
}

/// A reply's outcome: `,"ok":{...}` or `,"error":{...}`.
fn outcome(buf: &mut Vec<u8>, outcome: &Outcome) {
    match outcome {
        Outcome::Ok(body) => {
            buf.extend_from_slice(b",\"ok\":");
            ok_body(buf, body);
        }
        Outcome::Error(ErrorBody { code, message }) => {
            key_serde(buf, b",\"error\":{\"code\":", code);
            key_str(buf, b",\"message\":", message);
            buf.push(b'}');
        }
    }
}

/// The success bodies of the commands a replay answers most; serde writes the others.
fn ok_body(buf: &mut Vec<u8>, body: &ReplyOk) {
    match body {
        ReplyOk::Room {
            room,
            sid,
            member_count,
            attributes,
        } => {
            buf.extend_from_slice(b"{\"room\":");
            room_info(buf, room);
            key_sid_if(buf, *sid);
            key_number_if(buf, b",\"member_count\":", member_count.map(u64::from));
            if let Some(map) = attributes {
                key_serde(buf, b",\"attributes\":", map);
            }
            buf.push(b'}');
        }
        ReplyOk::MessageSent { seq } => {
            buf.extend_from_slice(b"{\"seq\":");
            number(buf, *seq);
            buf.push(b'}');
        }
        ReplyOk::RoomId { room_id } => {
            key_id(buf, b"{\"room_id\":", &room_id.0);
            buf.push(b'}');
        }
        ReplyOk::LoggedIn { user_id } => {
            key_id(buf, b"{\"user_id\":", &user_id.0);
            buf.push(b'}');
        }
        ReplyOk::Members { members: who, next } => {
            buf.extend_from_slice(b"{\"members\":");
            members(buf, who);
            key_str(buf, b",\"next\":", next);
            buf.push(b'}');
        }
        ReplyOk::Empty {} => buf.extend_from_slice(b"{}"),
        other => key_serde(buf, b"", other),
    }
}

/// `{"id":...,"name":...}`; the name goes through serde, whatever its type.
fn room_info(buf: &mut Vec<u8>, room: &RoomInfo) {
    key_id(buf, b"{\"id\":", &room.id.0);
    key_serde(buf, b",\"name\":", &room.name);
    buf.push(b'}');
}

/// `[{"user_id":...},...]`.
fn members(buf: &mut Vec<u8>, who: &[Member]) {
    buf.push(b'[');
    for (i, m) in who.iter().enumerate() {
        let open: &[u8] = if i == 0 {
            b"{\"user_id\":"
        } else {
            b",{\"user_id\":"
        };
        key_id(buf, open, &m.user_id.0);
        buf.push(b'}');
    }
    buf.push(b']');
}

/// `,"sid":"R<n>"`, when there is one.
fn key_sid_if(buf: &mut Vec<u8>, sid: Option<RoomSid>) {
    if let Some(sid) = sid {
        buf.extend_from_slice(b",\"sid\":\"R");
        number(buf, sid.0);
        buf.push(b'"');
    }
}

/// A key and a number, when there is one (serde's `skip_serializing_if = "Option::is_none"`).
fn key_number_if(buf: &mut Vec<u8>, key: &[u8], n: Option<u64>) {
    if let Some(n) = n {
        buf.extend_from_slice(key);
        number(buf, n);
    }
}

/// A key and an enum's name (which needs no escaping).
fn key_name(buf: &mut Vec<u8>, key: &[u8], name: &str) {
    buf.extend_from_slice(key);
    buf.push(b'"');
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'"');
}

/// A key (with its punctuation) and a string value.
fn key_str(buf: &mut Vec<u8>, key: &[u8], value: &str) {
    buf.extend_from_slice(key);
    string(buf, value);
}

/// A key (with its punctuation) and a value serde_json writes.
fn key_serde<T: Serialize + ?Sized>(buf: &mut Vec<u8>, key: &[u8], value: &T) {
    buf.extend_from_slice(key);
    // Output values are strings, numbers, sequences and string-keyed maps, which serde_json
    // always serializes; and writing to a `Vec` cannot fail.
    serde_json::to_writer(&mut *buf, value).expect("an output value serializes to memory");
}

/// A session id as a JSON string: what goes at the offset [`line`] returns.
pub(super) fn session(buf: &mut Vec<u8>, id: SessionId) {
    inline_id(buf, &id.0);
}

/// A decimal number, as serde_json writes it.
#[inline]
fn number(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string.
fn string(buf: &mut Vec<u8>, s: &str) {
    if !quoted(buf, s.as_bytes()) {
        key_serde(buf, b"", s);
    }
}

/// An id as a JSON string (its bytes are copied without checking again that they are UTF-8).
#[inline]
fn inline_id(buf: &mut Vec<u8>, id: &InlineId) {
    let written = match id.padded_bytes() {
        Some(padded) => quoted_padded(buf, padded, id.len()),
        None => quoted(buf, id.as_bytes()),
    };
    if !written {
        key_serde(buf, b"", id.as_str());
    }
}

/// A key (with its punctuation) and an id.
#[inline]
fn key_id(buf: &mut Vec<u8>, key: &[u8], id: &InlineId) {
    buf.extend_from_slice(key);
    inline_id(buf, id);
}

/// Copies UTF-8 `text` between quotes when it has no quote, backslash or control character
/// (serde_json escapes nothing else); otherwise writes nothing and says so.
fn quoted(buf: &mut Vec<u8>, text: &[u8]) -> bool {
    if scan::first_special(text).is_some() {
        return false;
    }
    buf.reserve(text.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(text);
    buf.push(b'"');
    true
}

/// [`quoted`] for an id's first `len` bytes of `padded` (zeros after them), by fixed-size
/// blocks: the block is checked a word at a time, quoted in an array that is appended whole,
/// and the buffer cut back to the text and its closing quote. No copy of a length known only at run
/// time, no loop over bytes: ids are most of what a replay writes.
#[inline]
fn quoted_padded(buf: &mut Vec<u8>, padded: &[u8; ID_CAPACITY], len: usize) -> bool {
    if scan::first_special_within(padded, len).is_some() {
        return false;
    }
    let mut quoted = [b'"'; ID_CAPACITY + 2];
    quoted[1..=ID_CAPACITY].copy_from_slice(padded);
    let Some(close) = quoted.get_mut(len + 1) else {
        return false;
    };
    *close = b'"';
    let end = buf.len() + len + 2;
    buf.extend_from_slice(&quoted);
    buf.truncate(end);
    true
}

/// The JSON names of the enums every replay writes many times (serde's snake case of the
/// variant).
pub(super) fn state_name(state: RoomState) -> &'static str {
    match state {
        RoomState::Disconnected => "disconnected",
        RoomState::Connecting => "connecting",
        RoomState::Connected => "connected",
    }
}

pub(super) fn event_name(event: RoomEvent) -> &'static str {
    match event {
        RoomEvent::Success => "success",
        RoomEvent::NetworkInterrupted => "network_interrupted",
        RoomEvent::NetworkDisconnected => "network_disconnected",
        RoomEvent::RoomNotExist => "room_not_exist",
        RoomEvent::ActiveCreate => "active_create",
        RoomEvent::CreateFailed => "create_failed",
        RoomEvent::ActiveEnter => "active_enter",
        RoomEvent::EnterFailed => "enter_failed",
        RoomEvent::KickedOut => "kicked_out",
        RoomEvent::ConnectTimeout => "connect_timeout",
        RoomEvent::KickedOutByOtherDevice => "kicked_out_by_other_device",
        RoomEvent::ActiveSwitch => "active_switch",
        RoomEvent::SwitchFailed => "switch_failed",
    }
}

pub(super) fn leave_reason_name(reason: LeaveReason) -> &'static str {
    match reason {
        LeaveReason::Left => "left",
        LeaveReason::Kicked => "kicked",
        LeaveReason::Timeout => "timeout",
        LeaveReason::OtherDevice => "other_device",
        LeaveReason::Banned => "banned",
    }
}
