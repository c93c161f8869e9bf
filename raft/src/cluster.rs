//! A simulated deployment: Raft groups of roomcore replicas on the in-process network, a
//! client that retries with the same request key, failure injection, and the coordinator
//! of cross-shard switches. Everything runs inside `SimRuntime::block_on`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::type_config::TypeConfigExt;
use roomcore::RoomId;

use crate::driver::{run_ticks, stamp, Clock};
use crate::machine::{Limits, OutboxEntry, RoomMachine};
use crate::network::{NetFactory, Router};
use crate::proposal::{Command, EnterResult, RequestKey, Response, SwitchPlan};
use crate::shard::{ShardId, ShardMap};
use crate::store::{LogStore, StateMachineStore};
use crate::types::{NodeId, Raft, TypeConfig};

/// The Raft timing used by the tests and figures: heartbeat 50 ms, election timeout
/// 150-300 ms, a snapshot every `snapshot_every` entries, compacted logs.
#[must_use]
pub fn raft_config(snapshot_every: u64) -> openraft::Config {
    openraft::Config {
        cluster_name: "roomcore".into(),
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(snapshot_every),
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        ..openraft::Config::default()
    }
}

/// How to build a group.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// The shard this group serves.
    pub shard: ShardId,
    /// Node ids (unique across groups).
    pub nodes: Vec<NodeId>,
    /// Raft timing and snapshot policy.
    pub raft: openraft::Config,
    /// The engine config every replica starts with.
    pub engine: roomcore::Config,
    /// The machine's table bounds.
    pub limits: Limits,
    /// Keep every applied entry per replica (tests, traces).
    pub record: bool,
    /// Seeds the network's delays.
    pub seed: u64,
    /// Largest one-way network delay, in microseconds.
    pub max_delay_us: u64,
    /// Per-node clock skew, in ms (absent: 0).
    pub skew_ms: BTreeMap<NodeId, i64>,
}

impl GroupSpec {
    /// Three nodes `first..first+3`, the test timing, default engine.
    #[must_use]
    pub fn three(shard: ShardId, first: NodeId, seed: u64) -> Self {
        GroupSpec {
            shard,
            nodes: vec![first, first + 1, first + 2],
            raft: raft_config(5_000),
            engine: roomcore::Config::default(),
            limits: Limits::default(),
            record: true,
            seed,
            max_delay_us: 2_000,
            skew_ms: BTreeMap::new(),
        }
    }
}

/// One replica.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its id.
    pub id: NodeId,
    /// The Raft handle.
    pub raft: Raft,
    /// Its state machine.
    pub sm: StateMachineStore,
    /// Its log.
    pub log: LogStore,
    /// Its clock.
    pub clock: Clock,
    alive: Arc<AtomicBool>,
}

/// Why a write gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// No leader accepted it within the budget.
    NoLeader,
}

/// A Raft group of roomcore replicas, and a client of it.
#[derive(Debug)]
pub struct Group {
    /// The shard it serves.
    pub shard: ShardId,
    router: Router,
    nodes: BTreeMap<NodeId, Node>,
    dead: BTreeSet<NodeId>,
    hint: Option<NodeId>,
    /// How long one attempt may take before the client retries (same request key).
    pub attempt_timeout: Duration,
    /// How long a write may keep retrying.
    pub write_budget: Duration,
}

impl Group {
    /// Starts the nodes, initializes the group and waits for a leader.
    ///
    /// # Panics
    /// If openraft refuses the config or cannot start (a bug in this harness).
    pub async fn start(spec: GroupSpec) -> Group {
        let router = Router::new(spec.seed, spec.max_delay_us);
        // The harness panics on setup failures (documented under `# Panics`): a spec with an
        // invalid config, or a Raft that cannot start on in-memory storage, is a bug in the
        // caller's test, not a condition to recover from.
        let config = Arc::new(spec.raft.validate().expect("valid raft config"));
        let mut nodes = BTreeMap::new();
        for &id in &spec.nodes {
            let machine =
                RoomMachine::new(spec.engine.clone(), spec.limits).expect("valid engine config");
            let sm = StateMachineStore::new(machine, spec.record);
            let log = LogStore::default();
            let net = NetFactory::new(router.clone(), id);
            let raft = Raft::new(id, config.clone(), net, log.clone(), sm.clone())
                .await
                .expect("raft starts");
            router.add(id, raft.clone());
            let clock = Clock {
                skew_ms: spec.skew_ms.get(&id).copied().unwrap_or(0),
            };
            let alive = Arc::new(AtomicBool::new(true));
            let _driver =
                TypeConfig::spawn(run_ticks(raft.clone(), sm.clone(), clock, alive.clone()));
            nodes.insert(
                id,
                Node {
                    id,
                    raft,
                    sm,
                    log,
                    clock,
                    alive,
                },
            );
        }
        let members: BTreeSet<NodeId> = spec.nodes.iter().copied().collect();
        let first = &nodes[&spec.nodes[0]];
        first
            .raft
            .initialize(members)
            .await
            .expect("initializes once");
        let mut group = Group {
            shard: spec.shard,
            router,
            nodes,
            dead: BTreeSet::new(),
            hint: None,
            attempt_timeout: Duration::from_millis(1_000),
            write_budget: Duration::from_secs(30),
        };
        group.wait_leader(Duration::from_secs(10)).await;
        group
    }

