//! The durable store: the Raft log, the vote, the committed log id and the latest snapshot,
//! in one redb file (`DIR/raft.redb`).
//!
//! Reads never touch the disk after start: the stores serve them from memory. Writes go,
//! in the order they were made, to one writer thread that owns the database. It takes every
//! write waiting in its queue, commits them as one transaction with an fsync (group commit:
//! concurrent proposals share a flush), and only then tells each caller its write is durable.
//! openraft acknowledges an entry, a vote or a commit only after that.
//!
//! Layout: table `log` maps an index to the entry's JSON; table `meta` holds the vote, the
//! committed and last purged log ids, the snapshot's metadata and bytes, and a format number.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use openraft::entry::RaftEntry;
use openraft::storage::IOFlushed;
use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, VoteOf};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::log::LogContents;
use crate::persist::{Durable, LogPersist, SnapshotPersist};
use crate::store::lock;
use crate::types::RoomTypes;

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const FORMAT: &str = "format";
const FORMAT_VERSION: &[u8] = b"1";
const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const PURGED: &str = "last_purged";
const SNAPSHOT_META: &str = "snapshot_meta";
const SNAPSHOT_DATA: &str = "snapshot_data";

/// Writes taken into one transaction at most (bounds a transaction's size).
const MAX_BATCH: usize = 1_024;

/// The file name inside the data directory.
pub const FILE_NAME: &str = "raft.redb";

/// What a data directory held at start.
#[derive(Debug)]
pub struct Recovered<C: RoomTypes> {
    /// The log, vote and committed log id.
    pub log: LogContents<C>,
    /// The latest snapshot, with its metadata.
    pub snapshot: Option<(SnapshotMetaOf<C>, Vec<u8>)>,
}

type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

enum Write {
    Append(Vec<(u64, Vec<u8>)>),
    TruncateAfter(Option<u64>),
    Purge { upto: u64, log_id: Vec<u8> },
    Meta(&'static str, Option<Vec<u8>>),
    Snapshot { meta: Vec<u8>, data: Vec<u8> },
}

enum Op {
    Write(Write, Done),
    /// Wakes the writer so that it notices a crash.
    Wake,
    /// Writes what came before, then ends the writer.
    Stop,
}

/// A data directory, open: the handle the stores write through.
pub struct Disk {
    tx: mpsc::Sender<Op>,
    crashed: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk").field("path", &self.path).finish()
    }
}

impl Disk {
    /// Opens (or creates) the store in `dir` and reads back what it holds.
    ///
    /// # Errors
    /// When the directory or the file cannot be created or read, another process (or another
    /// open handle) has it open, or its contents do not parse.
    pub fn open<C>(dir: &Path) -> io::Result<(Arc<Disk>, Recovered<C>)>
    where
        C: RoomTypes,
        C::Entry: DeserializeOwned,
        VoteOf<C>: DeserializeOwned,
        LogIdOf<C>: DeserializeOwned,
        SnapshotMetaOf<C>: DeserializeOwned,
    {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path).map_err(io::Error::other)?;
        init_tables(&db)?;
        let recovered = read_back::<C>(&db)?;
        let (tx, rx) = mpsc::channel();
        let crashed = Arc::new(AtomicBool::new(false));
        let flag = crashed.clone();
        let thread = std::thread::Builder::new()
            .name("roomcore-raft-disk".into())
            .spawn(move || writer(&db, &rx, &flag))?;
        let disk = Disk {
            tx,
            crashed,
            thread: Mutex::new(Some(thread)),
            path,
        };
        Ok((Arc::new(disk), recovered))
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops writing at once, as a crash would: writes not yet committed are dropped and
    /// never acknowledged. Then waits for the writer to let go of the file.
    pub fn crash(&self) {
        self.crashed.store(true, Ordering::SeqCst);
        // The writer may be idle: wake it so that it sees the flag. If it is gone already,
        // there is nothing to wake.
        let _ = self.tx.send(Op::Wake);
        self.join();
    }

    /// Writes everything queued, then closes the file (later writes fail). Returns when the
    /// file is closed.
    pub fn close(&self) {
        let _ = self.tx.send(Op::Stop);
        self.join();
    }

    /// Waits for the writer thread to end (after [`Self::crash`] or [`Self::close`]).
    fn join(&self) {
        let handle = lock(&self.thread).take();
        if let Some(h) = handle {
            // A panicking writer has released the file all the same.
            let _ = h.join();
        }
    }

    fn submit(&self, write: Write, done: Done) {
        if let Err(mpsc::SendError(Op::Write(_, done))) = self.tx.send(Op::Write(write, done)) {
            done(Err(io::Error::other("the disk writer stopped")));
        }
    }

