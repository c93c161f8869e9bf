//! Figures of the durable and replicated server (server/FIGURES.md, "Durable and
//! replicated"), from real processes on 127.0.0.1:
//!
//! 1. the same client load against the in-memory server, one durable node, and a three-node
//!    group (clients spread over its nodes): commands/s, p50, p99;
//! 2. failover: a client on a surviving node writes one command at a time; the leader is
//!    killed with SIGKILL; the time from the kill to the reply of the first write sent after
//!    it (repeated);
//! 3. recovery: the killed node, restarted after the others applied more entries without
//!    it, until it has applied as far as the leader had when it started.
//!
//! ```sh
//! cargo build --release -p roomcore-server --bins --examples
//! target/release/examples/cluster_figures [CLIENTS] [SECONDS] [KILLS] [THINK_MS]  # 200 10 5 0
//! ```
//! Not a test: nothing here asserts a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/cluster/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/cluster/procs.rs"]
mod procs;

use client::{Client, Next};
use procs::{free_ports, Server};
use roomcore_server::load::{self, LoadConfig, LoadReport};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

/// Closed-loop load clients are hotter than people: the per-connection rate is raised so
/// the run measures the server, not the limiter.
const RATE: &[&str] = &["--frames-per-s", "1000", "--frames-burst", "1000"];

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

async fn run_load(
    urls: &[String],
    clients: usize,
    seconds: u64,
    think_ms: u64,
    prefix: &str,
) -> LoadReport {
    let cfg = LoadConfig {
        url: urls.join(","),
        clients,
        duration: Duration::from_secs(seconds),
        rooms: u32::try_from(clients / 10).unwrap().max(4),
        seed: 1,
        prefix: prefix.to_owned(),
        connect_parallelism: 64,
        think: Duration::from_millis(think_ms),
        min_commands: 0,
        signing_key: None,
    };
    load::run(&cfg).await.unwrap()
}

