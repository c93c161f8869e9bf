//! The driver loop of README's "Embedding" section, runnable:
//! `cargo run -p roomcore-server --example tokio_driver_loop`.
//!
//! One task owns the engine; connections send it inputs over a channel and get their
//! session's outputs, as JSON lines, on their own channel. The loop sleeps until the next
//! command or the engine's next deadline, whichever comes first. Outputs come in the compact
//! form (`Outputs`): a member event for several sessions is one output naming a run of
//! them, serialized once and addressed to each.
#![allow(clippy::unwrap_used)]

use roomcore::trace::{output_line, AddressedLine};
use roomcore::{
    Config, Engine, Input, Millis, Outputs, Recipient, RoomConfig, RoomInfo, SessionId,
};
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Duration, Instant};

/// A connection's outbound queue: the trace lines of its session's outputs.
type Conn = mpsc::Sender<String>;

enum Cmd {
    /// A connection speaks for `session`; its outputs go to `tx`.
    Attach(SessionId, Conn),
    /// A command from a connection (the server stamps the time, not the client).
    Input(Input),
}

async fn drive(mut engine: Engine, mut rx: mpsc::Receiver<Cmd>) {
    let start = Instant::now();
    let now = || Millis(start.elapsed().as_millis() as u64);
    let mut routes: HashMap<SessionId, Conn> = HashMap::new();
    // Reused: a steady workload allocates nothing for the buffer.
    let mut out = Outputs::new();
    loop {
        // Sleep until the engine's next timer (destroy delay, reconnect grace), if any.
        let deadline = engine
            .poll_timeout()
            .map(|at| start + Duration::from_millis(at.0));
        let timer = async {
            match deadline {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Cmd::Attach(session, tx)) => { routes.insert(session, tx); }
                Some(Cmd::Input(input)) => engine.handle_input(now(), &input, &mut out),
                None => return,
            },
            () = timer => engine.handle_timeout(now(), &mut out),
        }
        // Route every output to its sessions' connections; never await here: a full queue
        // means a consumer too slow to keep up (the server disconnects it: `link_lost`).
        let send = |session: &SessionId, line: String| {
            if let Some(tx) = routes.get(session) {
                drop(tx.try_send(line));
            }
        };
        for stamped in &out {
            match stamped.output.recipient() {
                Recipient::Session(session) => send(&session, output_line(stamped)),
                // A member event for several members: serialized once, each member's line
                // names its own session.
                Recipient::Sessions(run) => {
                    let line = AddressedLine::new(stamped);
                    for session in out.run(run) {
                        send(session, line.line_for(*session));
                    }
                }
                // A large room's coalesced delta is addressed to the room: one line for
                // every live member.
                Recipient::Room(room) => {
                    let line = output_line(stamped);
                    for session in engine.room_recipients(room).unwrap_or_default() {
                        send(&session, line.clone());
                    }
                }
                // Admin replies and service events (room_created, room_destroyed) go to the
                // service, not to a session.
                Recipient::Service => println!("to the service: {}", output_line(stamped)),
            }
        }
        out.clear();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Config::default()).unwrap();
    let (tx, rx) = mpsc::channel(1024);
    let owner = tokio::spawn(drive(engine, rx));
    // Three "connections": alice's, bob's and carol's sessions, each with its queue.
    let mut queues = Vec::new();
    for (session, user) in [("s1", "alice"), ("s2", "bob"), ("s3", "carol")] {
        let (conn_tx, conn_rx) = mpsc::channel(64);
        let session = SessionId::new(session);
        tx.send(Cmd::Attach(session, conn_tx)).await.unwrap();
        let login = Input::Login {
            session,
            request: 1,
            user: user.into(),
        };
        tx.send(Cmd::Input(login)).await.unwrap();
        queues.push((session, conn_rx));
    }
    let [s1, s2, s3] = [0, 1, 2].map(|i| queues[i].0);
    let lobby = || "lobby".into();
    let room = RoomInfo {
        id: lobby(),
        name: "Lobby".into(),
    };
    let delay = RoomConfig {
        destroy_delay_s: 1,
        ..RoomConfig::default()
    };
    let join = |session| Input::JoinRoom {
        session,
        request: 2,
        room_id: lobby(),
    };
    let leave = |session| Input::LeaveRoom {
        session,
        request: 4,
        room_id: lobby(),
    };
    for input in [
        Input::CreateRoom {
            session: s1,
            request: 2,
            room,
            config: Some(delay),
        },
        join(s2),
        join(s3),
        // One message, two recipients: one output naming a run of bob and carol.
        Input::SendRoomMessage {
            session: s1,
            request: 3,
            room_id: lobby(),
            payload: "hello".into(),
        },
        leave(s1),
        leave(s2),
        leave(s3),
    ] {
        tx.send(Cmd::Input(input)).await.unwrap();
    }
    // The room's destroy timer fires a second after the last one left.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    drop(tx);
    owner.await.unwrap();
    // Each session's lines, in the engine's order.
    for (session, mut rx) in queues {
        while let Some(line) = rx.recv().await {
            println!("to {session}: {line}");
        }
    }
}
