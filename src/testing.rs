//! Test support (feature `testing`): a harness that drives an [`Engine`] and checks, after
//! every step, the invariants of DESIGN.md section 4 that need more than one state to see:
//!
//! - the state invariants ([`crate::engine::invariants::check`]);
//! - a refused command changed nothing, and its outputs went only to the caller;
//! - no output about a room reaches a session that is not in it (before or after the step),
//!   except the caller's own flow events for the room it named; member events (joins,
//!   leaves, messages, attribute updates) reach only live members;
//! - the snapshot taken before the step, restored, gives byte-identical outputs and state;
//! - a sent room message takes the room's next sequence number (gap-free from 1), and goes
//!   to exactly the other live members, with the number its sender's reply carries.
//!
//! It also records the transcript (every input and every output, per step) for snapshots.

use crate::config::{Config, RoomConfig};
use crate::engine::Engine;
use crate::ids::{RoomId, SessionId, UserId};
use crate::input::{Input, RoomInfo};
use crate::output::{Output, RoomState, Stamped};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One step of a transcript: a timer group (`in` absent) or an input, and what it output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When it happened (a timer group: its deadline).
    pub at: u64,
    /// The input; absent for timers.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    /// Its outputs, in emission order.
    pub out: Vec<Output>,
}

/// Drives an engine with checks after every step. Its methods return `Err` with a
/// description when a check fails.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The engine under test.
    pub engine: Engine,
    /// Every step so far.
    pub transcript: Vec<Step>,
    /// Check that a snapshot restored before each step replays it identically (costly on
    /// big states; on by default).
    pub check_restore: bool,
}

/// Who may be told what, from the state before or after a step.
type Memberships = BTreeMap<(SessionId, RoomId), RoomState>;

fn memberships(e: &Engine) -> Memberships {
    let mut m = BTreeMap::new();
    for s in e.session_ids() {
        for (r, st) in e.session_rooms(s).unwrap_or_default() {
            m.insert((s, r), st);
        }
    }
    m
}

/// The serialized state of an engine (what "state unchanged" compares).
///
/// # Errors
/// If serialization fails (it cannot for a valid engine).
pub fn snapshot(engine: &Engine) -> Result<String, String> {
    serde_json::to_string(engine).map_err(|e| format!("snapshot failed: {e}"))
}

impl Harness {
    /// A harness over a fresh engine.
    ///
    /// # Errors
    /// If the config is invalid.
    pub fn new(config: Config) -> Result<Harness, String> {
        let engine = Engine::new(config).map_err(|e| e.to_string())?;
        Ok(Harness {
            engine,
            transcript: Vec::new(),
            check_restore: true,
        })
    }

    /// Moves time to `at`, firing due timers one deadline group at a time (each recorded as
    /// its own step and checked).
    ///
    /// # Errors
    /// When a check fails.
    pub fn advance(&mut self, at: u64) -> Result<(), String> {
        while let Some(deadline) = self.engine.poll_timeout() {
            if deadline.as_ms() > at {
                break;
            }
            let before = memberships(&self.engine);
            let mut out = Vec::new();
            self.engine.handle_timeout(deadline, &mut out);
            let after = memberships(&self.engine);
            check_stamps(&out, deadline.as_ms())?;
            let outs: Vec<Output> = out.into_iter().map(|s| s.output).collect();
            check_recipients(&outs, &before, &after, None, &[])?;
            check_transitions(&outs, &before, &after)?;
            crate::engine::invariants::check(&self.engine).map_err(|v| v.to_string())?;
            self.transcript.push(Step {
                at: deadline.as_ms(),
                input: None,
                out: outs,
            });
        }
        let mut out = Vec::new();
        self.engine.handle_timeout(Millis(at), &mut out);
        if !out.is_empty() {
            return Err("handle_timeout fired after poll_timeout said nothing was due".into());
        }
        Ok(())
    }

