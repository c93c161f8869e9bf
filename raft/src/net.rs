//! The client side of the network between nodes: openraft's network traits over HTTP/1.1,
//! on hyper's pooled client (one kept-alive connection per peer, reused by every RPC).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openraft::errors::{
    NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::{SnapshotOf, VoteOf};
use openraft::{BasicNode, OptionalSend, RaftNetworkFactory, RaftNetworkV2};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::{NodeId, TokioConfig};
use crate::wire::{self, Attempt, Forward, SnapshotHeader};

type C = TokioConfig;

/// Why a POST failed.
#[derive(Debug)]
pub enum PostError {
    /// No connection could be made (the peer is down, or not listening yet).
    Unreachable(String),
    /// No answer within the time allowed.
    Timeout,
    /// The peer answered with an error status (401: the cluster secret differs).
    Status(StatusCode),
    /// The answer could not be read or parsed.
    Body(String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Unreachable(e) => write!(f, "unreachable: {e}"),
            PostError::Timeout => f.write_str("timed out"),
            PostError::Status(s) => write!(f, "answered {s}"),
            PostError::Body(e) => write!(f, "bad answer: {e}"),
        }
    }
}

impl std::error::Error for PostError {}

/// HTTP to the other nodes. Clones share the connection pool.
#[derive(Clone)]
pub struct HttpNet {
    client: Client<HttpConnector, Full<Bytes>>,
    secret: Option<Arc<str>>,
    max_body_bytes: usize,
}

impl std::fmt::Debug for HttpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpNet").finish_non_exhaustive()
    }
}

impl HttpNet {
    /// A client sending `secret` as a bearer token, refusing answers over `max_body_bytes`.
    #[must_use]
    pub fn new(secret: Option<&str>, max_body_bytes: usize) -> HttpNet {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(1)));
        HttpNet {
            client: Client::builder(TokioExecutor::new()).build(connector),
            secret: secret.map(Arc::from),
            max_body_bytes,
        }
    }

    /// POSTs `body` to `http://{addr}{path}` and returns the answer's body.
    ///
    /// # Errors
    /// See [`PostError`].
    pub async fn post(
        &self,
        addr: &str,
        path: &str,
        body: Bytes,
        ttl: Duration,
    ) -> Result<Bytes, PostError> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("http://{addr}{path}"))
            .header(CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.secret {
            req = req.header(AUTHORIZATION, format!("Bearer {secret}"));
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| PostError::Unreachable(e.to_string()))?;
        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| {
                if e.is_connect() {
                    PostError::Unreachable(e.to_string())
                } else {
                    PostError::Body(e.to_string())
                }
            })?;
            if resp.status() != StatusCode::OK {
                return Err(PostError::Status(resp.status()));
            }
            let limited = Limited::new(resp.into_body(), self.max_body_bytes);
            let body = limited
                .collect()
                .await
                .map_err(|e| PostError::Body(e.to_string()))?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(ttl, exchange)
            .await
            .unwrap_or(Err(PostError::Timeout))
    }

    /// POSTs `value` as JSON and parses a JSON answer.
    ///
    /// # Errors
    /// See [`PostError`].
    pub async fn call<Q: Serialize, A: DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        value: &Q,
        ttl: Duration,
    ) -> Result<A, PostError> {
        let body = serde_json::to_vec(value).map_err(|e| PostError::Body(e.to_string()))?;
        let answer = self.post(addr, path, Bytes::from(body), ttl).await?;
        serde_json::from_slice(&answer).map_err(|e| PostError::Body(e.to_string()))
    }

    /// Forwards a proposal to the node at `addr` (the leader, as far as the caller knows).
    ///
    /// # Errors
    /// See [`PostError`]; the proposal may have been applied anyway unless the error is
    /// [`PostError::Unreachable`].
    pub async fn forward(
        &self,
        addr: &str,
        forward: &Forward,
        ttl: Duration,
    ) -> Result<Attempt, PostError> {
        self.call(addr, wire::PROPOSE, forward, ttl).await
    }
}

impl RaftNetworkFactory<C> for HttpNet {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            net: self.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// The connection to one peer.
#[derive(Debug, Clone)]
pub struct Peer {
    net: HttpNet,
    target: NodeId,
    addr: String,
}

fn rpc_error(e: &PostError) -> RPCError<C> {
    match e {
        PostError::Unreachable(_) => RPCError::Unreachable(Unreachable::new(e)),
        _ => RPCError::Network(NetworkError::new(e)),
    }
}

fn remote<T>(answer: Result<T, RaftError<C>>) -> Result<T, RPCError<C>> {
    answer.map_err(|e| RPCError::Network(NetworkError::new(&e)))
}

impl Peer {
    async fn rpc<Q: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        value: &Q,
        option: &RPCOption,
    ) -> Result<A, RPCError<C>> {
        let answer: Result<A, RaftError<C>> = self
            .net
            .call(&self.addr, path, value, option.hard_ttl())
            .await
            .map_err(|e| rpc_error(&e))?;
        remote(answer)
    }
}

impl RaftNetworkV2<C> for Peer {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<C>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<C>, RPCError<C>> {
        self.rpc(wire::APPEND, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<C>,
        option: RPCOption,
    ) -> Result<VoteResponse<C>, RPCError<C>> {
        self.rpc(wire::VOTE, &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<C>,
        snapshot: SnapshotOf<C, Vec<u8>>,
        cancel: impl std::future::Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<C>, StreamingError<C>> {
        let header = SnapshotHeader {
            vote,
            meta: snapshot.meta,
        };
        let mut body = serde_json::to_vec(&header).map_err(|e| NetworkError::new(&e))?;
        body.push(b'\n');
        body.extend_from_slice(&snapshot.snapshot);
        let send = self.net.post(
            &self.addr,
            wire::SNAPSHOT,
            Bytes::from(body),
            option.hard_ttl(),
        );
        let answer = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            answer = send => answer,
        };
        let bytes = answer.map_err(|e| match rpc_error(&e) {
            RPCError::Unreachable(u) => StreamingError::Unreachable(u),
            _ => StreamingError::Network(NetworkError::new(&e)),
        })?;
        let parsed: Result<SnapshotResponse<C>, RaftError<C>> =
            serde_json::from_slice(&bytes).map_err(|e| NetworkError::new(&e))?;
        parsed.map_err(|e| StreamingError::Network(NetworkError::new(&e)))
    }
}

impl Peer {
    /// The node this connection reaches.
    #[must_use]
    pub fn target(&self) -> NodeId {
        self.target
    }
}
