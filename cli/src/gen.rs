//! `gen`: one seeded random trace from the generator of the model lockstep test.

use crate::fail::Fail;
use crate::tools::stdout;
use roomcore_testkit::gen::{trace, Groups};
use std::io::Write;

/// The most inputs one generated trace may have (the trace is built in memory).
pub const MAX_STEPS: usize = 1_000_000;

#[derive(clap::Args)]
pub struct GenArgs {
    /// The seed: the same seed, steps and features give the same trace.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many inputs.
    #[arg(long, default_value_t = 60)]
    steps: usize,
    /// Feature groups, comma-separated: core (always on), net, attrs, service. Default: all.
    #[arg(long)]
    features: Option<String>,
}

/// The groups named by `--features`, or all of them.
pub fn groups(features: Option<&str>) -> Result<Groups, Fail> {
    features.map_or_else(
        || Ok(Groups::all()),
        |f| Groups::parse(f).map_err(Fail::Input),
    )
}

/// Refuses step counts past [`MAX_STEPS`].
pub fn check_steps(steps: usize) -> Result<(), Fail> {
    if steps > MAX_STEPS {
        return Err(Fail::Input(format!("--steps {steps}: at most {MAX_STEPS}")));
    }
    Ok(())
}

pub fn run(args: &GenArgs) -> Result<(), Fail> {
    check_steps(args.steps)?;
    let groups = groups(args.features.as_deref())?;
    let text = trace(args.seed, args.steps, &groups).map_err(Fail::Input)?;
    let mut w = stdout();
    w.write_all(text.as_bytes())?;
    w.flush()?;
    Ok(())
}
