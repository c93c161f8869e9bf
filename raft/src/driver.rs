//! The leader side: a clock, proposals stamped with it, and the tick driver.
//!
//! Only the leader reads a clock. It stamps `now_ms` into every proposal it accepts, and when
//! the engine's next deadline (a destroy delay, a reconnect grace) has come by its clock, it
//! proposes a `tick`. Followers apply the stamped time and never look at a clock. A tick is
//! idempotent (a second one finds nothing due), so two leaders overlapping during a
//! failover cannot fire a timer twice; a deadline can fire late by up to one failover.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::type_config::TypeConfigExt;
use openraft::Instant as _;
use openraft_rt_sim::SimInstant;

use crate::proposal::{Command, Proposal, RequestKey};
use crate::store::StateMachineStore;
use crate::types::RoomTypes;

/// What a leader reads to stamp proposals, in milliseconds.
pub trait TimeSource: Clone + Send + Sync + 'static {
    /// Now, in ms.
    fn now_ms(&self) -> u64;
}

/// The wall clock: milliseconds since the Unix epoch. A deployment stamps with it so that
/// time continues across restarts and leaders (a monotonic clock restarts from zero with
/// its process; the engine would then hold time still until the new clock caught up). A
/// leader whose clock lags cannot move time backwards: the engine clamps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallClock;

impl TimeSource for WallClock {
    // The one clock read of a deployed node (the replicated machine is under the crate's
    // no-clock rule): a leader stamps proposals with it.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
    fn now_ms(&self) -> u64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }
}

/// A simulated node's clock: the simulator's virtual time plus a fixed skew (a node whose
/// clock lags or leads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Added to virtual time, in ms (negative: the clock lags).
    pub skew_ms: i64,
}

impl Clock {
    /// Milliseconds since the simulation started, skewed, floored at 0.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        TimeSource::now_ms(self)
    }
}

impl TimeSource for Clock {
    fn now_ms(&self) -> u64 {
        let ms = SimInstant::now().elapsed_since_start().as_millis();
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        u64::try_from(ms.saturating_add(self.skew_ms)).unwrap_or(0)
    }
}

/// A proposal stamped with `clock` now.
#[must_use]
pub fn stamp<T: TimeSource>(clock: T, request: Option<RequestKey>, command: Command) -> Proposal {
    Proposal {
        request,
        now_ms: clock.now_ms(),
        command,
    }
}

/// How often a node without a due deadline looks again (a leader change is noticed within
/// this).
pub const DRIVER_POLL: Duration = Duration::from_millis(20);

/// Runs until `alive` is cleared: while this node is the leader, proposes a tick whenever
/// the engine's next deadline has come by `clock`.
pub async fn run_ticks<C: RoomTypes, T: TimeSource>(
    raft: openraft::Raft<C, StateMachineStore<C>>,
    sm: StateMachineStore<C>,
    clock: T,
    alive: Arc<AtomicBool>,
) {
    while alive.load(Ordering::Relaxed) {
        let mut wait = DRIVER_POLL;
        if raft.is_leader() {
            if let Some(due) = sm.read(|m| m.poll_timeout()) {
                let now = clock.now_ms();
                if due.0 <= now {
                    let tick = stamp(clock.clone(), None, Command::Tick);
                    let sent = C::timeout(Duration::from_secs(1), raft.client_write(tick)).await;
                    if matches!(sent, Ok(Ok(_))) {
                        continue;
                    }
                    // Refused (a new leader refuses writes until a quorum acknowledged it;
                    // leadership lost) or timed out: back off instead of spinning at one
                    // instant; whoever leads then retries.
                }
                wait = wait.min(Duration::from_millis(due.0 - now));
            }
        }
        C::sleep(wait).await;
    }
}
