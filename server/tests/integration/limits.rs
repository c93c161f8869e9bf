//! Bounds and bad input: malformed frames, oversized frames, the per-connection rate, the
//! connection limit, and a consumer too slow to keep up.

use crate::common::*;
use serde_json::json;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

#[tokio::test]
async fn malformed_frames_get_an_error_frame_and_the_connection_lives_on() {
    let srv = server().await;
    let (mut a, mut b) = (srv.client().await, srv.client().await);
    a.login("s1", "alice").await;
    b.login("s2", "bob").await;
    b.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    let bad = [
        "not json",
        "",
        "[1,2,3]",
        "{}",
        "null",
        r#"{"type":"fly","request":1}"#,
        r#"{"type":"join_room","session":"s1","request":"x","room_id":"r1"}"#,
        r#"{"type":"join_room","session":"s1","request":2}"#,
        r#"{"type":"join_room","session":"s1","request":3,"room_id":"r1","extra":1}"#,
        r#"{"type":"join_room","session":"s1","request":18446744073709551616,"room_id":"r1"}"#,
        r#"{"type":"resume","session":"s1"}"#,
        "{\"type\":\"join_room\",\"session\":\"s1\",\"request\":4,\"room_id\":\"\u{0}\"}",
    ];
    for text in bad {
        a.send_text(text).await;
        let v = a.next().await;
        assert_eq!(frame_error(&v), "malformed_frame", "{text} -> {v}");
    }
    a.ws.send_binary().await;
    assert_eq!(frame_error(&a.next().await), "binary_frame");
    for text in [
        r#"{"type":"tick"}"#,
        r#"{"type":"link_lost","session":"s1"}"#,
    ] {
        a.send_text(text).await;
        assert_eq!(frame_error(&a.next().await), "server_only");
    }
    // Ids the engine refuses are not the server's business: they get the engine's reply.
    let r = a
        .reply(json!({"type": "join_room", "room_id": "x".repeat(40)}))
        .await;
    assert_eq!(r["error"]["code"], "invalid_room_id");
    // The connection lives on, and bob heard nothing of it.
    let r = a.reply(json!({"type": "join_room", "room_id": "r1"})).await;
    assert!(r.get("ok").is_some(), "{r}");
    assert_eq!(
        b.next().await["out"],
        members("members_joined", "s2", "r1", &["alice"])
    );
}

trait SendBinary {
    async fn send_binary(&mut self);
}

