//! The server side of the network between nodes: axum routes that hand each RPC to the
//! local Raft, and take proposals forwarded by followers when this node leads.
//!
//! The routes live under `/raft/` so an embedding HTTP server can mount them beside its own
//! on one port ([`crate::node::Node::router`]). Every request must carry the cluster secret
//! (`Authorization: Bearer ...`) when one is configured: these routes can rewrite the log.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use axum::Router;
use openraft::errors::ClientWriteError;
use openraft::errors::RaftError;
use serde::Serialize;

use crate::driver::{stamp, WallClock};
use crate::proposal::{Command, RequestKey};
use crate::store::StateMachineStore;
use crate::types::TokioConfig;
use crate::wire::{self, Attempt, Forward, SnapshotHeader};

/// The Raft handle of a tokio node.
pub type TokioRaft = openraft::Raft<TokioConfig, StateMachineStore<TokioConfig>>;

pub(crate) struct RpcState {
    pub raft: TokioRaft,
    pub secret: Option<Arc<str>>,
    /// How long the leader waits for a forwarded proposal to apply.
    pub attempt_timeout: Duration,
}

/// The routes, ready to serve or to merge into a bigger router.
pub(crate) fn router(state: Arc<RpcState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route(wire::APPEND, post(append))
        .route(wire::VOTE, post(vote))
        .route(wire::SNAPSHOT, post(snapshot))
        .route(wire::PROPOSE, post(propose))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Proposes `command` here, stamped with this node's clock (only a leader accepts it, so
/// only a leader's clock is ever stamped).
pub(crate) async fn write_here(
    raft: &TokioRaft,
    request: Option<RequestKey>,
    command: Command,
    ttl: Duration,
) -> Attempt {
    let proposal = stamp(WallClock, request, command);
    match tokio::time::timeout(ttl, raft.client_write(proposal)).await {
        Err(_elapsed) => Attempt::Ambiguous,
        Ok(Ok(resp)) => Attempt::Applied {
            index: resp.log_id.index,
            response: resp.data,
        },
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => Attempt::NotLeader {
            leader: f.leader_id,
        },
        Ok(Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(_)))) => Attempt::Ambiguous,
        // A precondition or membership error cannot happen (none are used): treat it as a
        // refusal before append, which it is.
        Ok(Err(RaftError::APIError(_))) => Attempt::NotLeader { leader: None },
        Ok(Err(RaftError::Fatal(_))) => Attempt::Stopped,
    }
}

fn authorized(state: &RpcState, headers: &HeaderMap) -> bool {
    let Some(secret) = &state.secret else {
        return true;
    };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    secrets_equal(given.as_bytes(), secret.as_bytes())
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json<T: Serialize>(value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn bad_request(e: &impl std::fmt::Display) -> HttpResponse {
    (StatusCode::BAD_REQUEST, e.to_string()).into_response()
}

async fn append(State(s): State<Arc<RpcState>>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    if !authorized(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match serde_json::from_slice(&body) {
        Ok(rpc) => json(&s.raft.append_entries(rpc).await),
        Err(e) => bad_request(&e),
    }
}

async fn vote(State(s): State<Arc<RpcState>>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    if !authorized(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match serde_json::from_slice(&body) {
        Ok(rpc) => json(&s.raft.vote(rpc).await),
        Err(e) => bad_request(&e),
    }
}

async fn snapshot(State(s): State<Arc<RpcState>>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    if !authorized(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(split) = body.iter().position(|&b| b == b'\n') else {
        return bad_request(&"a snapshot starts with a header line");
    };
    let header: SnapshotHeader = match serde_json::from_slice(&body[..split]) {
        Ok(h) => h,
        Err(e) => return bad_request(&e),
    };
    let snapshot = openraft::type_config::alias::SnapshotOf::<TokioConfig, Vec<u8>> {
        meta: header.meta,
        snapshot: body[split + 1..].to_vec(),
    };
    let answer = s.raft.install_full_snapshot(header.vote, snapshot).await;
    json(&answer.map_err(RaftError::<TokioConfig>::from))
}

async fn propose(State(s): State<Arc<RpcState>>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    if !authorized(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match serde_json::from_slice::<Forward>(&body) {
        Ok(f) => json(&write_here(&s.raft, f.request, f.command, s.attempt_timeout).await),
        Err(e) => bad_request(&e),
    }
}
