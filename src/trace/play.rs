//! Reading a whole trace (ordering rules) and playing it through an engine.

use super::parse::{parse_line, LineReader};
use super::record::{Problem, Record, TraceError};
use crate::config::Config;
use crate::engine::Engine;
use crate::input::Input;
use crate::output::{Outputs, Stamped};
use std::io::BufRead;

/// Reads [`Record`]s, enforcing the ordering rules: `config` before any input or output, an
/// output only after an input, `at` of inputs never decreasing. Stops at the first error.
#[derive(Debug)]
pub struct TraceReader<R> {
    lines: LineReader<R>,
    last_at: Option<u64>,
    started: bool,
    failed: bool,
}

impl<R: BufRead> TraceReader<R> {
    /// Reads from `inner`.
    pub fn new(inner: R) -> TraceReader<R> {
        TraceReader {
            lines: LineReader::new(inner),
            last_at: None,
            started: false,
            failed: false,
        }
    }

    /// The next record with its line number; `None` at the end, and after an error.
    ///
    /// # Errors
    /// The first bad line.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<(u64, Record)>, TraceError> {
        if self.failed {
            return Ok(None);
        }
        let r = self.read_one();
        self.failed = r.is_err();
        r
    }

    /// The text of the line last read.
    #[must_use]
    pub fn current_text(&self) -> &str {
        self.lines.current()
    }

    #[inline]
    fn read_one(&mut self) -> Result<Option<(u64, Record)>, TraceError> {
        loop {
            let Some(text) = self.lines.next_line()? else {
                return Ok(None);
            };
            if text.trim().is_empty() {
                continue;
            }
            let parsed = parse_line(text);
            let line = self.lines.line_number();
            let record = parsed
                .and_then(|r| self.admit(r))
                .map_err(|p| TraceError::new(line, p))?;
            return Ok(Some((line, record)));
        }
    }

    /// Applies the ordering rules to a parsed record.
    #[inline]
    fn admit(&mut self, record: Record) -> Result<Record, Problem> {
        match &record {
            Record::Config(_) if self.started => return Err(Problem::ConfigNotFirst),
            Record::Output(_) if self.last_at.is_none() => return Err(Problem::OutputBeforeInput),
            Record::Input { at, .. } => {
                if let Some(previous) = self.last_at.filter(|&p| p > at.0) {
                    return Err(Problem::AtBackwards { at: at.0, previous });
                }
                self.last_at = Some(at.0);
            }
            _ => {}
        }
        self.started |= !matches!(record, Record::Note(_));
        Ok(record)
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<(u64, Record), TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// One line of a trace as played: the record, and for an input, every output it caused.
#[derive(Debug)]
pub struct Step<'a> {
    /// 1-based line number.
    pub line: u64,
    /// The line's text, as read.
    pub text: &'a str,
    /// The parsed line.
    pub record: Record,
    /// For an input: the outputs of the timers that fired first, then the input's own.
    pub outputs: &'a [Stamped],
    /// How many of `outputs` came from timers (they come first).
    pub fired: usize,
}

impl Step<'_> {
    /// The input, if this line is one.
    #[must_use]
    pub fn input(&self) -> Option<&Input> {
        match &self.record {
            Record::Input { input, .. } => Some(input),
            _ => None,
        }
    }
}

/// Plays a trace through an [`Engine`], one line at a time: `out` lines are passed through
/// untouched (a player produces outputs, it does not compare them; see `check`).
#[derive(Debug)]
pub struct Player<R> {
    reader: TraceReader<R>,
    engine: Option<Engine>,
    /// The line's outputs as the engine produced them.
    compact: Outputs,
    /// The same, one per recipient (for [`Player::next_step`]).
    outputs: Vec<Stamped>,
}

impl<R: BufRead> Player<R> {
    /// Plays the trace read from `inner`.
    pub fn new(inner: R) -> Player<R> {
        Player {
            reader: TraceReader::new(inner),
            engine: None,
            compact: Outputs::new(),
            outputs: Vec::new(),
        }
    }

    /// The engine, once the first input or config line has created it.
    #[must_use]
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Reads and plays the next line; `None` at the end.
    ///
    /// # Errors
    /// The first bad line (nothing of it is applied).
    pub fn next_step(&mut self) -> Result<Option<Step<'_>>, TraceError> {
        self.outputs.clear();
        let Some((line, record, fired)) = self.next_played()? else {
            return Ok(None);
        };
        self.outputs.extend(self.compact.expanded());
        Ok(Some(Step {
            line,
            text: self.reader.current_text(),
            record,
            outputs: &self.outputs,
            fired,
        }))
    }

    /// Reads and plays the next line, and returns its outputs in compact form (each member
    /// event once; [`write_outputs`](super::write_outputs) writes them as trace lines).
    /// `None` at the end. Faster than [`Player::next_step`] when only the outputs matter.
    ///
    /// # Errors
    /// The first bad line (nothing of it is applied).
    pub fn next_outputs(&mut self) -> Result<Option<&Outputs>, TraceError> {
        // As `next_played`, without handing the record on (a record is a few hundred bytes,
        // and each hand-over copies it).
        self.compact.clear();
        let Some((line, record)) = self.reader.next_record()? else {
            return Ok(None);
        };
        self.play(&record).map_err(|p| TraceError::new(line, p))?;
        Ok(Some(&self.compact))
    }

    /// Reads and plays the next record into `compact`: the line number, the record, and
    /// how many outputs (one per recipient) came from timers.
    fn next_played(&mut self) -> Result<Option<(u64, Record, usize)>, TraceError> {
        self.compact.clear();
        let Some((line, record)) = self.reader.next_record()? else {
            return Ok(None);
        };
        let fired = self.play(&record).map_err(|p| TraceError::new(line, p))?;
        Ok(Some((line, record, fired)))
    }

    /// Applies a record; returns how many outputs came from timers.
    fn play(&mut self, record: &Record) -> Result<usize, Problem> {
        match record {
            Record::Config(c) => {
                let engine =
                    Engine::new((**c).clone()).map_err(|e| Problem::Config(e.to_string()))?;
                self.engine = Some(engine);
                Ok(0)
            }
            Record::Input { at, input } => {
                let engine = match self.engine.take() {
                    Some(e) => e,
                    None => Engine::new(Config::default())
                        .map_err(|e| Problem::Config(e.to_string()))?,
                };
                let engine = self.engine.insert(engine);
                engine.handle_timeout(*at, &mut self.compact);
                let fired = self.compact.expanded_len();
                engine.handle_input(*at, input, &mut self.compact);
                Ok(fired)
            }
            Record::Output(_) | Record::Note(_) => Ok(0),
        }
    }
}
