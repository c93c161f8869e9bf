//! Admin commands: only through the admin endpoint, only with the bearer token.

use crate::common::*;
use serde_json::json;

/// alice and bob in r1 (alice created it), carol elsewhere.
async fn two_in_r1(srv: &TestServer) -> (Client, Client) {
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

#[tokio::test]
async fn a_kick_through_the_admin_endpoint() {
    let srv = server().await;
    let (mut alice, mut bob) = two_in_r1(&srv).await;
    let out = srv
        .admin_ok(
            json!({"type": "remove_users", "request": 7, "room_id": "r1",
                         "users": ["bob", "nobody"]}),
        )
        .await;
    assert_eq!(
        out,
        json!({"type": "admin_reply", "request": 7,
               "ok": {"removed": ["bob"], "skipped": ["nobody"]}})
    );
    assert_eq!(
        bob.next().await["out"],
        state("s2", "r1", "disconnected", "kicked_out")
    );
    assert_eq!(
        alice.next().await["out"],
        left("s1", "r1", &["bob"], "kicked")
    );
    // A kick is not a ban: bob can come back.
    let r = bob
        .reply(json!({"type": "join_room", "room_id": "r1"}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn a_dismiss_through_the_admin_endpoint() {
    let srv = server().await;
    let (mut alice, mut bob) = two_in_r1(&srv).await;
    let out = srv
        .admin_ok(json!({"type": "dismiss_room", "request": 8, "room_id": "r1"}))
        .await;
    assert_eq!(
        out,
        json!({"type": "admin_reply", "request": 8, "ok": {"room_id": "r1"}})
    );
    assert_eq!(
        alice.next().await["out"],
        state("s1", "r1", "disconnected", "room_not_exist")
    );
    assert_eq!(
        bob.next().await["out"],
        state("s2", "r1", "disconnected", "room_not_exist")
    );
    let s = srv.stats().await;
    assert_eq!(s["rooms"], 0);
    assert_eq!(s["rooms_destroyed"], 1);
    let out = srv
        .admin_ok(json!({"type": "dismiss_room", "request": 9, "room_id": "r1"}))
        .await;
    assert_eq!(out["error"]["code"], "room_not_exist");
}

#[tokio::test]
async fn the_admin_endpoint_needs_the_token_and_an_admin_command() {
    let srv = server().await;
    let (_alice, _bob) = two_in_r1(&srv).await;
    let dismiss = r#"{"type":"dismiss_room","request":1,"room_id":"r1"}"#;
    let (status, v) = srv.admin(None, dismiss).await;
    assert_eq!((status, frame_error(&v)), (401, "unauthorized"));
    let (status, v) = srv
        .admin(Some("test-admin-token-0123456789abcdeF"), dismiss)
        .await;
    assert_eq!((status, frame_error(&v)), (401, "unauthorized"));
    let login = r#"{"type":"login","session":"x","request":1,"user":"x"}"#;
    let (status, v) = srv.admin(Some(TOKEN), login).await;
    assert_eq!((status, frame_error(&v)), (400, "not_admin"));
    let (status, v) = srv.admin(Some(TOKEN), "{oops").await;
    assert_eq!((status, frame_error(&v)), (400, "malformed_frame"));
    let huge = format!(
        r#"{{"type":"remove_users","request":1,"room_id":"r1","users":["{}"]}}"#,
        "u".repeat(70_000)
    );
    let (status, _) = srv.admin(Some(TOKEN), &huge).await;
    assert_eq!(status, 413);
    let (status, _) = http(srv.addr, "GET", "/admin/stats", Some("wrong"), "").await;
    assert_eq!(status, 401);
    // Nothing of the above reached the engine: r1 still has both members.
    assert_eq!(srv.stats().await["rooms"], 1);
}

#[tokio::test]
async fn an_admin_command_on_a_session_connection_gets_an_error_frame() {
    let srv = server().await;
    let (mut alice, mut bob) = two_in_r1(&srv).await;
    for cmd in [
        json!({"type": "dismiss_room", "room_id": "r1"}),
        json!({"type": "remove_users", "room_id": "r1", "users": ["bob"]}),
    ] {
        let r = alice.reply(cmd).await;
        assert_eq!(frame_error(&r), "admin_forbidden");
    }
    bob.silent(100).await;
    // The connection lives on and the room is untouched.
    let r = alice
        .reply(json!({"type": "query_members", "room_id": "r1", "count": 10}))
        .await;
    assert_eq!(
        r["ok"]["members"],
        json!([{"user_id": "alice"}, {"user_id": "bob"}])
    );
}

#[tokio::test]
async fn status_and_cluster_answer_on_an_in_memory_server() {
    let srv = server().await;
    let (code, _) = http(srv.addr, "GET", "/status", None, "").await;
    assert_eq!(code, 401, "the status needs the admin token");
    let (code, text) = http(srv.addr, "GET", "/status", Some(TOKEN), "").await;
    assert_eq!(code, 200, "{text}");
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["node_id"], 1);
    assert_eq!(s["role"], "single");
    assert_eq!(s["leader_id"], 1);
    let digest = s["state_digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64, "sha256 hex: {digest}");
    // The digest follows the state: a login changes it.
    let mut c = srv.client().await;
    c.login("s1", "alice").await;
    let (_, text) = http(srv.addr, "GET", "/status", Some(TOKEN), "").await;
    let after: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_ne!(after["state_digest"], s["state_digest"]);
    assert!(after["last_applied"].as_u64() > s["last_applied"].as_u64());
    // Not a group: no other node to resume on.
    let (code, text) = http(srv.addr, "GET", "/cluster", None, "").await;
    assert_eq!(code, 200);
    assert_eq!(text, r#"{"nodes":[]}"#);
}
