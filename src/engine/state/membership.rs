//! Memberships: a session joins a room, leaves it, or hands its place to another device of
//! the same user; and the fan-out of member events to the others.

use super::members::MemberEntry;
use super::session::Membership;
use super::Engine;
use crate::engine::emit::Emit;
use crate::ids::UserId;
use crate::output::{ExitReason, LeaveReason, Member, Members, Output, RoomEvent, RoomState, To};
use smallvec::smallvec;

impl Engine {
    /// Adds `session` to `room`: cancels a pending destroy timer, records the membership on
    /// both sides, and tells the other members. If another device of the same user is in the
    /// room it is taken out (it sees `kicked_out_by_other_device`) and `session` takes its
    /// place in the join order; the others see no change.
    pub(crate) fn add_member(&mut self, room_slot: u32, session_slot: u32, emit: &mut Emit<'_>) {
        let session = self.state.session(session_slot);
        let (user, session_id) = (session.user, session.id);
        let room_id = self.state.room_id(room_slot);
        let room = self.state.room_mut(room_slot);
        if let Some(key) = room.take_destroy_timer() {
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
            self.tell_service_joined(room_slot, session_slot, emit);
            return;
        }
        let members_after = self.state.room(room_slot).members().len() + 1;
        let batched = self.batch_change(room_slot, members_after, emit);
        let join_seq = self.state.room_mut(room_slot).push_member(session_slot);
        self.state
            .session_mut(session_slot)
            .memberships
            .push(Membership {
                room: room_slot,
                join_seq,
                lost: None,
            });
        emit.state(
            session_id,
            room_id,
            RoomState::Connected,
            RoomEvent::Success,
        );
        self.tell_service_joined(room_slot, session_slot, emit);
        if batched {
            self.batch_join(room_slot, user);
            return;
        }
        let members: Members = smallvec![Member { user_id: user }];
        self.fan_out(room_slot, Some(session_slot), emit, |to| {
            Output::MembersJoined {
                to,
                room_id,
                members,
            }
        });
    }

    /// Another live session of `user` that is in the room, with its join sequence number.
    fn same_user_member(&self, room_slot: u32, user: UserId, except: u32) -> Option<(u64, u32)> {
        if self.state.session(except).alone() {
            return None;
        }
        self.user_sessions(user)
            .filter(|&s| s != except)
            .find_map(|s| {
                let m = self.state.session(s).membership(room_slot)?;
                Some((m.join_seq, s))
            })
    }

    /// Moves the membership at `seq` from `old` to `new` (same user, another device).
    fn take_over(&mut self, room_slot: u32, seq: u64, old: u32, new: u32, emit: &mut Emit<'_>) {
        let room_id = self.state.room_id(room_slot);
        let room = self.state.room_mut(room_slot);
        room.members_mut().put(MemberEntry {
            join_seq: seq,
            session: new,
            lost: false,
        });
        let s = self.state.session_mut(old);
        let taken = s
            .take_membership(room_slot)
            .expect("same_user_member found this membership");
        emit.state(
            s.id,
            room_id,
            RoomState::Disconnected,
            RoomEvent::KickedOutByOtherDevice,
        );
        self.tell_service_left(room_slot, old, ExitReason::OtherDevice, emit);
        // The user stays a member, so nothing is logged as a departure; a reconnecting
        // membership taken over ends its grace for this room.
        if let Some(view) = taken.lost {
            self.unmark_lost(room_slot, &view);
        }
        self.settle_grace(old);
        self.state.session_mut(new).memberships.push(Membership {
            room: room_slot,
            join_seq: seq,
            lost: None,
        });
    }

    /// Removes `session` from `room` on both sides, for `exit`: the other members get
    /// `members_left` with the reason they see. Deletes the member's delete-after-leave room
    /// attributes and its member attributes (telling the remaining members), logs the
    /// departure for members who are reconnecting, and cancels the session's grace timer if
    /// this was its last reconnecting room. The caller settles the room (destroy delay).
    /// Returns the removed user.
    pub(crate) fn remove_member(
        &mut self,
        room_slot: u32,
        session_slot: u32,
        exit: ExitReason,
        emit: &mut Emit<'_>,
    ) -> UserId {
        let user = self.detach_member(room_slot, session_slot, exit, emit);
        self.member_gone(room_slot, user, exit.members_see(), emit);
        user
    }

