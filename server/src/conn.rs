//! One WebSocket connection: a reader and a writer over the two halves of its socket, in one
//! task. When either ends (peer closed, error, limit, idle, pushed out before login, killed
//! by the engine task) the connection closes with a close frame saying why, and the engine
//! task is told.
//!
//! The reader parses and checks frames (limits, rate, malformed JSON, admin commands,
//! server events, access tokens) without bothering the engine task, and forwards the rest.
//! The writer sends what the engine task queued, already serialized and shared.

use crate::auth;
use crate::config::{AuthMode, Limits};
use crate::engine_task::Cmd;
use crate::frames::{parse_client_frame, ClientFrame, FrameError, FrameErrorCode};
use crate::outq::{Item, Meter, OutQueue, QueueLimits, SharedFrame};
use crate::pending::Slot;
use crate::routes::{ConnId, Kick};
use crate::ws::read::{FrameReader, Incoming, ReadError, ReadLimits};
use crate::ws::write::{close_payload, Batch, Kind};
use crate::ws::{CloseCode, Closing};
use bytes::Bytes;
use roomcore::Input;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

/// Frames written per batch at most (one vectored write for a burst of small frames).
const WRITE_BATCH: usize = 64;
/// Bytes written per batch, about.
const WRITE_BATCH_BYTES: usize = 64 * 1024;
/// How long a closing connection may take to write its last frames.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_millis(200);

/// What a connection task needs besides its socket.
pub(crate) struct ConnParams {
    pub id: ConnId,
    pub engine: mpsc::Sender<Cmd>,
    pub limits: Arc<Limits>,
    pub auth: Arc<AuthMode>,
    pub meter: Arc<Meter>,
    /// Its place among sockets not logged in yet; the engine task promotes it at login.
    pub slot: Arc<Slot>,
    /// Held for the connection's life: the slot it takes under `max_connections`.
    pub permit: OwnedSemaphorePermit,
}

/// How a connection ended.
#[derive(Debug)]
enum Ending {
    /// The peer sent a close frame: answer it.
    PeerClosed,
    /// The peer closed the TCP connection, or the socket failed: nobody to tell.
    Gone,
    /// The server closes, saying why.
    Close(Closing),
    /// The engine task closed it.
    Kicked(Kick),
}

/// Drives one connection to its end.
pub(crate) async fn serve(stream: TcpStream, prefix: Bytes, p: ConnParams) {
    let l = &p.limits;
    let queue = OutQueue::new(
        QueueLimits {
            max_frames: l.outbound_queue,
            max_bytes: l.outbound_queue_bytes,
            max_total_bytes: l.outbound_total_bytes,
            fair_bytes: crate::engine_task::fair_share(l),
        },
        p.meter.clone(),
    );
    let (kill_tx, mut kill_rx) = oneshot::channel();
    let open = Cmd::Open {
        conn: p.id,
        queue: queue.clone(),
        kill: kill_tx,
        slot: Some(p.slot.clone()),
    };
    if p.engine.send(open).await.is_err() {
        return; // the engine task is gone: the server is shutting down
    }
    let (rd, mut wr) = stream.into_split();
    let read_limits = ReadLimits {
        max_frame_bytes: l.max_frame_bytes,
        max_message_bytes: l.max_frame_bytes,
        max_fragments: l.max_fragments,
    };
    let mut reader = FrameReader::new(rd, &prefix, read_limits);
    let stop = Stop::default();
    let evicted = p.slot.evicted();
    let ending = {
        let read = read_loop(&mut reader, &p, &queue);
        let write = write_loop(&mut wr, &queue, l.idle_timeout / 3, &stop);
        tokio::pin!(read, write);
        let (ending, from_reader) = tokio::select! {
            e = &mut read => (e, true),
            e = &mut write => (e, false),
            why = &mut kill_rx => (why.map_or(
                Ending::Close(Closing::new(CloseCode::GoingAway, "server shutting down")),
                Ending::Kicked,
            ), false),
            () = evicted.cancelled() => (Ending::Close(Closing::new(
                CloseCode::TryAgainLater,
                "too many connections not logged in; try again",
            )), false),
        };
        // The reader ended (the peer closed or half-closed, or broke a rule): let the batch
        // being written finish, so what reached the socket is known and the rest is replayed
        // on resume rather than reported lost.
        if from_reader && !stop.done() {
            stop.set();
            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, &mut write).await;
        }
        ending
    };
    finish(&mut wr, &queue, ending).await;
    // Always reaches the engine task (it waits for room in the queue): a lost `Closed`
    // would leave the session attached to a dead connection.
    let _ = p.engine.send(Cmd::Closed { conn: p.id }).await;
    drop(p.permit);
}

