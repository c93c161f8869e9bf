//! The server is the library, driven: what each client receives equals, output for output,
//! what the library's replay gives that session for the same inputs (times aside).

use crate::common::*;
use roomcore::trace::Player;
use serde_json::{json, Value};
use std::collections::BTreeMap;

enum Step {
    /// A command from client `i` (its session and next request number are added).
    Cmd(usize, Value),
    /// An admin command.
    Admin(Value),
    /// Client `i`'s connection drops.
    Drop(usize),
    /// Client `i` comes back on a new connection with its resume token.
    Resume(usize),
}

fn script() -> Vec<Step> {
    use Step::*;
    vec![
        Cmd(
            0,
            json!({"type": "create_room", "room": {"id": "r1", "name": "One"}}),
        ),
        Cmd(1, json!({"type": "join_room", "room_id": "r1"})),
        Cmd(
            2,
            json!({"type": "create_room", "room": {"id": "r2", "name": "Two"},
                       "config": {"attributes": {"topic": "rust"}}}),
        ),
        Cmd(
            0,
            json!({"type": "set_room_attributes", "room_id": "r1", "attributes": {"k": "v"}}),
        ),
        Cmd(
            1,
            json!({"type": "send_room_message", "room_id": "r1", "payload": "hi"}),
        ),
        Cmd(
            0,
            json!({"type": "switch_room", "from": "r1", "to": {"id": "r2"}}),
        ),
        Cmd(
            0,
            json!({"type": "switch_room", "from": "r2", "to": {"id": "r9"}}),
        ),
        Cmd(1, json!({"type": "enter_room", "room": {"id": "r2"}})),
        Cmd(
            2,
            json!({"type": "query_members", "room_id": "r2", "count": 2}),
        ),
        Drop(1),
        Cmd(0, json!({"type": "leave_room", "room_id": "r2"})),
        Cmd(
            2,
            json!({"type": "send_room_message", "room_id": "r2", "payload": "while away"}),
        ),
        Cmd(0, json!({"type": "enter_room", "room": {"id": "r2"}})),
        Resume(1),
        Admin(json!({"type": "remove_users", "request": 1, "room_id": "r2", "users": ["carol"]})),
        Cmd(0, json!({"type": "enter_room", "room": {"id": "r3"}})),
        Cmd(
            1,
            json!({"type": "switch_room", "from": "r2", "to": {"id": "r3"}}),
        ),
        Cmd(2, json!({"type": "join_room", "room_id": "r3"})),
        Admin(json!({"type": "dismiss_room", "request": 2, "room_id": "r3"})),
        Cmd(1, json!({"type": "leave_all_rooms"})),
        // Last, one reply per client: every output before it has been read.
        Cmd(
            0,
            json!({"type": "query_members", "room_id": "r2", "count": 100}),
        ),
        Cmd(
            1,
            json!({"type": "query_members", "room_id": "r1", "count": 100}),
        ),
        Cmd(
            2,
            json!({"type": "query_members", "room_id": "r2", "count": 100}),
        ),
    ]
}

#[tokio::test]
async fn each_client_receives_exactly_what_replay_gives_its_session() {
    let srv = server().await;
    let names = [("s1", "alice"), ("s2", "bob"), ("s3", "carol")];
    let mut clients = Vec::new();
    let mut inputs: Vec<Value> = Vec::new();
    for (session, user) in names {
        let mut c = srv.client().await;
        c.login(session, user).await;
        inputs.push(json!({"type": "login", "session": session, "request": 1, "user": user}));
        clients.push(c);
    }
    let mut lost = 0;
    for step in script() {
        match step {
            Step::Cmd(i, input) => {
                clients[i].cmd(input).await;
                inputs.push(clients[i].last_sent.clone());
            }
            Step::Admin(input) => {
                srv.admin_ok(input.clone()).await;
                inputs.push(input);
            }
            Step::Drop(i) => {
                let url = srv.ws_url();
                let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
                drop(std::mem::replace(&mut clients[i].ws, ws));
                lost += 1;
                srv.wait_stats("link lost", |s| s["detached_sessions"] == lost)
                    .await;
                inputs.push(json!({"type": "link_lost", "session": names[i].0}));
            }
            Step::Resume(i) => {
                let (session, token) = (clients[i].session.clone(), clients[i].token.clone());
                let frames = clients[i].resume(&session, &token).await;
                assert!(
                    frames.last().unwrap().get("resumed").is_some(),
                    "{frames:?}"
                );
                lost -= 1;
                inputs.push(json!({"type": "link_restored", "session": session}));
            }
        }
    }
    let expected = replay(&inputs);
    for (i, c) in clients.iter().enumerate() {
        let got = Client::outs(&c.log);
        let want = expected.get(names[i].0).cloned().unwrap_or_default();
        assert!(
            got.len() > 5,
            "{}: too few outputs to mean anything",
            names[i].0
        );
        assert_eq!(got, want, "session {}", names[i].0);
    }
}

/// Replays the inputs with the library, 10 ms apart; returns each session's outputs.
fn replay(inputs: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut trace = String::new();
    for (k, input) in inputs.iter().enumerate() {
        trace.push_str(&json!({"at": k * 10, "in": input}).to_string());
        trace.push('\n');
    }
    let mut player = Player::new(trace.as_bytes());
    let mut by_session: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    while let Some(step) = player.next_step().unwrap() {
        for s in step.outputs {
            if let Some(session) = s.output.session() {
                let v = serde_json::to_value(&s.output).unwrap();
                by_session
                    .entry(session.as_str().to_owned())
                    .or_default()
                    .push(v);
            }
        }
    }
    by_session
}
