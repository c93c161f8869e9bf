//! One durable node (`--data-dir`, a group of one), killed with SIGKILL and restarted from
//! its directory: what was acknowledged is there, the client that comes back resumes with
//! its token (rotated, and still good after another kill), the one that does not loses its
//! rooms when its grace runs out, and is logged out once abandoned.

use crate::client::{outs, Client};
use crate::procs::{eventually, free_ports, Server};
use serde_json::{json, Value};

fn members_left_of(frames: &[Value], user: &str) -> usize {
    outs(frames)
        .iter()
        .filter(|o| {
            o["type"] == "members_left"
                && o["members"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["user_id"] == user))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_node_survives_kill_9_and_its_clients_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0];
    let args: Vec<String> = [
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        &tmp.path().join("data").display().to_string(),
        "--insecure-dev",
        "--reconnect-grace-ms",
        "2000",
        "--abandoned-session-s",
        "4",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut node = Server::new(1, port, tmp.path(), args);
    node.start().await;
    // A group of one leads itself once its log is open.
    let status = eventually("the node to lead itself", || async {
        node.status().await.filter(|s| s["role"] == "single")
    })
    .await;
    assert_eq!(status["node_id"], 1);
    assert_eq!(status["leader_id"], 1);

    let url = node.ws_url();
    let mut alice = Client::connect(&url).await.unwrap();
    alice.login("s-a", "alice").await;
    let mut bob = Client::connect(&url).await.unwrap();
    bob.login("s-b", "bob").await;
    let enter = json!({"type": "enter_room", "room": {"id": "r"}});
    assert!(alice.cmd(enter.clone()).await.get("ok").is_some());
    assert!(bob.cmd(enter).await.get("ok").is_some());
    let set = json!({"type": "set_room_members_attributes", "room_id": "r",
                     "attributes": {"n": "1"}});
    let r = alice.cmd(set).await;
    assert!(r.get("ok").is_some(), "{r}");
    // A dropped connection resumed on the same process: the buffer kept there is replayed,
    // so nothing is unknown (what the in-memory server does).
    let token = alice.token.clone();
    assert!(alice.reconnect(&url).await);
    let bob_moves = json!({"type": "set_room_members_attributes", "room_id": "r",
                           "attributes": {"b": "1"}});
    // Once the node has seen the old connection go, bob's write lands in alice's buffer.
    eventually("alice's old connection to be detached", || async {
        let s = node.stats().await?;
        (s["detached_sessions"] == 1).then_some(())
    })
    .await;
    assert!(bob.cmd(bob_moves).await.get("ok").is_some());
    alice.token = token;
    let frames = alice.resume().await;
    assert_eq!(
        frames.last().unwrap()["resumed"],
        json!({"session": "s-a", "gap": false}),
        "{frames:?}"
    );
    let o = outs(&frames);
    assert_eq!(o[0]["type"], "room_state_changed", "{o:?}");
    assert_eq!(
        o[0]["event"], "network_interrupted",
        "kept while she was away: {o:?}"
    );
    let before = node.status().await.unwrap();

    // Killed without a chance to flush: the acknowledged state is on disk.
    node.kill9();
    node.start().await;
    let after = eventually("the node to lead itself again", || async {
        node.status().await.filter(|s| s["role"] == "single")
    })
    .await;
    assert!(
        after["last_applied"].as_u64() >= before["last_applied"].as_u64(),
        "{before} {after}"
    );

    // Alice comes back with her token: her link was lost at the restart (her grace ran),
    // the restore brings her rooms back; the new process cannot know what the old one
    // delivered, and says so.
    let token_before = alice.token.clone();
    assert!(alice.reconnect(&url).await);
    let frames = alice.resume().await;
    assert_eq!(
        frames.last().unwrap()["resumed"],
        json!({"session": "s-a", "gap": true, "unknown": true})
    );
    assert!(
        outs(&frames).contains(&json!({"type": "room_state_changed", "session": "s-a",
            "room_id": "r", "state": "connected", "event": "success"})),
        "{frames:?}"
    );
    assert_ne!(alice.token, token_before, "a resume rotates the token");
    let q = json!({"type": "query_room_members_attributes", "room_id": "r"});
    let r = alice.cmd(q).await;
    assert_eq!(
        r["ok"]["member_attributes"],
        json!([{"user_id": "alice", "attributes": {"n": "1"}}]),
        "the acknowledged write survived: {r}"
    );

    // Bob did not come back: his grace runs out once, and alice sees him leave.
    let seen = loop {
        let v = alice.frame().await;
        if members_left_of(std::slice::from_ref(&v), "bob") == 1 {
            break v;
        }
    };
    assert_eq!(seen["out"]["reason"], "timeout", "{seen}");

    // Killed again: the rotated token is the good one, the old one is refused.
    node.kill9();
    node.start().await;
    let mut thief = Client::connect(&url).await.unwrap();
    thief.session = "s-a".into();
    thief.token = token_before;
    let refused = thief.resume().await;
    assert_eq!(
        refused.last().unwrap()["error"]["code"],
        "resume_refused",
        "{refused:?}"
    );
    assert!(alice.reconnect(&url).await);
    let frames = alice.resume().await;
    assert!(
        frames.last().unwrap().get("resumed").is_some(),
        "{frames:?}"
    );
    assert_eq!(
        members_left_of(&alice.log, "bob"),
        1,
        "the grace fired once"
    );

    // Nobody resumes bob: once abandoned, the node logs him out and his token stops working.
    let mut ghost = Client::connect(&url).await.unwrap();
    ghost.session = "s-b".into();
    ghost.token = bob.token.clone();
    drop(bob);
    eventually("bob to be logged out", || async {
        let s = node.stats().await?;
        (s["abandoned_logouts"].as_u64()? >= 1).then_some(())
    })
    .await;
    let refused = ghost.resume().await;
    assert_eq!(refused.last().unwrap()["error"]["code"], "resume_refused");
}