fn row(what: &str, r: &LoadReport) {
    println!(
        "| {what} | {:.0} | {:.2} ms | {:.2} ms | {} | {} |",
        r.commands_per_s,
        r.p50_us as f64 / 1000.0,
        r.p99_us as f64 / 1000.0,
        r.failed_clients + r.logged_in.abs_diff(r.clients),
        r.resumes
    );
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn start_group(dir: &std::path::Path, extra: &[&str]) -> Vec<Server> {
    let mut flags = vec!["--insecure-dev"];
    flags.extend_from_slice(RATE);
    flags.extend_from_slice(extra);
    procs::start_group(dir, &flags).await
}

/// The leader the running nodes agree on.
async fn leader(nodes: &[Server]) -> u64 {
    loop {
        let s = procs::statuses(nodes).await;
        let running = nodes.iter().filter(|n| n.is_running()).count();
        if let Some(l) = s.values().find(|v| v["role"] == "leader") {
            let id = l["node_id"].as_u64().unwrap();
            if s.len() == running && s.values().all(|v| v["leader_id"] == id) {
                return id;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn last_applied(node: &Server) -> Option<u64> {
    node.status().await?["last_applied"].as_u64()
}

#[tokio::main]
async fn main() {
    let mut a = std::env::args().skip(1);
    let clients: usize = a.next().map_or(200, |s| s.parse().unwrap());
    let seconds: u64 = a.next().map_or(10, |s| s.parse().unwrap());
    let kills: u32 = a.next().map_or(5, |s| s.parse().unwrap());
    let think: u64 = a.next().map_or(0, |s| s.parse().unwrap());
    println!("load average before: {}", loadavg());

    // 1. The same load against each deployment.
    println!("\n| deployment ({clients} clients x {seconds} s, pause {think} ms) | commands/s | p50 | p99 | failed clients | resumes |");
    println!("| --- | --- | --- | --- | --- | --- |");
    {
        let tmp = tempfile::tempdir().unwrap();
        let port = free_ports(1)[0];
        let listen = format!("127.0.0.1:{port}");
        let mut v = vec!["--listen", &listen, "--insecure-dev"];
        v.extend_from_slice(RATE);
        let mut s = Server::new(1, port, tmp.path(), args(&v));
        s.start().await;
        row(
            "in memory",
            &run_load(&[s.ws_url()], clients, seconds, think, "m").await,
        );
    }
    {
        let tmp = tempfile::tempdir().unwrap();
        let port = free_ports(1)[0];
        let listen = format!("127.0.0.1:{port}");
        let data = tmp.path().join("data").display().to_string();
        let mut v = vec!["--listen", &listen, "--insecure-dev", "--data-dir", &data];
        v.extend_from_slice(RATE);
        let mut s = Server::new(1, port, tmp.path(), args(&v));
        s.start().await;
        row(
            "one durable node",
            &run_load(&[s.ws_url()], clients, seconds, think, "d").await,
        );
    }
    {
        let tmp = tempfile::tempdir().unwrap();
        let nodes = start_group(tmp.path(), &[]).await;
        leader(&nodes).await;
        let urls: Vec<String> = nodes.iter().map(Server::ws_url).collect();
        row(
            "three nodes, clients on all",
            &run_load(&urls, clients, seconds, think, "g").await,
        );
        let l = leader(&nodes).await;
        let on_leader = [nodes[usize::try_from(l).unwrap() - 1].ws_url()];
        row(
            "three nodes, clients on the leader",
            &run_load(&on_leader, clients, seconds, think, "gl").await,
        );
    }
    println!("load average after the loads: {}", loadavg());

    // 2 and 3. Failover and recovery, default timing, with background writers.
    let tmp = tempfile::tempdir().unwrap();
    let mut nodes = start_group(tmp.path(), &[]).await;
    println!("\n| kill | failover: kill -> first write applied | entries missed | recovery: restart -> caught up | snapshot installed |");
    println!("| --- | --- | --- | --- | --- |");
    for k in 1..=kills {
        let l = leader(&nodes).await;
        let survivor = (1..=3).find(|id| *id != l).unwrap();
        let url = nodes[usize::try_from(survivor).unwrap() - 1].ws_url();
        let mut probe = Client::connect(&url).await.unwrap();
        probe
            .login(&format!("probe-{k}"), &format!("probe-{k}"))
            .await;
        let r = probe
            .cmd(json!({"type": "enter_room", "room": {"id": format!("probe-{k}")}}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
        let killed = &mut nodes[usize::try_from(l).unwrap() - 1];
        let t0 = Instant::now();
        killed.kill9();
        // The first write sent after the kill, and its reply.
        let mut value = 0u64;
        let failover = loop {
            value += 1;
            let set = json!({"type": "set_room_members_attributes", "room_id": format!("probe-{k}"),
                             "attributes": {"n": value.to_string()}});
            let sent = Instant::now();
            let request = probe.send_cmd(set).await;
            let replied = loop {
                match probe.next(Duration::from_secs(30)).await {
                    Next::Frame(v) if v["out"]["request"] == request => break Instant::now(),
                    Next::Frame(_) => continue,
                    other => panic!("probe: {other:?}"),
                }
            };
            if sent >= t0 {
                break replied - t0;
            }
        };
        // Writes the restarted node will have missed.
        let urls: Vec<String> = nodes
            .iter()
            .filter(|n| n.is_running())
            .map(Server::ws_url)
            .collect();
        let _ = run_load(&urls, 50, 3, 0, &format!("k{k}-")).await;
        let l2 = leader(&nodes).await;
        let target = last_applied(&nodes[usize::try_from(l2).unwrap() - 1])
            .await
            .unwrap();
        let killed = &mut nodes[usize::try_from(l).unwrap() - 1];
        let t1 = Instant::now();
        killed.start().await;
        let mut missed = None;
        loop {
            if let Some(i) = last_applied(killed).await {
                missed.get_or_insert(target.saturating_sub(i));
                if i >= target {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let recovery = t1.elapsed();
        let snapshots = killed.stats().await.unwrap()["replication"]["snapshots_installed"].clone();
        println!(
            "| {k} (node {l}) | {} ms | {} | {} ms | {} |",
            failover.as_millis(),
            missed.unwrap_or(0),
            recovery.as_millis(),
            snapshots
        );
    }
    println!("load average after: {}", loadavg());
}
