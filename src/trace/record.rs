//! One line of a trace, and what makes a line invalid.

use crate::config::Config;
use crate::input::Input;
use crate::output::Stamped;
use crate::time::Millis;

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
    pub(super) fn new(line: u64, problem: Problem) -> TraceError {
        TraceError { line, problem }
    }
}
