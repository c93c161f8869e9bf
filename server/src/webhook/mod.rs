//! Webhooks: service events (`member_joined`, `member_left`, `room_created`,
//! `room_destroyed`, each with its `event_id`) POSTed to the service as JSON batches.
//!
//! - **Never in the engine's way.** The task that owns the engine hands each event to a
//!   bounded queue ([`queue`]) under a short lock and moves on; one delivery task
//!   ([`send`]) does the network. A full queue drops its oldest event (counted), it never
//!   makes the engine wait.
//! - **In order, at least once.** One batch is in flight at a time, always the front of the
//!   queue, so batches arrive in `event_id` order; a batch leaves the queue only when the
//!   receiver answered 2xx, and is sent again after a failure (exponential backoff, capped).
//!   A batch whose answer was lost arrives twice: receivers de-duplicate by `event_id`.
//! - **Signed.** `X-Roomcore-Signature: sha256=<hex>` is the HMAC-SHA256 of the body under
//!   the shared secret ([`sign`]).
//! - **Bounded, never silent.** Events not delivered within the maximum age, and events
//!   pushed out of a full queue, are dropped, counted in [`WebhookStats`] (served by
//!   `GET /admin/stats`) and logged on stderr.

pub mod queue;
pub mod recent;
pub mod send;
pub mod sign;

use crate::webhook::queue::{Event, Pushed, Queue, QueueLimits};
pub use crate::webhook::recent::ServiceEvents;
use roomcore::{OutputKind, Recipient, Stamped};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Where and how service events are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The receiver: `http://host:port/path` (plain HTTP only).
    pub url: String,
    /// The HMAC-SHA256 key the bodies are signed with (at least [`MIN_SECRET_BYTES`]).
    pub secret: String,
    /// Events not delivered within this long are dropped (and counted).
    pub max_age: Duration,
    /// Events in one request at most.
    pub max_batch_events: usize,
    /// Events waiting at most; past it the oldest is dropped.
    pub max_queue_events: usize,
    /// Bytes of event JSON waiting at most; past it the oldest is dropped.
    pub max_queue_bytes: usize,
    /// How long one request may take before it counts as failed.
    pub request_timeout: Duration,
    /// The first wait after a failure; each further failure doubles it...
    pub backoff_min: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
}

/// Shortest webhook secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;

/// Largest request body (one event is always sent, whatever its size).
pub const MAX_BATCH_BYTES: usize = 1 << 20;

/// A queued event's bookkeeping besides its JSON (its deque slot, string header, times).
pub const EVENT_OVERHEAD_BYTES: usize = 64;

impl WebhookConfig {
    /// The defaults for `url` and `secret`: 300 s maximum age, batches of up to 100 events,
    /// a queue of up to 50,000 events and 16 MiB (the
    /// server's default memory budget leaves room for that), 10 s per request, backoff from 100 ms to
    /// 30 s.
    #[must_use]
    pub fn new(url: &str, secret: &str) -> WebhookConfig {
        WebhookConfig {
            url: url.to_owned(),
            secret: secret.to_owned(),
            max_age: Duration::from_secs(300),
            max_batch_events: 100,
            max_queue_events: 50_000,
            max_queue_bytes: 16 << 20,
            request_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
        }
    }

    /// Checks every setting against its range.
    ///
    /// # Errors
    /// A sentence naming the flag.
    pub fn validate(&self) -> Result<(), String> {
        let uri: hyper::Uri = self
            .url
            .parse()
            .map_err(|e| format!("--webhook-url {}: {e}", self.url))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "--webhook-url {}: only http://host[:port]/path is spoken (no TLS: put a \
                 TLS proxy in front of an https receiver)",
                self.url
            ));
        }
        if self.secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "--webhook-secret must be at least {MIN_SECRET_BYTES} bytes; \
                 `roomcore-server keygen` makes one"
            ));
        }
        let ranges: [(&str, u128, u128, u128); 7] = [
            (
                "--webhook-max-age-s",
                self.max_age.as_secs().into(),
                1,
                86_400,
            ),
            (
                "--webhook-max-batch",
                self.max_batch_events as u128,
                1,
                10_000,
            ),
            (
                "--webhook-max-queue",
                self.max_queue_events as u128,
                1,
                10_000_000,
            ),
            (
                "--webhook-max-queue-bytes",
                self.max_queue_bytes as u128,
                1024,
                1 << 30,
            ),
            (
                "--webhook-timeout-ms",
                self.request_timeout.as_millis(),
                100,
                300_000,
            ),
            (
                "--webhook-backoff-min-ms",
                self.backoff_min.as_millis(),
                1,
                60_000,
            ),
            (
                "--webhook-backoff-max-ms",
                self.backoff_max.as_millis(),
                1,
                3_600_000,
            ),
        ];
        for (flag, v, lo, hi) in ranges {
            if v < lo || v > hi {
                return Err(format!("{flag} must be within {lo}..={hi} (is {v})"));
            }
        }
        if self.backoff_max < self.backoff_min {
            return Err(
                "--webhook-backoff-max-ms must be at least --webhook-backoff-min-ms".into(),
            );
        }
        Ok(())
    }
}

