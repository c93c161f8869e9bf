//! The bounded queue between the engine task and the delivery task.
//!
//! The engine task pushes under a short lock and never waits for the network: a full queue
//! drops its oldest event (counted and logged), never blocks. The delivery task reads a batch
//! from the front without removing it, and removes it once the receiver answered 2xx, so a
//! failed batch is sent again from the same place. Events leave the front in `event_id`
//! order, one way or another: delivered, expired past the maximum age, or pushed out.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::time::{Duration, Instant};

/// One service event, serialized once.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its `event_id`.
    pub event_id: u64,
    /// Its JSON object, as the webhook body carries it.
    pub json: String,
    /// When the engine task handed it over.
    pub produced: Instant,
}

/// Why events left the queue without being delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// Not delivered within the maximum age.
    Expired,
    /// Pushed out by newer events past the queue's count or byte bound.
    Overflow,
}

/// What was dropped at once: how many, and the first and last `event_id` among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Why.
    pub cause: DropCause,
    /// How many.
    pub count: u64,
    /// The first `event_id` dropped.
    pub first: u64,
    /// The last `event_id` dropped.
    pub last: u64,
}

/// What became of a pushed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued, nothing dropped.
    Queued,
    /// Queued (or, larger than the whole queue, dropped itself), after dropping these.
    Dropping(Dropped),
    /// Its `event_id` is not above every one pushed before: ignored.
    Duplicate,
}

/// A batch to send: the events' JSON objects and the last `event_id` among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The request body: `{"events":[...]}`.
    pub body: String,
    /// How many events.
    pub count: usize,
    /// The first `event_id` in it.
    pub first_event_id: u64,
    /// The last `event_id` in it (removing up to it acknowledges the batch).
    pub last_event_id: u64,
    /// When its first event was produced.
    pub oldest: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    events: VecDeque<Event>,
    bytes: usize,
    highest_pushed: u64,
}

/// The queue's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Events held at most.
    pub max_events: usize,
    /// Bytes of event JSON held at most.
    pub max_bytes: usize,
}

/// A bounded FIFO of events in `event_id` order.
#[derive(Debug)]
pub struct Queue {
    inner: Mutex<Inner>,
    limits: QueueLimits,
}

impl Queue {
    /// An empty queue.
    #[must_use]
    pub fn new(limits: QueueLimits) -> Queue {
        Queue {
            inner: Mutex::new(Inner::default()),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The critical sections do not panic; a poisoned lock still holds a consistent queue.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `event`; an `event_id` not above every one pushed before is a duplicate and
    /// is ignored. The oldest events are dropped to make room.
    pub fn push(&self, event: Event) -> Pushed {
        let mut q = self.lock();
        if event.event_id <= q.highest_pushed {
            return Pushed::Duplicate;
        }
        q.highest_pushed = event.event_id;
        let mut dropped: Option<Dropped> = None;
        while !q.events.is_empty()
            && (q.events.len() >= self.limits.max_events
                || q.bytes + event.json.len() > self.limits.max_bytes)
        {
            let Some(old) = q.events.pop_front() else {
                break;
            };
            q.bytes -= old.json.len();
            note(&mut dropped, DropCause::Overflow, old.event_id);
        }
        if event.json.len() > self.limits.max_bytes {
            // Larger than the whole queue: it cannot be held at all.
            note(&mut dropped, DropCause::Overflow, event.event_id);
        } else {
            q.bytes += event.json.len();
            q.events.push_back(event);
        }
        dropped.map_or(Pushed::Queued, Pushed::Dropping)
    }

    /// Drops the events at the front produced at or before `now - max_age`.
    pub fn expire(&self, now: Instant, max_age: Duration) -> Option<Dropped> {
        let mut q = self.lock();
        let mut dropped = None;
        while q
            .events
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.produced) >= max_age)
        {
            let Some(old) = q.events.pop_front() else {
                break;
            };
            q.bytes -= old.json.len();
            note(&mut dropped, DropCause::Expired, old.event_id);
        }
        dropped
    }

    /// The first events, at most `max_events` of them and at most `max_bytes` of JSON (one
    /// at least), as a request body; `None` when the queue is empty.
    #[must_use]
    pub fn batch(&self, max_events: usize, max_bytes: usize) -> Option<Batch> {
        let q = self.lock();
        let first = q.events.front()?;
        let oldest = first.produced;
        let first_event_id = first.event_id;
        let mut body = String::from("{\"events\":[");
        let mut count = 0;
        let mut last_event_id = 0;
        for e in q.events.iter().take(max_events.max(1)) {
            if count > 0 && body.len() + e.json.len() + 3 > max_bytes {
                break;
            }
            if count > 0 {
                body.push(',');
            }
            body.push_str(&e.json);
            count += 1;
            last_event_id = e.event_id;
        }
        body.push_str("]}");
        Some(Batch {
            body,
            count,
            first_event_id,
            last_event_id,
            oldest,
        })
    }

