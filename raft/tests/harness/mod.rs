//! Real nodes in one process: each on its own tokio runtime (so that killing one drops every
//! task it had, as a dead process would), its own data directory, and a loopback port.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use roomcore::{Input, RoomId, RoomInfo, SessionId, UserId};
use roomcore_raft::{Node, NodeConfig, Proposed, RequestKey, Response, Status};

/// A hang guard, never a measurement: every wait in these tests is bounded by it.
pub const GUARD: Duration = Duration::from_secs(60);

/// Timing for the tests: quicker elections than the default, the rest as deployed.
pub fn config() -> NodeConfig {
    NodeConfig {
        heartbeat_ms: 50,
        election_timeout_min_ms: 200,
        election_timeout_max_ms: 400,
        write_timeout_ms: 20_000,
        attempt_timeout_ms: 1_000,
        cluster_secret: Some("test-secret".into()),
        ..NodeConfig::default()
    }
}

struct Running {
    rt: tokio::runtime::Runtime,
    node: Node,
}

/// A group of nodes on loopback.
pub struct Group {
    pub peers: BTreeMap<u64, String>,
    /// Each node's listening socket, held for the group's life: a killed node's port stays
    /// bound (connections to it wait unanswered, as to a hung process) so that nothing else
    /// can take it before the node restarts on it.
    sockets: BTreeMap<u64, std::net::TcpListener>,
    dirs: BTreeMap<u64, tempfile::TempDir>,
    running: BTreeMap<u64, Running>,
    pub config: NodeConfig,
    /// The test's own runtime (clients, waits).
    pub client: tokio::runtime::Runtime,
}

fn listen() -> std::net::TcpListener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds loopback, port 0");
    l.set_nonblocking(true).expect("non-blocking");
    l
}

impl Group {
    /// Starts `n` nodes (ids 1..=n).
    pub fn start(n: u64, config: NodeConfig) -> Group {
        let sockets: BTreeMap<u64, std::net::TcpListener> =
            (1..=n).map(|id| (id, listen())).collect();
        let peers = sockets
            .iter()
            .map(|(id, l)| (*id, l.local_addr().expect("an address").to_string()))
            .collect();
        let dirs = (1..=n)
            .map(|id| (id, tempfile::tempdir().expect("temp dir")))
            .collect();
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut g = Group {
            peers,
            sockets,
            dirs,
            running: BTreeMap::new(),
            config,
            client,
        };
        for id in 1..=n {
            g.restart(id);
        }
        g
    }

    /// The data directory of `id`.
    pub fn dir(&self, id: u64) -> PathBuf {
        self.dirs[&id].path().to_path_buf()
    }

    /// (Re)starts node `id` from its data directory.
    pub fn restart(&mut self, id: u64) {
        assert!(!self.running.contains_key(&id), "node {id} is running");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let socket = self.sockets[&id]
            .try_clone()
            .expect("a handle on the socket");
        let (peers, dir, config) = (self.peers.clone(), self.dir(id), self.config.clone());
        let node = rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(socket).expect("a tokio listener");
            let node = Node::open(id, peers, &dir, config).await.expect("opens");
            node.serve(listener);
            node
        });
        self.running.insert(id, Running { rt, node });
    }

    /// Kills node `id` as abruptly as a process can die in-process: its disk stops
    /// writing (nothing unacknowledged lands), and its runtime drops every task.
    pub fn kill(&mut self, id: u64) {
        let r = self.running.remove(&id).expect("running");
        r.node.crash();
        r.rt.shutdown_background();
    }

    /// A running node.
    pub fn node(&self, id: u64) -> Node {
        self.running[&id].node.clone()
    }

    /// The running nodes' ids.
    pub fn alive(&self) -> Vec<u64> {
        self.running.keys().copied().collect()
    }

    /// Runs `f` on the test's runtime, bounded by [`GUARD`].
    pub fn run<F: Future>(&self, f: F) -> F::Output {
        self.client
            .block_on(async { tokio::time::timeout(GUARD, f).await })
            .expect("the test finished within its hang guard")
    }

    /// Waits until a running node leads; returns it.
    pub fn leader(&self) -> u64 {
        self.run(async {
            loop {
                if let Some(id) = self
                    .alive()
                    .into_iter()
                    .find(|id| self.node(*id).is_leader())
                {
                    return id;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    /// Waits until every running node has applied the same last index and reports it;
    /// returns their statuses (equal digests are for the caller to check).
    pub fn settled(&self) -> Vec<Status> {
        self.run(async {
            loop {
                let statuses: Vec<Status> = self
                    .alive()
                    .iter()
                    .map(|id| self.node(*id).status())
                    .collect();
                let committed = statuses.iter().find_map(|s| {
                    let n = self.node(s.node_id);
                    n.is_leader().then(|| {
                        n.raft()
                            .metrics()
                            .borrow_watched()
                            .local_committed
                            .map_or(0, |c| c.index)
                    })
                });
                if let Some(c) = committed {
                    if statuses.iter().all(|s| s.last_applied == c) {
                        return statuses;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }

    /// Asserts every running node has the same digest at the same index.
    pub fn assert_agree(&self, context: &str) -> Status {
        let statuses = self.settled();
        let first = statuses[0].clone();
        for s in &statuses[1..] {
            assert_eq!(
                (s.last_applied, &s.state_digest),
                (first.last_applied, &first.state_digest),
                "{context}: node {} and node {} differ",
                s.node_id,
                first.node_id
            );
        }
        first
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        for (_, r) in std::mem::take(&mut self.running) {
            r.node.crash();
            r.rt.shutdown_background();
        }
    }
}

pub fn key(client: u64, seq: u64) -> RequestKey {
    RequestKey { client, seq }
}

pub fn login(session: &str, request: u64, user: &str) -> Input {
    Input::Login {
        session: SessionId::new(session),
        request,
        user: UserId::new(user),
    }
}

pub fn enter(session: &str, request: u64, room: &str) -> Input {
    Input::EnterRoom {
        session: SessionId::new(session),
        request,
        room: RoomInfo {
            id: RoomId::new(room),
            name: roomcore::RoomName::EMPTY,
        },
        config: None,
    }
}

/// Whether a proposal was applied (not a duplicate, not refused).
pub fn applied(p: &Proposed) -> bool {
    matches!(
        p.response,
        Response::Applied { .. } | Response::Session { .. }
    )
}
