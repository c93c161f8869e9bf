//! Three real nodes over loopback TCP, each with its own data directory and runtime: writes
//! through any node, a killed leader, a restarted node catching up (from its log, and by
//! snapshot past the compaction point), a minority that cannot commit, a timer that fires
//! once across a failover, and a session that follows its client to another node.

mod harness;

use std::time::Duration;

use harness::{applied, enter, key, login, Group};
use roomcore::{Output, RoomEvent, SessionId};
use roomcore_raft::{Command, NodeConfig, ProposeError, Response, Role, SessionRefusal, TokenHash};

/// Writes `login` of `s{client}-{seq}` through node `via`; returns whether it was
/// acknowledged.
fn write(g: &Group, via: u64, client: u64, seq: u64) -> bool {
    let node = g.node(via);
    let session = format!("s{client}-{seq}");
    // One user per session: under the default single-device policy a second session of a
    // user closes the first.
    let r = g.run(node.propose_input(key(client, seq), login(&session, seq, &session)));
    r.is_ok_and(|p| applied(&p))
}

/// Whether every listed session is logged in on node `id`.
fn has_all(g: &Group, id: u64, sessions: &[String]) -> bool {
    g.node(id).read(|m, _| {
        sessions
            .iter()
            .all(|s| m.engine().session_user(SessionId::new(s)).is_some())
    })
}

