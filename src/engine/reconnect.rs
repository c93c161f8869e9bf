//! Lost links and reconnection: `link_lost`, `link_restored` and the reconnect grace.
//!
//! Decisions (the requirements leave these open; docs/decisions.md):
//! - Link events for a session id that is not logged in (unknown, closed or forgotten) are
//!   ignored: they have no reply to carry an error.
//! - `link_lost` applies to the rooms the session is connected to at that moment. A second
//!   `link_lost` while the first grace runs also takes the rooms joined since (a session whose
//!   link is lost can still send commands; rooms it joins then are connected and not part of
//!   the grace until the transport reports a loss again), and it does not move the deadline:
//!   the grace counts from the first loss, so a flapping transport cannot keep rooms forever.
//! - The grace timer runs exactly while at least one room is reconnecting. A session in no
//!   room arms none; when the last reconnecting room ends another way (kick, dismissal,
//!   another device taking over, logout) the timer is cancelled, and the session's link
//!   counts as restored (a later `link_restored` finds nothing to do).
//! - `link_restored` for a session whose link is not lost (never lost, restored already,
//!   or whose grace ran out) does nothing and outputs nothing.
//! - On restore each room gets, after `connected`/`success`: one `members_joined` (members
//!   who joined and are still there, in join order), one `members_left` with reason `left`
//!   whatever the real reason (the delta says who is gone, not why), in the order they left;
//!   then, if room attributes changed, one `room_attributes_updated` with the keys set since
//!   (current values) and the keys deleted since; then, if member attributes changed, one
//!   `room_member_attributes_updated` with each such member's whole set. The deltas are net:
//!   a member who joined and left again is in neither list, and one who left and came back is
//!   in neither (if its member attributes had been written during the stay it left, its
//!   current set is resent, since leaving cleared them: even when deletes had emptied them,
//!   as the session may have known a set from before). Nothing else is sent for what did
//!   not change.
//! - Room messages sent while a member is reconnecting are not delivered to it, then or on
//!   restore (the room keeps no message history); the per-room sequence number lets the
//!   client see the gap.

use crate::engine::state::session::LostView;
use crate::engine::{Emit, Engine};
use crate::ids::{SessionId, UserId};
use crate::output::{
    ExitReason, LeaveReason, Member, MemberAttributesInfo, Members, Output, RoomEvent, RoomState,
    To,
};
use std::collections::{BTreeMap, BTreeSet};

/// What a reconnecting session missed in one room.
struct Delta {
    joined: Members,
    left: Members,
    attributes_set: BTreeMap<String, String>,
    attributes_deleted: Vec<String>,
    member_attributes: Vec<MemberAttributesInfo>,
}

impl Engine {
    /// Transport: the link dropped. Each room the session is connected to goes
    /// `connecting`/`network_interrupted` for it; nobody else is told. The grace timer starts
    /// if it is not running and some room is reconnecting.
    pub(crate) fn link_lost(&mut self, session: SessionId, emit: &mut Emit<'_>) {
        let Some(slot) = self.session_slot(session) else {
            return;
        };
        for (room_slot, reconnecting) in self.rooms_of(slot) {
            if reconnecting {
                continue;
            }
            self.mark_lost(slot, room_slot);
            let room_id = self.state.room_id(room_slot);
            emit.state(
                session,
                room_id,
                RoomState::Connecting,
                RoomEvent::NetworkInterrupted,
            );
        }
        self.arm_grace(slot);
    }

    /// Transport: the link is back within the grace. Each reconnecting room goes back to
    /// `connected`/`success`, followed by the deltas of what changed meanwhile (module docs).
    pub(crate) fn link_restored(&mut self, session: SessionId, emit: &mut Emit<'_>) {
        let Some(slot) = self.session_slot(session) else {
            return;
        };
        let Some(restored) = self.restore_links(slot) else {
            return;
        };
        for (room_slot, view) in restored.rooms {
            let delta = self.delta_since(room_slot, restored.user, &view);
            self.unmark_lost(room_slot, &view);
            let room_id = self.state.room_id(room_slot);
            emit.state(session, room_id, RoomState::Connected, RoomEvent::Success);
            emit_delta(session, room_id, delta, emit);
        }
    }

