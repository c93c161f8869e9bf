//! A reference model of the room rules (feature `testing`): a deliberately naive
//! re-implementation written from DESIGN.md, sharing no code with the engine's data
//! structures. Only the public `Input`, `Output` and `Config` types are common.
//!
//! Everything is a `BTreeMap` or a `Vec` scanned linearly; nothing is indexed, nothing is
//! cached, timers are a plain list searched for the earliest. The point is that each rule
//! reads like the sentence of DESIGN.md it comes from, so when the engine and the model
//! disagree the model is the easier one to believe (or to correct, when DESIGN.md is silent
//! and the engine's choice is kept; those places say so).
//!
//! Driving it: [`Model::handle_input`] and [`Model::handle_timeout`] behave like the
//! engine's methods of the same names. [`lockstep`] drives both side by side; [`cmd`] is a
//! small-domain command alphabet the property tests, the explorer and the fuzzer share.

mod admin;
mod batch;
pub mod cmd;
mod extras;
mod link;
pub mod lockstep;
mod member_attrs;
mod paging;
mod rooms;
mod sessions;
mod state;
mod valid;

pub use member_attrs::MemberAttributeSets;
pub use state::Canonical;

use crate::config::Config;
use crate::error::Error;
use crate::ids::{RoomId, SessionId, UserId};
use crate::input::{Input, RequestId};
use crate::output::{Outcome, Output, ReplyOk, RoomState, Stamped};
use crate::time::Millis;
use state::{MRoom, MSession, Timer, TimerWhat};
use std::collections::BTreeMap;

/// The reference model. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    cfg: Config,
    now: u64,
    /// Live (logged-in) sessions.
    sessions: BTreeMap<SessionId, MSession>,
    /// Closed session ids with the time they are forgotten, oldest first, one entry per id.
    closed: Vec<(SessionId, u64)>,
    rooms: BTreeMap<RoomId, MRoom>,
    /// Pending timers, in no particular order; the earliest `(deadline, seq)` fires first.
    timers: Vec<Timer>,
    /// Arming counter: timers due at the same moment fire in the order they were armed.
    next_timer_seq: u64,
    /// Counter naming each room that comes into existence (for paging cursors) and each login
    /// (for "older session" order).
    next_generation: u64,
    /// Outputs of the step in progress.
    out: Vec<Stamped>,
    /// Time stamp of the outputs being produced.
    stamp: u64,
}

