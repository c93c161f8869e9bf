//! A deployable replica: openraft on tokio, the durable store in a data directory, HTTP
//! between nodes, the tick driver, and the session bookkeeping an embedding server needs.
//!
//! A group of one is the durable single-node mode; three (or five) nodes fail over.
//! Commands reach the leader from any node: a follower forwards a proposal to the leader it
//! knows, which stamps its clock on it and answers once it is applied; the follower then
//! waits until it has applied that entry itself before it answers its caller, so what the
//! caller reads on that node afterwards includes the write.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::InitializeError;
use openraft::{BasicNode, ServerState};
use roomcore::{Input, SessionId};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::NodeConfig;
use crate::digest::engine_digest;
use crate::disk::Disk;
use crate::driver::{run_ticks, WallClock};
use crate::machine::RoomMachine;
use crate::net::{HttpNet, PostError};
use crate::proposal::{Command, RequestKey, Response};
use crate::rpc::{self, write_here, RpcState, TokioRaft};
use crate::sessions::{Holder, SessionOp, TokenHash};
use crate::store::{lock, AppliedEntry, LogStore, StateMachineStore};
use crate::types::{NodeId, TokioConfig};
use crate::wire::{Attempt, Forward};

/// Why a node could not start.
#[derive(Debug)]
pub enum OpenError {
    /// The settings are inconsistent (openraft's timing checks, or `peers` lacks this node).
    Config(String),
    /// The data directory could not be opened or read.
    Disk(std::io::Error),
    /// openraft refused to start.
    Raft(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Config(e) => write!(f, "bad config: {e}"),
            OpenError::Disk(e) => write!(f, "data directory: {e}"),
            OpenError::Raft(e) => write!(f, "raft: {e}"),
        }
    }
}

impl std::error::Error for OpenError {}

/// Why a proposal was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposeError {
    /// No leader applied it within `write_timeout_ms` (no quorum, or elections kept
    /// failing). With a request key it may still be applied, once; a retry with the same
    /// key is safe.
    Timeout,
    /// An attempt without a request key timed out after it was appended: it may or may not
    /// be applied, and retrying could apply it twice.
    Ambiguous,
    /// This node is shutting down.
    Stopped,
}

impl std::fmt::Display for ProposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProposeError::Timeout => "no leader applied the proposal in time",
            ProposeError::Ambiguous => "the proposal may or may not have been applied",
            ProposeError::Stopped => "the node is stopping",
        })
    }
}

impl std::error::Error for ProposeError {}

/// An applied proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposed {
    /// Its log index (this node has applied it too, unless it lagged past the deadline).
    pub index: u64,
    /// What applying it answered (the same on every replica).
    pub response: Response,
}

/// What a node is in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// It leads a group of more than one.
    Leader,
    /// It follows (or campaigns, or has not heard of a leader yet).
    Follower,
    /// It is the only member of its group (the durable single-node mode).
    Single,
}

/// A node's status: what `GET /status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// This node.
    pub node_id: NodeId,
    /// Its role.
    pub role: Role,
    /// The leader it knows of.
    pub leader_id: Option<NodeId>,
    /// The last entry its state machine applied.
    pub last_applied: u64,
    /// sha256 hex of the engine's snapshot at `last_applied` (read together with it).
    pub state_digest: String,
}

struct Inner {
    id: NodeId,
    holder: Mutex<Holder>,
    announced: watch::Sender<bool>,
    raft: TokioRaft,
    sm: StateMachineStore<TokioConfig>,
    log: LogStore<TokioConfig>,
    disk: Arc<Disk>,
    net: HttpNet,
    peers: BTreeMap<NodeId, String>,
    config: NodeConfig,
    rpc: Arc<RpcState>,
    client_id: u64,
    seq: AtomicU64,
    alive: Arc<AtomicBool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
}

/// A running replica. Clones are handles on the same node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("id", &self.inner.id).finish()
    }
}

/// 64 bits that differ between processes and between calls: a process's incarnation and
/// client id. Uniqueness is all that is needed (they are not secrets): std's per-process
/// random hash keys, mixed with the wall clock and a counter.
// Reads the clock for uniqueness only; nothing replicated depends on the value's time.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn unique_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

