//! The serde form of an [`Outputs`] buffer, for embedders that ship a step's outputs between
//! processes (the replicated crate answers a forwarded command with them) without expanding
//! them: a member event for N sessions is written once, with its run, beside the list of
//! recipients.
//!
//! ```json
//! {"items": [{"at": 5, "out": {"type": "reply", "session": "s1", ...}},
//!            {"at": 5, "out": {"type": "room_message", "session": "s2", ...}, "run": [0, 3]}],
//!  "recipients": ["s2", "s3", "s4"]}
//! ```
//!
//! Each item is a trace line (`at`, `out`); an item for several sessions adds `run`, its
//! `[start, len]` in `recipients`, and its `out` names the run's first session (so the line
//! is still a valid trace line). Runs are written in item order and cover the recipient list
//! exactly once, which is the only form the reader accepts: a run out of range, shorter than
//! two sessions, out of order, on an output that is not a member event, or disagreeing with
//! its line's session, and a recipient no run names, are errors, never a panic.

use super::{Output, Outputs, Recipients, Stamped, To};
use crate::ids::SessionId;
use crate::time::Millis;
use serde::de::Error as _;
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// Why a serialized buffer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum WireError {
    #[error("item {item}: a run names at least two sessions, this one {len}")]
    ShortRun { item: usize, len: u32 },
    #[error("item {item}: its run starts at {start}, the previous run ended at {expected}")]
    OutOfOrder {
        item: usize,
        start: u32,
        expected: usize,
    },
    #[error("item {item}: its run [{start}, {len}] is beyond the {count} recipients")]
    OutOfRange {
        item: usize,
        start: u32,
        len: u32,
        count: usize,
    },
    #[error("item {item}: a {kind} has no run of recipients (only member events do)")]
    NotAMemberEvent { item: usize, kind: &'static str },
    #[error("item {item}: its line names {line}, its run starts with {first}")]
    FirstMismatch {
        item: usize,
        line: SessionId,
        first: SessionId,
    },
    #[error("{unnamed} of the {count} recipients are named by no run")]
    Unnamed { unnamed: usize, count: usize },
}

/// One item as written: a trace line, and the run of a member event for several sessions.
#[derive(Serialize)]
struct ItemOut<'a> {
    at: Millis,
    out: Cow<'a, Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<[u32; 2]>,
}

/// One item as read.
#[derive(Deserialize)]
struct ItemIn {
    at: Millis,
    out: Output,
    #[serde(default)]
    run: Option<[u32; 2]>,
}

/// A buffer as read, before it is checked.
#[derive(Deserialize)]
struct OutputsIn {
    items: Vec<ItemIn>,
    recipients: Vec<SessionId>,
}

/// The sessions of each run, in item order: the recipient list as written.
fn runs(outputs: &Outputs) -> impl Iterator<Item = Option<&[SessionId]>> + '_ {
    outputs.iter().filter_map(move |s| match s.output.to() {
        Some(To::Sessions(run)) => {
            let start = run.start as usize;
            Some(
                outputs
                    .recipients
                    .get(start..start.saturating_add(run.len())),
            )
        }
        _ => None,
    })
}

/// The items, each run renumbered in the written recipient list.
struct Items<'a>(&'a Outputs);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut next: u32 = 0;
        for stamped in self.0 {
            let Some(To::Sessions(run)) = stamped.output.to() else {
                seq.serialize_element(&ItemOut {
                    at: stamped.at,
                    out: Cow::Borrowed(&stamped.output),
                    run: None,
                })?;
                continue;
            };
            let start = run.start as usize;
            let first = self
                .0
                .recipients
                .get(start..start.saturating_add(run.len()))
                .and_then(<[SessionId]>::first)
                .ok_or_else(|| S::Error::custom("a run beyond the buffer's recipients"))?;
            seq.serialize_element(&ItemOut {
                at: stamped.at,
                out: Cow::Owned(stamped.output.addressed(To::Session(*first))),
                run: Some([next, run.len]),
            })?;
            next = next
                .checked_add(run.len)
                .ok_or_else(|| S::Error::custom("more than 2^32 recipients"))?;
        }
        seq.end()
    }
}

/// The recipient list as written: each run's sessions, in item order.
struct Written<'a>(&'a Outputs);

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for run in runs(self.0) {
            let run =
                run.ok_or_else(|| S::Error::custom("a run beyond the buffer's recipients"))?;
            for session in run {
                seq.serialize_element(session)?;
            }
        }
        seq.end()
    }
}

impl Serialize for Outputs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.keeps_handles()
            && self
                .iter()
                .any(|s| matches!(s.output.to(), Some(To::Sessions(_))))
        {
            return Err(S::Error::custom(
                "a buffer of handles (Outputs::with_handles) names no session ids to write",
            ));
        }
        let mut st = s.serialize_struct("Outputs", 2)?;
        st.serialize_field("items", &Items(self))?;
        st.serialize_field("recipients", &Written(self))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Outputs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Outputs, D::Error> {
        let read = OutputsIn::deserialize(d)?;
        checked(read).map_err(D::Error::custom)
    }
}

