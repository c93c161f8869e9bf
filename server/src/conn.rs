//! One WebSocket connection: a reader half and a writer half run side by side in one task;
//! when either ends (peer closed, error, idle, killed by the engine task) the other is
//! dropped with it, the socket closes, and the engine task is told.
//!
//! The reader parses and checks frames (rate limit, malformed JSON, admin commands, server
//! events) without bothering the engine task, and forwards the rest. The writer serializes
//! engine outputs, so JSON work is spread over the runtime's threads.

use crate::engine_task::Cmd;
use crate::frames::{parse_client_frame, ClientFrame, Frame, FrameError, FrameErrorCode};
use crate::routes::{ConnId, Kick};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio::time::Instant;

/// What a connection task needs besides its socket.
pub(crate) struct ConnParams {
    pub id: ConnId,
    pub engine: mpsc::Sender<Cmd>,
    pub outbound_queue: usize,
    pub frames_per_s: u32,
    pub frames_burst: u32,
    pub idle_timeout: Duration,
    /// Held for the connection's life: the slot it takes under `max_connections`.
    pub permit: OwnedSemaphorePermit,
}

/// Drives one connection to its end.
pub(crate) async fn serve(socket: WebSocket, p: ConnParams) {
    let (tx, rx) = mpsc::channel(p.outbound_queue.max(1));
    let (kill_tx, kill_rx) = oneshot::channel();
    let open = Cmd::Open {
        conn: p.id,
        tx: tx.clone(),
        kill: kill_tx,
    };
    if p.engine.send(open).await.is_err() {
        return; // the engine task is gone: the server is shutting down
    }
    let (sink, stream) = socket.split();
    let bucket = TokenBucket::new(p.frames_per_s, p.frames_burst);
    let reader = read_loop(stream, p.id, &p.engine, tx, bucket, p.idle_timeout);
    let writer = write_loop(sink, rx, kill_rx, p.idle_timeout / 3);
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
    // Always reaches the engine task (it waits for room in the queue): a lost `Closed`
    // would leave the session attached to a dead connection.
    let _ = p.engine.send(Cmd::Closed { conn: p.id }).await;
    drop(p.permit);
}

async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    conn: ConnId,
    engine: &mpsc::Sender<Cmd>,
    tx: mpsc::Sender<Frame>,
    mut bucket: TokenBucket,
    idle: Duration,
) {
    loop {
        let msg = match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(msg))) => msg,
            // Idle too long, closed, or a protocol error (including a frame over the limit).
            Ok(None | Some(Err(_))) | Err(_) => return,
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                let e = FrameError::new(FrameErrorCode::BinaryFrame, "send JSON text", None);
                let _ = tx.try_send(Frame::Text(e.to_frame()));
                continue;
            }
            Message::Close(_) => return,
            // Pings are answered by the socket itself; both count as signs of life.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let cmd = match parse_client_frame(text.as_str()) {
            Ok(frame) if !bucket.take() => Err(FrameError::new(
                FrameErrorCode::RateLimited,
                "too many frames per second; this one was dropped",
                request_of_frame(&frame),
            )),
            Ok(ClientFrame::Input { input, request }) => Ok(Cmd::Input {
                conn,
                input,
                request,
            }),
            Ok(ClientFrame::Resume { session, token }) => Ok(Cmd::Resume {
                conn,
                session,
                token,
            }),
            Err(e) => {
                // Bad frames cost tokens too, so garbage cannot be sent faster than commands.
                bucket.take();
                Err(e)
            }
        };
        match cmd {
            Ok(cmd) => {
                if engine.send(cmd).await.is_err() {
                    return;
                }
            }
            // A reader never waits on its own writer: if even an error frame does not fit,
            // the consumer is too slow and the engine task will notice soon enough.
            Err(e) => drop(tx.try_send(Frame::Text(e.to_frame()))),
        }
    }
}

fn request_of_frame(frame: &ClientFrame) -> Option<u64> {
    match frame {
        ClientFrame::Input { request, .. } => *request,
        ClientFrame::Resume { .. } => None,
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Frame>,
    mut kill: oneshot::Receiver<Kick>,
    ping_every: Duration,
) {
    let mut ping = tokio::time::interval(ping_every.max(Duration::from_millis(10)));
    ping.tick().await; // the first tick is immediate
    loop {
        let msg = tokio::select! {
            biased;
            why = &mut kill => {
                // Fired (too slow, replaced) or dropped (the engine task forgot us): close.
                // A slow peer may never read the close frame; do not wait for it long.
                let reason = match why {
                    Ok(Kick::TooSlow) => "too slow: outbound queue full",
                    Ok(Kick::Replaced) => {
                        // Not slow, just superseded: let it read what was queued (its
                        // `replaced` error frame last).
                        flush_queued(&mut sink, &mut rx).await;
                        "replaced by another connection"
                    }
                    Err(_) => "closed",
                };
                let close = Message::Close(Some(CloseFrame { code: 1008, reason: reason.into() }));
                let _ = tokio::time::timeout(Duration::from_millis(100), sink.send(close)).await;
                return;
            }
            frame = rx.recv() => match frame {
                Some(f) => Message::Text(f.into_text().into()),
                None => return,
            },
            _ = ping.tick() => Message::Ping(Default::default()),
        };
        // Whatever else is queued goes out with it: one write (one syscall) for a burst of
        // frames instead of one each.
        let batch = async {
            sink.feed(msg).await?;
            for _ in 1..WRITE_BATCH {
                match rx.try_recv() {
                    Ok(f) => sink.feed(Message::Text(f.into_text().into())).await?,
                    Err(_) => break,
                }
            }
            sink.flush().await
        };
        // A write blocked on a slow peer must still give way to the kill switch.
        tokio::select! {
            biased;
            _ = &mut kill => return,
            r = batch => if r.is_err() { return },
        }
    }
}

/// Frames written per flush at most.
const WRITE_BATCH: usize = 64;

/// Sends what is already queued, giving up after a short while.
async fn flush_queued(sink: &mut SplitSink<WebSocket, Message>, rx: &mut mpsc::Receiver<Frame>) {
    let flush = async {
        while let Ok(f) = rx.try_recv() {
            if sink
                .send(Message::Text(f.into_text().into()))
                .await
                .is_err()
            {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(200), flush).await;
}

/// Frames a connection may send: `rate` per second, `burst` at once.
struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32, burst: u32) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
