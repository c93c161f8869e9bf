//! The per-step checks the harness runs, usable on their own by drivers that skip the
//! costlier ones (the fuzzer's light lockstep): what a step may tell whom, the state machine
//! table, message numbering, snapshot-restore replay. Each reads the engine only through
//! its public getters.

use roomcore::ids::{RoomId, SessionId};
use roomcore::input::Input;
use roomcore::output::{Outcome, Output, ReplyOk, RoomState, Stamped};
use roomcore::time::Millis;
use roomcore::Engine;
use std::collections::{BTreeMap, BTreeSet};

/// Each session's state in each room it is in (absent: disconnected), from the state before
/// or after a step: who may be told what.
pub type Memberships = BTreeMap<(SessionId, RoomId), RoomState>;

/// The memberships an engine holds, read through its public getters.
#[must_use]
pub fn memberships(e: &Engine) -> Memberships {
    let mut m = BTreeMap::new();
    for session in e.session_ids() {
        for (room, state) in e.session_rooms(session).unwrap_or_default() {
            m.insert((session, room), state);
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

/// Every output of a step is stamped with the step's time.
///
/// # Errors
/// The first output stamped otherwise.
pub fn check_stamps(out: &[Stamped], at: u64) -> Result<(), String> {
    match out.iter().find(|s| s.at.as_ms() != at) {
        Some(s) => Err(format!("output stamped {} in a step at {at}", s.at.as_ms())),
        None => Ok(()),
    }
}

/// Whether the input was refused: its reply (or admin reply) carries an error.
pub fn is_refused(input: &Input, outs: &[Output]) -> bool {
    outs.iter().any(|o| match o {
        Output::Reply {
            outcome, session, ..
        } => Some(*session) == input.session() && outcome.error_code().is_some(),
        Output::AdminReply { outcome, .. } => outcome.error_code().is_some(),
        _ => false,
    })
}

/// No output about a room reaches a session that is not in it (before or after the step),
/// except the caller's own flow events for a room its input names; member events (joins,
/// leaves, messages, attribute updates) reach only live members; a room-addressed delta has
/// a live member to reach.
///
/// # Errors
/// The first output that reaches someone it may not.
pub fn check_recipients(
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
        let member_event = o.kind().is_member_event();
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
///
/// # Errors
/// The first event that is not a row of the table, or a walk that ends elsewhere.
pub fn check_transitions<'a>(
    outs: impl IntoIterator<Item = &'a Output>,
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
        if !roomcore::transitions::allowed(from, *event, *state) {
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
pub fn message_room(input: &Input) -> Option<RoomId> {
    match input {
        Input::SendRoomMessage { room_id, .. } => Some(*room_id),
        _ => None,
    }
}

/// A message that was sent took the next sequence number and reached exactly the other
/// live members; a refused one reached nobody.
///
/// # Errors
/// A number out of sequence, or a message delivered to the wrong sessions.
pub fn check_message(
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
            outcome: Outcome::Ok(ReplyOk::MessageSent { seq }),
            ..
        } => Some(*seq),
        _ => None,
    });
    let delivered: Vec<(SessionId, u64)> = outs
        .iter()
        .filter_map(|o| match o {
            Output::RoomMessage { to, seq, .. } => Some((
                to.session()
                    .expect("a Vec sink holds one output per recipient"),
                *seq,
            )),
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

/// The engine restored from `before` (a [`snapshot`]) and given `input` at `at` gives the
/// same outputs and reaches the same state (`after`) as the original did.
///
/// # Errors
/// If the snapshot does not restore, or the replay differs.
pub fn check_restore(
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

/// Applies `input` at `at` to an engine driven without a harness, with the checks every
/// harness runs: the state invariants after the step, and its `room_state_changed` events
/// against the state machine table, walked from the state before it. The step's outputs are
/// appended to `out`.
///
/// # Errors
/// A broken invariant or an event that is not a row of the table.
pub fn light_step(
    engine: &mut Engine,
    at: Millis,
    input: &Input,
    out: &mut Vec<Stamped>,
) -> Result<(), String> {
    let before = memberships(engine);
    let mark = out.len();
    engine.handle_input(at, input, out);
    light_checks(engine, &before, &out[mark..]).map_err(|e| format!("{e} (input {input:?})"))
}

/// As [`light_step`], for time passing to `at` with no input.
///
/// # Errors
/// As [`light_step`].
pub fn light_timeout(
    engine: &mut Engine,
    at: Millis,
    out: &mut Vec<Stamped>,
) -> Result<(), String> {
    let before = memberships(engine);
    let mark = out.len();
    engine.handle_timeout(at, out);
    light_checks(engine, &before, &out[mark..]).map_err(|e| format!("{e} (time {})", at.as_ms()))
}

fn light_checks(engine: &Engine, before: &Memberships, step: &[Stamped]) -> Result<(), String> {
    roomcore::invariants::check(engine).map_err(|v| v.to_string())?;
    check_transitions(step.iter().map(|s| &s.output), before, &memberships(engine))
}
