//! The input lines a trace is mostly made of, read in one pass without serde's buffering.
//!
//! serde reads an internally tagged enum such as [`Input`] by buffering the whole object to
//! find its `type` first; that was a third of a replay's time. This reader accepts a strict
//! subset of JSON — `{"at": N, "in": {...}}` with keys in any order, JSON whitespace, strings
//! without escapes or control characters, integers without sign, fraction, exponent or
//! leading zero — for the inputs of [`Kind`]. Anything else (another line kind, input type,
//! key or value form, a duplicate or missing field) gives `None`, and the serde reader reads
//! the line as before: it alone decides what is an error, and how it is worded. So for any
//! line, this reader either gives up or gives what serde gives: `trace::tests_fast` checks it
//! on hand-made and mutated lines, `tests/it/trace_fast_paths.rs` over every line of every
//! vector, snapshot and generated trace.

use super::record::Record;
use super::scan;
use crate::config::RoomConfig;
use crate::ids::{RoomId, SessionId, UserId};
use crate::input::{Input, RoomInfo};
use crate::time::Millis;
use serde::Deserialize;

/// The line `text` as an input record, when it is in the subset this reader takes.
pub(super) fn input_line(text: &str) -> Option<Record> {
    canonical_line(text).or_else(|| any_order_line(text))
}

/// The line as [`write_input`](super::write_input) writes it — `at` first, then `in` with
/// `type` first and the other fields in declaration order — read by expecting each key in
/// turn rather than reading keys and looking them up. `None` for any other order (and for
/// anything [`any_order_line`] gives up on).
pub(super) fn canonical_line(text: &str) -> Option<Record> {
    let mut c = Cursor { text, at: 0 };
    c.literal("{\"at\":")?;
    let at = c.number()?;
    c.literal(",\"in\":{\"type\":")?;
    let mut fields = Fields::default();
    fields.read_field(bit::TYPE, &mut c)?;
    for &(key, bit) in Kind::of(fields.kind?)?.in_order() {
        if c.literal(key).is_some() {
            fields.read_field(bit, &mut c)?;
        }
    }
    c.literal("}}")?;
    c.end()?;
    Some(Record::Input {
        at: Millis(at),
        input: fields.build()?,
    })
}

/// The line with its keys in any order.
pub(super) fn any_order_line(text: &str) -> Option<Record> {
    let mut c = Cursor { text, at: 0 };
    c.open()?;
    let (mut at, mut input) = (None, None);
    loop {
        match c.key()? {
            "at" if at.is_none() => at = Some(c.number()?),
            "in" if input.is_none() => input = Some(in_object(&mut c)?),
            _ => return None,
        }
        if !c.next_or_close()? {
            break;
        }
    }
    c.end()?;
    Some(Record::Input {
        at: Millis(at?),
        input: input?,
    })
}

/// The `in` object.
fn in_object(c: &mut Cursor<'_>) -> Option<Input> {
    c.open()?;
    let mut fields = Fields::default();
    loop {
        let key = c.key()?;
        fields.read(key, c)?;
        if !c.next_or_close()? {
            break;
        }
    }
    fields.build()
}

