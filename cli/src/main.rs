//! The `roomcore` command: replay, check, render and record conformance traces; write seeded
//! random traces (`gen`); test another implementation against roomcore (`conform`); and
//! (with no arguments) play a built-in demo of the switch-room flow.
//!
//! Exit codes: 0 success; 1 a vector did not match, or the implementation under test
//! diverged; 2 bad usage, a trace that is not valid (the message names the line and the
//! problem), or an implementation under test that failed to run (crashed, hung, printed
//! something that is not an output line).

#![forbid(unsafe_code)]

mod conform;
mod fail;
mod gen;
mod tools;
mod vectors;
mod workload;

use clap::{Parser, Subcommand, ValueEnum};
use fail::Fail;
use roomcore::dialect::Dialect;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "roomcore",
    version,
    about = "Replay, check and render roomcore conformance traces (JSON Lines); test other implementations against roomcore.",
    long_about = "Replay, check and render roomcore conformance traces (JSON Lines, described in \
                  docs/trace-format.md); generate seeded random traces and test another \
                  implementation against roomcore (docs/conformance.md). Without a command, \
                  plays a built-in demo of the switch-room flow."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Play a trace and print one `{"at":N,"out":{...}}` line per output, in emission order.
    Replay {
        /// The trace file, or `-` for standard input.
        file: String,
        /// Add each output's callbacks in a vendor's vocabulary.
        #[arg(long)]
        dialect: Option<DialectArg>,
    },
    /// Run vectors and report, per session, the first output that differs.
    Check {
        /// Vector files (a `.snap` snapshot holding a trace counts), or directories of `.jsonl`
        /// vectors and `.snap` snapshots.
        #[arg(required = true)]
        vectors: Vec<PathBuf>,
        /// Also compare the `message` of error replies.
        #[arg(long)]
        strict: bool,
    },
    /// Show a trace as a per-step table or a mermaid sequence diagram.
    Render {
        /// The trace file, or `-` for standard input.
        file: String,
        /// `text` (a table) or `mermaid` (a sequence diagram).
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
        /// Show outputs in a vendor's vocabulary.
        #[arg(long)]
        dialect: Option<DialectArg>,
    },
    /// Turn a trace into a vector: every line echoed, each input followed by its outputs
    /// (existing output lines are replaced).
    Record {
        /// The trace file, or `-` for standard input.
        file: String,
    },
    /// Write one seeded random trace (config and inputs) from the generator of roomcore's
    /// model lockstep test: the same arguments give the same bytes.
    Gen(gen::GenArgs),
    /// Run the published vectors and seeded random traces through another implementation
    /// and through roomcore, compare the outputs per recipient, and shrink the first
    /// divergence to a small vector.
    Conform(conform::ConformArgs),
    /// Write a deterministic trace of N inputs (for measuring replay).
    #[command(hide = true)]
    GenTrace {
        /// How many inputs.
        n: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DialectArg {
    Zim,
    Trtc,
    Bytedance,
    Livekit,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Dialect {
        match d {
            DialectArg::Zim => Dialect::Zim,
            DialectArg::Trtc => Dialect::Trtc,
            DialectArg::Bytedance => Dialect::ByteDance,
            DialectArg::Livekit => Dialect::LiveKit,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Mermaid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Mismatch) => ExitCode::from(1),
        Err(Fail::Input(msg)) => {
            eprintln!("roomcore: {msg}");
            ExitCode::from(2)
        }
        // A closed pipe (`roomcore replay big | head`) is the reader's choice, not a failure.
        Err(Fail::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Fail::Io(e)) => {
            eprintln!("roomcore: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Option<Command>) -> Result<(), Fail> {
    match command {
        None => tools::demo(),
        Some(Command::Replay { file, dialect }) => tools::replay(&file, dialect.map(Dialect::from)),
        Some(Command::Check { vectors, strict }) => vectors::check_all(&vectors, strict),
        Some(Command::Render {
            file,
            format,
            dialect,
        }) => {
            let format = match format {
                FormatArg::Text => roomcore::render::Format::Text,
                FormatArg::Mermaid => roomcore::render::Format::Mermaid,
            };
            tools::render(&file, format, dialect.map(Dialect::from))
        }
        Some(Command::Record { file }) => tools::record(&file),
        Some(Command::Gen(args)) => gen::run(&args),
        Some(Command::Conform(args)) => conform::run(&args),
        Some(Command::GenTrace { n }) => workload::gen_trace(n),
    }
}
