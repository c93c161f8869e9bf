//! One durable node (a group of one): its state survives a crash, sessions whose client did
//! not come back lose their link at restart, and resume tokens survive.

mod harness;

use futures_util::stream;
use harness::{applied, enter, key, login, Group};
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::RaftLogReader;
use roomcore::SessionId;
use roomcore_raft::digest::engine_digest;
use roomcore_raft::disk::Disk;
use roomcore_raft::store::{LogStore, StateMachineStore};
use roomcore_raft::types::TokioConfig;
use roomcore_raft::{Limits, NodeConfig, Response, Role, RoomMachine, SessionRefusal, TokenHash};

/// What a data directory holds, read back without starting a node: the last snapshot,
/// then every committed entry after it applied on top. Returns (last applied, digest).
fn recover_offline(dir: &std::path::Path) -> (u64, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (disk, rec) = Disk::open::<TokioConfig>(dir).expect("opens");
        let fresh = RoomMachine::new(harness::config().engine, Limits::default()).expect("config");
        let mut log = LogStore::durable(rec.log, disk.clone());
        let mut sm: StateMachineStore<TokioConfig> =
            StateMachineStore::durable(fresh, rec.snapshot, disk.clone()).expect("restores");
        let committed = log
            .read_committed()
            .await
            .expect("reads")
            .map_or(0, |c| c.index);
        let from = sm.last_applied() + 1;
        let entries = log
            .try_get_log_entries(from..=committed)
            .await
            .expect("reads");
        sm.apply(stream::iter(entries.into_iter().map(|e| Ok((e, None)))))
            .await
            .expect("applies");
        let state = sm.read_applied(|m, i| (i, engine_digest(m.engine())));
        drop((log, sm));
        disk.close();
        state
    })
}

#[test]
fn a_single_durable_node_survives_a_crash_and_its_sessions_resume() {
    let config = NodeConfig {
        // Snapshots during the run, so recovery reads a snapshot and the log after it.
        snapshot_every: 16,
        logs_kept_after_snapshot: 4,
        ..harness::config()
    };
    let mut g = Group::start(1, config);
    let node = g.node(1);
    g.run(node.ready());
    assert_eq!(node.status().role, Role::Single);
    assert_eq!(node.status().leader_id, Some(1));

    let token = TokenHash::of(b"token-of-a");
    let p = g
        .run(node.connect(key(1, 0), token, login("a", 0, "ua")))
        .expect("connect");
    assert!(applied(&p));
    g.run(node.propose_input(key(1, 1), enter("a", 1, "r")))
        .expect("enter");
    for seq in 2..40 {
        let s = format!("s{seq}");
        let p = g
            .run(node.propose_input(key(1, seq), login(&s, seq, &s)))
            .expect("applied");
        assert!(applied(&p));
    }
    let before = g.assert_agree("one node");
    assert!(
        g.node(1).log_span().1.is_some_and(|f| f > 1),
        "a snapshot compacted the log"
    );

    // Dies without a shutdown; the directory alone holds the state at the acknowledged index.
    g.kill(1);
    assert_eq!(
        recover_offline(&g.dir(1)),
        (before.last_applied, before.state_digest.clone())
    );

    // Restarted: the same state, then the new process announces itself and the session
    // whose client did not come back loses its link (its grace runs).
    g.restart(1);
    let node = g.node(1);
    g.run(node.ready());
    let sid = SessionId::new("a");
    assert!(node.read(|m, _| m.engine().is_link_lost(sid)));
    assert!(node.read(|_, i| i > before.last_applied));
    assert!(node.read(|m, _| m.engine().session_user(SessionId::new("s39")).is_some()));

    // Its token survived the restart.
    let wrong = g
        .run(node.resume(sid, TokenHash::of(b"guess")))
        .expect("answered");
    assert_eq!(
        wrong.response,
        Response::SessionRefused {
            reason: SessionRefusal::BadToken
        }
    );
    let back = g.run(node.resume(sid, token)).expect("resumed");
    assert!(matches!(back.response, Response::Session { .. }));
    assert!(!node.read(|m, _| m.engine().is_link_lost(sid)));
    // A retried request key is answered as a duplicate, across the restart.
    let again = g
        .run(node.propose_input(key(1, 5), login("s5", 5, "s5")))
        .expect("answered");
    assert!(matches!(again.response, Response::Duplicate { .. }));
}

#[test]
fn the_routes_between_nodes_refuse_a_wrong_secret() {
    use roomcore_raft::net::{HttpNet, PostError};
    use roomcore_raft::wire;
    let g = Group::start(1, harness::config());
    let addr = g.peers[&1].clone();
    let ttl = std::time::Duration::from_secs(10);
    let forward = wire::Forward {
        request: None,
        command: roomcore_raft::Command::Tick,
    };
    let wrong = HttpNet::new(Some("not-the-secret"), 1 << 20);
    let r = g.run(wrong.forward(&addr, &forward, ttl));
    assert!(
        matches!(r, Err(PostError::Status(s)) if s.as_u16() == 401),
        "{r:?}"
    );
    let none = HttpNet::new(None, 1 << 20);
    assert!(matches!(
        g.run(none.forward(&addr, &forward, ttl)),
        Err(PostError::Status(_))
    ));
    // With the secret, a forwarded proposal is applied by the (only) node.
    let right = HttpNet::new(Some("test-secret"), 1 << 20);
    g.run(g.node(1).ready());
    let r = g.run(right.forward(&addr, &forward, ttl));
    assert!(matches!(r, Ok(wire::Attempt::Applied { .. })), "{r:?}");
}
