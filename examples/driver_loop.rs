//! The driver loop: one owner of the engine feeds it inputs with the time, routes every
//! output to its recipient, and wakes it when its next timer is due.
//!
//! Runnable with `cargo run --example driver_loop`; the crate docs include this file as a
//! doctest, so it is compiled and run by `cargo test`.

use roomcore::{
    Config, Engine, Input, Millis, Output, Outputs, Recipient, RoomConfig, RoomInfo, SessionId, To,
};
use std::collections::BTreeMap;

/// Where outputs go: each session's queue (a connection, in a real service) and the
/// service's own (admin replies, `room_created`, `room_destroyed`).
#[derive(Default)]
struct Routes {
    sessions: BTreeMap<SessionId, Vec<Output>>,
    service: Vec<Output>,
}

impl Routes {
    /// Hands each output to its recipient, then empties the buffer (keeping its memory for
    /// the next step). A member event for several sessions is one output naming a run of
    /// the buffer's recipients; a room-addressed output (a large room's coalesced delta)
    /// goes to every live member, read after the step.
    fn deliver(&mut self, engine: &Engine, out: &mut Outputs) {
        for stamped in out.iter() {
            match stamped.output.recipient() {
                Recipient::Session(s) => {
                    self.sessions
                        .entry(s)
                        .or_default()
                        .push(stamped.output.clone());
                }
                Recipient::Sessions(run) => {
                    // A real server would encode the event once and write it to each link.
                    for &s in out.run(run) {
                        self.sessions
                            .entry(s)
                            .or_default()
                            .push(stamped.output.addressed(To::Session(s)));
                    }
                }
                Recipient::Room(room) => {
                    for s in engine.room_recipients(room).unwrap_or_default() {
                        self.sessions
                            .entry(s)
                            .or_default()
                            .push(stamped.output.clone());
                    }
                }
                Recipient::Service => self.service.push(stamped.output.clone()),
            }
        }
        out.clear();
    }
}

fn main() -> Result<(), roomcore::ConfigError> {
    let mut engine = Engine::new(Config::default())?;
    let mut routes = Routes::default();
    let mut out = Outputs::new();

    // Inputs as a runtime would receive them, each with the time it arrived (ms). The
    // engine never reads a clock: time is whatever the caller says, never going backwards.
    let script = [
        (
            0,
            Input::Login {
                session: "s1".into(),
                request: 1,
                user: "alice".into(),
            },
        ),
        (
            0,
            Input::Login {
                session: "s2".into(),
                request: 1,
                user: "bob".into(),
            },
        ),
        (
            10,
            Input::CreateRoom {
                session: "s1".into(),
                request: 2,
                room: RoomInfo {
                    id: "r1".into(),
                    name: "Room 1".into(),
                },
                // Kept 30 s after the last member leaves.
                config: Some(RoomConfig {
                    destroy_delay_s: 30,
                    ..RoomConfig::default()
                }),
            },
        ),
        (
            20,
            Input::JoinRoom {
                session: "s2".into(),
                request: 2,
                room_id: "r1".into(),
            },
        ),
        (
            30,
            Input::LeaveAllRooms {
                session: "s1".into(),
                request: 3,
            },
        ),
        (
            40,
            Input::LeaveRoom {
                session: "s2".into(),
                request: 3,
                room_id: "r1".into(),
            },
        ),
    ];
    for (at_ms, input) in &script {
        // Timers due by then fire first, inside handle_input, stamped with their deadlines.
        engine.handle_input(Millis(*at_ms), input, &mut out);
        routes.deliver(&engine, &mut out);
    }

    // Nothing left to say: sleep until the next deadline (here the empty room's destroy
    // delay), then let the engine fire it.
    while let Some(deadline) = engine.poll_timeout() {
        engine.handle_timeout(deadline, &mut out);
        routes.deliver(&engine, &mut out);
    }

    // Bob saw Alice leave; Alice was told nothing about herself.
    let bob = &routes.sessions[&SessionId::from("s2")];
    assert!(bob.iter().any(|o| matches!(o, Output::MembersLeft { .. })));
    // The service saw the room come and go, 30 s after it emptied.
    let names: Vec<&str> = routes.service.iter().map(Output::name).collect();
    assert_eq!(names, ["room_created", "room_destroyed"]);
    assert_eq!(engine.now(), Millis(40 + 30_000));
    assert!(!engine.room_exists("r1".into()));
    println!(
        "alice saw {} outputs, bob {}",
        routes.sessions[&SessionId::from("s1")].len(),
        bob.len()
    );
    Ok(())
}
