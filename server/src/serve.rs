//! The accept loop and the HTTP/1 connections, bounded in time and number:
//!
//! - every socket joins the pool of pending sockets ([`crate::pending`]) until its WebSocket
//!   logs in: per-address and total bounds, the oldest pushed out first;
//! - a request's headers must arrive within `header_read_timeout`, on a new connection and
//!   between requests of a kept-alive one (hyper's timer; `axum::serve` runs hyper without
//!   one, so a socket that never sends a request held its slot forever);
//! - request headers are bounded by [`crate::budget::HTTP_BUFFER_BYTES`].
//!
//! Every accepted socket gets TCP_NODELAY: frames are small and latency matters (Nagle's
//! algorithm against the peer's delayed ACK costs ~40 ms per reply).

use crate::budget::HTTP_BUFFER_BYTES;
use crate::pending::{Pending, Slot};
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_service::Service;

/// What a request handler learns about its connection (a request extension).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The peer's address.
    pub peer: SocketAddr,
    /// The socket's place among pending sockets.
    pub slot: Arc<Slot>,
}

/// Accepts and serves until `stop` fires.
///
/// # Errors
/// Never in practice: accept errors (out of file descriptors) are waited out.
pub async fn run(
    listener: TcpListener,
    router: Router,
    pending: Arc<Pending>,
    header_read_timeout: Duration,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            () = pending.wait_for_room() => {}
        }
        let (stream, peer) = tokio::select! {
            _ = &mut stop => return Ok(()),
            r = listener.accept() => match r {
                Ok(a) => a,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Best effort: a socket that refuses the option still works, only slower.
        let _ = stream.set_nodelay(true);
        let slot = Arc::new(pending.register(peer.ip()));
        let evicted = slot.evicted();
        let info = ConnInfo { peer, slot };
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(info.clone());
                let mut router = router.clone();
                async move { router.call(req).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .max_buf_size(HTTP_BUFFER_BYTES)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                _ = conn => {}
                () = evicted.cancelled() => {}
            }
        });
    }
}
