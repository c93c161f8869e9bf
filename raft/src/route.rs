//! Where each output of an applied entry goes: the session it is addressed to (every live
//! member, for a large room's coalesced delta), and the node process holding that session
//! when the entry was applied. Computed at apply time on every replica, so each node
//! delivers exactly the outputs whose holder it is, once.

use std::collections::BTreeMap;

use roomcore::{Outputs, Recipient, Recipients, SessionId};
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

/// Where an applied entry's outputs go, kept compact: a member event's run of sessions is
/// read from the entry's outputs (not copied), and each recipient keeps only its holder, as
/// a 4-byte index into the entry's few distinct holders (one per node process). An output
/// costs 56 bytes plus 4 per recipient here; one [`Delivery`] per recipient is 72 bytes each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// One per output that has recipient sessions, in output order.
    addressed: Vec<Addressed>,
    /// The holder of every recipient, all outputs' recipients in a row: an index into
    /// `holders`, or [`NOT_HELD`].
    held_by: Vec<u32>,
    /// The distinct holders `held_by` names.
    holders: Vec<Holder>,
    /// The recipients of large rooms' deltas, in a row: read from the engine when the entry
    /// is applied, they are not in the outputs.
    room_sessions: Vec<SessionId>,
}

/// `held_by` of a session that no process holds (never an index: there are fewer holders).
const NOT_HELD: u32 = u32::MAX;

/// One output's recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Addressed {
    /// Index into the entry's outputs as produced ([`Outputs::iter`]).
    output: usize,
    /// Where its recipients' holders start in `held_by`.
    first: usize,
    sessions: Sessions,
}

/// Where an output's recipient sessions are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sessions {
    One(SessionId),
    /// The output's run, in the outputs' buffer.
    Run(Recipients),
    /// `room_sessions[start..start + len]`.
    Room {
        start: usize,
        len: usize,
    },
}

impl Deliveries {
    /// The deliveries of `outputs`, just applied to `machine`. Admin replies and server-side
    /// events (`room_created`, `room_destroyed`, `member_joined`, `member_left`) have no
    /// recipient session.
    #[must_use]
    pub fn new(machine: &RoomMachine, outputs: &Outputs) -> Deliveries {
        let mut d = Deliveries::default();
        let mut index: BTreeMap<Holder, u32> = BTreeMap::new();
        for (output, s) in outputs.iter().enumerate() {
            let first = d.held_by.len();
            let (sessions, named): (Sessions, &[SessionId]) = match s.output.recipient() {
                Recipient::Session(session) => (Sessions::One(session), &[session]),
                Recipient::Sessions(run) => (Sessions::Run(run), outputs.run(run)),
                // A large room's delta goes to every member whose link is live, as the room
                // is after the entry (a member who joined in the same entry gets it too: the
                // delta is a set, so that is harmless).
                Recipient::Room(room_id) => {
                    let start = d.room_sessions.len();
                    let members = machine.engine().room_recipients(room_id);
                    d.room_sessions.extend(members.unwrap_or_default());
                    let len = d.room_sessions.len() - start;
                    let named = d.room_sessions.get(start..).unwrap_or_default();
                    (Sessions::Room { start, len }, named)
                }
                Recipient::Service => continue,
            };
            for &session in named {
                let held = holder_index(&mut index, &mut d.holders, machine, session);
                d.held_by.push(held);
            }
            d.addressed.push(Addressed {
                output,
                first,
                sessions,
            });
        }
        d
    }

    /// One [`Delivery`] per recipient session, in output order and, within a run, in member
    /// order. `outputs` are the ones these deliveries were made of (an entry's own: see
    /// [`AppliedEntry::deliveries`](crate::AppliedEntry::deliveries)).
    pub fn expanded<'a>(&'a self, outputs: &'a Outputs) -> impl Iterator<Item = Delivery> + 'a {
        self.addressed.iter().flat_map(move |a| {
            let sessions: &[SessionId] = match &a.sessions {
                Sessions::One(session) => std::slice::from_ref(session),
                Sessions::Run(run) => outputs.run(*run),
                Sessions::Room { start, len } => self
                    .room_sessions
                    .get(*start..start + len)
                    .unwrap_or_default(),
            };
            let held = self.held_by.get(a.first..).unwrap_or_default();
            sessions.iter().zip(held).map(|(&session, &h)| Delivery {
                output: a.output,
                session,
                holder: usize::try_from(h)
                    .ok()
                    .and_then(|h| self.holders.get(h))
                    .copied(),
            })
        })
    }
}

/// The index of `session`'s holder in `holders` (added the first time), or [`NOT_HELD`].
fn holder_index(
    index: &mut BTreeMap<Holder, u32>,
    holders: &mut Vec<Holder>,
    machine: &RoomMachine,
    session: SessionId,
) -> u32 {
    let Some(holder) = machine.sessions().delivery_holder(session) else {
        return NOT_HELD;
    };
    *index.entry(holder).or_insert_with(|| {
        let i = u32::try_from(holders.len())
            .ok()
            .filter(|&i| i != NOT_HELD)
            .expect("fewer distinct holders than recipients in one entry, far below 2^32");
        holders.push(holder);
        i
    })
}

/// The deliveries of `outputs`, just applied to `machine`, one per recipient session (the
/// expanded form of [`Deliveries`]).
#[must_use]
pub fn deliveries(machine: &RoomMachine, outputs: &Outputs) -> Vec<Delivery> {
    Deliveries::new(machine, outputs)
        .expanded(outputs)
        .collect()
}