    /// What changed in the room since `view` was taken, as `me` should be told it.
    fn delta_since(&self, room_slot: u32, me: UserId, view: &LostView) -> Delta {
        let mut delta = Delta {
            joined: Members::new(),
            left: Members::new(),
            attributes_set: BTreeMap::new(),
            attributes_deleted: Vec::new(),
            member_attributes: Vec::new(),
        };
        let room = self.state.room(room_slot);
        // Present at the loss and gone since, in departure order (once each), and whether
        // they took member attributes along.
        let mut were_there = BTreeSet::new();
        let mut gone = Vec::new();
        let mut lost_attributes = BTreeSet::new();
        let departures = room.reconnect().departures.range(view.departure_mark..);
        for &(join_seq, user, had_attributes) in departures.map(|(_, d)| d) {
            if join_seq >= view.join_mark || user == me {
                continue;
            }
            if were_there.insert(user) {
                gone.push(user);
            }
            if had_attributes {
                lost_attributes.insert(user);
            }
        }
        let mut back = BTreeSet::new();
        for m in room.members().range_from(view.join_mark) {
            let user = self.state.session(m.session).user;
            if user == me {
                continue;
            }
            if were_there.contains(&user) {
                back.insert(user);
            } else {
                delta.joined.push(Member { user_id: user });
            }
        }
        delta.left = gone
            .into_iter()
            .filter(|u| !back.contains(u))
            .map(|user_id| Member { user_id })
            .collect();
        if room.cold().attr_version > view.attr_version {
            delta.attributes_set = room
                .cold()
                .attributes
                .iter()
                .filter(|(_, a)| a.version > view.attr_version)
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect();
            delta.attributes_deleted = view
                .attr_keys
                .iter()
                .filter(|k| !room.cold().attributes.contains_key(*k))
                .cloned()
                .collect();
        }
        let mut changed: BTreeMap<UserId, BTreeMap<String, String>> = BTreeMap::new();
        if room.cold().member_attr_version > view.member_attr_version {
            for (user, a) in &room.cold().member_attributes {
                if a.version > view.member_attr_version {
                    changed.insert(*user, a.values.clone());
                }
            }
        }
        // Back after leaving with attributes: they were cleared, whatever came since.
        for user in back.intersection(&lost_attributes) {
            let values = room
                .cold()
                .member_attributes
                .get(user)
                .map(|a| a.values.clone())
                .unwrap_or_default();
            changed.insert(*user, values);
        }
        delta.member_attributes = changed
            .into_iter()
            .map(|(user_id, attributes)| MemberAttributesInfo {
                user_id,
                attributes,
            })
            .collect();
        delta
    }

    /// The grace ran out: the session leaves every room it was reconnecting to (it sees
    /// `disconnected`/`connect_timeout`, the others `members_left`/`timeout`). It stays logged
    /// in, and keeps the rooms it joined while its link was lost.
    pub(crate) fn grace_expired(&mut self, slot: u32, incarnation: u64, emit: &mut Emit<'_>) {
        self.grace_fired(slot, incarnation);
        for (room_slot, reconnecting) in self.rooms_of(slot) {
            if reconnecting {
                self.leave_now(
                    slot,
                    room_slot,
                    RoomEvent::ConnectTimeout,
                    ExitReason::Timeout,
                    emit,
                );
            }
        }
    }
}

/// A restored room's deltas, after its `connected`/`success`: members joined, members left
/// (reason `left` whatever the real one), room attributes, member attributes; each only if
/// something changed.
fn emit_delta(session: SessionId, room_id: crate::ids::RoomId, delta: Delta, emit: &mut Emit<'_>) {
    let to = To::Session(session);
    if !delta.joined.is_empty() {
        emit.push(Output::MembersJoined {
            to,
            room_id,
            members: delta.joined,
        });
    }
    if !delta.left.is_empty() {
        emit.push(Output::MembersLeft {
            to,
            room_id,
            members: delta.left,
            reason: LeaveReason::Left,
        });
    }
    if !delta.attributes_set.is_empty() || !delta.attributes_deleted.is_empty() {
        emit.push(Output::RoomAttributesUpdated {
            to,
            room_id,
            set: delta.attributes_set,
            deleted: delta.attributes_deleted,
        });
    }
    if !delta.member_attributes.is_empty() {
        emit.push(Output::RoomMemberAttributesUpdated {
            to,
            room_id,
            members: delta.member_attributes,
        });
    }
}
