//! Identifiers: inline, `Copy`, at most [`ID_CAPACITY`] bytes.
//!
//! Room, user and session ids come from clients. They are stored inline (no heap) so that
//! outputs can carry them without allocating. A string longer than the capacity still parses
//! (so the engine can answer with a typed error rather than the transport failing), but it is
//! marked overlong and never passes validation.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The inline capacity of every id, in bytes (ZIM's limit for room and user ids).
pub const ID_CAPACITY: usize = 32;

/// The ZIM room/user id alphabet besides ASCII letters and digits.
const ID_PUNCTUATION: &[u8] = b"!#$%&()+-:;<=.>?@[]^_{}|~";

/// Which bytes the id alphabet holds, one lookup per byte: every input's ids are checked,
/// and scanning `ID_PUNCTUATION` per byte was a tenth of a join's time.
static ID_ALPHABET: [bool; 256] = id_alphabet();

const fn id_alphabet() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        // `b < 256`, so the cast keeps it whole.
        #[allow(clippy::cast_possible_truncation)]
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < ID_PUNCTUATION.len() {
        table[ID_PUNCTUATION[i] as usize] = true;
        i += 1;
    }
    table
}

/// A short string stored inline. See the module docs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InlineId {
    /// Byte length of the original string, saturated at `u16::MAX`; may exceed the capacity.
    len: u16,
    /// The first `min(len, ID_CAPACITY)` bytes; always a valid UTF-8 prefix, zero padded.
    bytes: [u8; ID_CAPACITY],
}

impl InlineId {
    /// Stores `s`; if it is longer than [`ID_CAPACITY`], keeps the longest UTF-8 prefix that
    /// fits and remembers the original length (see [`InlineId::is_overlong`]).
    #[must_use]
    pub fn new(s: &str) -> InlineId {
        let mut keep = s.len().min(ID_CAPACITY);
        while !s.is_char_boundary(keep) {
            keep -= 1;
        }
        let mut bytes = [0u8; ID_CAPACITY];
        bytes[..keep].copy_from_slice(&s.as_bytes()[..keep]);
        let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
        InlineId { len, bytes }
    }

    /// The stored text (the kept prefix when overlong).
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only `new` writes `bytes`, and it copies a prefix that ends on a char boundary.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The stored text's bytes: [`InlineId::as_str`] without checking again that they are
    /// UTF-8 (they are), for writers that copy ids by the million.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        let mut kept = usize::from(self.len).min(ID_CAPACITY);
        if self.is_overlong() {
            // `new` may have kept fewer than ID_CAPACITY bytes (to end on a char boundary)
            // and zero padded the rest: the padding is not part of the text.
            while kept > 0 && self.bytes[kept - 1] == 0 {
                kept -= 1;
            }
        }
        &self.bytes[..kept]
    }

    /// The stored bytes zero padded to [`ID_CAPACITY`], when the id is not overlong: the
    /// text is the first [`InlineId::len`] of them. Lets a writer copy a block of known size.
    #[must_use]
    pub fn padded_bytes(&self) -> Option<&[u8; ID_CAPACITY]> {
        (!self.is_overlong()).then_some(&self.bytes)
    }

    /// The byte length of the original string (saturated at 65,535).
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the original string was empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the original string did not fit inline.
    #[must_use]
    pub fn is_overlong(&self) -> bool {
        usize::from(self.len) > ID_CAPACITY
    }

    /// Whether this id has 1..=`max_bytes` bytes, all from ZIM's id alphabet.
    #[must_use]
    pub fn is_valid(&self, max_bytes: usize) -> bool {
        // Not overlong, so the first `len` bytes are the whole text.
        !self.is_empty()
            && !self.is_overlong()
            && self.len() <= max_bytes
            && self.bytes[..self.len()]
                .iter()
                .all(|&b| ID_ALPHABET[usize::from(b)])
    }
}

impl fmt::Debug for InlineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for InlineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for InlineId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for InlineId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = InlineId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string id")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<InlineId, E> {
                Ok(InlineId::new(v))
            }
        }
        d.deserialize_str(V)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub InlineId);

        impl $name {
            /// Wraps `s` (see [`InlineId::new`]; validity is checked by the engine).
            #[must_use]
            pub fn new(s: &str) -> Self {
                $name(InlineId::new(s))
            }

            /// The id's text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::new(s)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type!(
    /// A room id (ZIM `roomID`): 1..=`room_id_max_bytes` bytes of the id alphabet.
    RoomId
);
id_type!(
    /// A user id (ZIM `userID`): 1..=`user_id_max_bytes` bytes of the id alphabet.
    UserId
);
id_type!(
    /// A session id: one logged-in device, chosen by the transport. 1..=32 bytes of the id
    /// alphabet.
    SessionId
);

