//! Writing lines: inputs and outputs as trace lines, and outputs in a vendor's dialect.

use super::encode;
use super::output_writer::OutputWriter;
use super::play::Step;
use crate::dialect::{self, Dialect};
use crate::ids::SessionId;
use crate::input::Input;
use crate::output::{Outputs, Stamped, To};
use crate::time::Millis;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::io::{self, Write};

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
    if let Some(To::Sessions(_)) = s.output.to() {
        // serde refuses it, with the error a caller has always had.
        let r = serde_json::to_writer(&mut *w, s);
        return finish_line(w, r);
    }
    let mut line = Vec::with_capacity(256);
    encode::line(&mut line, s);
    w.write_all(&line)
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
///
/// # Panics
/// When the output is addressed to a run of sessions ([`To::Sessions`]): a trace line names
/// one session, so such an output is written with [`write_outputs`] or [`AddressedLine`].
#[must_use]
pub fn output_line(s: &Stamped) -> String {
    // Outputs hold only strings, numbers and string-keyed maps: the one way serializing
    // fails is an addressee that is a run, which the caller must resolve first.
    serde_json::to_string(s).expect("an output line names one session (resolve a run first)")
}

/// An output line as a JSON value (for comparing expected and actual outputs).
#[must_use]
pub fn to_value(s: &Stamped) -> serde_json::Value {
    // As for `output_line`: cannot fail.
    serde_json::to_value(s).unwrap_or(serde_json::Value::Null)
}

/// The trace lines of one output for each session it goes to, serialized once: the line is
/// written for a placeholder session and each recipient's line is the same bytes with its
/// own session id in place (what a `Vec<Stamped>` sink, and so every trace, holds).
#[derive(Debug, Clone)]
pub struct AddressedLine {
    /// The line, addressed to the placeholder.
    line: String,
    /// Where the placeholder's JSON string starts; it is [`PLACEHOLDER_JSON`] long.
    cut: usize,
}

/// The placeholder session's id as JSON.
const PLACEHOLDER_JSON: &str = "\"_\"";

impl AddressedLine {
    /// The line of `s` (a member event; its addressee is replaced) without its session id.
    #[must_use]
    pub fn new(s: &Stamped) -> AddressedLine {
        let line = output_line(&Stamped {
            at: s.at,
            output: s.output.addressed(To::Session(SessionId::from("_"))),
        });
        // The `session` field is the first string-valued field of an output line
        // (`{"at":N,"out":{"type":"...","session":`), so its first occurrence is the
        // addressee's.
        let key = "\"session\":";
        let cut = line
            .find(key)
            .expect("a member event's line holds its addressee")
            + key.len();
        debug_assert_eq!(
            line.get(cut..cut + PLACEHOLDER_JSON.len()),
            Some(PLACEHOLDER_JSON)
        );
        AddressedLine { line, cut }
    }

    /// Writes the line (no newline) for `session`.
    ///
    /// # Errors
    /// When writing fails.
    pub fn write_for<W: Write>(&self, w: &mut W, session: SessionId) -> io::Result<()> {
        w.write_all(&self.line.as_bytes()[..self.cut])?;
        let id = session.as_str();
        // A session id the engine accepted is printable ASCII without quotes or
        // backslashes, so JSON needs no escapes; anything else goes through serde_json.
        if id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            w.write_all(b"\"")?;
            w.write_all(id.as_bytes())?;
            w.write_all(b"\"")?;
        } else {
            serde_json::to_writer(&mut *w, &session).map_err(io::Error::from)?;
        }
        w.write_all(&self.line.as_bytes()[self.cut + PLACEHOLDER_JSON.len()..])
    }

    /// The line (no newline) for `session`.
    #[must_use]
    pub fn line_for(&self, session: SessionId) -> String {
        let mut buf = Vec::with_capacity(self.line.len() + 40);
        // Writing to memory cannot fail.
        self.write_for(&mut buf, session).unwrap_or_default();
        // Both halves come from one valid UTF-8 line, cut at ASCII quotes.
        String::from_utf8(buf).expect("a line stays UTF-8")
    }
}

/// Writes every output of an [`Outputs`] buffer as trace lines, one per recipient: the same
/// bytes as writing [`Outputs::expanded`] line by line, with each member event serialized
/// once however many sessions it goes to. An [`OutputWriter`](super::OutputWriter) does the
/// same through a buffer it keeps from one call to the next.
///
/// # Errors
/// When writing fails.
pub fn write_outputs<W: Write>(w: &mut W, outputs: &Outputs) -> io::Result<()> {
    let mut writer = OutputWriter::with_capacity(w, 0);
    writer.write_outputs(outputs)?;
    writer.finish()
}