/// A position in a line.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skips JSON whitespace (exactly the four bytes JSON allows).
    #[inline]
    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Whitespace, then `byte`.
    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// `literal` exactly, here.
    #[inline]
    fn literal(&mut self, literal: &str) -> Option<()> {
        let rest = self.text.as_bytes().get(self.at..)?;
        rest.starts_with(literal.as_bytes())
            .then(|| self.at += literal.len())
    }

    fn open(&mut self) -> Option<()> {
        self.expect(b'{')
    }

    /// After a value: `,` (another key follows: `true`) or `}` (the object ends: `false`).
    #[inline]
    fn next_or_close(&mut self) -> Option<bool> {
        self.space();
        let b = self.peek()?;
        self.at += 1;
        match b {
            b',' => Some(true),
            b'}' => Some(false),
            _ => None,
        }
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Option<()> {
        self.space();
        (self.at == self.text.len()).then_some(())
    }

    /// A key and its colon.
    #[inline]
    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.expect(b':')?;
        Some(key)
    }

    /// A string without escapes or control characters (JSON forbids the latter raw; an
    /// escape is left to serde). The text between two ASCII quotes of a `str` is a `str`.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let rest = self.text.as_bytes().get(start..)?;
        let len = scan::first_special(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// A non-negative integer that fits in a `u64`, written as JSON writes it (`0` or a
    /// digit from 1 and more digits). What follows it is checked by the caller's next step:
    /// a `.`, `e` or digit there is not a `,` or `}`.
    #[inline]
    fn number(&mut self) -> Option<u64> {
        self.space();
        let digits = self.text.as_bytes().get(self.at..)?;
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || (len > 1 && digits.first() == Some(&b'0')) {
            return None;
        }
        let mut n: u64 = 0;
        for &d in digits.get(..len)? {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        self.at += len;
        Some(n)
    }

    fn boolean(&mut self) -> Option<bool> {
        self.space();
        let rest = self.text.get(self.at..)?;
        let (value, len) = if rest.starts_with("true") {
            (true, 4)
        } else if rest.starts_with("false") {
            (false, 5)
        } else {
            return None;
        };
        self.at += len;
        Some(value)
    }

    /// `{"id": ..., "name": ...}` (`name` optional, as serde reads a [`RoomInfo`]).
    fn room(&mut self) -> Option<RoomInfo> {
        self.open()?;
        let (mut id, mut name) = (None, None);
        loop {
            match self.key()? {
                "id" if id.is_none() => id = Some(self.string()?),
                "name" if name.is_none() => name = Some(self.string()?),
                _ => return None,
            }
            if !self.next_or_close()? {
                break;
            }
        }
        Some(RoomInfo {
            id: RoomId::new(id?),
            // Through serde, so the name is whatever serde makes of that string.
            name: match name {
                Some(text) => from_str(text)?,
                None => Default::default(),
            },
        })
    }

    /// A room config (or `null`), read by serde_json from here on: the config is a plain
    /// struct, which serde reads the same from text as from a buffered object.
    fn config(&mut self) -> Option<Option<RoomConfig>> {
        let rest = self.text.get(self.at..)?;
        let mut values = serde_json::Deserializer::from_str(rest).into_iter();
        let config = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(config)
    }
}

/// A value serde makes of a string (as it would from a JSON string without escapes).
fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Option<T> {
    let de = serde::de::value::BorrowedStrDeserializer::<serde::de::value::Error>::new(text);
    T::deserialize(de).ok()
}

/// The input types this reader takes, and the fields each may have.
#[derive(Clone, Copy)]
enum Kind {
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
    SendRoomMessage,
    QueryRoomAttributes,
    QueryRoomOnlineCount,
    Tick,
}

/// One bit per field name [`Fields`] reads.
mod bit {
    pub const TYPE: u16 = 1;
    pub const SESSION: u16 = 1 << 1;
    pub const REQUEST: u16 = 1 << 2;
    pub const USER: u16 = 1 << 3;
    pub const ROOM: u16 = 1 << 4;
    pub const CONFIG: u16 = 1 << 5;
    pub const ROOM_ID: u16 = 1 << 6;
    pub const FROM: u16 = 1 << 7;
    pub const TO: u16 = 1 << 8;
    pub const CREATE_IF_MISSING: u16 = 1 << 9;
    pub const NEXT: u16 = 1 << 10;
    pub const COUNT: u16 = 1 << 11;
    pub const PAYLOAD: u16 = 1 << 12;
    /// `session` and `request`: every session command has them.
    pub const COMMAND: u16 = TYPE | SESSION | REQUEST;

    /// The bit of a field name.
    pub fn of(key: &str) -> Option<u16> {
        Some(match key {
            "type" => TYPE,
            "session" => SESSION,
            "request" => REQUEST,
            "user" => USER,
            "room" => ROOM,
            "config" => CONFIG,
            "room_id" => ROOM_ID,
            "from" => FROM,
            "to" => TO,
            "create_if_missing" => CREATE_IF_MISSING,
            "next" => NEXT,
            "count" => COUNT,
            "payload" => PAYLOAD,
            _ => return None,
        })
    }
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        Some(match name {
            "login" => Kind::Login,
            "logout" => Kind::Logout,
            "link_lost" => Kind::LinkLost,
            "link_restored" => Kind::LinkRestored,
            "create_room" => Kind::CreateRoom,
            "join_room" => Kind::JoinRoom,
            "enter_room" => Kind::EnterRoom,
            "switch_room" => Kind::SwitchRoom,
            "leave_room" => Kind::LeaveRoom,
            "leave_all_rooms" => Kind::LeaveAllRooms,
            "query_members" => Kind::QueryMembers,
            "send_room_message" => Kind::SendRoomMessage,
            "query_room_attributes" => Kind::QueryRoomAttributes,
            "query_room_online_count" => Kind::QueryRoomOnlineCount,
            "tick" => Kind::Tick,
            _ => return None,
        })
    }

    /// The fields after `type`, in declaration order (serde's order when it writes them),
    /// each as the text that comes before its value.
    fn in_order(self) -> &'static [(&'static str, u16)] {
        const SESSION: (&str, u16) = (",\"session\":", bit::SESSION);
        const REQUEST: (&str, u16) = (",\"request\":", bit::REQUEST);
        const ROOM_ID: (&str, u16) = (",\"room_id\":", bit::ROOM_ID);
        const CONFIG: (&str, u16) = (",\"config\":", bit::CONFIG);
        const ROOM: (&str, u16) = (",\"room\":", bit::ROOM);
        match self {
            Kind::Login => &[SESSION, REQUEST, (",\"user\":", bit::USER)],
            Kind::Logout | Kind::LeaveAllRooms => &[SESSION, REQUEST],
            Kind::LinkLost | Kind::LinkRestored => &[SESSION],
            Kind::CreateRoom | Kind::EnterRoom => &[SESSION, REQUEST, ROOM, CONFIG],
            Kind::JoinRoom
            | Kind::LeaveRoom
            | Kind::QueryRoomAttributes
            | Kind::QueryRoomOnlineCount => &[SESSION, REQUEST, ROOM_ID],
            Kind::SwitchRoom => &[
                SESSION,
                REQUEST,
                (",\"from\":", bit::FROM),
                (",\"to\":", bit::TO),
                (",\"create_if_missing\":", bit::CREATE_IF_MISSING),
                CONFIG,
            ],
            Kind::QueryMembers => &[
                SESSION,
                REQUEST,
                ROOM_ID,
                (",\"next\":", bit::NEXT),
                (",\"count\":", bit::COUNT),
            ],
            Kind::SendRoomMessage => &[SESSION, REQUEST, ROOM_ID, (",\"payload\":", bit::PAYLOAD)],
            Kind::Tick => &[],
        }
    }

    /// The fields the type has (serde refuses any other: `deny_unknown_fields`).
    fn fields(self) -> u16 {
        use bit::{COMMAND, CONFIG, COUNT, CREATE_IF_MISSING, FROM, NEXT, PAYLOAD, ROOM, ROOM_ID};
        use bit::{SESSION, TO, TYPE, USER};
        match self {
            Kind::Login => COMMAND | USER,
            Kind::Logout | Kind::LeaveAllRooms => COMMAND,
            Kind::LinkLost | Kind::LinkRestored => TYPE | SESSION,
            Kind::CreateRoom | Kind::EnterRoom => COMMAND | ROOM | CONFIG,
            Kind::JoinRoom
            | Kind::LeaveRoom
            | Kind::QueryRoomAttributes
            | Kind::QueryRoomOnlineCount => COMMAND | ROOM_ID,
            Kind::SwitchRoom => COMMAND | FROM | TO | CREATE_IF_MISSING | CONFIG,
            Kind::QueryMembers => COMMAND | ROOM_ID | NEXT | COUNT,
            Kind::SendRoomMessage => COMMAND | ROOM_ID | PAYLOAD,
            Kind::Tick => TYPE,
        }
    }
}

