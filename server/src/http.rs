//! The HTTP surface:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` , `/app.js`, `/app.css` | the live page (static files compiled into the binary) |
//! | `GET /ws` | a session connection (WebSocket; frames in [`crate::frames`]) |
//! | `POST /admin` | one admin command (`remove_users`, `dismiss_room`) as the JSON body; needs `Authorization: Bearer <token>`; answers its `admin_reply` trace line |
//! | `GET /admin/stats` | the engine task's counters (same token) |

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::conn::{self, ConnParams};
use crate::engine_task::{Cmd, EngineTask};
use crate::frames::{FrameError, FrameErrorCode};
use crate::listener::BoundedListener;
use crate::token::secrets_equal;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use roomcore::{Engine, Input};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");

/// Read buffer of a WebSocket connection (see `ws`).
pub const READ_BUFFER_BYTES: usize = 4096;

/// What every request handler shares.
#[derive(Clone)]
struct App {
    engine: mpsc::Sender<Cmd>,
    config: Arc<ServerConfig>,
    slots: Arc<Semaphore>,
    next_conn: Arc<AtomicU64>,
}

/// A server accepting connections; dropping it leaves it running until the runtime ends.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, and waits for the HTTP server to finish.
    ///
    /// # Errors
    /// The server's own IO error, if it failed.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.unwrap_or(Ok(()))
    }

    /// Waits until the server stops (it runs until shut down or the process ends).
    ///
    /// # Errors
    /// The server's own IO error, if it failed.
    pub async fn wait(self) -> io::Result<()> {
        self.task.await.unwrap_or(Ok(()))
    }
}

/// Starts the engine task and the HTTP server on `listener`.
///
/// # Errors
/// An invalid engine config, an empty admin token, or a listener without an address.
pub async fn start(listener: TcpListener, config: ServerConfig) -> io::Result<RunningServer> {
    if config.admin_token.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the admin token must not be empty",
        ));
    }
    let engine = Engine::new(config.engine.clone())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(config.limits.engine_queue.max(1));
    let task = EngineTask::new(engine, Clock::start(), &config.limits);
    tokio::spawn(task.run(rx));
    let app = App {
        engine: tx,
        slots: Arc::new(Semaphore::new(config.limits.max_connections)),
        next_conn: Arc::new(AtomicU64::new(1)),
        config: Arc::new(config),
    };
    let body_limit = app.config.limits.max_frame_bytes;
    let max_tcp = app.config.limits.max_tcp_connections;
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
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Frames are small and latency matters: without TCP_NODELAY (set by the listener),
        // Nagle's algorithm meets the peer's delayed ACK and a reply waits ~40 ms.
        let listener = BoundedListener::new(listener, max_tcp);
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        shutdown: stop_tx,
        task,
    })
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn ws(State(app): State<App>, upgrade: WebSocketUpgrade) -> Response {
    let Ok(permit) = app.slots.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    let limits = &app.config.limits;
    let params = ConnParams {
        id: app.next_conn.fetch_add(1, Ordering::Relaxed),
        engine: app.engine.clone(),
        outbound_queue: limits.outbound_queue,
        frames_per_s: limits.frames_per_s,
        frames_burst: limits.frames_burst,
        idle_timeout: limits.idle_timeout,
        permit,
    };
    upgrade
        // tungstenite zero-fills its whole read buffer before every read (128 KiB by
        // default): with small frames that memset was 40% of the server's CPU under load.
        // Commands are small; a larger frame still grows the buffer as needed.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .on_upgrade(move |socket| conn::serve(socket, params))
}

fn json_error(status: StatusCode, code: FrameErrorCode, message: &str) -> Response {
    let body = FrameError::new(code, message, None).to_frame();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let Some(given) = value.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    secrets_equal(given, token.as_bytes())
}

fn unauthorized() -> Response {
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        FrameErrorCode::Unauthorized,
        "the admin endpoint needs Authorization: Bearer <token>",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

async fn admin(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &app.config.admin_token) {
        return unauthorized();
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
    if !matches!(input, Input::RemoveUsers { .. } | Input::DismissRoom { .. }) {
        return json_error(
            StatusCode::BAD_REQUEST,
            FrameErrorCode::NotAdmin,
            "the admin endpoint takes remove_users and dismiss_room only",
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

async fn stats(State(app): State<App>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &app.config.admin_token) {
        return unauthorized();
    }
    let (tx, rx) = oneshot::channel();
    if app.engine.send(Cmd::Stats { reply: tx }).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match rx.await {
        Ok(s) => axum::Json(s).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
