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
//! - **Bounded everything** ([`config::Limits`]): connections, frame size, each connection's
//!   outbound queue (a consumer too slow to keep up is disconnected, which the engine sees as
//!   `link_lost`), frames per second per connection, the engine's inbound queue.
//!
//! The wire format is in [`frames`]; the HTTP surface (session WebSocket, admin endpoint,
//! static page) in [`http`]; the load client in [`load`].
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
mod conn;
pub mod engine_task;
pub mod frames;
pub mod http;
pub mod listener;
pub mod load;
pub mod routes;
pub mod token;

pub use config::{Limits, ServerConfig};
pub use http::{start, RunningServer};
