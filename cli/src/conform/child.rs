//! Running the implementation under test: a shell command fed a trace on standard input,
//! its standard output collected, within a time limit and an output limit. The command runs
//! in a process group of its own, so a timeout kills whatever it started too.

use std::io::{self, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The most standard output one run may print.
pub const MAX_OUTPUT_BYTES: u64 = 256 << 20;

/// How much of the command's standard error a failure report quotes (its end).
const STDERR_TAIL_BYTES: usize = 2048;

/// Why a run gave no usable output.
#[derive(Debug)]
pub enum RunError {
    /// The command could not be started.
    Spawn(io::Error),
    /// It ran past the time limit (and was killed).
    Timeout(Duration),
    /// It exited unsuccessfully (or was killed by a signal); the end of its standard error.
    Exit(ExitStatus, String),
    /// It printed more than [`MAX_OUTPUT_BYTES`] (and was killed).
    TooMuchOutput,
    /// Waiting for it failed.
    Io(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "could not be started: {e}"),
            RunError::Timeout(t) => write!(
                f,
                "did not finish within {} ms (killed; raise --timeout-ms if it is only slow)",
                t.as_millis()
            ),
            RunError::Exit(status, stderr) => {
                write!(f, "failed ({status})")?;
                if !stderr.trim().is_empty() {
                    write!(f, "; its standard error ends with:\n{}", stderr.trim_end())?;
                }
                Ok(())
            }
            RunError::TooMuchOutput => {
                write!(f, "printed more than {MAX_OUTPUT_BYTES} bytes (killed)")
            }
            RunError::Io(e) => write!(f, "could not be waited for: {e}"),
        }
    }
}

/// The implementation under test.
#[derive(Debug, Clone)]
pub struct Impl {
    /// The shell command.
    pub command: String,
    /// The limit per run.
    pub timeout: Duration,
}

/// What a pipe reader hands back.
enum Collected {
    Bytes(Vec<u8>),
    Overflow,
}

impl Impl {
    /// Runs the command with `input` on its standard input; returns its standard output.
    pub fn run(&self, input: &str) -> Result<String, RunError> {
        let mut child = self.spawn().map_err(RunError::Spawn)?;
        let deadline = Instant::now() + self.timeout;
        let pid = child.id();
        if let Some(mut stdin) = child.stdin.take() {
            let bytes = input.as_bytes().to_vec();
            // A command may stop reading early (it crashed, or needs no more): a closed pipe
            // is its business, seen in its exit status.
            thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let out = child.stdout.take().map(|s| reader(s, pid));
        let err = child.stderr.take().map(tail_reader);
        let (tx, exited) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = match exited.recv_timeout(self.timeout) {
            Ok(status) => status.map_err(RunError::Io)?,
            Err(_) => {
                kill_group(pid);
                return Err(RunError::Timeout(self.timeout));
            }
        };
        // The pipes close when the command and everything it started are done; something
        // left running in the background with them open counts against the time limit.
        let stdout = match out
            .map(|r| collect(&r, pid, deadline, self.timeout))
            .transpose()?
        {
            Some(Collected::Overflow) => return Err(RunError::TooMuchOutput),
            Some(Collected::Bytes(b)) => b,
            None => Vec::new(),
        };
        let stderr = match err
            .map(|r| collect(&r, pid, deadline, self.timeout))
            .transpose()?
        {
            Some(Collected::Bytes(b)) => b,
            _ => Vec::new(),
        };
        if !status.success() {
            return Err(RunError::Exit(
                status,
                String::from_utf8_lossy(&stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    }

    fn spawn(&self) -> io::Result<std::process::Child> {
        let mut c = shell(&self.command);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
        }
        c.spawn()
    }
}

/// What a reader collected, waiting at most until `deadline`.
fn collect(
    r: &Receiver<Collected>,
    pid: u32,
    deadline: Instant,
    limit: Duration,
) -> Result<Collected, RunError> {
    let left = deadline.saturating_duration_since(Instant::now());
    match r.recv_timeout(left) {
        Ok(read) => Ok(read),
        Err(RecvTimeoutError::Timeout) => {
            kill_group(pid);
            Err(RunError::Timeout(limit))
        }
        Err(RecvTimeoutError::Disconnected) => {
            Err(RunError::Io(io::Error::other("a pipe reader stopped")))
        }
    }
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(command);
    c
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut c = Command::new("cmd");
    c.arg("/C").arg(command);
    c
}

/// Kills the command's process group (made at spawn: it holds whatever the shell started).
#[cfg(unix)]
fn kill_group(pid: u32) {
    quietly(Command::new("kill").args(["-s", "KILL", "--", &format!("-{pid}")]));
}

/// Kills the command and the processes it started.
#[cfg(not(unix))]
fn kill_group(pid: u32) {
    quietly(Command::new("taskkill").args(["/T", "/F", "/PID", &pid.to_string()]));
}

/// Runs a helper command, its output and failure ignored (the process may be gone already).
fn quietly(c: &mut Command) {
    let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// Reads standard output to its end on a thread of its own; past [`MAX_OUTPUT_BYTES`] it
/// kills the command and reports the overflow.
fn reader<R: Read + Send + 'static>(pipe: R, pid: u32) -> Receiver<Collected> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.take(MAX_OUTPUT_BYTES + 1).read_to_end(&mut buf);
        let read = if buf.len() as u64 > MAX_OUTPUT_BYTES {
            kill_group(pid);
            Collected::Overflow
        } else {
            Collected::Bytes(buf)
        };
        let _ = tx.send(read);
    });
    rx
}

/// Reads standard error to its end on a thread of its own, keeping only its last
/// [`STDERR_TAIL_BYTES`].
fn tail_reader<R: Read + Send + 'static>(mut pipe: R) -> Receiver<Collected> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => kept.extend_from_slice(&chunk[..n]),
            }
            if kept.len() > 2 * STDERR_TAIL_BYTES {
                kept.drain(..kept.len() - STDERR_TAIL_BYTES);
            }
        }
        let mut tail = kept.split_off(kept.len().saturating_sub(STDERR_TAIL_BYTES));
        // Drop a character cut in half at the start.
        while tail.first().is_some_and(|b| b & 0xC0 == 0x80) {
            tail.remove(0);
        }
        let _ = tx.send(Collected::Bytes(tail));
    });
    rx
}
