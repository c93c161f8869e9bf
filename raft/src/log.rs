//! The Raft log and vote, held in memory and served from there, optionally written through
//! to a disk ([`LogPersist`]). Memory is bounded by the snapshot policy: entries covered by a
//! snapshot are purged from memory and disk alike.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::type_config::alias::{LogIdOf, VoteOf};
use openraft::{LogState, OptionalSend, RaftLogReader};

use crate::persist::{wait, LogPersist};
use crate::store::lock;
use crate::types::{RoomTypes, TypeConfig};

/// What a log holds, in memory (also what a disk recovers at start).
#[derive(Debug)]
pub struct LogContents<C: RoomTypes> {
    /// The last vote saved.
    pub vote: Option<VoteOf<C>>,
    /// The last committed log id saved.
    pub committed: Option<LogIdOf<C>>,
    /// Entries by index.
    pub log: BTreeMap<u64, C::Entry>,
    /// The last purged log id.
    pub last_purged: Option<LogIdOf<C>>,
}

impl<C: RoomTypes> Default for LogContents<C> {
    fn default() -> Self {
        LogContents {
            vote: None,
            committed: None,
            log: BTreeMap::new(),
            last_purged: None,
        }
    }
}

/// The Raft log and vote. Clones share the same log (the reader is a clone).
pub struct LogStore<C: RoomTypes = TypeConfig> {
    inner: Arc<Mutex<LogContents<C>>>,
    disk: Option<Arc<dyn LogPersist<C>>>,
}

impl<C: RoomTypes> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        LogStore {
            inner: self.inner.clone(),
            disk: self.disk.clone(),
        }
    }
}

impl<C: RoomTypes> Debug for LogStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("LogStore")
            .field("entries", &inner.log.len())
            .field("durable", &self.disk.is_some())
            .finish()
    }
}

impl<C: RoomTypes> Default for LogStore<C> {
    fn default() -> Self {
        LogStore {
            inner: Arc::default(),
            disk: None,
        }
    }
}

impl<C: RoomTypes> LogStore<C> {
    /// A log that starts from `state` (recovered from `disk`) and writes through to `disk`.
    #[must_use]
    pub fn durable(state: LogContents<C>, disk: Arc<dyn LogPersist<C>>) -> Self {
        LogStore {
            inner: Arc::new(Mutex::new(state)),
            disk: Some(disk),
        }
    }

    /// The index of the first entry still in the log (after compaction), if any.
    #[must_use]
    pub fn first_index(&self) -> Option<u64> {
        lock(&self.inner).log.keys().next().copied()
    }

    /// How many entries the log holds.
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.inner).log.len()
    }

    /// Whether the log holds no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C: RoomTypes> RaftLogReader<C> for LogStore<C> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, io::Error> {
        let inner = lock(&self.inner);
        Ok(inner.log.range(range).map(|(_, e)| e.clone()).collect())
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<C>>, io::Error> {
        Ok(lock(&self.inner).vote.clone())
    }
}

impl<C: RoomTypes> RaftLogStorage<C> for LogStore<C> {
    type LogReader = LogStore<C>;

    async fn get_log_state(&mut self) -> Result<LogState<C>, io::Error> {
        let inner = lock(&self.inner);
        let last = inner.log.values().next_back().map(RaftEntry::log_id);
        Ok(LogState {
            last_purged_log_id: inner.last_purged.clone(),
            last_log_id: last.or_else(|| inner.last_purged.clone()),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> Result<(), io::Error> {
        lock(&self.inner).vote = Some(vote.clone());
        match &self.disk {
            Some(d) => wait(d.save_vote(vote)).await,
            None => Ok(()),
        }
    }

    async fn save_committed(&mut self, committed: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        lock(&self.inner).committed = committed.clone();
        match &self.disk {
            Some(d) => wait(d.save_committed(committed.as_ref())).await,
            None => Ok(()),
        }
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<C>>, io::Error> {
        Ok(lock(&self.inner).committed.clone())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<C::Entry> = entries.into_iter().collect();
        {
            let mut inner = lock(&self.inner);
            for entry in &entries {
                inner.log.insert(entry.index(), entry.clone());
            }
        }
        // Readable from memory now; durable when the disk calls back.
        match &self.disk {
            Some(d) => d.append(&entries, callback),
            None => callback.io_completed(Ok(())),
        }
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        {
            let mut inner = lock(&self.inner);
            let keep_through = last_log_id.as_ref().map(|l| l.index);
            inner
                .log
                .retain(|&i, _| keep_through.is_some_and(|k| i <= k));
        }
        match &self.disk {
            Some(d) => wait(d.truncate_after(last_log_id.as_ref())).await,
            None => Ok(()),
        }
    }

    async fn purge(&mut self, log_id: LogIdOf<C>) -> Result<(), io::Error> {
        {
            let mut inner = lock(&self.inner);
            let upto = log_id.index;
            inner.log.retain(|&i, _| i > upto);
            inner.last_purged = Some(log_id.clone());
        }
        match &self.disk {
            Some(d) => wait(d.purge(&log_id)).await,
            None => Ok(()),
        }
    }
}
