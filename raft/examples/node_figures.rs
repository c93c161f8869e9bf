//! Wall-clock figures of the deployable node (raft/FIGURES.md): commits per second and
//! latency of one durable node and of three nodes over loopback, failover time, and the
//! recovery time of a restarted node.
//!
//! `cargo run --release -p roomcore-raft --example node_figures [WRITES]`

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use roomcore::{Input, SessionId, UserId};
use roomcore_raft::{Node, NodeConfig, RequestKey};
use tokio::net::TcpSocket;

struct Running {
    rt: tokio::runtime::Runtime,
    node: Node,
}

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds loopback");
    l.local_addr().expect("an address").to_string()
}

fn start(id: u64, peers: &BTreeMap<u64, String>, dir: &Path, config: &NodeConfig) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr: SocketAddr = peers[&id].parse().expect("an address");
    let (peers, dir, config) = (peers.clone(), dir.to_path_buf(), config.clone());
    let node = rt.block_on(async move {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(addr).expect("binds");
        let node = Node::open(id, peers, &dir, config).await.expect("opens");
        node.serve(socket.listen(128).expect("listens"));
        node
    });
    Running { rt, node }
}

fn kill(r: Running) {
    r.node.crash();
    r.rt.shutdown_background();
}

fn login(client: u64, seq: u64) -> Input {
    let s = format!("c{client}-{seq}");
    Input::Login {
        session: SessionId::new(&s),
        request: seq,
        user: UserId::new(&s),
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// `clients` concurrent writers, `per_client` writes each through `via`.
async fn load(via: &[Node], clients: u64, per_client: u64, base: u64) -> (f64, f64, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let node = via[c as usize % via.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for seq in 0..per_client {
                let key = RequestKey {
                    client: base + c,
                    seq,
                };
                let t = Instant::now();
                node.propose_input(key, login(base + c, seq))
                    .await
                    .expect("applied");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("writer"));
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / secs, pct(&all, 0.5), pct(&all, 0.99))
}

fn main() {
    let writes: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = NodeConfig::default();
    println!(
        "writes per load: {writes}; config: heartbeat {} ms, election {}-{} ms",
        config.heartbeat_ms, config.election_timeout_min_ms, config.election_timeout_max_ms
    );

    // One durable node.
    let dir = tempfile::tempdir().expect("temp dir");
    let peers: BTreeMap<u64, String> = BTreeMap::from([(1, free_port())]);
    let single = start(1, &peers, dir.path(), &config);
    let node = single.node.clone();
    client.block_on(node.ready());
    for clients in [1, 16, 64] {
        let (rate, p50, p99) = client.block_on(load(
            std::slice::from_ref(&node),
            clients,
            writes / clients,
            clients * 1_000,
        ));
        println!("single durable node, {clients:>2} clients: {rate:>8.0} commits/s, p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    kill(single);
    let t = Instant::now();
    let single = start(1, &peers, dir.path(), &config);
    client.block_on(single.node.ready());
    println!(
        "single node restart to ready ({} entries applied): {:.0} ms",
        single.node.status().last_applied,
        t.elapsed().as_secs_f64() * 1e3
    );
    kill(single);

    // Three nodes.
    let dirs: BTreeMap<u64, tempfile::TempDir> = (1..=3)
        .map(|i| (i, tempfile::tempdir().expect("temp dir")))
        .collect();
    let peers: BTreeMap<u64, String> = (1..=3).map(|i| (i, free_port())).collect();
    let mut nodes: BTreeMap<u64, Running> = (1..=3)
        .map(|i| (i, start(i, &peers, dirs[&i].path(), &config)))
        .collect();
    let handles = |nodes: &BTreeMap<u64, Running>| -> Vec<Node> {
        nodes.values().map(|r| r.node.clone()).collect()
    };
    for n in handles(&nodes) {
        client.block_on(n.ready());
    }
    let leader_of = |nodes: &BTreeMap<u64, Running>| {
        nodes
            .values()
            .find(|r| r.node.is_leader())
            .map(|r| r.node.clone())
    };
    let leader = leader_of(&nodes).expect("a leader");
    for clients in [1, 16, 64] {
        let (rate, p50, p99) = client.block_on(load(
            std::slice::from_ref(&leader),
            clients,
            writes / clients,
            100_000 + clients * 1_000,
        ));
        println!("three nodes via the leader, {clients:>2} clients: {rate:>8.0} commits/s, p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    let all = handles(&nodes);
    let (rate, p50, p99) = client.block_on(load(&all, 48, writes / 48, 200_000));
    println!("three nodes via every node (followers forward), 48 clients: {rate:>8.0} commits/s, p50 {p50:.2} ms, p99 {p99:.2} ms");

    // Failover: kill the leader, then time the first write applied through a survivor.
    for round in 0..5 {
        let leader = leader_of(&nodes).expect("a leader").id();
        let survivor = nodes
            .keys()
            .copied()
            .find(|i| *i != leader)
            .expect("a survivor");
        let via = nodes[&survivor].node.clone();
        kill(nodes.remove(&leader).expect("running"));
        let t = Instant::now();
        client
            .block_on(via.propose_input(
                RequestKey {
                    client: 300_000 + round,
                    seq: 0,
                },
                login(300_000 + round, 0),
            ))
            .expect("applied after failover");
        let failover = t.elapsed();
        // Recovery: the dead node restarts and catches up with the leader's commit.
        let t = Instant::now();
        let back = start(leader, &peers, dirs[&leader].path(), &config);
        let target = via.status().last_applied;
        client.block_on(async {
            while back.node.status().last_applied < target {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        println!(
            "failover {round}: kill -> first write applied {:.0} ms; restarted node caught up ({target} entries) in {:.0} ms",
            failover.as_secs_f64() * 1e3,
            t.elapsed().as_secs_f64() * 1e3
        );
        nodes.insert(leader, back);
        client.block_on(async {
            for n in handles(&nodes) {
                n.ready().await;
            }
        });
    }
    for (_, r) in nodes {
        kill(r);
    }
}
