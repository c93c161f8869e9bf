//! Webhook figures (server/FIGURES.md, "Webhooks"), against a receiver on 127.0.0.1 in this
//! process (it reads each body, checks its signature after the run, and answers 200):
//!
//! 1. **Pipeline**: events handed to the webhook the way the engine task hands them over
//!    (`Webhook::push`), at a paced rate and as one burst; events/s delivered, and the delay
//!    of each event from its hand-over to the receiver having read its batch (p50, p99, max).
//! 2. **End to end**: the in-memory server with `--webhook-url`, under the load client's
//!    churn; events/s delivered during the load, and how long after the load the receiver
//!    had every event (the backlog left); then the same load without webhooks.
//!
//! ```sh
//! cargo build --release -p roomcore-server --examples
//! target/release/examples/webhook_figures [BURST_EVENTS] [PACED_PER_S] [PACED_SECONDS] [CLIENTS] [LOAD_SECONDS]
//! # defaults: 200000 5000 10 200 10
//! ```
//! Not a test: nothing here asserts a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/integration/receiver.rs"]
mod receiver;

use receiver::Receiver;
use roomcore_server::auth::SigningKey;
use roomcore_server::load::{self, LoadConfig};
use roomcore_server::webhook::{Webhook, WebhookConfig};
use roomcore_server::{AuthMode, ServerConfig};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

const SECRET: &str = "bench-webhook-secret-0123456789abcdef";

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .map_or(default, |a| a.parse().expect("a number"))
}

/// A member_joined of the size the engine produces.
fn event(id: u64) -> String {
    format!(
        r#"{{"type":"member_joined","room_id":"load-{}","sid":"R{}","user_id":"load-u{}","session_id":"load-s{}","event_id":{id}}}"#,
        id % 100,
        id % 100 + 1,
        id % 1000,
        id % 1000
    )
}