    /// The nodes, alive or not.
    #[must_use]
    pub fn nodes(&self) -> Vec<&Node> {
        self.nodes.values().collect()
    }

    /// A node by id.
    #[must_use]
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id)
    }

    /// Nodes that are alive and connected.
    #[must_use]
    pub fn live(&self) -> Vec<&Node> {
        self.nodes
            .values()
            .filter(|n| !self.dead.contains(&n.id) && !self.router.is_isolated(n.id))
            .collect()
    }

    /// A connected node that believes it leads, if any.
    #[must_use]
    pub fn leader(&self) -> Option<NodeId> {
        self.live()
            .into_iter()
            .find(|n| n.raft.is_leader())
            .map(|n| n.id)
    }

    /// Waits (virtual time) until a connected node leads; returns it.
    pub async fn wait_leader(&mut self, budget: Duration) -> Option<NodeId> {
        let start = Clock::default().now_ms();
        let budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
        loop {
            if let Some(l) = self.leader() {
                self.hint = Some(l);
                return Some(l);
            }
            if Clock::default().now_ms() - start > budget_ms {
                return None;
            }
            TypeConfig::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Proposes `command` through the leader, retrying (with the same request key) across
    /// timeouts and leader changes until it is applied or the budget runs out.
    ///
    /// # Errors
    /// [`WriteError::NoLeader`] when the budget runs out.
    pub async fn write(
        &mut self,
        command: Command,
        request: Option<RequestKey>,
    ) -> Result<Response, WriteError> {
        let start = Clock::default().now_ms();
        let budget_ms = u64::try_from(self.write_budget.as_millis()).unwrap_or(u64::MAX);
        let mut rotate = 0usize;
        while Clock::default().now_ms() - start <= budget_ms {
            let live: Vec<NodeId> = self.live().iter().map(|n| n.id).collect();
            let target = match self.hint.filter(|h| live.contains(h)) {
                Some(h) => h,
                None if live.is_empty() => return Err(WriteError::NoLeader),
                None => {
                    rotate += 1;
                    live[rotate % live.len()]
                }
            };
            let node = &self.nodes[&target];
            let proposal = stamp(node.clock, request, command.clone());
            match TypeConfig::timeout(self.attempt_timeout, node.raft.client_write(proposal)).await
            {
                Ok(Ok(resp)) => return Ok(resp.data),
                Ok(Err(e)) => {
                    let next = e.forward_to_leader().and_then(|f| f.leader_id);
                    self.hint = next.filter(|n| *n != target);
                }
                Err(_elapsed) => self.hint = None,
            }
            TypeConfig::sleep(Duration::from_millis(10)).await;
        }
        Err(WriteError::NoLeader)
    }

    /// Crashes a node for good: cut off, its driver stopped, its Raft shut down.
    pub async fn kill(&mut self, id: NodeId) {
        if let Some(n) = self.nodes.get(&id) {
            n.alive.store(false, Ordering::Relaxed);
            self.router.isolate(id);
            self.dead.insert(id);
            let _ = n.raft.shutdown().await;
        }
        if self.hint == Some(id) {
            self.hint = None;
        }
    }

    /// Cuts a node off (a partition of one against the rest).
    pub fn isolate(&mut self, id: NodeId) {
        self.router.isolate(id);
        if self.hint == Some(id) {
            self.hint = None;
        }
    }

    /// Reconnects a node.
    pub fn heal(&mut self, id: NodeId) {
        self.router.heal(id);
    }

    /// Waits until every connected node has applied the same last entry; returns whether
    /// that happened within the budget.
    pub async fn settle(&self, budget: Duration) -> bool {
        let start = Clock::default().now_ms();
        let budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
        loop {
            let applied: BTreeSet<u64> = self.live().iter().map(|n| n.sm.last_applied()).collect();
            let committed = self.leader().and_then(|l| {
                self.nodes[&l]
                    .raft
                    .metrics()
                    .borrow_watched()
                    .local_committed
                    .map(|c| c.index)
            });
            if applied.len() == 1 && committed.is_some_and(|c| applied.contains(&c)) {
                return true;
            }
            if Clock::default().now_ms() - start > budget_ms {
                return false;
            }
            TypeConfig::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The leader's machine, read-only (after a write, it has applied that write).
    pub fn read_leader<T>(&self, f: impl FnOnce(&RoomMachine) -> T) -> Option<T> {
        let l = self.leader()?;
        Some(self.nodes[&l].sm.read(f))
    }
}

/// Several groups and a versioned shard map: the sharded deployment.
#[derive(Debug)]
pub struct Cluster {
    /// The groups, by shard id.
    pub groups: BTreeMap<ShardId, Group>,
    /// The map the client routes by.
    pub map: ShardMap,
}

/// What a switch ended with, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// Refused before anything happened (the error reply is in the response), or done by
    /// one shard's engine because both rooms live there.
    Local(Response),
    /// The saga ran: step 2's result.
    Saga(EnterResult),
}

impl Cluster {
    /// Starts the groups and installs `map` in each.
    ///
    /// # Panics
    /// If a group cannot take the map (a bug in this harness).
    pub async fn start(specs: Vec<GroupSpec>, map: ShardMap) -> Cluster {
        let mut groups = BTreeMap::new();
        for spec in specs {
            let shard = spec.shard;
            let mut g = Group::start(spec).await;
            let cmd = Command::SetShardMap {
                shard,
                map: map.clone(),
            };
            // A fresh group has a leader (start waited for one) and takes its first map.
            g.write(cmd, None).await.expect("map installed");
            groups.insert(shard, g);
        }
        Cluster { groups, map }
    }

    /// The group that owns `room` under the client's map.
    ///
    /// # Panics
    /// If the map names a shard that was not started.
    pub fn group_of(&mut self, room: &RoomId) -> &mut Group {
        let shard = self.map.shard_of(room);
        self.groups
            .get_mut(&shard)
            .expect("the map names only started shards")
    }

    /// Switch step 1 on the source shard.
    ///
    /// # Errors
    /// When the source group has no leader within its budget.
    pub async fn switch_begin(
        &mut self,
        switch: RequestKey,
        plan: SwitchPlan,
    ) -> Result<Response, WriteError> {
        let cmd = Command::SwitchBegin {
            switch,
            plan: plan.clone(),
        };
        self.group_of(&plan.from).write(cmd, Some(switch)).await
    }

    /// Switch step 2 on the target shard, for one outbox entry.
    ///
    /// # Errors
    /// When the target group has no leader within its budget.
    pub async fn switch_enter(&mut self, entry: &OutboxEntry) -> Result<EnterResult, WriteError> {
        let cmd = Command::SwitchEnter {
            switch: entry.switch,
            plan: entry.plan.clone(),
            user: entry.user,
        };
        match self.group_of(&entry.plan.to.id).write(cmd, None).await? {
            Response::Entered { result, .. } => Ok(result),
            other => Ok(EnterResult::Failed(roomcore::ErrorBody {
                code: roomcore::ErrorCode::RoomNotExist,
                message: format!("target shard refused: {other:?}"),
            })),
        }
    }

    /// Switch step 3 on the source shard.
    ///
    /// # Errors
    /// When the source group has no leader within its budget.
    pub async fn switch_finish(
        &mut self,
        entry: &OutboxEntry,
        result: EnterResult,
    ) -> Result<Response, WriteError> {
        let cmd = Command::SwitchFinish {
            switch: entry.switch,
            session: entry.plan.session,
            result,
        };
        self.group_of(&entry.plan.from).write(cmd, None).await
    }

    /// Drives every switch pending in `shard`'s outbox to its end (steps 2 and 3). This is
    /// both the normal path and crash recovery: whoever leads the source shard, after any
    /// failure, can run it, and every step is idempotent.
    ///
    /// # Errors
    /// When a group has no leader within its budget.
    pub async fn resume(&mut self, shard: ShardId) -> Result<usize, WriteError> {
        let group = self.groups.get_mut(&shard).ok_or(WriteError::NoLeader)?;
        // A write first: when it returns, the leader has applied everything before it.
        group.write(Command::Tick, None).await?;
        let pending = group.read_leader(RoomMachine::outbox).unwrap_or_default();
        for entry in &pending {
            let result = self.switch_enter(entry).await?;
            self.switch_finish(entry, result).await?;
        }
        Ok(pending.len())
    }

    /// A whole switch: step 1, then steps 2 and 3 for it.
    ///
    /// # Errors
    /// When a group has no leader within its budget.
    pub async fn switch_room(
        &mut self,
        switch: RequestKey,
        plan: SwitchPlan,
    ) -> Result<SwitchOutcome, WriteError> {
        let begun = self.switch_begin(switch, plan.clone()).await?;
        let refused_or_local = begun.outputs().iter().any(|s| {
            matches!(&s.output, roomcore::Output::Reply { session, request, .. } if *session == plan.session && *request == plan.request)
        });
        if refused_or_local
            || !matches!(
                begun,
                Response::Applied { .. } | Response::Duplicate { reply: None }
            )
        {
            return Ok(SwitchOutcome::Local(begun));
        }
        let source = self.map.shard_of(&plan.from);
        let pending = self.groups[&source]
            .read_leader(|m| m.outbox())
            .unwrap_or_default();
        let Some(entry) = pending.into_iter().find(|e| e.switch == switch) else {
            // Already finished by someone else's resume.
            return Ok(SwitchOutcome::Local(begun));
        };
        let result = self.switch_enter(&entry).await?;
        self.switch_finish(&entry, result.clone()).await?;
        Ok(SwitchOutcome::Saga(result))
    }
}
