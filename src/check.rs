//! The conformance checker: plays a vector (a trace whose inputs are each followed by the
//! outputs they must cause) and reports, per recipient, the first place the engine's outputs
//! differ from the expected ones.
//!
//! Outputs are compared per recipient (each session, and the server for `room_created`,
//! `room_destroyed` and `admin_reply`), in order, input by input: docs/trace-format.md fixes the
//! order each recipient sees, not the interleaving between recipients. An output must follow the
//! same input in both. Once a recipient diverges its later outputs are not compared (they
//! would only repeat the first difference). Error `message`s are prose, not contract: they are
//! compared only with [`CheckOptions::compare_messages`]. A field the expected line does not
//! name is not compared: the format grows by new optional fields, and a vector written
//! before one was added keeps passing.
//!
//! The same rules compare two whole output streams ([`compare_streams`]): what `roomcore
//! conform` does with another implementation's outputs and roomcore's, where the paging
//! cursors are each implementation's own ([`CheckOptions::opaque_cursors`]).
//!
//! A vector may also be an insta snapshot (`.snap`) holding a trace: [`skip_front_matter`]
//! reads its YAML front matter as blank lines, so the crate's golden transcripts are vectors
//! too, and line numbers still point into the file.

mod streams;

pub use streams::{compare_streams, Observed};

use crate::output::{Recipient, Stamped};
use crate::trace::{Player, Record, TraceError, MAX_LINE_BYTES};
use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, BufRead, Chain, Cursor, Read};

/// The most lines a snapshot's front matter may have (insta writes four or five).
pub const MAX_FRONT_MATTER_LINES: usize = 64;

/// Reads a trace that may be wrapped in an insta snapshot: when the first line is `---`, every
/// line through the next `---` line reads as a blank line (so later line numbers still match
/// the file); anything else reads unchanged. A front matter that does not close within
/// [`MAX_FRONT_MATTER_LINES`] lines, or has a line longer than a trace line may be, is given
/// back as it is (and is then reported as a bad trace line).
///
/// # Errors
/// When reading fails.
pub fn skip_front_matter<R: BufRead>(mut inner: R) -> io::Result<Chain<Cursor<Vec<u8>>, R>> {
    let mut consumed = Vec::new();
    let mut lines = 0;
    loop {
        let start = consumed.len();
        let limit = MAX_LINE_BYTES as u64 + 2;
        (&mut inner).take(limit).read_until(b'\n', &mut consumed)?;
        let line = &consumed[start..];
        let whole = line.ends_with(b"\n");
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let fence = text == b"---";
        lines += 1;
        let opening = lines == 1;
        if (opening && !fence) || !whole || lines > MAX_FRONT_MATTER_LINES {
            // Not a snapshot, or not one we can skip: the reader sees every byte.
            return Ok(Cursor::new(consumed).chain(inner));
        }
        if fence && !opening {
            return Ok(Cursor::new(vec![b'\n'; lines]).chain(inner));
        }
    }
}

/// How strictly to compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Also compare the `message` of error replies (the crate's own vectors do).
    pub compare_messages: bool,
    /// Compare the `next` cursor of member query replies only as present or absent: its
    /// encoding is each implementation's own (`roomcore conform` compares this way).
    pub opaque_cursors: bool,
}

/// The first difference seen by one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Who.
    pub recipient: Recipient,
    /// The line of the input after which it happened.
    pub input_line: u64,
    /// The expected output line (its line number and text); `None`: an extra output.
    pub expected: Option<(u64, String)>,
    /// The actual output line; `None`: a missing output.
    pub actual: Option<String>,
    /// Field by field, where the two differ.
    pub differences: Vec<String>,
    /// Expected outputs of that recipient, for that input, never produced (from this one on).
    pub missing: usize,
    /// Actual outputs of that recipient, for that input, not expected (from this one on).
    pub extra: usize,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match (&self.expected, &self.actual) {
            (Some(_), Some(_)) => "differs",
            (Some(_), None) => "missing output",
            _ => "extra output",
        };
        writeln!(
            f,
            "{}: {what} after the input on line {}",
            self.recipient, self.input_line
        )?;
        match &self.expected {
            Some((line, text)) => writeln!(f, "    expected (line {line}): {text}")?,
            None => writeln!(f, "    expected: nothing more")?,
        }
        match &self.actual {
            Some(text) => writeln!(f, "    actual:            {text}")?,
            None => writeln!(f, "    actual:   nothing more")?,
        }
        for d in &self.differences {
            writeln!(f, "    - {d}")?;
        }
        if self.missing > 1 || self.extra > 1 {
            writeln!(
                f,
                "    ({} expected and {} actual outputs unmatched after that input)",
                self.missing, self.extra
            )?;
        }
        Ok(())
    }
}

