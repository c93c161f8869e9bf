//! Shared helpers for the integration tests: a checked harness and transcript snapshots.
#![allow(dead_code, unused_imports)]

pub use roomcore::{Config, DevicePolicy, ErrorCode, Input, Output, RoomEvent, RoomState};
pub use roomcore_testkit::checks::{light_step, light_timeout};
pub use roomcore_testkit::script::{delay_s, link_lost, link_restored, Requests};
pub use roomcore_testkit::Harness;

/// A harness plus a request numberer, with a step method that panics on a failed check.
pub struct T {
    pub h: Harness,
    pub r: Requests,
}

impl T {
    pub fn new() -> T {
        T::with(Config::default())
    }

    pub fn with(config: Config) -> T {
        T {
            h: Harness::new(config).expect("valid config"),
            r: Requests::default(),
        }
    }

    /// Applies `input` at `at`, checks every invariant, returns the outputs.
    pub fn at(&mut self, at: u64, input: Input) -> Vec<Output> {
        match self.h.step(at, input) {
            Ok(o) => o,
            Err(e) => panic!("check failed at {at}: {e}"),
        }
    }

    /// Moves time to `at`, firing timers (checked).
    pub fn advance(&mut self, at: u64) {
        if let Err(e) = self.h.advance(at) {
            panic!("check failed advancing to {at}: {e}");
        }
    }

    pub fn engine(&self) -> &roomcore::Engine {
        &self.h.engine
    }

    pub fn transcript(&self) -> &[roomcore_testkit::Step] {
        self.h.transcript()
    }
}

/// The error code of the reply in `outs`, if any.
pub fn error_of(outs: &[Output]) -> Option<ErrorCode> {
    outs.iter().find_map(|o| match o {
        Output::Reply { outcome, .. } | Output::AdminReply { outcome, .. } => outcome.error_code(),
        _ => None,
    })
}

/// The (session, room, state, event) tuples in `outs`, in order, as strings.
pub fn states(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .filter_map(|o| match o {
            Output::RoomStateChanged {
                session,
                room_id,
                state,
                event,
            } => Some(format!("{session} {room_id} {state:?}/{event:?}")),
            _ => None,
        })
        .collect()
}

/// Pins the whole transcript of `t` as a snapshot named `name`: a conformance trace (JSON
/// Lines) that `roomcore check` runs, as `snapshots_are_vectors` proves for every one.
macro_rules! pin {
    ($name:expr, $t:expr) => {
        insta::assert_snapshot!($name, $t.h.jsonl());
    };
}

// ---- Helpers for the room lifecycle suites (create/join/enter, switch, leave, destroy
// delay, admin, errors, snapshot/restore). ----

/// The wire (snake_case) name of a unit enum value such as a state, event or reason.
pub fn wire<V: serde::Serialize>(v: &V) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

fn user_list(members: &[roomcore::Member]) -> String {
    let users: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    users.join(",")
}

/// One output as a short line, e.g. `s1 r2 connecting/active_switch`, `s3 r2 joined alice`,
/// `s2 r1 left alice,bob kicked`, `s1 reply ok`, `s1 reply room_full`, `admin ok`,
/// `created r2`, `destroyed r1 empty`, `s1 closed logout`.
pub fn line(o: &Output) -> String {
    let outcome = |o: &roomcore::Outcome| o.error_code().map_or("ok".to_owned(), |c| wire(&c));
    match o {
        Output::Reply {
            session,
            outcome: r,
            ..
        } => format!("{session} reply {}", outcome(r)),
        Output::AdminReply { outcome: r, .. } => format!("admin {}", outcome(r)),
        Output::RoomStateChanged {
            session,
            room_id,
            state,
            event,
        } => format!("{session} {room_id} {}/{}", wire(state), wire(event)),
        Output::MembersJoined {
            to: session,
            room_id,
            members,
        } => format!("{session} {room_id} joined {}", user_list(members)),
        Output::MembersLeft {
            to: session,
            room_id,
            members,
            reason,
        } => format!(
            "{session} {room_id} left {} {}",
            user_list(members),
            wire(reason)
        ),
        Output::RoomCreated { room_id, .. } => format!("created {room_id}"),
        Output::RoomDestroyed { room_id, cause, .. } => {
            format!("destroyed {room_id} {}", wire(cause))
        }
        Output::SessionClosed { session, reason } => format!("{session} closed {}", wire(reason)),
        Output::RoomMessage {
            to: session,
            room_id,
            from,
            seq,
            ..
        } => format!("{session} {room_id} message {seq} from {from}"),
        Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        } => {
            let left: Vec<String> = left
                .iter()
                .map(|m| format!("{}({})", m.user_id, wire(&m.reason)))
                .collect();
            format!(
                "room {room_id} changed +[{}] -[{}]",
                user_list(joined),
                left.join(",")
            )
        }
        // Other outputs (attribute updates, ...): recipient, room and wire type.
        other => {
            let kind = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.get("type").and_then(|k| k.as_str().map(str::to_owned)))
                .unwrap_or_default();
            let session = other.session().map(|s| format!("{s} ")).unwrap_or_default();
            let room = other.room_id().map(|r| format!("{r} ")).unwrap_or_default();
            format!("{session}{room}{kind}")
        }
    }
}