/// Every accepted event's id and the time its batch was read, checking signatures.
fn received(recv: &Receiver) -> Vec<(u64, Instant)> {
    let mut out = Vec::new();
    for hit in recv.hits() {
        let sig = hit.signature.as_deref().unwrap();
        assert!(roomcore_server::webhook::sign::verify(
            SECRET.as_bytes(),
            &hit.body,
            sig
        ));
        let v: Value = serde_json::from_slice(&hit.body).unwrap();
        for e in v["events"].as_array().unwrap() {
            out.push((e["event_id"].as_u64().unwrap(), hit.received));
        }
    }
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn wait_all(recv: &Receiver, n: usize) -> Instant {
    let guard = Instant::now() + Duration::from_secs(600);
    loop {
        let got: usize = recv
            .hits()
            .iter()
            .map(|h| {
                // Counting events without parsing: one `event_id` per event.
                h.body.windows(10).filter(|w| w == b"\"event_id\"").count()
            })
            .sum();
        if got >= n {
            return Instant::now();
        }
        assert!(Instant::now() < guard, "only {got} of {n} events arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Hands `n` events over at `per_s` (0: all at once) and reports delivery.
async fn pipeline(label: &str, n: u64, per_s: u64) {
    let recv = Receiver::start().await;
    let mut cfg = WebhookConfig::new(&recv.url(), SECRET);
    cfg.max_queue_events = 1_000_000;
    cfg.max_queue_bytes = 512 << 20;
    let hook = Webhook::start(cfg);
    let mut produced = vec![Instant::now(); n as usize + 1];
    let start = Instant::now();
    if per_s == 0 {
        for id in 1..=n {
            produced[id as usize] = Instant::now();
            hook.push(id, event(id));
        }
    } else {
        // Paced in 1 ms steps; each step hands over what is due by then.
        let mut id = 1;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        while id <= n {
            tick.tick().await;
            let due = (start.elapsed().as_secs_f64() * per_s as f64) as u64;
            while id <= n && id <= due {
                produced[id as usize] = Instant::now();
                hook.push(id, event(id));
                id += 1;
            }
        }
    }
    let done = wait_all(&recv, n as usize).await;
    let got = received(&recv);
    let mut delays: Vec<Duration> = got
        .iter()
        .map(|(id, at)| at.duration_since(produced[*id as usize]))
        .collect();
    delays.sort();
    let s = hook.stats();
    println!(
        "{label}: {n} events in {:.2} s = {:.0} events/s delivered; delay p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} requests, {} failed, {} dropped",
        done.duration_since(start).as_secs_f64(),
        n as f64 / done.duration_since(start).as_secs_f64(),
        pct(&delays, 0.5).as_secs_f64() * 1e3,
        pct(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().unwrap().as_secs_f64() * 1e3,
        s.batches_delivered,
        s.attempts_failed,
        s.dropped_expired + s.dropped_overflow,
    );
}

/// The same churn without webhooks, for the commands/s it costs.
async fn baseline(clients: usize, seconds: u64) {
    let key = SigningKey::new(&[7; 32]).unwrap();
    let mut config = ServerConfig::new(&"a".repeat(32), AuthMode::InsecureDev(key));
    config.limits.frames_per_s = 1000;
    config.limits.frames_burst = 1000;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = roomcore_server::start(listener, config).await.unwrap();
    let report = load::run(&load_config(&server, clients, seconds))
        .await
        .unwrap();
    println!(
        "no webhook: {clients} clients x {seconds} s at full speed, {:.0} commands/s (p99 {:.1} ms), clean load: {}",
        report.commands_per_s,
        report.p99_us as f64 / 1e3,
        report.clean()
    );
}

fn load_config(
    server: &roomcore_server::RunningServer,
    clients: usize,
    seconds: u64,
) -> LoadConfig {
    LoadConfig {
        url: format!("ws://{}/ws", server.addr),
        clients,
        duration: Duration::from_secs(seconds),
        rooms: 100,
        seed: 1,
        prefix: "wh".into(),
        connect_parallelism: 50,
        think: Duration::ZERO,
        min_commands: 0,
        signing_key: None,
    }
}

/// The server with a webhook under the load client's churn.
async fn end_to_end(clients: usize, seconds: u64) {
    let recv = Receiver::start().await;
    let key = SigningKey::new(&[7; 32]).unwrap();
    let mut config = ServerConfig::new(&"a".repeat(32), AuthMode::InsecureDev(key));
    config.engine.service_events = true;
    config.limits.frames_per_s = 1000;
    config.limits.frames_burst = 1000;
    config.webhook = Some(WebhookConfig::new(&recv.url(), SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = roomcore_server::start(listener, config).await.unwrap();
    let report = load::run(&load_config(&server, clients, seconds))
        .await
        .unwrap();
    let load_end = Instant::now();
    // Every event so far: the highest event_id received once the receiver is idle.
    let mut last = 0;
    let mut quiet_since = Instant::now();
    let mut count = 0;
    while quiet_since.elapsed() < Duration::from_secs(2) {
        let n = recv.hits().len();
        if n != count {
            count = n;
            quiet_since = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = received(&recv);
    let mut drained = load_end;
    for (id, at) in &got {
        last = last.max(*id);
        drained = drained.max(*at);
    }
    let during = got.iter().filter(|(_, at)| *at <= load_end).count();
    println!(
        "end to end: {clients} clients x {seconds} s at full speed, {:.0} commands/s (p99 {:.1} ms); {} events, {:.0} events/s delivered during the load; all in {:.0} ms after it; {} received (duplicates included), clean load: {}",
        report.commands_per_s,
        report.p99_us as f64 / 1e3,
        last,
        during as f64 / report.elapsed_s,
        drained.saturating_duration_since(load_end).as_secs_f64() * 1e3,
        got.len(),
        report.clean(),
    );
}

#[tokio::main]
async fn main() {
    let burst = arg(1, 200_000);
    let per_s = arg(2, 5_000);
    let paced_s = arg(3, 10);
    let clients = arg(4, 200) as usize;
    let load_s = arg(5, 10);
    pipeline(&format!("paced {per_s}/s"), per_s * paced_s, per_s).await;
    pipeline("burst", burst, 0).await;
    end_to_end(clients, load_s).await;
    baseline(clients, load_s).await;
}
