//! The HTTP surface:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` , `/app.js`, `/app.css` | the live page (static files compiled into the binary) |
//! | `GET /ws` | a session connection (WebSocket; frames in [`crate::frames`]) |
//! | `POST /admin` | one admin command (any input whose origin is the service: `remove_users`, `dismiss_room`, `admin_create_room`, `list_rooms`, `query_room`, `admin_set_room_attributes`, `move_users`, `ban_users`, `unban_users`) as the JSON body; needs `Authorization: Bearer <token>`; answers its `admin_reply` trace line |
//! | `GET /admin/stats` | the engine task's counters, and `webhook` delivery's with `--webhook-url` (same token) |
//! | `GET /admin/events` | the last 100 service events (with `--service-events` or `--webhook-url`), oldest first (same token) |
//! | `POST /admin/token` | mints an access token: `{"user":"alice","rooms":["lobby"],"ttl_s":3600}` → `{"token":"eyJ.."}` (same token) |
//! | `POST /dev/token` | with `--insecure-dev` only: the same without the admin token, for the live page |
//! | `GET /status` | the replica's status (same token): `{"node_id","role","leader_id","last_applied","state_digest"}` |
//! | `GET /cluster` | the group's node addresses, so a client can resume on another node (public) |
//! | `POST /raft/*` | in a group: the Raft routes between nodes (the cluster secret as bearer) |
//!
//! Failed admin attempts are rate-limited per address ([`AdminGuard`]).

use crate::auth::{self, Claims};
use crate::clock::Clock;
use crate::config::{AuthMode, ServerConfig};
use crate::conn::{self, ConnParams};
use crate::engine_task::{Cmd, EngineTask};
use crate::frames::{FrameError, FrameErrorCode};
use crate::outq::Meter;
use crate::pending::{Pending, PendingLimits};
use crate::serve::{self, ConnInfo};
use crate::token::secrets_equal;
use crate::webhook::{ServiceEvents, Webhook};
use crate::ws::handshake::{self, HandshakeError};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use roomcore::{Engine, Input};
use roomcore_raft::{Node, Status};
use serde::Deserialize;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");

/// Longest lifetime of a minted access token (30 days).
pub const MAX_TOKEN_TTL_S: u64 = 30 * 24 * 3600;

/// Time between the 101 answer and the upgraded socket being handed over.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request handler shares.
#[derive(Clone)]
struct App {
    engine: mpsc::Sender<Cmd>,
    config: Arc<ServerConfig>,
    limits: Arc<crate::config::Limits>,
    auth: Arc<AuthMode>,
    slots: Arc<Semaphore>,
    next_conn: Arc<AtomicU64>,
    meter: Arc<Meter>,
    pending: Arc<Pending>,
    admin_guard: Arc<AdminGuard>,
    /// The replicated node, when the state is durable.
    node: Option<Node>,
    /// The group's node addresses (empty unless in a group), for `GET /cluster`.
    cluster_nodes: Arc<Vec<String>>,
    /// Service events: the webhook's counters and the recent events.
    events: ServiceEvents,
}

/// A server accepting connections; dropping it leaves it running until the runtime ends.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
    node: Option<Node>,
}

impl RunningServer {
    /// Stops accepting, and waits for the accept loop to end (open connections live on
    /// until the runtime ends).
    ///
    /// # Errors
    /// The server's own IO error, if it failed.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        let r = self.task.await.unwrap_or(Ok(()));
        if let Some(node) = &self.node {
            // Everything written reaches the disk before the process ends.
            node.shutdown().await;
        }
        r
    }

    /// The replicated node, when the state is durable.
    #[must_use]
    pub fn node(&self) -> Option<&Node> {
        self.node.as_ref()
    }

    /// Waits until the server stops (it runs until shut down or the process ends).
    ///
    /// # Errors
    /// The server's own IO error, if it failed.
    pub async fn wait(self) -> io::Result<()> {
        self.task.await.unwrap_or(Ok(()))
    }

    /// Waits until the accept loop ends, keeping the server (to shut it down after).
    ///
    /// # Errors
    /// The server's own IO error, if it failed.
    pub async fn wait_running(&mut self) -> io::Result<()> {
        (&mut self.task).await.unwrap_or(Ok(()))
    }
}

