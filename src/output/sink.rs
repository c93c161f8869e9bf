//! Where the engine writes a step's outputs: an [`Outputs`] buffer, which holds each member
//! event once with its recipients, or a plain `Vec<Stamped>`, which gets one copy per
//! recipient (the trace's form).

use super::{Output, Recipients, Stamped, To};
use crate::ids::SessionId;
use crate::time::Millis;

/// Where [`Engine::handle_input`](crate::Engine::handle_input) and
/// [`Engine::handle_timeout`](crate::Engine::handle_timeout) append outputs.
///
/// Two sinks come with the crate, and only these two (the trait is sealed): [`Outputs`],
/// the compact form a server routes from, and `Vec<Stamped>`, one output per recipient as a
/// trace lists them (what tests and the trace tools compare). Both receive the same events
/// in the same order.
pub trait OutputSink: sealed::Sealed {}

impl OutputSink for Vec<Stamped> {}
impl OutputSink for Outputs {}

pub(crate) mod sealed {
    use super::{Outputs, Stamped};

    /// The sink as the engine writes it: matched once per event, so pushing stays a direct,
    /// inlined call whichever sink the caller chose.
    pub enum Buffer<'a> {
        /// Member events once, with a run of recipients.
        Compact(&'a mut Outputs),
        /// One output per recipient.
        PerRecipient(&'a mut Vec<Stamped>),
    }

    /// Keeps [`OutputSink`](super::OutputSink) to the crate's two sinks.
    pub trait Sealed {
        /// The buffer behind the sink.
        fn buffer(&mut self) -> Buffer<'_>;
    }

    impl Sealed for Vec<Stamped> {
        fn buffer(&mut self) -> Buffer<'_> {
            Buffer::PerRecipient(self)
        }
    }

    impl Sealed for Outputs {
        fn buffer(&mut self) -> Buffer<'_> {
            Buffer::Compact(self)
        }
    }
}

/// A step's outputs in compact form: each member event once, addressed [`To::Sessions`] (a
/// run of this buffer's recipient list) when it goes to several sessions.
///
/// Reuse one buffer across steps ([`Outputs::clear`] keeps its capacity), so a steady
/// workload allocates nothing. Iterate it for the outputs as produced and resolve each
/// addressee with [`Outputs::sessions`]; or walk [`Outputs::expanded`] for one output per
/// recipient, exactly the lines a trace holds.
///
/// **Ids or handles.** The room's member list holds each member's [`SessionHandle`] (its
/// slot, four bytes). A buffer made with [`Outputs::new`] lists each run's session ids, read
/// from the recipients' records as the event is made ([`Outputs::sessions`]). A buffer made
/// with [`Outputs::with_handles`] lists the handles instead, so no recipient's record is
/// read: an embedder that routes by handle ([`Outputs::handles`],
/// [`Engine::session_handle`](crate::Engine::session_handle)) never pays for the ids, and
/// one that needs an id asks [`Engine::session_id`](crate::Engine::session_id). A handle is
/// valid until the engine's next step, also for a session closed in the step that named it.
///
/// Its serde form stays compact, for shipping a step's outputs between processes: each
/// output once, as its trace line (a member event for several sessions names the first,
/// with `"run": [start, len]`), and `"recipients"`, the sessions of every run in order.
/// Reading it back refuses a malformed buffer (a run out of range, of fewer than two
/// sessions, out of order, on an output that is not a member event, a recipient no run
/// names) with an error. A buffer of handles has no ids to write: serializing one with a run
/// is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub(super) items: Vec<Stamped>,
    /// The sessions of every run, in order (a buffer of ids).
    pub(super) recipients: Vec<SessionId>,
    /// The handles of every run, in order (a buffer of handles).
    handles: Vec<SessionHandle>,
    /// Made with [`Outputs::with_handles`].
    keep_handles: bool,
    /// Where the current step's handles start in `handles`.
    step_start: usize,
}

/// A session as the engine holds it: its slot, four bytes. Handed out in the runs of an
/// [`Outputs`] buffer made with [`Outputs::with_handles`], and by
/// [`Engine::session_handle`](crate::Engine::session_handle).
///
/// A live session keeps one handle from login to close, so an embedder can index its own
/// per-session table (connections, say) by [`SessionHandle::index`]; a closed session's
/// handle is given to a later login. [`Engine::session_id`](crate::Engine::session_id)
/// turns a handle back into the id, until the engine's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionHandle(pub(crate) u32);

impl SessionHandle {
    /// Set on a handle rewritten to name a session closed in the step
    /// ([`Outputs`] resolves those from the engine's list of the step's closed sessions).
    /// Slots stay below 2^31 (`max_sessions` is at most 2^30), so the bit is free.
    pub(crate) const CLOSED_BIT: u32 = 1 << 31;

    /// A number below 2^32 unique among the handles of live sessions; small and dense, for
    /// indexing a table. A handle that names a session closed in the step has the top bit set.
    #[must_use]
    pub fn index(self) -> u32 {
        self.0
    }
}

