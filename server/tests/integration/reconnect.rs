//! Dropped connections: `link_lost`, a resume within the grace (`link_restored`), a grace
//! that runs out, wrong tokens, and a resume that takes over a connection not yet known dead.

use crate::common::*;
use serde_json::json;

async fn alice_and_bob_in_r1(srv: &TestServer) -> (Client, Client) {
    let (mut alice, mut bob) = (srv.client().await, srv.client().await);
    alice.login("s1", "alice").await;
    bob.login("s2", "bob").await;
    alice
        .cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    bob.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    assert_eq!(alice.next().await["out"]["type"], "members_joined");
    (alice, bob)
}

async fn detached(srv: &TestServer, n: u64) {
    srv.wait_stats("detached sessions", |s| s["detached_sessions"] == n)
        .await;
}

#[tokio::test]
async fn a_dropped_connection_resumed_within_the_grace_is_link_restored() {
    let srv = server().await;
    let (alice, mut bob) = alice_and_bob_in_r1(&srv).await;
    let token = alice.token.clone();
    drop(alice); // the TCP connection ends without a close frame
    detached(&srv, 1).await;
    // Others see nothing of the loss; meanwhile carol joins and bob leaves.
    let mut carol = srv.client().await;
    carol.login("s3", "carol").await;
    carol
        .cmd(json!({"type": "join_room", "room_id": "r1"}))
        .await;
    assert_eq!(
        bob.next().await["out"],
        members("members_joined", "s2", "r1", &["carol"])
    );
    bob.cmd(json!({"type": "leave_room", "room_id": "r1"}))
        .await;

    let mut back = srv.client().await;
    let frames = back.resume("s1", &token).await;
    assert_eq!(
        Client::outs(&frames),
        vec![
            // Kept while the connection was gone: the loss itself.
            state("s1", "r1", "connecting", "network_interrupted"),
            // The restore: back to connected, then the delta of what changed meanwhile.
            state("s1", "r1", "connected", "success"),
            members("members_joined", "s1", "r1", &["carol"]),
            left("s1", "r1", &["bob"], "left"),
        ]
    );
    assert_eq!(
        frames.last().unwrap(),
        &json!({"resumed": {"session": "s1", "gap": false}})
    );
    detached(&srv, 0).await;
    // The resumed connection speaks for s1 again.
    let r = back
        .reply(json!({"type": "query_members", "room_id": "r1", "count": 10}))
        .await;
    assert_eq!(
        r["ok"]["members"],
        json!([{"user_id": "alice"}, {"user_id": "carol"}])
    );
}

#[tokio::test]
async fn a_grace_that_runs_out_takes_the_session_out_of_its_rooms() {
    let srv = server_with(|c| c.engine.reconnect_grace_ms = 200).await;
    let (alice, mut bob) = alice_and_bob_in_r1(&srv).await;
    let token = alice.token.clone();
    drop(alice);
    // The engine's grace timer is driven by the server's own deadline: bob is told.
    assert_eq!(
        bob.next().await["out"],
        left("s2", "r1", &["alice"], "timeout")
    );
    // The session stays logged in; resuming delivers what it missed.
    let mut back = srv.client().await;
    let frames = back.resume("s1", &token).await;
    assert_eq!(
        Client::outs(&frames),
        vec![
            state("s1", "r1", "connecting", "network_interrupted"),
            state("s1", "r1", "disconnected", "connect_timeout"),
        ]
    );
    let r = back.reply(json!({"type": "leave_all_rooms"})).await;
    assert_eq!(r["ok"]["room_ids"], json!([]));
}

#[tokio::test]
async fn a_wrong_token_or_unknown_session_is_refused() {
    let srv = server().await;
    let (alice, _bob) = alice_and_bob_in_r1(&srv).await;
    let token = alice.token.clone();
    drop(alice);
    detached(&srv, 1).await;
    let mut thief = srv.client().await;
    let wrong = if token.starts_with('0') { "1" } else { "0" }.to_owned() + &token[1..];
    for (session, token) in [
        ("s1", wrong.as_str()),
        ("s1", "short"),
        ("s9", token.as_str()),
    ] {
        let frames = thief.resume(session, token).await;
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frame_error(&frames[0]), "resume_refused");
    }
    assert_eq!(srv.stats().await["resumes_refused"], 3);
    // The refused connection is still unbound and alive; with the right token it resumes.
    let frames = thief.resume("s1", &token).await;
    assert!(
        frames.last().unwrap().get("resumed").is_some(),
        "{frames:?}"
    );
}

#[tokio::test]
async fn a_resume_takes_over_a_connection_not_yet_known_dead() {
    let srv = server().await;
    let (mut old, _bob) = alice_and_bob_in_r1(&srv).await;
    let token = old.token.clone();
    let mut new = srv.client().await;
    let frames = new.resume("s1", &token).await;
    assert_eq!(
        Client::outs(&frames),
        vec![
            state("s1", "r1", "connecting", "network_interrupted"),
            state("s1", "r1", "connected", "success"),
        ]
    );
    assert!(frames.last().unwrap().get("resumed").is_some());
    let replaced = old.next().await;
    assert_eq!(frame_error(&replaced), "replaced");
    assert!(old
        .try_next(std::time::Duration::from_secs(2))
        .await
        .is_none());
    let r = new
        .reply(json!({"type": "leave_room", "room_id": "r1"}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn a_session_nobody_comes_back_for_is_logged_out() {
    let srv = server_with(|c| {
        c.engine.reconnect_grace_ms = 100;
        c.limits.abandoned_session = std::time::Duration::from_millis(300);
    })
    .await;
    let (alice, _bob) = alice_and_bob_in_r1(&srv).await;
    let token = alice.token.clone();
    drop(alice);
    let s = srv
        .wait_stats("abandoned logout", |s| s["abandoned_logouts"] == 1)
        .await;
    assert_eq!(s["sessions"], 1);
    let mut back = srv.client().await;
    let frames = back.resume("s1", &token).await;
    assert_eq!(frame_error(&frames[0]), "resume_refused");
    // The id is free again.
    back.login("s1", "alice").await;
}
