//! Where a step's outputs go.

use crate::error::Error;
use crate::ids::{RoomId, SessionId};
use crate::input::RequestId;
use crate::output::{Buffer, Outcome, Output, ReplyOk, RoomState, SessionHandle, Stamped, To};
use crate::time::Millis;

/// Where a step's outputs go, stamped with the step's time.
pub(crate) struct Emit<'a> {
    pub(crate) at: Millis,
    pub(crate) buf: Buffer<'a>,
}

impl Emit<'_> {
    pub(crate) fn push(&mut self, output: Output) {
        let stamped = Stamped {
            at: self.at,
            output,
        };
        match &mut self.buf {
            Buffer::Compact(out) => out.push(stamped),
            Buffer::PerRecipient(out) => out.push(stamped),
        }
    }

    /// One member event for the sessions in `slots`: built once by `make` and kept once in
    /// an [`Outputs`](crate::output::Outputs) sink, its recipients as ids from `id_of`, or
    /// as handles in a buffer of handles (then `id_of` is read only for a lone recipient);
    /// for a `Vec`, built for the first recipient and copied, readdressed, for each other.
    pub(crate) fn fan_out(
        &mut self,
        slots: impl Iterator<Item = u32>,
        id_of: impl Fn(u32) -> SessionId,
        make: impl FnOnce(To) -> Output,
    ) {
        let at = self.at;
        match &mut self.buf {
            Buffer::Compact(out) => out.fan_out(at, slots, id_of, make),
            Buffer::PerRecipient(out) => {
                let mut recipients = slots.map(id_of);
                let Some(first) = recipients.next() else {
                    return;
                };
                let built = out.len();
                out.push(Stamped {
                    at,
                    output: make(To::Session(first)),
                });
                for session in recipients {
                    let output = out[built].output.addressed(To::Session(session));
                    out.push(Stamped { at, output });
                }
            }
        }
    }

    /// The session in `slot` closes, its slot free for reuse within the step: handles this
    /// step named it by are rewritten to `closed` (see `Outputs::session_closing`).
    pub(crate) fn session_closing(&mut self, slot: u32, closed: SessionHandle) {
        if let Buffer::Compact(out) = &mut self.buf {
            out.session_closing(slot, closed);
        }
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