impl Outputs {
    /// An empty buffer whose runs read as session ids when a step ends.
    #[must_use]
    pub const fn new() -> Outputs {
        Outputs {
            items: Vec::new(),
            recipients: Vec::new(),
            handles: Vec::new(),
            keep_handles: false,
            step_start: 0,
        }
    }

    /// An empty buffer whose runs keep the engine's [`SessionHandle`]s: read them with
    /// [`Outputs::handles`]; [`Outputs::sessions`] and [`Outputs::expanded`] are not
    /// available on it.
    #[must_use]
    pub const fn with_handles() -> Outputs {
        Outputs {
            items: Vec::new(),
            recipients: Vec::new(),
            handles: Vec::new(),
            keep_handles: true,
            step_start: 0,
        }
    }

    /// Whether this buffer keeps handles ([`Outputs::with_handles`]) rather than ids.
    #[must_use]
    pub fn keeps_handles(&self) -> bool {
        self.keep_handles
    }

    /// Forgets every output, keeping the allocations.
    pub fn clear(&mut self) {
        self.items.clear();
        self.recipients.clear();
        self.handles.clear();
        self.step_start = 0;
    }

    /// The outputs as produced (a member event for many sessions counts once).
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is no output.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The outputs as produced, in order.
    #[must_use]
    pub fn as_slice(&self) -> &[Stamped] {
        &self.items
    }

    /// The outputs as produced, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Stamped> {
        self.items.iter()
    }

    /// The sessions an addressee names, in member order.
    ///
    /// # Panics
    /// As [`Outputs::run`].
    #[must_use]
    pub fn sessions<'a>(&'a self, to: &'a To) -> &'a [SessionId] {
        match to {
            To::Session(s) => std::slice::from_ref(s),
            To::Sessions(run) => self.run(*run),
        }
    }

    /// The sessions of a run ([`Recipient::Sessions`](super::Recipient::Sessions)), in
    /// member order.
    ///
    /// # Panics
    /// When `run` came from another buffer, or from this one before it was cleared, and on
    /// a buffer that keeps handles ([`Outputs::with_handles`]): those name no ids.
    #[must_use]
    pub fn run(&self, run: Recipients) -> &[SessionId] {
        assert!(
            !self.keep_handles,
            "a buffer made with Outputs::with_handles holds handles: read Outputs::handles"
        );
        let start = run.start as usize;
        self.recipients
            .get(start..start + run.len())
            .expect("a run of recipients is read from the buffer that produced it")
    }

    /// The handles of a run, in member order, on a buffer made with
    /// [`Outputs::with_handles`]: resolve one with
    /// [`Engine::session_id`](crate::Engine::session_id) before the engine's next step.
    ///
    /// # Panics
    /// When `run` came from another buffer, or from this one before it was cleared, and on
    /// a buffer of ids ([`Outputs::new`]): read [`Outputs::run`] there.
    #[must_use]
    pub fn handles(&self, run: Recipients) -> &[SessionHandle] {
        assert!(
            self.keep_handles,
            "a buffer made with Outputs::new holds ids: read Outputs::run"
        );
        let start = run.start as usize;
        self.handles
            .get(start..start + run.len())
            .expect("a run of recipients is read from the buffer that produced it")
    }

    /// How many outputs there are once expanded (one per recipient).
    #[must_use]
    pub fn expanded_len(&self) -> usize {
        self.items
            .iter()
            .map(|s| match s.output.to() {
                Some(To::Sessions(run)) => run.len(),
                _ => 1,
            })
            .sum()
    }

    /// One output per recipient, in order: exactly what a `Vec<Stamped>` sink receives,
    /// and what a trace lists.
    ///
    /// # Panics
    /// While iterating, on a buffer that keeps handles ([`Outputs::with_handles`]).
    #[must_use]
    pub fn expanded(&self) -> Expanded<'_> {
        Expanded {
            outputs: self,
            item: 0,
            within: 0,
        }
    }

    /// Appends an output the embedder made itself (a reply of its own, say), after those
    /// already here. Refused, and handed back, when it is addressed to a run of sessions: a
    /// run names recipients of the buffer that produced it and means nothing in another.
    ///
    /// # Errors
    /// The output, when it is addressed to a run ([`To::Sessions`]).
    pub fn push_output(&mut self, output: Stamped) -> Result<(), Box<Stamped>> {
        if let Some(To::Sessions(_)) = output.output.to() {
            return Err(Box::new(output));
        }
        self.items.push(output);
        Ok(())
    }

    /// Removes and returns the output at `index` (as produced, see [`Outputs::iter`]), the
    /// later ones moving up. `None` when there is none, or when it is addressed to a run of
    /// sessions: a run means nothing outside this buffer, so such an output stays.
    pub fn remove(&mut self, index: usize) -> Option<Stamped> {
        match self.items.get(index)?.output.to() {
            Some(To::Sessions(_)) => None,
            _ => Some(self.items.remove(index)),
        }
    }

    /// The outputs as produced, in order, to rewrite in place (relabel an event, say).
    /// A member event's addressee stays as produced: a run readdressed to another run
    /// names other sessions, or none (then [`Outputs::run`] panics and serializing fails).
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Stamped> {
        self.items.iter_mut()
    }

    /// Appends one output.
    pub(crate) fn push(&mut self, output: Stamped) {
        self.items.push(output);
    }

    /// A step begins: the handles it names start here.
    pub(crate) fn begin_step(&mut self) {
        self.step_start = self.handles.len();
    }

    /// The session in `slot` closes in this step, its slot free for a later login in the
    /// same step: this step's handles naming it are rewritten to `closed` (an index into the
    /// engine's list of the step's closed sessions, [`SessionHandle::CLOSED_BIT`] set), so
    /// they still name it when they are resolved after the step. A buffer of ids has nothing
    /// to rewrite: its runs took each id when they were made.
    pub(crate) fn session_closing(&mut self, slot: u32, closed: SessionHandle) {
        for h in &mut self.handles[self.step_start..] {
            if h.0 == slot {
                *h = closed;
            }
        }
    }

    /// Appends one member event for the sessions in `slots`: addressed to the session
    /// (its id from `id_of`) when there is one, to a run when there are more, nothing when
    /// there is none. A buffer of handles keeps the slots as they are; a buffer of ids
    /// takes each one's id from `id_of`.
    pub(crate) fn fan_out(
        &mut self,
        at: Millis,
        slots: impl Iterator<Item = u32>,
        id_of: impl Fn(u32) -> SessionId,
        make: impl FnOnce(To) -> Output,
    ) {
        let to = if self.keep_handles {
            let start = self.handles.len();
            self.handles.extend(slots.map(SessionHandle));
            match self.handles.len() - start {
                0 => return,
                1 => To::Session(id_of(
                    self.handles.pop().expect("one recipient was just listed").0,
                )),
                n => run(start, n),
            }
        } else {
            let start = self.recipients.len();
            self.recipients.extend(slots.map(id_of));
            match self.recipients.len() - start {
                0 => return,
                1 => To::Session(
                    self.recipients
                        .pop()
                        .expect("one recipient was just listed"),
                ),
                n => run(start, n),
            }
        };
        self.items.push(Stamped {
            at,
            output: make(to),
        });
    }

    /// Appends one member event for `sessions` given by id (tests of the buffer's own forms).
    #[cfg(test)]
    pub(crate) fn fan_out_ids(
        &mut self,
        at: Millis,
        sessions: impl Iterator<Item = SessionId>,
        make: impl FnOnce(To) -> Output,
    ) {
        let ids: Vec<SessionId> = sessions.collect();
        let slots = (0..ids.len()).map(|i| u32::try_from(i).expect("a test's few sessions"));
        self.fan_out(at, slots, |slot| ids[slot as usize], make);
    }
}

