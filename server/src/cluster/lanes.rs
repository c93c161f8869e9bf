//! One lane per connection: its commands wait here and go to the group one at a time, in
//! the order the client sent them (two proposals in flight at once could be applied in
//! either order). A lane outlives its connection until what the client sent before it went
//! away, and the `disconnect` that follows, have been applied, so the group sees them in
//! the order the in-memory server would.

use crate::auth::Claims;
use roomcore::{Input, SessionId};
use roomcore_raft::RequestKey;
use std::collections::VecDeque;
use std::sync::Arc;

/// Commands one lane may hold waiting (besides the one in flight); past it a command is
/// refused with `busy`. A client that waits for each reply never comes near it.
pub const MAX_WAITING_PER_CONN: usize = 64;

/// What a connection asked for, waiting its turn.
#[derive(Debug)]
pub enum Job {
    /// A session command, a login included.
    Input {
        /// The command.
        input: Input,
        /// Its request number.
        request: Option<u64>,
        /// A login's verified access token.
        grants: Option<Arc<Claims>>,
    },
    /// Take a session back with its resume token.
    Resume {
        /// The session.
        session: SessionId,
        /// The token presented.
        token: String,
    },
    /// The connection carrying `session` ended: its link is lost.
    Disconnect {
        /// The session.
        session: SessionId,
    },
}

/// A connection's queue of jobs.
#[derive(Debug, Default)]
pub struct Lane {
    /// Jobs waiting, oldest first.
    pub queue: VecDeque<Job>,
    /// The job in flight, by its proposal's request key.
    pub busy: Option<RequestKey>,
    /// Whether the connection is still open.
    pub open: bool,
    /// The session the connection carried when it closed: the commands it sent before
    /// still go to the group for that session (their replies wait in its buffer).
    pub closed_session: Option<SessionId>,
}

impl Lane {
    /// The lane of a connection that just opened.
    #[must_use]
    pub fn open() -> Lane {
        Lane {
            open: true,
            ..Lane::default()
        }
    }

    /// Whether nothing is left to do for a closed connection.
    #[must_use]
    pub fn finished(&self) -> bool {
        !self.open && self.busy.is_none() && self.queue.is_empty()
    }
}