    /// Advances to `at`, applies `input`, runs every check, records the step and returns its
    /// outputs.
    ///
    /// # Errors
    /// When a check fails.
    pub fn step(&mut self, at: u64, input: Input) -> Result<Vec<Output>, String> {
        self.advance(at)?;
        let before_state = snapshot(&self.engine)?;
        let before = memberships(&self.engine);
        let before_seq = message_room(&input).and_then(|r| self.engine.room_message_seq(r));
        let mut out = Vec::new();
        self.engine.handle_input(Millis(at), &input, &mut out);
        check_stamps(&out, self.engine.now().as_ms())?;
        let outs: Vec<Output> = out.iter().map(|s| s.output.clone()).collect();
        crate::engine::invariants::check(&self.engine)
            .map_err(|v| format!("{v} after {input:?}"))?;
        let after_state = snapshot(&self.engine)?;
        let after = memberships(&self.engine);
        let caller = input.session();
        if is_refused(&input, &outs) {
            if before_state != after_state {
                return Err(format!("refused {input:?} changed the state"));
            }
            if let Some(o) = outs.iter().find(|o| o.session() != caller) {
                return Err(format!("refused {input:?} told someone else: {o:?}"));
            }
        }
        check_recipients(&outs, &before, &after, caller, &named_rooms(&input))
            .map_err(|e| format!("{e} (input {input:?})"))?;
        check_transitions(&outs, &before, &after).map_err(|e| format!("{e} (input {input:?})"))?;
        check_message(&input, &outs, before_seq, &after)
            .map_err(|e| format!("{e} (input {input:?})"))?;
        if self.check_restore {
            check_restore(&before_state, at, &input, &out, &after_state)?;
        }
        self.transcript.push(Step {
            at: self.engine.now().as_ms(),
            input: Some(input),
            out: outs.clone(),
        });
        Ok(outs)
    }

    /// The transcript as YAML-friendly data.
    #[must_use]
    pub fn transcript(&self) -> &[Step] {
        &self.transcript
    }
}

fn check_stamps(out: &[Stamped], at: u64) -> Result<(), String> {
    match out.iter().find(|s| s.at.as_ms() != at) {
        Some(s) => Err(format!("output stamped {} in a step at {at}", s.at.as_ms())),
        None => Ok(()),
    }
}

/// Whether the input was refused: its reply (or admin reply) carries an error.
fn is_refused(input: &Input, outs: &[Output]) -> bool {
    outs.iter().any(|o| match o {
        Output::Reply {
            outcome, session, ..
        } => Some(*session) == input.session() && outcome.error_code().is_some(),
        Output::AdminReply { outcome, .. } => outcome.error_code().is_some(),
        _ => false,
    })
}

/// Rooms an input names (its flow events may go to the caller even if it never joins).
fn named_rooms(input: &Input) -> Vec<RoomId> {
    match input {
        Input::CreateRoom { room, .. } | Input::EnterRoom { room, .. } => vec![room.id],
        Input::JoinRoom { room_id, .. } => vec![*room_id],
        Input::SwitchRoom { from, to, .. } => vec![*from, to.id],
        _ => Vec::new(),
    }
}

fn check_recipients(
    outs: &[Output],
    before: &Memberships,
    after: &Memberships,
    caller: Option<SessionId>,
    named: &[RoomId],
) -> Result<(), String> {
    for o in outs {
        if let Output::RoomMembersChanged { room_id, .. } = o {
            // Addressed to the room: it must have had a live member to deliver it to (a
            // window closed early by a leave within the step may have lost its last one).
            let live = before
                .iter()
                .chain(after.iter())
                .any(|(&(_, r), st)| r == *room_id && *st == RoomState::Connected);
            if !live {
                return Err(format!(
                    "room delta for {room_id} without a live member: {o:?}"
                ));
            }
            continue;
        }
        let (Some(s), Some(r)) = (o.session(), o.room_id()) else {
            continue;
        };
        let member_event = matches!(
            o,
            Output::MembersJoined { .. }
                | Output::MembersLeft { .. }
                | Output::RoomMessage { .. }
                | Output::RoomAttributesUpdated { .. }
                | Output::RoomMemberAttributesUpdated { .. }
        );
        if member_event {
            if after.get(&(s, r)) != Some(&RoomState::Connected) {
                return Err(format!(
                    "member event to {s} who is not a live member of {r}: {o:?}"
                ));
            }
            continue;
        }
        let known = before.contains_key(&(s, r)) || after.contains_key(&(s, r));
        let own_flow = caller == Some(s) && named.contains(&r);
        if !known && !own_flow {
            return Err(format!(
                "output to {s} about {r}, which it is not in: {o:?}"
            ));
        }
    }
    Ok(())
}

