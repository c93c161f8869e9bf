//! What a hostile client tried, each case of the hardening issue: idle and slow sockets,
//! members that never read, a large room, outputs lost on disconnect, impersonation, rooms
//! and attributes without end, unfinished fragments, pings, bad frames, admin guessing,
//! unusable flags. Every wait is a hang guard, never the thing measured.

use crate::common::*;
use futures_util::SinkExt;
use roomcore_server::auth::{self, Claims};
use roomcore_server::hostile::client_frame;
use roomcore_server::{AuthMode, ServerConfig};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// Reads from a raw socket until the server closes it; panics after 5 s.
async fn closed_by_server(s: &mut TcpStream) {
    let mut b = [0u8; 1024];
    let read = async { while s.read(&mut b).await.is_ok_and(|n| n > 0) {} };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the server should close the socket");
}

// ---- 1. idle and slow sockets ---------------------------------------------------------

#[tokio::test]
async fn idle_and_slow_sockets_do_not_keep_a_fresh_client_out() {
    let srv = server_with(|c| {
        c.limits.max_connections = 10;
        c.limits.max_pending_connections = 12;
        c.limits.max_pending_per_ip = 12;
        c.limits.pending_min_age = Duration::from_millis(100);
    })
    .await;
    // As many sockets as the server holds, half of them sending a request a byte at a time.
    let mut held = Vec::new();
    for i in 0..12 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        }
        held.push(s);
    }
    // The page, the admin endpoint and a session are still served.
    let (status, _) = http(srv.addr, "GET", "/app.css", None, "").await;
    assert_eq!(status, 200);
    let s = srv.stats().await;
    assert!(s["pending_evicted"].as_u64().unwrap() >= 2, "{s}");
    let mut c = srv.client().await;
    c.login("s1", "alice").await;
    let r = c
        .reply(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn one_address_flooding_sockets_pushes_out_only_its_own() {
    let srv = server_with(|c| {
        c.limits.max_pending_per_ip = 4;
        c.limits.pending_min_age = Duration::from_secs(600);
    })
    .await;
    let mut first = TcpStream::connect(srv.addr).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    // The fifth from the same address closed the first.
    closed_by_server(&mut first).await;
    let mut c = srv.client().await;
    c.login("s1", "alice").await;
}

#[tokio::test]
async fn a_flood_from_other_addresses_does_not_push_out_a_fresh_client() {
    let srv = server_with(|c| {
        c.limits.max_pending_connections = 8;
        c.limits.max_pending_per_ip = 8;
        // Age alone would free a slot only after ten minutes.
        c.limits.pending_min_age = Duration::from_secs(600);
    })
    .await;
    let mut flood = Vec::new();
    for i in 0..24 {
        let from = roomcore_server::hostile::attacker_ip(i, 2);
        flood.push(
            roomcore_server::hostile::connect_from(srv.addr, None, from)
                .await
                .unwrap(),
        );
    }
    // From 127.0.0.1, an address of its own: served at once, and not pushed out while it
    // logs in, though the flood goes on.
    let mut c = srv.client().await;
    for i in 24..40 {
        let from = roomcore_server::hostile::attacker_ip(i, 2);
        flood.push(
            roomcore_server::hostile::connect_from(srv.addr, None, from)
                .await
                .unwrap(),
        );
    }
    c.login("s1", "alice").await;
    let (status, _) = http(srv.addr, "GET", "/app.css", None, "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_request_whose_headers_never_end_is_closed() {
    let srv = server_with(|c| c.limits.header_read_timeout = Duration::from_millis(300)).await;
    let mut silent = TcpStream::connect(srv.addr).await.unwrap();
    let mut partial = TcpStream::connect(srv.addr).await.unwrap();
    partial.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    closed_by_server(&mut silent).await;
    closed_by_server(&mut partial).await;
    // A kept-alive connection idle after its request is closed the same way.
    let mut kept = TcpStream::connect(srv.addr).await.unwrap();
    kept.write_all(b"GET /app.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    closed_by_server(&mut kept).await;
}

#[tokio::test]
async fn a_websocket_that_never_logs_in_is_closed() {
    let srv = server_with(|c| c.limits.login_timeout = Duration::from_secs(2)).await;
    let mut lurker = srv.client().await;
    // One that logs in in time stays.
    let mut c = srv.client().await;
    c.login("s1", "alice").await;
    assert_eq!(lurker.close_code().await, Some(1008));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = c.reply(json!({"type": "leave_all_rooms"})).await;
    assert!(r.get("ok").is_some(), "{r}");
}

// ---- 2 and 3. non-readers and large rooms ---------------------------------------------

/// A server whose sockets have small send buffers, so a member that does not read is seen
/// at once, and clients with small receive buffers.
async fn small_buffer_server(f: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(1024).unwrap();
    server_on(listener, f).await
}

async fn deaf_client(srv: &TestServer) -> Client {
    let tcp = TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(srv.addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(srv.ws_url(), MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    Client::over(ws)
}

#[tokio::test]
async fn a_member_that_never_reads_is_cut_at_the_byte_bound_not_the_frame_bound() {
    let srv = small_buffer_server(|c| {
        c.limits.outbound_queue = 1024;
        c.limits.outbound_queue_bytes = 64 * 1024;
        c.limits.max_pending_bytes_per_session = 32 * 1024;
        c.limits.frames_per_s = 100_000;
        c.limits.frames_burst = 100_000;
    })
    .await;
    let mut deaf = deaf_client(&srv).await;
    deaf.login("deaf", "sloth").await;
    deaf.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    let mut fast = srv.client().await;
    fast.login("fast", "hare").await;
    fast.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    // 100 messages of 8 KB: 800 KB, far below 1,024 frames but far above 64 KiB.
    let payload = "m".repeat(8000);
    for _ in 0..100 {
        let r = fast
            .reply(json!({"type": "send_room_message", "room_id": "r1", "payload": payload}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
    }
    let s = srv
        .wait_stats("cut as too slow", |s| s["slow_disconnects"] == 1)
        .await;
    // What is still held for it is bounded by its session buffer, not by 100 messages.
    assert!(s["held_bytes"].as_u64().unwrap() <= 48 * 1024, "{s}");
}

#[tokio::test]
async fn an_output_for_many_members_is_serialized_once() {
    let srv = server_with(|c| {
        c.engine.member_notify_threshold = 3;
        c.engine.member_batch_interval_ms = 50;
    })
    .await;
    let mut members = Vec::new();
    for i in 0..30 {
        let mut c = srv.client().await;
        c.login(&format!("s{i}"), &format!("u{i}")).await;
        members.push(c);
    }
    for c in &mut members {
        c.cmd(json!({"type": "enter_room", "room": {"id": "big"}}))
            .await;
    }
    // Every member gets the room's coalesced deltas.
    for c in &mut members {
        c.until(|v| v["out"]["type"] == "room_members_changed")
            .await;
    }
    let before = srv.stats().await;
    // One more member: one delta for 31 members, serialized once.
    let mut late = srv.client().await;
    late.login("late", "late").await;
    late.cmd(json!({"type": "enter_room", "room": {"id": "big"}}))
        .await;
    let mut texts = Vec::new();
    for c in &mut members {
        let got = c
            .until(|v| {
                v["out"]["type"] == "room_members_changed"
                    && v["out"]["joined"][0]["user_id"] == "late"
            })
            .await;
        texts.push(got.last().unwrap()["out"].clone());
    }
    assert!(texts.windows(2).all(|w| w[0] == w[1]));
    let after = srv.stats().await;
    let queued =
        after["frames_queued"].as_u64().unwrap() - before["frames_queued"].as_u64().unwrap();
    let serialized = after["outputs_serialized"].as_u64().unwrap()
        - before["outputs_serialized"].as_u64().unwrap();
    assert!(queued >= 31, "{queued}");
    // The login, its reply, the entry's own outputs and the delta: a handful, not 31.
    assert!(
        serialized <= 8,
        "serialized {serialized} for {queued} frames queued"
    );
}

#[tokio::test]
async fn a_member_event_for_a_small_room_is_serialized_once_and_addressed_to_each() {
    let srv = server().await;
    let mut members = Vec::new();
    for i in 0..6 {
        let mut c = srv.client().await;
        c.login(&format!("m{i}"), &format!("mu{i}")).await;
        c.cmd(json!({"type": "enter_room", "room": {"id": "small"}}))
            .await;
        members.push(c);
    }
    let before = srv.stats().await;
    members[0]
        .cmd(json!({"type": "send_room_message", "room_id": "small", "payload": "hi"}))
        .await;
    for (i, c) in members.iter_mut().enumerate().skip(1) {
        let got = c.until(|v| v["out"]["type"] == "room_message").await;
        let message = &got.last().unwrap()["out"];
        // Each member's frame names that member's own session.
        assert_eq!(message["session"], format!("m{i}"), "{message}");
        assert_eq!(message["payload"], "hi");
    }
    let after = srv.stats().await;
    let serialized = after["outputs_serialized"].as_u64().unwrap()
        - before["outputs_serialized"].as_u64().unwrap();
    // The sender's reply and the message once: not one per recipient.
    assert_eq!(serialized, 2, "{after}");
}

// ---- 4. nothing lost silently ---------------------------------------------------------

#[tokio::test]
async fn outputs_queued_at_a_disconnect_are_replayed_or_reported_never_lost() {
    let srv = small_buffer_server(|c| {
        c.limits.frames_per_s = 100_000;
        c.limits.frames_burst = 100_000;
    })
    .await;
    let mut slow = deaf_client(&srv).await;
    let token = slow.login("slow", "sloth").await;
    slow.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    let mut fast = srv.client().await;
    fast.login("fast", "hare").await;
    fast.cmd(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    slow.until(|v| v["out"]["type"] == "members_joined").await;
    // `slow` does not read while 20 messages of 8 KB arrive (within its queue's bounds).
    const N: usize = 20;
    for k in 0..N {
        let payload = format!("{k:03}{}", "m".repeat(8000));
        fast.reply(json!({"type": "send_room_message", "room_id": "r1", "payload": payload}))
            .await;
    }
    // Then it sets an attribute (applied), half-closes and reads to the end.
    let set = json!({"type": "set_room_attributes", "session": "slow", "request": 77,
        "room_id": "r1", "attributes": {"k": "v"}});
    slow.send_text(&set.to_string()).await;
    let r = fast
        .reply(json!({"type": "query_members", "room_id": "r1", "count": 10}))
        .await;
    assert!(r.get("ok").is_some());
    let MaybeTlsStream::Plain(tcp) = slow.ws.get_mut() else {
        panic!("plain")
    };
    tcp.shutdown().await.unwrap();
    while slow.try_next(Duration::from_secs(5)).await.is_some() {}
    let first: Vec<Value> = std::mem::take(&mut slow.log);
    // It comes back.
    let mut back = srv.client().await;
    let frames = back.resume("slow", &token).await;
    let resumed = frames.last().unwrap()["resumed"].clone();
    let all: Vec<Value> = first.iter().chain(frames.iter()).cloned().collect();
    let messages: Vec<String> = all
        .iter()
        .filter(|v| v["out"]["type"] == "room_message")
        .map(|v| v["out"]["payload"].as_str().unwrap()[..3].to_owned())
        .collect();
    let replies77 = all
        .iter()
        .filter(|v| v["out"]["type"] == "reply" && v["out"]["request"] == 77)
        .count();
    let lost = resumed["lost_frames"].as_u64().unwrap_or(0) as usize;
    let lost77 = resumed["lost_requests"]
        .as_array()
        .is_some_and(|a| a.contains(&json!(77)));
    // Each message at most once, in order; every one received or counted lost.
    let mut sorted = messages.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, messages, "duplicates or disorder");
    assert!(replies77 <= 1);
    assert!(
        replies77 == 1 || lost77,
        "reply 77 neither delivered nor reported: {resumed}"
    );
    assert_eq!(messages.len() + replies77 + lost, N + 1, "{resumed}");
    assert_eq!(resumed["gap"], lost > 0, "{resumed}");
}

#[tokio::test]
async fn a_resume_token_works_once() {
    let srv = server().await;
    let mut a = srv.client().await;
    let first = a.login("s1", "alice").await;
    drop(a);
    srv.wait_stats("detached", |s| s["detached_sessions"] == 1)
        .await;
    let mut b = srv.client().await;
    let frames = b.resume("s1", &first).await;
    assert!(
        frames.last().unwrap().get("resumed").is_some(),
        "{frames:?}"
    );
    let second = b.token.clone();
    assert_ne!(second, first, "a new token comes with the resume");
    drop(b);
    srv.wait_stats("detached", |s| s["detached_sessions"] == 1)
        .await;
    let mut c = srv.client().await;
    let frames = c.resume("s1", &first).await;
    assert_eq!(frame_error(&frames[0]), "resume_refused");
    let frames = c.resume("s1", &second).await;
    assert!(
        frames.last().unwrap().get("resumed").is_some(),
        "{frames:?}"
    );
}

// ---- 5. authentication ----------------------------------------------------------------

fn token_for(user: &str, exp: u64, rooms: Option<Vec<&str>>) -> String {
    let claims = Claims {
        sub: user.to_owned(),
        exp,
        rooms: rooms.map(|r| r.into_iter().map(str::to_owned).collect()),
    };
    auth::mint(&key(), &claims)
}

#[tokio::test]
async fn nobody_logs_in_as_alice_without_her_token() {
    let srv = server().await;
    let mut alice = srv.client().await;
    alice.login("alice-1", "alice").await;
    let now = auth::unix_now_s();
    let other_key = auth::mint(
        &auth::SigningKey::new(&[9; 32]).unwrap(),
        &Claims {
            sub: "alice".into(),
            exp: now + 60,
            rooms: None,
        },
    );
    let mut evil = srv.client().await;
    evil.session = "evil-1".into();
    for token in [
        None,
        Some(token_for("mallory", now + 60, None)),
        Some(token_for("alice", now - 1, None)),
        Some(other_key),
        Some("not.a.token".to_owned()),
    ] {
        let mut login = json!({"type": "login", "user": "alice"});
        if let Some(t) = token {
            login["token"] = t.into();
        }
        let r = evil.reply(login).await;
        assert_eq!(frame_error(&r), "unauthenticated", "{r}");
    }
    // Alice's session is untouched.
    alice.silent(100).await;
    let r = alice
        .reply(json!({"type": "enter_room", "room": {"id": "r1"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
}

#[tokio::test]
async fn a_token_limits_its_session_to_its_rooms() {
    let srv = server().await;
    let mut c = srv.client().await;
    c.session = "s1".into();
    let t = token_for(
        "carol",
        auth::unix_now_s() + 60,
        Some(vec!["lobby", "team-*"]),
    );
    let r = c
        .reply(json!({"type": "login", "user": "carol", "token": t}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    c.next().await; // the resume token
    for ok in ["lobby", "team-7"] {
        let r = c
            .reply(json!({"type": "enter_room", "room": {"id": ok}}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
    }
    let r = c
        .reply(json!({"type": "enter_room", "room": {"id": "secret"}}))
        .await;
    assert_eq!(frame_error(&r), "room_not_allowed");
    let r = c
        .reply(
            json!({"type": "switch_room", "from": "lobby", "to": {"id": "secret"},
                      "create_if_missing": true}),
        )
        .await;
    assert_eq!(frame_error(&r), "room_not_allowed");
}

#[tokio::test]
async fn tokens_are_minted_by_the_admin_endpoint_and_in_dev_mode_only_for_anyone() {
    let srv = server().await;
    let body = r#"{"user":"dave","ttl_s":60}"#;
    let (status, text) = http(srv.addr, "POST", "/admin/token", Some(TOKEN), body).await;
    assert_eq!(status, 200, "{text}");
    let minted: Value = serde_json::from_str(&text).unwrap();
    let mut c = srv.client().await;
    c.session = "d1".into();
    let r = c
        .reply(json!({"type": "login", "user": "dave", "token": minted["token"]}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    let (status, _) = http(srv.addr, "POST", "/dev/token", None, body).await;
    assert_eq!(status, 404, "no dev tokens on a server with a key");
    // An open development server accepts a login without a token, and mints for anyone.
    let dev = server_with(|c| c.auth = AuthMode::InsecureDev(key())).await;
    let mut d = dev.client().await;
    d.session = "x1".into();
    let r = d.reply(json!({"type": "login", "user": "anyone"})).await;
    assert!(r.get("ok").is_some(), "{r}");
    let (status, _) = http(dev.addr, "POST", "/dev/token", None, body).await;
    assert_eq!(status, 200);
}

// ---- 6. quotas and the memory budget --------------------------------------------------

#[tokio::test]
async fn a_user_creates_a_bounded_number_of_rooms_and_attribute_bytes() {
    let srv = server_with(|c| {
        c.limits.max_rooms_per_user = 3;
        c.limits.max_attribute_bytes_per_user = 3000;
    })
    .await;
    let mut c = srv.client().await;
    c.login("s1", "alice").await;
    let big = json!({"k": "v".repeat(1000)});
    for r in ["r1", "r2", "r3"] {
        let r = c
            .reply(json!({"type": "create_room", "room": {"id": r},
                "config": {"destroy_delay_s": 10800, "keep_attributes_while_empty": true}}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
    }
    let r = c
        .reply(json!({"type": "create_room", "room": {"id": "r4"}}))
        .await;
    assert_eq!(frame_error(&r), "quota_exceeded");
    let r = c
        .reply(json!({"type": "enter_room", "room": {"id": "r5"}}))
        .await;
    assert_eq!(frame_error(&r), "quota_exceeded");
    for room in ["r1", "r2"] {
        let r = c
            .reply(json!({"type": "set_room_attributes", "room_id": room, "attributes": big}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
    }
    let r = c
        .reply(json!({"type": "set_room_attributes", "room_id": "r3", "attributes": big}))
        .await;
    assert_eq!(frame_error(&r), "quota_exceeded");
    // Another user is not affected; destroying a room gives its share back.
    let mut d = srv.client().await;
    d.login("s2", "bob").await;
    let r = d
        .reply(json!({"type": "create_room", "room": {"id": "b1"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    srv.admin_ok(json!({"type": "dismiss_room", "request": 1, "room_id": "r1"}))
        .await;
    let r = c
        .reply(json!({"type": "create_room", "room": {"id": "r4"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    let r = c
        .reply(json!({"type": "set_room_attributes", "room_id": "r3", "attributes": big}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    let s = srv.stats().await;
    assert_eq!(s["quota_refusals"], 3, "{s}");
}

async fn start_error(f: impl FnOnce(&mut ServerConfig)) -> String {
    let mut config = ServerConfig::new(TOKEN, AuthMode::Tokens(key()));
    f(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    roomcore_server::start(listener, config)
        .await
        .expect_err("the server should refuse to start")
        .to_string()
}

#[tokio::test]
async fn unusable_flags_and_a_budget_overrun_are_refused_at_start() {
    for (what, e) in [
        (
            "--frames-per-s",
            start_error(|c| c.limits.frames_per_s = 0).await,
        ),
        (
            "--outbound-queue",
            start_error(|c| c.limits.outbound_queue = 0).await,
        ),
        (
            "--max-frame-bytes",
            start_error(|c| c.limits.max_frame_bytes = 0).await,
        ),
        (
            "--abandoned-session-s",
            start_error(|c| c.limits.abandoned_session = Duration::ZERO).await,
        ),
        (
            "--admin-token",
            start_error(|c| c.admin_token = "change-me".into()).await,
        ),
        (
            "max_rooms",
            start_error(|c| c.engine.max_rooms = 1_000_000).await,
        ),
    ] {
        assert!(e.contains(what), "{what}: {e}");
    }
}

// ---- 7. frames, fragments, pings, admin guessing --------------------------------------

/// A fresh WebSocket's raw socket, for frames a library would not send.
async fn raw_ws(srv: &TestServer) -> TcpStream {
    let c = srv.client().await;
    let MaybeTlsStream::Plain(s) = c.ws.into_inner() else {
        panic!("plain")
    };
    s
}

/// The close code in a server close frame read from a raw socket.
async fn raw_close_code(s: &mut TcpStream) -> Option<u16> {
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    let read = async {
        while let Ok(n) = s.read(&mut b).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&b[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the server should close");
    // Walk the server's (unmasked) frames to the close frame.
    let mut i = 0;
    while i + 2 <= got.len() {
        let op = got[i] & 0x0f;
        let (len, head) = match got[i + 1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([got[i + 2], got[i + 3]])), 4),
            127 => (
                usize::try_from(u64::from_be_bytes(got[i + 2..i + 10].try_into().unwrap()))
                    .unwrap(),
                10,
            ),
            n => (usize::from(n), 2),
        };
        if op == 8 && len >= 2 {
            return Some(u16::from_be_bytes([got[i + head], got[i + head + 1]]));
        }
        i += head + len;
    }
    None
}

#[tokio::test]
async fn protocol_violations_are_closed_with_their_codes() {
    let srv = server_with(|c| c.limits.max_fragments = 4).await;
    let cases: [(&str, Vec<u8>, u16); 5] = [
        ("invalid UTF-8", client_frame(true, 1, &[0xff, 0xfe]), 1007),
        ("unmasked", vec![0x81, 0x01, b'x'], 1002),
        ("continuation first", client_frame(true, 0, b"x"), 1002),
        ("too big", client_frame(true, 1, &vec![b'x'; 60_000]), 1009),
        (
            "too many fragments",
            [0, 1, 2, 3, 4]
                .iter()
                .flat_map(|i| client_frame(false, if *i == 0 { 1 } else { 0 }, b"ab"))
                .collect(),
            1008,
        ),
    ];
    for (what, bytes, code) in cases {
        let mut s = raw_ws(&srv).await;
        s.write_all(&bytes).await.unwrap();
        assert_eq!(raw_close_code(&mut s).await, Some(code), "{what}");
    }
}

#[tokio::test]
async fn a_message_that_never_ends_is_closed() {
    let srv = server_with(|c| c.limits.message_timeout = Duration::from_millis(300)).await;
    let mut s = raw_ws(&srv).await;
    s.write_all(&client_frame(false, 1, &[b'x'; 1000]))
        .await
        .unwrap();
    assert_eq!(raw_close_code(&mut s).await, Some(1008));
}

#[tokio::test]
async fn pings_past_the_rate_are_not_answered() {
    let srv = server_with(|c| {
        c.limits.frames_per_s = 1;
        c.limits.frames_burst = 5;
    })
    .await;
    let mut c = srv.client().await;
    for _ in 0..50 {
        c.ws.feed(Message::Ping(vec![1].into())).await.unwrap();
    }
    c.ws.flush().await.unwrap();
    let mut pongs = 0;
    let read = async {
        use futures_util::StreamExt;
        while let Some(Ok(m)) = c.ws.next().await {
            if matches!(m, Message::Pong(_)) {
                pongs += 1;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), read).await;
    assert!((1..=6).contains(&pongs), "{pongs} pongs for 50 pings");
}

#[tokio::test]
async fn failed_admin_attempts_are_rate_limited_per_address() {
    let srv = server().await;
    let wrong = "w".repeat(TOKEN.len());
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = http(srv.addr, "GET", "/admin/stats", Some(&wrong), "").await;
        statuses.push(status);
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10..], [429; 2]);
    // Even the right token waits now: the address has used up its attempts.
    let (status, _) = http(srv.addr, "GET", "/admin/stats", Some(TOKEN), "").await;
    assert_eq!(status, 429);
}
