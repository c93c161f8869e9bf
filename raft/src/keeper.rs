//! A node's housekeeping loop: it announces the process (`node_up`), announces a new
//! incarnation if the group fenced this one, and, while this node leads, proposes
//! `node_down` for a node that has not answered heartbeats for `node_down_after_ms`.

use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::{Instant as _, ServerState};
use tokio::time::Instant;

use crate::node::Node;
use crate::proposal::{Command, Response};
use crate::sessions::{Holder, SessionOp, SessionRefusal};

/// How often the loop looks.
pub const KEEPER_POLL: Duration = Duration::from_millis(50);

/// Runs until the node stops.
pub async fn run(node: Node) {
    let mut leader_since: Option<Instant> = None;
    while node.alive() {
        announce(&node).await;
        let leads = node.raft().metrics().borrow_watched().state == ServerState::Leader;
        leader_since = match (leads, leader_since) {
            (true, None) => Some(Instant::now()),
            (true, since) => since,
            (false, _) => None,
        };
        if let (Some(since), Some(after_ms)) = (leader_since, node.config().node_down_after_ms) {
            let after = Duration::from_millis(after_ms);
            if since.elapsed() >= after {
                for holder in silent_nodes(&node, after) {
                    let op = SessionOp::NodeDown { holder };
                    // Idempotent: a lost or repeated proposal is retried or ignored.
                    let _ = node.propose(None, Command::Session { op }).await;
                }
            }
        }
        tokio::time::sleep(KEEPER_POLL).await;
    }
}

/// Makes sure this process is announced as the node's live incarnation.
async fn announce(node: &Node) {
    let holder = node.holder();
    let live = node.sm().read(|m| m.sessions().is_live(holder));
    let fenced = node
        .sm()
        .read(|m| m.sessions().node(holder.node))
        .is_some_and(|(inc, down)| inc == holder.incarnation && down);
    if live {
        node.set_announced(holder, true);
        return;
    }
    // A fenced incarnation cannot come back: its sessions were taken from it. Start over
    // as a new one (the embedding sees the handoffs and closes those connections).
    let holder = if fenced {
        node.fresh_incarnation()
    } else {
        holder
    };
    node.set_announced(holder, false);
    let op = SessionOp::NodeUp { holder };
    match node.propose(None, Command::Session { op }).await {
        Ok(p) if matches!(p.response, Response::Session { .. }) => node.set_announced(holder, true),
        Ok(p)
            if p.response
                == (Response::SessionRefused {
                    reason: SessionRefusal::StaleHolder,
                }) =>
        {
            node.set_announced(node.fresh_incarnation(), false);
        }
        // No quorum yet: the next round tries again.
        _ => {}
    }
}

/// Live incarnations (other than this node) whose node has not acknowledged a heartbeat of
/// this leader for `after`.
fn silent_nodes(node: &Node, after: Duration) -> Vec<Holder> {
    let heartbeats = node.raft().metrics().borrow_watched().heartbeat.clone();
    let Some(heartbeats) = heartbeats else {
        return Vec::new();
    };
    node.sm()
        .read(|m| m.sessions().live_nodes())
        .into_iter()
        .filter(|h| h.node != node.id())
        .filter(|h| {
            let last = heartbeats.get(&h.node).and_then(Option::as_ref);
            last.is_none_or(|t| t.elapsed() >= after)
        })
        .collect()
}