/// The buffer `read` describes, if it is well formed (see the module docs).
fn checked(read: OutputsIn) -> Result<Outputs, WireError> {
    let count = read.recipients.len();
    let mut items = Vec::with_capacity(read.items.len());
    let mut next = 0usize;
    for (item, ItemIn { at, mut out, run }) in read.items.into_iter().enumerate() {
        if let Some([start, len]) = run {
            if len < 2 {
                return Err(WireError::ShortRun { item, len });
            }
            if start as usize != next {
                let expected = next;
                return Err(WireError::OutOfOrder {
                    item,
                    start,
                    expected,
                });
            }
            let end = next.saturating_add(len as usize);
            let Some(&first) = read.recipients.get(next..end).and_then(<[_]>::first) else {
                return Err(WireError::OutOfRange {
                    item,
                    start,
                    len,
                    count,
                });
            };
            let line = match out.to() {
                Some(to) => to.session(),
                None => {
                    let kind = out.name();
                    return Err(WireError::NotAMemberEvent { item, kind });
                }
            };
            if line != Some(first) {
                let line = line.unwrap_or(first);
                return Err(WireError::FirstMismatch { item, line, first });
            }
            readdress(&mut out, To::Sessions(Recipients { start, len }));
            next = end;
        }
        items.push(Stamped { at, output: out });
    }
    if next != count {
        let unnamed = count - next;
        return Err(WireError::Unnamed { unnamed, count });
    }
    let mut outputs = Outputs::new();
    outputs.items = items;
    outputs.recipients = read.recipients;
    Ok(outputs)
}

