//! Reading lines: the bounded line buffer and the parse of one line into a [`Record`].

use super::diff::json_diff;
use super::record::{Problem, Record, TraceError, MAX_LINE_BYTES};
use crate::config::Config;
use crate::input::Input;
use crate::output::{Output, Stamped};
use crate::time::Millis;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::{self, BufRead};

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
        let line = self.line;
        let text = std::str::from_utf8(&self.buf).map_err(|e| {
            TraceError::new(
                line,
                Problem::NotUtf8 {
                    offset: e.valid_up_to(),
                },
            )
        })?;
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) if line == 1 => rest,
            _ => text,
        };
        self.text = (self.buf.len() - text.len(), self.buf.len());
        Ok(Some(text))
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
            let newline = memchr::memchr(b'\n', chunk);
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
/// The input lines a trace is mostly made of are read in one pass; every other line, and
/// any line that is not exactly valid, is read by [`parse_line_with_serde`], so the result
/// (record, or problem and its wording) is always the one that gives.
///
/// # Errors
/// When the line is not a valid trace line. Ordering rules (config first, `at` not going
/// backwards) are checked by [`TraceReader`](super::TraceReader), not here.
#[inline]
pub fn parse_line(text: &str) -> Result<Record, Problem> {
    match super::fast_input::input_line(text) {
        Some(record) => Ok(record),
        None => parse_line_with_serde(text),
    }
}

/// Parses one line (without its line end) with serde alone: the reference [`parse_line`]
/// agrees with on every line (the crate's tests and the `trace_reader` fuzz target compare
/// them). Slower on input lines.
///
/// # Errors
/// As [`parse_line`].
pub fn parse_line_with_serde(text: &str) -> Result<Record, Problem> {
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
