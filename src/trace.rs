//! The conformance trace format (docs/trace-format.md): JSON Lines, read and written one line
//! at a time through a bounded line buffer, so a trace of any length replays in constant
//! memory.
//!
//! Lines: `{"config": {...}}` (optional, before any input or output), `{"at": N, "in": {...}}`
//! (an input; `at` never decreases), `{"at": N, "out": {...}}` (an output: what the replay
//! prints, and what a vector expects after the input that caused it), `{"note": "..."}`
//! (ignored). Blank lines are skipped; a UTF-8 byte order mark on the first line and `\r\n`
//! line ends are accepted.
//!
//! Before each input, every timer due at or before its `at` fires in deadline order, its
//! outputs stamped with its own deadline ([`Engine::handle_timeout`]); then the input applies.
//! A trace's end is the end of time: timers due later never fire (add a `tick` to let time
//! pass).
//!
//! Anything that is not exactly this is a [`TraceError`] naming the line; a rejected line
//! applies nothing. Ids that are too long or otherwise invalid still parse: the engine answers
//! them with `invalid_room_id` and friends.

use crate::config::Config;
use crate::dialect::{self, Dialect};
use crate::engine::Engine;
use crate::input::Input;
use crate::output::{Output, Stamped};
use crate::time::Millis;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::io::{self, BufRead, Write};

/// The longest line accepted, in bytes, not counting its line end.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One meaningful line of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The engine config for this trace (absent fields take the defaults).
    Config(Box<Config>),
    /// An input delivered at `at`.
    Input {
        /// When.
        at: Millis,
        /// What.
        input: Input,
    },
    /// An output (in a vector: one the preceding input is expected to cause).
    Output(Stamped),
    /// A comment.
    Note(String),
}

/// A line that is not a valid trace line, or that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct TraceError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a trace line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Reading failed.
    #[error("cannot read: {0}")]
    Io(String),
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("line is longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// The line is not UTF-8.
    #[error("not valid UTF-8 (bad byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first bad byte in the line.
        offset: usize,
    },
    /// The line is not JSON.
    #[error("malformed JSON at column {column}: {message}")]
    Json {
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The line is JSON but not a trace line: unknown `type`, missing or mistyped field...
    #[error("{0}")]
    Schema(String),
    /// An input's `at` is smaller than the previous input's.
    #[error("`at` went backwards: {at} after {previous}")]
    AtBackwards {
        /// This line's `at`.
        at: u64,
        /// The previous input's `at`.
        previous: u64,
    },
    /// A `config` line after an input or output.
    #[error("a `config` line must come before every input and output")]
    ConfigNotFirst,
    /// An output line before any input.
    #[error("an `out` line must follow an input")]
    OutputBeforeInput,
    /// The config has a value out of range.
    #[error("invalid config: {0}")]
    Config(String),
}

impl TraceError {
    fn new(line: u64, problem: Problem) -> TraceError {
        TraceError { line, problem }
    }
}

