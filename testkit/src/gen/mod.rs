//! Seeded random traces from the lockstep test's generator, for `roomcore gen` and
//! `roomcore conform`: the same config strategy and the same steered command strategy
//! ([`Steer`]), sampled from a ChaCha random stream seeded with the trace's seed, so one
//! seed gives one trace (for a given version of the test kit and of proptest).
//!
//! Each command becomes one input line (with the ids of [`Domain::portable`]): a wait becomes a `tick` at the later time; a member
//! query's cursor is one roomcore returned earlier in the trace (for this room or another),
//! the empty cursor, or garbage, as in the lockstep test; request numbers count the lines.

mod groups;
mod steer;

pub use groups::{Group, Groups};
pub use steer::{config_strategy, init_state, Steer};

use crate::cmd::Domain;
use crate::lockstep::{record_cursor, Cursors};
use crate::transcript::config_line;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use roomcore::config::Config;
use roomcore::input::Input;
use roomcore::time::Millis;
use roomcore::trace::write_input;
use roomcore::Engine;

/// A generated trace: its config and its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The engine config.
    pub config: Config,
    /// The inputs, in order, with their times (never decreasing).
    pub inputs: Vec<(Millis, Input)>,
}

/// The random stream of `seed`: ChaCha, keyed with the seed's bytes.
fn runner(seed: u64) -> TestRunner {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &key),
    )
}

fn sample<S: Strategy>(s: &S, runner: &mut TestRunner) -> Result<S::Value, String> {
    s.new_tree(runner)
        .map(|t| t.current())
        .map_err(|e| format!("the generator gave up: {e}"))
}

/// The trace of `seed`: a config, then `steps` inputs of the commands of `groups`.
///
/// # Errors
/// If a strategy gives up (none of the generator's strategies filters, so this does not
/// happen), or the engine refuses the generated config.
pub fn generate(seed: u64, steps: usize, groups: &Groups) -> Result<Generated, String> {
    let mut runner = runner(seed);
    let mut steer = sample(&init_state(groups), &mut runner)?;
    let config = steer.config.clone();
    // roomcore plays along only to hand out real cursors for the queries to reuse.
    let mut engine = Engine::new(config.clone()).map_err(|e| e.to_string())?;
    let domain = Domain::portable();
    let mut cursors = Cursors::default();
    let mut out = Vec::new();
    let mut g = Generated {
        config,
        inputs: Vec::with_capacity(steps),
    };
    for request in 1..=steps as u64 {
        let cmd = sample(&steer.transitions(groups), &mut runner)?;
        steer.apply(&cmd);
        let at = Millis(steer.now);
        let input = cmd
            .to_input(&domain, request, &mut |r, p| cursors.pick(r, p))
            .unwrap_or(Input::Tick);
        out.clear();
        engine.handle_timeout(at, &mut out);
        engine.handle_input(at, &input, &mut out);
        if let Input::QueryMembers { room_id, .. } = &input {
            record_cursor(&mut cursors, *room_id, &out);
        }
        g.inputs.push((at, input));
    }
    Ok(g)
}

