//! Outbound queues: what the engine task has routed to a connection and its writer has not
//! sent yet.
//!
//! - **Shared frames.** An output is serialized once ([`SharedFrame`]); every recipient's
//!   queue holds a reference to the same bytes, so a delta sent to 3,000 members costs its
//!   size once, not 3,000 times.
//! - **Bounded in frames and bytes**, per connection ([`QueueLimits`]), and in distinct bytes
//!   alive across all connections ([`Meter`]): past the global bound, a connection holding
//!   more than its fair share is cut too. A push that does not fit is refused: the consumer
//!   is too slow, the engine task disconnects it and the engine sees `link_lost`. One frame
//!   always fits an empty queue, so a frame larger than the bound is still delivered.
//! - **Nothing silently lost.** The writer takes frames in batches and marks them in flight
//!   until the batch is written. When the connection ends, the engine task takes back what
//!   was never written (replayed on resume) and what was in flight (the server cannot know
//!   whether it arrived: reported as lost on resume).

use crate::ws::Closing;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Bytes of frames alive in queues and pending buffers, all connections together (each
/// distinct frame counted once however many queues hold it).
#[derive(Debug, Default)]
pub struct Meter {
    alive: AtomicUsize,
}

impl Meter {
    /// Distinct frame bytes alive now.
    #[must_use]
    pub fn alive_bytes(&self) -> usize {
        self.alive.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Inner {
    text: Bytes,
    request: Option<u64>,
    meter: Arc<Meter>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.meter
            .alive
            .fetch_sub(self.text.len(), Ordering::Relaxed);
    }
}

/// A text frame serialized once, shared by every queue it is in.
#[derive(Debug, Clone)]
pub struct SharedFrame(Arc<Inner>);

impl SharedFrame {
    /// A frame of `text`; `request` names the command it answers when it is an engine reply
    /// (so a lost reply can be reported by its request number).
    #[must_use]
    pub fn new(text: impl Into<Bytes>, request: Option<u64>, meter: &Arc<Meter>) -> SharedFrame {
        let text = text.into();
        meter.alive.fetch_add(text.len(), Ordering::Relaxed);
        SharedFrame(Arc::new(Inner {
            text,
            request,
            meter: meter.clone(),
        }))
    }

    /// The frame's bytes (a reference, not a copy).
    #[must_use]
    pub fn bytes(&self) -> Bytes {
        self.0.text.clone()
    }

    /// Its size.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.text.len()
    }

    /// Whether it is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.text.is_empty()
    }

    /// The request number of the command it answers, for an engine reply.
    #[must_use]
    pub fn request(&self) -> Option<u64> {
        self.0.request
    }

    /// Its text (for tests and logs).
    #[must_use]
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.0.text).unwrap_or("")
    }
}

/// One thing for a writer to send.
#[derive(Debug, Clone)]
pub enum Item {
    /// A text frame.
    Frame(SharedFrame),
    /// A pong answering a client's ping.
    Pong(Bytes),
}

/// Bounds of one connection's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Frames queued at most.
    pub max_frames: usize,
    /// Bytes queued at most (a single frame larger than this still fits an empty queue).
    pub max_bytes: usize,
    /// Distinct bytes alive in all queues and pending buffers together; past it, a connection
    /// holding more than `fair_bytes` is cut.
    pub max_total_bytes: usize,
    /// What a connection may always queue, whatever the others do.
    pub fair_bytes: usize,
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full (frames or bytes): the consumer is too slow.
    Full,
    /// The connection's writer is gone.
    Closed,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Item>,
    bytes: usize,
    in_flight: Vec<Item>,
    closed: bool,
    /// Set by [`OutQueue::close_with`]: the writer sends what is queued, then this close.
    closing: Option<Closing>,
}

/// What was left in a queue when its connection ended.
#[derive(Debug, Default)]
pub struct Leftover {
    /// Frames never handed to the socket, in order: safe to replay.
    pub unsent: Vec<SharedFrame>,
    /// Frames being written when the connection ended: maybe delivered, maybe not.
    pub in_flight: Vec<SharedFrame>,
}

