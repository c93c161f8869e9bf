//! The state invariants of docs/invariants.md, checkable at any time. Tests call
//! [`check`] after every step; a restored snapshot is checked before it is accepted.

use super::room::{BatchChange, Room};
use super::timers::TimerKind;
use super::Engine;
use std::collections::{BTreeMap, BTreeSet};

/// A broken invariant: a bug in the engine (or a corrupted snapshot).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant violated: {0}")]
pub struct InvariantViolation(pub String);

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(InvariantViolation(format!($($fmt)+)));
        }
    };
}

/// Checks every state invariant of the engine.
pub fn check(engine: &Engine) -> Result<(), InvariantViolation> {
    check_limits(engine)?;
    check_sessions(engine)?;
    check_rooms(engine)?;
    check_timers(engine)?;
    check_reconnect(engine)?;
    check_member_attributes(engine)?;
    check_bans(engine)?;
    check_index(engine)
}

fn check_limits(e: &Engine) -> Result<(), InvariantViolation> {
    let c = &e.state.config;
    ensure!(
        e.state.rooms.len() <= c.max_rooms,
        "more rooms than max_rooms"
    );
    ensure!(
        e.state.sessions.len() <= c.max_sessions,
        "more sessions than max_sessions"
    );
    ensure!(
        e.state.tombstones.len() <= c.max_closed_sessions as usize,
        "more tombstones than max_closed_sessions"
    );
    ensure!(
        e.state.rooms.is_consistent(),
        "room slab free list is inconsistent"
    );
    ensure!(
        e.state.sessions.is_consistent(),
        "session slab free list is inconsistent"
    );
    Ok(())
}

fn check_sessions(e: &Engine) -> Result<(), InvariantViolation> {
    let c = &e.state.config;
    for (slot, s) in e.state.sessions.iter() {
        ensure!(
            s.room_count() <= c.max_rooms_per_session,
            "session {} is in more than max_rooms_per_session rooms",
            s.id
        );
        let mut rooms = BTreeSet::new();
        for m in &s.memberships {
            ensure!(rooms.insert(m.room), "session {} is in a room twice", s.id);
            let room = e.state.rooms.get(m.room);
            ensure!(room.is_some(), "session {} is in a missing room", s.id);
            let entry = room.and_then(|r| r.members().get(m.join_seq));
            ensure!(
                entry.map(|e| e.session) == Some(slot),
                "session {} and room member list disagree",
                s.id
            );
            ensure!(
                entry.is_some_and(|e| e.lost == m.is_reconnecting()),
                "session {} and room member list disagree on a lost link",
                s.id
            );
            ensure!(
                !m.is_reconnecting() || s.is_link_lost(),
                "session {} reconnects to a room without a lost link",
                s.id
            );
        }
        ensure!(
            s.is_link_lost() == s.memberships.iter().any(|m| m.is_reconnecting()),
            "session {} has a grace timer iff it reconnects to a room: broken",
            s.id
        );
        if let Some(key) = s.grace_timer.get() {
            let kind = e.state.timers.get(key);
            ensure!(
                kind == Some(TimerKind::ReconnectGrace {
                    slot,
                    incarnation: s.incarnation
                }),
                "session {} grace timer is missing or foreign",
                s.id
            );
        }
    }
    Ok(())
}

fn check_rooms(e: &Engine) -> Result<(), InvariantViolation> {
    let c = &e.state.config;
    for (slot, r) in e.state.rooms.iter() {
        ensure!(
            r.member_count() <= r.max_members && r.max_members <= c.max_members_per_room,
            "room {} is over its member limit",
            e.state.room_id(slot)
        );
        ensure!(
            r.sid.0 >= 1 && r.sid.0 <= e.state.rooms_created,
            "room {} has a sid from the future",
            e.state.room_id(slot)
        );
        let mut users = BTreeSet::new();
        for (seq, s) in r.members().iter().map(|m| (m.join_seq, m.session)) {
            ensure!(
                seq < r.next_join_seq,
                "room {} has a future join seq",
                e.state.room_id(slot)
            );
            let session = e.state.sessions.get(s);
            ensure!(
                session.is_some(),
                "room {} has a missing member",
                e.state.room_id(slot)
            );
            if let Some(session) = session {
                ensure!(
                    users.insert(session.user),
                    "room {} has user {} twice",
                    e.state.room_id(slot),
                    session.user
                );
                ensure!(
                    session.membership(slot).map(|m| m.join_seq) == Some(seq),
                    "room {} member {} has no matching membership",
                    e.state.room_id(slot),
                    session.id
                );
            }
        }
        match r.destroy_timer() {
            Some(key) => {
                ensure!(
                    r.members().is_empty(),
                    "room {} has members and a destroy timer",
                    e.state.room_id(slot)
                );
                ensure!(
                    e.state.timers.get(key)
                        == Some(TimerKind::DestroyRoom {
                            slot,
                            incarnation: r.incarnation
                        }),
                    "room {} destroy timer is missing or foreign",
                    e.state.room_id(slot)
                );
            }
            None => ensure!(
                !r.members().is_empty(),
                "empty room {} has no destroy timer",
                e.state.room_id(slot)
            ),
        }
        ensure!(
            r.cold().attributes.len() <= c.max_room_attributes as usize
                && r.attributes_bytes() <= c.attributes_total_max_bytes as usize,
            "room {} attributes over the limits",
            e.state.room_id(slot)
        );
        ensure!(
            !r.members().is_empty()
                || r.cold().keep_attributes_while_empty
                || r.cold().attributes.values().all(|a| a.service),
            "empty room {} kept its attributes",
            e.state.room_id(slot)
        );
        ensure!(
            r.cold()
                .attributes
                .values()
                .all(|a| a.version <= r.cold().attr_version),
            "room {} has an attribute from a future version",
            e.state.room_id(slot)
        );
        check_member_batch(e, slot, r)?;
    }
    Ok(())
}

