//! The wire format: one JSON object per WebSocket text frame.
//!
//! Client to server (on `/ws`):
//! - an input object of the trace format, without `at` (the server stamps it):
//!   `{"type":"join_room","session":"s1","request":2,"room_id":"r1"}`; a `login` also carries
//!   the user's access token (see [`crate::auth`]) unless the server runs with
//!   `--insecure-dev`: `{"type":"login","session":"s1","request":1,"user":"alice","token":"eyJ..."}`;
//! - a resume request, the first frame of a connection that takes a dropped session back:
//!   `{"type":"resume","session":"s1","token":"<32 hex digits>"}`.
//!
//! Server to client:
//! - an engine output as a trace line, exactly what `roomcore replay` prints:
//!   `{"at":1500,"out":{"type":"reply","session":"s1","request":2,"ok":{...}}}`;
//! - after a successful login, and again after every successful resume (the previous token
//!   stops working), the session's resume token:
//!   `{"resume":{"session":"s1","token":"<32 hex digits>"}}`;
//! - after a successful resume (and the outputs it replays and causes):
//!   `{"resumed":{"session":"s1","gap":false}}`. Outputs the old connection had not written
//!   and outputs that came while the session had no connection are replayed before it, in
//!   order. `gap` is true when some output is not known to have been delivered; then
//!   `lost_frames` counts them and `lost_requests` names the replies among them by request
//!   number (at most [`MAX_LOST_REQUESTS`]): `{"resumed":{"session":"s1","gap":true,
//!   "lost_frames":3,"lost_requests":[77]}}`. On a replicated server a session resumed on
//!   another node than the one that held it (or after that node restarted) cannot know what
//!   the old node delivered: `{"resumed":{"session":"s1","gap":true,"unknown":true}}`, and
//!   every command still unanswered may or may not have been applied;
//! - a refusal by the server itself, never by the engine:
//!   `{"error":{"code":"rate_limited","message":"...","request":7}}` (`request` when the
//!   frame carried one). The connection lives on after every error frame except
//!   `replaced`.
//!
//! The server closes a connection with a close frame whose code says why (see
//! [`crate::ws::CloseCode`]).

use roomcore::{Input, SessionId};
use serde::{Deserialize, Serialize};

/// Why the server refused a frame (the `code` of an error frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameErrorCode {
    /// Not JSON, or not an input the engine knows (unknown `type`, missing field...).
    MalformedFrame,
    /// A binary frame: the protocol is JSON text.
    BinaryFrame,
    /// `remove_users` or `dismiss_room` on a session connection: admin commands come only
    /// through the admin endpoint.
    AdminForbidden,
    /// `link_lost`, `link_restored` or `tick`: the server's own events, not a client's.
    ServerOnly,
    /// A command before the connection logged in or resumed.
    NotBound,
    /// A `login` or `resume` on a connection that already speaks for a session.
    AlreadyBound,
    /// A command naming another session than the connection's.
    WrongSession,
    /// A resume with an unknown session or a wrong token (the two are not told apart).
    ResumeRefused,
    /// More frames per second than the connection may send; the frame was dropped.
    RateLimited,
    /// Another connection resumed this session; this one is closed next.
    Replaced,
    /// The server could not draw a resume token; the login was not attempted.
    Internal,
    /// The admin endpoint without the right bearer token.
    Unauthorized,
    /// The admin endpoint with a command other than `remove_users` or `dismiss_room`.
    NotAdmin,
    /// A login without a valid access token for its user (missing, forged, expired, or
    /// naming another user).
    Unauthenticated,
    /// A command entering a room the session's access token does not grant.
    RoomNotAllowed,
    /// A per-user quota (sessions, rooms created, attribute bytes) would be passed.
    QuotaExceeded,
    /// Too many failed admin attempts from this address; wait.
    TooManyAttempts,
    /// A replicated server could not get the command applied in time (no quorum, or this
    /// node is still joining its group). It was not applied, or it will be applied once
    /// later (its reply then follows); re-read what it would change before sending it
    /// again.
    Unavailable,
    /// Too many of this connection's commands are waiting for the replicated group; this
    /// one was not taken.
    Busy,
}

/// A refusal, as sent in an error frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameError {
    /// What kind of refusal.
    pub code: FrameErrorCode,
    /// Human-readable detail.
    pub message: String,
    /// The refused frame's `request`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<u64>,
}

impl FrameError {
    /// A refusal of a frame that carried `request`.
    #[must_use]
    pub fn new(code: FrameErrorCode, message: impl Into<String>, request: Option<u64>) -> Self {
        FrameError {
            code,
            message: message.into(),
            request,
        }
    }

