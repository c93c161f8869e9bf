//! Where a step's outputs go.

use crate::error::Error;
use crate::ids::{RoomId, SessionId};
use crate::input::RequestId;
use crate::output::{Outcome, Output, ReplyOk, RoomState, Stamped};
use crate::time::Millis;

/// Where a step's outputs go, stamped with the step's time.
pub(crate) struct Emit<'a> {
    pub(crate) at: Millis,
    pub(crate) buf: &'a mut Vec<Stamped>,
}

impl Emit<'_> {
    pub(crate) fn push(&mut self, output: Output) {
        self.buf.push(Stamped {
            at: self.at,
            output,
        });
    }

    pub(crate) fn state(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        state: RoomState,
        event: crate::output::RoomEvent,
    ) {
        self.push(Output::RoomStateChanged {
            session,
            room_id,
            state,
            event,
        });
    }

    pub(crate) fn reply(
        &mut self,
        session: SessionId,
        request: RequestId,
        r: Result<ReplyOk, Error>,
    ) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.push(Output::Reply {
            session,
            request,
            outcome,
        });
    }

    pub(crate) fn admin_reply(&mut self, request: RequestId, r: Result<ReplyOk, Error>) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.push(Output::AdminReply { request, outcome });
    }
}
