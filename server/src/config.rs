//! Server settings: the engine's [`roomcore::Config`] plus the bounds of the transport.

use std::time::Duration;

/// Everything the server needs at start-up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The engine's limits and timings (reconnect grace, device policy, ...).
    pub engine: roomcore::Config,
    /// The bearer token the admin endpoint requires (`Authorization: Bearer <token>`).
    pub admin_token: String,
    /// Transport bounds.
    pub limits: Limits,
}

impl ServerConfig {
    /// The engine's defaults, the given admin token and the default limits.
    #[must_use]
    pub fn new(admin_token: &str) -> ServerConfig {
        ServerConfig {
            engine: roomcore::Config::default(),
            admin_token: admin_token.to_owned(),
            limits: Limits::default(),
        }
    }
}

/// Bounds on everything a client can make the server hold. Every field has a default sized
/// for one machine serving thousands of connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open WebSocket connections at once; an upgrade past it is answered 503.
    pub max_connections: usize,
    /// Open TCP connections of any kind (WebSockets, the page, admin requests). Past it the
    /// server stops accepting until one closes; keep it above `max_connections` so that an
    /// extra WebSocket gets its 503.
    pub max_tcp_connections: usize,
    /// Largest frame (and admin request body) accepted, in bytes. A larger WebSocket message
    /// ends the connection (it cannot be skipped without reading it); the engine sees
    /// `link_lost`. An admin body past it is answered 413.
    pub max_frame_bytes: usize,
    /// Frames waiting to be written to one connection. When the engine's output for a
    /// connection finds its queue full, the consumer is too slow: it is disconnected and the
    /// engine sees `link_lost`.
    pub outbound_queue: usize,
    /// Frames per second one connection may send (token bucket refill rate).
    pub frames_per_s: u32,
    /// Frames one connection may send in a burst (token bucket size).
    pub frames_burst: u32,
    /// Commands waiting for the engine task (all connections together). A full queue makes
    /// connections wait before reading more frames: backpressure, not loss.
    pub engine_queue: usize,
    /// A connection that sends nothing (not even a pong) for this long is closed. The server
    /// pings at a third of it, and browsers answer pings on their own.
    pub idle_timeout: Duration,
    /// Outputs kept for a session whose connection dropped, delivered when it resumes. They
    /// are few (a room state change per room it was in, a `session_closed`); past the bound
    /// the oldest are dropped and the resume says `gap: true`.
    pub max_pending_per_session: usize,
    /// A session without a connection for this long is logged out by the server, so sessions
    /// whose clients never come back do not pile up. Keep it above the reconnect grace.
    pub abandoned_session: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_tcp_connections: 10_240,
            max_frame_bytes: 64 * 1024,
            outbound_queue: 1024,
            frames_per_s: 100,
            frames_burst: 200,
            engine_queue: 8192,
            idle_timeout: Duration::from_secs(60),
            max_pending_per_session: 64,
            abandoned_session: Duration::from_secs(300),
        }
    }
}
