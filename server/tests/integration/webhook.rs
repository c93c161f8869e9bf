//! Webhooks against a real HTTP receiver on 127.0.0.1: every service event of a scripted run
//! arrives once (after de-duplication), in `event_id` order, signed; a receiver that fails
//! or goes away for a while loses nothing within the maximum age; what outlives it, or
//! does not fit the queue, is dropped and counted. Every wait is a hang guard.

use crate::common::*;
use crate::receiver::{assert_churned_once, dedup_in_order, summary, Receiver};
use roomcore_server::webhook::WebhookConfig;
use roomcore_server::ServerConfig;
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "webhook-secret-0123456789abcdef-0123";

/// A server delivering to `url` with quick retries, changed further by `f`.
async fn hooked(url: &str, f: impl FnOnce(&mut WebhookConfig)) -> TestServer {
    let mut w = WebhookConfig::new(url, SECRET);
    w.backoff_min = Duration::from_millis(10);
    w.backoff_max = Duration::from_millis(100);
    f(&mut w);
    server_with(|c: &mut ServerConfig| {
        c.engine.service_events = true;
        c.webhook = Some(w);
    })
    .await
}

/// Polls the stats until `pred` holds of their `webhook` part (30 s hang guard).
async fn wait_webhook(srv: &TestServer, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = srv.stats().await;
        if pred(&s["webhook"]) {
            return s["webhook"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiting for {what}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `n` users each create a room of their own and leave it: room_created, member_joined,
/// member_left and room_destroyed per user.
async fn churn(srv: &TestServer, tag: &str, n: usize) {
    for i in 0..n {
        let mut c = srv.client().await;
        c.login(&format!("{tag}s{i}"), &format!("{tag}u{i}")).await;
        let r = c
            .reply(json!({"type": "create_room", "room": {"id": format!("{tag}r{i}")}}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
        let r = c
            .reply(json!({"type": "leave_room", "room_id": format!("{tag}r{i}")}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
    }
}

#[tokio::test]
async fn a_scripted_run_arrives_once_in_order_and_signed() {
    let recv = Receiver::start().await;
    let srv = hooked(&recv.url(), |_| {}).await;
    let (mut alice, mut bob, mut carol) =
        (srv.client().await, srv.client().await, srv.client().await);
    alice.login("s1", "alice").await;
    bob.login("s2", "bob").await;
    carol.login("s3", "carol").await;
    alice
        .cmd(json!({"type": "create_room", "room": {"id": "r1"}}))
        .await;
    bob.cmd(json!({"type": "join_room", "room_id": "r1"})).await;
    carol
        .cmd(json!({"type": "create_room", "room": {"id": "r2"}}))
        .await;
    let out = srv
        .admin_ok(json!({"type": "move_users", "request": 1, "from": "r2",
                         "to": {"id": "r1", "name": ""}, "users": ["carol"]}))
        .await;
    assert_eq!(out["ok"]["moved"], json!(["carol"]), "{out}");
    let out = srv
        .admin_ok(json!({"type": "ban_users", "request": 2, "room_id": "r1",
                         "users": ["bob"], "duration_s": 600}))
        .await;
    assert!(out.get("ok").is_some(), "{out}");
    let r = bob
        .reply(json!({"type": "join_room", "room_id": "r1"}))
        .await;
    assert_eq!(r["error"]["code"], "user_banned", "{r}");
    alice
        .cmd(json!({"type": "leave_room", "room_id": "r1"}))
        .await;
    carol.cmd(json!({"type": "logout"})).await;
    let expected = [
        "room_created r1",
        "member_joined r1 alice",
        "member_joined r1 bob",
        "room_created r2",
        "member_joined r2 carol",
        "member_joined r1 carol",
        "member_left r2 carol moved",
        "room_destroyed r2 empty",
        "member_left r1 bob banned",
        "member_left r1 alice left",
        "member_left r1 carol left",
        "room_destroyed r1 empty",
    ];
    recv.wait_for(SECRET, "the scripted run's events", |events| {
        dedup_in_order(events).len() >= expected.len()
    })
    .await;
    let events = dedup_in_order(&recv.accepted_events(SECRET));
    let got = summary(&events);
    assert_eq!(got, expected, "{events:?}");
    // Numbered from 1 without a gap; every session id and sid is there.
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["event_id"], json!(i as u64 + 1), "{e}");
        assert!(e["sid"].as_str().is_some_and(|s| s.starts_with('R')), "{e}");
        if e["type"].as_str().is_some_and(|t| t.starts_with("member_")) {
            assert!(e["session_id"].as_str().is_some(), "{e}");
        }
    }
    let w = wait_webhook(&srv, "the stats", |w| w["delivered"] == json!(events.len())).await;
    assert_eq!(w["dropped_expired"], 0);
    assert_eq!(w["dropped_overflow"], 0);
    assert_eq!(w["last_delivered_event_id"], json!(events.len()));
}

#[tokio::test]
async fn a_receiver_that_fails_then_goes_away_then_recovers_loses_nothing() {
    let mut recv = Receiver::start().await;
    let srv = hooked(&recv.url(), |_| {}).await;
    // Failing with 500: the events wait, retried; the engine goes on answering.
    recv.fail(true);
    churn(&srv, "a", 5).await;
    wait_webhook(&srv, "failed attempts", |w| {
        w["attempts_failed"].as_u64() >= Some(3)
    })
    .await;
    // Gone: connections refused; still answering.
    recv.stop();
    churn(&srv, "b", 5).await;
    let before = srv.stats().await["webhook"]["attempts_failed"]
        .as_u64()
        .unwrap();
    wait_webhook(&srv, "failures while closed", |w| {
        w["attempts_failed"].as_u64() >= Some(before + 3)
    })
    .await;
    recv.fail(false);
    recv.restart().await;
    churn(&srv, "c", 5).await;
    // 15 users, 4 events each.
    recv.wait_for(SECRET, "every event after the recovery", |events| {
        dedup_in_order(events).len() >= 60
    })
    .await;
    let events = dedup_in_order(&recv.accepted_events(SECRET));
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["event_id"],
            json!(i as u64 + 1),
            "a gap at {i}: {events:?}"
        );
    }
    assert_churned_once(&summary(&events), &["a", "b", "c"], 5);
    let w = srv.stats().await["webhook"].clone();
    assert_eq!(w["dropped_expired"], 0, "{w}");
    assert_eq!(w["dropped_overflow"], 0, "{w}");
    assert!(
        recv.hits().iter().any(|h| !h.accepted),
        "the receiver did fail"
    );
}

#[tokio::test]
async fn events_past_the_maximum_age_are_dropped_and_counted() {
    let recv = Receiver::start().await;
    recv.fail(true);
    let srv = hooked(&recv.url(), |w| w.max_age = Duration::from_secs(1)).await;
    churn(&srv, "a", 2).await; // 8 events
    let w = wait_webhook(&srv, "the events to expire", |w| {
        w["dropped_expired"] == 8 && w["queued"] == 0
    })
    .await;
    assert_eq!(w["delivered"], 0, "{w}");
    // The delivery task expires events only between requests: none is in flight now, so
    // no expired event can still reach the receiver.
    let dropped = w["dropped_expired"].as_u64().unwrap();
    // Later events go through once the receiver is back; the dropped ones never do.
    recv.fail(false);
    churn(&srv, "b", 1).await;
    recv.wait_for(SECRET, "the new events", |events| {
        summary(events).contains(&"member_left br0 bu0 left".to_owned())
    })
    .await;
    let events = dedup_in_order(&recv.accepted_events(SECRET));
    assert!(
        events
            .iter()
            .all(|e| e["event_id"].as_u64() > Some(dropped)),
        "{dropped} dropped, yet: {events:?}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_its_oldest_and_counts_them_without_slowing_the_engine() {
    let recv = Receiver::start().await;
    recv.fail(true);
    let srv = hooked(&recv.url(), |w| w.max_queue_events = 4).await;
    churn(&srv, "a", 4).await; // 16 events into a queue of 4: every command still answered
    let w = wait_webhook(&srv, "overflow", |w| w["dropped_overflow"] == 12).await;
    assert_eq!(w["queued"], 4, "{w}");
    // A request in flight may carry events built before they were pushed out: two more
    // failures, and the one after is built from what the queue holds now.
    let failed = w["attempts_failed"].as_u64().unwrap();
    wait_webhook(&srv, "two more attempts", |w| {
        w["attempts_failed"].as_u64() >= Some(failed + 2)
    })
    .await;
    recv.fail(false);
    recv.wait_for(SECRET, "the newest events", |events| {
        summary(events).contains(&"member_left ar3 au3 left".to_owned())
    })
    .await;
    let events = dedup_in_order(&recv.accepted_events(SECRET));
    assert_eq!(
        summary(&events),
        [
            "room_created ar3",
            "member_joined ar3 au3",
            "member_left ar3 au3 left",
            "room_destroyed ar3 empty"
        ],
        "only what the queue held"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_detectable() {
    let recv = Receiver::start().await;
    let srv = hooked(&recv.url(), |_| {}).await;
    churn(&srv, "a", 1).await;
    recv.wait_for(SECRET, "an event", |events| !events.is_empty())
        .await;
    let hit = recv.hits().into_iter().find(|h| h.accepted).unwrap();
    let sig = hit.signature.unwrap();
    use roomcore_server::webhook::sign::verify;
    assert!(verify(SECRET.as_bytes(), &hit.body, &sig));
    assert!(!verify(
        b"another-secret-0123456789abcdef-0123",
        &hit.body,
        &sig
    ));
    let mut tampered = hit.body.to_vec();
    tampered[0] = b' ';
    assert!(!verify(SECRET.as_bytes(), &tampered, &sig));
}

#[tokio::test]
async fn the_last_service_events_are_served_to_the_admin() {
    let srv = server_with(|c: &mut ServerConfig| c.engine.service_events = true).await;
    let mut alice = srv.client().await;
    alice.login("s1", "alice").await;
    alice
        .cmd(json!({"type": "create_room", "room": {"id": "r1"}}))
        .await;
    let (code, _) = http(srv.addr, "GET", "/admin/events", None, "").await;
    assert_eq!(code, 401);
    let (code, text) = http(srv.addr, "GET", "/admin/events", Some(TOKEN), "").await;
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let events = v["events"].as_array().unwrap();
    assert_eq!(
        summary(events),
        ["room_created r1", "member_joined r1 alice"]
    );
    // Without service events there is nothing to number and nothing to list.
    let plain = server().await;
    let mut bob = plain.client().await;
    bob.login("s2", "bob").await;
    bob.cmd(json!({"type": "create_room", "room": {"id": "r2"}}))
        .await;
    let (_, text) = http(plain.addr, "GET", "/admin/events", Some(TOKEN), "").await;
    assert_eq!(text, r#"{"events":[]}"#);
}
