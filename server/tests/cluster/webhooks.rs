//! Webhooks from a three-node group: every node with `--webhook-url` delivers every event
//! it applies, so the events of a run reach the receiver (once each after de-duplication by
//! `event_id`) even when the leader is killed before it could deliver any.

use crate::client::Client;
use crate::procs::{eventually, node_flags, start_group, statuses, FAILOVER_FLAGS};
use crate::receiver::{assert_churned_once, summary, Receiver};
use roomcore_server::webhook::sign::verify;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const HOOK_SECRET: &str = "cluster-webhook-secret-0123456789abcdef";

/// `n` users each create a room of their own and leave it (4 service events each).
async fn churn(url: &str, tag: &str, n: usize) {
    for i in 0..n {
        let mut c = Client::connect(url).await.unwrap();
        c.login(&format!("{tag}s{i}"), &format!("{tag}u{i}")).await;
        let r = c
            .cmd(json!({"type": "create_room", "room": {"id": format!("{tag}r{i}")}}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
        let r = c
            .cmd(json!({"type": "leave_room", "room_id": format!("{tag}r{i}")}))
            .await;
        assert!(r.get("ok").is_some(), "{r}");
    }
}

/// The accepted events by `event_id` (signatures checked; each batch in increasing order).
fn by_id(recv: &Receiver) -> BTreeMap<u64, Value> {
    let mut out = BTreeMap::new();
    for hit in recv.hits().into_iter().filter(|h| h.accepted) {
        assert!(verify(
            HOOK_SECRET.as_bytes(),
            &hit.body,
            hit.signature.as_deref().unwrap()
        ));
        let v: Value = serde_json::from_slice(&hit.body).unwrap();
        let mut last = 0;
        for e in v["events"].as_array().unwrap() {
            let id = e["event_id"].as_u64().unwrap();
            assert!(id > last, "a batch out of order: {v}");
            last = id;
            // The same event_id is the same event, whichever node sent it.
            let prev = out.insert(id, e.clone());
            if let Some(p) = prev {
                assert_eq!(p, *e, "event {id} differs between nodes");
            }
        }
    }
    out
}

#[tokio::test]
async fn every_event_arrives_through_a_leader_failover() {
    let recv = Receiver::start().await;
    let url = recv.url();
    let tmp = tempfile::tempdir().unwrap();
    let hooks = [
        "--webhook-url",
        &url,
        "--webhook-secret",
        HOOK_SECRET,
        "--webhook-backoff-min-ms",
        "10",
        "--webhook-backoff-max-ms",
        "200",
    ];
    let flags = node_flags(&[FAILOVER_FLAGS, &hooks].concat());
    let mut nodes = start_group(tmp.path(), &flags).await;
    let leader = eventually("a leader", || async {
        let s = statuses(&nodes).await;
        let l = s.values().find(|v| v["role"] == "leader")?;
        l["node_id"].as_u64()
    })
    .await;
    let leader_url = nodes[usize::try_from(leader).unwrap() - 1].ws_url();
    // The receiver refuses everything while the leader lives: what it applied can only
    // arrive from the other nodes.
    recv.fail(true);
    churn(&leader_url, "a", 3).await;
    nodes[usize::try_from(leader).unwrap() - 1].kill9();
    let survivor = nodes.iter().find(|n| n.is_running()).unwrap().ws_url();
    churn(&survivor, "b", 3).await;
    recv.fail(false);
    eventually("every event at the receiver", || async {
        let got = summary(&by_id(&recv).into_values().collect::<Vec<_>>());
        (got.iter()
            .filter(|l| l.starts_with("room_destroyed"))
            .count()
            >= 6)
            .then_some(())
    })
    .await;
    let events = by_id(&recv);
    let max = *events.keys().last().unwrap();
    assert_eq!(events.len() as u64, max, "a gap in 1..={max}: {events:?}");
    let got = summary(&events.into_values().collect::<Vec<_>>());
    assert_churned_once(&got, &["a", "b"], 3);
}