/// Reads lines one at a time, each at most [`MAX_LINE_BYTES`], checking UTF-8.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// The current line's text within `buf` (after stripping `\r` and a BOM).
    text: (usize, usize),
    line: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads from `inner`.
    pub fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            buf: Vec::new(),
            text: (0, 0),
            line: 0,
        }
    }

    /// The number of the line last returned (1-based).
    #[must_use]
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next line without its line end, or `None` at the end of input.
    ///
    /// # Errors
    /// When reading fails, the line is too long, or it is not UTF-8.
    pub fn next_line(&mut self) -> Result<Option<&str>, TraceError> {
        self.line += 1;
        if !self.fill().map_err(|p| TraceError::new(self.line, p))? {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(TraceError::new(self.line, Problem::TooLong));
        }
        let text = std::str::from_utf8(&self.buf).map_err(|e| {
            TraceError::new(
                self.line,
                Problem::NotUtf8 {
                    offset: e.valid_up_to(),
                },
            )
        })?;
        let skip = if self.line == 1 && text.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        self.text = (skip, self.buf.len());
        Ok(Some(self.current()))
    }

    /// The line last returned by [`LineReader::next_line`].
    #[must_use]
    pub fn current(&self) -> &str {
        let (start, end) = self.text;
        // `next_line` checked these bytes are UTF-8 and that `start` is past a whole BOM.
        self.buf
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Reads one line's bytes into `buf`, never holding more than one byte over the limit.
    /// Returns whether there was a line at all.
    fn fill(&mut self) -> Result<bool, Problem> {
        self.buf.clear();
        self.text = (0, 0);
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Problem::Io(e.to_string())),
            };
            if chunk.is_empty() {
                return Ok(any);
            }
            any = true;
            let newline = chunk.iter().position(|&b| b == b'\n');
            let take = newline.unwrap_or(chunk.len());
            // One extra byte is allowed for a `\r` before the `\n`.
            if self.buf.len() + take > MAX_LINE_BYTES + 1 {
                return Err(Problem::TooLong);
            }
            self.buf.extend_from_slice(&chunk[..take]);
            self.inner.consume(take + usize::from(newline.is_some()));
            if newline.is_some() {
                return Ok(true);
            }
        }
    }
}

/// The shape of a line before its parts are parsed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a trace line: a JSON object")]
struct RawLine<'a> {
    #[serde(default, deserialize_with = "named_at")]
    at: Option<u64>,
    #[serde(default, rename = "in", borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    out: Option<&'a RawValue>,
    #[serde(default, borrow)]
    config: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "named_note")]
    note: Option<String>,
}

/// Type errors inside serde derive do not say which field they are about; these do.
fn named_at<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<u64>::deserialize(d).map_err(|e| serde::de::Error::custom(format!("`at`: {e}")))
}

fn named_note<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d).map_err(|e| serde::de::Error::custom(format!("`note`: {e}")))
}

/// `tick` carries no fields; serde's internally tagged unit variants would ignore extras.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TickOnly {
    #[serde(rename = "type")]
    _kind: serde::de::IgnoredAny,
}

/// Parses one line (without its line end).
///
/// # Errors
/// When the line is not a valid trace line. Ordering rules (config first, `at` not going
/// backwards) are checked by [`TraceReader`], not here.
pub fn parse_line(text: &str) -> Result<Record, Problem> {
    if !text.trim_start().starts_with('{') {
        return Err(not_an_object(text));
    }
    let raw: RawLine<'_> = serde_json::from_str(text).map_err(|e| json_problem(&e, 0, ""))?;
    let shape = Shape {
        at: raw.at.is_some(),
        input: raw.input.is_some(),
        out: raw.out.is_some(),
        alone: raw.config.is_some() || raw.note.is_some(),
    };
    match (raw.at.map(Millis), raw.input, raw.out, raw.config, raw.note) {
        (None, None, None, Some(c), None) => parse_config(c, text),
        (None, None, None, None, Some(n)) => Ok(Record::Note(n)),
        (Some(at), Some(i), None, None, None) => {
            parse_input(i, text).map(|input| Record::Input { at, input })
        }
        (Some(at), None, Some(o), None, None) => {
            parse_output(o, text).map(|output| Record::Output(Stamped { at, output }))
        }
        _ => Err(shape.problem()),
    }
}

/// A line that is not an object: malformed JSON, or JSON of the wrong kind.
fn not_an_object(text: &str) -> Problem {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Err(e) => json_problem(&e, 0, ""),
        Ok(_) => Problem::Schema("a trace line must be a JSON object".to_owned()),
    }
}

/// Which keys a line has, to explain a combination that is not one of the four line kinds.
#[derive(Clone, Copy)]
struct Shape {
    at: bool,
    input: bool,
    out: bool,
    /// `config` or `note`.
    alone: bool,
}

impl Shape {
    fn problem(self) -> Problem {
        let msg = if self.input && self.out {
            "a line has `in` or `out`, not both"
        } else if self.alone {
            "`config` and `note` must be alone on their line"
        } else if self.input || self.out {
            "missing field `at`"
        } else if self.at {
            "`at` needs an `in` or an `out`"
        } else {
            "expected `in`, `out`, `config` or `note`"
        };
        Problem::Schema(msg.to_owned())
    }
}