#[test]
fn three_nodes_fail_over_and_a_restarted_node_catches_up() {
    let mut g = Group::start(3, harness::config());
    let first = g.leader();
    let mut acked = Vec::new();
    // Through every node: followers forward to the leader.
    for seq in 0..30 {
        let via = 1 + seq % 3;
        assert!(write(&g, via, 1, seq), "write {seq} through node {via}");
        acked.push(format!("s1-{seq}"));
        // A forwarded write is applied on the node that took it before it answers.
        assert!(has_all(&g, via, &acked[acked.len() - 1..]));
    }
    let before = g.assert_agree("three nodes");
    assert!(before.last_applied >= 30);
    // One leader, the others follow (polled: a re-election under load may be under way).
    g.run(async {
        loop {
            let mut roles: Vec<Role> = g
                .alive()
                .iter()
                .map(|id| g.node(*id).status().role)
                .collect();
            roles.sort();
            if roles == [Role::Leader, Role::Follower, Role::Follower] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    g.kill(first);
    let survivors = g.alive();
    for seq in 0..20 {
        let via = survivors[seq as usize % 2];
        assert!(write(&g, via, 2, seq), "write {seq} after the failover");
        acked.push(format!("s2-{seq}"));
    }
    let second = g.leader();
    assert_ne!(second, first, "a new leader serves");
    g.assert_agree("survivors");
    for id in g.alive() {
        assert!(
            has_all(&g, id, &acked),
            "node {id} lost an acknowledged write"
        );
    }

    // The old leader comes back from its data directory and catches up.
    g.restart(first);
    assert!(write(&g, first, 3, 0), "a write through the restarted node");
    acked.push("s3-0".into());
    let after = g.assert_agree("after the restart");
    assert!(after.last_applied > before.last_applied);
    assert!(has_all(&g, first, &acked));
    assert_eq!(
        g.node(first).snapshots_installed(),
        0,
        "caught up from its log"
    );
}

#[test]
fn a_node_behind_the_compaction_point_catches_up_by_snapshot() {
    let config = NodeConfig {
        snapshot_every: 16,
        logs_kept_after_snapshot: 0,
        ..harness::config()
    };
    let mut g = Group::start(3, config);
    let leader = g.leader();
    let lagging = g
        .alive()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    g.kill(lagging);
    // Write until the leader has compacted its log past what the lagging node has: openraft
    // builds snapshots in the background and postpones a purge while the replication stream
    // to the dead node holds the entries, so how many writes that takes varies.
    let mut written = 0;
    loop {
        assert!(write(&g, leader, 1, written));
        written += 1;
        let leader = g.leader();
        let (_, first_index) = g.node(leader).log_span();
        if written >= 60 && first_index.is_none_or(|f| f > 5) {
            break;
        }
        assert!(written < 2_000, "the leader never compacted its log");
    }
    g.restart(lagging);
    g.assert_agree("after the snapshot");
    assert!(
        g.node(lagging).snapshots_installed() >= 1,
        "installed a snapshot"
    );
    let sessions: Vec<String> = (0..written).map(|s| format!("s1-{s}")).collect();
    assert!(has_all(&g, lagging, &sessions));
    // Restarting it again restores the installed snapshot from its own disk.
    g.kill(lagging);
    g.restart(lagging);
    assert!(write(&g, lagging, 2, 0));
    g.assert_agree("after a second restart");
}

#[test]
fn a_minority_cannot_commit() {
    let mut g = Group::start(
        3,
        NodeConfig {
            write_timeout_ms: 1_500,
            ..harness::config()
        },
    );
    let leader = g.leader();
    assert!(write(&g, leader, 1, 0));
    let others: Vec<u64> = g.alive().into_iter().filter(|id| *id != leader).collect();
    for id in &others {
        g.kill(*id);
    }
    let r = g.run(
        g.node(leader)
            .propose_input(key(1, 1), login("s-minority", 1, "u")),
    );
    assert_eq!(r, Err(ProposeError::Timeout));
    let logged_in = g
        .node(leader)
        .read(|m, _| m.engine().session_user(SessionId::new("s-minority")));
    assert_eq!(logged_in, None, "a minority applied a write");
    // With a majority back, the same request key is applied once (retried past this
    // test's short write timeout while the restarted node rejoins).
    g.restart(others[0]);
    let again = g.run(async {
        loop {
            let r = g
                .node(others[0])
                .propose_input(key(1, 1), login("s-minority", 1, "u"))
                .await;
            if r != Err(ProposeError::Timeout) {
                return r.expect("applied with a majority");
            }
        }
    });
    assert!(matches!(
        again.response,
        Response::Applied { .. } | Response::Duplicate { .. }
    ));
    g.assert_agree("majority back");
}

/// Counts `connect_timeout` events of `session` in `room` among applied entries.
fn timeouts(entries: &[std::sync::Arc<roomcore_raft::AppliedEntry>], session: &str) -> usize {
    entries
        .iter()
        .flat_map(|e| e.response.outputs().expanded())
        .filter(|s| {
            matches!(&s.output, Output::RoomStateChanged { session: s2, event: RoomEvent::ConnectTimeout, .. }
                if s2.as_str() == session)
        })
        .count()
}

#[test]
fn a_timer_fires_once_across_a_failover() {
    let config = NodeConfig {
        engine: roomcore::Config {
            reconnect_grace_ms: 1_500,
            ..roomcore::Config::default()
        },
        ..harness::config()
    };
    let mut g = Group::start(3, config);
    let leader = g.leader();
    let follower = g
        .alive()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let mut applied_rx = g.node(follower).subscribe(1_024);
    let node = g.node(follower);
    g.run(node.propose_input(key(1, 0), login("a", 0, "ua")))
        .expect("login");
    g.run(node.propose_input(key(1, 1), enter("a", 1, "r")))
        .expect("enter");
    let lost = Command::Input {
        input: roomcore::Input::LinkLost {
            session: SessionId::new("a"),
        },
    };
    g.run(node.propose(Some(key(1, 2)), lost))
        .expect("link lost");
    // The grace was armed under this leader; it dies before the deadline.
    g.kill(leader);
    let deadline_passed = g.run(async {
        let mut seen = Vec::new();
        loop {
            let e = applied_rx.recv().await.expect("the follower is alive");
            seen.push(e);
            if timeouts(&seen, "a") > 0 {
                return seen;
            }
        }
    });
    assert_eq!(timeouts(&deadline_passed, "a"), 1);
    // More time and more ticks: it never fires again, on any replica.
    for seq in 0..5 {
        assert!(write(&g, follower, 2, seq));
    }
    g.assert_agree("after the timer");
    let mut rest = Vec::new();
    while let Ok(e) = applied_rx.try_recv() {
        rest.push(e);
    }
    assert_eq!(timeouts(&rest, "a"), 0, "fired twice");
    let in_room = g
        .node(follower)
        .read(|m, _| m.engine().session_rooms(SessionId::new("a")));
    assert_eq!(in_room, Some(vec![]), "the grace expired: a left the room");
}

#[test]
fn a_session_follows_its_client_to_another_node() {
    // Wide margins: on a loaded machine a 50 ms heartbeat can stall past a 200 ms election
    // timeout (leadership moves mid-test) or a live node can look down for 1 s. Neither is
    // what this test is about, so elections wait 1-2 s and a node is down after 4 s.
    let config = NodeConfig {
        node_down_after_ms: Some(4_000),
        election_timeout_min_ms: 1_000,
        election_timeout_max_ms: 2_000,
        ..harness::config()
    };
    let mut g = Group::start(3, config);
    let leader = g.leader();
    let far = g
        .alive()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let token = TokenHash::of(b"token-of-a");
    let far_node = g.node(far);
    g.run(far_node.ready());
    let p = g
        .run(far_node.connect(key(1, 0), token, login("a", 0, "ua")))
        .expect("connect");
    assert!(matches!(p.response, Response::Session { .. }));
    g.run(far_node.propose_input(key(1, 1), enter("a", 1, "r")))
        .expect("enter");
    let sid = SessionId::new("a");
    assert_eq!(
        g.node(leader).read(|m, _| m.sessions().holder(sid)),
        Some(far_node.holder())
    );

    // The node holding the session dies: the leader notices and the session loses its link.
    g.kill(far);
    let near = g.node(leader);
    g.run(async {
        while !near.read(|m, _| m.engine().is_link_lost(sid)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(near.read(|m, _| m.sessions().holder(sid)), None);

    // A wrong token is refused; the right one restores the session on another node.
    g.run(near.ready());
    let wrong = g
        .run(near.resume(sid, TokenHash::of(b"guess")))
        .expect("answered");
    assert_eq!(
        wrong.response,
        Response::SessionRefused {
            reason: SessionRefusal::BadToken
        }
    );
    let back = g.run(near.resume(sid, token)).expect("resumed");
    assert!(matches!(back.response, Response::Session { .. }));
    assert!(!near.read(|m, _| m.engine().is_link_lost(sid)));
    assert_eq!(
        near.read(|m, _| m.sessions().holder(sid)),
        Some(near.holder())
    );

    // The dead node restarts as a new incarnation: the session stays where it is now.
    g.restart(far);
    let far_node = g.node(far);
    g.run(far_node.ready());
    assert_ne!(far_node.holder().incarnation, 0);
    g.assert_agree("after the move");
    assert_eq!(
        far_node.read(|m, _| m.sessions().holder(sid)),
        Some(near.holder())
    );
}
