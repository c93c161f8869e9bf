//! Output helpers: every output the model produces goes through [`Model::emit`], stamped
//! with the time of the step.

use super::state::Model;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::RequestId;
use roomcore::output::{Member, Members, Outcome, Output, ReplyOk, RoomEvent, RoomState, Stamped};
use roomcore::time::Millis;

pub(super) fn members_of(users: &[UserId]) -> Members {
    users.iter().map(|u| Member { user_id: *u }).collect()
}

impl Model {
    pub(super) fn emit(&mut self, output: Output) {
        self.out.push(Stamped {
            at: Millis(self.stamp),
            output,
        });
    }

    pub(super) fn reply(
        &mut self,
        session: SessionId,
        request: RequestId,
        r: Result<ReplyOk, Error>,
    ) {
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

    pub(super) fn admin_reply(&mut self, request: RequestId, r: Result<ReplyOk, Error>) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.emit(Output::AdminReply { request, outcome });
    }

    pub(super) fn state(
        &mut self,
        session: SessionId,
        room: RoomId,
        state: RoomState,
        event: RoomEvent,
    ) {
        self.emit(Output::RoomStateChanged {
            session,
            room_id: room,
            state,
            event,
        });
    }
}
