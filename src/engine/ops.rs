//! The primitive transitions every flow is built from, all in one place: create and destroy a
//! room, add and remove a member (with the fan-out to the others), arm and cancel timers.
//!
//! Rules kept here so no flow can forget them:
//! - a room has a destroy timer exactly while it is empty (or is destroyed at once when its
//!   delay is zero);
//! - member events go to the other members, never to the subject, and never to a member
//!   whose link is lost (it gets one delta when it comes back);
//! - a removed membership takes the member's delete-after-leave room attributes and all its
//!   member attributes with it (by any path: leave, switch, kick, timeout, logout, another
//!   device's login), and ends its reconnect grace for that room.

use crate::engine::rooms::Room;
use crate::engine::sessions::Membership;
use crate::engine::timers::TimerKind;
use crate::engine::{Emit, Engine};
use crate::ids::{RoomId, UserId};
use crate::input::RoomInfo;
use crate::output::{DestroyCause, LeaveReason, Member, Members, Output, RoomEvent, RoomState};
use smallvec::smallvec;

impl Engine {
    /// Creates an empty room (the caller adds its first member in the same step) and emits
    /// `room_created`. Limits were checked by the caller.
    pub(crate) fn create_room_now(
        &mut self,
        info: &RoomInfo,
        destroy_delay_ms: u64,
        emit: &mut Emit<'_>,
    ) -> u32 {
        let incarnation = self.next_incarnation();
        let room = Room::new(info.id, info.name.clone(), incarnation, destroy_delay_ms);
        let slot = self.state.rooms.insert(room);
        self.index.rooms.insert(info.id, slot);
        emit.push(Output::RoomCreated { room_id: info.id });
        slot
    }

    /// Adds `session` to `room`: cancels a pending destroy timer, records the membership on
    /// both sides, and tells the other members. If another device of the same user is in the
    /// room it is taken out (it sees `kicked_out_by_other_device`) and `session` takes its
    /// place in the join order; the others see no change.
    pub(crate) fn add_member(&mut self, room_slot: u32, session_slot: u32, emit: &mut Emit<'_>) {
        let Some(session) = self.state.sessions.get(session_slot) else {
            return;
        };
        let (user, session_id) = (session.user, session.id);
        let Some(room) = self.state.rooms.get_mut(room_slot) else {
            return;
        };
        let room_id = room.id;
        if let Some(key) = room.destroy_timer.take() {
            self.state.timers.cancel(key);
        }
        if let Some((seq, other)) = self.same_user_member(room_slot, user, session_slot) {
            self.take_over(room_slot, seq, other, session_slot, emit);
            emit.state(
                session_id,
                room_id,
                RoomState::Connected,
                RoomEvent::Success,
            );
            return;
        }
        let members_after = self
            .state
            .rooms
            .get(room_slot)
            .map_or(0, |r| r.members.len())
            + 1;
        let batched = self.batch_change(room_slot, members_after, emit);
        let Some(room) = self.state.rooms.get_mut(room_slot) else {
            return;
        };
        let join_seq = room.push_member(session_slot);
        if let Some(s) = self.state.sessions.get_mut(session_slot) {
            s.memberships.push(Membership {
                room: room_slot,
                join_seq,
                lost: None,
            });
        }
        emit.state(
            session_id,
            room_id,
            RoomState::Connected,
            RoomEvent::Success,
        );
        if batched {
            self.batch_join(room_slot, user);
            return;
        }
        let members: Members = smallvec![Member { user_id: user }];
        self.fan_out(room_slot, Some(session_slot), emit, |session| {
            Output::MembersJoined {
                session,
                room_id,
                members: members.clone(),
            }
        });
    }

    /// Another live session of `user` that is in the room, with its join sequence number.
    fn same_user_member(&self, room_slot: u32, user: UserId, except: u32) -> Option<(u64, u32)> {
        let sessions = self.index.users.get(&user)?;
        sessions.iter().filter(|&&s| s != except).find_map(|&s| {
            let m = self.state.sessions.get(s)?.membership(room_slot)?;
            Some((m.join_seq, s))
        })
    }

    /// Moves the membership at `seq` from `old` to `new` (same user, another device).
    fn take_over(&mut self, room_slot: u32, seq: u64, old: u32, new: u32, emit: &mut Emit<'_>) {
        let Some(room) = self.state.rooms.get_mut(room_slot) else {
            return;
        };
        let room_id = room.id;
        room.members.insert(seq, new);
        if let Some(s) = self.state.sessions.get_mut(old) {
            let taken = s.take_membership(room_slot);
            emit.state(
                s.id,
                room_id,
                RoomState::Disconnected,
                RoomEvent::KickedOutByOtherDevice,
            );
            // The user stays a member, so nothing is logged as a departure; a reconnecting
            // membership taken over ends its grace for this room.
            if let Some(view) = taken.and_then(|m| m.lost) {
                self.unmark_lost(room_slot, &view);
            }
            self.settle_grace(old);
        }
        if let Some(s) = self.state.sessions.get_mut(new) {
            s.memberships.push(Membership {
                room: room_slot,
                join_seq: seq,
                lost: None,
            });
        }
    }

    /// Removes `session` from `room` on both sides. If `announce` is set, the other members
    /// get `members_left` with `reason`. Deletes the member's delete-after-leave room
    /// attributes and its member attributes (telling the remaining members), logs the
    /// departure for members who are reconnecting, and cancels the session's grace timer if
    /// this was its last reconnecting room. The caller settles the room (destroy delay).
    /// Returns the removed user.
    pub(crate) fn remove_member(
        &mut self,
        room_slot: u32,
        session_slot: u32,
        announce: Option<LeaveReason>,
        emit: &mut Emit<'_>,
    ) -> Option<UserId> {
        let user = self.detach_member(room_slot, session_slot, emit)?;
        self.member_gone(room_slot, user, announce, emit);
        Some(user)
    }