/// A large room's open window: owned by a live timer, taken in the past, only while the
/// room has members, and net (joiners are members now, leavers are not).
fn check_member_batch(e: &Engine, slot: u32, r: &Room) -> Result<(), InvariantViolation> {
    let Some(b) = &r.cold().member_batch else {
        return Ok(());
    };
    ensure!(
        !r.members().is_empty(),
        "empty room {} has a member batch",
        e.state.room_id(slot)
    );
    ensure!(
        e.state.timers.get(b.timer)
            == Some(TimerKind::MemberBatch {
                slot,
                incarnation: r.incarnation
            }),
        "room {} member batch timer is missing or foreign",
        e.state.room_id(slot)
    );
    ensure!(
        b.changes.len() <= e.state.config.max_members_per_room as usize,
        "room {} member batch over its bound",
        e.state.room_id(slot)
    );
    ensure!(
        b.mark.0 <= r.next_join_seq && b.mark.1 <= r.cold().reconnect.next_departure,
        "room {} member batch marked in the future",
        e.state.room_id(slot)
    );
    ensure!(
        b.changes.is_indexed(e.index.hasher()),
        "room {} member batch lists a user twice or its index is stale",
        e.state.room_id(slot)
    );
    for (user, change) in b.changes.iter() {
        let (joined, order) = match change {
            BatchChange::Joined { order } => (true, order),
            BatchChange::Left { order, .. } => (false, order),
        };
        ensure!(
            e.user_in_room(slot, user) == joined,
            "room {} member batch has a stale change for {}",
            e.state.room_id(slot),
            user
        );
        ensure!(
            order < b.next_order,
            "room {} member batch change from the future",
            e.state.room_id(slot)
        );
    }
    Ok(())
}

fn check_timers(e: &Engine) -> Result<(), InvariantViolation> {
    let owned = e
        .state
        .rooms
        .iter()
        .filter(|(_, r)| r.destroy_timer().is_some())
        .count()
        + e.state
            .rooms
            .iter()
            .filter(|(_, r)| r.cold().member_batch.is_some())
            .count()
        + e.state
            .sessions
            .iter()
            .filter(|(_, s)| s.grace_timer.is_some())
            .count()
        + e.state.bans.len() as usize;
    ensure!(
        owned == e.state.timers.len(),
        "{} timers pending but {} owned",
        e.state.timers.len(),
        owned
    );
    for (key, _) in e.state.timers.iter() {
        ensure!(
            key.seq < e.state.timers.next_seq(),
            "timer with a future seq"
        );
    }
    Ok(())
}