    /// The silent half of [`Engine::remove_member`]: takes the membership out of both
    /// sides, logs the departure and settles the session's grace. A caller removing several
    /// members at once (a kick) detaches them all first, so that what the others are told
    /// next reaches none of the removed. The session must be a member of the room.
    pub(crate) fn detach_member(
        &mut self,
        room_slot: u32,
        session_slot: u32,
        exit: ExitReason,
        emit: &mut Emit<'_>,
    ) -> UserId {
        self.tell_service_left(room_slot, session_slot, exit, emit);
        // A large room opens its window before the departure is logged, so the departure
        // counts for members who lose their link later in the window.
        let members_before = self.state.room(room_slot).members().len();
        self.batch_change(room_slot, members_before, emit);
        let session = self.state.session_mut(session_slot);
        let membership = session
            .take_membership(room_slot)
            .expect("callers detach only a member of the room");
        let user = session.user;
        let room = self.state.room_mut(room_slot);
        room.members_mut().remove(membership.join_seq);
        if let Some(view) = &membership.lost {
            room.cold_mut().reconnect.remove_mark(view.mark());
        }
        // A record (even emptied by deletes) means the attributes were written during this
        // stay: a reconnecting member may know a set the deletes since emptied.
        if let Some(cold) = room.cold_if_any() {
            let had_attributes = cold.member_attributes.contains_key(&user);
            cold.reconnect
                .departed(membership.join_seq, user, had_attributes);
        }
        self.settle_grace(session_slot);
        user
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
        let room_id = self.state.room_id(room_slot);
        let batched = self.batch_open(room_slot);
        if let (Some(reason), true) = (announce, batched) {
            self.batch_leave(room_slot, user, reason);
        } else if let Some(reason) = announce {
            let members: Members = smallvec![Member { user_id: user }];
            self.fan_out(room_slot, None, emit, |to| Output::MembersLeft {
                to,
                room_id,
                members,
                reason,
            });
        }
        self.owner_left(room_slot, user, emit);
        self.member_left_attributes(room_slot, user, emit);
    }

    /// A member of a room being dismissed: it sees `disconnected`/`room_not_exist` and its
    /// membership ends on the session's side (the room, member list and all, is destroyed
    /// next, so nothing is logged or announced to members); a lost session whose last
    /// reconnecting room this was has no grace left to run.
    pub(crate) fn release_for_dismissal(
        &mut self,
        room_slot: u32,
        session_slot: u32,
        emit: &mut Emit<'_>,
    ) {
        let room_id = self.state.room_id(room_slot);
        let id = self.state.session(session_slot).id;
        emit.state(
            id,
            room_id,
            RoomState::Disconnected,
            RoomEvent::RoomNotExist,
        );
        self.tell_service_left(room_slot, session_slot, ExitReason::Dismissed, emit);
        let taken = self
            .state
            .session_mut(session_slot)
            .take_membership(room_slot)
            .expect("the dismissed room lists this session as a member");
        if let Some(view) = taken.lost {
            self.unmark_lost(room_slot, &view);
        }
        self.settle_grace(session_slot);
    }

    /// Service event: the session's membership of the room started.
    #[inline] // stays inlined, so the common case (events off) is one test, not a call
    fn tell_service_joined(&mut self, room_slot: u32, session_slot: u32, emit: &mut Emit<'_>) {
        let Some(event_id) = self.state.take_event_id() else {
            return; // service events are off
        };
        let (room, session) = (self.state.room(room_slot), self.state.session(session_slot));
        emit.push(Output::MemberJoined {
            room_id: self.state.room_id(room_slot),
            sid: room.sid,
            user_id: session.user,
            session_id: session.id,
            event_id,
        });
    }

    /// Service event: the session's membership of the room ends (told while it still holds).
    #[inline] // stays inlined, so the common case (events off) is one test, not a call
    fn tell_service_left(
        &mut self,
        room_slot: u32,
        session_slot: u32,
        reason: ExitReason,
        emit: &mut Emit<'_>,
    ) {
        let Some(event_id) = self.state.take_event_id() else {
            return; // service events are off
        };
        let (room, session) = (self.state.room(room_slot), self.state.session(session_slot));
        emit.push(Output::MemberLeft {
            room_id: self.state.room_id(room_slot),
            sid: room.sid,
            user_id: session.user,
            session_id: session.id,
            reason,
            event_id,
        });
    }

    /// Sends `make(session)` to every member of the room except `except` and members whose
    /// link is lost, in join order.
    pub(crate) fn fan_out(
        &self,
        room_slot: u32,
        except: Option<u32>,
        emit: &mut Emit<'_>,
        make: impl FnOnce(To) -> Output,
    ) {
        // The list says who is reconnecting and holds each recipient's slot: a buffer of
        // handles names a run by slot and reads no recipient's record (only a lone
        // recipient's, for its id); a buffer of ids reads each one's id.
        let slots = self
            .state
            .room(room_slot)
            .members()
            .iter()
            .filter(|m| !m.lost && Some(m.session) != except)
            .map(|m| m.session);
        emit.fan_out(slots, |slot| self.state.session(slot).id, make);
    }
}