    /// The error frame's text.
    #[must_use]
    pub fn to_frame(&self) -> String {
        #[derive(Serialize)]
        struct Wrap<'a> {
            error: &'a FrameError,
        }
        to_json(&Wrap { error: self })
    }
}

/// A frame from a client, checked for everything that does not need the connection's state.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// A session command (login included) for the engine.
    Input {
        /// The command.
        input: Input,
        /// Its request number (every session command has one).
        request: Option<u64>,
        /// A login's access token, if it carried one.
        token: Option<String>,
    },
    /// Take a dropped session back.
    Resume {
        /// The session.
        session: SessionId,
        /// The token handed out at its login.
        token: String,
    },
}

/// Just enough of a frame to dispatch it and to name it in an error.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    kind: Option<String>,
    request: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeBody {
    #[serde(rename = "type")]
    _kind: String,
    session: SessionId,
    token: String,
}

/// Whether a connection bound to `bound` (or to no session) may send `input`: a login
/// only unbound, anything else only for its own session. The one rule both the single-node
/// and the replicated engine task apply before an input reaches the engine.
#[must_use]
pub fn binding_refusal(
    input: &Input,
    bound: Option<SessionId>,
) -> Option<(FrameErrorCode, &'static str)> {
    let is_login = matches!(input, Input::Login { .. });
    match bound {
        None if !is_login => Some((
            FrameErrorCode::NotBound,
            "log in or resume first: this connection speaks for no session yet",
        )),
        Some(_) if is_login => Some((
            FrameErrorCode::AlreadyBound,
            "this connection already speaks for a session (log out first)",
        )),
        Some(s) if input.session() != Some(s) => Some((
            FrameErrorCode::WrongSession,
            "a connection may only send commands for its own session",
        )),
        _ => None,
    }
}

/// Parses and checks one text frame from a session connection.
///
/// # Errors
/// A [`FrameError`] to send back: malformed JSON or input, an admin command, or a server-only
/// event.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let probe: Probe = serde_json::from_str(text)
        .map_err(|e| FrameError::new(FrameErrorCode::MalformedFrame, e.to_string(), None))?;
    let request = probe.request;
    let malformed = |e: serde_json::Error| {
        FrameError::new(FrameErrorCode::MalformedFrame, e.to_string(), request)
    };
    // Judged by the type alone, so that extra fields (a `session`, say) cannot turn the
    // refusal into a vaguer "malformed".
    match probe.kind.as_deref() {
        Some("remove_users" | "dismiss_room") => {
            return Err(FrameError::new(
                FrameErrorCode::AdminForbidden,
                "admin commands are accepted only on the admin endpoint",
                request,
            ))
        }
        Some("link_lost" | "link_restored" | "tick") => {
            return Err(FrameError::new(
                FrameErrorCode::ServerOnly,
                "link and time events come from the server, not from clients",
                request,
            ))
        }
        _ => {}
    }
    if probe.kind.as_deref() == Some("resume") {
        let body: ResumeBody = serde_json::from_str(text).map_err(malformed)?;
        return Ok(ClientFrame::Resume {
            session: body.session,
            token: body.token,
        });
    }
    if probe.kind.as_deref() == Some("login") {
        // The token is the server's business, not the engine's: taken off before parsing.
        let mut v: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
        let token = match v.as_object_mut().and_then(|o| o.remove("token")) {
            None => None,
            Some(serde_json::Value::String(t)) => Some(t),
            Some(_) => {
                return Err(FrameError::new(
                    FrameErrorCode::MalformedFrame,
                    "token must be a string",
                    request,
                ))
            }
        };
        let input: Input = serde_json::from_value(v).map_err(malformed)?;
        return Ok(ClientFrame::Input {
            input,
            request,
            token,
        });
    }
    let input: Input = serde_json::from_str(text).map_err(malformed)?;
    Ok(ClientFrame::Input {
        input,
        request,
        token: None,
    })
}

/// `{"resume":{"session":..,"token":..}}`, sent after a successful login.
#[must_use]
pub fn resume_frame(session: SessionId, token: &str) -> String {
    to_json(&serde_json::json!({"resume": {"session": session, "token": token}}))
}

/// Most lost replies a `resumed` frame names (more are counted in `lost_frames` only).
pub const MAX_LOST_REQUESTS: usize = 256;

/// What a session may have lost while it had no (working) connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lost {
    /// Outputs not known to have been delivered.
    pub frames: u64,
    /// The request numbers of the replies among them (at most [`MAX_LOST_REQUESTS`]).
    pub requests: Vec<u64>,
    /// The outputs held for the session were on another node (or an earlier process of
    /// this one): what it had not delivered cannot be counted or named.
    pub unknown: bool,
}

impl Lost {
    /// Records one lost output (`request`: it was the reply to that command).
    pub fn add(&mut self, request: Option<u64>) {
        self.frames += 1;
        if let Some(r) = request {
            if self.requests.len() < MAX_LOST_REQUESTS {
                self.requests.push(r);
            }
        }
    }

