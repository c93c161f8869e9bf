//! The comparison rules, shared by [`check`](super::check) (a vector's expected outputs
//! against roomcore's, input by input) and [`compare_streams`] (two whole output streams:
//! what `roomcore conform` does with another implementation's outputs and roomcore's).
//!
//! Per recipient, in order: the `n`-th output a recipient gets from one side must equal the
//! `n`-th it gets from the other. Equal means equal JSON values of the whole line (`at` and
//! `out`: key order does not matter, the set of keys does), except for what
//! [`CheckOptions`](super::CheckOptions) leaves out: error `message`s, and with
//! `opaque_cursors` the value of a member query's `next` cursor (only whether there is one
//! counts). Keys of a line other than `at` and `out` are not part of the output and are not
//! compared. Once a recipient diverges its later outputs are not compared.

use super::{CheckOptions, Divergence};
use crate::ids::{RoomId, SessionId};
use crate::output::{Output, Recipient, Stamped};
use crate::trace::{json_diff, output_line, to_value};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What a non-empty cursor compares as under `opaque_cursors`.
const CURSOR: &str = "<cursor>";

/// One output line of a stream under comparison, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The line of the input it followed (as far as the stream tells).
    pub input_line: u64,
    /// Its own line number, for reports (in a vector file, or in the stream).
    pub line: u64,
    /// Who gets it.
    pub recipient: Recipient,
    /// `{"at": N, "out": {...}}` as a JSON value.
    pub value: Value,
    /// The line as written, for reports.
    pub text: String,
}

impl Observed {
    /// An output roomcore produced.
    #[must_use]
    pub fn from_stamped(input_line: u64, line: u64, s: &Stamped) -> Observed {
        Observed {
            input_line,
            line,
            recipient: s.output.recipient(),
            value: to_value(s),
            text: output_line(s),
        }
    }

    /// An output line another implementation printed: a JSON object with a whole number `at`
    /// and an object `out` with a string `type`. The `out` object need not be one roomcore
    /// knows (an unknown type or a missing field is a difference, found when compared);
    /// other keys of the line are dropped.
    ///
    /// # Errors
    /// What makes the line not an output line.
    pub fn parse(input_line: u64, line: u64, text: &str) -> Result<Observed, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut fields) = v else {
            return Err("not a JSON object".to_owned());
        };
        let at = fields
            .remove("at")
            .filter(|a| a.as_u64().is_some())
            .ok_or("no `at` (a whole number of ms)")?;
        let out = fields
            .remove("out")
            .filter(|o| o.get("type").is_some_and(Value::is_string))
            .ok_or("no `out` (an object with a string `type`)")?;
        let recipient = recipient_of(&out);
        Ok(Observed {
            input_line,
            line,
            recipient,
            value: serde_json::json!({ "at": at, "out": out }),
            text: text.trim().to_owned(),
        })
    }
}

/// Who gets an output given as JSON: as roomcore would route it when it parses as an output
/// roomcore knows; otherwise its `session`, or the room of a `room_members_changed`, or the
/// server.
fn recipient_of(out: &Value) -> Recipient {
    if let Ok(o) = serde_json::from_value::<Output>(out.clone()) {
        return o.recipient();
    }
    if let Some(s) = out.get("session").and_then(Value::as_str) {
        return Recipient::Session(SessionId::new(s));
    }
    let room = out.get("room_id").and_then(Value::as_str);
    match (out.get("type").and_then(Value::as_str), room) {
        (Some("room_members_changed"), Some(r)) => Recipient::Room(RoomId::new(r)),
        _ => Recipient::Service,
    }
}

/// The first difference per recipient between two whole output streams, in the order the
/// recipients first diverge (by the input they diverge after).
#[must_use]
pub fn compare_streams(
    expected: &[Observed],
    actual: &[Observed],
    options: CheckOptions,
) -> Vec<Divergence> {
    let mut found = divergences(expected, actual, options, &BTreeSet::new());
    found.sort_by_key(|d| d.input_line);
    found
}

type Streams<'a> = BTreeMap<Recipient, (Vec<&'a Observed>, Vec<&'a Observed>)>;

/// The first difference of each recipient not in `skip`, in recipient order.
pub(super) fn divergences(
    expected: &[Observed],
    actual: &[Observed],
    options: CheckOptions,
    skip: &BTreeSet<Recipient>,
) -> Vec<Divergence> {
    let mut streams: Streams<'_> = BTreeMap::new();
    for e in expected {
        streams.entry(e.recipient).or_default().0.push(e);
    }
    for a in actual {
        streams.entry(a.recipient).or_default().1.push(a);
    }
    streams
        .into_iter()
        .filter(|(who, _)| !skip.contains(who))
        .filter_map(|(who, (e, a))| first_divergence(who, &e, &a, options))
        .collect()
}

fn first_divergence(
    who: Recipient,
    expected: &[&Observed],
    actual: &[&Observed],
    options: CheckOptions,
) -> Option<Divergence> {
    let longest = expected.len().max(actual.len());
    let i = (0..longest).find(|&i| match (expected.get(i), actual.get(i)) {
        (Some(e), Some(a)) => !within(&normal(&e.value, options), &normal(&a.value, options)),
        _ => true,
    })?;
    let (e, a) = (expected.get(i), actual.get(i));
    let mut differences = Vec::new();
    if let (Some(e), Some(a)) = (e, a) {
        json_diff(
            "",
            &normal(&e.value, options),
            &normal(&a.value, options),
            &mut differences,
        );
        for d in &mut differences {
            *d = d.trim_start_matches('.').to_owned();
        }
    }
    let input_line = e.or(a).map_or(0, |o| o.input_line);
    Some(Divergence {
        recipient: who,
        input_line,
        expected: e.map(|e| (e.line, e.text.clone())),
        actual: a.map(|a| a.text.clone()),
        differences,
        missing: expected.len().saturating_sub(i),
        extra: actual.len().saturating_sub(i),
    })
}