impl SendBinary for Ws {
    async fn send_binary(&mut self) {
        use futures_util::SinkExt;
        self.send(Message::Binary(vec![1, 2, 3].into()))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_frame_over_the_limit_ends_only_that_connection() {
    let srv = server_with(|c| c.limits.max_frame_bytes = 8192).await;
    let (mut a, mut b) = (srv.client().await, srv.client().await);
    a.login("s1", "alice").await;
    b.login("s2", "bob").await;
    let payload = "x".repeat(9000);
    let big = json!({"type": "send_room_message", "session": "s1", "request": 5,
                     "room_id": "r1", "payload": payload});
    a.send_text(&big.to_string()).await;
    assert_eq!(a.close_code().await, Some(1009), "closed as too big");
    // The engine saw the session's link drop; the other connection is unaffected.
    srv.wait_stats("detached", |s| s["detached_sessions"] == 1)
        .await;
    let r = b
        .reply(json!({"type": "enter_room", "room": {"id": "r2"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn frames_past_the_rate_are_refused_with_their_request_number() {
    let srv = server_with(|c| {
        c.limits.frames_per_s = 1;
        c.limits.frames_burst = 3;
    })
    .await;
    let mut a = srv.client().await;
    a.login("s1", "alice").await; // one token
    for request in 10..20u64 {
        let cmd = json!({"type": "leave_all_rooms", "session": "s1", "request": request});
        a.send_text(&cmd.to_string()).await;
    }
    let mut answered = 0;
    let mut limited = Vec::new();
    for _ in 10..20 {
        let v = a.next().await;
        if v["out"]["type"] == "reply" {
            answered += 1;
        } else {
            assert_eq!(frame_error(&v), "rate_limited");
            limited.push(v["error"]["request"].as_u64().unwrap());
        }
    }
    assert!((2..=3).contains(&answered), "answered {answered}");
    assert_eq!(answered + limited.len(), 10);
    assert_eq!(*limited.last().unwrap(), 19);
    // The bucket refills: after a second the connection is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = a.reply(json!({"type": "leave_all_rooms"})).await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn connections_past_the_limit_are_refused() {
    let srv = server_with(|c| c.limits.max_connections = 2).await;
    let _a = srv.client().await;
    let b = srv.client().await;
    let third = tokio_tungstenite::connect_async(srv.ws_url()).await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    // A slot frees when a connection ends.
    drop(b);
    srv.wait_stats("connection closed", |s| s["connections"] == 1)
        .await;
    let mut c = srv.client().await;
    c.login("s3", "carol").await;
}

/// The slow consumer: small socket buffers on both sides so the kernel cannot hide it, a
/// short outbound queue, and a member that never reads while another sends messages.
#[tokio::test]
async fn a_consumer_too_slow_to_keep_up_is_disconnected_as_link_lost() {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(64).unwrap();
    let srv = server_on(listener, |c| {
        c.limits.outbound_queue = 8;
        c.limits.max_pending_per_session = 4;
        c.limits.frames_per_s = 10_000;
        c.limits.frames_burst = 10_000;
    })
    .await;
    let tcp = TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(srv.addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(srv.ws_url(), MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    let mut slow = Client::over(ws);
    let token = slow.login("slow", "sloth").await;
    slow.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    let mut fast = srv.client().await;
    fast.login("fast", "hare").await;
    fast.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    // `slow` stops reading now. Each message is ~8 KB for it to take.
    let payload = "m".repeat(8000);
    let mut sent = 0;
    while srv.stats().await["slow_disconnects"] == 0 {
        for _ in 0..20 {
            let r = fast
                .reply(json!({"type": "send_room_message", "room_id": "r1", "payload": payload}))
                .await;
            assert!(r.get("ok").is_some(), "{r}");
        }
        sent += 20;
        assert!(sent < 2000, "never detected as slow");
    }
    // The engine saw the link drop (the session waits for a resume); the sender goes on.
    let s = srv
        .wait_stats("detached", |s| s["detached_sessions"] == 1)
        .await;
    assert_eq!(s["connections"], 1, "{s}");
    let r = fast
        .reply(json!({"type": "query_members", "room_id": "r1", "count": 10}))
        .await;
    assert_eq!(
        r["ok"]["members"],
        json!([{"user_id": "sloth"}, {"user_id": "hare"}])
    );
    // Resuming works, replays what it can and says how many frames were lost.
    let mut back = srv.client().await;
    let frames = back.resume("slow", &token).await;
    let resumed = &frames.last().unwrap()["resumed"];
    assert_eq!(resumed["gap"], true, "{resumed}");
    assert!(resumed["lost_frames"].as_u64().unwrap() >= 1, "{resumed}");
}

#[tokio::test]
async fn a_silent_peer_is_closed_as_idle_and_a_reading_one_is_kept() {
    let srv = server_with(|c| c.limits.idle_timeout = Duration::from_millis(600)).await;
    let (mut reader, mut deaf) = (srv.client().await, srv.client().await);
    reader.login("s1", "alice").await;
    deaf.login("s2", "bob").await;
    // `reader` keeps reading, so its client answers the server's pings; `deaf` never reads,
    // so it never answers: after the idle timeout the server closes it, as link_lost.
    assert!(reader.try_next(Duration::from_millis(1500)).await.is_none());
    let s = srv
        .wait_stats("idle closed", |s| s["detached_sessions"] == 1)
        .await;
    assert_eq!(s["connections"], 1, "{s}");
    let r = reader.reply(json!({"type": "leave_all_rooms"})).await;
    assert!(r.get("ok").is_some(), "{r}");
}

/// Random frames from a seeded generator, valid and broken mixed: the server never falls
/// over and never lets them reach another session.
#[tokio::test]
async fn random_frames_never_hurt_the_server_or_another_session() {
    let srv = server_with(|c| {
        c.limits.frames_per_s = 100_000;
        c.limits.frames_burst = 100_000;
    })
    .await;
    let (mut fuzz, mut bystander) = (srv.client().await, srv.client().await);
    bystander.login("by", "stander").await;
    bystander
        .cmd(json!({"type": "enter_room", "room": {"id": "safe"}}))
        .await;
    let templates = [
        r#"{"type":"login","session":"fz","request":1,"user":"fuzz"}"#,
        r#"{"type":"enter_room","session":"fz","request":2,"room":{"id":"safe"}}"#,
        r#"{"type":"switch_room","session":"fz","request":3,"from":"safe","to":{"id":"x"},"create_if_missing":true}"#,
        r#"{"type":"leave_room","session":"by","request":4,"room_id":"safe"}"#,
        r#"{"type":"send_room_message","session":"fz","request":5,"room_id":"safe","payload":"p"}"#,
        r#"{"type":"resume","session":"by","token":"00000000000000000000000000000000"}"#,
        r#"{"type":"dismiss_room","request":6,"room_id":"safe"}"#,
        r#"{"type":"logout","session":"fz","request":7}"#,
    ];
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..600 {
        let base = templates[(next() % templates.len() as u64) as usize];
        let mut bytes = base.as_bytes().to_vec();
        match next() % 4 {
            0 => {} // as is
            1 => bytes.truncate((next() % bytes.len() as u64) as usize),
            2 => {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = b" {}[]\",:0a\\"[(next() % 11) as usize];
            }
            _ => bytes.splice(0..0, b"[".iter().copied()).for_each(drop),
        }
        fuzz.send_text(&String::from_utf8_lossy(&bytes)).await;
    }
    // Drain whatever came back, then check the server and the bystander.
    while fuzz.try_next(Duration::from_millis(300)).await.is_some() {}
    let r = bystander
        .reply(json!({"type": "query_members", "room_id": "safe", "count": 100}))
        .await;
    let members = r["ok"]["members"].as_array().unwrap();
    assert!(members.contains(&json!({"user_id": "stander"})), "{r}");
    // Nothing but member events of its own room ever reached the bystander.
    for v in &bystander.log {
        let out = &v["out"];
        assert!(
            v.get("resume").is_some() || out["session"] == "by",
            "bystander got {v}"
        );
    }
    let mut late = srv.client().await;
    late.login("late", "comer").await;
}
