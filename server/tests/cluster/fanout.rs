//! A member event on the replicated path: a message in a room of six whose members are
//! connected to two nodes of a group is one output in the applied entry, serialized once by
//! each node that holds members, and each member's frame names that member's own session.

use crate::client::Client;
use crate::procs::{eventually, node_flags, start_group, statuses, Server};
use serde_json::{json, Value};

/// `outputs_serialized` of a node now.
async fn serialized(node: &Server) -> u64 {
    let stats = node.stats().await.expect("the node answers its stats");
    stats["outputs_serialized"].as_u64().expect("a counter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_event_on_the_cluster_path_is_serialized_once_per_node_and_addressed_to_each() {
    let tmp = tempfile::tempdir().unwrap();
    let nodes = start_group(tmp.path(), &node_flags(&[])).await;
    eventually("a leader", || async {
        let s = statuses(&nodes).await;
        s.values().any(|v| v["role"] == "leader").then_some(())
    })
    .await;
    // Six members: m0..m2 on node 1, m3..m5 on node 2; node 3 holds none.
    let mut members = Vec::new();
    for i in 0..6 {
        let mut c = Client::connect(&nodes[i / 3].ws_url()).await.unwrap();
        c.login(&format!("m{i}"), &format!("mu{i}")).await;
        let r = c
            .cmd(json!({"type": "enter_room", "room": {"id": "small"}}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
        members.push(c);
    }
    // Every node has routed the last join once each earlier member has seen it.
    for c in &mut members[..5] {
        while !c.log.iter().any(|v| {
            v["out"]["type"] == "members_joined" && v["out"]["members"][0]["user_id"] == "mu5"
        }) {
            c.frame().await;
        }
    }
    let before = [serialized(&nodes[0]).await, serialized(&nodes[1]).await];
    let r = members[0]
        .cmd(json!({"type": "send_room_message", "room_id": "small", "payload": "hi"}))
        .await;
    assert!(r.get("ok").is_some(), "{r}");
    for (i, c) in members.iter_mut().enumerate().skip(1) {
        let message: Value = loop {
            let v = c.frame().await;
            if v["out"]["type"] == "room_message" {
                break v["out"].clone();
            }
        };
        // Each member's frame names that member's own session.
        assert_eq!(message["session"], format!("m{i}"), "{message}");
        assert_eq!(message["payload"], "hi");
        assert_eq!(message["from"], "mu0");
    }
    let after = [serialized(&nodes[0]).await, serialized(&nodes[1]).await];
    // Node 1: the sender's reply and the message once (for m1 and m2); node 2: the message
    // once (for m3, m4 and m5). Not one per recipient.
    assert_eq!(after[0] - before[0], 2, "node 1: {before:?} -> {after:?}");
    assert_eq!(after[1] - before[1], 1, "node 2: {before:?} -> {after:?}");
}