fn check_index(e: &Engine) -> Result<(), InvariantViolation> {
    let ix = &e.index;
    let [room_entries, session_entries, user_entries] = ix.table_lens();
    ensure!(
        room_entries == e.state.rooms.len() as usize
            && ix.by_sid.len() == e.state.rooms.len() as usize,
        "room index size differs"
    );
    for (slot, r) in e.state.rooms.iter() {
        ensure!(
            ix.by_sid.get(&r.sid) == Some(&slot),
            "creation-order index misses {}",
            e.state.room_id(slot)
        );
    }
    ensure!(
        e.state.next_event_id >= 1,
        "service event numbers start at 1"
    );
    for (slot, _) in e.state.rooms.iter() {
        ensure!(
            e.room_slot(e.state.room_id(slot)) == Some(slot),
            "room index misses {}",
            e.state.room_id(slot)
        );
    }
    ensure!(
        session_entries == e.state.sessions.len() as usize,
        "session index size differs"
    );
    let mut per_user: BTreeMap<_, Vec<u32>> = BTreeMap::new();
    for (slot, s) in e.state.sessions.iter() {
        ensure!(
            e.session_slot(s.id) == Some(slot),
            "session index misses {}",
            s.id
        );
        ensure!(!ix.is_closed(s.id), "live session {} is also closed", s.id);
        per_user.entry(s.user).or_default().push(slot);
    }
    ensure!(user_entries == per_user.len(), "user index size differs");
    for (user, slots) in &per_user {
        // At most one more than expected: a cycle in the list cannot hang the check.
        let listed: Vec<u32> = e.user_sessions(*user).take(slots.len() + 1).collect();
        ensure!(listed == *slots, "user index differs for {user}");
        for &slot in slots {
            ensure!(
                e.state.session(slot).alone() == (slots.len() == 1),
                "session {} of {user} says it is alone: {}, but the user has {} sessions",
                e.state.session(slot).id,
                e.state.session(slot).alone(),
                slots.len()
            );
        }
    }
    ensure!(
        ix.closed.len() <= e.state.tombstones.len(),
        "closed index larger than tombstones"
    );
    Ok(())
}

/// Reconnect bookkeeping: each room's marks are exactly those of its reconnecting members,
/// each within the room's counters; the departure log holds only what a reconnecting
/// member may still need, and nothing when none is reconnecting.
fn check_reconnect(e: &Engine) -> Result<(), InvariantViolation> {
    let mut marks: BTreeMap<u32, BTreeMap<(u64, u64), u32>> = BTreeMap::new();
    for (_, s) in e.state.sessions.iter() {
        for m in &s.memberships {
            let (Some(view), Some(r)) = (&m.lost, e.state.rooms.get(m.room)) else {
                continue;
            };
            ensure!(
                view.join_mark <= r.next_join_seq
                    && view.departure_mark <= r.cold().reconnect.next_departure
                    && view.attr_version <= r.cold().attr_version
                    && view.member_attr_version <= r.cold().member_attr_version,
                "session {} has a reconnect view of room {} from the future",
                s.id,
                e.state.room_id(m.room)
            );
            *marks
                .entry(m.room)
                .or_default()
                .entry(view.mark())
                .or_insert(0) += 1;
        }
    }
    for (slot, r) in e.state.rooms.iter() {
        if let Some(b) = &r.cold().member_batch {
            *marks.entry(slot).or_default().entry(b.mark).or_insert(0) += 1;
        }
    }
    for (slot, r) in e.state.rooms.iter() {
        let log = &r.cold().reconnect;
        ensure!(
            marks
                .get(&slot)
                .map_or(log.marks.is_empty(), |m| *m == log.marks),
            "room {} reconnect marks disagree with its reconnecting members",
            e.state.room_id(slot)
        );
        let oldest = log.marks.keys().next().map(|&(_, d)| d);
        let latest_join = log.marks.keys().next_back().map_or(0, |&(j, _)| j);
        ensure!(
            log.departures
                .keys()
                .all(|&d| oldest.is_some_and(|o| d >= o) && d < log.next_departure)
                && log.departures.values().all(|&(j, _, _)| j < latest_join),
            "room {} keeps departures no reconnecting member needs",
            e.state.room_id(slot)
        );
    }
    Ok(())
}

/// Bans: within `max_bans`, each with its own expiry timer at its deadline, indexed once,
/// and none of a user who is a member of a room with that id.
fn check_bans(e: &Engine) -> Result<(), InvariantViolation> {
    ensure!(
        e.state.bans.len() <= e.state.config.max_bans,
        "more bans than max_bans"
    );
    ensure!(
        e.state.bans.is_consistent(),
        "ban slab free list is inconsistent"
    );
    for (slot, b) in e.state.bans.iter() {
        ensure!(
            e.state.timers.get(b.timer)
                == Some(TimerKind::BanExpiry {
                    slot,
                    incarnation: b.incarnation
                })
                && b.timer.deadline == b.until,
            "ban of {} from {} has a missing or foreign timer",
            b.user,
            b.room_id
        );
        ensure!(
            e.index.ban(b.room_id, b.user) == Some(slot),
            "ban index misses {} from {}",
            b.user,
            b.room_id
        );
        if let Some(room) = e.room_slot(b.room_id) {
            ensure!(
                !e.user_in_room(room, b.user),
                "banned user {} is a member of {}",
                b.user,
                b.room_id
            );
        }
    }
    ensure!(
        e.index.bans.len() == e.state.bans.len() as usize,
        "ban index size differs"
    );
    Ok(())
}