/// Every output as a line, in emission order.
pub fn lines(outs: &[Output]) -> Vec<String> {
    outs.iter().map(line).collect()
}

/// The lines addressed to `session`, in the order it sees them.
pub fn seen_by(outs: &[Output], session: &str) -> Vec<String> {
    outs.iter()
        .filter(|o| o.session().is_some_and(|s| s.as_str() == session))
        .map(line)
        .collect()
}

/// The lines addressed to no session (room created/destroyed, admin replies), in order.
pub fn server_side(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .filter(|o| o.session().is_none())
        .map(line)
        .collect()
}

/// The `ok` body of the reply (or admin reply) in `outs`, if it succeeded.
pub fn ok_of(outs: &[Output]) -> Option<roomcore::ReplyOk> {
    outs.iter().find_map(|o| match o {
        Output::Reply {
            outcome: roomcore::Outcome::Ok(ok),
            ..
        }
        | Output::AdminReply {
            outcome: roomcore::Outcome::Ok(ok),
            ..
        } => Some(ok.clone()),
        _ => None,
    })
}

impl T {
    /// Builds an input with the request numberer and applies it at `at` (checked).
    pub fn run(&mut self, at: u64, make: impl FnOnce(&mut Requests) -> Input) -> Vec<Output> {
        let input = make(&mut self.r);
        self.at(at, input)
    }

    /// Logs in every `(session, user)` pair at `at`; each must succeed.
    pub fn logins(&mut self, at: u64, pairs: &[(&str, &str)]) {
        for (session, user) in pairs {
            let outs = self.run(at, |r| r.login(session, user));
            assert_eq!(error_of(&outs), None, "login {session} as {user}");
        }
    }

    /// The engine's serialized state (what "state unchanged" compares).
    pub fn snapshot(&self) -> String {
        roomcore_testkit::checks::snapshot(self.engine()).expect("snapshot")
    }

    /// Applies a command that must be refused, and checks explicitly (besides the harness)
    /// that the state is byte-for-byte unchanged and that every output goes to the caller
    /// (or, for an admin command, that the admin reply is the only output). Returns the code.
    pub fn refused(
        &mut self,
        at: u64,
        make: impl FnOnce(&mut Requests) -> Input,
    ) -> (ErrorCode, Vec<Output>) {
        let input = make(&mut self.r);
        self.advance(at);
        let before = self.snapshot();
        let caller = input.session();
        let outs = self.at(at, input);
        assert_eq!(
            before,
            self.snapshot(),
            "a refused command changed the state"
        );
        for o in &outs {
            match caller {
                Some(s) => assert_eq!(o.session(), Some(s), "output to someone else: {o:?}"),
                None => assert!(
                    matches!(o, Output::AdminReply { .. }),
                    "admin refusal output {o:?}"
                ),
            }
        }
        let code = error_of(&outs).unwrap_or_else(|| panic!("not refused: {:?}", lines(&outs)));
        (code, outs)
    }

    /// The members of `room` in join order (`None` if the room does not exist).
    pub fn members(&self, room: &str) -> Option<Vec<String>> {
        self.engine()
            .room_members(roomcore::RoomId::new(room))
            .map(|m| m.iter().map(|u| u.as_str().to_owned()).collect())
    }

    /// The rooms `session` is in, in join order (`None` if not logged in).
    pub fn rooms(&self, session: &str) -> Option<Vec<String>> {
        self.engine()
            .session_rooms(roomcore::SessionId::new(session))
            .map(|m| m.iter().map(|(r, _)| r.as_str().to_owned()).collect())
    }

    /// Whether `room` exists.
    pub fn exists(&self, room: &str) -> bool {
        self.engine().room_exists(roomcore::RoomId::new(room))
    }
}

/// `input` (a create, enter or switch) with its room name replaced by `name`.
pub fn renamed(mut input: Input, name: &str) -> Input {
    match &mut input {
        Input::CreateRoom { room, .. } | Input::EnterRoom { room, .. } => room.name = name.into(),
        Input::SwitchRoom { to, .. } => to.name = name.into(),
        other => panic!("renamed: no room name in {other:?}"),
    }
    input
}

/// A room config with a destroy delay (seconds) and initial attributes.
pub fn room_config(
    destroy_delay_s: u64,
    attributes: &[(&str, &str)],
) -> Option<roomcore::RoomConfig> {
    Some(roomcore::RoomConfig {
        destroy_delay_s,
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..roomcore::RoomConfig::default()
    })
}
