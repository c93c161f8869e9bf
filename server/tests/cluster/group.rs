//! A three-node group under a live client load: the leader is killed with SIGKILL, then a
//! follower (the survivor alone is a minority), then both come back. Checked throughout:
//! every reply a client receives is received once; no acknowledged write is lost (each
//! client's last acknowledged value is what the group holds at the end); replicas at the
//! same applied index have the same digest; the restarted leader, behind the survivors'
//! compaction point, catches up from a snapshot; the minority acknowledges nothing; and a
//! reconnect grace armed around the first failover fires once.

use crate::client::{outs, Client, Next};
use crate::procs::{eventually, node_flags, start_group, statuses, Server, FAILOVER_FLAGS};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Besides the group's fast timing: small snapshots, so the log is compacted while a node is
/// down, and a reconnect grace around the first failover.
const FLAGS: &[&str] = &[
    "--snapshot-every",
    "40",
    "--logs-kept-after-snapshot",
    "0",
    "--reconnect-grace-ms",
    "2000",
    // The load clients send their next request as soon as the last one is answered, so how
    // many frames a second they send depends on the machine and the build (a release
    // build answers far faster). The per-connection frame limit is not what this test is
    // about (integration/hostile.rs tests it): lifted so that no speed trips it.
    "--frames-per-s",
    "1000000",
    "--frames-burst",
    "1000000",
];

/// Load clients (spread over the three nodes).
const CLIENTS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Run,
    Pause,
    Stop,
}

/// What a load client saw.
#[derive(Debug, Default)]
struct Tally {
    /// Values acknowledged, in order.
    acked: Vec<u64>,
    /// Request numbers answered (a second answer is a duplicate).
    answered: HashSet<u64>,
    duplicates: Vec<u64>,
    resumes: u32,
    /// Whether the client is idle in a pause (its last command answered).
    paused: bool,
}

struct Shared {
    tally: Mutex<Tally>,
    acks: AtomicU64,
}

