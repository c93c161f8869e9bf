//! `conform`: the published vectors, then seeded random traces, through another
//! implementation (any command reading a trace on standard input and printing its outputs)
//! and through roomcore, compared per recipient; the first divergence is shrunk to a small
//! vector. See docs/conformance.md.

mod case;
mod child;
mod compare;
mod shrink;
mod simplify;

use crate::fail::Fail;
use crate::gen::{check_steps, groups};
use crate::vectors::vector_files;
use case::Case;
use child::Impl;
use compare::{compare, Compared};
use roomcore::check::{skip_front_matter, CheckOptions};
use roomcore_testkit::gen::{trace, Groups};
use shrink::{signature, Shrinker, Signature};
use std::fmt;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args)]
pub struct ConformArgs {
    /// The implementation under test: a shell command that reads a trace on standard input
    /// and prints one `{"at":N,"out":{...}}` line per output, like `roomcore replay -`.
    #[arg(long = "impl", value_name = "CMD")]
    implementation: String,
    /// Vector files, or directories of `.jsonl` vectors (default: tests/vectors).
    vectors: Vec<PathBuf>,
    /// Run no vectors, only seeded traces.
    #[arg(long)]
    no_vectors: bool,
    /// How many seeded random traces to run after the vectors.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed (the traces are seeds S, S+1, ...).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Inputs per seeded trace.
    #[arg(long, default_value_t = 60)]
    steps: usize,
    /// Feature groups of the seeded traces, comma-separated: core (always on), net, attrs, service.
    /// Default: all.
    #[arg(long)]
    features: Option<String>,
    /// The most one run of the implementation may take.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Where to write the shrunk diverging trace, as a vector.
    #[arg(long, default_value = "conform-failure.jsonl")]
    out: PathBuf,
    /// Also compare the `message` of error replies.
    #[arg(long)]
    strict: bool,
    /// The most candidate traces the shrinker tries.
    #[arg(long, default_value_t = 2_000)]
    shrink_tries: u64,
}

/// Where a trace came from.
enum Source {
    Vector(PathBuf),
    Seed(u64),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Vector(p) => write!(f, "vector {}", p.display()),
            Source::Seed(s) => write!(f, "seed {s}"),
        }
    }
}

struct Run<'a> {
    args: &'a ConformArgs,
    imp: Impl,
    options: CheckOptions,
    /// Traces that passed so far.
    passed: u64,
}

pub fn run(args: &ConformArgs) -> Result<(), Fail> {
    check_steps(args.steps)?;
    let groups = groups(args.features.as_deref())?;
    let files = vector_list(args)?;
    let mut run = Run {
        args,
        imp: Impl {
            command: args.implementation.clone(),
            timeout: Duration::from_millis(args.timeout_ms),
        },
        options: CheckOptions {
            compare_messages: args.strict,
            opaque_cursors: true,
        },
        passed: 0,
    };
    eprintln!(
        "conform: {} vectors, then {} seeded traces of {} inputs ({groups}), through `{}`",
        files.len(),
        args.seeds,
        args.steps,
        args.implementation
    );
    run.vectors(&files)?;
    run.seeds(&groups)?;
    let mut w = crate::tools::stdout();
    writeln!(
        w,
        "conform: passed: {} vectors and {} seeded traces (seeds {}..{}, {} inputs, features {groups})",
        files.len(),
        args.seeds,
        args.seed,
        args.seed.saturating_add(args.seeds),
        args.steps
    )?;
    w.flush()?;
    Ok(())
}

/// The vector files to run: none with `--no-vectors`, those named, or `tests/vectors`.
fn vector_list(args: &ConformArgs) -> Result<Vec<PathBuf>, Fail> {
    if args.no_vectors {
        return Ok(Vec::new());
    }
    if !args.vectors.is_empty() {
        return vector_files(&args.vectors);
    }
    let default = Path::new("tests/vectors");
    if !default.is_dir() {
        return Err(Fail::Input(
            "no tests/vectors here: name the vector directory, or pass --no-vectors".to_owned(),
        ));
    }
    vector_files(&[default.to_path_buf()])
}

/// Reads a vector (a snapshot's front matter skipped) as a case.
fn read_case(path: &Path) -> Result<Case, Fail> {
    let name = path.display();
    let f =
        std::fs::File::open(path).map_err(|e| Fail::Input(format!("{name}: cannot open: {e}")))?;
    let mut text = String::new();
    skip_front_matter(BufReader::new(f))
        .and_then(|mut r| r.read_to_string(&mut text))
        .map_err(|e| Fail::Input(format!("{name}: cannot read: {e}")))?;
    Case::parse(&text).map_err(|e| Fail::Input(format!("{name}: {e}")))
}

