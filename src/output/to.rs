//! Who a member event is for: one session, or several named once in the step's recipient
//! list ([`Outputs`](super::Outputs)), so that an event for the eight members of a room is
//! produced once, not eight times.

use crate::ids::SessionId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A run of recipients in an [`Outputs`](super::Outputs) buffer: read it with
/// [`Outputs::sessions`](super::Outputs::sessions). It means nothing outside the buffer
/// that produced it (and nothing after that buffer is cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Recipients {
    pub(super) start: u32,
    pub(super) len: u32,
}

impl Recipients {
    /// How many sessions the run names (always at least two: one recipient is
    /// [`To::Session`]).
    #[must_use]
    pub fn len(self) -> usize {
        self.len as usize
    }

    /// Never true: an event with no recipient is not produced. Here for clippy's sake.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// The addressee of a member event (`members_joined`, `members_left`, `room_message`,
/// `room_attributes_updated`, `room_member_attributes_updated`).
///
/// In a trace, and in every output that reaches a `Vec<Stamped>` sink, it is always
/// [`To::Session`] (serialized as the `session` field). Only an [`Outputs`](super::Outputs)
/// buffer holds [`To::Sessions`], which must be expanded (or resolved with
/// [`Outputs::sessions`](super::Outputs::sessions)) before it is delivered or written:
/// serializing it is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum To {
    /// One session.
    Session(SessionId),
    /// Several sessions, in member order, named in the buffer's recipient list.
    Sessions(Recipients),
}

impl To {
    /// The session, when there is exactly one.
    #[must_use]
    pub fn session(&self) -> Option<SessionId> {
        match self {
            To::Session(s) => Some(*s),
            To::Sessions(_) => None,
        }
    }
}

impl From<SessionId> for To {
    fn from(s: SessionId) -> To {
        To::Session(s)
    }
}

impl Serialize for To {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            To::Session(id) => id.serialize(s),
            To::Sessions(r) => Err(serde::ser::Error::custom(format!(
                "an output addressed to {} recipients is expanded (Outputs::expanded) before \
                 it is serialized",
                r.len
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for To {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<To, D::Error> {
        SessionId::deserialize(d).map(To::Session)
    }
}

impl std::fmt::Display for To {
    /// The session id, or `N sessions` for a run (which is resolved before display).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            To::Session(s) => s.fmt(f),
            To::Sessions(run) => write!(f, "{} sessions", run.len),
        }
    }
}
