//! The server's clock: monotonic milliseconds since start-up, the `at` of every input.
//!
//! The engine never reads a clock; the embedder does, once per input, and passes the value
//! in. A monotonic clock cannot go backwards, and the engine clamps it anyway.

use roomcore::Millis;
use tokio::time::{Duration, Instant};

/// Monotonic time since the server started, in whole milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock whose zero is now.
    #[must_use]
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// The time to stamp on an input arriving now.
    #[must_use]
    pub fn now(&self) -> Millis {
        let ms = self.start.elapsed().as_millis();
        // u64 milliseconds last 584 million years; saturating is only a formality.
        Millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The instant at which the engine's time reaches `at` (to sleep until a deadline).
    #[must_use]
    pub fn instant_of(&self, at: Millis) -> Instant {
        self.start + Duration::from_millis(at.0)
    }
}
