//! The state invariants of DESIGN.md section 4, checkable at any time. Tests call
//! [`check`] after every step; a restored snapshot is checked before it is accepted.

use crate::engine::Engine;
use crate::timers::TimerKind;
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
    check_index(engine)
}

fn check_limits(e: &Engine) -> Result<(), InvariantViolation> {
    let c = &e.state.config;
    ensure!(e.state.rooms.len() <= c.max_rooms, "more rooms than max_rooms");
    ensure!(e.state.sessions.len() <= c.max_sessions, "more sessions than max_sessions");
    ensure!(
        e.state.tombstones.len() <= c.max_closed_sessions as usize,
        "more tombstones than max_closed_sessions"
    );
    ensure!(e.state.rooms.is_consistent(), "room slab free list is inconsistent");
    ensure!(e.state.sessions.is_consistent(), "session slab free list is inconsistent");
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
            let owner = room.and_then(|r| r.members.get(&m.join_seq)).copied();
            ensure!(
                owner == Some(slot),
                "session {} and room member list disagree",
                s.id
            );
            ensure!(
                !m.is_reconnecting() || s.is_link_lost(),
                "session {} reconnects to a room without a lost link",
                s.id
            );
        }
        if let Some(key) = s.grace_timer {
            let kind = e.state.timers.get(key);
            ensure!(
                kind == Some(TimerKind::ReconnectGrace { slot, incarnation: s.incarnation }),
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
            r.member_count() <= c.max_members_per_room,
            "room {} is over its member limit",
            r.id
        );
        let mut users = BTreeSet::new();
        for (&seq, &s) in &r.members {
            ensure!(seq < r.next_join_seq, "room {} has a future join seq", r.id);
            let session = e.state.sessions.get(s);
            ensure!(session.is_some(), "room {} has a missing member", r.id);
            if let Some(session) = session {
                ensure!(users.insert(session.user), "room {} has user {} twice", r.id, session.user);
                ensure!(
                    session.membership(slot).map(|m| m.join_seq) == Some(seq),
                    "room {} member {} has no matching membership",
                    r.id,
                    session.id
                );
            }
        }
        match r.destroy_timer {
            Some(key) => {
                ensure!(r.members.is_empty(), "room {} has members and a destroy timer", r.id);
                ensure!(
                    e.state.timers.get(key)
                        == Some(TimerKind::DestroyRoom { slot, incarnation: r.incarnation }),
                    "room {} destroy timer is missing or foreign",
                    r.id
                );
            }
            None => ensure!(!r.members.is_empty(), "empty room {} has no destroy timer", r.id),
        }
        ensure!(
            r.attributes.len() <= c.max_room_attributes as usize
                && r.attributes_bytes() <= c.attributes_total_max_bytes as usize,
            "room {} attributes over the limits",
            r.id
        );
        ensure!(
            !r.members.is_empty() || r.keep_attributes_while_empty || r.attributes.is_empty(),
            "empty room {} kept its attributes",
            r.id
        );
    }
    Ok(())
}

fn check_timers(e: &Engine) -> Result<(), InvariantViolation> {
    let owned = e.state.rooms.iter().filter(|(_, r)| r.destroy_timer.is_some()).count()
        + e.state.sessions.iter().filter(|(_, s)| s.grace_timer.is_some()).count();
    ensure!(
        owned == e.state.timers.len(),
        "{} timers pending but {} owned",
        e.state.timers.len(),
        owned
    );
    for (key, _) in e.state.timers.iter() {
        ensure!(key.seq < e.state.timers.next_seq(), "timer with a future seq");
    }
    Ok(())
}

fn check_index(e: &Engine) -> Result<(), InvariantViolation> {
    let ix = &e.index;
    ensure!(ix.rooms.len() == e.state.rooms.len() as usize, "room index size differs");
    for (slot, r) in e.state.rooms.iter() {
        ensure!(ix.rooms.get(&r.id) == Some(&slot), "room index misses {}", r.id);
    }
    ensure!(ix.sessions.len() == e.state.sessions.len() as usize, "session index size differs");
    let mut per_user: BTreeMap<_, Vec<u32>> = BTreeMap::new();
    for (slot, s) in e.state.sessions.iter() {
        ensure!(ix.sessions.get(&s.id) == Some(&slot), "session index misses {}", s.id);
        ensure!(!ix.closed.contains_key(&s.id), "live session {} is also closed", s.id);
        per_user.entry(s.user).or_default().push(slot);
    }
    ensure!(ix.users.len() == per_user.len(), "user index size differs");
    for (user, slots) in &per_user {
        ensure!(
            ix.users.get(user).map(|l| l.as_slice()) == Some(slots.as_slice()),
            "user index differs for {user}"
        );
    }
    ensure!(ix.closed.len() <= e.state.tombstones.len(), "closed index larger than tombstones");
    Ok(())
}