/// Whether `actual` says everything `expected` says: equal values, where an object may have
/// fields the expected one does not name (fields added to the format after the vector was
/// written). Arrays must match element by element.
fn within(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, x)| a.get(k).is_some_and(|y| within(x, y))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| within(x, y))
        }
        _ => expected == actual,
    }
}

/// The JSON compared: the line minus what `options` leaves out.
fn normal(v: &Value, options: CheckOptions) -> Value {
    let mut v = v.clone();
    let Some(out) = v.get_mut("out") else {
        return v;
    };
    if !options.compare_messages {
        if let Some(err) = out.get_mut("error").and_then(Value::as_object_mut) {
            err.remove("message");
        }
    }
    if options.opaque_cursors {
        let next = out.get_mut("ok").and_then(|ok| ok.get_mut("next"));
        if let Some(next) = next.filter(|n| n.as_str().is_some_and(|s| !s.is_empty())) {
            *next = Value::from(CURSOR);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(input_line: u64, text: &str) -> Observed {
        Observed::parse(input_line, 0, text).expect("an output line")
    }

    const OPAQUE: CheckOptions = CheckOptions {
        compare_messages: false,
        opaque_cursors: true,
    };

    #[test]
    fn parse_keeps_at_and_out_and_routes_like_roomcore() {
        let o = obs(
            3,
            r#"{"at":5,"out":{"type":"room_created","room_id":"r1"},"zim":[]}"#,
        );
        assert_eq!(
            o.value,
            serde_json::json!({"at":5,"out":{"type":"room_created","room_id":"r1"}})
        );
        assert_eq!(o.recipient, Recipient::Service);
        let o = obs(3, r#"{"at":5,"out":{"type":"teleported","session":"s9"}}"#);
        assert_eq!(o.recipient, Recipient::Session(SessionId::new("s9")));
        for bad in [
            "hello",
            "[1]",
            r#"{"at":-1,"out":{"type":"x"}}"#,
            r#"{"at":1,"out":{}}"#,
            r#"{"out":{"type":"x"}}"#,
        ] {
            assert!(Observed::parse(0, 0, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn streams_compare_per_recipient_and_leave_out_messages_and_cursors() {
        let expected = [
            obs(
                1,
                r#"{"at":0,"out":{"type":"reply","session":"s1","request":1,"ok":{"members":[],"next":"5.4"}}}"#,
            ),
            obs(
                1,
                r#"{"at":0,"out":{"type":"room_created","room_id":"r1"}}"#,
            ),
            obs(
                2,
                r#"{"at":0,"out":{"type":"reply","session":"s2","request":2,"error":{"code":"room_full","message":"full"}}}"#,
            ),
        ];
        // Another interleaving, another cursor, another message: equal.
        let actual = [
            obs(
                9,
                r#"{"at":0,"out":{"type":"room_created","room_id":"r1"}}"#,
            ),
            obs(
                9,
                r#"{"at":0,"out":{"type":"reply","session":"s2","request":2,"error":{"code":"room_full","message":"no room"}}}"#,
            ),
            obs(
                9,
                r#"{"at":0,"out":{"type":"reply","session":"s1","request":1,"ok":{"members":[],"next":"abc"}}}"#,
            ),
        ];
        assert!(compare_streams(&expected, &actual, OPAQUE).is_empty());
        let strict = CheckOptions::default();
        let found = compare_streams(&expected, &actual, strict);
        assert_eq!(found.len(), 1, "only the cursor counts by default");
        assert_eq!(
            found[0].differences,
            ["out.ok.next: expected \"5.4\", actual \"abc\""]
        );
        // An empty cursor is not a cursor.
        let done = [obs(
            9,
            r#"{"at":0,"out":{"type":"reply","session":"s1","request":1,"ok":{"members":[],"next":""}}}"#,
        )];
        let found = compare_streams(&expected[..1], &done, OPAQUE);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].input_line, 1);
    }

    #[test]
    fn a_missing_output_is_reported_at_its_input_and_later_ones_are_not() {
        let expected = [
            obs(
                1,
                r#"{"at":0,"out":{"type":"room_created","room_id":"r1"}}"#,
            ),
            obs(
                4,
                r#"{"at":9,"out":{"type":"room_destroyed","room_id":"r1","cause":"empty"}}"#,
            ),
            obs(
                5,
                r#"{"at":9,"out":{"type":"room_created","room_id":"r2"}}"#,
            ),
        ];
        let actual = [
            obs(
                1,
                r#"{"at":0,"out":{"type":"room_created","room_id":"r1"}}"#,
            ),
            obs(
                5,
                r#"{"at":9,"out":{"type":"room_created","room_id":"r2"}}"#,
            ),
        ];
        let found = compare_streams(&expected, &actual, OPAQUE);
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert_eq!((d.input_line, d.missing, d.extra), (4, 2, 1));
        assert!(d
            .expected
            .as_ref()
            .is_some_and(|e| e.1.contains("room_destroyed")));
    }
}
