//! Why a command stopped, and its exit code.

use std::io;

/// Why the command stopped.
pub enum Fail {
    /// Bad input, or an implementation under test that failed to run (exit 2).
    Input(String),
    /// Vectors did not match, or the implementation under test diverged (exit 1).
    Mismatch,
    /// Writing failed.
    Io(io::Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Io(e)
    }
}
