//! Fuzz target bodies. Each `fuzz/fuzz_targets/*.rs` is one line calling a function here, so
//! ordinary CI compiles and lints the bodies (the test kit is a workspace member), and
//! `cargo test` replays committed crash files and the generated seeds through the very same
//! decoding libFuzzer uses (`Arbitrary::arbitrary_take_rest`). A failed check panics: that
//! is what libFuzzer reports.

use crate::checks::{check_transitions, memberships};
use crate::cmd::{Cmd, Domain};
use crate::lockstep::Lockstep;
use arbitrary::{Arbitrary, Unstructured};
use roomcore::config::{Config, DevicePolicy};

/// Most commands one `engine_vs_model` input runs (longer inputs are cut): keeps each
/// execution short, so the fuzzer explores breadth.
pub const MAX_COMMANDS: usize = 256;

/// The decoded input of `engine_vs_model`: a configuration choice and a command sequence over
/// small id domains (so ids collide), the same alphabet the property tests use.
#[derive(Debug, Clone, Arbitrary)]
pub struct EngineVsModel {
    /// Bit 0: multi-device policy; bits 1..: small limits (rooms, members, rooms per session,
    /// sessions, tombstones, message rate, kick size, member attribute count, room size for
    /// member attributes, users per member attribute call); bit 13: large-room coalescing
    /// from 2 members (`member_notify_threshold` 1), bit 14: a 2 s window instead of 1 s;
    /// bit 15: service events on and a ban limit of 2.
    pub knobs: u16,
    /// The commands, applied in order.
    pub cmds: Vec<Cmd>,
}

impl EngineVsModel {
    /// The engine configuration the knobs select.
    #[must_use]
    pub fn config(&self) -> Config {
        let k = self.knobs;
        let bit = |i: u16| k & (1 << i) != 0;
        Config {
            device_policy: if bit(0) {
                DevicePolicy::Multi
            } else {
                DevicePolicy::Single
            },
            max_rooms: if bit(1) { 2 } else { 1000 },
            max_members_per_room: if bit(2) { 2 } else { 100 },
            max_rooms_per_session: if bit(3) { 2 } else { 5 },
            max_sessions: if bit(4) { 3 } else { 100 },
            max_closed_sessions: if bit(5) { 1 } else { 100 },
            closed_session_ttl_ms: if bit(6) { 0 } else { 2000 },
            reconnect_grace_ms: if bit(7) { 1000 } else { 3000 },
            message_rate_per_s: u32::from(bit(8)),
            max_kick_users: if bit(9) { 2 } else { 50 },
            max_member_attributes: if bit(10) { 2 } else { 30 },
            member_attributes_max_room_members: if bit(11) { 1 } else { 500 },
            member_attributes_max_users: if bit(12) { 2 } else { 100 },
            member_notify_threshold: if bit(13) { 1 } else { 500 },
            member_batch_interval_ms: if bit(14) { 2000 } else { 1000 },
            message_burst: 2,
            message_max_bytes: 16,
            attributes_total_max_bytes: 1000,
            service_events: bit(15),
            max_bans: if bit(15) { 2 } else { 100_000 },
            ..Config::default()
        }
    }

    /// Runs the commands through the engine and the model in lockstep.
    ///
    /// # Errors
    /// The first difference or failed invariant.
    pub fn run(&self, light: bool) -> Result<(), String> {
        let mut l = Lockstep::new(self.config(), Domain::standard())?;
        l.light = light;
        for cmd in self.cmds.iter().take(MAX_COMMANDS) {
            l.step(cmd)?;
        }
        Ok(())
    }
}

/// Fuzz target `engine_vs_model`: arbitrary command sequences (ids mapped into small
/// domains) through the engine and the reference model; after every step the state
/// invariants, every `room_state_changed` against the state machine table, and equal outputs
/// and state. The harness's snapshot checks are left to the property tests and the
/// simulation (they cost most of the time).
///
/// # Panics
/// On any difference or broken invariant (that is the finding).
pub fn engine_vs_model(data: &[u8]) {
    let Ok(input) = EngineVsModel::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    if let Err(e) = input.run(true) {
        panic!("engine_vs_model: {e}\ninput: {input:?}");
    }
}

/// Fuzz target `trace_reader`: arbitrary bytes as a trace, read and played line by line.
/// Nothing may panic; every line reads the same through the trace reader's one-pass input
/// parser as through serde alone; the engine's invariants hold after every input played, and
/// its `room_state_changed` events walk the state machine table from the state before it;
/// every record read serializes back to a line that reads as the same record text again
/// (writing is stable after one round).
///
/// # Panics
/// On a broken invariant, two readings of a line that differ, or an unstable round trip
/// (that is the finding).
pub fn trace_reader(data: &[u8]) {
    use roomcore::trace::{parse_line, parse_line_with_serde, Player};
    for line in data
        .split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
    {
        let (fast, serde) = (parse_line(line), parse_line_with_serde(line));
        assert!(
            fast == serde,
            "trace_reader: {line:?} reads as {fast:?} and as {serde:?}"
        );
    }
    let mut player = Player::new(data);
    // A line is at most 1 MiB, and the input is finite; the bound only guards the budget.
    for _ in 0..100_000 {
        let before = player.engine().map(memberships).unwrap_or_default();
        let (record, outputs) = match player.next_step() {
            Ok(Some(step)) => (step.record, step.outputs.to_vec()),
            Ok(None) | Err(_) => return,
        };
        if let Some(e) = player.engine() {
            if let Err(v) = roomcore::invariants::check(e) {
                panic!("trace_reader: {v} after {record:?}");
            }
            let after = memberships(e);
            if let Err(v) = check_transitions(outputs.iter().map(|s| &s.output), &before, &after) {
                panic!("trace_reader: {v} after {record:?}");
            }
        }
        if let Err(e) = round_trip(&record) {
            panic!("trace_reader: {e}");
        }
    }
}

/// `write(read(write(r))) == write(r)` for an input or output record.
fn round_trip(record: &roomcore::trace::Record) -> Result<(), String> {
    use roomcore::trace::{parse_line, write_input, write_output, Record};
    let write = |r: &Record| -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        let ok = match r {
            Record::Input { at, input } => write_input(&mut buf, *at, input),
            Record::Output(s) => write_output(&mut buf, s),
            Record::Config(_) | Record::Note(_) => return None,
        };
        ok.ok().map(|()| buf)
    };
    let Some(first) = write(record) else {
        return Ok(());
    };
    let text =
        String::from_utf8(first.clone()).map_err(|e| format!("written line is not UTF-8: {e}"))?;
    let again = parse_line(text.trim_end())
        .map_err(|p| format!("written line {text:?} does not read back: {p}"))?;
    match write(&again) {
        Some(second) if second == first => Ok(()),
        second => Err(format!(
            "round trip changed {text:?} into {:?}",
            second.map(|b| String::from_utf8_lossy(&b).into_owned())
        )),
    }
}