/// Delivery counters, for `GET /admin/stats` (`webhook`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStats {
    /// Events waiting now (the batch in flight included).
    pub queued: usize,
    /// Their bytes of JSON.
    pub queued_bytes: usize,
    /// Events delivered (answered 2xx).
    pub delivered: u64,
    /// Requests answered 2xx.
    pub batches_delivered: u64,
    /// Requests that failed (refused, timed out, or answered other than 2xx).
    pub attempts_failed: u64,
    /// Events dropped because they were not delivered within the maximum age.
    pub dropped_expired: u64,
    /// Events dropped because the queue was full (the oldest go first).
    pub dropped_overflow: u64,
    /// Events handed over again with an `event_id` already queued (ignored).
    pub duplicates_ignored: u64,
    /// The highest `event_id` delivered (0: none yet).
    pub last_delivered_event_id: u64,
}

/// What the engine task and the delivery task share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) queue: Queue,
    pub(crate) notify: Notify,
    pub(crate) delivered: AtomicU64,
    pub(crate) batches_delivered: AtomicU64,
    pub(crate) attempts_failed: AtomicU64,
    pub(crate) dropped_expired: AtomicU64,
    pub(crate) dropped_overflow: AtomicU64,
    pub(crate) duplicates_ignored: AtomicU64,
    pub(crate) last_delivered_event_id: AtomicU64,
}

/// The engine side of the webhook: hands events over without waiting. Clones share the
/// queue.
#[derive(Debug, Clone)]
pub struct Webhook {
    shared: Arc<Shared>,
}

impl Webhook {
    /// Starts the delivery task (on the current tokio runtime) and returns the handle the
    /// engine task pushes to.
    #[must_use]
    pub fn start(config: WebhookConfig) -> Webhook {
        let shared = Arc::new(Shared {
            queue: Queue::new(QueueLimits {
                max_events: config.max_queue_events,
                max_bytes: config.max_queue_bytes,
            }),
            notify: Notify::new(),
            delivered: AtomicU64::new(0),
            batches_delivered: AtomicU64::new(0),
            attempts_failed: AtomicU64::new(0),
            dropped_expired: AtomicU64::new(0),
            dropped_overflow: AtomicU64::new(0),
            duplicates_ignored: AtomicU64::new(0),
            last_delivered_event_id: AtomicU64::new(0),
        });
        tokio::spawn(send::run(shared.clone(), config));
        Webhook { shared }
    }

    /// Queues `stamped` if it is a service event with an `event_id` (admin replies and
    /// outputs to sessions or rooms are not). Never waits.
    pub fn offer(&self, stamped: &Stamped) {
        if let Some((event_id, json)) = service_event(stamped) {
            self.push(event_id, json);
        }
    }

