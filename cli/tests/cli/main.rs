//! The `roomcore` command, run as a program: replay, check, render, record, the demo and bad
//! input (`tools`); seeded traces (`gen`); another implementation tested against roomcore,
//! with shrinking (`conform`).

mod conform;
mod gen;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_roomcore");

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The repository's root (the vectors and the demo trace live there).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is inside the repository")
        .to_path_buf()
}

pub fn run(args: &[&str], stdin: &[u8]) -> Run {
    run_in(&std::env::temp_dir(), args, stdin)
}

/// Runs the binary in `dir`.
pub fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    // Standard input comes from a file, so a child that writes a lot before reading
    // everything (or stops reading at a bad line) can never block on us.
    let input = temp_file(stdin);
    let file = std::fs::File::open(&input).expect("temp file readable");
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::from(file))
        .output()
        .expect("binary runs");
    let _ = std::fs::remove_file(input);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn vector(name: &str) -> PathBuf {
    repo().join("tests/vectors").join(name)
}

pub fn vector_path(name: &str) -> String {
    vector(name).to_string_lossy().into_owned()
}

/// A scratch path, unique per call.
pub fn temp_path(ext: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("roomcore-cli-{}-{n}.{ext}", std::process::id()))
}

/// A scratch file with `content`, unique per call.
pub fn temp_file(content: &[u8]) -> PathBuf {
    let path = temp_path("jsonl");
    std::fs::write(&path, content).expect("temp file written");
    path
}
