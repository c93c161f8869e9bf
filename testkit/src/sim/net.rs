//! A seeded simulated network between clients and the core.
//!
//! Client to core: each message is dropped, delayed (so reordered), or duplicated at
//! random; a client whose link is down loses what it sends and what was in flight.
//! Core to client: one ordered, reliable stream per client (the session's connection),
//! delivered after a random latency, held back while the link is down. Clients rebuild
//! their view of their rooms from that stream alone.

use super::rng::Rng;
use roomcore::input::Input;
use roomcore::output::Output;
use std::collections::VecDeque;

/// How hostile the network is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Percent of client messages dropped.
    pub drop: u64,
    /// Percent of client messages delivered twice.
    pub duplicate: u64,
    /// Largest delay of a client message, ms (the smallest is 1).
    pub max_delay: u64,
    /// Largest latency of the core-to-client stream, ms.
    pub max_latency: u64,
}

impl Faults {
    /// A network that delivers everything once, quickly.
    pub const CALM: Faults = Faults {
        drop: 0,
        duplicate: 0,
        max_delay: 5,
        max_latency: 5,
    };
}

/// An output on its way to a client, with whether the room it is about had a coalescing
/// window open when it was emitted: a member list learned then (a query answer, a restore
/// delta) is not what the window's delta will be counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The output.
    pub output: Output,
    /// Whether its room's window was open at emission.
    pub in_window: bool,
}

/// A message from a client on its way to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    at: u64,
    seq: u64,
    from: usize,
    input: Input,
}

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Net {
    /// The current fault settings.
    pub faults: Faults,
    to_core: Vec<InFlight>,
    /// Per client: outputs with their delivery time and whether a large room's window was
    /// open when they were emitted (see [`Delivered`]), in order.
    to_client: Vec<VecDeque<(u64, Delivered)>>,
    /// Per client: whether its link is up.
    up: Vec<bool>,
    seq: u64,
}

impl Net {
    /// A network for `clients` clients, all links up.
    #[must_use]
    pub fn new(clients: usize, faults: Faults) -> Net {
        Net {
            faults,
            to_core: Vec::new(),
            to_client: vec![VecDeque::new(); clients],
            up: vec![true; clients],
            seq: 0,
        }
    }

    /// Whether client `i`'s link is up.
    #[must_use]
    pub fn is_up(&self, i: usize) -> bool {
        self.up.get(i).copied().unwrap_or(false)
    }

    /// Takes client `i`'s link down (what it had in flight is lost) or up.
    pub fn set_up(&mut self, i: usize, up: bool) {
        if let Some(u) = self.up.get_mut(i) {
            *u = up;
        }
        if !up {
            self.to_core.retain(|m| m.from != i);
        }
    }

    /// Client `from` sends `input` at `now`.
    pub fn send(&mut self, rng: &mut Rng, now: u64, from: usize, input: Input) {
        if !self.is_up(from) || rng.chance(self.faults.drop) {
            return;
        }
        let copies = if rng.chance(self.faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + 1 + rng.below(self.faults.max_delay);
            self.seq += 1;
            self.to_core.push(InFlight {
                at,
                seq: self.seq,
                from,
                input: input.clone(),
            });
        }
    }

    /// The next client message due at or before `now`, earliest first.
    pub fn next_to_core(&mut self, now: u64) -> Option<(u64, usize, Input)> {
        let i = self
            .to_core
            .iter()
            .enumerate()
            .filter(|(_, m)| m.at <= now)
            .min_by_key(|(_, m)| (m.at, m.seq))
            .map(|(i, _)| i)?;
        let m = self.to_core.swap_remove(i);
        Some((m.at, m.from, m.input))
    }

    /// The core emitted `output` for client `to` at `now`.
    pub fn push_to_client(&mut self, rng: &mut Rng, now: u64, to: usize, output: Delivered) {
        let latency = rng.below(self.faults.max_latency + 1);
        let Some(q) = self.to_client.get_mut(to) else {
            return;
        };
        // The stream is ordered: never deliver before what was sent earlier.
        let at = q
            .back()
            .map_or(now + latency, |(last, _)| (*last).max(now + latency));
        q.push_back((at, output));
    }

    /// The next output due for client `i` at or before `now`, if its link is up.
    pub fn next_to_client(&mut self, now: u64, i: usize) -> Option<Delivered> {
        if !self.is_up(i) {
            return None;
        }
        let q = self.to_client.get_mut(i)?;
        if q.front().is_some_and(|(at, _)| *at <= now) {
            return q.pop_front().map(|(_, o)| o);
        }
        None
    }

    /// Whether client `i` has received everything sent to it.
    #[must_use]
    pub fn caught_up(&self, i: usize) -> bool {
        self.to_client.get(i).is_some_and(VecDeque::is_empty)
    }

    /// Whether nothing is in flight in either direction.
    #[must_use]
    pub fn quiet(&self) -> bool {
        self.to_core.is_empty() && self.to_client.iter().all(VecDeque::is_empty)
    }
}
