//! The `roomcore` command: replay, check, render and record conformance traces, and (with no
//! arguments) play a built-in demo of the switch-room flow.
//!
//! Exit codes: 0 success; 1 a vector did not match; 2 bad usage or a trace that is not valid
//! (the message names the line and the problem).

use clap::{Parser, Subcommand, ValueEnum};
use roomcore::check::{check, skip_front_matter, CheckOptions, Report};
use roomcore::dialect::Dialect;
use roomcore::render::{Format, Renderer};
use roomcore::trace::{write_input, write_step_outputs, Player, Record, TraceError};
use roomcore::{Config, Engine, Input, Millis, RoomConfig, RoomId, RoomInfo, SessionId, UserId};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "roomcore",
    version,
    about = "Replay, check and render roomcore conformance traces (JSON Lines).",
    long_about = "Replay, check and render roomcore conformance traces (JSON Lines, described in \
                  docs/trace-format.md). Without a command, plays a built-in demo of the switch-room flow."
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

/// Why the command stopped.
enum Fail {
    /// Bad input (exit 2).
    Input(String),
    /// Vectors did not match (exit 1).
    Mismatch,
    /// Writing failed.
    Io(io::Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Io(e)
    }
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
        None => demo(),
        Some(Command::Replay { file, dialect }) => replay(&file, dialect.map(Dialect::from)),
        Some(Command::Check { vectors, strict }) => check_all(&vectors, strict),
        Some(Command::Render {
            file,
            format,
            dialect,
        }) => render(&file, format, dialect.map(Dialect::from)),
        Some(Command::Record { file }) => record(&file),
        Some(Command::GenTrace { n }) => gen_trace(n),
    }
}

fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// Opens a trace: a file (an insta snapshot holding a trace reads without its front matter),
/// or standard input for `-`.
fn open(file: &str) -> Result<Box<dyn BufRead>, Fail> {
    if file == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let f = File::open(file).map_err(|e| Fail::Input(format!("{file}: cannot open: {e}")))?;
    let unwrapped = skip_front_matter(BufReader::with_capacity(1 << 16, f))
        .map_err(|e| Fail::Input(format!("{file}: cannot read: {e}")))?;
    Ok(Box::new(unwrapped))
}

fn bad_trace(file: &str, e: &TraceError) -> Fail {
    Fail::Input(format!("{file}: {e}"))
}

