//! The baseline: the room registry a user would write by hand instead of using roomcore.
//! Rooms are `HashMap<String, Vec<String>>` (member session ids in join order), sessions are
//! `HashMap<String, NaiveSession>`, both with std's default hasher, and every recipient gets
//! its own event carrying owned `String`s. It handles the churn workload's commands (login,
//! create, join, leave, switch) and emits, for each, the same events roomcore emits (same
//! kinds, same recipients, same count); nothing else (no limits beyond "room exists", no
//! timers, no reconnects). It is a yardstick, not a product.

use super::{room_id_text, session_id_text, user_id_text};
use std::collections::HashMap;

/// What a naive registry knows about a logged-in session.
pub struct NaiveSession {
    pub user: String,
    /// Rooms the session is in.
    pub rooms: Vec<String>,
}

/// A naive room state, as the strings an embedder would put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NaiveState {
    Connecting,
    Connected,
    Disconnected,
}

/// One event for one recipient, owning its strings.
#[derive(Debug)]
pub enum NaiveEvent {
    Reply {
        session: String,
        request: u64,
        ok: bool,
    },
    RoomState {
        session: String,
        room: String,
        state: NaiveState,
    },
    MembersJoined {
        session: String,
        room: String,
        user: String,
        member: String,
    },
    MembersLeft {
        session: String,
        room: String,
        user: String,
        member: String,
    },
}

/// The hand-written registry and its reused event buffer.
#[derive(Default)]
pub struct Naive {
    pub rooms: HashMap<String, Vec<String>>,
    pub sessions: HashMap<String, NaiveSession>,
    pub out: Vec<NaiveEvent>,
    request: u64,
}

impl Naive {
    fn reply(&mut self, session: &str, ok: bool) {
        self.request += 1;
        self.out.push(NaiveEvent::Reply {
            session: session.to_string(),
            request: self.request,
            ok,
        });
        assert!(ok, "the baseline must not time refusals");
    }

    pub fn login(&mut self, s: u64) {
        self.out.clear();
        let session = session_id_text(s);
        self.sessions.insert(
            session.to_string(),
            NaiveSession {
                user: user_id_text(s).to_string(),
                rooms: Vec::new(),
            },
        );
        self.reply(&session, true);
    }

    pub fn create(&mut self, s: u64, r: u64) {
        self.out.clear();
        let (session, room) = (session_id_text(s), room_id_text(r));
        let ok = !self.rooms.contains_key(room.as_str()) && self.sessions.contains_key(&*session);
        if ok {
            self.rooms
                .insert(room.to_string(), vec![session.to_string()]);
            let entry = self.sessions.get_mut(&*session).expect("checked above");
            entry.rooms.push(room.to_string());
            self.state(&session, &room, NaiveState::Connecting);
            self.state(&session, &room, NaiveState::Connected);
        }
        self.reply(&session, ok);
    }

    fn state(&mut self, session: &str, room: &str, state: NaiveState) {
        self.out.push(NaiveEvent::RoomState {
            session: session.to_string(),
            room: room.to_string(),
            state,
        });
    }

    /// Adds `session` to `room` and tells everyone; false if it cannot.
    fn enter(&mut self, session: &str, room: &str) -> bool {
        let Some(entry) = self.sessions.get_mut(session) else {
            return false;
        };
        if entry.rooms.iter().any(|r| r == room) {
            return false;
        }
        let Some(members) = self.rooms.get_mut(room) else {
            return false;
        };
        entry.rooms.push(room.to_string());
        let user = entry.user.clone();
        self.out.push(NaiveEvent::RoomState {
            session: session.to_string(),
            room: room.to_string(),
            state: NaiveState::Connecting,
        });
        self.out.push(NaiveEvent::RoomState {
            session: session.to_string(),
            room: room.to_string(),
            state: NaiveState::Connected,
        });
        for m in members.iter() {
            self.out.push(NaiveEvent::MembersJoined {
                session: m.clone(),
                room: room.to_string(),
                user: user.clone(),
                member: session.to_string(),
            });
        }
        members.push(session.to_string());
        true
    }

    /// Takes `session` out of `room` and tells everyone; false if it is not there.
    fn exit(&mut self, session: &str, room: &str) -> bool {
        let Some(entry) = self.sessions.get_mut(session) else {
            return false;
        };
        let Some(at) = entry.rooms.iter().position(|r| r == room) else {
            return false;
        };
        entry.rooms.swap_remove(at);
        let user = entry.user.clone();
        let members = self.rooms.get_mut(room).expect("a session's room exists");
        let at = members
            .iter()
            .position(|m| m == session)
            .expect("a session is in the rooms it lists");
        members.remove(at);
        self.out.push(NaiveEvent::RoomState {
            session: session.to_string(),
            room: room.to_string(),
            state: NaiveState::Disconnected,
        });
        for m in members.iter() {
            self.out.push(NaiveEvent::MembersLeft {
                session: m.clone(),
                room: room.to_string(),
                user: user.clone(),
                member: session.to_string(),
            });
        }
        if members.is_empty() {
            self.rooms.remove(room);
        }
        true
    }

    pub fn join(&mut self, s: u64, r: u64) {
        self.out.clear();
        let (session, room) = (session_id_text(s), room_id_text(r));
        let ok = self.enter(&session, &room);
        self.reply(&session, ok);
    }

    pub fn leave(&mut self, s: u64, r: u64) {
        self.out.clear();
        let (session, room) = (session_id_text(s), room_id_text(r));
        let ok = self.exit(&session, &room);
        self.reply(&session, ok);
    }

    pub fn switch(&mut self, s: u64, from: u64, to: u64) {
        self.out.clear();
        let session = session_id_text(s);
        let (from, to) = (room_id_text(from), room_id_text(to));
        let ok = self.rooms.contains_key(to.as_str())
            && self.exit(&session, &from)
            && self.enter(&session, &to);
        self.reply(&session, ok);
    }
}
