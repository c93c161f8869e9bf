//! An in-process network for the simulation: every RPC is a direct call on the target's
//! [`Raft`] handle after a seeded virtual delay, and nodes can be isolated (a partition, a
//! crash) and healed.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::VoteOf;
use openraft::type_config::TypeConfigExt;
use openraft::{OptionalSend, RaftNetworkFactory, RaftNetworkV2};

use crate::store::lock;
use crate::types::{NodeId, Raft, Snapshot, TypeConfig};

#[derive(Debug, Default)]
struct RouterInner {
    nodes: BTreeMap<NodeId, Raft>,
    isolated: BTreeSet<NodeId>,
    rng: u64,
    max_delay_us: u64,
}

/// The simulated network of one Raft group.
#[derive(Debug, Clone, Default)]
pub struct Router {
    inner: Arc<Mutex<RouterInner>>,
}

impl Router {
    /// A network whose one-way delays are drawn from `1..=max_delay_us` microseconds by a
    /// generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64, max_delay_us: u64) -> Self {
        let inner = RouterInner {
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            max_delay_us: max_delay_us.max(1),
            ..RouterInner::default()
        };
        Router {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// Connects a node.
    pub fn add(&self, id: NodeId, raft: Raft) {
        lock(&self.inner).nodes.insert(id, raft);
    }

    /// Cuts a node off from every other (messages to and from it are lost).
    pub fn isolate(&self, id: NodeId) {
        lock(&self.inner).isolated.insert(id);
    }

    /// Reconnects an isolated node.
    pub fn heal(&self, id: NodeId) {
        lock(&self.inner).isolated.remove(&id);
    }

    /// Whether the node is cut off.
    #[must_use]
    pub fn is_isolated(&self, id: NodeId) -> bool {
        lock(&self.inner).isolated.contains(&id)
    }

    /// One hop from `from` to `to`: waits the link delay, then returns the target if the two
    /// can talk.
    async fn hop(&self, from: NodeId, to: NodeId) -> Result<Raft, Unreachable<TypeConfig>> {
        let delay = self.next_delay();
        TypeConfig::sleep(delay).await;
        let inner = lock(&self.inner);
        let cut = inner.isolated.contains(&from) || inner.isolated.contains(&to);
        match inner.nodes.get(&to) {
            Some(raft) if !cut => Ok(raft.clone()),
            _ => Err(Unreachable::new(&io::Error::other(format!(
                "{from} cannot reach {to}"
            )))),
        }
    }

    fn next_delay(&self) -> Duration {
        let mut inner = lock(&self.inner);
        // xorshift64*: a few lines, seeded, good enough for jitter.
        let mut x = inner.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        inner.rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        Duration::from_micros(1 + r % inner.max_delay_us)
    }
}

/// Makes connections from one node.
#[derive(Debug, Clone)]
pub struct NetFactory {
    router: Router,
    from: NodeId,
}

impl NetFactory {
    /// Connections from `from` over `router`.
    #[must_use]
    pub fn new(router: Router, from: NodeId) -> Self {
        NetFactory { router, from }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetFactory {
    type Network = Conn;

    async fn new_client(&mut self, target: NodeId, _node: &openraft::EmptyNode) -> Conn {
        Conn {
            router: self.router.clone(),
            from: self.from,
            to: target,
        }
    }
}

/// A connection from one node to another.
#[derive(Debug, Clone)]
pub struct Conn {
    router: Router,
    from: NodeId,
    to: NodeId,
}

impl RaftNetworkV2<TypeConfig> for Conn {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let target = self.router.hop(self.from, self.to).await?;
        let resp = target
            .append_entries(rpc)
            .await
            .map_err(|e| NetworkError::new(&e))?;
        self.router.hop(self.to, self.from).await?;
        Ok(resp)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let target = self.router.hop(self.from, self.to).await?;
        let resp = target.vote(rpc).await.map_err(|e| NetworkError::new(&e))?;
        self.router.hop(self.to, self.from).await?;
        Ok(resp)
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: Snapshot,
        _cancel: impl std::future::Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let target = self.router.hop(self.from, self.to).await?;
        let resp = target
            .install_full_snapshot(vote, snapshot)
            .await
            .map_err(|e| NetworkError::new(&e))?;
        self.router.hop(self.to, self.from).await?;
        Ok(resp)
    }
}
