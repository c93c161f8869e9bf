//! Replay, render, record and the demo: a trace played through roomcore, its outputs
//! written one way or another.

use crate::fail::Fail;
use roomcore::check::skip_front_matter;
use roomcore::dialect::Dialect;
use roomcore::render::{Format, Renderer};
use roomcore::trace::{write_step_outputs, OutputWriter, Player, Record, Step};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};

pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// Opens a trace: a file (an insta snapshot holding a trace reads without its front matter),
/// or standard input for `-`.
pub fn open(file: &str) -> Result<Box<dyn BufRead>, Fail> {
    if file == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let f = File::open(file).map_err(|e| Fail::Input(format!("{file}: cannot open: {e}")))?;
    let unwrapped = skip_front_matter(BufReader::with_capacity(1 << 16, f))
        .map_err(|e| Fail::Input(format!("{file}: cannot read: {e}")))?;
    Ok(Box::new(unwrapped))
}

/// Plays `input`, handing every step to `each`. Output already written stays written when a
/// later line is bad (callers' writers flush when dropped); the bad line applies nothing.
fn play(
    file: &str,
    input: Box<dyn BufRead>,
    mut each: impl FnMut(&Step<'_>) -> io::Result<()>,
) -> Result<(), Fail> {
    let mut player = Player::new(input);
    loop {
        match player.next_step() {
            Ok(Some(step)) => each(&step)?,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Fail::Input(format!("{file}: {e}"))),
        }
    }
}

pub fn replay(file: &str, dialect: Option<Dialect>) -> Result<(), Fail> {
    let input = open(file)?;
    match dialect {
        Some(_) => {
            let mut w = stdout();
            play(file, input, |step| {
                write_step_outputs(&mut w, step, dialect)
            })?;
            w.flush()?;
        }
        // Without a dialect only the outputs matter: they stay compact, a member event is
        // written once for all its recipients, and lines go through the writer's own buffer.
        None => {
            let mut w = OutputWriter::new(io::stdout().lock());
            let mut player = Player::new(input);
            loop {
                match player.next_outputs() {
                    Ok(Some(outputs)) => w.write_outputs(outputs)?,
                    Ok(None) => break,
                    // What was written stays written: the writer hands it over when dropped.
                    Err(e) => return Err(Fail::Input(format!("{file}: {e}"))),
                }
            }
            w.flush()?;
        }
    }
    Ok(())
}

pub fn render(file: &str, format: Format, dialect: Option<Dialect>) -> Result<(), Fail> {
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

pub fn record(file: &str) -> Result<(), Fail> {
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

/// The built-in demo: alice and bob in r1, carol in r2; alice switches r1 -> r2 while the
/// others watch; a switch to a missing room fails; bob leaves r1 and its destroy delay runs
/// out. The trace is `src/demo.jsonl` at the repository's root, beside the vectors.
const DEMO: &str = include_str!("../../src/demo.jsonl");

pub fn demo() -> Result<(), Fail> {
    let mut w = stdout();
    writeln!(
        w,
        "roomcore demo: the switch-room flow (see `roomcore --help` for replay, check, render, conform)\n"
    )?;
    w.flush()?;
    render_from("demo", Box::new(DEMO.as_bytes()), Format::Text, None)
}