/// The result of checking one vector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Inputs played.
    pub inputs: u64,
    /// Outputs the engine produced.
    pub outputs: u64,
    /// At most one per recipient, in the order found.
    pub divergences: Vec<Divergence>,
}

impl Report {
    /// Whether every output matched.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.divergences.is_empty()
    }
}

/// One input with what it did and what it should have done.
struct Pending {
    input_line: u64,
    actual: Vec<Stamped>,
    expected: Vec<(u64, Stamped)>,
}

/// Checks the vector read from `inner`.
///
/// # Errors
/// The first line that is not a valid trace line.
pub fn check<R: BufRead>(inner: R, options: CheckOptions) -> Result<Report, TraceError> {
    let mut player = Player::new(inner);
    let mut checker = Checker {
        options,
        diverged: BTreeSet::new(),
        report: Report::default(),
    };
    let mut pending: Option<Pending> = None;
    while let Some(step) = player.next_step()? {
        match step.record {
            Record::Input { .. } => {
                if let Some(p) = pending.take() {
                    checker.compare(&p);
                }
                checker.report.inputs += 1;
                checker.report.outputs += step.outputs.len() as u64;
                pending = Some(Pending {
                    input_line: step.line,
                    actual: step.outputs.to_vec(),
                    expected: Vec::new(),
                });
            }
            Record::Output(s) => {
                if let Some(p) = pending.as_mut() {
                    p.expected.push((step.line, s));
                }
            }
            Record::Config(_) | Record::Note(_) => {}
        }
    }
    if let Some(p) = pending.take() {
        checker.compare(&p);
    }
    Ok(checker.report)
}

struct Checker {
    options: CheckOptions,
    diverged: BTreeSet<Recipient>,
    report: Report,
}

impl Checker {
    fn compare(&mut self, p: &Pending) {
        let expected: Vec<Observed> = p
            .expected
            .iter()
            .map(|(line, s)| Observed::from_stamped(p.input_line, *line, s))
            .collect();
        let actual: Vec<Observed> = p
            .actual
            .iter()
            .map(|s| Observed::from_stamped(p.input_line, 0, s))
            .collect();
        for d in streams::divergences(&expected, &actual, self.options, &self.diverged) {
            self.diverged.insert(d.recipient);
            self.report.divergences.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrapped(text: &str) -> String {
        let mut out = String::new();
        skip_front_matter(text.as_bytes())
            .and_then(|mut r| r.read_to_string(&mut out))
            .expect("reads");
        out
    }

    #[test]
    fn front_matter_reads_as_blank_lines() {
        let snap = "---\nsource: tests/it/x.rs\nexpression: t.jsonl()\n---\n{\"at\":0}\n";
        assert_eq!(unwrapped(snap), "\n\n\n\n{\"at\":0}\n");
        let crlf = "---\r\na: b\r\n---\r\nx\r\n";
        assert_eq!(unwrapped(crlf), "\n\n\nx\r\n");
    }

    #[test]
    fn anything_else_reads_unchanged() {
        for text in [
            "{\"at\":0}\n---\n",
            "",
            "--- \nx\n---\n",
            "---\nnever closed\n",
            "---",
        ] {
            assert_eq!(unwrapped(text), text);
        }
        let long = format!("---\n{}\n---\n", "x".repeat(MAX_LINE_BYTES + 5));
        assert_eq!(unwrapped(&long), long);
    }

    #[test]
    fn a_snapshot_checks_with_line_numbers_of_the_file() {
        let snap = "---\nsource: x\n---\n{\"at\":0,\"in\":{\"type\":\"tick\"}}\n{\"at\":0,\"out\":{\"type\":\"room_created\",\"room_id\":\"r\"}}\n";
        let report = check(
            skip_front_matter(snap.as_bytes()).expect("reads"),
            CheckOptions::default(),
        )
        .expect("valid");
        assert_eq!(report.inputs, 1);
        assert_eq!(report.divergences.len(), 1);
        assert_eq!(report.divergences[0].input_line, 4);
        assert_eq!(
            report.divergences[0].expected.as_ref().map(|e| e.0),
            Some(5)
        );
    }
}
