//! In-memory log storage and the state-machine adapter.
//!
//! Memory stands in for the disk: a process that loses it is a node that lost its disk, and
//! comes back (if at all) as a new node id. The adapter is where determinism is kept: apply
//! hands each proposal to [`RoomMachine::apply`] with the leader's stamped time, and
//! snapshots are the machine's deterministic bytes.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, IOFlushed, RaftLogStorage, RaftStateMachine};
use openraft::type_config::alias::{SnapshotMetaOf, StoredMembershipOf, VoteOf};
use openraft::{EntryPayload, LogState, OptionalSend, RaftLogReader, RaftSnapshotBuilder};

use crate::machine::RoomMachine;
use crate::proposal::Response;
use crate::types::{Entry, LogId, Snapshot, TypeConfig};

/// Locks, recovering from poisoning: the data is plain values, and a panicking test thread
/// must not turn every later lock into a second panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct LogInner {
    vote: Option<VoteOf<TypeConfig>>,
    committed: Option<LogId>,
    log: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
}

/// The Raft log and vote, in memory. Clones share the same log (the reader is a clone).
#[derive(Debug, Clone, Default)]
pub struct LogStore {
    inner: Arc<Mutex<LogInner>>,
}

impl LogStore {
    /// The index of the first entry still in the log (after compaction), if any.
    #[must_use]
    pub fn first_index(&self) -> Option<u64> {
        lock(&self.inner).log.keys().next().copied()
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let inner = lock(&self.inner);
        Ok(inner.log.range(range).map(|(_, e)| e.clone()).collect())
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<TypeConfig>>, io::Error> {
        Ok(lock(&self.inner).vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let inner = lock(&self.inner);
        let last = inner.log.values().next_back().map(RaftEntry::log_id);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last.or(inner.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<TypeConfig>) -> Result<(), io::Error> {
        lock(&self.inner).vote = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        lock(&self.inner).committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(lock(&self.inner).committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        {
            let mut inner = lock(&self.inner);
            for entry in entries {
                inner.log.insert(entry.index(), entry);
            }
        }
        callback.io_completed(Ok(()));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let mut inner = lock(&self.inner);
        let keep_through = last_log_id.map(|l| l.index);
        inner
            .log
            .retain(|&i, _| keep_through.is_some_and(|k| i <= k));
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let mut inner = lock(&self.inner);
        inner.log.retain(|&i, _| i > log_id.index);
        inner.last_purged = Some(log_id);
        Ok(())
    }
}

/// One applied entry, as a replica saw it (kept for tests and traces, not replicated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Log index.
    pub index: u64,
    /// The leader's stamp.
    pub now_ms: u64,
    /// What applying it answered.
    pub response: Response,
}

#[derive(Debug)]
struct SmInner {
    machine: RoomMachine,
    last_applied: Option<LogId>,
    membership: StoredMembershipOf<TypeConfig>,
    snapshot: Option<Snapshot>,
    snapshots_installed: u32,
    history: Option<Vec<Applied>>,
}

/// The state-machine adapter. Clones share the same machine.
#[derive(Debug, Clone)]
pub struct StateMachineStore {
    inner: Arc<Mutex<SmInner>>,
}

impl StateMachineStore {
    /// Wraps a machine. With `record`, every applied entry is kept in [`Self::history`].
    #[must_use]
    pub fn new(machine: RoomMachine, record: bool) -> Self {
        StateMachineStore {
            inner: Arc::new(Mutex::new(SmInner {
                machine,
                last_applied: None,
                membership: StoredMembershipOf::<TypeConfig>::default(),
                snapshot: None,
                snapshots_installed: 0,
                history: record.then(Vec::new),
            })),
        }
    }

    /// Runs `f` on the machine (read-only).
    pub fn read<T>(&self, f: impl FnOnce(&RoomMachine) -> T) -> T {
        f(&lock(&self.inner).machine)
    }

    /// The machine's snapshot bytes now.
    #[must_use]
    pub fn bytes(&self) -> Vec<u8> {
        self.read(RoomMachine::to_bytes)
    }

    /// The index of the last applied entry (0 before any).
    #[must_use]
    pub fn last_applied(&self) -> u64 {
        lock(&self.inner).last_applied.map_or(0, |l| l.index)
    }

    /// How many snapshots this replica installed from a leader.
    #[must_use]
    pub fn snapshots_installed(&self) -> u32 {
        lock(&self.inner).snapshots_installed
    }

    /// The entries applied here, if recording (a snapshot install is not an entry).
    #[must_use]
    pub fn history(&self) -> Vec<Applied> {
        lock(&self.inner).history.clone().unwrap_or_default()
    }

    fn build(&self) -> Snapshot {
        let mut inner = lock(&self.inner);
        let snapshot = Snapshot {
            meta: SnapshotMetaOf::<TypeConfig> {
                last_log_id: inner.last_applied,
                last_membership: inner.membership.clone(),
            },
            snapshot: inner.machine.to_bytes(),
        };
        inner.snapshot = Some(snapshot.clone());
        snapshot
    }

    fn apply_one(&self, entry: &Entry) -> Response {
        let mut inner = lock(&self.inner);
        inner.last_applied = Some(entry.log_id());
        let (now_ms, response) = match &entry.payload {
            EntryPayload::Blank => (0, Response::Empty),
            EntryPayload::Normal(p) => (p.now_ms, inner.machine.apply(p)),
            EntryPayload::Membership(m) => {
                inner.membership =
                    StoredMembershipOf::<TypeConfig>::new(Some(entry.log_id()), m.clone());
                (0, Response::Empty)
            }
        };
        if let Some(h) = inner.history.as_mut() {
            h.push(Applied {
                index: entry.index(),
                now_ms,
                response: response.clone(),
            });
        }
        response
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        Ok(self.build())
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembershipOf<TypeConfig>), io::Error> {
        let inner = lock(&self.inner);
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let response = self.apply_one(&entry);
            if let Some(r) = responder {
                r.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        let machine = RoomMachine::from_bytes(&snapshot).map_err(io::Error::other)?;
        let mut inner = lock(&self.inner);
        inner.machine = machine;
        inner.last_applied = meta.last_log_id;
        inner.membership = meta.last_membership.clone();
        inner.snapshot = Some(Snapshot {
            meta: meta.clone(),
            snapshot,
        });
        inner.snapshots_installed += 1;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(lock(&self.inner).snapshot.clone())
    }
}
