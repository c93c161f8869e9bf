//! The cross-shard switch saga, as three replicated steps.
//!
//! 1. `begin` on the source shard checks the caller like the engine's own switch would (via a
//!    read-only `query_members` probe of the source room, so the error codes and their order
//!    are the engine's) and records the switch in the outbox. The caller sees nothing yet.
//! 2. `enter` on the target shard, idempotent by switch id: logs the session in there if it
//!    is not, then `enter_room` (`create_if_missing`) or `join_room`. The caller's flow events
//!    are re-labelled as a switch's: `connecting`/`active_switch`, then `connected`/`success`
//!    or `disconnected`/`switch_failed`. The enter's own reply is withheld.
//! 3. `finish` on the source shard, idempotent (the outbox entry is consumed): on success the
//!    session leaves the source room (`disconnected`/`success`, the others `members_left`),
//!    then the caller gets the switch's reply; on failure only the error reply.

use roomcore::{
    Engine, ErrorCode, Input, Millis, Outcome, Output, Outputs, ReplyOk, RoomEvent, SessionId,
    Stamped, UserId,
};

use crate::machine::{error_reply, push_reply, switch_ok, take_reply, OutboxEntry, RoomMachine};
use crate::proposal::{EnterResult, Response, SwitchId, SwitchPlan};

/// Step 1 (source shard).
pub(crate) fn begin(
    m: &mut RoomMachine,
    now: Millis,
    switch: SwitchId,
    plan: &SwitchPlan,
) -> Response {
    if let Some(refusal) = m.misplaced(vec![plan.from]) {
        return refusal;
    }
    if m.owns(&plan.to.id) {
        // Both rooms are here: the engine's own (atomic) switch.
        let input = Input::SwitchRoom {
            session: plan.session,
            request: plan.request,
            from: plan.from,
            to: plan.to.clone(),
            create_if_missing: plan.create_if_missing,
            config: plan.config.clone(),
        };
        let mut out = Outputs::new();
        m.engine.handle_input(now, &input, &mut out);
        return Response::Applied { outputs: out };
    }
    let probe = Input::QueryMembers {
        session: plan.session,
        request: plan.request,
        room_id: plan.from,
        next: String::new(),
        count: 1,
    };
    let mut out = Outputs::new();
    m.engine.handle_input(now, &probe, &mut out);
    let probe_outcome = take_reply(&mut out, plan.session, plan.request);
    if let Some(Outcome::Error(e)) = probe_outcome {
        refuse(&mut out, &m.engine, plan, e.code, &e.message);
        return Response::Applied { outputs: out };
    }
    if m.outbox.contains_key(&plan.session) {
        let msg = "a switch of this session is in progress";
        refuse(&mut out, &m.engine, plan, ErrorCode::RoomConnecting, msg);
        return Response::Applied { outputs: out };
    }
    let Some(user) = m.engine.session_user(plan.session) else {
        // The probe succeeded, so the session is logged in; answer like the engine would.
        let msg = "session not logged in";
        refuse(&mut out, &m.engine, plan, ErrorCode::NotLoggedIn, msg);
        return Response::Applied { outputs: out };
    };
    let entry = OutboxEntry {
        switch,
        plan: plan.clone(),
        user,
    };
    m.outbox.insert(plan.session, entry);
    Response::Applied { outputs: out }
}

/// Step 2 (target shard).
pub(crate) fn enter(
    m: &mut RoomMachine,
    now: Millis,
    switch: SwitchId,
    plan: &SwitchPlan,
    user: UserId,
) -> Response {
    if let Some(refusal) = m.misplaced(vec![plan.to.id]) {
        return refusal;
    }
    if let Some(result) = m.entered.get(&switch) {
        return Response::Entered {
            result: result.clone(),
            outputs: Outputs::new(),
        };
    }
    let mut out = Outputs::new();
    let result = match ensure_login(m, now, plan, user, &mut out) {
        Err(failed) => failed,
        Ok(()) => {
            let input = if plan.create_if_missing {
                Input::EnterRoom {
                    session: plan.session,
                    request: plan.request,
                    room: plan.to.clone(),
                    config: plan.config.clone(),
                }
            } else {
                Input::JoinRoom {
                    session: plan.session,
                    request: plan.request,
                    room_id: plan.to.id,
                }
            };
            m.engine.handle_input(now, &input, &mut out);
            relabel(out.iter_mut(), plan);
            outcome_result(take_reply(&mut out, plan.session, plan.request))
        }
    };
    m.entered.insert(switch, result.clone());
    Response::Entered {
        result,
        outputs: out,
    }
}

/// Step 3 (source shard).
pub(crate) fn finish(
    m: &mut RoomMachine,
    now: Millis,
    switch: SwitchId,
    session: SessionId,
    result: &EnterResult,
) -> Response {
    let pending = m.outbox.get(&session).is_some_and(|e| e.switch == switch);
    if !pending {
        return Response::Duplicate { reply: None };
    }
    let Some(entry) = m.outbox.remove(&session) else {
        return Response::Duplicate { reply: None };
    };
    let plan = entry.plan;
    let mut out = Outputs::new();
    match result {
        EnterResult::Entered(joined) => {
            let leave = Input::LeaveRoom {
                session: plan.session,
                request: plan.request,
                room_id: plan.from,
            };
            // If the caller already left the source meanwhile, the leave is refused and
            // changes nothing; the switch still succeeded.
            m.engine.handle_input(now, &leave, &mut out);
            take_reply(&mut out, plan.session, plan.request);
            push_reply(&mut out, switch_ok(m.engine.now(), &plan, joined));
        }
        EnterResult::Failed(e) => {
            m.engine.handle_timeout(now, &mut out);
            refuse(&mut out, &m.engine, &plan, e.code, &e.message);
        }
    }
    Response::Applied { outputs: out }
}

