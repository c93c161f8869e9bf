//! The model's primitive membership changes: a member admitted, detached or removed, an
//! emptied room's destroy delay, a destroy deadline. Every flow, the admin commands, the
//! reconnect rules and the device policy change memberships through these.

use super::emit::members_of;
use super::state::Model;
use super::state::{MAttr, MMember, MRoom, TimerWhat};
use roomcore::config::{DevicePolicy, RoomConfig};
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::RoomInfo;
use roomcore::output::{DestroyCause, LeaveReason, Output, RoomEvent, RoomState};
use std::collections::BTreeMap;

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

    /// A member leaves: it sees `own` (if any), the others `members_left` with `reason`, its
    /// attributes marked delete-after-owner-left go, then its member attributes, and an
    /// emptied room starts its timer.
    pub(super) fn remove_member(
        &mut self,
        room: RoomId,
        session: SessionId,
        own: Option<(RoomState, RoomEvent)>,
        reason: LeaveReason,
    ) {
        let Some(user) = self.user_of(session) else {
            return;
        };
        // The leaver hears first; then a large room decides before it goes (it still
        // counts; a full window may close right there).
        if let Some((st, ev)) = own {
            self.state(session, room, st, ev);
        }
        let batched = self.batched(room, self.users_in(room).len());
        self.detach(room, session);
        if batched {
            self.window_leaves(room, &[user], reason);
        } else {
            for other in self.live_members(room, None) {
                self.emit(Output::MembersLeft {
                    session: other,
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
            self.rooms.remove(&room);
            self.emit(Output::RoomDestroyed {
                room_id: room,
                cause: DestroyCause::Empty,
            });
            return;
        }
        let seq = self.arm(delay, TimerWhat::Destroy(room));
        if let Some(r) = self.rooms.get_mut(&room) {
            r.destroy_timer = Some(seq);
        }
    }

    /// A destroy deadline came: the room is gone.
    pub(super) fn destroy_due(&mut self, room: RoomId) {
        if self.rooms.remove(&room).is_some() {
            self.emit(Output::RoomDestroyed {
                room_id: room,
                cause: DestroyCause::Empty,
            });
        }
    }

    pub(super) fn make_room(&mut self, info: &RoomInfo, rc: Option<&RoomConfig>, creator: UserId) {
        let rc = rc.cloned().unwrap_or_default();
        let attrs = rc
            .attributes
            .iter()
            .map(|(k, v)| {
                let a = MAttr {
                    value: v.clone(),
                    owner: creator,
                    delete_after_owner_left: false,
                };
                (k.clone(), a)
            })
            .collect::<BTreeMap<_, _>>();
        let generation = self.generation();
        self.rooms.insert(
            info.id,
            MRoom {
                name: info.name.clone(),
                generation,
                delay_ms: rc.destroy_delay_s * 1000,
                members: Vec::new(),
                next_join_no: 1,
                destroy_timer: None,
                attrs,
                keep_attrs: rc.keep_attributes_while_empty,
                msg_seq: 0,
                member_attrs: BTreeMap::new(),
                window: None,
            },
        );
        self.emit(Output::RoomCreated { room_id: info.id });
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
        }
        if let Some(s) = self.sessions.get_mut(&session) {
            s.rooms.push(room);
        }
        self.state(session, room, RoomState::Connected, RoomEvent::Success);
        if old.is_none() && !batched {
            for other in self.live_members(room, Some(session)) {
                self.emit(Output::MembersJoined {
                    session: other,
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
