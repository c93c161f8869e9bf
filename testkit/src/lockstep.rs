//! Drives the engine (through the checking [`Harness`]) and the model with the same inputs
//! and compares, after every step, every output and the observable state.
//!
//! Two things are compared modulo naming, because the contract leaves them to the engine:
//! error `message` texts (only the `code` is the contract), and paging cursors (opaque: each
//! side's cursors are kept and fed back to that side; the comparison only sees whether a
//! cursor is present).

use crate::checks::light_step;
use crate::cmd::{Cmd, CursorPick, Domain};
use crate::harness::Harness;
use crate::model::Model;
use roomcore::config::Config;
use roomcore::ids::RoomId;
use roomcore::input::Input;
use roomcore::output::{Outcome, Output, ReplyOk, Stamped};
use roomcore::time::Millis;
use std::collections::BTreeMap;

/// The placeholder a non-empty cursor is compared as.
const CURSOR: &str = "<cursor>";

/// Each side's last non-empty cursor per room, and the last one of all.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cursors {
    by_room: BTreeMap<RoomId, String>,
    last: Option<(RoomId, String)>,
}

impl Cursors {
    pub(crate) fn pick(&self, room: RoomId, p: CursorPick) -> String {
        match p {
            CursorPick::First => String::new(),
            CursorPick::Same => self.by_room.get(&room).cloned().unwrap_or_default(),
            CursorPick::Other => match &self.last {
                Some((r, c)) if *r != room => c.clone(),
                _ => self
                    .by_room
                    .iter()
                    .find(|(r, _)| **r != room)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default(),
            },
            CursorPick::Garbage => "not a cursor!".to_owned(),
        }
    }

    fn record(&mut self, room: RoomId, next: &str) {
        if !next.is_empty() {
            self.by_room.insert(room, next.to_owned());
            self.last = Some((room, next.to_owned()));
        }
    }
}

/// The engine and the model side by side. See the module docs.
#[derive(Debug, Clone)]
pub struct Lockstep {
    /// The engine, checked after every step.
    pub harness: Harness,
    /// The reference model.
    pub model: Model,
    /// The ids commands pick from.
    pub domain: Domain,
    now: u64,
    request: u64,
    engine_cursors: Cursors,
    model_cursors: Cursors,
    /// Every engine output so far, when [`Lockstep::keep_outputs`] is set.
    pub outputs: Vec<Stamped>,
    /// Keep every output in [`Lockstep::outputs`] (for transcript hashes).
    pub keep_outputs: bool,
    /// Drive the engine directly, checking only the state invariants and the state machine
    /// table (and the model), not the harness's per-step snapshot comparisons: several times
    /// faster, for fuzzing.
    pub light: bool,
}