/// A room incarnation id (LiveKit `Room.sid`, TRTC `CommId`): `"R"` and a decimal counter
/// that starts at 1 and grows by one per room that comes into existence over the engine's
/// whole life. A room id destroyed and created again gets a new one; none is ever reused.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomSid(pub u64);

impl fmt::Debug for RoomSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"R{}\"", self.0)
    }
}

impl fmt::Display for RoomSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

impl Serialize for RoomSid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoomSid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RoomSid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a room sid: \"R\" and a decimal number from 1")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RoomSid, E> {
                v.strip_prefix('R')
                    .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse().ok())
                    .map(RoomSid)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_table_is_letters_digits_and_the_punctuation_list() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || ID_PUNCTUATION.contains(&b);
            assert_eq!(ID_ALPHABET[usize::from(b)], expected, "byte {b}");
            if b.is_ascii() {
                let id = InlineId::new(&format!("a{}", char::from(b)));
                assert_eq!(id.is_valid(32), expected, "byte {b}");
            }
        }
        assert!(!InlineId::new("é").is_valid(32));
        assert!(!InlineId::new(&"a".repeat(33)).is_valid(64));
        assert!(!InlineId::new("").is_valid(32));
        assert!(!InlineId::new("abc").is_valid(2));
    }

    #[test]
    fn a_sid_is_r_and_a_decimal_number_from_one() {
        let sid: RoomSid = serde_json::from_str("\"R42\"").expect("a valid sid");
        assert_eq!(sid, RoomSid(42));
        assert_eq!(serde_json::to_string(&sid).expect("serializes"), "\"R42\"");
        for bad in [
            "\"42\"", "\"R\"", "\"R0\"", "\"R01\"", "\"R-1\"", "\"r1\"", "\"R1x\"",
        ] {
            assert!(serde_json::from_str::<RoomSid>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inline_roundtrip_and_validity() {
        let id = InlineId::new("room-1");
        assert_eq!(id.as_str(), "room-1");
        assert!(id.is_valid(32));
        assert!(!id.is_valid(5));
        assert!(!InlineId::new("").is_valid(32));
        assert!(!InlineId::new("a b").is_valid(32));
        assert!(!InlineId::new("a,b").is_valid(32));
        assert!(!InlineId::new("é").is_valid(32));
        assert!(InlineId::new("!#$%&()+-:;<=.>?@[]^_{}|~").is_valid(32));
    }

    #[test]
    fn overlong_is_kept_as_prefix_and_invalid() {
        let long = "x".repeat(40);
        let id = InlineId::new(&long);
        assert!(id.is_overlong());
        assert_eq!(id.len(), 40);
        assert_eq!(id.as_str().len(), 32);
        assert!(!id.is_valid(usize::MAX));
        // A multibyte char straddling the capacity is cut at its boundary.
        let s = format!("{}é", "a".repeat(31));
        let id = InlineId::new(&s);
        assert_eq!(id.as_str(), "a".repeat(31));
        assert_eq!(id.len(), 33);
    }

    #[test]
    fn as_bytes_and_padded_bytes_are_the_text_of_as_str() {
        let long = "x".repeat(40);
        let straddling = format!("{}é", "a".repeat(31));
        for s in ["", "s1", "é!", long.as_str(), straddling.as_str()] {
            let id = InlineId::new(s);
            assert_eq!(id.as_bytes(), id.as_str().as_bytes(), "{s:?}");
            if let Some(padded) = id.padded_bytes() {
                assert_eq!(&padded[..id.len()], s.as_bytes());
                assert!(padded[id.len()..].iter().all(|&b| b == 0), "{s:?}");
            } else {
                assert!(id.is_overlong());
            }
        }
    }

    #[test]
    fn exactly_capacity_is_valid() {
        let s = "a".repeat(32);
        assert!(InlineId::new(&s).is_valid(32));
        assert!(!InlineId::new(&s).is_overlong());
    }
}
