//! Session flows through the server: the seed's switch-room flow with members watching in
//! both rooms, and how a connection is bound to its session.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn switch_room_flow_with_members_watching_both_rooms() {
    let srv = server().await;
    let (mut alice, mut bob, mut carol) =
        (srv.client().await, srv.client().await, srv.client().await);
    alice.login("s1", "alice").await;
    bob.login("s2", "bob").await;
    carol.login("s3", "carol").await;
    let r1 = json!({"type": "create_room", "room": {"id": "r1", "name": "Room 1"},
                    "config": {"destroy_delay_s": 30}});
    alice.cmd(r1).await;
    bob.cmd(json!({"type": "join_room", "room_id": "r1"})).await;
    let got = alice.next().await;
    assert_eq!(got["out"], members("members_joined", "s1", "r1", &["bob"]));
    carol
        .cmd(json!({"type": "create_room", "room": {"id": "r2", "name": "Room 2"}}))
        .await;

    // alice switches r1 -> r2: target connecting, target connected, source disconnected, reply.
    let frames = alice
        .cmd(json!({"type": "switch_room", "from": "r1", "to": {"id": "r2", "name": "Room 2"}}))
        .await;
    assert_eq!(
        Client::outs(&frames),
        vec![
            state("s1", "r2", "connecting", "active_switch"),
            state("s1", "r2", "connected", "success"),
            state("s1", "r1", "disconnected", "success"),
            json!({"type": "reply", "session": "s1", "request": 3,
                   "ok": {"room": {"id": "r2", "name": "Room 2"}, "sid": "R2",
                          "member_count": 2, "attributes": {}}}),
        ]
    );
    // Every output carries the server's time.
    assert!(frames.iter().all(|f| f["at"].is_u64()), "{frames:?}");
    // The watchers see exactly their one event each, and nothing else before their next reply.
    let carol_sees = carol
        .cmd(json!({"type": "query_members", "room_id": "r2", "count": 10}))
        .await;
    assert_eq!(
        Client::outs(&carol_sees)[0],
        members("members_joined", "s3", "r2", &["alice"])
    );
    assert_eq!(carol_sees.len(), 2);
    assert_eq!(
        Client::outs(&carol_sees)[1]["ok"]["members"],
        json!([{"user_id": "carol"}, {"user_id": "alice"}])
    );
    let bob_sees = bob
        .cmd(json!({"type": "query_members", "room_id": "r1", "count": 10}))
        .await;
    assert_eq!(
        Client::outs(&bob_sees)[0],
        left("s2", "r1", &["alice"], "left")
    );
    assert_eq!(bob_sees.len(), 2);

    // A switch to a missing room fails; alice stays in r2 and nobody else hears of it.
    let frames = alice
        .cmd(json!({"type": "switch_room", "from": "r2", "to": {"id": "r9"}}))
        .await;
    let outs = Client::outs(&frames);
    assert_eq!(outs[0], state("s1", "r9", "connecting", "active_switch"));
    assert_eq!(outs[1], state("s1", "r9", "disconnected", "switch_failed"));
    assert_eq!(outs[2]["error"]["code"], "room_not_exist");
    bob.silent(100).await;
    carol.silent(0).await;
}