/// Progress every this many traces.
const PROGRESS_EVERY: u64 = 10;

impl Run<'_> {
    fn vectors(&mut self, files: &[PathBuf]) -> Result<(), Fail> {
        for (i, path) in files.iter().enumerate() {
            let case = read_case(path)?;
            self.examine(&Source::Vector(path.clone()), case)?;
            let done = i as u64 + 1;
            if done.is_multiple_of(PROGRESS_EVERY) || done == files.len() as u64 {
                eprintln!("conform: vectors: {done}/{} passed", files.len());
            }
        }
        Ok(())
    }

    fn seeds(&mut self, groups: &Groups) -> Result<(), Fail> {
        let a = self.args;
        for k in 0..a.seeds {
            let seed = a.seed.saturating_add(k);
            let text = trace(seed, a.steps, groups).map_err(Fail::Input)?;
            let case = Case::parse(&text).map_err(|e| {
                Fail::Input(format!("seed {seed}: generated an invalid trace: {e}"))
            })?;
            self.examine(&Source::Seed(seed), case)?;
            let done = k + 1;
            if done.is_multiple_of(PROGRESS_EVERY) || done == a.seeds {
                eprintln!("conform: seeded traces: {done}/{} passed", a.seeds);
            }
        }
        Ok(())
    }

    /// Compares one trace; on a divergence, shrinks and reports it (exit 1); when the
    /// implementation cannot be compared, says why (exit 2).
    fn examine(&mut self, source: &Source, case: Case) -> Result<(), Fail> {
        match compare(&self.imp, &case, self.options, 0) {
            Ok(c) if c.divergences.is_empty() => {
                self.passed += 1;
                Ok(())
            }
            Ok(c) => self.diverged(source, case, &c),
            Err(broken) => {
                let kept = std::fs::write(&self.args.out, case.fed());
                let saved = match kept {
                    Ok(()) => format!("the trace it was given is in {}", self.args.out.display()),
                    Err(e) => format!("the trace it was given could not be saved: {e}"),
                };
                Err(Fail::Input(format!("{source}: {broken}\n({saved})")))
            }
        }
    }

    fn diverged(&mut self, source: &Source, case: Case, first: &Compared) -> Result<(), Fail> {
        let target = first
            .divergences
            .first()
            .map(signature)
            .ok_or_else(|| Fail::Input("no divergence to shrink".to_owned()))?;
        let before = case.inputs.len();
        eprintln!("conform: {source} diverges ({target}); shrinking its {before} inputs");
        let budget = self.args.shrink_tries;
        let mut shrinker = Shrinker::new(&self.imp, self.options, target.clone(), budget);
        let small = shrinker.shrink(case);
        let stopped = if shrinker.tries >= budget {
            " (stopped at --shrink-tries)"
        } else {
            ""
        };
        let header = [
            format!("roomcore conform: the implementation diverges from roomcore here: {target}"),
            format!(
                "found by {source} after {} passing traces; shrunk from {before} to {} inputs \
                 ({} tries, {} runs){stopped}",
                self.passed,
                small.inputs.len(),
                shrinker.tries,
                shrinker.runs
            ),
            format!(
                "expected outputs are roomcore's; the implementation: {}",
                self.args.implementation
            ),
        ];
        self.report(source, &target, &small, &header)
    }

    /// Writes the shrunk case as a vector and prints every recipient's first difference,
    /// with line numbers in that file.
    fn report(
        &self,
        source: &Source,
        target: &Signature,
        small: &Case,
        header: &[String],
    ) -> Result<(), Fail> {
        let last = compare(&self.imp, small, self.options, header.len())
            .map_err(|b| Fail::Input(format!("{source}, shrunk: {b}")))?;
        let out = &self.args.out;
        std::fs::write(out, small.vector(header, &last.played))
            .map_err(|e| Fail::Input(format!("{}: cannot write: {e}", out.display())))?;
        let mut w = crate::tools::stdout();
        writeln!(w, "FAIL    {source}: {target}")?;
        for h in header.iter().skip(1).take(1) {
            writeln!(w, "  {h}")?;
        }
        writeln!(
            w,
            "  the shrunk trace, with roomcore's outputs: {}",
            out.display()
        )?;
        for d in &last.divergences {
            write!(w, "  {d}")?;
        }
        w.flush()?;
        Err(Fail::Mismatch)
    }
}