/// One connection's outbound queue, shared by the engine task (pushes) and the connection's
/// writer (takes batches).
#[derive(Debug)]
pub struct OutQueue {
    state: Mutex<State>,
    wake: Notify,
    limits: QueueLimits,
    meter: Arc<Meter>,
}

fn frames(items: impl IntoIterator<Item = Item>) -> Vec<SharedFrame> {
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f),
            Item::Pong(_) => None,
        })
        .collect()
}

impl OutQueue {
    /// An empty queue.
    #[must_use]
    pub fn new(limits: QueueLimits, meter: Arc<Meter>) -> Arc<OutQueue> {
        Arc::new(OutQueue {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            limits,
            meter,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue half-updated in a way that
        // matters more than losing the connection; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a frame, or refuses it (too slow, or closed).
    ///
    /// # Errors
    /// [`Refused`] when it does not fit.
    pub fn push(&self, frame: SharedFrame) -> Result<(), Refused> {
        let mut s = self.lock();
        if s.closed || s.closing.is_some() {
            return Err(Refused::Closed);
        }
        let len = frame.len();
        if !s.items.is_empty() {
            let l = &self.limits;
            let over_own = s.items.len() >= l.max_frames || s.bytes + len > l.max_bytes;
            let over_all =
                self.meter.alive_bytes() > l.max_total_bytes && s.bytes + len > l.fair_bytes;
            if over_own || over_all {
                return Err(Refused::Full);
            }
        }
        s.bytes += len;
        let was_empty = s.items.is_empty();
        s.items.push_back(Item::Frame(frame));
        drop(s);
        // The writer waits only on an empty queue; a non-empty one it drains on its own.
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Queues a pong (small, and pings are rate-limited by the reader).
    pub fn push_pong(&self, payload: Bytes) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        s.bytes += payload.len();
        s.items.push_back(Item::Pong(payload));
        drop(s);
        self.wake.notify_one();
    }

    /// Frames queued now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes queued now.
    #[must_use]
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Waits for something to send, and takes up to `max_items` / about `max_bytes` of it,
    /// in flight until [`OutQueue::written`]. An empty result: the queue is closed, with the
    /// close to send if there is one.
    pub async fn next_batch(
        &self,
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<Item>, Option<Closing>> {
        loop {
            let notified = self.wake.notified();
            {
                let mut s = self.lock();
                if !s.items.is_empty() {
                    let mut out = Vec::new();
                    let mut bytes = 0;
                    while let Some(item) = s.items.front() {
                        let len = item_len(item);
                        if !out.is_empty() && (out.len() >= max_items || bytes + len > max_bytes) {
                            break;
                        }
                        bytes += len;
                        if let Some(item) = s.items.pop_front() {
                            out.push(item);
                        }
                    }
                    s.bytes -= bytes;
                    s.in_flight.clone_from(&out);
                    return Ok(out);
                }
                if s.closed {
                    return Err(None);
                }
                if let Some(c) = s.closing {
                    return Err(Some(c));
                }
            }
            notified.await;
        }
    }

    /// The batch in flight reached the socket.
    pub fn written(&self) {
        self.lock().in_flight.clear();
    }

    /// After what is queued now, the writer sends this close frame and stops; later pushes
    /// are refused.
    pub fn close_with(&self, closing: Closing) {
        self.lock().closing = Some(closing);
        self.wake.notify_one();
    }

    /// Closes the queue for good and takes back what was not sent.
    pub fn take_leftover(&self) -> Leftover {
        let mut s = self.lock();
        s.closed = true;
        s.bytes = 0;
        let unsent = frames(std::mem::take(&mut s.items));
        let in_flight = frames(std::mem::take(&mut s.in_flight));
        drop(s);
        self.wake.notify_one();
        Leftover { unsent, in_flight }
    }

    /// Takes back what was not sent, keeping the queue open (the connection lives on, for a
    /// last frame and its close).
    pub fn take_unsent(&self) -> Vec<SharedFrame> {
        let mut s = self.lock();
        s.bytes = 0;
        frames(std::mem::take(&mut s.items))
    }
}

fn item_len(item: &Item) -> usize {
    match item {
        Item::Frame(f) => f.len(),
        Item::Pong(p) => p.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_frames: usize, max_bytes: usize) -> QueueLimits {
        QueueLimits {
            max_frames,
            max_bytes,
            max_total_bytes: usize::MAX,
            fair_bytes: 0,
        }
    }

    #[test]
    fn a_queue_is_bounded_in_frames_and_bytes_but_takes_one_large_frame() {
        let meter = Arc::new(Meter::default());
        let q = OutQueue::new(limits(3, 100), meter.clone());
        assert_eq!(
            q.push(SharedFrame::new(vec![b'x'; 500], None, &meter)),
            Ok(())
        );
        assert_eq!(
            q.push(SharedFrame::new(vec![b'x'; 1], None, &meter)),
            Err(Refused::Full)
        );
        let q = OutQueue::new(limits(2, 100), meter.clone());
        let f = SharedFrame::new(vec![b'x'; 10], None, &meter);
        assert_eq!(q.push(f.clone()), Ok(()));
        assert_eq!(q.push(f.clone()), Ok(()));
        assert_eq!(q.push(f), Err(Refused::Full));
    }

    #[test]
    fn a_shared_frame_is_counted_once_and_released_with_its_last_holder() {
        let meter = Arc::new(Meter::default());
        let f = SharedFrame::new(vec![b'x'; 1000], None, &meter);
        let queues: Vec<_> = (0..50)
            .map(|_| OutQueue::new(limits(10, 10_000), meter.clone()))
            .collect();
        for q in &queues {
            q.push(f.clone()).unwrap();
        }
        drop(f);
        assert_eq!(meter.alive_bytes(), 1000);
        drop(queues);
        assert_eq!(meter.alive_bytes(), 0);
    }

    #[test]
    fn past_the_global_bound_only_a_connection_over_its_fair_share_is_cut() {
        let meter = Arc::new(Meter::default());
        let l = QueueLimits {
            max_frames: 100,
            max_bytes: 10_000,
            max_total_bytes: 1_000,
            fair_bytes: 200,
        };
        let big = OutQueue::new(l, meter.clone());
        let small = OutQueue::new(l, meter.clone());
        let mut held = Vec::new();
        for _ in 0..11 {
            let f = SharedFrame::new(vec![b'x'; 100], None, &meter);
            held.push(f.clone());
            if big.push(f).is_err() {
                break;
            }
        }
        assert!(meter.alive_bytes() > 1_000);
        let f = SharedFrame::new(vec![b'y'; 100], None, &meter);
        assert_eq!(big.push(f.clone()), Err(Refused::Full));
        assert_eq!(small.push(f.clone()), Ok(()));
        assert_eq!(small.push(f), Ok(()));
    }

    #[tokio::test]
    async fn batches_are_in_flight_until_written_and_leftovers_are_split() {
        let meter = Arc::new(Meter::default());
        let q = OutQueue::new(limits(10, 10_000), meter.clone());
        for i in 0..5u64 {
            q.push(SharedFrame::new(format!("f{i}"), Some(i), &meter))
                .unwrap();
        }
        let b = q.next_batch(2, 1000).await.unwrap();
        assert_eq!(b.len(), 2);
        q.written();
        let b = q.next_batch(2, 1000).await.unwrap();
        assert_eq!(b.len(), 2);
        let left = q.take_leftover();
        let names = |v: &[SharedFrame]| v.iter().map(|f| f.text().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(&left.in_flight), ["f2", "f3"]);
        assert_eq!(names(&left.unsent), ["f4"]);
        assert_eq!(q.next_batch(2, 1000).await.unwrap_err(), None);
        assert!(q.push(SharedFrame::new("late", None, &meter)).is_err());
    }
}
