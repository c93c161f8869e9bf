//! A harness transcript written as a conformance trace (JSON Lines), the one format every
//! golden transcript is pinned in: the insta snapshots hold exactly what `roomcore check`
//! runs.
//!
//! - `{"config":{...}}` first, listing only the fields that differ from the defaults (keys
//!   sorted), when the engine's config is not the default one;
//! - for each step, its input `{"at":N,"in":{...}}` then each output `{"at":N,"out":{...}}`
//!   in emission order;
//! - a timer group (a step without an input) is written as a `tick` at its deadline: a
//!   trace fires due timers before each input, so the tick fires exactly that group.

use roomcore::config::Config;
use roomcore::input::Input;
use roomcore::output::Output;
use roomcore::output::Stamped;
use roomcore::time::Millis;
use roomcore::trace::{write_input, write_output};

/// The transcript `steps` of an engine configured with `config`, as trace lines.
#[must_use]
pub fn jsonl(config: &Config, steps: &[Step]) -> String {
    let mut buf = Vec::new();
    if let Some(line) = config_line(config) {
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
    }
    for step in steps {
        let at = Millis(step.at);
        let input = step.input.as_ref().unwrap_or(&Input::Tick);
        // Writing to a Vec cannot fail, and inputs and outputs always serialize.
        write_input(&mut buf, at, input).expect("writing to memory");
        for output in &step.out {
            let stamped = Stamped {
                at,
                output: output.clone(),
            };
            write_output(&mut buf, &stamped).expect("writing to memory");
        }
    }
    // Only serde_json wrote into the buffer, and it writes UTF-8.
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// `{"config":{...}}` with the fields that differ from the defaults, in key order; `None`
/// for the default config.
#[must_use]
pub fn config_line(config: &Config) -> Option<String> {
    let ours = serde_json::to_value(config).ok()?;
    let default = serde_json::to_value(Config::default()).ok()?;
    let (Some(ours), Some(default)) = (ours.as_object(), default.as_object()) else {
        return None;
    };
    let mut fields: Vec<String> = ours
        .iter()
        .filter(|(k, v)| default.get(*k) != Some(*v))
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
        .collect();
    if fields.is_empty() {
        return None;
    }
    // Sorted here, whatever order the JSON map keeps, so the line never depends on features.
    fields.sort();
    Some(format!("{{\"config\":{{{}}}}}", fields.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomcore::config::DevicePolicy;

    #[test]
    fn config_line_lists_only_what_differs_in_key_order() {
        assert_eq!(config_line(&Config::default()), None);
        let c = Config {
            max_rooms: 2,
            device_policy: DevicePolicy::Multi,
            ..Config::default()
        };
        assert_eq!(
            config_line(&c).as_deref(),
            Some(r#"{"config":{"device_policy":"multi","max_rooms":2}}"#)
        );
    }

    #[test]
    fn a_timer_group_is_a_tick_at_its_deadline() {
        let step = Step {
            at: 1000,
            input: None,
            out: vec![roomcore::output::Output::RoomDestroyed {
                room_id: roomcore::RoomId::new("r1"),
                sid: None,
                cause: roomcore::output::DestroyCause::Empty,
                event_id: None,
            }],
        };
        assert_eq!(
            jsonl(&Config::default(), &[step]),
            "{\"at\":1000,\"in\":{\"type\":\"tick\"}}\n\
             {\"at\":1000,\"out\":{\"type\":\"room_destroyed\",\"room_id\":\"r1\",\"cause\":\"empty\"}}\n"
        );
    }
}

/// One step of a transcript: a timer group (`input` absent) or an input, and what it output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When it happened (a timer group: its deadline).
    pub at: u64,
    /// The input; absent for timers.
    pub input: Option<Input>,
    /// Its outputs, in emission order.
    pub out: Vec<Output>,
}