/// Member attributes belong to members of the room and stay within the limits.
fn check_member_attributes(e: &Engine) -> Result<(), InvariantViolation> {
    let c = &e.state.config;
    for (slot, r) in e.state.rooms.iter() {
        for (user, a) in &r.cold().member_attributes {
            ensure!(
                e.user_in_room(slot, *user),
                "room {} keeps attributes of {}, who is not a member",
                e.state.room_id(slot),
                user
            );
            ensure!(
                a.version <= r.cold().member_attr_version,
                "room {} member {} attributes from a future version",
                e.state.room_id(slot),
                user
            );
            let pairs_ok = a.values.iter().all(|(k, v)| {
                !k.is_empty()
                    && k.len() <= c.member_attribute_key_max_bytes as usize
                    && v.len() <= c.member_attribute_value_max_bytes as usize
            });
            ensure!(
                pairs_ok
                    && a.values.len() <= c.max_member_attributes as usize
                    && a.bytes() <= c.member_attributes_total_max_bytes as usize,
                "room {} member {} attributes over the limits",
                e.state.room_id(slot),
                user
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checker sees broken reconnect and member attribute state (the integration tests
    //! only ever show it healthy states).
    use super::check;
    use crate::engine::state::room::MemberAttributes;
    use crate::ids::{RoomId, SessionId, UserId};
    use crate::input::{Input, RoomInfo, RoomName};
    use crate::time::Millis;
    use crate::{Config, Engine};

    /// alice (s1) and bob (s2) in r1; alice's link is lost.
    fn lost_alice() -> Engine {
        let mut e = Engine::new(Config::default()).expect("default config is valid");
        let mut out = Vec::new();
        let inputs = [
            Input::Login {
                session: SessionId::new("s1"),
                request: 1,
                user: UserId::new("alice"),
            },
            Input::Login {
                session: SessionId::new("s2"),
                request: 2,
                user: UserId::new("bob"),
            },
            Input::CreateRoom {
                session: SessionId::new("s1"),
                request: 3,
                room: RoomInfo {
                    id: RoomId::new("r1"),
                    name: RoomName::EMPTY,
                },
                config: None,
            },
            Input::JoinRoom {
                session: SessionId::new("s2"),
                request: 4,
                room_id: RoomId::new("r1"),
            },
            Input::LinkLost {
                session: SessionId::new("s1"),
            },
        ];
        for input in &inputs {
            e.handle_input(Millis(0), input, &mut out);
        }
        assert_eq!(check(&e), Ok(()));
        e
    }

    #[test]
    fn a_lost_link_without_its_grace_timer_is_caught() {
        let mut e = lost_alice();
        let slot = e.session_slot(SessionId::new("s1")).unwrap();
        let key = e
            .state
            .sessions
            .get_mut(slot)
            .and_then(|s| s.grace_timer.take());
        e.state.timers.cancel(key.expect("grace timer"));
        assert!(check(&e).is_err());
    }

    #[test]
    fn reconnect_marks_that_disagree_are_caught() {
        let mut e = lost_alice();
        let slot = e.room_slot(RoomId::new("r1")).unwrap();
        if let Some(r) = e.state.rooms.get_mut(slot) {
            r.cold_mut().reconnect.marks.clear();
        }
        assert!(check(&e).is_err());
    }

    #[test]
    fn stale_departures_are_caught() {
        let mut e = lost_alice();
        let slot = e.room_slot(RoomId::new("r1")).unwrap();
        if let Some(r) = e.state.rooms.get_mut(slot) {
            r.cold_mut()
                .reconnect
                .departures
                .insert(0, (99, UserId::new("zed"), false));
        }
        assert!(check(&e).is_err());
    }

    #[test]
    fn member_attributes_of_a_non_member_are_caught() {
        let mut e = lost_alice();
        let slot = e.room_slot(RoomId::new("r1")).unwrap();
        if let Some(r) = e.state.rooms.get_mut(slot) {
            r.cold_mut()
                .member_attributes
                .insert(UserId::new("zed"), MemberAttributes::default());
        }
        assert!(check(&e).is_err());
    }

    #[test]
    fn member_attributes_over_the_limits_are_caught() {
        let mut e = lost_alice();
        let slot = e.room_slot(RoomId::new("r1")).unwrap();
        if let Some(r) = e.state.rooms.get_mut(slot) {
            let mut a = MemberAttributes::default();
            a.values.insert("k".into(), "v".repeat(65));
            r.cold_mut().member_attributes.insert(UserId::new("bob"), a);
        }
        assert!(check(&e).is_err());
    }
}
