//! The state-machine adapter, generic over the runtime's type config.
//!
//! This is where determinism is kept: apply hands each proposal to [`RoomMachine::apply`]
//! with the leader's stamped time, and snapshots are the machine's deterministic bytes. The
//! machine itself lives in memory; with a disk ([`SnapshotPersist`]) every snapshot it builds
//! or installs is on disk before openraft may purge the entries it covers, so a restart
//! rebuilds the machine from the snapshot and replays the log after it.

use std::fmt::Debug;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{OptionalSend, RaftSnapshotBuilder};
use tokio::sync::{mpsc, watch};

use crate::machine::RoomMachine;
use crate::persist::{wait, SnapshotPersist};
use crate::proposal::{RequestKey, Response};
use crate::route::{Deliveries, Delivery};
use crate::types::{RoomTypes, TypeConfig};

pub use crate::log::{LogContents, LogStore};

/// Locks, recovering from poisoning: the data is plain values, and a panicking test thread
/// must not turn every later lock into a second panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// One applied proposal as its subscribers see it: what happened, and to whom each output
/// goes (with the node holding that session when the entry was applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedEntry {
    /// Log index.
    pub index: u64,
    /// The leader's stamp.
    pub now_ms: u64,
    /// The proposal's request key, if any.
    pub request: Option<RequestKey>,
    /// What applying it answered.
    pub response: Response,
    /// Where each output addressed to sessions goes ([`AppliedEntry::deliveries`]).
    routes: Deliveries,
}

impl AppliedEntry {
    /// Every output addressed to a session, once per recipient session, with the process
    /// holding that session when the entry was applied: in output order and, within a run,
    /// in member order.
    pub fn deliveries(&self) -> impl Iterator<Item = Delivery> + '_ {
        self.routes.expanded(self.response.outputs())
    }
}

/// An applied entry and the subscribers to send it to (outside the lock).
type Publish = (Arc<AppliedEntry>, Vec<mpsc::Sender<Arc<AppliedEntry>>>);

struct SmInner<C: RoomTypes> {
    machine: RoomMachine,
    last_applied: Option<LogIdOf<C>>,
    membership: StoredMembershipOf<C>,
    snapshot: Option<SnapshotOf<C, Vec<u8>>>,
    snapshots_installed: u32,
    history: Option<Vec<Applied>>,
    subscribers: Vec<mpsc::Sender<Arc<AppliedEntry>>>,
}

/// The state-machine adapter. Clones share the same machine.
pub struct StateMachineStore<C: RoomTypes = TypeConfig> {
    inner: Arc<Mutex<SmInner<C>>>,
    disk: Option<Arc<dyn SnapshotPersist<C>>>,
    applied: Arc<watch::Sender<u64>>,
}

impl<C: RoomTypes> Clone for StateMachineStore<C> {
    fn clone(&self) -> Self {
        StateMachineStore {
            inner: self.inner.clone(),
            disk: self.disk.clone(),
            applied: self.applied.clone(),
        }
    }
}

impl<C: RoomTypes> Debug for StateMachineStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachineStore")
            .field("last_applied", &self.last_applied())
            .field("durable", &self.disk.is_some())
            .finish_non_exhaustive()
    }
}

impl<C: RoomTypes> StateMachineStore<C> {
    /// Wraps a machine. With `record`, every applied entry is kept in [`Self::history`].
    #[must_use]
    pub fn new(machine: RoomMachine, record: bool) -> Self {
        StateMachineStore {
            inner: Arc::new(Mutex::new(SmInner {
                machine,
                last_applied: None,
                membership: StoredMembershipOf::<C>::default(),
                snapshot: None,
                snapshots_installed: 0,
                history: record.then(Vec::new),
                subscribers: Vec::new(),
            })),
            disk: None,
            applied: Arc::new(watch::channel(0).0),
        }
    }

    /// A machine restored from a snapshot read back from `disk` (or `fresh` when there is
    /// none), saving its later snapshots to `disk`.
    ///
    /// # Errors
    /// When the snapshot bytes are not a valid machine.
    pub fn durable(
        fresh: RoomMachine,
        snapshot: Option<(SnapshotMetaOf<C>, Vec<u8>)>,
        disk: Arc<dyn SnapshotPersist<C>>,
    ) -> Result<Self, io::Error> {
        let mut sm = StateMachineStore::new(fresh, false);
        if let Some((meta, data)) = snapshot {
            let machine = RoomMachine::from_bytes(&data).map_err(io::Error::other)?;
            let mut inner = lock(&sm.inner);
            inner.machine = machine;
            inner.last_applied.clone_from(&meta.last_log_id);
            inner.membership = meta.last_membership.clone();
            sm.applied
                .send_replace(meta.last_log_id.as_ref().map_or(0, |l| l.index));
            inner.snapshot = Some(SnapshotOf::<C, Vec<u8>> {
                meta,
                snapshot: data,
            });
        }
        sm.disk = Some(disk);
        Ok(sm)
    }

