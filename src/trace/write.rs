//! Writing lines: inputs and outputs as trace lines, and outputs in a vendor's dialect.

use super::play::Step;
use crate::dialect::{self, Dialect};
use crate::input::Input;
use crate::output::Stamped;
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
