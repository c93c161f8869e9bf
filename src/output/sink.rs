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
/// Its serde form stays compact, for shipping a step's outputs between processes: each
/// output once, as its trace line (a member event for several sessions names the first,
/// with `"run": [start, len]`), and `"recipients"`, the sessions of every run in order.
/// Reading it back refuses a malformed buffer (a run out of range, of fewer than two
/// sessions, out of order, on an output that is not a member event, a recipient no run
/// names) with an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub(super) items: Vec<Stamped>,
    pub(super) recipients: Vec<SessionId>,
}

impl Outputs {
    /// An empty buffer.
    #[must_use]
    pub const fn new() -> Outputs {
        Outputs {
            items: Vec::new(),
            recipients: Vec::new(),
        }
    }

    /// Forgets every output, keeping the allocations.
    pub fn clear(&mut self) {
        self.items.clear();
        self.recipients.clear();
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
    /// When `run` came from another buffer, or from this one before it was cleared.
    #[must_use]
    pub fn run(&self, run: Recipients) -> &[SessionId] {
        let start = run.start as usize;
        self.recipients
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

    /// Appends one member event for the sessions `recipients` yields: addressed to the
    /// session when there is one, to a run when there are more, nothing when there is none.
    pub(crate) fn fan_out(
        &mut self,
        at: Millis,
        recipients: impl Iterator<Item = SessionId>,
        make: impl FnOnce(To) -> Output,
    ) {
        let start = self.recipients.len();
        self.recipients.extend(recipients);
        let to = match self.recipients.len() - start {
            0 => return,
            1 => To::Session(
                self.recipients
                    .pop()
                    .expect("one recipient was just appended"),
            ),
            n => To::Sessions(Recipients {
                // 4e9 recipients of 34 bytes each cannot be allocated before this point.
                start: u32::try_from(start).expect("a buffer's recipients fit in u32"),
                len: u32::try_from(n).expect("a buffer's recipients fit in u32"),
            }),
        };
        self.items.push(Stamped {
            at,
            output: make(to),
        });
    }
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
        out.fan_out(Millis(1), sessions.into_iter(), message);
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