impl Node {
    /// Starts node `id` of the group `peers` (every member's `host:port`, this one
    /// included), with its durable state in `data_dir`. A fresh directory joins (or, with
    /// the others, forms) the group; a used one resumes where it stopped: the last snapshot,
    /// then the log after it. Tasks run on the current tokio runtime. Serve [`Self::router`]
    /// (or call [`Self::serve`]) on `peers[id]` so the others can reach it.
    ///
    /// # Errors
    /// See [`OpenError`].
    pub async fn open(
        id: NodeId,
        peers: BTreeMap<NodeId, String>,
        data_dir: &Path,
        config: NodeConfig,
    ) -> Result<Node, OpenError> {
        if !peers.contains_key(&id) {
            return Err(OpenError::Config(format!("peers do not name node {id}")));
        }
        let raft_config = Arc::new(
            config
                .raft()
                .map_err(|e| OpenError::Config(e.to_string()))?,
        );
        let (disk, recovered) = Disk::open::<TokioConfig>(data_dir).map_err(OpenError::Disk)?;
        let fresh_dir = recovered.log.vote.is_none()
            && recovered.log.log.is_empty()
            && recovered.snapshot.is_none();
        let machine = RoomMachine::new(config.engine.clone(), config.limits)
            .map_err(|e| OpenError::Config(e.to_string()))?;
        let log = LogStore::durable(recovered.log, disk.clone());
        let sm = StateMachineStore::durable(machine, recovered.snapshot, disk.clone())
            .map_err(OpenError::Disk)?;
        let net = HttpNet::new(config.cluster_secret.as_deref(), config.max_rpc_bytes);
        let raft = TokioRaft::new(id, raft_config, net.clone(), log.clone(), sm.clone())
            .await
            .map_err(|e| OpenError::Raft(e.to_string()))?;
        if fresh_dir {
            let members: BTreeMap<NodeId, BasicNode> = peers
                .iter()
                .map(|(n, addr)| (*n, BasicNode { addr: addr.clone() }))
                .collect();
            // Every member of a new group initializes it with the same membership (openraft
            // allows that); a member that was initialized already refuses, which is fine.
            match raft.initialize(members).await {
                Ok(())
                | Err(openraft::errors::RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(OpenError::Raft(e.to_string())),
            }
        }
        let rpc = Arc::new(RpcState {
            raft: raft.clone(),
            secret: config.cluster_secret.as_deref().map(Arc::from),
            attempt_timeout: Duration::from_millis(config.attempt_timeout_ms),
        });
        let incarnation = unique_u64();
        let node = Node {
            inner: Arc::new(Inner {
                id,
                holder: Mutex::new(Holder {
                    node: id,
                    incarnation,
                }),
                announced: watch::channel(false).0,
                raft,
                sm,
                log,
                disk,
                net,
                peers,
                config,
                rpc,
                client_id: unique_u64(),
                seq: AtomicU64::new(0),
                alive: Arc::new(AtomicBool::new(true)),
                tasks: Mutex::new(Vec::new()),
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        node.start_tasks();
        Ok(node)
    }

    fn start_tasks(&self) {
        let i = &self.inner;
        let driver = tokio::spawn(run_ticks(
            i.raft.clone(),
            i.sm.clone(),
            WallClock,
            i.alive.clone(),
        ));
        let keeper = tokio::spawn(crate::keeper::run(self.clone()));
        lock(&i.tasks).extend([driver, keeper]);
    }

    /// The routes other nodes call (under `/raft/`), to serve on this node's address or to
    /// merge into the embedding server's router.
    pub fn router(&self) -> axum::Router {
        rpc::router(self.inner.rpc.clone(), self.inner.config.max_rpc_bytes)
    }

    /// Serves [`Self::router`] on `listener` until the node stops.
    pub fn serve(&self, listener: TcpListener) {
        let app = self.router();
        let task = tokio::spawn(async move {
            // The listener fails only when the runtime is going away.
            let _ = axum::serve(listener, app).await;
        });
        lock(&self.inner.tasks).push(task);
    }

    /// This node's id.
    #[must_use]
    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    /// This process as a session holder (its incarnation changes if the group fenced it).
    #[must_use]
    pub fn holder(&self) -> Holder {
        *lock(&self.inner.holder)
    }

    /// Waits until this process has announced itself (`node_up` applied): sessions of its
    /// previous incarnations have lost their link, and it may connect and resume sessions.
    /// Needs a quorum.
    pub async fn ready(&self) {
        let mut rx = self.inner.announced.subscribe();
        // The sender lives as long as the node.
        let _ = rx.wait_for(|a| *a).await;
    }

    /// A fresh request key of this process (unique across processes and restarts).
    #[must_use]
    pub fn next_key(&self) -> RequestKey {
        RequestKey {
            client: self.inner.client_id,
            seq: self.inner.seq.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Proposes `command` through the leader (forwarded if this node follows) and waits
    /// until it is applied, here too. Retries across leader changes until
    /// `write_timeout_ms`; with a request key a retry is applied at most once (a duplicate
    /// answers [`Response::Duplicate`] with the first reply).
    ///
    /// # Errors
    /// See [`ProposeError`].
    pub async fn propose(
        &self,
        request: Option<RequestKey>,
        command: Command,
    ) -> Result<Proposed, ProposeError> {
        let node = self.clone();
        // Run on the node's own runtime: a node whose runtime is gone answers `Stopped`.
        self.inner
            .runtime
            .spawn(async move { node.propose_here(request, command).await })
            .await
            .unwrap_or(Err(ProposeError::Stopped))
    }

    /// Proposes an engine input (see [`Self::propose`]).
    ///
    /// # Errors
    /// See [`ProposeError`].
    pub async fn propose_input(
        &self,
        request: RequestKey,
        input: Input,
    ) -> Result<Proposed, ProposeError> {
        self.propose(Some(request), Command::Input { input }).await
    }

    /// A client logged in through this node: applies `login` and, if it succeeds, records
    /// `token_hash` and that this node holds the session.
    ///
    /// # Errors
    /// See [`ProposeError`].
    pub async fn connect(
        &self,
        request: RequestKey,
        token_hash: TokenHash,
        login: Input,
    ) -> Result<Proposed, ProposeError> {
        let op = SessionOp::Connect {
            holder: self.holder(),
            token_hash,
            grants: None,
            input: login,
        };
        self.propose(Some(request), Command::Session { op }).await
    }

    /// A client reconnected to this node with its token: on a match this node holds the
    /// session and the outputs are its `link_restored` delta.
    ///
    /// # Errors
    /// See [`ProposeError`].
    pub async fn resume(
        &self,
        session: SessionId,
        token_hash: TokenHash,
    ) -> Result<Proposed, ProposeError> {
        let op = SessionOp::Resume {
            holder: self.holder(),
            session,
            token_hash,
            next_token_hash: None,
        };
        self.propose(Some(self.next_key()), Command::Session { op })
            .await
    }

    /// A client's connection to this node dropped: the session loses its link (its grace
    /// starts), unless another node holds it by now.
    ///
    /// # Errors
    /// See [`ProposeError`].
    pub async fn disconnect(&self, session: SessionId) -> Result<Proposed, ProposeError> {
        let op = SessionOp::Disconnect {
            holder: self.holder(),
            session,
        };
        self.propose(Some(self.next_key()), Command::Session { op })
            .await
    }

    /// Every proposal applied on this node from now on, with its deliveries (see
    /// [`StateMachineStore::subscribe`]: lossless, a subscriber that stops reading stalls
    /// this node's state machine).
    #[must_use]
    pub fn subscribe(&self, capacity: usize) -> mpsc::Receiver<Arc<AppliedEntry>> {
        self.inner.sm.subscribe(capacity)
    }

    /// Runs `f` on this node's machine and the index it has applied.
    pub fn read<T>(&self, f: impl FnOnce(&RoomMachine, u64) -> T) -> T {
        self.inner.sm.read_applied(f)
    }

    /// The status `GET /status` reports.
    #[must_use]
    pub fn status(&self) -> Status {
        let (state, leader, voters) = {
            let m = self.inner.raft.metrics();
            let m = m.borrow_watched();
            let voters = m.membership_config.membership().voter_ids().count();
            (m.state, m.current_leader, voters)
        };
        let role = match (voters, state) {
            (1, _) => Role::Single,
            (_, ServerState::Leader) => Role::Leader,
            _ => Role::Follower,
        };
        let (last_applied, state_digest) = self
            .inner
            .sm
            .read_applied(|m, i| (i, engine_digest(m.engine())));
        Status {
            node_id: self.inner.id,
            role,
            leader_id: leader,
            last_applied,
            state_digest,
        }
    }

    /// Whether this node leads its group now.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.inner.raft.is_leader()
    }

    /// The Raft handle (metrics, and what the embedding needs beyond this API).
    #[must_use]
    pub fn raft(&self) -> &TokioRaft {
        &self.inner.raft
    }

    /// Entries in this node's log (bounded by the snapshot policy), and the first index.
    #[must_use]
    pub fn log_span(&self) -> (usize, Option<u64>) {
        (self.inner.log.len(), self.inner.log.first_index())
    }

    /// Snapshots this node installed from a leader since it started.
    #[must_use]
    pub fn snapshots_installed(&self) -> u32 {
        self.inner.sm.snapshots_installed()
    }

    /// Stops cleanly: Raft shuts down, everything written reaches the disk, the file closes.
    pub async fn shutdown(&self) {
        self.stop_tasks();
        let _ = self.inner.raft.shutdown().await;
        let disk = self.inner.disk.clone();
        // Closing joins the writer thread: off the async workers.
        let _ = tokio::task::spawn_blocking(move || disk.close()).await;
    }

    /// Dies as `kill -9` would, as far as the disk can tell: writes not yet on disk are
    /// lost and never acknowledged, the file is released. The node's tasks keep running
    /// until its runtime is dropped (a test drops it right after).
    pub fn crash(&self) {
        self.stop_tasks();
        self.inner.disk.crash();
    }

    fn stop_tasks(&self) {
        self.inner.alive.store(false, Ordering::Relaxed);
        for t in lock(&self.inner.tasks).drain(..) {
            t.abort();
        }
    }

    pub(crate) fn alive(&self) -> bool {
        self.inner.alive.load(Ordering::Relaxed)
    }

    pub(crate) fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    pub(crate) fn sm(&self) -> &StateMachineStore<TokioConfig> {
        &self.inner.sm
    }

    pub(crate) fn set_announced(&self, holder: Holder, announced: bool) {
        let mut current = lock(&self.inner.holder);
        *current = holder;
        self.inner.announced.send_replace(announced);
    }

    pub(crate) fn fresh_incarnation(&self) -> Holder {
        Holder {
            node: self.inner.id,
            incarnation: unique_u64(),
        }
    }

    async fn propose_here(
        &self,
        request: Option<RequestKey>,
        command: Command,
    ) -> Result<Proposed, ProposeError> {
        let i = &self.inner;
        let deadline = Instant::now() + Duration::from_millis(i.config.write_timeout_ms);
        let mut backoff = Duration::from_millis(5);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ProposeError::Timeout);
            }
            let ttl = remaining.min(Duration::from_millis(i.config.attempt_timeout_ms));
            let leader = i.raft.metrics().borrow_watched().current_leader;
            let attempt = match leader.filter(|l| *l != i.id).and_then(|l| i.peers.get(&l)) {
                Some(addr) => self.forward(addr, request, &command, ttl).await,
                None => write_here(&i.raft, request, command.clone(), ttl).await,
            };
            match attempt {
                Attempt::Applied { index, response } => {
                    let mut applied = i.sm.applied_index();
                    let _ =
                        tokio::time::timeout_at(deadline, applied.wait_for(|a| *a >= index)).await;
                    return Ok(Proposed { index, response });
                }
                Attempt::Ambiguous if request.is_none() => return Err(ProposeError::Ambiguous),
                Attempt::Stopped if leader.is_none_or(|l| l == i.id) => {
                    return Err(ProposeError::Stopped)
                }
                // Not appended (no leader, a stale hint) or retryable with the same key.
                _ => {}
            }
            tokio::time::sleep(backoff.min(remaining)).await;
            backoff = (backoff * 2).min(Duration::from_millis(100));
        }
    }

    async fn forward(
        &self,
        addr: &str,
        request: Option<RequestKey>,
        command: &Command,
        ttl: Duration,
    ) -> Attempt {
        let forward = Forward {
            request,
            command: command.clone(),
        };
        match self.inner.net.forward(addr, &forward, ttl).await {
            Ok(attempt) => attempt,
            // Never sent, or refused before anything happened (a status error).
            Err(PostError::Unreachable(_) | PostError::Status(_)) => {
                Attempt::NotLeader { leader: None }
            }
            Err(PostError::Timeout | PostError::Body(_)) => Attempt::Ambiguous,
        }
    }
}