/// Writes the last frames and the close frame, briefly: a peer that does not read is not
/// waited for.
async fn finish(wr: &mut OwnedWriteHalf, queue: &OutQueue, ending: Ending) {
    let closing = match ending {
        Ending::Gone => return,
        Ending::PeerClosed => Closing::new(CloseCode::Normal, ""),
        Ending::Close(c) => c,
        Ending::Kicked(Kick::TooSlow) => {
            Closing::new(CloseCode::Policy, "too slow: outbound queue full")
        }
        Ending::Kicked(Kick::Dropped) => Closing::new(
            CloseCode::GoingAway,
            "the group lost this session's link: resume",
        ),
        Ending::Kicked(Kick::Replaced) => {
            // Not slow, just superseded: it reads what is queued (its `replaced` frame last).
            let flush = async {
                while let Ok(items) = queue.next_batch(WRITE_BATCH, WRITE_BATCH_BYTES).await {
                    if write_items(wr, items).await.is_err() {
                        return;
                    }
                    queue.written();
                    if queue.is_empty() {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, flush).await;
            Closing::new(CloseCode::Policy, "replaced by another connection")
        }
    };
    let mut b = Batch::new();
    b.push(Kind::Close, close_payload(closing));
    let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, b.write_to(wr)).await;
}

/// Tells the writer to stop after the batch it is writing.
#[derive(Default)]
struct Stop {
    set: AtomicBool,
    done: AtomicBool,
    wake: Notify,
}

impl Stop {
    fn set(&self) {
        self.set.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed)
    }

    fn done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }
}

async fn write_items(wr: &mut OwnedWriteHalf, items: Vec<Item>) -> std::io::Result<()> {
    let mut b = Batch::new();
    for item in items {
        match item {
            Item::Frame(f) => b.push(Kind::Text, f.bytes()),
            Item::Pong(p) => b.push(Kind::Pong, p),
        }
    }
    b.write_to(wr).await
}

async fn write_loop(
    wr: &mut OwnedWriteHalf,
    queue: &OutQueue,
    ping_every: Duration,
    stop: &Stop,
) -> Ending {
    let mut ping = tokio::time::interval(ping_every.max(Duration::from_millis(10)));
    ping.tick().await; // the first tick is immediate
    let ending = loop {
        if stop.is_set() {
            break Ending::Gone;
        }
        let next = tokio::select! {
            batch = queue.next_batch(WRITE_BATCH, WRITE_BATCH_BYTES) => Some(batch),
            _ = ping.tick() => None,
            () = stop.wake.notified() => continue,
        };
        let r = match next {
            Some(Ok(items)) => {
                let r = write_items(wr, items).await;
                if r.is_ok() {
                    queue.written();
                }
                r
            }
            Some(Err(Some(closing))) => break Ending::Close(closing),
            Some(Err(None)) => break Ending::Gone,
            None => {
                let mut b = Batch::new();
                b.push(Kind::Ping, Bytes::new());
                b.write_to(wr).await
            }
        };
        if r.is_err() {
            break Ending::Gone;
        }
    };
    stop.done.store(true, Ordering::Relaxed);
    ending
}

/// The earliest of the deadlines the reader enforces, and what passing it means.
fn next_deadline(
    reader_started: Option<Instant>,
    last_frame: Instant,
    opened: Instant,
    logged_in: bool,
    l: &Limits,
) -> (Instant, Closing) {
    let mut d = (
        last_frame + l.idle_timeout,
        Closing::new(CloseCode::Policy, "idle: no frame and no pong"),
    );
    if let Some(started) = reader_started {
        let m = started + l.message_timeout;
        if m < d.0 {
            d = (
                m,
                Closing::new(CloseCode::Policy, "a message took too long to arrive"),
            );
        }
    }
    if !logged_in {
        let login = opened + l.login_timeout;
        if login < d.0 {
            d = (
                login,
                Closing::new(CloseCode::Policy, "no login or resume in time"),
            );
        }
    }
    d
}

