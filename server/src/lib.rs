//! `roomcore-server`: the reference embedding of [`roomcore`] in a tokio WebSocket service.
//!
//! The core is sans-IO; this crate is the IO around it, kept as a workspace member so the
//! library itself stays free of tokio. It shows the pattern an embedder copies:
//!
//! - **One task owns the engine** ([`engine_task`]). Connections never touch it: they send
//!   commands over a bounded channel and receive frames on their own bounded queue. One owner
//!   means no lock around the engine, a total order of inputs (so the run is exactly a trace
//!   that `roomcore replay` reproduces), and timers driven from a single
//!   [`roomcore::Engine::poll_timeout`].
//! - **The server stamps time** from its own monotonic clock ([`clock`]); clients never send
//!   `at`.
//! - **Every output is routed** to the connection of the session it is addressed to
//!   ([`routes`]); outputs for a session whose connection dropped wait (bounded) for its
//!   resume.
//! - **Bounded everything** ([`config::Limits`]), with the worst case of all bounds together
//!   checked against a memory budget at start ([`budget`]): sockets that are not sessions yet
//!   ([`pending`]: per address and in total, oldest pushed out, header and login timeouts),
//!   WebSocket frames, fragments and message time ([`ws`]), each connection's outbound queue
//!   in frames and bytes with every output serialized once and shared ([`outq`]), frames per
//!   second per connection, per-user quotas ([`quota`]), the engine's inbound queue.
//! - **Authenticated users** ([`auth`]): a login carries an HMAC-signed access token naming
//!   its user (and optionally its rooms), unless the server runs with `--insecure-dev`.
//! - **Honest resumes**: what a dropped connection had not written is replayed on resume, and
//!   what could not be is reported by request number ([`frames`]).
//! - **Durable and replicated** ([`cluster`]): with a data directory the engine lives in a
//!   Raft group (of one, or of several nodes that fail over), and [`cluster::ClusterTask`]
//!   takes the engine task's place: commands go through the log, each node delivers to the
//!   sessions it holds, sessions move with their clients' resume tokens.
//!
//! - **Webhooks** ([`webhook`]): service events POSTed to the service in signed batches, in
//!   `event_id` order, at least once, from a task of their own (the engine never waits).
//!
//! The wire format is in [`frames`]; the HTTP surface (session WebSocket, admin endpoint,
//! static page) in [`http`]; the accept loop in [`serve`]; the load client in [`load`]; the
//! hostile-client tool in [`hostile`].
#![forbid(unsafe_code)]

pub mod auth;
pub mod budget;
pub mod clock;
pub mod cluster;
pub mod config;
mod conn;
pub mod engine_task;
pub mod frames;
pub mod hostile;
pub mod http;
pub mod load;
pub mod outq;
pub mod pending;
pub mod quota;
pub mod routes;
pub mod serve;
pub mod token;
pub mod webhook;
pub mod ws;

pub use config::{AuthMode, DurableConfig, Limits, RaftSettings, ServerConfig};
pub use http::{start, RunningServer};