    fn submit_durable(&self, write: Write) -> Durable {
        let (tx, rx) = oneshot::channel();
        self.submit(
            write,
            Box::new(move |r| {
                // The waiter may have given up (its node is being killed).
                let _ = tx.send(r);
            }),
        );
        rx
    }
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing openraft's ids and roomcore's proposals (owned, ordered data) cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

impl<C> LogPersist<C> for Disk
where
    C: RoomTypes,
    C::Entry: Serialize,
    VoteOf<C>: Serialize,
    LogIdOf<C>: Serialize,
{
    fn append(&self, entries: &[C::Entry], flushed: IOFlushed<C>) {
        let rows = entries.iter().map(|e| (e.index(), json(e))).collect();
        self.submit(Write::Append(rows), Box::new(|r| flushed.io_completed(r)));
    }

    fn truncate_after(&self, last: Option<&LogIdOf<C>>) -> Durable {
        self.submit_durable(Write::TruncateAfter(last.map(|l| l.index)))
    }

    fn purge(&self, upto: &LogIdOf<C>) -> Durable {
        self.submit_durable(Write::Purge {
            upto: upto.index,
            log_id: json(upto),
        })
    }

    fn save_vote(&self, vote: &VoteOf<C>) -> Durable {
        self.submit_durable(Write::Meta(VOTE, Some(json(vote))))
    }

    fn save_committed(&self, committed: Option<&LogIdOf<C>>) -> Durable {
        self.submit_durable(Write::Meta(COMMITTED, committed.map(json)))
    }
}

impl<C> SnapshotPersist<C> for Disk
where
    C: RoomTypes,
    SnapshotMetaOf<C>: Serialize,
{
    fn save_snapshot(&self, meta: &SnapshotMetaOf<C>, data: &[u8]) -> Durable {
        self.submit_durable(Write::Snapshot {
            meta: json(meta),
            data: data.to_vec(),
        })
    }
}

fn init_tables(db: &Database) -> io::Result<()> {
    let txn = db.begin_write().map_err(io::Error::other)?;
    {
        let _log = txn.open_table(LOG).map_err(io::Error::other)?;
        let mut meta = txn.open_table(META).map_err(io::Error::other)?;
        let format = meta
            .get(FORMAT)
            .map_err(io::Error::other)?
            .map(|v| v.value().to_vec());
        match format.as_deref() {
            None => {
                meta.insert(FORMAT, FORMAT_VERSION)
                    .map_err(io::Error::other)?;
            }
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(io::Error::other(format!(
                    "unknown data format {:?}",
                    String::from_utf8_lossy(other)
                )))
            }
        }
    }
    txn.commit().map_err(io::Error::other)
}

fn parse<T: DeserializeOwned>(bytes: &[u8], what: &str) -> io::Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}")))
}

fn read_back<C>(db: &Database) -> io::Result<Recovered<C>>
where
    C: RoomTypes,
    C::Entry: DeserializeOwned,
    VoteOf<C>: DeserializeOwned,
    LogIdOf<C>: DeserializeOwned,
    SnapshotMetaOf<C>: DeserializeOwned,
{
    let txn = db.begin_read().map_err(io::Error::other)?;
    let meta = txn.open_table(META).map_err(io::Error::other)?;
    let get = |key: &str| -> io::Result<Option<Vec<u8>>> {
        Ok(meta
            .get(key)
            .map_err(io::Error::other)?
            .map(|v| v.value().to_vec()))
    };
    let mut contents = LogContents::<C>::default();
    if let Some(v) = get(VOTE)? {
        contents.vote = Some(parse(&v, "vote")?);
    }
    if let Some(v) = get(COMMITTED)? {
        contents.committed = Some(parse(&v, "committed log id")?);
    }
    if let Some(v) = get(PURGED)? {
        contents.last_purged = Some(parse(&v, "last purged log id")?);
    }
    let log = txn.open_table(LOG).map_err(io::Error::other)?;
    for row in log.range(..).map_err(io::Error::other)? {
        let (k, v) = row.map_err(io::Error::other)?;
        let entry: C::Entry = parse(v.value(), "log entry")?;
        contents.log.insert(k.value(), entry);
    }
    let snapshot = match (get(SNAPSHOT_META)?, get(SNAPSHOT_DATA)?) {
        (Some(m), Some(d)) => Some((parse(&m, "snapshot metadata")?, d)),
        _ => None,
    };
    Ok(Recovered {
        log: contents,
        snapshot,
    })
}

/// The writer thread: one transaction and one fsync per batch of queued writes.
fn writer(db: &Database, rx: &mpsc::Receiver<Op>, crashed: &AtomicBool) {
    let mut stop = false;
    while !stop {
        let Ok(first) = rx.recv() else {
            return;
        };
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(op) = next {
            match op {
                Op::Write(w, done) => batch.push((w, done)),
                Op::Wake => {}
                Op::Stop => stop = true,
            }
            next = if batch.len() < MAX_BATCH && !stop {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if crashed.load(Ordering::SeqCst) {
            // A crash: nothing more reaches the disk, nobody hears back.
            return;
        }
        if batch.is_empty() {
            continue;
        }
        let result = commit(db, &batch);
        for (_, done) in batch {
            done(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

fn commit(db: &Database, batch: &[(Write, Done)]) -> io::Result<()> {
    let txn = db.begin_write().map_err(io::Error::other)?;
    {
        let mut log = txn.open_table(LOG).map_err(io::Error::other)?;
        let mut meta = txn.open_table(META).map_err(io::Error::other)?;
        for (w, _) in batch {
            match w {
                Write::Append(rows) => {
                    for (i, bytes) in rows {
                        log.insert(*i, bytes.as_slice()).map_err(io::Error::other)?;
                    }
                }
                Write::TruncateAfter(keep) => {
                    let from = keep.map_or(0, |k| k.saturating_add(1));
                    log.retain_in(from.., |_, _| false)
                        .map_err(io::Error::other)?;
                }
                Write::Purge { upto, log_id } => {
                    log.retain_in(..=*upto, |_, _| false)
                        .map_err(io::Error::other)?;
                    meta.insert(PURGED, log_id.as_slice())
                        .map_err(io::Error::other)?;
                }
                Write::Meta(key, Some(v)) => {
                    meta.insert(*key, v.as_slice()).map_err(io::Error::other)?;
                }
                Write::Meta(key, None) => {
                    meta.remove(*key).map_err(io::Error::other)?;
                }
                Write::Snapshot { meta: m, data } => {
                    meta.insert(SNAPSHOT_META, m.as_slice())
                        .map_err(io::Error::other)?;
                    meta.insert(SNAPSHOT_DATA, data.as_slice())
                        .map_err(io::Error::other)?;
                }
            }
        }
    }
    txn.commit().map_err(io::Error::other)
}