async fn read_loop(
    reader: &mut FrameReader<OwnedReadHalf>,
    p: &ConnParams,
    queue: &OutQueue,
) -> Ending {
    let l = &p.limits;
    let mut bucket = TokenBucket::new(l.frames_per_s, l.frames_burst);
    let opened = Instant::now();
    let mut last_frame = opened;
    loop {
        let (deadline, why) = next_deadline(
            reader.message_started(),
            last_frame,
            opened,
            p.slot.is_promoted(),
            l,
        );
        let now = Instant::now();
        if now >= deadline {
            return Ending::Close(why);
        }
        // Re-checked at least every second: a message may start, or a login succeed, while
        // we wait.
        let wake = deadline.min(now + Duration::from_secs(1));
        let incoming = match tokio::time::timeout_at(wake, reader.next()).await {
            Err(_) => continue,
            Ok(Ok(i)) => i,
            Ok(Err(ReadError::Eof | ReadError::Io(_))) => return Ending::Gone,
            Ok(Err(ReadError::Violation(c))) => return Ending::Close(c),
        };
        last_frame = Instant::now();
        let text = match incoming {
            Incoming::Text(t) => t,
            Incoming::Binary => {
                let e = FrameError::new(FrameErrorCode::BinaryFrame, "send JSON text", None);
                bucket.take();
                refuse(queue, &p.meter, &e);
                continue;
            }
            Incoming::Close(_) => return Ending::PeerClosed,
            // Pings cost a token like any frame; past the rate they are not answered.
            Incoming::Ping(payload) => {
                if bucket.take() {
                    queue.push_pong(Bytes::from(payload));
                }
                continue;
            }
            Incoming::Pong => {
                bucket.take();
                continue;
            }
        };
        let cmd = match parse_client_frame(&text) {
            Ok(frame) if !bucket.take() => Err(FrameError::new(
                FrameErrorCode::RateLimited,
                "too many frames per second; this one was dropped",
                request_of_frame(&frame),
            )),
            Ok(ClientFrame::Input {
                input,
                request,
                token,
            }) => authenticate(&p.auth, &input, token, request).map(|grants| Cmd::Input {
                conn: p.id,
                input,
                request,
                grants,
            }),
            Ok(ClientFrame::Resume { session, token }) => Ok(Cmd::Resume {
                conn: p.id,
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
                if p.engine.send(cmd).await.is_err() {
                    return Ending::Close(Closing::new(
                        CloseCode::GoingAway,
                        "server shutting down",
                    ));
                }
            }
            Err(e) => refuse(queue, &p.meter, &e),
        }
    }
}

/// A reader never waits on its own writer: if even an error frame does not fit, the consumer
/// is too slow and the engine task will notice soon enough.
fn refuse(queue: &OutQueue, meter: &Arc<Meter>, e: &FrameError) {
    let _ = queue.push(SharedFrame::new(e.to_frame(), None, meter));
}

/// Checks a login's access token; returns what it grants.
fn authenticate(
    mode: &AuthMode,
    input: &Input,
    token: Option<String>,
    request: Option<u64>,
) -> Result<Option<Arc<auth::Claims>>, FrameError> {
    let Input::Login { user, .. } = input else {
        return Ok(None);
    };
    let refuse = |m: &str| FrameError::new(FrameErrorCode::Unauthenticated, m, request);
    match token {
        None if mode.is_open() => Ok(None),
        None => Err(refuse(
            "a login needs an access token (`token`) for its user",
        )),
        Some(t) => {
            let claims = auth::verify(mode.key(), &t, auth::unix_now_s())
                .map_err(|e| refuse(e.message()))?;
            if claims.sub != user.as_str() {
                return Err(refuse("the access token is for another user"));
            }
            Ok(Some(Arc::new(claims)))
        }
    }
}

fn request_of_frame(frame: &ClientFrame) -> Option<u64> {
    match frame {
        ClientFrame::Input { request, .. } => *request,
        ClientFrame::Resume { .. } => None,
    }
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
