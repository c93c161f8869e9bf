//! Human-readable views of a played trace: a per-step text table, or a mermaid sequence
//! diagram with the sessions and the server as participants. Either can show outputs in a
//! vendor's vocabulary instead of the canonical one.

use crate::dialect::{self, Dialect};
use crate::ids::SessionId;
use crate::input::Input;
use crate::output::{Recipient, Stamped};
use crate::trace::{Record, Step};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

mod describe;
use describe::vendor_text;
pub use describe::{describe_input, describe_output};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table: one row per input, then one per output.
    Text,
    /// A mermaid `sequenceDiagram`.
    Mermaid,
}

/// Writes played steps in one of the [`Format`]s.
#[derive(Debug)]
pub struct Renderer<W> {
    w: W,
    format: Format,
    dialect: Option<Dialect>,
    /// Mermaid participant aliases, in order of appearance.
    participants: BTreeMap<SessionId, usize>,
    started: bool,
}

impl<W: Write> Renderer<W> {
    /// A renderer writing to `w`.
    pub fn new(w: W, format: Format, dialect: Option<Dialect>) -> Renderer<W> {
        Renderer {
            w,
            format,
            dialect,
            participants: BTreeMap::new(),
            started: false,
        }
    }

    /// Writes one step.
    ///
    /// # Errors
    /// When writing fails.
    pub fn step(&mut self, step: &Step<'_>) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.header()?;
        }
        match self.format {
            Format::Text => self.text_step(step),
            Format::Mermaid => self.mermaid_step(step),
        }
    }

    /// Finishes the document and returns the writer.
    ///
    /// # Errors
    /// When writing fails.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.started {
            self.header()?;
        }
        self.w.flush()?;
        Ok(self.w)
    }

    fn header(&mut self) -> io::Result<()> {
        match self.format {
            Format::Text => writeln!(self.w, "{:>5} {:>8}  {:<10} what", "line", "at", "who"),
            Format::Mermaid => writeln!(self.w, "sequenceDiagram\n    participant server"),
        }
    }

    /// What to show for an output: the canonical description, or the vendor callbacks.
    fn output_text(&self, s: &Stamped, cause: Option<&Input>) -> String {
        let canonical = describe_output(&s.output);
        let Some(d) = self.dialect else {
            return canonical;
        };
        let views = dialect::view(d, &s.output, cause);
        if views.is_empty() {
            return format!("({d}: none) {canonical}");
        }
        let v: Vec<String> = views.iter().map(vendor_text).collect();
        v.join("; ")
    }

    fn text_step(&mut self, step: &Step<'_>) -> io::Result<()> {
        let line = step.line;
        match &step.record {
            Record::Note(n) => writeln!(self.w, "{line:>5}  # {}", terminal_text(n)),
            Record::Config(_) => {
                let config = terminal_text(step.text.trim());
                writeln!(self.w, "{line:>5}  config {config}")
            }
            Record::Output(_) => Ok(()),
            Record::Input { at, input } => {
                // Due timers fire before the input: show their outputs first.
                self.text_outputs(step, 0..step.fired)?;
                let who = input
                    .session()
                    .map_or_else(|| admin_or_time(input), |s| s.to_string());
                let at = at.as_ms();
                let (who, what) = (terminal_text(&who), terminal_text(&describe_input(input)));
                writeln!(self.w, "{line:>5} {at:>8}  {who:<10} > {what}")?;
                self.text_outputs(step, step.fired..step.outputs.len())
            }
        }
    }

    fn text_outputs(&mut self, step: &Step<'_>, range: std::ops::Range<usize>) -> io::Result<()> {
        for (i, s) in step
            .outputs
            .iter()
            .enumerate()
            .take(range.end)
            .skip(range.start)
        {
            let timer = i < step.fired;
            let cause = if timer { None } else { step.input() };
            let who = match s.output.recipient() {
                Recipient::Room(room_id) => format!("room:{room_id}"),
                Recipient::Session(x) => x.to_string(),
                // A trace lists one output per recipient: a run is never rendered.
                r @ Recipient::Sessions(_) => r.to_string(),
                Recipient::Service => "server".to_owned(),
            };
            let mark = if timer { "  [timer]" } else { "" };
            let (who, text) = (
                terminal_text(&who),
                terminal_text(&self.output_text(s, cause)),
            );
            let at = s.at.as_ms();
            writeln!(self.w, "{:>5} {at:>8}  {who:<10} < {text}{mark}", "")?;
        }
        Ok(())
    }

    fn participant(&mut self, s: SessionId) -> io::Result<String> {
        if let Some(n) = self.participants.get(&s) {
            return Ok(format!("p{n}"));
        }
        let n = self.participants.len() + 1;
        self.participants.insert(s, n);
        writeln!(
            self.w,
            "    participant p{n} as {}",
            mermaid_text(s.as_str())
        )?;
        Ok(format!("p{n}"))
    }

    fn mermaid_step(&mut self, step: &Step<'_>) -> io::Result<()> {
        match &step.record {
            Record::Note(n) => writeln!(self.w, "    Note over server: {}", mermaid_text(n)),
            Record::Config(_) | Record::Output(_) => Ok(()),
            Record::Input { at, input } => {
                // Due timers fire before the input: show their outputs first.
                self.mermaid_outputs(step, 0..step.fired)?;
                let text = mermaid_text(&format!("[{}] {}", at.as_ms(), describe_input(input)));
                match input.session() {
                    Some(s) => {
                        let p = self.participant(s)?;
                        writeln!(self.w, "    {p}->>server: {text}")?;
                    }
                    None => writeln!(
                        self.w,
                        "    Note over server: {} {text}",
                        admin_or_time(input)
                    )?,
                }
                self.mermaid_outputs(step, step.fired..step.outputs.len())
            }
        }
    }

    fn mermaid_outputs(
        &mut self,
        step: &Step<'_>,
        range: std::ops::Range<usize>,
    ) -> io::Result<()> {
        for (i, s) in step
            .outputs
            .iter()
            .enumerate()
            .take(range.end)
            .skip(range.start)
        {
            let timer = i < step.fired;
            let cause = if timer { None } else { step.input() };
            let mark = if timer {
                format!("timer at {}: ", s.at.as_ms())
            } else {
                String::new()
            };
            let text = mermaid_text(&format!("{mark}{}", self.output_text(s, cause)));
            match s.output.session() {
                Some(x) => {
                    let p = self.participant(x)?;
                    writeln!(self.w, "    server-->>{p}: {text}")?;
                }
                None => writeln!(self.w, "    Note over server: {text}")?,
            }
        }
        Ok(())
    }
}

