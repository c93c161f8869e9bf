//! The durable store: openraft's storage conformance suite on the disk-backed stores, and a
//! reopen that finds what was written.

use std::sync::Arc;

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage, RaftSnapshotBuilder, RaftStateMachine};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::alias::{EntryOf, LeaderIdOf, LogIdOf, VoteOf};
use openraft::type_config::TypeConfigExt;
use openraft::vote::RaftLeaderIdExt;
use openraft::{LogId, RaftLogReader, StorageError, Vote};
use roomcore_raft::disk::Disk;
use roomcore_raft::store::{LogStore, StateMachineStore};
use roomcore_raft::types::TokioConfig;
use roomcore_raft::{Command, Limits, Proposal, RoomMachine};

type C = TokioConfig;

fn fresh() -> RoomMachine {
    RoomMachine::new(roomcore::Config::default(), Limits::default()).expect("valid config")
}

fn open(dir: &std::path::Path) -> (Arc<Disk>, LogStore<C>, StateMachineStore<C>) {
    let (disk, rec) = Disk::open::<C>(dir).expect("opens");
    let log = LogStore::durable(rec.log, disk.clone());
    let sm = StateMachineStore::durable(fresh(), rec.snapshot, disk.clone()).expect("restores");
    (disk, log, sm)
}

struct Builder;

impl StoreBuilder<C, LogStore<C>, StateMachineStore<C>, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore<C>, StateMachineStore<C>), StorageError<C>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_disk, log, sm) = open(dir.path());
        Ok((dir, log, sm))
    }
}

#[tokio::test(start_paused = true)]
async fn the_durable_stores_pass_openraft_storage_suite() {
    Suite::test_all(Builder).await.expect("suite passes");
}

fn log_id(term: u64, index: u64) -> LogIdOf<C> {
    LogId::new(LeaderIdOf::<C>::new_committed(term, 1), index)
}

fn entry(term: u64, index: u64, now_ms: u64) -> EntryOf<C> {
    EntryOf::<C>::new_normal(
        log_id(term, index),
        Proposal {
            request: None,
            now_ms,
            command: Command::Tick,
        },
    )
}

async fn append(log: &mut LogStore<C>, entries: Vec<EntryOf<C>>) {
    let (tx, rx) = C::oneshot();
    log.append(entries, IOFlushed::signal(tx))
        .await
        .expect("appends");
    rx.await.expect("flushed").expect("durable");
}

#[tokio::test]
async fn a_reopened_directory_holds_the_log_vote_commit_and_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vote: VoteOf<C> = Vote::new(3, 2);
    {
        let (disk, mut log, mut sm) = open(dir.path());
        append(&mut log, (1..=6).map(|i| entry(1, i, i * 10)).collect()).await;
        log.truncate_after(Some(log_id(1, 5)))
            .await
            .expect("truncates");
        append(&mut log, vec![entry(2, 6, 99)]).await;
        log.save_vote(&vote).await.expect("vote");
        log.save_committed(Some(log_id(2, 6)))
            .await
            .expect("commit");
        // The machine applies the first three entries, snapshots, and the log is purged.
        let first: Vec<_> = log.try_get_log_entries(1..=3).await.expect("reads");
        let stream = futures_util::stream::iter(first.into_iter().map(|e| Ok((e, None))));
        sm.apply(stream).await.expect("applies");
        let snap = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .expect("builds");
        assert_eq!(snap.meta.last_log_id, Some(log_id(1, 3)));
        log.purge(log_id(1, 3)).await.expect("purges");
        drop((log, sm));
        disk.close();
    }
    let (_disk, mut log, mut sm) = open(dir.path());
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 3)));
    assert_eq!(state.last_log_id, Some(log_id(2, 6)));
    let rest = log.try_get_log_entries(..).await.expect("reads");
    let ids: Vec<_> = rest.iter().map(RaftEntry::log_id).collect();
    assert_eq!(ids, vec![log_id(1, 4), log_id(1, 5), log_id(2, 6)]);
    assert_eq!(log.read_vote().await.expect("vote"), Some(vote));
    assert_eq!(
        log.read_committed().await.expect("commit"),
        Some(log_id(2, 6))
    );
    let (applied, _) = sm.applied_state().await.expect("applied");
    assert_eq!(applied, Some(log_id(1, 3)));
    assert_eq!(sm.last_applied(), 3);
    // The restored engine saw the last tick's time.
    let snap = sm
        .get_current_snapshot()
        .await
        .expect("reads")
        .expect("a snapshot");
    assert_eq!(snap.meta.last_log_id, Some(log_id(1, 3)));
}