    /// Queues one event's JSON object (what [`Webhook::offer`] does after serializing; the
    /// benchmark feeds it directly). Never waits.
    pub fn push(&self, event_id: u64, json: String) {
        let event = Event {
            event_id,
            json,
            produced: tokio::time::Instant::now(),
        };
        match self.shared.queue.push(event) {
            Pushed::Dropping(d) => {
                // Logged by the delivery task, so the engine task does no IO.
                self.shared
                    .dropped_overflow
                    .fetch_add(d.count, Ordering::Relaxed);
            }
            Pushed::Queued => {}
            Pushed::Duplicate => {
                self.shared
                    .duplicates_ignored
                    .fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.shared.notify.notify_one();
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> WebhookStats {
        let s = &self.shared;
        let (queued, queued_bytes) = s.queue.len_bytes();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WebhookStats {
            queued,
            queued_bytes,
            delivered: get(&s.delivered),
            batches_delivered: get(&s.batches_delivered),
            attempts_failed: get(&s.attempts_failed),
            dropped_expired: get(&s.dropped_expired),
            dropped_overflow: get(&s.dropped_overflow),
            duplicates_ignored: get(&s.duplicates_ignored),
            last_delivered_event_id: get(&s.last_delivered_event_id),
        }
    }
}

/// A service event's `event_id` and JSON object; `None` for admin replies, outputs to
/// sessions or rooms, and unnumbered events (service events off).
#[must_use]
pub fn service_event(stamped: &Stamped) -> Option<(u64, String)> {
    let out = &stamped.output;
    if out.recipient() != Recipient::Service || out.kind() == OutputKind::AdminReply {
        return None;
    }
    // Outputs hold only strings, numbers and string-keyed maps: serializing cannot fail.
    let json = serde_json::to_string(out).ok()?;
    let event_id = event_id_of(&json)?;
    Some((event_id, json))
}

/// The `event_id` of a serialized service event, read without parsing it whole: inside a
/// JSON string a quote is always escaped, so `"event_id":` can only be the key itself.
fn event_id_of(json: &str) -> Option<u64> {
    const KEY: &str = "\"event_id\":";
    let at = json.rfind(KEY)? + KEY.len();
    let digits = json[at..].trim_start();
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_id_is_read_from_the_key_only() {
        assert_eq!(
            event_id_of(r#"{"type":"room_created","event_id":17}"#),
            Some(17)
        );
        assert_eq!(
            event_id_of(r#"{"event_id":5,"user_id":"a\"event_id\":9"}"#),
            Some(5)
        );
        assert_eq!(
            event_id_of(r#"{"type":"room_created","room_id":"r1"}"#),
            None
        );
    }

    #[test]
    fn only_numbered_service_events_are_offered() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let secret = "s".repeat(MIN_SECRET_BYTES);
            // Nothing listens on port 1: every attempt fails, the events stay queued.
            let hook = Webhook::start(WebhookConfig::new("http://127.0.0.1:1/", &secret));
            let line = |json: &str| -> Stamped {
                serde_json::from_str(&format!(r#"{{"at":5,"out":{json}}}"#)).expect("an output")
            };
            hook.offer(&line(r#"{"type":"room_created","room_id":"r1","sid":"R1","event_id":1}"#));
            hook.offer(&line(r#"{"type":"room_created","room_id":"r2","sid":"R2"}"#));
            hook.offer(&line(r#"{"type":"admin_reply","request":1,"ok":{"room_id":"r1"}}"#));
            hook.offer(&line(
                r#"{"type":"room_state_changed","session":"s1","room_id":"r1","state":"connected","event":"success"}"#,
            ));
            hook.offer(&line(r#"{"type":"room_created","room_id":"r1","sid":"R1","event_id":1}"#));
            let s = hook.stats();
            assert_eq!((s.queued, s.duplicates_ignored), (1, 1), "{s:?}");
        });
    }

    #[test]
    fn settings_are_checked_against_their_ranges() {
        let secret = "s".repeat(MIN_SECRET_BYTES);
        let ok = WebhookConfig::new("http://127.0.0.1:9000/hook", &secret);
        assert_eq!(ok.validate(), Ok(()));
        let bad = |f: fn(&mut WebhookConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            c.validate().expect_err("refused")
        };
        assert!(bad(|c| c.url = "https://example.invalid/".into()).contains("only http"));
        assert!(bad(|c| c.url = "not a url".into()).contains("--webhook-url"));
        assert!(bad(|c| c.secret = "short".into()).contains("--webhook-secret"));
        assert!(bad(|c| c.max_age = Duration::ZERO).contains("--webhook-max-age-s"));
        assert!(bad(|c| c.max_batch_events = 0).contains("--webhook-max-batch"));
        assert!(bad(|c| c.max_queue_events = 0).contains("--webhook-max-queue"));
        assert!(bad(|c| c.backoff_max = Duration::from_millis(50)).contains("backoff"));
    }
}