    /// Removes the events up to `last_event_id` (a delivered batch); returns how many were
    /// still there (some may have been pushed out or expired while it was in flight).
    pub fn ack(&self, last_event_id: u64) -> usize {
        let mut q = self.lock();
        let mut n = 0;
        while q
            .events
            .front()
            .is_some_and(|e| e.event_id <= last_event_id)
        {
            let Some(old) = q.events.pop_front() else {
                break;
            };
            q.bytes -= old.json.len();
            n += 1;
        }
        n
    }

    /// Events and bytes held now.
    #[must_use]
    pub fn len_bytes(&self) -> (usize, usize) {
        let q = self.lock();
        (q.events.len(), q.bytes)
    }
}

fn note(dropped: &mut Option<Dropped>, cause: DropCause, event_id: u64) {
    match dropped {
        Some(d) => {
            d.count += 1;
            d.last = event_id;
        }
        None => {
            *dropped = Some(Dropped {
                cause,
                count: 1,
                first: event_id,
                last: event_id,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: u64, at: Instant) -> Event {
        Event {
            event_id: id,
            json: format!("{{\"event_id\":{id}}}"),
            produced: at,
        }
    }

    fn limits(max_events: usize, max_bytes: usize) -> QueueLimits {
        QueueLimits {
            max_events,
            max_bytes,
        }
    }

    #[test]
    fn batches_are_in_order_and_removed_only_when_acknowledged() {
        let q = Queue::new(limits(10, 1000));
        let now = Instant::now();
        for id in 1..=5 {
            assert_eq!(q.push(ev(id, now)), Pushed::Queued);
        }
        let b = q.batch(3, 1000).expect("events queued");
        assert_eq!(b.count, 3);
        assert_eq!(b.last_event_id, 3);
        assert_eq!(
            b.body,
            r#"{"events":[{"event_id":1},{"event_id":2},{"event_id":3}]}"#
        );
        // Not acknowledged: the same batch again.
        assert_eq!(q.batch(3, 1000), Some(b));
        assert_eq!(q.ack(3), 3);
        assert_eq!(q.batch(3, 1000).expect("two left").last_event_id, 5);
        assert_eq!(q.len_bytes().0, 2);
    }

    #[test]
    fn a_batch_respects_its_byte_bound_but_carries_one_event_at_least() {
        let q = Queue::new(limits(10, 1000));
        let now = Instant::now();
        for id in 1..=3 {
            assert_ne!(q.push(ev(id, now)), Pushed::Duplicate);
        }
        assert_eq!(q.batch(10, 1).expect("queued").count, 1);
        let two = r#"{"events":[{"event_id":1},{"event_id":2}]}"#.len();
        assert_eq!(q.batch(10, two).expect("queued").count, 2);
    }

    #[test]
    fn duplicates_and_old_ids_are_ignored() {
        let q = Queue::new(limits(10, 1000));
        let now = Instant::now();
        assert_ne!(q.push(ev(4, now)), Pushed::Duplicate);
        assert_eq!(q.push(ev(4, now)), Pushed::Duplicate);
        assert_eq!(q.push(ev(2, now)), Pushed::Duplicate);
        assert_eq!(q.len_bytes().0, 1);
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_says_which() {
        let q = Queue::new(limits(3, 1000));
        let now = Instant::now();
        for id in 1..=3 {
            assert_ne!(q.push(ev(id, now)), Pushed::Duplicate);
        }
        let Pushed::Dropping(d) = q.push(ev(4, now)) else {
            panic!("one dropped")
        };
        assert_eq!(
            (d.cause, d.count, d.first, d.last),
            (DropCause::Overflow, 1, 1, 1)
        );
        // Bytes bound: each event is 14 bytes; 30 bytes hold two.
        let q = Queue::new(limits(100, 30));
        for id in 1..=2 {
            assert_ne!(q.push(ev(id, now)), Pushed::Duplicate);
        }
        let Pushed::Dropping(d) = q.push(ev(3, now)) else {
            panic!("one dropped")
        };
        assert_eq!((d.count, d.first), (1, 1));
        assert_eq!(q.len_bytes(), (2, 28));
    }

    #[test]
    fn events_past_the_maximum_age_expire_from_the_front() {
        let q = Queue::new(limits(10, 1000));
        let t0 = Instant::now();
        assert_ne!(q.push(ev(1, t0)), Pushed::Duplicate);
        assert_ne!(
            q.push(ev(2, t0 + Duration::from_secs(5))),
            Pushed::Duplicate
        );
        let age = Duration::from_secs(10);
        assert_eq!(q.expire(t0 + Duration::from_secs(9), age), None);
        let d = q.expire(t0 + Duration::from_secs(10), age).expect("one");
        assert_eq!(
            (d.cause, d.count, d.first, d.last),
            (DropCause::Expired, 1, 1, 1)
        );
        assert_eq!(q.len_bytes().0, 1);
        // Acknowledging ids already gone removes nothing more than what is there.
        assert_eq!(q.ack(1), 0);
        assert_eq!(q.ack(2), 1);
        assert_eq!(q.batch(10, 1000), None);
    }
}