#[tokio::test]
async fn a_connection_speaks_for_one_session_only() {
    let srv = server().await;
    let mut a = srv.client().await;
    a.session = "s1".into();
    // Before login: refused by the server, the connection lives on.
    let r = a.reply(json!({"type": "join_room", "room_id": "r1"})).await;
    assert_eq!(frame_error(&r), "not_bound");
    assert_eq!(r["error"]["request"], 1);
    let token = a.login("s1", "alice").await;
    assert_eq!(token.len(), 32);
    // A second login on the same connection.
    let r = a
        .reply(json!({"type": "login", "session": "s9", "user": "zed",
                      "token": access_token("zed")}))
        .await;
    assert_eq!(frame_error(&r), "already_bound");
    // A command for another session.
    let mut b = srv.client().await;
    b.login("s2", "bob").await;
    let r = a
        .reply(json!({"type": "enter_room", "session": "s2", "room": {"id": "r1"}}))
        .await;
    assert_eq!(frame_error(&r), "wrong_session");
    // s2 was not touched: it is in no room, and heard nothing.
    let r = b.reply(json!({"type": "leave_all_rooms"})).await;
    assert_eq!(r["ok"]["room_ids"], json!([]));
    // The connection still works for its own session.
    let r = a
        .reply(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn a_refused_login_is_answered_to_the_caller_not_to_the_session_owner() {
    let srv = server().await;
    let mut owner = srv.client().await;
    owner.login("s1", "alice").await;
    let mut intruder = srv.client().await;
    intruder.session = "s1".into();
    let r = intruder
        .reply(json!({"type": "login", "user": "mallory", "token": access_token("mallory")}))
        .await;
    assert_eq!(r["error"]["code"], "already_logged_in");
    owner.silent(100).await;
    // The intruder is still unbound: it cannot act for s1.
    let r = intruder.reply(json!({"type": "leave_all_rooms"})).await;
    assert_eq!(frame_error(&r), "not_bound");
}

#[tokio::test]
async fn logout_unbinds_the_connection_which_may_log_in_again() {
    let srv = server().await;
    let mut a = srv.client().await;
    a.login("s1", "alice").await;
    a.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    let frames = a.cmd(json!({"type": "logout"})).await;
    assert_eq!(
        Client::outs(&frames),
        vec![
            state("s1", "r1", "disconnected", "success"),
            json!({"type": "reply", "session": "s1", "request": 3, "ok": {}}),
        ]
    );
    let closed = a.next().await;
    assert_eq!(closed["out"]["type"], "session_closed");
    let r = a.reply(json!({"type": "leave_all_rooms"})).await;
    assert_eq!(frame_error(&r), "not_bound");
    a.login("s2", "alice").await;
    let s = srv.stats().await;
    assert_eq!(s["sessions"], 1);
}

#[tokio::test]
async fn a_second_device_closes_the_first_sessions_and_its_connection_is_unbound() {
    let srv = server().await;
    let (mut phone, mut laptop, mut bob) =
        (srv.client().await, srv.client().await, srv.client().await);
    phone.login("phone", "alice").await;
    bob.login("bob1", "bob").await;
    phone
        .cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    bob.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    phone.next().await; // bob joined
    laptop.login("laptop", "alice").await;
    let frames = phone.until(|v| v["out"]["type"] == "session_closed").await;
    assert_eq!(
        Client::outs(&frames),
        vec![
            state("phone", "r1", "disconnected", "kicked_out_by_other_device"),
            json!({"type": "session_closed", "session": "phone",
                   "reason": "kicked_out_by_other_device"}),
        ]
    );
    assert_eq!(
        bob.next().await["out"],
        left("bob1", "r1", &["alice"], "other_device")
    );
    let r = phone.reply(json!({"type": "leave_all_rooms"})).await;
    assert_eq!(frame_error(&r), "not_bound");
}

#[tokio::test]
async fn the_page_and_its_files_are_served() {
    let srv = server().await;
    let (status, body) = http(srv.addr, "GET", "/", None, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>roomcore"), "{body}");
    assert!(body.contains("app.js"));
    let (status, body) = http(srv.addr, "GET", "/app.js", None, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("WebSocket"));
    let (status, _) = http(srv.addr, "GET", "/app.css", None, "").await;
    assert_eq!(status, 200);
    let (status, _) = http(srv.addr, "GET", "/nope", None, "").await;
    assert_eq!(status, 404);
}

/// A large room's coalesced delta is addressed to the room: the server hands one copy to
/// each live member when the window's timer fires (threshold 1 and a 200 ms window here).
#[tokio::test]
async fn a_large_room_delta_reaches_every_live_member() {
    let srv = server_with(|c| {
        c.engine.member_notify_threshold = 1;
        c.engine.member_batch_interval_ms = 200;
    })
    .await;
    let (mut alice, mut bob, mut carol) =
        (srv.client().await, srv.client().await, srv.client().await);
    alice.login("s1", "alice").await;
    bob.login("s2", "bob").await;
    carol.login("s3", "carol").await;
    alice
        .cmd(json!({"type": "create_room", "room": {"id": "r1", "name": "Big"}}))
        .await;
    // Over the threshold from the second member on: no per-member events.
    bob.cmd(json!({"type": "join_room", "room_id": "r1"})).await;
    carol
        .cmd(json!({"type": "join_room", "room_id": "r1"}))
        .await;
    let delta = json!({"type": "room_members_changed", "room_id": "r1",
                       "joined": [{"user_id": "bob"}, {"user_id": "carol"}], "left": []});
    for client in [&mut alice, &mut bob, &mut carol] {
        let got = client.next().await;
        assert_eq!(got["out"], delta, "{got}");
    }
}