/// Answers the caller's switch request with an error, stamped at the engine's time.
fn refuse(out: &mut Outputs, engine: &Engine, plan: &SwitchPlan, code: ErrorCode, message: &str) {
    let reply = error_reply(engine.now(), plan.session, plan.request, code, message);
    push_reply(out, reply);
}

/// Logs the session in on this shard if it is not; a refusal fails the switch.
fn ensure_login(
    m: &mut RoomMachine,
    now: Millis,
    plan: &SwitchPlan,
    user: UserId,
    out: &mut Outputs,
) -> Result<(), EnterResult> {
    match m.engine.session_user(plan.session) {
        Some(u) if u == user => Ok(()),
        Some(_) => Err(EnterResult::Failed(roomcore::ErrorBody {
            code: ErrorCode::AlreadyLoggedIn,
            message: "the session id is used by another user on the target shard".into(),
        })),
        None => {
            let login = Input::Login {
                session: plan.session,
                request: plan.request,
                user,
            };
            m.engine.handle_input(now, &login, out);
            match outcome_result(take_reply(out, plan.session, plan.request)) {
                EnterResult::Entered(_) => Ok(()),
                failed => Err(failed),
            }
        }
    }
}

fn outcome_result(outcome: Option<Outcome>) -> EnterResult {
    match outcome {
        Some(Outcome::Error(e)) => EnterResult::Failed(e),
        Some(Outcome::Ok(ok)) => EnterResult::Entered(Box::new(ok)),
        // The engine answers every command it applies.
        None => EnterResult::Entered(Box::new(ReplyOk::Empty {})),
    }
}

/// The caller's enter flow events become a switch's. Only the caller's own state changes
/// are rewritten (each names one session), so a member event for a run stays as produced.
fn relabel<'a>(out: impl IntoIterator<Item = &'a mut Stamped>, plan: &SwitchPlan) {
    for s in out {
        if let Output::RoomStateChanged {
            session,
            room_id,
            event,
            ..
        } = &mut s.output
        {
            if *session == plan.session && *room_id == plan.to.id {
                *event = match *event {
                    RoomEvent::ActiveEnter | RoomEvent::ActiveCreate => RoomEvent::ActiveSwitch,
                    RoomEvent::EnterFailed | RoomEvent::CreateFailed => RoomEvent::SwitchFailed,
                    other => other,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Limits;
    use roomcore::{Config, RoomId, RoomInfo};

    fn feed(m: &mut RoomMachine, input: &Input) {
        m.engine.handle_input(Millis(1), input, &mut Outputs::new());
    }

    /// The enter of a switch on the compact form shows the events the per-recipient form
    /// showed: the same, in the same order, to the same sessions, relabelled the same way.
    #[test]
    fn a_relabelled_enter_shows_the_same_events_as_per_recipient_outputs() {
        let mut m = RoomMachine::new(Config::default(), Limits::default())
            .expect("the default config is valid");
        let zoo = RoomInfo {
            id: RoomId::new("zoo"),
            name: roomcore::RoomName::EMPTY,
        };
        for (session, user) in [("s2", "bob"), ("s3", "carol")] {
            let session = SessionId::new(session);
            let user = UserId::new(user);
            feed(
                &mut m,
                &Input::Login {
                    session,
                    request: 1,
                    user,
                },
            );
            let room = zoo.clone();
            let config = None;
            feed(
                &mut m,
                &Input::EnterRoom {
                    session,
                    request: 2,
                    room,
                    config,
                },
            );
        }
        let plan = SwitchPlan {
            session: SessionId::new("s1"),
            request: 7,
            from: RoomId::new("apple"),
            to: zoo.clone(),
            create_if_missing: false,
            config: None,
        };
        let alice = UserId::new("alice");
        // The same steps on a copy of the engine, one output per recipient.
        let mut reference = m.engine.clone();
        let mut expected: Vec<Stamped> = Vec::new();
        let (session, request) = (plan.session, plan.request);
        let login = Input::Login {
            session,
            request,
            user: alice,
        };
        reference.handle_input(Millis(2), &login, &mut expected);
        let join = Input::JoinRoom {
            session,
            request,
            room_id: zoo.id,
        };
        reference.handle_input(Millis(2), &join, &mut expected);
        relabel(expected.iter_mut(), &plan);
        expected.retain(|s| !matches!(s.output, Output::Reply { .. }));

        let switch = SwitchId { client: 1, seq: 1 };
        let Response::Entered { result, outputs } = enter(&mut m, Millis(2), switch, &plan, alice)
        else {
            panic!("step 2 answers Entered");
        };
        assert!(matches!(result, EnterResult::Entered(_)), "{result:?}");
        assert_eq!(outputs.expanded().collect::<Vec<_>>(), expected);
        assert!(
            outputs.len() < outputs.expanded_len(),
            "the join names a run"
        );
        let relabelled = |s: &Stamped| {
            matches!(
                s.output,
                Output::RoomStateChanged {
                    event: RoomEvent::ActiveSwitch,
                    ..
                }
            )
        };
        assert!(expected.iter().any(relabelled));
    }
}
