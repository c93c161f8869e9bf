//! The driver loop of README's "Embedding" section, runnable:
//! `cargo run -p roomcore-server --example tokio_driver_loop`.
//!
//! One task owns the engine; connections send it inputs over a channel and get their
//! session's outputs on their own channel. The loop sleeps until the next command or the
//! engine's next deadline, whichever comes first.
#![allow(clippy::unwrap_used)]

use roomcore::{Config, Engine, Input, Millis, Output, RoomConfig, RoomInfo, SessionId, Stamped};
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Duration, Instant};

enum Cmd {
    /// A connection speaks for `session`; its outputs go to `tx`.
    Attach(SessionId, mpsc::Sender<Stamped>),
    /// A command from a connection (the server stamps the time, not the client).
    Input(Input),
}

async fn drive(mut engine: Engine, mut rx: mpsc::Receiver<Cmd>) {
    let start = Instant::now();
    let now = || Millis(start.elapsed().as_millis() as u64);
    let mut routes: HashMap<SessionId, mpsc::Sender<Stamped>> = HashMap::new();
    let mut out = Vec::new();
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
        // Route every output to its session's connection; never await here: a full queue
        // means a consumer too slow to keep up (the server disconnects it: `link_lost`).
        for stamped in out.drain(..) {
            // A large room's coalesced delta is addressed to the room: one copy per live member.
            let to = match &stamped.output {
                Output::RoomMembersChanged { room_id, .. } => engine.room_recipients(*room_id),
                other => other.session().map(|s| vec![s]),
            };
            for tx in to.unwrap_or_default().iter().filter_map(|s| routes.get(s)) {
                drop(tx.try_send(stamped.clone()));
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Config::default()).unwrap();
    let (tx, rx) = mpsc::channel(1024);
    let owner = tokio::spawn(drive(engine, rx));
    // One "connection": alice's session, with its outbound queue.
    let (conn_tx, mut conn_rx) = mpsc::channel(64);
    let s1 = SessionId::new("s1");
    tx.send(Cmd::Attach(s1, conn_tx)).await.unwrap();
    let room = RoomInfo {
        id: "lobby".into(),
        name: "Lobby".into(),
    };
    let delay = RoomConfig {
        destroy_delay_s: 1,
        ..RoomConfig::default()
    };
    for input in [
        Input::Login {
            session: s1,
            request: 1,
            user: "alice".into(),
        },
        Input::CreateRoom {
            session: s1,
            request: 2,
            room,
            config: Some(delay),
        },
        Input::LeaveRoom {
            session: s1,
            request: 3,
            room_id: "lobby".into(),
        },
    ] {
        tx.send(Cmd::Input(input)).await.unwrap();
    }
    // alice's outputs, in the engine's order; the room's destroy timer fires a second later.
    for _ in 0..7 {
        let stamped = conn_rx.recv().await.unwrap();
        println!("to s1: {}", roomcore::trace::output_line(&stamped));
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    drop(tx);
    owner.await.unwrap();
}
