//! A room's display name: shared, so that handing it out never allocates.
//!
//! Every command that puts a session in a room answers with the room's name (the join
//! snapshot), and `list_rooms` and `query_room` show it too. Were the name a `String`, each
//! of those replies would copy it to the heap: a steady join into a named room would cost
//! one allocation. A `RoomName` is a reference-counted string instead (one allocation when
//! it is first read, then a counter bump per copy), and the empty name, which most rooms
//! have, holds no allocation at all.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A room's display name (may be empty). Reads as a `&str`; cloning it never allocates.
///
/// ```
/// use roomcore::RoomName;
///
/// let name = RoomName::from("lobby");
/// let copy = name.clone(); // shares the text
/// assert_eq!(copy, "lobby");
/// assert_eq!(copy.len(), 5);
/// assert!(RoomName::default().is_empty());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomName(
    /// `None` for the empty name (so that it costs nothing); never `Some("")`.
    Option<Arc<str>>,
);

impl RoomName {
    /// The empty name (what `RoomName::default()` gives, usable in constants).
    pub const EMPTY: RoomName = RoomName(None);

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl Deref for RoomName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for RoomName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for RoomName {
    fn from(s: &str) -> RoomName {
        RoomName((!s.is_empty()).then(|| Arc::from(s)))
    }
}

impl From<String> for RoomName {
    fn from(s: String) -> RoomName {
        RoomName((!s.is_empty()).then(|| Arc::from(s)))
    }
}

impl From<RoomName> for String {
    fn from(name: RoomName) -> String {
        name.as_str().to_owned()
    }
}

impl PartialEq<str> for RoomName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RoomName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for RoomName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// Formats like the text's own `Debug` (quoted, escaped), as a `String` name did.
impl fmt::Debug for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JSON string, exactly as a `String` name serialized.
impl Serialize for RoomName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RoomName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RoomName, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = RoomName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a room name (a string)")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RoomName, E> {
                Ok(RoomName::from(s))
            }

            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<RoomName, E> {
                Ok(RoomName::from(s))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_name_holds_no_text() {
        assert_eq!(RoomName::from(""), RoomName::default());
        assert_eq!(RoomName::from(String::new()).0, None);
        assert_eq!(RoomName::default().as_str(), "");
    }

    #[test]
    fn a_clone_shares_the_text() {
        let name = RoomName::from("a room with a name");
        let copy = name.clone();
        let (Some(a), Some(b)) = (&name.0, &copy.0) else {
            panic!("a non-empty name holds its text");
        };
        assert!(Arc::ptr_eq(a, b));
    }

    #[test]
    fn it_reads_and_writes_as_a_json_string() {
        for text in ["", "lobby", "quote \" and \\ and \u{e9}"] {
            let name = RoomName::from(text);
            let json = serde_json::to_string(&name).expect("a name serializes");
            assert_eq!(json, serde_json::to_string(text).expect("a str serializes"));
            let back: RoomName = serde_json::from_str(&json).expect("a JSON string reads");
            assert_eq!(back, text);
        }
        assert!(serde_json::from_str::<RoomName>("7").is_err());
        assert!(serde_json::from_str::<RoomName>("null").is_err());
    }

    #[test]
    fn it_formats_as_its_text() {
        let name = RoomName::from("a\"b");
        assert_eq!(format!("{name:?}"), format!("{:?}", "a\"b"));
        assert_eq!(name.to_string(), "a\"b");
    }
}
