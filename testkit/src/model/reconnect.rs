//! Network interruption: link loss, restore within the grace with one delta per room, grace
//! expiry.
//!
//! Where the product brief is silent the model follows the engine's documented choices
//! (the engine's `reconnect.rs`): a loss takes the rooms connected at that moment (a second loss also
//! takes rooms joined since, without moving the deadline); the grace runs exactly while some
//! room is reconnecting; link events for sessions not logged in are ignored; the restore
//! delta is net (who joined and is still there, in join order; who was there and is gone,
//! in the order they left, with reason `left`; keys written since with their values and keys
//! gone since; then, by user id, the whole member attribute set of every member whose
//! attributes were written since the loss (and who has not left since), and of every member
//! back after leaving the stay the session knew with attributes written during it, even if
//! deletes had emptied them: the session may know a set from before its loss).

use super::state::Model;
use super::state::{LostView, TimerWhat};
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::output::{
    ExitReason, LeaveReason, Member, MemberAttributesInfo, Members, Output, RoomEvent, RoomState,
};
use std::collections::{BTreeMap, BTreeSet};

impl Model {
    pub(super) fn link_lost(&mut self, session: SessionId) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        let fresh: Vec<RoomId> = s
            .rooms
            .iter()
            .filter(|r| !s.lost_views.contains_key(r))
            .copied()
            .collect();
        for r in fresh {
            // An open window has told no one its changes yet: the view starts at its start.
            let (users, departures) = match self.rooms.get(&r).and_then(|x| x.window.as_ref()) {
                Some(w) => (w.start_users.clone(), w.departures.clone()),
                None => (self.users_in(r), Vec::new()),
            };
            let view = LostView {
                users,
                departures,
                attr_keys: self
                    .rooms
                    .get(&r)
                    .map(|x| x.attrs.keys().cloned().collect())
                    .unwrap_or_default(),
                touched: BTreeSet::new(),
                members_written: BTreeSet::new(),
            };
            if let Some(s) = self.sessions.get_mut(&session) {
                s.lost_views.insert(r, view);
            }
            self.emit(Output::RoomStateChanged {
                session,
                room_id: r,
                state: RoomState::Connecting,
                event: RoomEvent::NetworkInterrupted,
            });
        }
        let needs_timer = self
            .sessions
            .get(&session)
            .is_some_and(|s| s.grace_timer.is_none() && !s.lost_views.is_empty());
        if needs_timer {
            let seq = self.arm(self.cfg.reconnect_grace_ms, TimerWhat::Grace(session));
            if let Some(s) = self.sessions.get_mut(&session) {
                s.grace_timer = Some(seq);
            }
        }
    }

    /// After a reconnecting membership ended another way: no room left to reconnect to means
    /// no grace.
    pub(super) fn settle_grace(&mut self, session: SessionId) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if !s.lost_views.is_empty() {
            return;
        }
        if let Some(seq) = s.grace_timer.take() {
            self.cancel(seq);
        }
    }

    /// Someone left `room`: every session reconnecting to it notes the departure, and
    /// whether the member attributes of the stay that ended had been written.
    pub(super) fn note_departure(&mut self, room: RoomId, user: UserId) {
        let had = self
            .rooms
            .get(&room)
            .is_some_and(|r| r.member_attrs.contains_key(&user));
        for s in self.sessions.values_mut() {
            if let Some(v) = s.lost_views.get_mut(&room) {
                v.departures.push((user, had));
                v.members_written.remove(&user);
            }
        }
        if let Some(w) = self.rooms.get_mut(&room).and_then(|r| r.window.as_mut()) {
            w.departures.push((user, had));
        }
    }

    /// Member attributes of `users` were written in `room`: every session reconnecting to it
    /// notes them.
    pub(super) fn note_members_written(&mut self, room: RoomId, users: &[UserId]) {
        for s in self.sessions.values_mut() {
            if let Some(v) = s.lost_views.get_mut(&room) {
                v.members_written.extend(users.iter().copied());
            }
        }
    }

    /// Attribute keys were written in `room`: every session reconnecting to it notes them.
    pub(super) fn note_attrs_written(&mut self, room: RoomId, keys: &[String]) {
        for s in self.sessions.values_mut() {
            if let Some(v) = s.lost_views.get_mut(&room) {
                v.touched.extend(keys.iter().cloned());
            }
        }
    }

    pub(super) fn link_restored(&mut self, session: SessionId) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(seq) = s.grace_timer.take() else {
            return;
        };
        let views = std::mem::take(&mut s.lost_views);
        let (me, rooms) = (s.user, s.rooms.clone());
        self.cancel(seq);
        for r in rooms {
            if let Some(view) = views.get(&r) {
                self.restore_room(session, me, r, view);
            }
        }
    }

    fn restore_room(&mut self, session: SessionId, me: UserId, room: RoomId, view: &LostView) {
        self.emit(Output::RoomStateChanged {
            session,
            room_id: room,
            state: RoomState::Connected,
            event: RoomEvent::Success,
        });
        let now: Vec<UserId> = self
            .users_in(room)
            .into_iter()
            .filter(|u| *u != me)
            .collect();
        let before: Vec<UserId> = view.users.iter().copied().filter(|u| *u != me).collect();
        // The first departure of each user there at the loss ends the stay the session knew.
        let mut gone: Vec<UserId> = Vec::new();
        let mut left_written: BTreeSet<UserId> = BTreeSet::new();
        for (u, had) in &view.departures {
            if before.contains(u) && !gone.contains(u) {
                gone.push(*u);
                if *had {
                    left_written.insert(*u);
                }
            }
        }
        let back: BTreeSet<UserId> = gone.iter().filter(|u| now.contains(u)).copied().collect();
        let joined: Members = now
            .iter()
            .filter(|u| !before.contains(u))
            .map(|u| Member { user_id: *u })
            .collect();
        let left: Members = gone
            .iter()
            .filter(|u| !back.contains(u))
            .map(|u| Member { user_id: *u })
            .collect();
        if !joined.is_empty() {
            self.emit(Output::MembersJoined {
                to: session.into(),
                room_id: room,
                members: joined,
            });
        }
        if !left.is_empty() {
            self.emit(Output::MembersLeft {
                to: session.into(),
                room_id: room,
                members: left,
                reason: LeaveReason::Left,
            });
        }
        let attrs: BTreeMap<String, String> = self
            .rooms
            .get(&room)
            .map(|r| {
                r.attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), a.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let set: BTreeMap<String, String> = attrs
            .iter()
            .filter(|(k, _)| view.touched.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let deleted: Vec<String> = view
            .attr_keys
            .iter()
            .filter(|k| !attrs.contains_key(*k))
            .cloned()
            .collect();
        if !set.is_empty() || !deleted.is_empty() {
            self.emit(Output::RoomAttributesUpdated {
                to: session.into(),
                room_id: room,
                set,
                deleted,
            });
        }
        // Member attributes: everyone now in the room whose attributes were written since
        // the loss, and everyone back after leaving the stay the session knew with written
        // attributes (leaving cleared them), each with its whole set, by user id.
        let mut changed: BTreeMap<UserId, BTreeMap<String, String>> = BTreeMap::new();
        for u in self.users_in(room) {
            let written = view.members_written.contains(&u);
            let back = u != me && back.contains(&u) && left_written.contains(&u);
            if written || back {
                changed.insert(u, self.member_attrs_of(room, u));
            }
        }
        if !changed.is_empty() {
            self.emit(Output::RoomMemberAttributesUpdated {
                to: session.into(),
                room_id: room,
                members: changed
                    .into_iter()
                    .map(|(user_id, attributes)| MemberAttributesInfo {
                        user_id,
                        attributes,
                    })
                    .collect(),
            });
        }
    }

    /// The reconnect grace ran out: the session leaves the rooms it was reconnecting to (and
    /// keeps those it joined meanwhile); it stays logged in.
    pub(super) fn grace_due(&mut self, session: SessionId) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.grace_timer = None;
        let rooms: Vec<RoomId> = s
            .rooms
            .iter()
            .filter(|r| s.lost_views.contains_key(r))
            .copied()
            .collect();
        for r in rooms {
            self.remove_member(
                r,
                session,
                Some((RoomState::Disconnected, RoomEvent::ConnectTimeout)),
                ExitReason::Timeout,
            );
        }
    }
}
