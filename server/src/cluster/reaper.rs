//! Sessions nobody came back for: the in-memory server logs out a session that has had no
//! connection for `--abandoned-session-s`; in a group the leader does, for sessions no node
//! holds. It counts from when it first saw each one unheld, so after a failover the count
//! starts over on the new leader (a logout can come up to one period late, never early).

use super::task::{ClusterTask, Kind};
use roomcore::{Input, SessionId};
use roomcore_raft::Command;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// Logouts proposed per round at most (the rest wait for the next round).
const REAPS_PER_ROUND: usize = 64;

/// The leader's view of unheld sessions.
#[derive(Debug)]
pub struct Reaper {
    after: Duration,
    /// Unheld sessions and when this node first saw them so (bounded by the engine's
    /// session limit: only sessions the replicated table lists are kept). Ordered, so the
    /// sessions reaped first in a round are the same on every run.
    seen: BTreeMap<SessionId, Instant>,
    /// Logouts in flight.
    reaping: HashSet<SessionId>,
}

impl Reaper {
    /// Logs out sessions unheld for `after`.
    #[must_use]
    pub fn new(after: Duration) -> Reaper {
        Reaper {
            after,
            seen: BTreeMap::new(),
            reaping: HashSet::new(),
        }
    }

    /// A logout was applied (or failed).
    pub fn done(&mut self, session: SessionId) {
        self.reaping.remove(&session);
    }
}

impl ClusterTask {
    /// One round: on the leader, logs out the sessions unheld for long enough.
    pub(super) fn reap(&mut self) {
        if !self.node.is_leader() {
            self.reaper.seen.clear();
            return;
        }
        let unheld = self.node.read(|m, _| m.sessions().unheld());
        let now = Instant::now();
        let current: BTreeSet<SessionId> = unheld.iter().copied().collect();
        self.reaper.seen.retain(|s, _| current.contains(s));
        for s in unheld {
            self.reaper.seen.entry(s).or_insert(now);
        }
        let after = self.reaper.after;
        let due: Vec<SessionId> = self
            .reaper
            .seen
            .iter()
            .filter(|(s, at)| now.duration_since(**at) >= after && !self.reaper.reaping.contains(s))
            .map(|(s, _)| *s)
            .take(REAPS_PER_ROUND)
            .collect();
        for session in due {
            self.reaper.reaping.insert(session);
            // Request 0: nobody waits for this reply; it goes with the session.
            let input = Input::Logout {
                session,
                request: 0,
            };
            self.propose(None, Kind::Reap { session }, Command::Input { input });
        }
    }
}
