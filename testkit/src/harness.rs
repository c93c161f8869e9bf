//! The step harness: drives an [`Engine`] and checks, after every step, the rules that
//! need more than one state to see (see [`crate::checks`]):
//!
//! - the state invariants ([`roomcore::invariants::check`]);
//! - a refused command changed nothing, and its outputs went only to the caller;
//! - no output about a room reaches a session that is not in it (before or after the step),
//!   except the caller's own flow events for the room it named; member events (joins,
//!   leaves, messages, attribute updates) reach only live members;
//! - every `room_state_changed` is a row of the state machine table
//!   ([`roomcore::transitions`]), walked from the state before the step;
//! - the snapshot taken before the step, restored, gives byte-identical outputs and state;
//! - a sent room message takes the room's next sequence number (gap-free from 1), and goes
//!   to exactly the other live members, with the number its sender's reply carries.
//!
//! It also records the transcript (every input and every output, per step), which
//! [`Harness::jsonl`] writes as a conformance trace for the golden snapshots.

use crate::checks::{
    check_message, check_recipients, check_restore, check_stamps, check_transitions, is_refused,
    memberships, message_room, snapshot,
};
use roomcore::config::Config;
use roomcore::input::Input;
use roomcore::output::{Output, Outputs, Stamped, To};
use roomcore::time::Millis;
use roomcore::Engine;

pub use crate::transcript::Step;

/// Drives an engine with checks after every step. Its methods return `Err` with a
/// description when a check fails.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The engine under test.
    pub engine: Engine,
    /// Every step so far.
    pub transcript: Vec<Step>,
    /// Check that a snapshot restored before each step replays it identically (costly on
    /// big states; on by default).
    pub check_restore: bool,
    /// The service's view from the service events so far.
    pub ledger: crate::ledger::Ledger,
}

impl Harness {
    /// A harness over a fresh engine.
    ///
    /// # Errors
    /// If the config is invalid.
    pub fn new(config: Config) -> Result<Harness, String> {
        let engine = Engine::new(config).map_err(|e| e.to_string())?;
        Ok(Harness {
            engine,
            transcript: Vec::new(),
            check_restore: true,
            ledger: crate::ledger::Ledger::default(),
        })
    }

    /// Moves time to `at`, firing due timers one deadline group at a time (each recorded as
    /// its own step and checked).
    ///
    /// # Errors
    /// When a check fails.
    pub fn advance(&mut self, at: u64) -> Result<(), String> {
        while let Some(deadline) = self.engine.poll_timeout() {
            if deadline.as_ms() > at {
                break;
            }
            let before = memberships(&self.engine);
            let out = compact_step(|sink| self.engine.handle_timeout(deadline, sink))?;
            let after = memberships(&self.engine);
            check_stamps(&out, deadline.as_ms())?;
            let outs: Vec<Output> = out.into_iter().map(|s| s.output).collect();
            check_recipients(&outs, &before, &after, None, &[])?;
            check_transitions(&outs, &before, &after)?;
            roomcore::invariants::check(&self.engine).map_err(|v| v.to_string())?;
            self.ledger.record(&outs)?;
            self.ledger.matches(&self.engine)?;
            self.transcript.push(Step {
                at: deadline.as_ms(),
                input: None,
                out: outs,
            });
        }
        let mut out = Vec::new();
        self.engine.handle_timeout(Millis(at), &mut out);
        if !out.is_empty() {
            return Err("handle_timeout fired after poll_timeout said nothing was due".into());
        }
        Ok(())
    }

    /// Advances to `at`, applies `input`, runs every check, records the step and returns its
    /// outputs.
    ///
    /// # Errors
    /// When a check fails.
    pub fn step(&mut self, at: u64, input: Input) -> Result<Vec<Output>, String> {
        self.advance(at)?;
        let before_state = snapshot(&self.engine)?;
        let before = memberships(&self.engine);
        let before_seq = message_room(&input).and_then(|r| self.engine.room_message_seq(r));
        let out = compact_step(|sink| self.engine.handle_input(Millis(at), &input, sink))?;
        check_stamps(&out, self.engine.now().as_ms())?;
        let outs: Vec<Output> = out.iter().map(|s| s.output.clone()).collect();
        roomcore::invariants::check(&self.engine).map_err(|v| format!("{v} after {input:?}"))?;
        let after_state = snapshot(&self.engine)?;
        let after = memberships(&self.engine);
        let caller = input.session();
        if is_refused(&input, &outs) {
            if before_state != after_state {
                return Err(format!("refused {input:?} changed the state"));
            }
            if let Some(o) = outs.iter().find(|o| o.session() != caller) {
                return Err(format!("refused {input:?} told someone else: {o:?}"));
            }
        }
        check_recipients(&outs, &before, &after, caller, &input.rooms())
            .map_err(|e| format!("{e} (input {input:?})"))?;
        check_transitions(&outs, &before, &after).map_err(|e| format!("{e} (input {input:?})"))?;
        check_message(&input, &outs, before_seq, &after)
            .map_err(|e| format!("{e} (input {input:?})"))?;
        if self.check_restore {
            check_restore(&before_state, at, &input, &out, &after_state)?;
        }
        self.ledger
            .record(&outs)
            .and_then(|()| self.ledger.matches(&self.engine))
            .map_err(|e| format!("{e} (input {input:?})"))?;
        self.transcript.push(Step {
            at: self.engine.now().as_ms(),
            input: Some(input),
            out: outs.clone(),
        });
        Ok(outs)
    }

    /// Every step so far.
    #[must_use]
    pub fn transcript(&self) -> &[Step] {
        &self.transcript
    }

    /// The transcript as a conformance trace that `roomcore check` runs: the config (if not
    /// the default), then each step's input and outputs (see [`crate::transcript`]).
    #[must_use]
    pub fn jsonl(&self) -> String {
        crate::transcript::jsonl(self.engine.config(), &self.transcript)
    }
}

/// Runs one engine call into the compact [`Outputs`] sink and returns it expanded, after
/// checking the compact form: a run names at least two sessions, and expansion gives one
/// output per recipient (the per-recipient form is what every check and the model read).
fn compact_step(call: impl FnOnce(&mut Outputs)) -> Result<Vec<Stamped>, String> {
    let mut compact = Outputs::new();
    call(&mut compact);
    for s in compact.iter() {
        if let Some(to) = s.output.to() {
            if matches!(to, To::Sessions(_)) && compact.sessions(&to).len() < 2 {
                return Err(format!("a run of fewer than two sessions: {s:?}"));
            }
        }
    }
    let expanded: Vec<Stamped> = compact.expanded().collect();
    if expanded.len() != compact.expanded_len() {
        return Err("expanded_len disagrees with the expansion".into());
    }
    if let Some(s) = expanded
        .iter()
        .find(|s| matches!(s.output.to(), Some(To::Sessions(_))))
    {
        return Err(format!("an expanded output still names a run: {s:?}"));
    }
    Ok(expanded)
}