/// Plays `input`, handing every step to `each`. Output already written stays written when a
/// later line is bad (callers' writers flush when dropped); the bad line applies nothing.
fn play(
    file: &str,
    input: Box<dyn BufRead>,
    mut each: impl FnMut(&roomcore::trace::Step<'_>) -> io::Result<()>,
) -> Result<(), Fail> {
    let mut player = Player::new(input);
    loop {
        match player.next_step() {
            Ok(Some(step)) => each(&step)?,
            Ok(None) => return Ok(()),
            Err(e) => return Err(bad_trace(file, &e)),
        }
    }
}

fn replay(file: &str, dialect: Option<Dialect>) -> Result<(), Fail> {
    let input = open(file)?;
    let mut w = stdout();
    play(file, input, |step| {
        write_step_outputs(&mut w, step, dialect)
    })?;
    w.flush()?;
    Ok(())
}

fn render(file: &str, format: FormatArg, dialect: Option<Dialect>) -> Result<(), Fail> {
    let format = match format {
        FormatArg::Text => Format::Text,
        FormatArg::Mermaid => Format::Mermaid,
    };
    let input = open(file)?;
    render_from(file, input, format, dialect)
}

fn render_from(
    file: &str,
    input: Box<dyn BufRead>,
    format: Format,
    dialect: Option<Dialect>,
) -> Result<(), Fail> {
    let mut renderer = Renderer::new(stdout(), format, dialect);
    let r = play(file, input, |step| renderer.step(step));
    renderer.finish()?;
    r
}

fn record(file: &str) -> Result<(), Fail> {
    let input = open(file)?;
    let mut w = stdout();
    play(file, input, |step| {
        if matches!(step.record, Record::Output(_)) {
            return Ok(());
        }
        writeln!(w, "{}", step.text)?;
        write_step_outputs(&mut w, step, None)
    })?;
    w.flush()?;
    Ok(())
}

// ---- check --------------------------------------------------------------------------------

/// The vector files named: files as given, directories expanded to their `.jsonl` vectors
/// and `.snap` snapshots in name order.
fn vector_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, Fail> {
    let mut files = Vec::new();
    for a in args {
        if !a.is_dir() {
            files.push(a.clone());
            continue;
        }
        let entries = std::fs::read_dir(a)
            .map_err(|e| Fail::Input(format!("{}: cannot list: {e}", a.display())))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl" || x == "snap"))
            .collect();
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn check_one(path: &Path, options: CheckOptions) -> Result<Report, String> {
    let f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let unwrapped = skip_front_matter(BufReader::new(f)).map_err(|e| e.to_string())?;
    check(unwrapped, options).map_err(|e| e.to_string())
}

fn check_all(args: &[PathBuf], strict: bool) -> Result<(), Fail> {
    let options = CheckOptions {
        compare_messages: strict,
    };
    let (mut passed, mut failed, mut invalid) = (0, 0, 0);
    let mut w = stdout();
    for path in vector_files(args)? {
        let name = path.display();
        match check_one(&path, options) {
            Ok(r) if r.passed() => {
                passed += 1;
                writeln!(
                    w,
                    "ok      {name} ({} inputs, {} outputs)",
                    r.inputs, r.outputs
                )?;
            }
            Ok(r) => {
                failed += 1;
                writeln!(w, "FAIL    {name}")?;
                for d in &r.divergences {
                    write!(w, "  {d}")?;
                }
            }
            Err(e) => {
                invalid += 1;
                writeln!(w, "INVALID {name}: {e}")?;
            }
        }
    }
    writeln!(w, "{passed} passed, {failed} failed, {invalid} invalid")?;
    w.flush()?;
    if invalid > 0 {
        Err(Fail::Input(format!(
            "{invalid} vector(s) are not valid traces"
        )))
    } else if failed > 0 {
        Err(Fail::Mismatch)
    } else {
        Ok(())
    }
}

// ---- demo ---------------------------------------------------------------------------------

/// The built-in demo: alice and bob in r1, carol in r2; alice switches r1 -> r2 while the
/// others watch; a switch to a missing room fails; bob leaves r1 and its destroy delay runs
/// out.
const DEMO: &str = include_str!("demo.jsonl");

fn demo() -> Result<(), Fail> {
    let mut w = stdout();
    writeln!(
        w,
        "roomcore demo: the switch-room flow (see `roomcore --help` for replay, check, render)\n"
    )?;
    w.flush()?;
    render_from("demo", Box::new(DEMO.as_bytes()), Format::Text, None)
}

// ---- gen-trace ----------------------------------------------------------------------------

/// Sessions and rooms the generated workload cycles through.
const GEN_SESSIONS: u32 = 5_000;
const GEN_ROOMS: u32 = 1_000;

/// A deterministic workload: an engine tracks the state so most commands are meaningful
/// (enter, switch and leave rooms the session is or is not in, messages, attributes, lost
/// links, logouts, ticks).
struct Gen {
    engine: Engine,
    state: u64,
    at: u64,
    request: u64,
    out: Vec<roomcore::Stamped>,
}

impl Gen {
    fn next_u32(&mut self, below: u32) -> u32 {
        // xorshift64*: a fixed seed, so the trace is the same every time.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        u32::try_from(x % u64::from(below.max(1))).unwrap_or(0)
    }

    fn request(&mut self) -> u64 {
        self.request += 1;
        self.request
    }

    fn room(&mut self) -> RoomId {
        let n = self.next_u32(GEN_ROOMS);
        RoomId::new(&format!("room-{n}"))
    }

    fn next_input(&mut self) -> Input {
        self.at += u64::from(self.next_u32(20));
        let k = self.next_u32(GEN_SESSIONS);
        let session = SessionId::new(&format!("s{k}"));
        let request = self.request();
        let Some(rooms) = self.engine.session_rooms(session) else {
            let user = UserId::new(&format!("u{k}"));
            return Input::Login {
                session,
                request,
                user,
            };
        };
        let joined = rooms.first().map(|r| r.0);
        let roll = self.next_u32(100);
        self.pick(session, request, joined, roll)
    }

    fn pick(
        &mut self,
        session: SessionId,
        request: u64,
        joined: Option<RoomId>,
        roll: u32,
    ) -> Input {
        match (roll, joined) {
            (0..=29, _) | (30..=79, None) => {
                let id = self.room();
                let config = roll.is_multiple_of(2).then(|| RoomConfig {
                    destroy_delay_s: 5,
                    ..RoomConfig::default()
                });
                let room = RoomInfo {
                    id,
                    name: String::new(),
                };
                Input::EnterRoom {
                    session,
                    request,
                    room,
                    config,
                }
            }
            (30..=44, Some(from)) => {
                let to = RoomInfo {
                    id: self.room(),
                    name: String::new(),
                };
                Input::SwitchRoom {
                    session,
                    request,
                    from,
                    to,
                    create_if_missing: true,
                    config: None,
                }
            }
            (45..=54, Some(room_id)) => Input::LeaveRoom {
                session,
                request,
                room_id,
            },
            (55..=74, Some(room_id)) => Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload: format!("hello {request}"),
            },
            (75..=79, Some(room_id)) => Input::QueryMembers {
                session,
                request,
                room_id,
                next: String::new(),
                count: 20,
            },
            _ => Self::rare(session, request, roll),
        }
    }

    fn rare(session: SessionId, request: u64, roll: u32) -> Input {
        match roll {
            80..=84 => Input::LinkLost { session },
            85..=89 => Input::LinkRestored { session },
            90..=91 => Input::Logout { session, request },
            _ => Input::Tick,
        }
    }
}

fn gen_trace(n: u64) -> Result<(), Fail> {
    let engine = Engine::new(Config::default()).map_err(|e| Fail::Input(e.to_string()))?;
    let mut g = Gen {
        engine,
        state: 0x9E37_79B9_7F4A_7C15,
        at: 0,
        request: 0,
        out: Vec::new(),
    };
    let mut w = stdout();
    for _ in 0..n {
        let input = g.next_input();
        let at = Millis(g.at);
        g.out.clear();
        g.engine.handle_input(at, &input, &mut g.out);
        write_input(&mut w, at, &input)?;
    }
    w.flush()?;
    Ok(())
}
