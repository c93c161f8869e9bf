//! The service's admin commands through `POST /admin`: provisioning and reading rooms,
//! writing their attributes, moving users, banning and unbanning them.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn rooms_are_provisioned_listed_read_and_written_through_the_endpoint() {
    let srv = server().await;
    let out = srv
        .admin_ok(json!({"type": "admin_create_room", "request": 1,
                         "room": {"id": "lobby", "name": "Lobby"},
                         "config": {"attributes": {"topic": "hi"}}}))
        .await;
    assert_eq!(
        out["ok"],
        json!({"room_id": "lobby", "sid": "R1", "name": "Lobby", "member_count": 0,
               "attributes": {"topic": "hi"}})
    );
    let out = srv
        .admin_ok(
            json!({"type": "admin_create_room", "request": 2, "room": {"id": "lobby", "name": ""}}),
        )
        .await;
    assert_eq!(out["error"]["code"], "room_already_exists", "{out}");
    srv.admin_ok(
        json!({"type": "admin_create_room", "request": 3, "room": {"id": "b", "name": "B"}}),
    )
    .await;
    // A joiner sees the provisioned room at once: the join snapshot.
    let mut alice = srv.client().await;
    alice.login("s1", "alice").await;
    let r = alice
        .reply(json!({"type": "join_room", "room_id": "lobby"}))
        .await;
    assert_eq!(r["ok"]["sid"], "R1", "{r}");
    assert_eq!(r["ok"]["member_count"], 1, "{r}");
    assert_eq!(r["ok"]["attributes"], json!({"topic": "hi"}), "{r}");
    let out = srv
        .admin_ok(json!({"type": "list_rooms", "request": 4, "next": "", "count": 1}))
        .await;
    assert_eq!(
        out["ok"]["rooms"],
        json!([{"room_id": "lobby", "sid": "R1", "name": "Lobby", "member_count": 1}])
    );
    let next = out["ok"]["next"].as_str().unwrap().to_owned();
    let out = srv
        .admin_ok(json!({"type": "list_rooms", "request": 5, "next": next, "count": 1}))
        .await;
    assert_eq!(out["ok"]["rooms"][0]["room_id"], "b", "{out}");
    assert_eq!(out["ok"]["next"], "", "{out}");
    let out = srv
        .admin_ok(
            json!({"type": "admin_set_room_attributes", "request": 6, "room_id": "lobby",
                         "set": {"stage": "on"}, "delete": ["topic"]}),
        )
        .await;
    assert_eq!(out, json!({"type": "admin_reply", "request": 6, "ok": {}}));
    let pushed = alice.next().await;
    assert_eq!(pushed["out"]["type"], "room_attributes_updated", "{pushed}");
    let out = srv
        .admin_ok(json!({"type": "query_room", "request": 7, "room_id": "lobby"}))
        .await;
    assert_eq!(
        out["ok"],
        json!({"room_id": "lobby", "sid": "R1", "name": "Lobby", "member_count": 1,
               "attributes": {"stage": "on"}})
    );
    let out = srv
        .admin_ok(json!({"type": "query_room", "request": 8, "room_id": "nope"}))
        .await;
    assert_eq!(out["error"]["code"], "room_not_exist", "{out}");
}

#[tokio::test]
async fn users_are_moved_through_the_endpoint() {
    let srv = server().await;
    let (mut alice, mut bob) = (srv.client().await, srv.client().await);
    alice.login("s1", "alice").await;
    bob.login("s2", "bob").await;
    alice
        .cmd(json!({"type": "create_room", "room": {"id": "main"}}))
        .await;
    bob.cmd(json!({"type": "join_room", "room_id": "main"}))
        .await;
    assert_eq!(alice.next().await["out"]["type"], "members_joined");
    let out = srv
        .admin_ok(json!({"type": "move_users", "request": 1, "from": "main",
                         "to": {"id": "side", "name": "Side"}, "users": ["bob", "zed"],
                         "create_if_missing": true}))
        .await;
    assert_eq!(
        out["ok"],
        json!({"moved": ["bob"], "skipped": ["zed"]}),
        "{out}"
    );
    assert_eq!(
        bob.next().await["out"],
        state("s2", "side", "connecting", "active_switch")
    );
    assert_eq!(
        bob.next().await["out"],
        state("s2", "side", "connected", "success")
    );
    assert_eq!(
        bob.next().await["out"],
        state("s2", "main", "disconnected", "success")
    );
    assert_eq!(
        alice.next().await["out"],
        left("s1", "main", &["bob"], "left")
    );
    // All or nothing: a missing target not created changes nothing.
    let out = srv
        .admin_ok(json!({"type": "move_users", "request": 2, "from": "main",
                         "to": {"id": "nowhere", "name": ""}, "users": ["alice"]}))
        .await;
    assert_eq!(out["error"]["code"], "room_not_exist", "{out}");
    alice.silent(100).await;
}

#[tokio::test]
async fn users_are_banned_and_unbanned_through_the_endpoint() {
    let srv = server().await;
    let (mut alice, mut bob) = (srv.client().await, srv.client().await);
    alice.login("s1", "alice").await;
    bob.login("s2", "bob").await;
    alice
        .cmd(json!({"type": "create_room", "room": {"id": "r1"}}))
        .await;
    bob.cmd(json!({"type": "join_room", "room_id": "r1"})).await;
    assert_eq!(alice.next().await["out"]["type"], "members_joined");
    let out = srv
        .admin_ok(json!({"type": "ban_users", "request": 1, "room_id": "r1",
                         "users": ["bob"], "duration_s": 600}))
        .await;
    assert_eq!(
        out["ok"],
        json!({"banned": ["bob"], "removed": ["bob"]}),
        "{out}"
    );
    assert_eq!(
        bob.next().await["out"],
        state("s2", "r1", "disconnected", "kicked_out")
    );
    assert_eq!(
        alice.next().await["out"],
        left("s1", "r1", &["bob"], "banned")
    );
    let r = bob
        .reply(json!({"type": "join_room", "room_id": "r1"}))
        .await;
    assert_eq!(r["error"]["code"], "user_banned", "{r}");
    let out = srv
        .admin_ok(json!({"type": "ban_users", "request": 2, "room_id": "r1",
                         "users": ["bob"], "duration_s": 0}))
        .await;
    assert_eq!(out["error"]["code"], "invalid_argument", "{out}");
    let out = srv
        .admin_ok(json!({"type": "unban_users", "request": 3, "room_id": "r1",
                         "users": ["bob", "carol"]}))
        .await;
    assert_eq!(
        out["ok"],
        json!({"unbanned": ["bob"], "skipped": ["carol"]}),
        "{out}"
    );
    let r = bob
        .reply(json!({"type": "join_room", "room_id": "r1"}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}