/// Every `room_state_changed` of the step is a row of the state machine table, walked from
/// each session's state for the room before the step, and each walk ends in the state the
/// engine holds after it.
fn check_transitions(
    outs: &[Output],
    before: &Memberships,
    after: &Memberships,
) -> Result<(), String> {
    let state_of = |m: &Memberships, key| m.get(&key).copied().unwrap_or(RoomState::Disconnected);
    let mut walked: BTreeMap<(SessionId, RoomId), RoomState> = BTreeMap::new();
    for o in outs {
        let Output::RoomStateChanged {
            session,
            room_id,
            state,
            event,
        } = o
        else {
            continue;
        };
        let key = (*session, *room_id);
        let from = walked
            .get(&key)
            .copied()
            .unwrap_or_else(|| state_of(before, key));
        if !crate::transitions::allowed(from, *event, *state) {
            return Err(format!(
                "{from:?} --{event:?}--> {state:?} is not in the state machine table: {o:?}"
            ));
        }
        walked.insert(key, *state);
    }
    for (key, state) in walked {
        if state != state_of(after, key) {
            return Err(format!(
                "{key:?} ends the step {state:?} in its events but {:?} in the engine",
                state_of(after, key)
            ));
        }
    }
    Ok(())
}

/// The room a `send_room_message` names.
fn message_room(input: &Input) -> Option<RoomId> {
    match input {
        Input::SendRoomMessage { room_id, .. } => Some(*room_id),
        _ => None,
    }
}

/// A message that was sent took the next sequence number and reached exactly the other
/// live members; a refused one reached nobody.
fn check_message(
    input: &Input,
    outs: &[Output],
    before_seq: Option<u64>,
    after: &Memberships,
) -> Result<(), String> {
    let Input::SendRoomMessage {
        session, room_id, ..
    } = input
    else {
        return Ok(());
    };
    let sent = outs.iter().find_map(|o| match o {
        Output::Reply {
            outcome: crate::output::Outcome::Ok(crate::output::ReplyOk::MessageSent { seq }),
            ..
        } => Some(*seq),
        _ => None,
    });
    let delivered: Vec<(SessionId, u64)> = outs
        .iter()
        .filter_map(|o| match o {
            Output::RoomMessage { session, seq, .. } => Some((*session, *seq)),
            _ => None,
        })
        .collect();
    let Some(seq) = sent else {
        return match delivered.is_empty() {
            true => Ok(()),
            false => Err("a refused message was delivered".into()),
        };
    };
    if Some(seq) != before_seq.map(|s| s + 1) {
        return Err(format!("message seq {seq} does not follow {before_seq:?}"));
    }
    let expected: BTreeSet<SessionId> = after
        .iter()
        .filter(|((s, r), st)| r == room_id && s != session && **st == RoomState::Connected)
        .map(|((s, _), _)| *s)
        .collect();
    let got: BTreeSet<SessionId> = delivered.iter().map(|(s, _)| *s).collect();
    if got != expected || got.len() != delivered.len() || delivered.iter().any(|(_, q)| *q != seq) {
        return Err(format!(
            "message {seq} delivered to {delivered:?}, expected {expected:?}"
        ));
    }
    Ok(())
}

fn check_restore(
    before: &str,
    at: u64,
    input: &Input,
    expected: &[Stamped],
    after: &str,
) -> Result<(), String> {
    let mut restored: Engine =
        serde_json::from_str(before).map_err(|e| format!("restore failed: {e}"))?;
    let mut out = Vec::new();
    restored.handle_input(Millis(at), input, &mut out);
    if out != expected {
        return Err(format!("restored engine gave other outputs for {input:?}"));
    }
    if snapshot(&restored)? != after {
        return Err(format!(
            "restored engine reached another state after {input:?}"
        ));
    }
    Ok(())
}

/// A script builder: inputs with request numbers assigned in order, for concise tests.
#[derive(Debug, Default, Clone)]
pub struct Requests {
    next: u64,
}

fn room_info(id: &str, name: &str) -> RoomInfo {
    RoomInfo {
        id: RoomId::new(id),
        name: name.to_owned(),
    }
}

