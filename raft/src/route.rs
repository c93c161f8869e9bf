//! Where each output of an applied entry goes: the session it is addressed to (every live
//! member, for a large room's coalesced delta), and the node process holding that session
//! when the entry was applied. Computed at apply time on every replica, so each node
//! delivers exactly the outputs whose holder it is, once.

use roomcore::{Outputs, Recipient, SessionId};
use serde::{Deserialize, Serialize};

use crate::machine::RoomMachine;
use crate::sessions::Holder;

/// One output for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Index into the entry's outputs as produced ([`Outputs::iter`]): a member event for
    /// several sessions is one output, with one delivery per session of its run, so that a
    /// node serializes it once for all the sessions it holds.
    pub output: usize,
    /// The recipient.
    pub session: SessionId,
    /// The process holding the session when the entry was applied (`None`: not connected
    /// anywhere; the output is not delivered live, the client catches up on resume).
    pub holder: Option<Holder>,
}

/// The deliveries of `outputs`, just applied to `machine`, in output order and, within a
/// run, in member order. Admin replies and server-side events (`room_created`,
/// `room_destroyed`, `member_joined`, `member_left`) have no recipient session.
#[must_use]
pub fn deliveries(machine: &RoomMachine, outputs: &Outputs) -> Vec<Delivery> {
    let sessions = machine.sessions();
    let mut out = Vec::new();
    let mut push = |output: usize, session: SessionId| {
        out.push(Delivery {
            output,
            session,
            holder: sessions.delivery_holder(session),
        });
    };
    for (i, s) in outputs.iter().enumerate() {
        match s.output.recipient() {
            Recipient::Session(session) => push(i, session),
            Recipient::Sessions(run) => {
                for &session in outputs.run(run) {
                    push(i, session);
                }
            }
            // A large room's delta goes to every member whose link is live, as the room is
            // after the entry (a member who joined in the same entry gets it too: the delta
            // is a set, so that is harmless).
            Recipient::Room(room_id) => {
                for session in machine
                    .engine()
                    .room_recipients(room_id)
                    .unwrap_or_default()
                {
                    push(i, session);
                }
            }
            Recipient::Service => {}
        }
    }
    out
}