/// The trace of `seed` as JSON Lines: a note naming the seed, the config line (fields that
/// differ from the defaults), one line per input.
///
/// # Errors
/// As [`generate`].
pub fn trace(seed: u64, steps: usize, groups: &Groups) -> Result<String, String> {
    let g = generate(seed, steps, groups)?;
    let mut buf = Vec::new();
    let note = format!("roomcore gen --seed {seed} --steps {steps} --features {groups}");
    buf.extend_from_slice(serde_json::json!({ "note": note }).to_string().as_bytes());
    buf.push(b'\n');
    if let Some(line) = config_line(&g.config) {
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
    }
    for (at, input) in &g.inputs {
        // Writing to memory cannot fail, and inputs always serialize.
        write_input(&mut buf, *at, input).expect("writing to memory");
    }
    // Only serde_json and `format!` wrote into the buffer: UTF-8.
    Ok(String::from_utf8(buf).expect("UTF-8 by construction"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomcore::check::{check, CheckOptions};
    use roomcore::config::DevicePolicy;

    #[test]
    fn one_seed_one_trace() {
        let all = Groups::all();
        assert_eq!(trace(7, 40, &all), trace(7, 40, &all));
        assert_ne!(trace(7, 40, &all), trace(8, 40, &all));
        let t = trace(7, 40, &all).expect("generates");
        assert_eq!(t.lines().filter(|l| l.contains("\"in\":")).count(), 40);
    }

    #[test]
    fn written_inputs_read_back_as_generated() {
        for seed in 0..20 {
            let g = generate(seed, 60, &Groups::all()).expect("generates");
            let t = trace(seed, 60, &Groups::all()).expect("generates");
            let read: Vec<(Millis, Input)> = roomcore::trace::TraceReader::new(t.as_bytes())
                .filter_map(|r| match r.expect("valid").1 {
                    roomcore::trace::Record::Input { at, input } => Some((at, input)),
                    _ => None,
                })
                .collect();
            assert_eq!(read, g.inputs, "seed {seed}");
        }
    }

    #[test]
    fn traces_are_valid_and_play() {
        for seed in 0..20 {
            let t = trace(seed, 60, &Groups::all()).expect("generates");
            let report = check(t.as_bytes(), CheckOptions::default()).expect("valid trace");
            assert_eq!(report.inputs, 60);
        }
    }

    fn kinds(groups: &str, seeds: u64) -> (Vec<String>, bool) {
        let groups = Groups::parse(groups).expect("known groups");
        let mut kinds = std::collections::BTreeSet::new();
        let mut multi = false;
        for seed in 0..seeds {
            let g = generate(seed, 60, &groups).expect("generates");
            multi |= g.config.device_policy == DevicePolicy::Multi;
            for (_, i) in &g.inputs {
                kinds.insert(format!("{:?}", i.kind()));
            }
        }
        (kinds.into_iter().collect(), multi)
    }

    #[test]
    fn groups_select_their_commands() {
        let (core, multi) = kinds("core", 30);
        assert!(!multi, "single-device policy without net");
        for absent in ["LinkLost", "SetRoomAttributes", "SendRoomMessage"] {
            assert!(!core.iter().any(|k| k == absent), "{absent} in {core:?}");
        }
        for present in ["Login", "SwitchRoom", "QueryMembers", "RemoveUsers", "Tick"] {
            assert!(
                core.iter().any(|k| k == present),
                "{present} not in {core:?}"
            );
        }
        let (all, multi) = kinds("core,net,attrs", 30);
        assert!(multi);
        for present in [
            "LinkLost",
            "LinkRestored",
            "SetRoomAttributes",
            "SendRoomMessage",
            "SetRoomMembersAttributes",
        ] {
            assert!(all.iter().any(|k| k == present), "{present} not in {all:?}");
        }
    }

    #[test]
    fn the_limits_are_reached() {
        // Fixed seeds: the config strategy's limits of 1 and 2 make these refusals common
        // enough that a conformance run exercises them, not one trace in hundreds.
        use roomcore::output::{Outcome, Output};
        let mut reached = std::collections::BTreeMap::<String, u32>::new();
        for seed in 0..40 {
            let g = generate(seed, 100, &Groups::all()).expect("generates");
            let mut engine = Engine::new(g.config.clone()).expect("valid config");
            let mut out = Vec::new();
            for (at, input) in &g.inputs {
                out.clear();
                engine.handle_input(*at, input, &mut out);
                for s in &out {
                    if let Output::Reply {
                        outcome: Outcome::Error(e),
                        ..
                    } = &s.output
                    {
                        let code = serde_json::to_value(e.code).expect("a code serializes");
                        *reached
                            .entry(code.as_str().unwrap_or_default().to_owned())
                            .or_default() += 1;
                    }
                }
            }
        }
        for code in [
            "joined_room_limit",
            "server_room_limit",
            "room_full",
            "user_banned",
        ] {
            assert!(
                reached.contains_key(code),
                "{code} not reached: {reached:?}"
            );
        }
    }
}