    /// Runs `f` on the machine (read-only).
    pub fn read<T>(&self, f: impl FnOnce(&RoomMachine) -> T) -> T {
        f(&lock(&self.inner).machine)
    }

    /// Runs `f` on the machine and the index of the last entry applied to it, read together.
    pub fn read_applied<T>(&self, f: impl FnOnce(&RoomMachine, u64) -> T) -> T {
        let inner = lock(&self.inner);
        f(
            &inner.machine,
            inner.last_applied.as_ref().map_or(0, |l| l.index),
        )
    }

    /// The machine's snapshot bytes now.
    #[must_use]
    pub fn bytes(&self) -> Vec<u8> {
        self.read(RoomMachine::to_bytes)
    }

    /// The index of the last applied entry (0 before any).
    #[must_use]
    pub fn last_applied(&self) -> u64 {
        lock(&self.inner)
            .last_applied
            .as_ref()
            .map_or(0, |l| l.index)
    }

    /// A watch of the last applied index.
    #[must_use]
    pub fn applied_index(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
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

    /// Every proposal applied from now on, in log order, lossless: apply waits while the
    /// channel (`capacity` entries) is full, so a subscriber that stops reading stalls this
    /// replica's state machine. Dropping the receiver unsubscribes.
    #[must_use]
    pub fn subscribe(&self, capacity: usize) -> mpsc::Receiver<Arc<AppliedEntry>> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        lock(&self.inner).subscribers.push(tx);
        rx
    }

    fn build(&self) -> SnapshotOf<C, Vec<u8>> {
        let inner = lock(&self.inner);
        SnapshotOf::<C, Vec<u8>> {
            meta: SnapshotMetaOf::<C> {
                last_log_id: inner.last_applied.clone(),
                last_membership: inner.membership.clone(),
            },
            snapshot: inner.machine.to_bytes(),
        }
    }

    /// Applies one entry; returns the response, and what subscribers get (if any).
    fn apply_one(&self, entry: &C::Entry) -> (Response, Option<Publish>) {
        let mut inner = lock(&self.inner);
        let log_id = entry.log_id();
        let index = log_id.index;
        inner.last_applied = Some(log_id.clone());
        let proposal = C::proposal(entry);
        let (now_ms, response) = match proposal {
            Some(p) => (p.now_ms, inner.machine.apply(p)),
            None => {
                if let Some(m) = entry.get_membership() {
                    inner.membership = StoredMembershipOf::<C>::new(Some(log_id), m);
                }
                (0, Response::Empty)
            }
        };
        if let Some(h) = inner.history.as_mut() {
            h.push(Applied {
                index,
                now_ms,
                response: response.clone(),
            });
        }
        self.applied.send_replace(index);
        inner.subscribers.retain(|s| !s.is_closed());
        let published = match proposal {
            Some(p) if !inner.subscribers.is_empty() => {
                let applied = AppliedEntry {
                    index,
                    now_ms,
                    request: p.request,
                    routes: Deliveries::new(&inner.machine, response.outputs()),
                    response: response.clone(),
                };
                Some((Arc::new(applied), inner.subscribers.clone()))
            }
            _ => None,
        };
        (response, published)
    }
}

impl<C: RoomTypes> RaftSnapshotBuilder<C> for StateMachineStore<C> {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<SnapshotOf<C, Vec<u8>>, io::Error> {
        let snapshot = self.build();
        if let Some(d) = &self.disk {
            wait(d.save_snapshot(&snapshot.meta, &snapshot.snapshot)).await?;
        }
        lock(&self.inner).snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }
}

impl<C: RoomTypes> RaftStateMachine<C> for StateMachineStore<C> {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = StateMachineStore<C>;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogIdOf<C>>, StoredMembershipOf<C>), io::Error> {
        let inner = lock(&self.inner);
        Ok((inner.last_applied.clone(), inner.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<C>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let (response, published) = self.apply_one(&entry);
            // Subscribers first: when a proposer hears back, its entry is already queued
            // for delivery on this node.
            if let Some((applied, subscribers)) = published {
                for s in subscribers {
                    // A subscriber that went away just misses it.
                    let _ = s.send(applied.clone()).await;
                }
            }
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
        meta: &SnapshotMetaOf<C>,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        let machine = RoomMachine::from_bytes(&snapshot).map_err(io::Error::other)?;
        if let Some(d) = &self.disk {
            wait(d.save_snapshot(meta, &snapshot)).await?;
        }
        let mut inner = lock(&self.inner);
        inner.machine = machine;
        inner.last_applied.clone_from(&meta.last_log_id);
        inner.membership = meta.last_membership.clone();
        inner.snapshot = Some(SnapshotOf::<C, Vec<u8>> {
            meta: meta.clone(),
            snapshot,
        });
        inner.snapshots_installed += 1;
        self.applied
            .send_replace(meta.last_log_id.as_ref().map_or(0, |l| l.index));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<SnapshotOf<C, Vec<u8>>>, io::Error> {
        Ok(lock(&self.inner).snapshot.clone())
    }
}