/// Where `part` starts within `line`, for column numbers (0 if it is not inside).
fn offset_in(line: &str, part: &str) -> usize {
    let start = line.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    at.checked_sub(start)
        .filter(|&o| o <= line.len())
        .unwrap_or(0)
}

/// A serde_json error as a problem: syntax errors are malformed JSON; data errors are
/// schema errors, named by the part of the line (`what`) they are in.
fn json_problem(e: &serde_json::Error, offset: usize, what: &str) -> Problem {
    let full = e.to_string();
    let message = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i])
        .replace("unknown variant", "unknown type");
    let column = e.column() + offset;
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            Problem::Json { column, message }
        }
        _ => {
            let place = if e.column() == 0 {
                String::new()
            } else {
                format!(" (column {column})")
            };
            Problem::Schema(format!("{what}{message}{place}"))
        }
    }
}

fn parse_config(raw: &RawValue, line: &str) -> Result<Record, Problem> {
    let offset = offset_in(line, raw.get());
    let config: Config =
        serde_json::from_str(raw.get()).map_err(|e| json_problem(&e, offset, "`config`: "))?;
    config
        .validate()
        .map_err(|e| Problem::Config(e.to_string()))?;
    Ok(Record::Config(Box::new(config)))
}

fn parse_input(raw: &RawValue, line: &str) -> Result<Input, Problem> {
    let offset = offset_in(line, raw.get());
    let input: Input = serde_json::from_str(raw.get()).map_err(|e| {
        let what =
            culprit_field(raw.get(), &e).map_or("`in`: ".to_owned(), |k| format!("`in.{k}`: "));
        json_problem(&e, offset, &what)
    })?;
    if input == Input::Tick {
        serde_json::from_str::<TickOnly>(raw.get())
            .map_err(|e| json_problem(&e, offset, "`in` (tick): "))?;
    }
    Ok(input)
}

/// Inputs have at most a handful of fields; objects with more are not probed.
const MAX_PROBED_FIELDS: usize = 16;

/// The field of an `in` object a type error is about. serde's internally tagged enums lose
/// the field name; removing the culprit is the only removal that makes that error go away
/// (other removals still hit it first, since missing fields are reported last).
fn culprit_field(text: &str, error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    // Only value errors lack a name; missing, unknown and duplicate fields name themselves.
    if error.classify() != serde_json::error::Category::Data || !message.starts_with("invalid ") {
        return None;
    }
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    // Each probe copies the object: keep a hostile line with thousands of keys cheap.
    if object.len() > MAX_PROBED_FIELDS {
        return None;
    }
    object.keys().filter(|k| *k != "type").find_map(|k| {
        let mut without = object.clone();
        without.remove(k);
        let again = serde_json::from_value::<Input>(serde_json::Value::Object(without));
        let same = again
            .as_ref()
            .err()
            .is_some_and(|e| e.to_string() == message);
        (!same).then(|| k.clone())
    })
}

/// An output must be in canonical form: parsing and printing it again gives the same JSON.
fn parse_output(raw: &RawValue, line: &str) -> Result<Output, Problem> {
    let offset = offset_in(line, raw.get());
    // Parsed from the text (not from a JSON value) so that duplicate keys are caught.
    let output: Output =
        serde_json::from_str(raw.get()).map_err(|e| json_problem(&e, offset, "`out`: "))?;
    let value: serde_json::Value =
        serde_json::from_str(raw.get()).map_err(|e| json_problem(&e, offset, "`out`: "))?;
    let again = serde_json::to_value(&output).map_err(|e| json_problem(&e, 0, "`out`: "))?;
    if again != value {
        let mut diffs = Vec::new();
        json_diff("out", &value, &again, &mut diffs);
        return Err(Problem::Schema(format!(
            "`out` is not a canonical output: {}",
            diffs.join("; ")
        )));
    }
    Ok(output)
}

