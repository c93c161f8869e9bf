//! The input lines a trace is mostly made of, read in one pass without serde's buffering.
//!
//! serde reads an internally tagged enum such as [`Input`] by buffering the whole object to
//! find its `type` first; that was a third of a replay's time. This reader accepts a strict
//! subset of JSON — `{"at": N, "in": {...}}` with keys in any order, JSON whitespace, strings
//! without escapes or control characters, integers without sign, fraction, exponent or
//! leading zero — for the input kinds it has a [`Shape`] of. Anything else (another line kind, input type,
//! key or value form, a duplicate or missing field) gives `None`, and the serde reader reads
//! the line as before: it alone decides what is an error, and how it is worded. So for any
//! line, this reader either gives up or gives what serde gives: `trace::tests_fast` checks it
//! on hand-made and mutated lines, `tests/it/trace_fast_paths.rs` over every line of every
//! vector, snapshot and generated trace.

use super::record::Record;
use super::scan;
use crate::config::RoomConfig;
use crate::ids::{RoomId, SessionId};
use crate::input::{Input, InputKind, RoomInfo};
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
    for &(key, bit) in fields.shape?.in_order {
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

/// What this reader knows of an input kind it takes: the fields it has and how the input is
/// made of them.
#[derive(Clone, Copy)]
struct Shape {
    /// The fields after `type`, in declaration order (serde's order when it writes them), each
    /// as the text that comes before its value.
    in_order: &'static [(&'static str, u16)],
    /// Every field the kind has, `type` included (serde refuses any other:
    /// `deny_unknown_fields`).
    fields: u16,
    /// The input; `None` when a field it needs is missing.
    build: fn(&mut Fields<'_>) -> Option<Input>,
}

impl Shape {
    const fn new(
        in_order: &'static [(&'static str, u16)],
        build: fn(&mut Fields<'_>) -> Option<Input>,
    ) -> Shape {
        let mut fields = bit::TYPE;
        let mut i = 0;
        while i < in_order.len() {
            fields |= in_order[i].1;
            i += 1;
        }
        Shape {
            in_order,
            fields,
            build,
        }
    }
}

/// The input kind named `name` (serde's names, so exactly the `type`s serde reads).
fn kind_named(name: &str) -> Option<InputKind> {
    from_str(name)
}

/// The shape of each input kind this reader takes; `None` for the kinds it leaves to serde.
/// No wildcard: a new input kind is a compile error here until it is given one or the other.
fn shape(kind: InputKind) -> Option<Shape> {
    use InputKind as K;
    Some(match kind {
        K::Login => shapes::LOGIN,
        K::Logout => shapes::LOGOUT,
        K::LeaveAllRooms => shapes::LEAVE_ALL_ROOMS,
        K::LinkLost => shapes::LINK_LOST,
        K::LinkRestored => shapes::LINK_RESTORED,
        K::CreateRoom => shapes::CREATE_ROOM,
        K::EnterRoom => shapes::ENTER_ROOM,
        K::SwitchRoom => shapes::SWITCH_ROOM,
        K::JoinRoom => shapes::JOIN_ROOM,
        K::LeaveRoom => shapes::LEAVE_ROOM,
        K::QueryRoomAttributes => shapes::QUERY_ROOM_ATTRIBUTES,
        K::QueryRoomOnlineCount => shapes::QUERY_ROOM_ONLINE_COUNT,
        K::QueryMembers => shapes::QUERY_MEMBERS,
        K::SendRoomMessage => shapes::SEND_ROOM_MESSAGE,
        K::Tick => shapes::TICK,
        K::SetRoomAttributes
        | K::DeleteRoomAttributes
        | K::SetRoomMembersAttributes
        | K::DeleteRoomMembersAttributes
        | K::QueryRoomMembersAttributes
        | K::RemoveUsers
        | K::DismissRoom
        | K::AdminCreateRoom
        | K::ListRooms
        | K::QueryRoom
        | K::AdminSetRoomAttributes
        | K::MoveUsers
        | K::BanUsers
        | K::UnbanUsers => return None,
    })
}

/// The fields and the making of each input kind the reader takes.
mod shapes;

/// The field names of each kind the reader takes, after `type` in declaration order; `None`
/// for a kind it leaves to serde (for tests that go through every kind).
#[cfg(test)]
pub(super) fn shape_of(kind: InputKind) -> Option<Vec<&'static str>> {
    let in_order = shape(kind)?.in_order;
    let key = |text: &'static str| text.trim_start_matches(",\"").trim_end_matches("\":");
    Some(in_order.iter().map(|&(text, _)| key(text)).collect())
}

/// The fields of an `in` object as read, each at most once.
#[derive(Default)]
struct Fields<'a> {
    present: u16,
    /// The shape of the `type` read (a type this reader leaves to serde is not read).
    shape: Option<Shape>,
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
            bit::TYPE => set(&mut self.shape, shape(kind_named(c.string()?)?)?),
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
        let shape = self.shape?;
        if self.present & !shape.fields != 0 {
            return None;
        }
        (shape.build)(self)
    }

    fn session(&self) -> Option<SessionId> {
        self.session.map(SessionId::new)
    }

    fn room_id(&self) -> Option<RoomId> {
        self.room_id.map(RoomId::new)
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
