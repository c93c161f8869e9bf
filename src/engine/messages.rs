//! Room messages: a payload limit, a per-room gap-free sequence, delivery to every other
//! live member, and an optional per-session token bucket on the injected clock.
//!
//! Decisions (the requirements leave these open; docs/decisions.md):
//! - Check order: the session, the room id, the caller must be a live member
//!   (`user_not_in_room`, `room_connecting`), then the payload limit (bytes of UTF-8,
//!   `payload_too_large`), then the rate limit (`rate_limited`).
//! - An empty payload is a message like any other.
//! - The sequence is per room incarnation: a room destroyed and created again starts at 1.
//!   A refused message takes no number and no token.
//! - The bucket is per session (all its rooms), holds `message_burst` messages, starts full
//!   at login, and refills at `message_rate_per_s` on the injected clock; `message_rate_per_s`
//!   0 (the default) turns it off.
//! - Members whose link is lost do not get the message, then or on restore (the room keeps
//!   no history); the sequence number lets them see the gap.

use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, SessionId};
use crate::output::{Output, ReplyOk};

/// One message, in thousandths of a token.
const MESSAGE_COST_MILLI: u64 = 1000;

impl Engine {
    pub(crate) fn send_room_message(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        payload: &str,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        let room_slot = self.require_member(slot, room_id)?;
        let max = self.state.config.message_max_bytes;
        if payload.len() > max as usize {
            return Err(Error::PayloadTooLarge {
                len: payload.len(),
                max,
            });
        }
        let tokens = self.refilled_tokens(slot);
        let rate_on = self.state.config.message_rate_per_s > 0;
        if rate_on && tokens < MESSAGE_COST_MILLI {
            return Err(Error::RateLimited);
        }
        let now = self.state.now;
        let from = self.user_of(slot);
        if rate_on {
            let s = self.state.session_mut(slot);
            s.rate_tokens_milli = tokens - MESSAGE_COST_MILLI;
            s.rate_refilled_at = now;
        }
        let room = self.state.room_mut(room_slot);
        room.cold_mut().message_seq += 1;
        let seq = room.cold().message_seq;
        self.fan_out(room_slot, Some(slot), emit, |to| Output::RoomMessage {
            to,
            room_id,
            from,
            seq,
            payload: payload.to_owned(),
        });
        Ok(ReplyOk::MessageSent { seq })
    }

    /// The session's bucket as it would be now, without storing it (a refused send changes
    /// nothing).
    fn refilled_tokens(&self, slot: u32) -> u64 {
        let c = &self.state.config;
        let s = self.state.session(slot);
        let elapsed_ms = self
            .state
            .now
            .as_ms()
            .saturating_sub(s.rate_refilled_at.as_ms());
        // rate per second = rate thousandths of a token per millisecond.
        let gained = elapsed_ms.saturating_mul(u64::from(c.message_rate_per_s));
        let cap = u64::from(c.message_burst).saturating_mul(MESSAGE_COST_MILLI);
        s.rate_tokens_milli.saturating_add(gained).min(cap)
    }
}