/// At most this many differences are listed by [`json_diff`].
pub const MAX_DIFFS: usize = 8;

/// Lists where `expected` and `actual` differ, as `path: expected X, actual Y` (at most
/// [`MAX_DIFFS`] entries).
pub fn json_diff(
    path: &str,
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if out.len() >= MAX_DIFFS || expected == actual {
        return;
    }
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                let p = format!("{path}.{k}");
                match (a.contains_key(k), b.contains_key(k)) {
                    (true, false) => out.push(format!("{p}: expected {x}, absent")),
                    // A field the expected line does not name is one added to the format after
                    // it was written: it does not count.
                    (false, true) => {}
                    _ => json_diff(&p, x, y, out),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ => out.push(format!("{path}: expected {expected}, actual {actual}")),
    }
    out.truncate(MAX_DIFFS);
}

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
    outputs: Vec<Stamped>,
}

impl<R: BufRead> Player<R> {
    /// Plays the trace read from `inner`.
    pub fn new(inner: R) -> Player<R> {
        Player {
            reader: TraceReader::new(inner),
            engine: None,
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
        let Some((line, record)) = self.reader.next_record()? else {
            return Ok(None);
        };
        let fired = self.play(&record).map_err(|p| TraceError::new(line, p))?;
        Ok(Some(Step {
            line,
            text: self.reader.current_text(),
            record,
            outputs: &self.outputs,
            fired,
        }))
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
                engine.handle_timeout(*at, &mut self.outputs);
                let fired = self.outputs.len();
                engine.handle_input(*at, input, &mut self.outputs);
                Ok(fired)
            }
            Record::Output(_) | Record::Note(_) => Ok(0),
        }
    }
}

/// An input line, for writing.
#[derive(Serialize)]
struct InputLine<'a> {
    at: Millis,
    #[serde(rename = "in")]
    input: &'a Input,
}

fn finish_line<W: Write>(w: &mut W, r: serde_json::Result<()>) -> io::Result<()> {
    r.map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// Writes `{"at": N, "out": {...}}` and a newline.
///
/// # Errors
/// When writing fails.
pub fn write_output<W: Write>(w: &mut W, s: &Stamped) -> io::Result<()> {
    let r = serde_json::to_writer(&mut *w, s);
    finish_line(w, r)
}

/// Writes `{"at": N, "in": {...}}` and a newline.
///
/// # Errors
/// When writing fails.
pub fn write_input<W: Write>(w: &mut W, at: Millis, input: &Input) -> io::Result<()> {
    let r = serde_json::to_writer(&mut *w, &InputLine { at, input });
    finish_line(w, r)
}

/// An output with its vendor view: `{"at": N, "out": {...}, "<dialect>": [callbacks]}`.
struct DialectLine<'a> {
    stamped: &'a Stamped,
    dialect: Dialect,
    cause: Option<&'a Input>,
}

impl Serialize for DialectLine<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let views = dialect::view(self.dialect, &self.stamped.output, self.cause);
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("at", &self.stamped.at)?;
        m.serialize_entry("out", &self.stamped.output)?;
        m.serialize_entry(self.dialect.name(), &views)?;
        m.end()
    }
}

/// Writes an output line with its vendor view added under the dialect's name (an empty list
/// when the vendor has no counterpart). `cause` is the input being handled, `None` for timer
/// outputs.
///
/// # Errors
/// When writing fails.
pub fn write_output_in<W: Write>(
    w: &mut W,
    s: &Stamped,
    dialect: Dialect,
    cause: Option<&Input>,
) -> io::Result<()> {
    let line = DialectLine {
        stamped: s,
        dialect,
        cause,
    };
    let r = serde_json::to_writer(&mut *w, &line);
    finish_line(w, r)
}