/// A run of the `n` (at least two) recipients listed from `start`.
fn run(start: usize, n: usize) -> To {
    // 4e9 recipients cannot be listed before this point: runs are bounded by the members of
    // a room times the outputs of the steps a buffer holds.
    To::Sessions(Recipients {
        start: u32::try_from(start).expect("a buffer's recipients fit in u32"),
        len: u32::try_from(n).expect("a buffer's recipients fit in u32"),
    })
}

impl<'a> IntoIterator for &'a Outputs {
    type Item = &'a Stamped;
    type IntoIter = std::slice::Iter<'a, Stamped>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// One output per recipient ([`Outputs::expanded`]).
#[derive(Debug, Clone)]
pub struct Expanded<'a> {
    outputs: &'a Outputs,
    item: usize,
    within: usize,
}

impl Iterator for Expanded<'_> {
    type Item = Stamped;

    fn next(&mut self) -> Option<Stamped> {
        let stamped = self.outputs.items.get(self.item)?;
        let Some(To::Sessions(run)) = stamped.output.to() else {
            self.item += 1;
            return Some(stamped.clone());
        };
        let session = self.outputs.run(run)[self.within];
        self.within += 1;
        if self.within == run.len() {
            self.item += 1;
            self.within = 0;
        }
        Some(Stamped {
            at: stamped.at,
            output: stamped.output.addressed(To::Session(session)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RoomId, UserId};

    fn message(to: To) -> Output {
        Output::RoomMessage {
            to,
            room_id: RoomId::new("r1"),
            from: UserId::new("alice"),
            seq: 1,
            payload: "hi".into(),
        }
    }

    #[test]
    fn an_output_for_a_run_is_neither_pushed_nor_removed_alone() {
        let mut out = Outputs::new();
        let sessions = ["s1", "s2", "s3"].map(SessionId::new);
        out.fan_out_ids(Millis(1), sessions.into_iter(), message);
        let one = Stamped {
            at: Millis(2),
            output: message(To::Session(SessionId::new("s4"))),
        };
        assert_eq!(out.push_output(one.clone()), Ok(()));
        let run = out.as_slice()[0].clone();
        assert_eq!(out.push_output(run.clone()), Err(Box::new(run)));
        assert_eq!(out.remove(0), None, "the run stays");
        assert_eq!(out.remove(2), None, "out of range");
        assert_eq!(out.remove(1), Some(one));
        assert_eq!(out.len(), 1);
        assert_eq!(out.expanded_len(), 3);
    }
}