/// Who sends an input that has no session: the admin API, or time itself.
fn admin_or_time(input: &Input) -> String {
    match input {
        Input::Tick => "time".to_owned(),
        _ => "admin".to_owned(),
    }
}

/// Text safe inside a mermaid message: entity codes for the characters mermaid treats
/// specially, spaces for control characters.
#[must_use]
pub fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '%' => out.push_str("#37;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text safe on a terminal: control characters (escape sequences, carriage returns) from
/// ids, names or payloads of a trace are shown as `\u{..}` escapes instead of being
/// written raw.
#[must_use]
pub fn terminal_text(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .fold(String::with_capacity(s.len()), |mut out, c| {
            if c.is_control() {
                let _ = write!(out, "{}", c.escape_unicode());
            } else {
                out.push(c);
            }
            out
        })
}

#[cfg(test)]
mod terminal_tests {
    use super::terminal_text;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(terminal_text("room-1 é"), "room-1 é");
        assert_eq!(terminal_text("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\u{d}");
        assert_eq!(terminal_text("\u{9b}x"), "\\u{9b}x");
    }

    #[test]
    fn a_rendered_text_table_carries_no_raw_escape_sequence() {
        let trace = concat!(
            r#"{"note":"clear \u001b[2J"}"#,
            "\n",
            r#"{"at":0,"in":{"type":"login","session":"s\u001b[31m","request":1,"user":"u\u001b]0;x\u0007"}}"#,
            "\n",
        );
        let mut player = crate::trace::Player::new(trace.as_bytes());
        let mut r = super::Renderer::new(Vec::new(), super::Format::Text, None);
        while let Some(step) = player.next_step().expect("a valid trace") {
            r.step(&step).expect("writing to a Vec");
        }
        let text = String::from_utf8(r.finish().expect("writing to a Vec")).expect("utf-8");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("s\\u{1b}[31m"), "{text}");
    }
}