/// One load client: logs in through its home node, enters its own room, and sets a member
/// attribute `n` to 1, 2, 3... one command at a time. When its connection ends it resumes on
/// the next node that answers; after a resume that cannot say what was lost, it sends the
/// unanswered value again (setting a value twice is harmless; the same request twice is
/// never sent).
async fn load_client(
    i: usize,
    urls: Vec<String>,
    mut phase: watch::Receiver<Phase>,
    shared: Arc<Shared>,
) -> Client {
    let mut at = i % urls.len();
    let mut c = Client::connect(&urls[at]).await.unwrap();
    c.login(&format!("load-{i}"), &format!("user-{i}")).await;
    let room = format!("room-{i}");
    let r = c
        .cmd(json!({"type": "enter_room", "room": {"id": room}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    let mut value = 1u64;
    loop {
        let now = *phase.borrow_and_update();
        match now {
            Phase::Stop => return c,
            Phase::Pause => {
                shared.tally.lock().unwrap().paused = true;
                let _ = phase.changed().await;
                shared.tally.lock().unwrap().paused = false;
                continue;
            }
            Phase::Run => {}
        }
        let set = json!({"type": "set_room_members_attributes", "room_id": room,
                         "attributes": {"n": value.to_string()}});
        let request = c.send_cmd(set).await;
        loop {
            match c.next(crate::client::FRAME_WAIT).await {
                Next::Frame(v) => {
                    if let Some(r) = answered(&v) {
                        let mut t = shared.tally.lock().unwrap();
                        if !t.answered.insert(r) {
                            t.duplicates.push(r);
                        }
                    }
                    if v["error"]["request"] == request {
                        assert_eq!(v["error"]["code"], "unavailable", "load-{i}: {v}");
                        continue; // a notice: the reply follows
                    }
                    if v["out"]["type"] == "reply" && v["out"]["request"] == request {
                        assert!(v["out"].get("ok").is_some(), "load-{i}: {v}");
                        shared.tally.lock().unwrap().acked.push(value);
                        shared.acks.fetch_add(1, Ordering::Relaxed);
                        value += 1;
                        break;
                    }
                }
                Next::Closed => {
                    at = resume_somewhere(&mut c, &urls, at).await;
                    shared.tally.lock().unwrap().resumes += 1;
                    break; // the value is sent again, as a new request
                }
                Next::Quiet => panic!("load-{i}: no answer to {request}"),
            }
        }
    }
}

/// The request number a frame answers, if it is a reply.
fn answered(v: &Value) -> Option<u64> {
    (v["out"]["type"] == "reply").then(|| v["out"]["request"].as_u64())?
}

/// Resumes the client's session on the first node after `at` that takes it; returns that
/// node's index. A resume waits while the group has no quorum (`unavailable` is a notice).
async fn resume_somewhere(c: &mut Client, urls: &[String], at: usize) -> usize {
    let mut next = at;
    loop {
        next = (next + 1) % urls.len();
        if !c.reconnect(&urls[next]).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let f = json!({"type": "resume", "session": c.session, "token": c.token});
        if !c.send(&f).await {
            continue;
        }
        loop {
            match c.next(crate::client::FRAME_WAIT).await {
                Next::Frame(v) => {
                    if let Some(t) = v["resume"]["token"].as_str() {
                        c.token = t.to_owned();
                    }
                    if let Some(r) = v.get("resumed") {
                        // Another node than the one that held it: it cannot know.
                        assert_eq!(r["gap"], true, "{v}");
                        assert_eq!(r["unknown"], true, "{v}");
                        return next;
                    }
                    if v.get("error").is_some() {
                        assert_eq!(v["error"]["code"], "unavailable", "{}: {v}", c.session);
                    }
                }
                Next::Closed => break,
                Next::Quiet => panic!("{}: resume unanswered", c.session),
            }
        }
    }
}

/// The users a `members_left` names.
fn left_users(o: &Value) -> Vec<String> {
    if o["type"] != "members_left" {
        return Vec::new();
    }
    o["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["user_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

struct Group {
    nodes: Vec<Server>,
    /// (last_applied, digest) pairs seen at once on two replicas.
    samples: Vec<(u64, String, String)>,
    _tmp: tempfile::TempDir,
}

impl Group {
    async fn start() -> Group {
        let tmp = tempfile::tempdir().unwrap();
        let flags = node_flags(&[FAILOVER_FLAGS, FLAGS].concat());
        let nodes = start_group(tmp.path(), &flags).await;
        Group {
            nodes,
            samples: Vec::new(),
            _tmp: tmp,
        }
    }

    fn node(&mut self, id: u64) -> &mut Server {
        &mut self.nodes[usize::try_from(id).unwrap() - 1]
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Server::ws_url).collect()
    }

    /// Statuses of the running nodes; records the digests of replicas at equal indexes.
    async fn look(&mut self) -> BTreeMap<u64, Value> {
        let s = statuses(&self.nodes).await;
        let v: Vec<&Value> = s.values().collect();
        for (i, a) in v.iter().enumerate() {
            for b in &v[i + 1..] {
                if a["last_applied"] == b["last_applied"] {
                    self.samples.push((
                        a["last_applied"].as_u64().unwrap(),
                        a["state_digest"].to_string(),
                        b["state_digest"].to_string(),
                    ));
                }
            }
        }
        s
    }

    /// The leader every running node agrees on.
    async fn leader(&mut self) -> u64 {
        let running = self.nodes.iter().filter(|n| n.is_running()).count();
        let deadline = tokio::time::Instant::now() + crate::procs::START_WAIT;
        loop {
            let s = self.look().await;
            let leaders: HashSet<Option<u64>> =
                s.values().map(|v| v["leader_id"].as_u64()).collect();
            if let (true, [Some(l)]) = (
                s.len() == running,
                leaders.into_iter().collect::<Vec<_>>().as_slice(),
            ) {
                if s.get(l).is_some_and(|v| v["role"] == "leader") {
                    return *l;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no leader: {s:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running node has applied the same index; returns it.
    async fn agree(&mut self) -> u64 {
        let running = self.nodes.iter().filter(|n| n.is_running()).count();
        let deadline = tokio::time::Instant::now() + crate::procs::START_WAIT;
        loop {
            let s = self.look().await;
            let indexes: HashSet<u64> = s
                .values()
                .filter_map(|v| v["last_applied"].as_u64())
                .collect();
            if s.len() == running && indexes.len() == 1 {
                return indexes.into_iter().next().unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no agreement: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits until every load client has `more` acknowledgements beyond `from`.
async fn progress(shared: &[Arc<Shared>], more: u64) {
    let from: Vec<u64> = shared
        .iter()
        .map(|s| s.acks.load(Ordering::Relaxed))
        .collect();
    eventually("every load client to make progress", || {
        let done = shared
            .iter()
            .zip(&from)
            .all(|(s, f)| s.acks.load(Ordering::Relaxed) >= f + more);
        async move { done.then_some(()) }
    })
    .await;
}

/// An observer in room `watch` on node `url`.
async fn watcher(url: &str, session: &str) -> Client {
    let mut c = Client::connect(url).await.unwrap();
    c.login(session, session).await;
    let r = c
        .cmd(json!({"type": "enter_room", "room": {"id": "watch"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    c
}

/// Rounds of the scenario below (`ROOMCORE_CLUSTER_ROUNDS`, default 1: the CI's share; each
/// round is a fresh group, so a longer run meets more election orders and timings).
fn rounds() -> u32 {
    std::env::var("ROOMCORE_CLUSTER_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_keeps_its_clients_through_failovers() {
    for round in 1..=rounds() {
        eprintln!("round {round}");
        failovers_under_load().await;
    }
}

async fn failovers_under_load() {
    let mut g = Group::start().await;
    let first = g.leader().await;
    let others: Vec<u64> = (1..=3).filter(|id| *id != first).collect();

    // The load, spread over the three nodes.
    let (phase_tx, phase_rx) = watch::channel(Phase::Run);
    let urls = g.urls();
    let mut shared = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let s = Arc::new(Shared {
            tally: Mutex::new(Tally::default()),
            acks: AtomicU64::new(0),
        });
        shared.push(s.clone());
        tasks.push(tokio::spawn(load_client(
            i,
            urls.clone(),
            phase_rx.clone(),
            s,
        )));
    }
    progress(&shared, 3).await;

    // Two observers and a session that will vanish, in one room, away from the leader.
    let url = |id: u64| urls[usize::try_from(id).unwrap() - 1].clone();
    let mut observers: BTreeMap<u64, Client> = BTreeMap::new();
    for id in &others {
        observers.insert(*id, watcher(&url(*id), &format!("watch-{id}")).await);
    }
    let ghost = watcher(&url(others[0]), "ghost").await;

    // 1. The ghost's connection drops and the leader is killed at once: the ghost's grace is
    //    armed around the failover, and must fire once.
    drop(ghost);
    let before_kill = g.node(first).status().await.unwrap();
    g.node(first).kill9();
    let second = g.leader().await;
    assert_ne!(second, first);
    let follower = others.iter().copied().find(|id| *id != second).unwrap();
    progress(&shared, 3).await;
    // Until the survivors have compacted their log past what the dead leader holds.
    let behind = before_kill["last_applied"].as_u64().unwrap();
    eventually("the survivors to compact their log", || {
        let node = &g.nodes[usize::try_from(second).unwrap() - 1];
        async move {
            let s = node.stats().await?;
            let first_index = s["replication"]["log_first_index"].as_u64()?;
            (first_index > behind + 1).then_some(())
        }
    })
    .await;
    let watch = observers.get_mut(&second).unwrap();
    loop {
        let v = watch.frame().await;
        if v.get("out").is_some_and(|o| left_users(o) == ["ghost"]) {
            break;
        }
    }
    g.look().await;

    // 2. A follower is killed: the survivor alone cannot apply anything. A write through it
    //    is told `unavailable` and not answered.
    g.node(follower).kill9();
    let probe = observers.get_mut(&second).unwrap();
    let set = json!({"type": "set_room_members_attributes", "room_id": "watch",
                     "attributes": {"m": "minority"}});
    let request = probe.send_cmd(set).await;
    loop {
        let v = probe.frame().await;
        assert_ne!(
            answered(&v),
            Some(request),
            "a minority acknowledged a write"
        );
        if v["error"]["request"] == request {
            assert_eq!(v["error"]["code"], "unavailable", "{v}");
            break;
        }
    }

    // 3. Both come back: the write waiting on the survivor is applied once, the old leader
    //    catches up by snapshot, the clients carry on.
    g.node(first).start().await;
    g.node(follower).start().await;
    let probe = observers.get_mut(&second).unwrap();
    loop {
        let v = probe.frame().await;
        if answered(&v) == Some(request) {
            assert!(v["out"].get("ok").is_some(), "{v}");
            break;
        }
    }
    progress(&shared, 3).await;
    let _ = phase_tx.send(Phase::Pause);
    eventually("the load to pause", || {
        let paused = shared.iter().all(|s| s.tally.lock().unwrap().paused);
        async move { paused.then_some(()) }
    })
    .await;
    let index = g.agree().await;
    let stats = g.node(first).stats().await.unwrap();
    assert!(
        stats["replication"]["snapshots_installed"].as_u64() >= Some(1),
        "the old leader caught up by snapshot: {stats}"
    );
    let _ = phase_tx.send(Phase::Run);
    progress(&shared, 2).await;
    let _ = phase_tx.send(Phase::Stop);

    // Every acknowledged value is what the group holds, and no reply came twice.
    for (i, task) in tasks.into_iter().enumerate() {
        let mut c = task.await.unwrap();
        let (duplicates, acked) = {
            let t = shared[i].tally.lock().unwrap();
            (t.duplicates.clone(), t.acked.clone())
        };
        assert!(
            duplicates.is_empty(),
            "load-{i}: replies twice: {duplicates:?}"
        );
        let last = *acked.last().unwrap();
        let expected: Vec<u64> = (1..=last).collect();
        assert_eq!(
            acked, expected,
            "load-{i}: acknowledged in order, once each"
        );
        let q = json!({"type": "query_room_members_attributes", "room_id": format!("room-{i}")});
        let r = c.cmd(q).await;
        assert_eq!(
            r["ok"]["member_attributes"][0]["attributes"]["n"],
            last.to_string(),
            "load-{i}: the last acknowledged write holds: {r}"
        );
    }
    let resumes: u32 = shared.iter().map(|s| s.tally.lock().unwrap().resumes).sum();
    assert!(
        resumes >= 2,
        "clients of the killed nodes resumed elsewhere"
    );
    let acks: u64 = shared.iter().map(|s| s.acks.load(Ordering::Relaxed)).sum();
    eprintln!(
        "leader {first} killed, then {follower}; {acks} writes acknowledged, {resumes} \
         resumes, {} digest samples, index {index}",
        g.samples.len()
    );
    // The ghost's grace fired once, seen by the observer that stayed connected throughout.
    let watch = observers.get(&second).unwrap();
    let ghost_left = outs(&watch.log)
        .iter()
        .filter(|o| left_users(o).contains(&"ghost".to_owned()))
        .count();
    assert_eq!(ghost_left, 1, "the grace fired once");
    // Replicas at the same index had the same state, all along and at the end.
    assert!(g.agree().await >= index);
    assert!(!g.samples.is_empty());
    for (at, a, b) in &g.samples {
        assert_eq!(a, b, "replicas differ at index {at}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumed_on_another_live_node_leaves_the_first() {
    let mut g = Group::start().await;
    g.leader().await;
    let urls = g.urls();
    let mut a = Client::connect(&urls[0]).await.unwrap();
    a.login("mover", "mover").await;
    let r = a
        .cmd(json!({"type": "enter_room", "room": {"id": "m"}}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    // The same client (its token) on node 2 while its connection to node 1 is still open.
    let mut b = Client::connect(&urls[1]).await.unwrap();
    b.session = a.session.clone();
    b.token = a.token.clone();
    let frames = b.resume().await;
    assert_eq!(
        frames.last().unwrap()["resumed"],
        json!({"session": "mover", "gap": true, "unknown": true}),
        "{frames:?}"
    );
    // Node 1 lets go: its connection is told `replaced` and closed.
    loop {
        match a.next(crate::client::FRAME_WAIT).await {
            Next::Frame(v) if v["error"]["code"] == "replaced" => {}
            Next::Frame(_) => continue,
            Next::Closed => break,
            Next::Quiet => panic!("node 1 kept the session"),
        }
    }
    assert!(a.log.iter().any(|v| v["error"]["code"] == "replaced"));
    // The session lives on node 2, with the new token only.
    let r = b
        .cmd(json!({"type": "query_members", "room_id": "m", "count": 10}))
        .await;
    assert_eq!(r["ok"]["members"], json!([{"user_id": "mover"}]), "{r}");
    let mut thief = Client::connect(&urls[2]).await.unwrap();
    thief.session = "mover".into();
    thief.token = a.token.clone();
    let refused = thief.resume().await;
    assert_eq!(refused.last().unwrap()["error"]["code"], "resume_refused");
    // The Raft routes share the clients' port: without the cluster secret a request is
    // refused before its body is read (it announces 100 MB and sends none).
    for bearer in ["", "Authorization: Bearer not-the-secret\r\n"] {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", g.nodes[0].port))
            .await
            .unwrap();
        let req = format!(
            "POST /raft/append HTTP/1.1\r\nHost: x\r\n{bearer}Content-Length: 100000000\r\n\r\n"
        );
        tokio::io::AsyncWriteExt::write_all(&mut s, req.as_bytes())
            .await
            .unwrap();
        let mut head = [0u8; 12];
        let read = tokio::io::AsyncReadExt::read_exact(&mut s, &mut head);
        tokio::time::timeout(crate::procs::HTTP_WAIT, read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&head, b"HTTP/1.1 401", "{}", String::from_utf8_lossy(&head));
    }
    // An admin command through any node goes through the log too; its events reach the
    // session on its node.
    let dismiss = json!({"type": "dismiss_room", "request": 9, "room_id": "m"}).to_string();
    let port = g.nodes[2].port;
    let answer = crate::procs::request_json(port, "POST", "/admin", &dismiss)
        .await
        .unwrap();
    assert_eq!(answer["out"]["type"], "admin_reply", "{answer}");
    assert!(answer["out"].get("ok").is_some(), "{answer}");
    loop {
        let v = b.frame().await;
        if v["out"]["type"] == "room_state_changed" && v["out"]["state"] == "disconnected" {
            break;
        }
    }
}