    /// The silent half of [`Engine::remove_member`]: takes the membership out of both
    /// sides, logs the departure and settles the session's grace. A caller removing several
    /// members at once (a kick) detaches them all first, so that what the others are told
    /// next reaches none of the removed.
    pub(crate) fn detach_member(
        &mut self,
        room_slot: u32,
        session_slot: u32,
        emit: &mut Emit<'_>,
    ) -> Option<UserId> {
        self.state
            .sessions
            .get(session_slot)?
            .membership(room_slot)?;
        // A large room opens its window before the departure is logged, so the departure
        // counts for members who lose their link later in the window.
        let members_before = self.state.rooms.get(room_slot)?.members.len();
        self.batch_change(room_slot, members_before, emit);
        let session = self.state.sessions.get_mut(session_slot)?;
        let membership = session.take_membership(room_slot)?;
        let user = session.user;
        let room = self.state.rooms.get_mut(room_slot)?;
        room.members.remove(&membership.join_seq);
        if let Some(view) = &membership.lost {
            room.reconnect.remove_mark(view.mark());
        }
        // A record (even emptied by deletes) means the attributes were written during this
        // stay: a reconnecting member may know a set the deletes since emptied.
        let had_attributes = room.member_attributes.contains_key(&user);
        room.reconnect
            .departed(membership.join_seq, user, had_attributes);
        self.settle_grace(session_slot);
        Some(user)
    }

    /// The telling half of [`Engine::remove_member`], once `user` is detached: the other
    /// members get `members_left` (if `announce`), then lose its delete-after-leave room
    /// attributes and its member attributes.
    pub(crate) fn member_gone(
        &mut self,
        room_slot: u32,
        user: UserId,
        announce: Option<LeaveReason>,
        emit: &mut Emit<'_>,
    ) {
        let Some(room_id) = self.state.rooms.get(room_slot).map(|r| r.id) else {
            return;
        };
        let batched = self.batch_open(room_slot);
        if let (Some(reason), true) = (announce, batched) {
            self.batch_leave(room_slot, user, reason);
        } else if let Some(reason) = announce {
            let members: Members = smallvec![Member { user_id: user }];
            self.fan_out(room_slot, None, emit, |session| Output::MembersLeft {
                session,
                room_id,
                members: members.clone(),
                reason,
            });
        }
        self.owner_left(room_slot, user, emit);
        self.member_left_attributes(room_slot, user, emit);
    }

    /// After members were removed: an empty room starts its destroy delay (or goes at once
    /// when the delay is zero).
    pub(crate) fn settle_room(&mut self, room_slot: u32, emit: &mut Emit<'_>) {
        let Some(room) = self.state.rooms.get(room_slot) else {
            return;
        };
        if !room.members.is_empty() || room.destroy_timer.is_some() {
            return;
        }
        let delay_ms = room.destroy_delay_ms;
        // No one is left to tell what the open window holds.
        self.drop_member_batch(room_slot);
        let Some(room) = self.state.rooms.get(room_slot) else {
            return;
        };
        if delay_ms == 0 {
            self.destroy_room(room_slot, DestroyCause::Empty, emit);
            return;
        }
        let deadline = self.state.now.after_ms(room.destroy_delay_ms);
        let kind = TimerKind::DestroyRoom {
            slot: room_slot,
            incarnation: room.incarnation,
        };
        let key = self.state.timers.arm(deadline, kind);
        self.empty_room_attributes(room_slot);
        if let Some(room) = self.state.rooms.get_mut(room_slot) {
            room.destroy_timer = Some(key);
        }
    }

    /// Removes the room (which has no members left to tell) and emits `room_destroyed`.
    pub(crate) fn destroy_room(
        &mut self,
        room_slot: u32,
        cause: DestroyCause,
        emit: &mut Emit<'_>,
    ) {
        self.drop_member_batch(room_slot);
        let Some(room) = self.state.rooms.remove(room_slot) else {
            return;
        };
        if let Some(key) = room.destroy_timer {
            self.state.timers.cancel(key);
        }
        self.index.rooms.remove(&room.id);
        emit.push(Output::RoomDestroyed {
            room_id: room.id,
            cause,
        });
    }

    pub(crate) fn destroy_timer_fired(&mut self, slot: u32, incarnation: u64, emit: &mut Emit<'_>) {
        let Some(room) = self.state.rooms.get_mut(slot) else {
            return;
        };
        // A timer is removed when cancelled, so a mismatch cannot happen; the check makes a
        // reused slot safe even so.
        if room.incarnation != incarnation || !room.members.is_empty() {
            return;
        }
        room.destroy_timer = None;
        self.destroy_room(slot, DestroyCause::Empty, emit);
    }

    /// Sends `make(session)` to every member of the room except `except` and members whose
    /// link is lost, in join order.
    pub(crate) fn fan_out(
        &self,
        room_slot: u32,
        except: Option<u32>,
        emit: &mut Emit<'_>,
        make: impl Fn(crate::ids::SessionId) -> Output,
    ) {
        let Some(room) = self.state.rooms.get(room_slot) else {
            return;
        };
        for &s in room.members.values() {
            if Some(s) == except {
                continue;
            }
            let Some(session) = self.state.sessions.get(s) else {
                continue;
            };
            if session
                .membership(room_slot)
                .is_some_and(Membership::is_reconnecting)
            {
                continue;
            }
            emit.push(make(session.id));
        }
    }

    /// The room slot for an id, if the room exists.
    pub(crate) fn room_slot(&self, room_id: RoomId) -> Option<u32> {
        self.index.rooms.get(&room_id).copied()
    }
}