/// Starts the engine task and the HTTP server on `listener`.
///
/// # Errors
/// A configuration that [`ServerConfig::validate`] refuses, or a listener without an address.
pub async fn start(listener: TcpListener, config: ServerConfig) -> io::Result<RunningServer> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let addr = listener.local_addr()?;
    let l = config.limits.clone();
    let meter = Arc::new(Meter::default());
    let (tx, rx) = mpsc::channel(l.engine_queue.max(1));
    let events = ServiceEvents::new(config.webhook.clone().map(Webhook::start));
    let node = match &config.durable {
        None => {
            let engine = Engine::new(config.engine.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            let task = EngineTask::new(engine, Clock::start(), &l, meter.clone())
                .with_service_events(events.clone());
            tokio::spawn(task.run(rx));
            None
        }
        Some(d) => {
            let node = crate::cluster::open(&config, d).await?;
            let task = crate::cluster::ClusterTask::new(node.clone(), &l, meter.clone())
                .with_service_events(events.clone());
            tokio::spawn(task.run(rx));
            Some(node)
        }
    };
    let group = config.durable.as_ref().filter(|d| d.is_group());
    let cluster_nodes: Vec<String> =
        group.map_or(Vec::new(), |d| d.peers.values().cloned().collect());
    let peer_routes = match (group, &node) {
        (Some(d), Some(node)) => {
            let secret: Arc<str> = Arc::from(d.cluster_secret.as_deref().unwrap_or(""));
            Some(
                node.router()
                    .layer(axum::middleware::from_fn_with_state(secret, promote_peer)),
            )
        }
        _ => None,
    };
    let pending = Pending::new(PendingLimits {
        max_total: l.max_pending_connections,
        max_per_ip: l.max_pending_per_ip,
        min_age: l.pending_min_age,
    });
    let app = App {
        engine: tx,
        slots: Arc::new(Semaphore::new(l.max_connections)),
        next_conn: Arc::new(AtomicU64::new(1)),
        meter,
        pending: pending.clone(),
        admin_guard: Arc::new(AdminGuard::default()),
        node: node.clone(),
        cluster_nodes: Arc::new(cluster_nodes),
        events,
        auth: Arc::new(config.auth.clone()),
        limits: Arc::new(l.clone()),
        config: Arc::new(config),
    };
    let router = Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/app.js",
            get(|| async { static_file("text/javascript", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { static_file("text/css", APP_CSS) }),
        )
        .route("/ws", get(ws))
        .route("/admin", post(admin))
        .route("/admin/stats", get(stats))
        .route("/admin/events", get(recent_events))
        .route("/admin/token", post(admin_token))
        .route("/dev/token", post(dev_token))
        .route("/status", get(status))
        .route("/cluster", get(cluster))
        .layer(DefaultBodyLimit::max(l.max_frame_bytes))
        .with_state(app);
    // The Raft routes keep their own body limit (a snapshot travels in one request).
    let router = match peer_routes {
        Some(peers) => router.merge(peers),
        None => router,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve::run(
        listener,
        router,
        pending,
        l.header_read_timeout,
        stop_rx,
    ));
    Ok(RunningServer {
        addr,
        shutdown: stop_tx,
        task,
        node,
    })
}

/// A connection that presents the cluster secret is another node of the group: it leaves
/// the pool of pending sockets. Any other request to the Raft routes is refused here,
/// before its body (which may be as large as a snapshot) is read.
async fn promote_peer(
    State(secret): State<Arc<str>>,
    Extension(info): Extension<ConnInfo>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if !given.is_some_and(|g| !secret.is_empty() && secrets_equal(g, secret.as_bytes())) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    info.slot.promote();
    next.run(req).await
}

async fn status(
    State(app): State<App>,
    Extension(info): Extension<ConnInfo>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admin_refusal(&app, &info, &headers) {
        return r;
    }
    let status: Option<Status> = match &app.node {
        // The digest serializes the whole engine: off the async workers.
        Some(node) => {
            let node = node.clone();
            tokio::task::spawn_blocking(move || node.status())
                .await
                .ok()
        }
        None => {
            let (tx, rx) = oneshot::channel();
            if app.engine.send(Cmd::Status { reply: tx }).await.is_err() {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            rx.await.ok()
        }
    };
    match status {
        Some(s) => axum::Json(s).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn cluster(State(app): State<App>) -> Response {
    axum::Json(serde_json::json!({"nodes": *app.cluster_nodes})).into_response()
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn ws(
    State(app): State<App>,
    Extension(info): Extension<ConnInfo>,
    mut req: Request,
) -> Response {
    let key = match handshake::accept(req.method(), req.headers()) {
        Ok(k) => k,
        Err(HandshakeError::Version) => {
            let mut r = (
                StatusCode::UPGRADE_REQUIRED,
                HandshakeError::Version.message(),
            )
                .into_response();
            r.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                header::HeaderValue::from_static("13"),
            );
            return r;
        }
        Err(e) => return (StatusCode::BAD_REQUEST, e.message()).into_response(),
    };
    let Some(on_upgrade) = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        return (
            StatusCode::BAD_REQUEST,
            "this connection cannot be upgraded",
        )
            .into_response();
    };
    let Ok(permit) = app.slots.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    let params = ConnParams {
        id: app.next_conn.fetch_add(1, Ordering::Relaxed),
        engine: app.engine.clone(),
        limits: app.limits.clone(),
        auth: app.auth.clone(),
        meter: app.meter.clone(),
        slot: info.slot,
        permit,
    };
    tokio::spawn(async move {
        let Ok(Ok(upgraded)) = tokio::time::timeout(UPGRADE_TIMEOUT, on_upgrade).await else {
            return;
        };
        // The socket is ours again, with whatever the client sent past its request.
        let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
            return;
        };
        conn::serve(parts.io.into_inner(), parts.read_buf, params).await;
    });
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("upgrade"),
    );
    if let Ok(v) = header::HeaderValue::from_str(&key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

fn json_error(status: StatusCode, code: FrameErrorCode, message: &str) -> Response {
    let body = FrameError::new(code, message, None).to_frame();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Failed admin attempts per address: a bucket of [`AdminGuard::BURST`] failures refilled
/// at one per [`AdminGuard::REFILL`]. An address with none left is answered 429 without its
/// token being looked at. At most [`AdminGuard::MAX_ADDRESSES`] addresses are tracked; past
/// that, all untracked addresses share one bucket.
#[derive(Debug, Default)]
pub struct AdminGuard {
    buckets: Mutex<HashMap<Option<IpAddr>, (f64, Instant)>>,
}

impl AdminGuard {
    /// Failures an address may have in a row.
    pub const BURST: f64 = 10.0;
    /// Time to earn one more.
    pub const REFILL: Duration = Duration::from_secs(6);
    /// Addresses tracked at most.
    pub const MAX_ADDRESSES: usize = 10_000;

    fn with<T>(&self, ip: IpAddr, f: impl FnOnce(&mut f64) -> T) -> T {
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if map.len() >= Self::MAX_ADDRESSES && !map.contains_key(&Some(ip)) {
            // Forget addresses whose buckets are full again before sharing one.
            let per = Self::REFILL.as_secs_f64();
            map.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() / per < Self::BURST);
        }
        let key = if map.len() >= Self::MAX_ADDRESSES && !map.contains_key(&Some(ip)) {
            None
        } else {
            Some(ip)
        };
        let (tokens, at) = map.entry(key).or_insert((Self::BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() / Self::REFILL.as_secs_f64())
            .min(Self::BURST);
        *at = now;
        f(tokens)
    }

    /// Whether `ip` may try now.
    fn allows(&self, ip: IpAddr) -> bool {
        self.with(ip, |t| *t >= 1.0)
    }

    fn failed(&self, ip: IpAddr) {
        self.with(ip, |t| *t = (*t - 1.0).max(0.0));
    }
}

/// Checks the admin bearer token, rate-limiting failures; `Some` is the refusal to send.
fn admin_refusal(app: &App, info: &ConnInfo, headers: &HeaderMap) -> Option<Response> {
    let ip = info.peer.ip();
    if !app.admin_guard.allows(ip) {
        return Some(json_error(
            StatusCode::TOO_MANY_REQUESTS,
            FrameErrorCode::TooManyAttempts,
            "too many failed admin attempts from this address; wait",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if given.is_some_and(|g| secrets_equal(g, app.config.admin_token.as_bytes())) {
        return None;
    }
    app.admin_guard.failed(ip);
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        FrameErrorCode::Unauthorized,
        "the admin endpoint needs Authorization: Bearer <token>",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    Some(r)
}

async fn admin(
    State(app): State<App>,
    Extension(info): Extension<ConnInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = admin_refusal(&app, &info, &headers) {
        return r;
    }
    let input: Input = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                FrameErrorCode::MalformedFrame,
                &e.to_string(),
            )
        }
    };
    if !input.is_admin() {
        return json_error(
            StatusCode::BAD_REQUEST,
            FrameErrorCode::NotAdmin,
            "the admin endpoint takes admin commands only",
        );
    }
    let (tx, rx) = oneshot::channel();
    if app
        .engine
        .send(Cmd::Admin { input, reply: tx })
        .await
        .is_err()
    {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match rx.await {
        Ok(stamped) => (
            [(header::CONTENT_TYPE, "application/json")],
            roomcore::trace::output_line(&stamped),
        )
            .into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn stats(
    State(app): State<App>,
    Extension(info): Extension<ConnInfo>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admin_refusal(&app, &info, &headers) {
        return r;
    }
    let (tx, rx) = oneshot::channel();
    if app.engine.send(Cmd::Stats { reply: tx }).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match rx.await {
        Ok(mut s) => {
            s.pending_connections = app.pending.count();
            s.pending_evicted = app.pending.evicted();
            s.webhook = app.events.webhook().map(Webhook::stats);
            s.replication = app.node.as_ref().map(|node| {
                let (log_entries, log_first_index) = node.log_span();
                crate::engine_task::ReplicationStats {
                    log_entries,
                    log_first_index,
                    snapshots_installed: node.snapshots_installed(),
                }
            });
            axum::Json(s).into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The last service events this node's engine produced (numbered ones only: the engine's
/// `service_events` must be on), oldest first: `{"events":[...]}`.
async fn recent_events(
    State(app): State<App>,
    Extension(info): Extension<ConnInfo>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admin_refusal(&app, &info, &headers) {
        return r;
    }
    let body = format!("{{\"events\":[{}]}}", app.events.recent().join(","));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A request for an access token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    user: String,
    #[serde(default)]
    rooms: Option<Vec<String>>,
    #[serde(default)]
    ttl_s: Option<u64>,
}

fn mint_response(key: &auth::SigningKey, body: &[u8]) -> Response {
    let req: TokenRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                FrameErrorCode::MalformedFrame,
                &e.to_string(),
            )
        }
    };
    let ttl = req.ttl_s.unwrap_or(3600).clamp(1, MAX_TOKEN_TTL_S);
    let claims = Claims {
        sub: req.user,
        exp: auth::unix_now_s() + ttl,
        rooms: req.rooms,
    };
    let token = auth::mint(key, &claims);
    axum::Json(serde_json::json!({"token": token, "exp": claims.exp})).into_response()
}

async fn admin_token(
    State(app): State<App>,
    Extension(info): Extension<ConnInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = admin_refusal(&app, &info, &headers) {
        return r;
    }
    mint_response(app.auth.key(), &body)
}

async fn dev_token(State(app): State<App>, body: Bytes) -> Response {
    match &*app.auth {
        AuthMode::InsecureDev(key) => mint_response(key, &body),
        AuthMode::Tokens(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
