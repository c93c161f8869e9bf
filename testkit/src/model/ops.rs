//! The model's primitive membership changes: a member admitted, detached or removed, an
//! emptied room's destroy delay, a destroy deadline. Every flow, the admin commands, the
//! reconnect rules and the device policy change memberships through these.

use super::emit::members_of;
use super::service::members_see;
use super::state::Model;
use super::state::{MMember, TimerWhat};
use roomcore::config::DevicePolicy;
use roomcore::ids::{RoomId, SessionId};
use roomcore::output::{DestroyCause, ExitReason, LeaveReason, Output, RoomEvent, RoomState};

impl Model {
    /// Takes `session` out of `room`'s lists, telling no one (sessions reconnecting to the
    /// room note the departure for their delta; a grace with nothing left to wait for ends).
    pub(super) fn detach(&mut self, room: RoomId, session: SessionId) {
        if let Some(r) = self.rooms.get_mut(&room) {
            r.members.retain(|m| m.session != session);
        }
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.rooms.retain(|x| *x != room);
        s.lost_views.remove(&room);
        let user = s.user;
        self.note_departure(room, user);
        self.settle_grace(session);
    }

    /// A member leaves, for `exit`: it sees `own` (if any), the service is told, the others
    /// get `members_left` with the reason they see, its attributes marked
    /// delete-after-owner-left go, then its member attributes, and an emptied room starts its
    /// timer.
    pub(super) fn remove_member(
        &mut self,
        room: RoomId,
        session: SessionId,
        own: Option<(RoomState, RoomEvent)>,
        exit: ExitReason,
    ) {
        let reason = members_see(exit).unwrap_or(LeaveReason::Left);
        let Some(user) = self.user_of(session) else {
            return;
        };
        // The leaver hears first; then a large room decides before it goes (it still
        // counts; a full window may close right there).
        if let Some((st, ev)) = own {
            self.state(session, room, st, ev);
        }
        self.tell_left(room, session, exit);
        let batched = self.batched(room, self.users_in(room).len());
        self.detach(room, session);
        if batched {
            self.window_leaves(room, &[user], reason);
        } else {
            for other in self.live_members(room, None) {
                self.emit(Output::MembersLeft {
                    to: other.into(),
                    room_id: room,
                    members: members_of(&[user]),
                    reason,
                });
            }
        }
        self.owner_left(room, user);
        self.member_attrs_left(room, user);
        self.after_leave(room);
    }

    /// If `room` is now empty: drop its attributes (unless kept) and start its destroy delay;
    /// a zero delay destroys it at once.
    pub(super) fn after_leave(&mut self, room: RoomId) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if !r.members.is_empty() || r.destroy_timer.is_some() {
            return;
        }
        // No one is left to tell what an open window holds.
        if let Some(w) = r.window.take() {
            self.cancel(w.timer);
        }
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if !r.keep_attrs {
            r.attrs.clear();
        }
        let delay = r.delay_ms;
        if delay == 0 {
            self.room_gone(room, DestroyCause::Empty);
            return;
        }
        let seq = self.arm(delay, TimerWhat::Destroy(room));
        if let Some(r) = self.rooms.get_mut(&room) {
            r.destroy_timer = Some(seq);
        }
    }

    /// A destroy deadline came: the room is gone.
    pub(super) fn destroy_due(&mut self, room: RoomId) {
        self.room_gone(room, DestroyCause::Empty);
    }

    /// `session` becomes a member of `room` (which exists and has room for it).
    pub(super) fn admit(&mut self, room: RoomId, session: SessionId) {
        let Some(user) = self.user_of(session) else {
            return;
        };
        // Multi-device: another device of the same user in the room is taken out of it; the
        // user stays one member, in its place in the join order (the others see no
        // change), so it is not a departure for anyone's reconnect delta either.
        let old = self
            .room_sessions(room)
            .unwrap_or_default()
            .into_iter()
            .find(|s| *s != session && self.user_of(*s) == Some(user));
        // A takeover changes no one's membership: nothing to batch. A join counts itself.
        let batched = old.is_none() && self.batched(room, self.users_in(room).len() + 1);
        let timer = match self.rooms.get_mut(&room) {
            Some(r) => {
                match r.members.iter_mut().find(|m| Some(m.session) == old) {
                    Some(m) => m.session = session,
                    None => {
                        let join_no = r.next_join_no;
                        r.next_join_no += 1;
                        r.members.push(MMember { session, join_no });
                    }
                }
                r.destroy_timer.take()
            }
            None => return,
        };
        if let Some(seq) = timer {
            self.cancel(seq);
        }
        if let Some(old) = old {
            if let Some(s) = self.sessions.get_mut(&old) {
                s.rooms.retain(|x| *x != room);
                s.lost_views.remove(&room);
            }
            self.settle_grace(old);
            self.state(
                old,
                room,
                RoomState::Disconnected,
                RoomEvent::KickedOutByOtherDevice,
            );
            self.tell_left(room, old, ExitReason::OtherDevice);
        }
        if let Some(s) = self.sessions.get_mut(&session) {
            s.rooms.push(room);
        }
        self.state(session, room, RoomState::Connected, RoomEvent::Success);
        self.tell_joined(room, session);
        if old.is_none() && !batched {
            for other in self.live_members(room, Some(session)) {
                self.emit(Output::MembersJoined {
                    to: other.into(),
                    room_id: room,
                    members: members_of(&[user]),
                });
            }
        }
    }
}

/// Whether the single-device policy applies.
pub(super) fn single(policy: DevicePolicy) -> bool {
    policy == DevicePolicy::Single
}