impl Model {
    /// A fresh model at time zero. `None` if the config is invalid (the engine refuses it too).
    #[must_use]
    pub fn new(cfg: Config) -> Option<Model> {
        if cfg.validate().is_err() {
            return None;
        }
        Some(Model {
            cfg,
            now: 0,
            sessions: BTreeMap::new(),
            closed: Vec::new(),
            rooms: BTreeMap::new(),
            timers: Vec::new(),
            next_timer_seq: 0,
            next_generation: 1,
            out: Vec::new(),
            stamp: 0,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The latest time seen.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The earliest pending deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.iter().map(|t| t.deadline).min()
    }

    /// Pending timers.
    #[must_use]
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Rooms that exist.
    #[must_use]
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Logged-in sessions.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `room` exists.
    #[must_use]
    pub fn room_exists(&self, room: RoomId) -> bool {
        self.rooms.contains_key(&room)
    }

    /// The sessions in a room, in join order.
    #[must_use]
    pub fn room_sessions(&self, room: RoomId) -> Option<Vec<SessionId>> {
        self.rooms
            .get(&room)
            .map(|r| r.members.iter().map(|m| m.session).collect())
    }

    /// The users in a room, in join order.
    #[must_use]
    pub fn room_members(&self, room: RoomId) -> Option<Vec<UserId>> {
        let r = self.rooms.get(&room)?;
        Some(
            r.members
                .iter()
                .filter_map(|m| self.user_of(m.session))
                .collect(),
        )
    }

    /// The rooms of a live session with its state in each, in join order.
    #[must_use]
    pub fn session_rooms(&self, session: SessionId) -> Option<Vec<(RoomId, RoomState)>> {
        let s = self.sessions.get(&session)?;
        Some(
            s.rooms
                .iter()
                .map(|r| {
                    let st = if s.lost_views.contains_key(r) {
                        RoomState::Connecting
                    } else {
                        RoomState::Connected
                    };
                    (*r, st)
                })
                .collect(),
        )
    }

    /// The user a live session belongs to.
    #[must_use]
    pub fn session_user(&self, session: SessionId) -> Option<UserId> {
        self.user_of(session)
    }

    /// Whether the session's link is lost (its grace timer runs).
    #[must_use]
    pub fn is_link_lost(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.grace_timer.is_some())
    }

    /// A room's attributes, sorted by key.
    #[must_use]
    pub fn room_attributes(&self, room: RoomId) -> Option<Vec<(String, String)>> {
        let r = self.rooms.get(&room)?;
        Some(
            r.attrs
                .iter()
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect(),
        )
    }

    /// Whether a closed session id is still remembered.
    #[must_use]
    pub fn is_closed(&self, session: SessionId) -> bool {
        self.closed.iter().any(|(s, _)| *s == session)
    }

    fn user_of(&self, session: SessionId) -> Option<UserId> {
        self.sessions.get(&session).map(|s| s.user)
    }

    // ---- driving ---------------------------------------------------------------------------

    /// Moves time to `now` (never backwards) firing due timers, each stamped with its deadline.
    pub fn handle_timeout(&mut self, now: Millis, out: &mut Vec<Stamped>) {
        let now = now.as_ms().max(self.now);
        while let Some(i) = self.earliest_due(now) {
            let t = self.timers.remove(i);
            self.now = self.now.max(t.deadline);
            self.stamp = self.now;
            self.forget_closed();
            self.fire(t.what);
        }
        self.now = now;
        self.forget_closed();
        out.append(&mut self.out);
    }

    /// Fires due timers, then applies `input` at `now`.
    pub fn handle_input(&mut self, now: Millis, input: &Input, out: &mut Vec<Stamped>) {
        self.handle_timeout(now, out);
        self.stamp = self.now;
        self.apply(input);
        out.append(&mut self.out);
    }

    fn earliest_due(&self, now: u64) -> Option<usize> {
        let mut best: Option<(usize, (u64, u64))> = None;
        for (i, t) in self.timers.iter().enumerate() {
            let key = (t.deadline, t.seq);
            if t.deadline <= now && best.is_none_or(|(_, b)| key < b) {
                best = Some((i, key));
            }
        }
        best.map(|(i, _)| i)
    }

    fn fire(&mut self, what: TimerWhat) {
        match what {
            TimerWhat::Destroy(room) => self.destroy_due(room),
            TimerWhat::Grace(session) => self.grace_due(session),
            TimerWhat::Batch(room) => self.window_due(room),
        }
    }

    fn apply(&mut self, input: &Input) {
        match input {
            Input::Login {
                session,
                request,
                user,
            } => {
                let r = self.login(*session, *user);
                self.reply(*session, *request, r);
            }
            Input::Logout { session, request } => self.logout(*session, *request),
            Input::LinkLost { session } => self.link_lost(*session),
            Input::LinkRestored { session } => self.link_restored(*session),
            Input::CreateRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.create(*session, room, config.as_ref());
                self.reply(*session, *request, r);
            }
            Input::JoinRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.join(*session, *room_id);
                self.reply(*session, *request, r);
            }
            Input::EnterRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.enter(*session, room, config.as_ref());
                self.reply(*session, *request, r);
            }
            Input::SwitchRoom {
                session,
                request,
                from,
                to,
                create_if_missing,
                config,
            } => {
                let r = self.switch(*session, *from, to, *create_if_missing, config.as_ref());
                self.reply(*session, *request, r);
            }
            Input::LeaveRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.leave(*session, *room_id);
                self.reply(*session, *request, r);
            }
            Input::LeaveAllRooms { session, request } => {
                let r = self.leave_all(*session);
                self.reply(*session, *request, r);
            }
            Input::QueryMembers {
                session,
                request,
                room_id,
                next,
                count,
            } => {
                let r = self.query(*session, *room_id, next, *count);
                self.reply(*session, *request, r);
            }
            Input::SetRoomAttributes {
                session,
                request,
                room_id,
                attributes,
                is_force,
                is_update_owner,
                is_delete_after_owner_left,
            } => {
                let flags = extras::SetFlags {
                    force: *is_force,
                    update_owner: *is_update_owner,
                    delete_after_owner_left: *is_delete_after_owner_left,
                };
                let r = self.set_attributes(*session, *room_id, attributes, flags);
                self.reply(*session, *request, r);
            }
            Input::DeleteRoomAttributes {
                session,
                request,
                room_id,
                keys,
                is_force,
            } => {
                let r = self.delete_attributes(*session, *room_id, keys, *is_force);
                self.reply(*session, *request, r);
            }
            Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload,
            } => {
                let r = self.send_message(*session, *room_id, payload);
                self.reply(*session, *request, r);
            }
            Input::SetRoomMembersAttributes {
                session,
                request,
                room_id,
                attributes,
                user_ids,
            } => {
                let r = self.set_member_attrs(*session, *room_id, attributes, user_ids.as_deref());
                self.reply(*session, *request, r);
            }
            Input::DeleteRoomMembersAttributes {
                session,
                request,
                room_id,
                keys,
                user_ids,
            } => {
                let r = self.delete_member_attrs(*session, *room_id, keys, user_ids.as_deref());
                self.reply(*session, *request, r);
            }
            Input::QueryRoomMembersAttributes {
                session,
                request,
                room_id,
                user_ids,
            } => {
                let r = self.query_member_attrs(*session, *room_id, user_ids.as_deref());
                self.reply(*session, *request, r);
            }
            Input::RemoveUsers {
                request,
                room_id,
                users,
            } => {
                let r = self.kick(*room_id, users);
                self.admin_reply(*request, r);
            }
            Input::DismissRoom { request, room_id } => {
                let r = self.dismiss(*room_id);
                self.admin_reply(*request, r);
            }
            Input::Tick => {}
            // Inputs added after this model was written are not modelled: the generators do
            // not produce them.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    // ---- output helpers ------------------------------------------------------------------

    fn emit(&mut self, output: Output) {
        self.out.push(Stamped {
            at: Millis(self.stamp),
            output,
        });
    }

    fn reply(&mut self, session: SessionId, request: RequestId, r: Result<ReplyOk, Error>) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.emit(Output::Reply {
            session,
            request,
            outcome,
        });
    }

    fn admin_reply(&mut self, request: RequestId, r: Result<ReplyOk, Error>) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.emit(Output::AdminReply { request, outcome });
    }

    fn arm(&mut self, delay_ms: u64, what: TimerWhat) -> u64 {
        let seq = self.next_timer_seq;
        self.next_timer_seq += 1;
        self.timers.push(Timer {
            deadline: self.now.saturating_add(delay_ms),
            seq,
            what,
        });
        seq
    }

    fn cancel(&mut self, seq: u64) {
        self.timers.retain(|t| t.seq != seq);
    }

    fn generation(&mut self) -> u64 {
        let g = self.next_generation;
        self.next_generation += 1;
        g
    }
}