/// Sets a member event's addressee in place (the caller checked it is one).
fn readdress(output: &mut Output, addressee: To) {
    match output {
        Output::MembersJoined { to, .. }
        | Output::MembersLeft { to, .. }
        | Output::RoomAttributesUpdated { to, .. }
        | Output::RoomMessage { to, .. }
        | Output::RoomMemberAttributesUpdated { to, .. } => *to = addressee,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RoomId, UserId};
    use crate::output::RoomEvent;
    use crate::output::{Member, Outcome, ReplyOk, RoomState};

    fn s(id: &str) -> SessionId {
        SessionId::new(id)
    }

    fn message(to: To) -> Output {
        Output::RoomMessage {
            to,
            room_id: RoomId::new("r1"),
            from: UserId::new("alice"),
            seq: 1,
            payload: "a payload written once".into(),
        }
    }

    /// A reply, a message for three sessions, a join for one, a state change, a join for two.
    fn sample() -> Outputs {
        let mut out = Outputs::new();
        out.push(Stamped {
            at: Millis(5),
            output: Output::Reply {
                session: s("s1"),
                request: 1,
                outcome: Outcome::Ok(ReplyOk::MessageSent { seq: 1 }),
            },
        });
        out.fan_out_ids(Millis(5), [s("s2"), s("s3"), s("s4")].into_iter(), message);
        let joined = |to| Output::MembersJoined {
            to,
            room_id: RoomId::new("r1"),
            members: [Member {
                user_id: UserId::new("bob"),
            }]
            .into_iter()
            .collect(),
        };
        out.fan_out_ids(Millis(6), [s("s2")].into_iter(), joined);
        out.push(Stamped {
            at: Millis(6),
            output: Output::RoomStateChanged {
                session: s("s5"),
                room_id: RoomId::new("r1"),
                state: RoomState::Connected,
                event: RoomEvent::Success,
            },
        });
        out.fan_out_ids(Millis(7), [s("s3"), s("s5")].into_iter(), joined);
        out
    }

    fn read(json: &str) -> Result<Outputs, String> {
        serde_json::from_str::<Outputs>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_buffer_round_trips_with_its_runs_and_the_same_expansion() {
        let out = sample();
        let json = serde_json::to_string(&out).expect("a buffer serializes");
        let back = read(&json).expect("and reads back");
        assert_eq!(back, out);
        assert_eq!(
            back.expanded().collect::<Vec<_>>(),
            out.expanded().collect::<Vec<_>>()
        );
        assert_eq!(back.len(), 5);
        assert_eq!(back.expanded_len(), 8);
        // The message for three sessions is written once.
        assert_eq!(json.matches("a payload written once").count(), 1, "{json}");
        let empty = serde_json::to_string(&Outputs::new()).expect("serializes");
        assert_eq!(empty, r#"{"items":[],"recipients":[]}"#);
        assert_eq!(read(&empty), Ok(Outputs::new()));
    }

    #[test]
    fn each_item_is_a_trace_line_and_a_run_names_its_first_session() {
        let json = serde_json::to_value(sample()).expect("serializes");
        assert_eq!(
            json["recipients"],
            serde_json::json!(["s2", "s3", "s4", "s3", "s5"])
        );
        let items = json["items"].as_array().expect("a list");
        assert_eq!(items[1]["run"], serde_json::json!([0, 3]));
        assert_eq!(items[1]["out"]["session"], "s2");
        assert_eq!(items[2].get("run"), None);
        assert_eq!(items[2]["out"]["session"], "s2");
        assert_eq!(items[4]["run"], serde_json::json!([3, 2]));
        for item in items {
            let mut line = item.clone();
            line.as_object_mut().expect("an object").remove("run");
            let stamped: Stamped = serde_json::from_value(line).expect("a trace line");
            assert!(stamped.output.to().is_none_or(|t| t.session().is_some()));
        }
    }

    #[test]
    fn a_single_session_stays_the_session_field_and_a_run_alone_does_not_serialize() {
        let one = Stamped {
            at: Millis(1),
            output: message(To::Session(s("s2"))),
        };
        let line = serde_json::to_string(&one).expect("serializes");
        assert!(
            line.contains(r#""type":"room_message","session":"s2","#),
            "{line}"
        );
        let out = sample();
        let run = out.iter().nth(1).expect("the message").clone();
        assert!(serde_json::to_string(&run).is_err());
    }

    #[test]
    fn recipients_no_run_names_any_more_are_not_written() {
        let mut out = sample();
        // The three-session message is rewritten to one session: its run is left unnamed.
        if let Some(Output::RoomMessage { to, .. }) = out.iter_mut().nth(1).map(|s| &mut s.output) {
            *to = To::Session(s("s9"));
        }
        let json = serde_json::to_value(&out).expect("serializes");
        assert_eq!(json["recipients"], serde_json::json!(["s3", "s5"]));
        assert_eq!(json["items"][4]["run"], serde_json::json!([0, 2]));
        let back = read(&json.to_string()).expect("reads back");
        assert_eq!(
            back.expanded().collect::<Vec<_>>(),
            out.expanded().collect::<Vec<_>>()
        );
    }

    /// The sample's JSON with item 1's run, its line's session and the recipients replaced.
    fn with(run: serde_json::Value, session: &str, recipients: serde_json::Value) -> String {
        let mut json = serde_json::to_value(sample()).expect("serializes");
        json["items"][1]["run"] = run;
        json["items"][1]["out"]["session"] = session.into();
        json["items"].as_array_mut().expect("a list").truncate(4);
        json["recipients"] = recipients;
        json.to_string()
    }

    #[test]
    fn a_malformed_buffer_is_an_error_never_a_panic() {
        use serde_json::json;
        let three = json!(["s2", "s3", "s4"]);
        // The well-formed shape these mutate (the last item dropped with its two sessions).
        assert!(read(&with(json!([0, 3]), "s2", three.clone())).is_ok());
        let cases = [
            (
                with(json!([0, 4]), "s2", three.clone()),
                "beyond the 3 recipients",
            ),
            (with(json!([2, 3]), "s2", three.clone()), "starts at 2"),
            (
                with(json!([4294967295u32, 3]), "s2", three.clone()),
                "starts at",
            ),
            (
                with(json!([0, 4294967295u32]), "s2", three.clone()),
                "beyond",
            ),
            (
                with(json!([0, 0]), "s2", json!([])),
                "at least two sessions, this one 0",
            ),
            (
                with(json!([0, 1]), "s2", json!(["s2"])),
                "at least two sessions, this one 1",
            ),
            (
                with(json!([0, 3]), "s3", three.clone()),
                "names s3, its run starts with s2",
            ),
            (
                with(json!([0, 2]), "s2", three.clone()),
                "1 of the 3 recipients",
            ),
            (
                with(json!([0, 3]), "s2", json!(["s2", "s3", "s4", "s5"])),
                "named by no run",
            ),
            (with(json!("x"), "s2", three.clone()), "invalid type"),
            (with(json!([0, 3]), "s2", json!("s2")), "invalid type"),
        ];
        for (json, why) in cases {
            let e = read(&json).expect_err(why);
            assert!(e.contains(why), "{e} (wanted {why}) for {json}");
        }
        // A run on an output that is not a member event.
        let mut json = serde_json::to_value(sample()).expect("serializes");
        json["items"][0]["run"] = json!([0, 3]);
        json["items"][1]
            .as_object_mut()
            .expect("an object")
            .remove("run");
        json["items"][1]["out"]["session"] = "s2".into();
        json["items"].as_array_mut().expect("a list").truncate(2);
        json["recipients"] = three;
        let e = read(&json.to_string()).expect_err("a reply has no run");
        assert!(e.contains("a reply has no run"), "{e}");
    }
}
