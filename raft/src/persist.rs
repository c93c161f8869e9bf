//! Where the Raft state goes to survive a restart: the seam between the in-memory stores
//! (which serve every read) and a disk (which makes writes durable). The simulation runs
//! without one; [`crate::disk::Disk`] is the durable implementation.

use std::io;

use openraft::storage::IOFlushed;
use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, VoteOf};
use openraft::RaftTypeConfig;
use tokio::sync::oneshot;

/// Completes when a write is on disk (or failed).
pub type Durable = oneshot::Receiver<io::Result<()>>;

/// Durable log writes, in the order they are called (a later write is never on disk before
/// an earlier one). Each returns at once; the caller awaits the [`Durable`] (or the
/// callback) when it needs the write on disk.
pub trait LogPersist<C: RaftTypeConfig>: Send + Sync + 'static {
    /// Appends entries; `flushed` is called once they are on disk.
    fn append(&self, entries: &[C::Entry], flushed: IOFlushed<C>);
    /// Removes every entry after `last` (all of them when `None`).
    fn truncate_after(&self, last: Option<&LogIdOf<C>>) -> Durable;
    /// Removes every entry up to `upto`, inclusive, and remembers it as the last purged.
    fn purge(&self, upto: &LogIdOf<C>) -> Durable;
    /// Saves the vote.
    fn save_vote(&self, vote: &VoteOf<C>) -> Durable;
    /// Saves the committed log id.
    fn save_committed(&self, committed: Option<&LogIdOf<C>>) -> Durable;
}

/// Durable snapshots: the state machine's latest snapshot replaces the previous one.
pub trait SnapshotPersist<C: RaftTypeConfig>: Send + Sync + 'static {
    /// Saves `data` (the machine's bytes) with its metadata.
    fn save_snapshot(&self, meta: &SnapshotMetaOf<C>, data: &[u8]) -> Durable;
}

/// Awaits a durable write; a writer that went away (the node is being killed) is an error.
pub async fn wait(durable: Durable) -> io::Result<()> {
    durable
        .await
        .unwrap_or_else(|_| Err(io::Error::other("the disk writer stopped")))
}