    /// Whether nothing was lost.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.frames == 0 && !self.unknown
    }

    /// Nothing is known about what was lost (see [`Lost::unknown`]).
    #[must_use]
    pub fn unknown() -> Lost {
        Lost {
            unknown: true,
            ..Lost::default()
        }
    }
}

/// `{"resumed":{"session":..,"gap":..}}`, sent after a successful resume, with what was lost.
#[must_use]
pub fn resumed_frame(session: SessionId, lost: &Lost) -> String {
    if lost.is_empty() {
        return to_json(&serde_json::json!({"resumed": {"session": session, "gap": false}}));
    }
    if lost.unknown {
        return to_json(
            &serde_json::json!({"resumed": {"session": session, "gap": true, "unknown": true}}),
        );
    }
    to_json(
        &serde_json::json!({"resumed": {"session": session, "gap": true,
        "lost_frames": lost.frames, "lost_requests": lost.requests}}),
    )
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Only strings, numbers and booleans: serializing cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> FrameErrorCode {
        parse_client_frame(text).unwrap_err().code
    }

    #[test]
    fn inputs_parse_with_their_request() {
        let f =
            parse_client_frame(r#"{"type":"join_room","session":"s1","request":7,"room_id":"r1"}"#)
                .unwrap();
        let ClientFrame::Input { input, request, .. } = f else {
            panic!("not an input")
        };
        assert_eq!(request, Some(7));
        assert_eq!(input.request(), Some(7));
    }

    #[test]
    fn resume_parses() {
        let f = parse_client_frame(r#"{"type":"resume","session":"s1","token":"ab"}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Resume {
                session: "s1".into(),
                token: "ab".into()
            }
        );
    }

    #[test]
    fn bad_frames_are_named() {
        assert_eq!(code("not json"), FrameErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), FrameErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"type":"fly"}"#), FrameErrorCode::MalformedFrame);
        assert_eq!(
            code(r#"{"type":"resume","session":"s1"}"#),
            FrameErrorCode::MalformedFrame
        );
        assert_eq!(
            code(r#"{"type":"dismiss_room","request":1,"room_id":"r1"}"#),
            FrameErrorCode::AdminForbidden
        );
        assert_eq!(
            code(r#"{"type":"link_lost","session":"s1"}"#),
            FrameErrorCode::ServerOnly
        );
        assert_eq!(code(r#"{"type":"tick"}"#), FrameErrorCode::ServerOnly);
        assert_eq!(
            code(r#"{"type":"remove_users","session":"s1","request":1}"#),
            FrameErrorCode::AdminForbidden
        );
    }

    #[test]
    fn a_login_token_is_taken_off_before_the_engine_sees_it() {
        let f = parse_client_frame(
            r#"{"type":"login","session":"s1","request":1,"user":"alice","token":"t.t.t"}"#,
        )
        .unwrap();
        let ClientFrame::Input { input, token, .. } = f else {
            panic!("not an input")
        };
        assert_eq!(token.as_deref(), Some("t.t.t"));
        assert!(matches!(input, Input::Login { .. }));
        assert_eq!(
            code(r#"{"type":"login","session":"s1","request":1,"user":"a","token":5}"#),
            FrameErrorCode::MalformedFrame
        );
        assert_eq!(
            code(r#"{"type":"join_room","session":"s1","request":1,"room_id":"r","token":"x"}"#),
            FrameErrorCode::MalformedFrame
        );
    }

    #[test]
    fn resumed_frames_say_what_was_lost() {
        let s = SessionId::new("s1");
        let v = |t: String| serde_json::from_str::<serde_json::Value>(&t).unwrap();
        assert_eq!(
            v(resumed_frame(s, &Lost::default())),
            serde_json::json!({"resumed": {"gap": false, "session": "s1"}})
        );
        let mut lost = Lost::default();
        lost.add(None);
        lost.add(Some(77));
        assert_eq!(
            v(resumed_frame(s, &lost)),
            serde_json::json!({"resumed": {"gap": true, "lost_frames": 2,
                "lost_requests": [77], "session": "s1"}})
        );
        assert_eq!(
            v(resumed_frame(s, &Lost::unknown())),
            serde_json::json!({"resumed": {"gap": true, "unknown": true, "session": "s1"}})
        );
    }

    #[test]
    fn a_malformed_command_keeps_its_request_number() {
        let e =
            parse_client_frame(r#"{"type":"join_room","session":"s1","request":9}"#).unwrap_err();
        assert_eq!(e.request, Some(9));
        assert!(e
            .to_frame()
            .starts_with(r#"{"error":{"code":"malformed_frame""#));
    }
}
