//! The service's view of a run, kept from its service events alone, and checked against the
//! engine after every step: event numbers grow by one from 1, each `member_joined` is
//! matched by exactly one later `member_left` (or the membership still holds), a room's
//! `room_created` comes before its first member and its last `member_left` before its
//! `room_destroyed`.

use roomcore::ids::{RoomId, RoomSid, SessionId};
use roomcore::output::Output;
use roomcore::Engine;
use std::collections::{BTreeMap, BTreeSet};

/// What the service knows from the events so far. See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// The last event number seen.
    last_event: u64,
    /// Rooms that exist, by id, with their incarnation.
    rooms: BTreeMap<RoomId, RoomSid>,
    /// Memberships that started and have not ended.
    open: BTreeSet<(RoomSid, SessionId)>,
}

impl Ledger {
    /// Takes in one step's outputs.
    ///
    /// # Errors
    /// An event out of order, a membership that ends without having started (or starts
    /// twice), or a room destroyed with members.
    pub fn record(&mut self, outs: &[Output]) -> Result<(), String> {
        for o in outs {
            if let Some(id) = event_id(o) {
                if id != self.last_event + 1 {
                    return Err(format!("event {id} after {}: {o:?}", self.last_event));
                }
                self.last_event = id;
            }
            self.apply(o)?;
        }
        Ok(())
    }

    // The checks change the ledger as they go, which a match guard must not do.
    #[allow(clippy::collapsible_match)]
    fn apply(&mut self, o: &Output) -> Result<(), String> {
        match o {
            Output::RoomCreated {
                room_id,
                sid: Some(sid),
                ..
            } => {
                if self.rooms.insert(*room_id, *sid).is_some() {
                    return Err(format!("room {room_id} created twice: {o:?}"));
                }
            }
            Output::RoomDestroyed { room_id, sid, .. } => {
                let known = self.rooms.remove(room_id);
                if known.is_none() || known != *sid {
                    return Err(format!("destroyed room {room_id} was not created: {o:?}"));
                }
                if self.open.iter().any(|(s, _)| Some(*s) == known) {
                    return Err(format!("room {room_id} destroyed with members: {o:?}"));
                }
            }
            Output::MemberJoined {
                room_id,
                sid,
                session_id,
                ..
            } => {
                if self.rooms.get(room_id) != Some(sid) {
                    return Err(format!("member joined a room never created: {o:?}"));
                }
                if !self.open.insert((*sid, *session_id)) {
                    return Err(format!("membership started twice: {o:?}"));
                }
            }
            Output::MemberLeft {
                sid, session_id, ..
            } => {
                if !self.open.remove(&(*sid, *session_id)) {
                    return Err(format!("membership ended without starting: {o:?}"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// With service events on: the memberships the events describe are exactly the engine's.
    ///
    /// # Errors
    /// The first difference.
    pub fn matches(&self, e: &Engine) -> Result<(), String> {
        if !e.config().service_events {
            return Ok(());
        }
        let mut held = BTreeSet::new();
        for s in e.session_ids() {
            for (room, _) in e.session_rooms(s).unwrap_or_default() {
                let sid = e.room_sid(room).ok_or("a member of a missing room")?;
                held.insert((sid, s));
            }
        }
        if held != self.open {
            return Err(format!(
                "service events say the memberships are {:?}, the engine holds {held:?}",
                self.open
            ));
        }
        Ok(())
    }
}

fn event_id(o: &Output) -> Option<u64> {
    match o {
        Output::RoomCreated { event_id, .. } | Output::RoomDestroyed { event_id, .. } => *event_id,
        Output::MemberJoined { event_id, .. } | Output::MemberLeft { event_id, .. } => {
            Some(*event_id)
        }
        _ => None,
    }
}