impl Lockstep {
    /// Both sides fresh, with `config`.
    ///
    /// # Errors
    /// If the config is invalid.
    pub fn new(config: Config, domain: Domain) -> Result<Lockstep, String> {
        let model = Model::new(config.clone()).ok_or("invalid config")?;
        let harness = Harness::new(config)?;
        Ok(Lockstep {
            harness,
            model,
            domain,
            now: 0,
            request: 0,
            engine_cursors: Cursors::default(),
            model_cursors: Cursors::default(),
            outputs: Vec::new(),
            keep_outputs: false,
            light: false,
        })
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Applies `cmd` to both sides and compares outputs and state.
    ///
    /// # Errors
    /// A description of the first difference or failed engine check.
    pub fn step(&mut self, cmd: &Cmd) -> Result<Vec<Stamped>, String> {
        self.now += cmd.wait_ms();
        self.request += 1;
        let (ec, mc) = (&self.engine_cursors, &self.model_cursors);
        let engine_in = cmd
            .to_input(&self.domain, self.request, &mut |r, p| ec.pick(r, p))
            .unwrap_or(Input::Tick);
        let model_in = cmd
            .to_input(&self.domain, self.request, &mut |r, p| mc.pick(r, p))
            .unwrap_or(Input::Tick);
        self.step_inputs(&engine_in, &model_in)
    }

    /// Applies one concrete input (the same to both sides) at the current time plus `wait`.
    ///
    /// # Errors
    /// As [`Lockstep::step`].
    pub fn step_input(&mut self, wait: u64, input: &Input) -> Result<Vec<Stamped>, String> {
        self.now += wait;
        self.step_inputs(input, input)
    }

    fn step_inputs(&mut self, engine_in: &Input, model_in: &Input) -> Result<Vec<Stamped>, String> {
        let mut engine_out = Vec::new();
        if self.light {
            let e = &mut self.harness.engine;
            light_step(e, Millis(self.now), engine_in, &mut engine_out)?;
        } else {
            let mark = self.harness.transcript.len();
            self.harness.step(self.now, engine_in.clone())?;
            for step in self.harness.transcript.drain(mark..) {
                for o in step.out {
                    engine_out.push(Stamped {
                        at: Millis(step.at),
                        output: o,
                    });
                }
            }
        }
        let mut model_out = Vec::new();
        self.model
            .handle_input(Millis(self.now), model_in, &mut model_out);
        match engine_in {
            Input::QueryMembers { room_id, .. } => {
                record_cursor(&mut self.engine_cursors, *room_id, &engine_out);
                record_cursor(&mut self.model_cursors, *room_id, &model_out);
            }
            Input::ListRooms { .. } => {
                let key = crate::cmd::room_list_key();
                record_cursor(&mut self.engine_cursors, key, &engine_out);
                record_cursor(&mut self.model_cursors, key, &model_out);
            }
            _ => {}
        }
        let (e, m) = (normalize(&engine_out), normalize(&model_out));
        if e != m {
            return Err(format!(
                "outputs differ at {} for {engine_in:?}\nengine: {}\nmodel:  {}",
                self.now,
                show(&e),
                show(&m)
            ));
        }
        self.compare_state()
            .map_err(|d| format!("state differs at {} after {engine_in:?}: {d}", self.now))?;
        if self.keep_outputs {
            self.outputs.extend(engine_out.iter().cloned());
        }
        Ok(engine_out)
    }

    /// Compares what both sides expose: sessions, their rooms and states, rooms and their
    /// members, attributes and member attributes, timers.
    ///
    /// # Errors
    /// The first difference.
    pub fn compare_state(&self) -> Result<(), String> {
        let (e, m) = (&self.harness.engine, &self.model);
        let eq = |what: &str, a: String, b: String| {
            if a == b {
                Ok(())
            } else {
                Err(format!("{what}: engine {a}, model {b}"))
            }
        };
        for s in &self.domain.sessions {
            eq(
                &format!("rooms of {s}"),
                format!("{:?}", e.session_rooms(*s)),
                format!("{:?}", m.session_rooms(*s)),
            )?;
            eq(
                &format!("user of {s}"),
                format!("{:?}", e.session_user(*s)),
                format!("{:?}", m.session_user(*s)),
            )?;
            eq(
                &format!("link of {s}"),
                format!("{:?}", e.is_link_lost(*s)),
                format!("{:?}", m.is_link_lost(*s)),
            )?;
        }
        for r in &self.domain.rooms {
            eq(
                &format!("room {r}"),
                format!("{:?}", e.room_sessions(*r)),
                format!("{:?}", m.room_sessions(*r)),
            )?;
            eq(
                &format!("recipients of {r}"),
                format!("{:?}", e.room_recipients(*r)),
                format!("{:?}", m.room_recipients(*r)),
            )?;
            eq(
                &format!("attributes of {r}"),
                format!("{:?}", e.room_attributes(*r)),
                format!("{:?}", m.room_attributes(*r)),
            )?;
            eq(
                &format!("member attributes of {r}"),
                format!("{:?}", e.room_member_attributes(*r)),
                format!("{:?}", m.member_attributes(*r)),
            )?;
        }
        eq(
            "room count",
            e.room_count().to_string(),
            m.room_count().to_string(),
        )?;
        eq(
            "session count",
            e.session_count().to_string(),
            m.session_count().to_string(),
        )?;
        eq(
            "pending timers",
            e.pending_timers().to_string(),
            m.pending_timers().to_string(),
        )?;
        eq(
            "next deadline",
            format!("{:?}", e.poll_timeout().map(Millis::as_ms)),
            format!("{:?}", m.poll_timeout()),
        )
    }
}

pub(crate) fn record_cursor(c: &mut Cursors, room: RoomId, out: &[Stamped]) {
    for s in out {
        match &s.output {
            Output::Reply {
                outcome: Outcome::Ok(ReplyOk::Members { next, .. }),
                ..
            }
            | Output::AdminReply {
                outcome: Outcome::Ok(ReplyOk::Rooms { next, .. }),
                ..
            } => c.record(room, next),
            _ => {}
        }
    }
}

/// Outputs with error messages blanked and cursors replaced by a placeholder.
#[must_use]
pub fn normalize(out: &[Stamped]) -> Vec<Stamped> {
    out.iter()
        .map(|s| {
            let mut s = s.clone();
            match &mut s.output {
                Output::Reply { outcome, .. } | Output::AdminReply { outcome, .. } => match outcome
                {
                    Outcome::Error(e) => e.message.clear(),
                    Outcome::Ok(ReplyOk::Members { next, .. } | ReplyOk::Rooms { next, .. })
                        if !next.is_empty() =>
                    {
                        *next = CURSOR.to_owned();
                    }
                    Outcome::Ok(_) => {}
                },
                _ => {}
            }
            s
        })
        .collect()
}

fn show(out: &[Stamped]) -> String {
    let lines: Vec<String> = out
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_else(|e| format!("<{e}>")))
        .collect();
    format!("[\n  {}\n]", lines.join("\n  "))
}
