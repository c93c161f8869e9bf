//! The conformance trace format (docs/trace-format.md): JSON Lines, read and written one line
//! at a time through a bounded line buffer, so a trace of any length replays in constant
//! memory.
//!
//! Lines: `{"config": {...}}` (optional, before any input or output), `{"at": N, "in": {...}}`
//! (an input; `at` never decreases), `{"at": N, "out": {...}}` (an output: what the replay
//! prints, and what a vector expects after the input that caused it), `{"note": "..."}`
//! (ignored). Blank lines are skipped; a UTF-8 byte order mark on the first line and `\r\n`
//! line ends are accepted.
//!
//! Before each input, every timer due at or before its `at` fires in deadline order, its
//! outputs stamped with its own deadline
//! ([`Engine::handle_timeout`](crate::Engine::handle_timeout)); then the input applies. A
//! trace's end is the end of time: timers due later never fire (add a `tick` to let time
//! pass).
//!
//! Anything that is not exactly this is a [`TraceError`] naming the line; a rejected line
//! applies nothing. Ids that are too long or otherwise invalid still parse: the engine answers
//! them with `invalid_room_id` and friends.

mod diff;
mod encode;
mod fast_input;
mod output_writer;
mod parse;
mod play;
mod record;
mod scan;
#[cfg(test)]
mod tests_fast;
mod write;

pub use record::{Problem, Record, TraceError, MAX_LINE_BYTES};

pub use diff::{json_diff, MAX_DIFFS};
pub use output_writer::{OutputWriter, OUTPUT_BUFFER_BYTES};
pub use parse::{parse_line, parse_line_with_serde, LineReader};
pub use play::{Player, Step, TraceReader};
pub use write::{
    output_line, to_value, write_input, write_output, write_output_in, write_outputs,
    write_step_outputs, AddressedLine,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Millis;
    use std::io;

    /// Lines read through a 3-byte buffer, so every line spans several chunks.
    fn lines(input: &[u8]) -> Vec<Result<String, Problem>> {
        let mut r = LineReader::new(io::BufReader::with_capacity(3, input));
        let mut v = Vec::new();
        loop {
            match r.next_line() {
                Ok(Some(l)) => v.push(Ok(l.to_owned())),
                Ok(None) => return v,
                Err(e) => {
                    v.push(Err(e.problem));
                    return v;
                }
            }
        }
    }

    #[test]
    fn line_reader_splits_across_chunks_and_strips_line_ends() {
        let got = lines(b"\xef\xbb\xbfabc\r\ndefgh\n\nlast");
        let want: Vec<Result<String, Problem>> = ["abc", "defgh", "", "last"]
            .iter()
            .map(|s| Ok((*s).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn line_reader_stops_at_the_limit_without_buffering_more() {
        let mut long = vec![b'x'; MAX_LINE_BYTES + 2];
        long.push(b'\n');
        assert_eq!(lines(&long), [Err(Problem::TooLong)]);
        let mut fits = vec![b'x'; MAX_LINE_BYTES];
        fits.extend_from_slice(b"\r\n");
        assert_eq!(lines(&fits).len(), 1);
        assert!(lines(&fits)[0].is_ok());
    }

    #[test]
    fn line_reader_reports_the_first_bad_byte() {
        assert_eq!(
            lines(b"ok\nab\xffc\n")[1],
            Err(Problem::NotUtf8 { offset: 2 })
        );
    }

    #[test]
    fn reader_enforces_order() {
        let trace = "{\"note\":\"n\"}\n{\"config\":{}}\n{\"at\":5,\"in\":{\"type\":\"tick\"}}\n{\"at\":4,\"in\":{\"type\":\"tick\"}}\n";
        let got: Vec<_> = TraceReader::new(trace.as_bytes()).collect();
        assert_eq!(got.len(), 4);
        assert!(
            got[..3].iter().all(Result::is_ok),
            "a note may precede the config"
        );
        assert_eq!(
            got[3],
            Err(TraceError::new(
                4,
                Problem::AtBackwards { at: 4, previous: 5 }
            ))
        );
    }

    #[test]
    fn player_separates_timer_outputs_from_the_inputs_own() {
        let trace = "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s1\",\"request\":1,\"user\":\"a\"}}\n\
            {\"at\":0,\"in\":{\"type\":\"create_room\",\"session\":\"s1\",\"request\":2,\"room\":{\"id\":\"r1\"},\"config\":{\"destroy_delay_s\":1}}}\n\
            {\"at\":0,\"in\":{\"type\":\"leave_room\",\"session\":\"s1\",\"request\":3,\"room_id\":\"r1\"}}\n\
            {\"at\":1000,\"in\":{\"type\":\"tick\"}}\n";
        let mut p = Player::new(trace.as_bytes());
        let mut last = None;
        while let Some(step) = p.next_step().expect("valid") {
            last = Some((step.fired, step.outputs.to_vec()));
        }
        let (fired, outs) = last.expect("steps");
        assert_eq!(fired, 1);
        assert_eq!(outs.len(), 1);
        assert_eq!(outs[0].at, Millis(1000));
    }
}