/// Writes a step's outputs (timer outputs without a cause), one line each.
///
/// # Errors
/// When writing fails.
pub fn write_step_outputs<W: Write>(
    w: &mut W,
    step: &Step<'_>,
    dialect: Option<Dialect>,
) -> io::Result<()> {
    for (i, s) in step.outputs.iter().enumerate() {
        let cause = if i < step.fired { None } else { step.input() };
        match dialect {
            Some(d) => write_output_in(w, s, d, cause)?,
            None => write_output(w, s)?,
        }
    }
    Ok(())
}

/// The trace line for an output, without a newline.
#[must_use]
pub fn output_line(s: &Stamped) -> String {
    // Outputs hold only strings, numbers and string-keyed maps: serializing cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

/// An output line as a JSON value (for comparing expected and actual outputs).
#[must_use]
pub fn to_value(s: &Stamped) -> serde_json::Value {
    // As for `output_line`: cannot fail.
    serde_json::to_value(s).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines read through a 3-byte buffer, so every line spans several chunks.
    fn lines(input: &[u8]) -> Vec<Result<String, Problem>> {
        let mut r = LineReader::new(io::BufReader::with_capacity(3, input));
        let mut v = Vec::new();
        loop {
            match r.next_line() {
                Ok(Some(l)) => v.push(Ok(l.to_owned())),
                Ok(None) => return v,
                Err(e) => {
                    v.push(Err(e.problem));
                    return v;
                }
            }
        }
    }

    #[test]
    fn line_reader_splits_across_chunks_and_strips_line_ends() {
        let got = lines(b"\xef\xbb\xbfabc\r\ndefgh\n\nlast");
        let want: Vec<Result<String, Problem>> = ["abc", "defgh", "", "last"]
            .iter()
            .map(|s| Ok((*s).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn line_reader_stops_at_the_limit_without_buffering_more() {
        let mut long = vec![b'x'; MAX_LINE_BYTES + 2];
        long.push(b'\n');
        assert_eq!(lines(&long), [Err(Problem::TooLong)]);
        let mut fits = vec![b'x'; MAX_LINE_BYTES];
        fits.extend_from_slice(b"\r\n");
        assert_eq!(lines(&fits).len(), 1);
        assert!(lines(&fits)[0].is_ok());
    }

    #[test]
    fn line_reader_reports_the_first_bad_byte() {
        assert_eq!(
            lines(b"ok\nab\xffc\n")[1],
            Err(Problem::NotUtf8 { offset: 2 })
        );
    }

    #[test]
    fn reader_enforces_order() {
        let trace = "{\"note\":\"n\"}\n{\"config\":{}}\n{\"at\":5,\"in\":{\"type\":\"tick\"}}\n{\"at\":4,\"in\":{\"type\":\"tick\"}}\n";
        let got: Vec<_> = TraceReader::new(trace.as_bytes()).collect();
        assert_eq!(got.len(), 4);
        assert!(
            got[..3].iter().all(Result::is_ok),
            "a note may precede the config"
        );
        assert_eq!(
            got[3],
            Err(TraceError::new(
                4,
                Problem::AtBackwards { at: 4, previous: 5 }
            ))
        );
    }

    #[test]
    fn player_separates_timer_outputs_from_the_inputs_own() {
        let trace = "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s1\",\"request\":1,\"user\":\"a\"}}\n\
            {\"at\":0,\"in\":{\"type\":\"create_room\",\"session\":\"s1\",\"request\":2,\"room\":{\"id\":\"r1\"},\"config\":{\"destroy_delay_s\":1}}}\n\
            {\"at\":0,\"in\":{\"type\":\"leave_room\",\"session\":\"s1\",\"request\":3,\"room_id\":\"r1\"}}\n\
            {\"at\":1000,\"in\":{\"type\":\"tick\"}}\n";
        let mut p = Player::new(trace.as_bytes());
        let mut last = None;
        while let Some(step) = p.next_step().expect("valid") {
            last = Some((step.fired, step.outputs.to_vec()));
        }
        let (fired, outs) = last.expect("steps");
        assert_eq!(fired, 1);
        assert_eq!(outs.len(), 1);
        assert_eq!(outs[0].at, Millis(1000));
    }
}