/// The fields of an `in` object as read, each at most once.
#[derive(Default)]
struct Fields<'a> {
    present: u16,
    kind: Option<&'a str>,
    session: Option<&'a str>,
    request: Option<u64>,
    user: Option<&'a str>,
    room: Option<RoomInfo>,
    config: Option<Option<RoomConfig>>,
    room_id: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<RoomInfo>,
    create_if_missing: Option<bool>,
    next: Option<&'a str>,
    count: Option<u32>,
    payload: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// Reads the value of `key`; `None` for an unknown key, a second one, or a value this
    /// reader leaves to serde.
    fn read(&mut self, key: &str, c: &mut Cursor<'a>) -> Option<()> {
        self.read_field(bit::of(key)?, c)
    }

    /// Reads the value of the field of `bit` (one of [`bit`]'s constants).
    fn read_field(&mut self, bit: u16, c: &mut Cursor<'a>) -> Option<()> {
        match bit {
            bit::TYPE => set(&mut self.kind, c.string()?),
            bit::SESSION => set(&mut self.session, c.string()?),
            bit::REQUEST => set(&mut self.request, c.number()?),
            bit::USER => set(&mut self.user, c.string()?),
            bit::ROOM => set(&mut self.room, c.room()?),
            bit::CONFIG => set(&mut self.config, c.config()?),
            bit::ROOM_ID => set(&mut self.room_id, c.string()?),
            bit::FROM => set(&mut self.from, c.string()?),
            bit::TO => set(&mut self.to, c.room()?),
            bit::CREATE_IF_MISSING => set(&mut self.create_if_missing, c.boolean()?),
            bit::NEXT => set(&mut self.next, c.string()?),
            bit::COUNT => set(&mut self.count, u32::try_from(c.number()?).ok()?),
            bit::PAYLOAD => set(&mut self.payload, c.string()?),
            _ => None,
        }?;
        self.present |= bit;
        Some(())
    }

    /// The input, when the fields are exactly those of its type (optional ones may be
    /// absent and take serde's defaults).
    fn build(&mut self) -> Option<Input> {
        let kind = Kind::of(self.kind?)?;
        if self.present & !kind.fields() != 0 {
            return None;
        }
        if let Kind::Tick = kind {
            return Some(Input::Tick);
        }
        let session = SessionId::new(self.session?);
        Some(match kind {
            Kind::LinkLost => Input::LinkLost { session },
            Kind::LinkRestored => Input::LinkRestored { session },
            _ => self.command(kind, session)?,
        })
    }

    /// A session command (it has a `request`).
    fn command(&mut self, kind: Kind, session: SessionId) -> Option<Input> {
        let request = self.request?;
        let room_id = self.room_id.map(RoomId::new);
        Some(match kind {
            Kind::Login => Input::Login {
                session,
                request,
                user: UserId::new(self.user?),
            },
            Kind::Logout => Input::Logout { session, request },
            Kind::LeaveAllRooms => Input::LeaveAllRooms { session, request },
            Kind::CreateRoom => Input::CreateRoom {
                session,
                request,
                room: self.room.take()?,
                config: self.config.take().flatten(),
            },
            Kind::EnterRoom => Input::EnterRoom {
                session,
                request,
                room: self.room.take()?,
                config: self.config.take().flatten(),
            },
            Kind::SwitchRoom => Input::SwitchRoom {
                session,
                request,
                from: RoomId::new(self.from?),
                to: self.to.take()?,
                create_if_missing: self.create_if_missing.unwrap_or_default(),
                config: self.config.take().flatten(),
            },
            _ => return self.room_command(kind, session, request, room_id?),
        })
    }

    /// A session command about one room (it has a `room_id`).
    fn room_command(
        &mut self,
        kind: Kind,
        session: SessionId,
        request: u64,
        room_id: RoomId,
    ) -> Option<Input> {
        Some(match kind {
            Kind::JoinRoom => Input::JoinRoom {
                session,
                request,
                room_id,
            },
            Kind::LeaveRoom => Input::LeaveRoom {
                session,
                request,
                room_id,
            },
            Kind::QueryRoomAttributes => Input::QueryRoomAttributes {
                session,
                request,
                room_id,
            },
            Kind::QueryRoomOnlineCount => Input::QueryRoomOnlineCount {
                session,
                request,
                room_id,
            },
            Kind::QueryMembers => Input::QueryMembers {
                session,
                request,
                room_id,
                next: self.next.unwrap_or_default().to_owned(),
                count: self.count?,
            },
            Kind::SendRoomMessage => Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload: self.payload?.to_owned(),
            },
            Kind::Login
            | Kind::Logout
            | Kind::LinkLost
            | Kind::LinkRestored
            | Kind::CreateRoom
            | Kind::EnterRoom
            | Kind::SwitchRoom
            | Kind::LeaveAllRooms
            | Kind::Tick => return None,
        })
    }
}

/// Fills an empty slot; `None` when it was filled already (serde: a duplicate field).
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}
