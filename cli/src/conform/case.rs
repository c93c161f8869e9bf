//! A trace under test: a config and input lines, what is fed to both implementations, and
//! roomcore's outputs for it laid out as a vector.

use roomcore::check::Observed;
use roomcore::config::Config;
use roomcore::input::Input;
use roomcore::output::Stamped;
use roomcore::time::Millis;
use roomcore::trace::{write_input, write_output, Record, TraceError, TraceReader};
use roomcore::Engine;
use roomcore_testkit::transcript::config_line;
use serde_json::Value;

/// One input: its time and its `in` object as JSON (kept as JSON, not as an [`Input`]: an
/// id over 32 bytes would not survive the round trip, and a vector's inputs are fed as
/// written).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub at: u64,
    pub input: Value,
}

impl Line {
    /// The input as roomcore reads it.
    pub fn parsed(&self) -> Option<Input> {
        serde_json::from_value(self.input.clone()).ok()
    }

    /// The trace line: in roomcore's canonical form when that says exactly the same,
    /// otherwise the JSON as it is.
    fn text(&self) -> String {
        if let Some(input) = self.parsed() {
            if serde_json::to_value(&input).ok().as_ref() == Some(&self.input) {
                let mut buf = Vec::new();
                // Writing to memory cannot fail; inputs always serialize.
                write_input(&mut buf, Millis(self.at), &input).expect("writing to memory");
                return String::from_utf8_lossy(buf.trim_ascii_end()).into_owned();
            }
        }
        serde_json::json!({ "at": self.at, "in": self.input }).to_string()
    }
}

/// A trace under test.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub config: Config,
    pub inputs: Vec<Line>,
}

/// roomcore's outputs for a case, per input.
pub type Played = Vec<Vec<Stamped>>;

impl Case {
    /// The config and inputs of a trace (notes and output lines are dropped).
    pub fn parse(text: &str) -> Result<Case, TraceError> {
        let mut case = Case {
            config: Config::default(),
            inputs: Vec::new(),
        };
        let mut reader = TraceReader::new(text.as_bytes());
        while let Some((_, record)) = reader.next_record()? {
            match record {
                Record::Config(c) => case.config = *c,
                Record::Input { at, .. } => {
                    // The reader accepted the line, so it is an object with an `in` object.
                    let line: Value =
                        serde_json::from_str(reader.current_text()).unwrap_or(Value::Null);
                    let input = line.get("in").cloned().unwrap_or(Value::Null);
                    case.inputs.push(Line { at: at.0, input });
                }
                Record::Output(_) | Record::Note(_) => {}
            }
        }
        Ok(case)
    }

    /// The config line, when the config is not the default.
    pub fn config_line(&self) -> Option<String> {
        config_line(&self.config)
    }

    /// What the implementations read: the config line, then one line per input.
    pub fn fed(&self) -> String {
        let mut s = String::new();
        if let Some(c) = self.config_line() {
            s.push_str(&c);
            s.push('\n');
        }
        for l in &self.inputs {
            s.push_str(&l.text());
            s.push('\n');
        }
        s
    }

    /// roomcore's outputs, per input (what `roomcore replay` prints for [`Case::fed`]).
    pub fn play(&self) -> Played {
        let mut played = Vec::with_capacity(self.inputs.len());
        // A case's config was read from a trace line or made by the generator: valid. (The
        // shrinker only tries configs that validate.)
        let Ok(mut engine) = Engine::new(self.config.clone()) else {
            return played;
        };
        for l in &self.inputs {
            let mut out = Vec::new();
            let at = Millis(l.at);
            engine.handle_timeout(at, &mut out);
            if let Some(input) = l.parsed() {
                engine.handle_input(at, &input, &mut out);
            }
            played.push(out);
        }
        played
    }

    /// The case as a vector: `header` lines (notes) first, then the config, each input
    /// followed by roomcore's outputs.
    pub fn vector(&self, header: &[String], played: &Played) -> String {
        let mut s = String::new();
        for h in header {
            s.push_str(&serde_json::json!({ "note": h }).to_string());
            s.push('\n');
        }
        if let Some(c) = self.config_line() {
            s.push_str(&c);
            s.push('\n');
        }
        for (l, outs) in self.inputs.iter().zip(played) {
            s.push_str(&l.text());
            s.push('\n');
            let mut buf = Vec::new();
            for o in outs {
                // Writing to memory cannot fail; outputs always serialize.
                write_output(&mut buf, o).expect("writing to memory");
            }
            s.push_str(&String::from_utf8_lossy(&buf));
        }
        s
    }
}

/// Where each input and each of roomcore's outputs sits in [`Case::vector`] with `header`
/// note lines: the input lines, and roomcore's outputs as [`Observed`] lines.
pub struct Layout {
    pub input_lines: Vec<u64>,
    pub expected: Vec<Observed>,
}

impl Layout {
    pub fn new(case: &Case, played: &Played, header: usize) -> Layout {
        let mut line = header as u64 + u64::from(case.config_line().is_some());
        let mut input_lines = Vec::with_capacity(case.inputs.len());
        let mut expected = Vec::new();
        for outs in played {
            line += 1;
            let input_line = line;
            input_lines.push(input_line);
            for o in outs {
                line += 1;
                expected.push(Observed::from_stamped(input_line, line, o));
            }
        }
        Layout {
            input_lines,
            expected,
        }
    }

    /// The line of the last input at or before `at` (timer outputs carry their deadline,
    /// so they land on an input at or before the one that fired them), or the first one.
    pub fn input_line_at(&self, case: &Case, at: u64) -> u64 {
        let n = case.inputs.partition_point(|l| l.at <= at);
        let i = n.saturating_sub(1);
        self.input_lines.get(i).copied().unwrap_or(0)
    }
}
