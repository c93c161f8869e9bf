//! Room messages: sent by a live member to the other live members, numbered per room, under
//! a per-session rate limit.

use super::state::Model;
use super::validate;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId};
use roomcore::output::{Output, ReplyOk};

impl Model {
    pub(super) fn send_message(
        &mut self,
        session: SessionId,
        room: RoomId,
        payload: &str,
    ) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.must_be_member(session, room)?;
        // The payload size is the caller's limit: it answers after its relation to the room.
        let max = self.cfg.message_max_bytes;
        if payload.len() > max as usize {
            return Err(Error::PayloadTooLarge {
                len: payload.len(),
                max,
            });
        }
        self.take_token(session)?;
        let Some(r) = self.rooms.get_mut(&room) else {
            return Err(Error::RoomNotExist);
        };
        r.msg_seq += 1;
        let seq = r.msg_seq;
        for other in self.live_members(room, Some(session)) {
            self.emit(Output::RoomMessage {
                to: other.into(),
                room_id: room,
                from: user,
                seq,
                payload: payload.to_owned(),
            });
        }
        Ok(ReplyOk::MessageSent { seq })
    }

    /// The message rate limit: a bucket of `message_burst` messages refilled at
    /// `message_rate_per_s`; a rate of 0 turns it off.
    fn take_token(&mut self, session: SessionId) -> Result<(), Error> {
        let rate = u64::from(self.cfg.message_rate_per_s);
        if rate == 0 {
            return Ok(());
        }
        let cap = u64::from(self.cfg.message_burst) * 1000;
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let elapsed = now.saturating_sub(s.refilled_at);
        let tokens = cap.min(s.tokens_milli.saturating_add(elapsed.saturating_mul(rate)));
        if tokens < 1000 {
            // Refused: nothing changes (refilling later gives the same bucket).
            return Err(Error::RateLimited);
        }
        s.tokens_milli = tokens - 1000;
        s.refilled_at = now;
        Ok(())
    }
}