impl Requests {
    fn n(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// `login`.
    pub fn login(&mut self, session: &str, user: &str) -> Input {
        Input::Login {
            session: SessionId::new(session),
            request: self.n(),
            user: UserId::new(user),
        }
    }

    /// `logout`.
    pub fn logout(&mut self, session: &str) -> Input {
        Input::Logout {
            session: SessionId::new(session),
            request: self.n(),
        }
    }

    /// `create_room` with a name derived from the id and an optional config.
    pub fn create(&mut self, session: &str, room: &str, config: Option<RoomConfig>) -> Input {
        Input::CreateRoom {
            session: SessionId::new(session),
            request: self.n(),
            room: room_info(room, &format!("Room {room}")),
            config,
        }
    }

    /// `join_room`.
    pub fn join(&mut self, session: &str, room: &str) -> Input {
        Input::JoinRoom {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
        }
    }

    /// `enter_room`.
    pub fn enter(&mut self, session: &str, room: &str, config: Option<RoomConfig>) -> Input {
        Input::EnterRoom {
            session: SessionId::new(session),
            request: self.n(),
            room: room_info(room, &format!("Room {room}")),
            config,
        }
    }

    /// `switch_room`.
    pub fn switch(
        &mut self,
        session: &str,
        from: &str,
        to: &str,
        create_if_missing: bool,
        config: Option<RoomConfig>,
    ) -> Input {
        Input::SwitchRoom {
            session: SessionId::new(session),
            request: self.n(),
            from: RoomId::new(from),
            to: room_info(to, &format!("Room {to}")),
            create_if_missing,
            config,
        }
    }

    /// `leave_room`.
    pub fn leave(&mut self, session: &str, room: &str) -> Input {
        Input::LeaveRoom {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
        }
    }

    /// `leave_all_rooms`.
    pub fn leave_all(&mut self, session: &str) -> Input {
        Input::LeaveAllRooms {
            session: SessionId::new(session),
            request: self.n(),
        }
    }

    /// `query_members`.
    pub fn query(&mut self, session: &str, room: &str, next: &str, count: u32) -> Input {
        Input::QueryMembers {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            next: next.to_owned(),
            count,
        }
    }

    /// Admin `remove_users`.
    pub fn kick(&mut self, room: &str, users: &[&str]) -> Input {
        Input::RemoveUsers {
            request: self.n(),
            room_id: RoomId::new(room),
            users: users.iter().map(|u| UserId::new(u)).collect(),
        }
    }

    /// Admin `dismiss_room`.
    pub fn dismiss(&mut self, room: &str) -> Input {
        Input::DismissRoom {
            request: self.n(),
            room_id: RoomId::new(room),
        }
    }

    /// `send_room_message`.
    pub fn message(&mut self, session: &str, room: &str, payload: &str) -> Input {
        Input::SendRoomMessage {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            payload: payload.to_owned(),
        }
    }
}

impl Requests {
    /// `set_room_attributes` with the given flags.
    pub fn set_attrs(
        &mut self,
        session: &str,
        room: &str,
        attributes: &[(&str, &str)],
        is_force: bool,
        is_update_owner: bool,
        is_delete_after_owner_left: bool,
    ) -> Input {
        Input::SetRoomAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            attributes: pairs(attributes),
            is_force,
            is_update_owner,
            is_delete_after_owner_left,
        }
    }

    /// `delete_room_attributes`.
    pub fn delete_attrs(
        &mut self,
        session: &str,
        room: &str,
        keys: &[&str],
        is_force: bool,
    ) -> Input {
        Input::DeleteRoomAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            is_force,
        }
    }

    /// `set_room_members_attributes`; `users` `None` = the caller's own user.
    pub fn set_member_attrs(
        &mut self,
        session: &str,
        room: &str,
        attributes: &[(&str, &str)],
        users: Option<&[&str]>,
    ) -> Input {
        Input::SetRoomMembersAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            attributes: pairs(attributes),
            user_ids: users.map(user_ids),
        }
    }

    /// `delete_room_members_attributes`; `users` `None` = the caller's own user.
    pub fn delete_member_attrs(
        &mut self,
        session: &str,
        room: &str,
        keys: &[&str],
        users: Option<&[&str]>,
    ) -> Input {
        Input::DeleteRoomMembersAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            user_ids: users.map(user_ids),
        }
    }

    /// `query_room_members_attributes`; `users` `None` = the caller's own user.
    pub fn query_member_attrs(
        &mut self,
        session: &str,
        room: &str,
        users: Option<&[&str]>,
    ) -> Input {
        Input::QueryRoomMembersAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            user_ids: users.map(user_ids),
        }
    }
}

fn pairs(attributes: &[(&str, &str)]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn user_ids(users: &[&str]) -> Vec<UserId> {
    users.iter().map(|u| UserId::new(u)).collect()
}

/// `link_lost` (no request number).
#[must_use]
pub fn link_lost(session: &str) -> Input {
    Input::LinkLost {
        session: SessionId::new(session),
    }
}

/// `link_restored` (no request number).
#[must_use]
pub fn link_restored(session: &str) -> Input {
    Input::LinkRestored {
        session: SessionId::new(session),
    }
}

/// A room config with the given destroy delay in seconds.
#[must_use]
pub fn delay_s(destroy_delay_s: u64) -> Option<RoomConfig> {
    Some(RoomConfig {
        destroy_delay_s,
        ..RoomConfig::default()
    })
}

/// The sessions that received any output in `outs`, for quick assertions.
#[must_use]
pub fn recipients(outs: &[Output]) -> BTreeSet<SessionId> {
    outs.iter().filter_map(Output::session).collect()
}
