//! Sockets that are not (yet) a session: an HTTP request in progress or idle between two, a
//! WebSocket that has not logged in. They cost the server memory and a file descriptor and
//! prove nothing about the client, so they are bounded twice, and the oldest give way:
//!
//! - **Per IP address** (`max_per_ip`): a new socket past it closes that address's oldest
//!   pending socket. One address opening sockets it does not use only pushes out its own.
//! - **In total** (`max_total`): past it, the oldest pending socket of the address that holds
//!   the most is closed, as long as that address holds two or more; so a fresh client from an
//!   address of its own is never pushed out by a flood from others, however many addresses
//!   the flood comes from. When every address holds one (a storm of real clients), the oldest
//!   is closed only once it has been pending for `min_age`; until then accepting waits (the
//!   kernel's backlog holds newcomers), so clients that need a moment to log in are paced
//!   rather than cut.
//!
//! Clients that share an address with a flooding one (behind the same NAT) share its bound.
//!
//! A socket leaves the pool when it closes, or when its WebSocket logs in or resumes
//! ([`Slot::promote`]): from then on it counts under `max_connections` instead.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Bounds of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    /// Pending sockets at most, all addresses together.
    pub max_total: usize,
    /// Pending sockets at most from one IP address.
    pub max_per_ip: usize,
    /// How long a socket is left alone before it may be pushed out by a newcomer.
    pub min_age: Duration,
}

type Key = (Instant, u64);

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    cancel: CancellationToken,
}

#[derive(Debug, Default)]
struct Inner {
    by_age: BTreeMap<Key, Entry>,
    by_ip: HashMap<IpAddr, VecDeque<Key>>,
    next_id: u64,
}

impl Inner {
    fn remove(&mut self, key: Key) -> Option<Entry> {
        let entry = self.by_age.remove(&key)?;
        if let Some(keys) = self.by_ip.get_mut(&entry.ip) {
            keys.retain(|k| *k != key);
            if keys.is_empty() {
                self.by_ip.remove(&entry.ip);
            }
        }
        Some(entry)
    }
}

/// The pool of pending sockets.
#[derive(Debug)]
pub struct Pending {
    inner: Mutex<Inner>,
    freed: Notify,
    limits: PendingLimits,
    evicted: AtomicU64,
}

impl Pending {
    /// An empty pool.
    #[must_use]
    pub fn new(limits: PendingLimits) -> Arc<Pending> {
        Arc::new(Pending {
            inner: Mutex::new(Inner::default()),
            freed: Notify::new(),
            limits,
            evicted: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps stay consistent between statements; a poisoned lock only means another
        // thread panicked elsewhere.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pending sockets now.
    #[must_use]
    pub fn count(&self) -> usize {
        self.lock().by_age.len()
    }

    /// Sockets closed to make room so far.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    fn evict(&self, inner: &mut Inner, key: Key) {
        if let Some(e) = inner.remove(key) {
            e.cancel.cancel();
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until the pool can take one more socket: pushes out the oldest socket of the
    /// address holding the most (two or more), else the oldest if it is old enough.
    pub async fn wait_for_room(&self) {
        loop {
            let notified = self.freed.notified();
            let wait = {
                let mut inner = self.lock();
                if inner.by_age.len() < self.limits.max_total {
                    return;
                }
                let heaviest = inner
                    .by_ip
                    .values()
                    .max_by_key(|keys| keys.len())
                    .filter(|keys| keys.len() >= 2)
                    .and_then(|keys| keys.front().copied());
                if let Some(key) = heaviest {
                    self.evict(&mut inner, key);
                    return;
                }
                let Some((&oldest, _)) = inner.by_age.first_key_value() else {
                    return;
                };
                let age = oldest.0.elapsed();
                if age >= self.limits.min_age {
                    self.evict(&mut inner, oldest);
                    return;
                }
                self.limits.min_age - age
            };
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Registers a socket just accepted from `ip`; past the address's bound its oldest
    /// pending socket is closed.
    pub fn register(self: &Arc<Self>, ip: IpAddr) -> Slot {
        let mut inner = self.lock();
        let over = inner
            .by_ip
            .get(&ip)
            .filter(|keys| keys.len() >= self.limits.max_per_ip)
            .and_then(|keys| keys.front().copied());
        if let Some(oldest) = over {
            self.evict(&mut inner, oldest);
        }
        inner.next_id += 1;
        let key = (Instant::now(), inner.next_id);
        let cancel = CancellationToken::new();
        inner.by_age.insert(
            key,
            Entry {
                ip,
                cancel: cancel.clone(),
            },
        );
        inner.by_ip.entry(ip).or_default().push_back(key);
        Slot {
            pool: self.clone(),
            key,
            cancel,
            promoted: AtomicBool::new(false),
        }
    }

    fn release(&self, key: Key) {
        let removed = self.lock().remove(key).is_some();
        if removed {
            self.freed.notify_waiters();
        }
    }
}

/// One socket's place in the pool; it leaves the pool when dropped or promoted.
#[derive(Debug)]
pub struct Slot {
    pool: Arc<Pending>,
    key: Key,
    cancel: CancellationToken,
    promoted: AtomicBool,
}

impl Slot {
    /// Cancelled when the socket is pushed out of the pool: its tasks close it.
    #[must_use]
    pub fn evicted(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The socket became a session's connection: it leaves the pool and can no longer be
    /// pushed out.
    pub fn promote(&self) {
        self.promoted.store(true, Ordering::Relaxed);
        self.pool.release(self.key);
    }

    /// Whether the socket became a session's connection.
    #[must_use]
    pub fn is_promoted(&self) -> bool {
        self.promoted.load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.release(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[tokio::test]
    async fn an_address_past_its_bound_pushes_out_its_own_oldest() {
        let pool = Pending::new(PendingLimits {
            max_total: 100,
            max_per_ip: 2,
            min_age: Duration::from_secs(60),
        });
        let a1 = pool.register(ip(1));
        let b1 = pool.register(ip(2));
        let a2 = pool.register(ip(1));
        let a3 = pool.register(ip(1));
        assert!(a1.evicted().is_cancelled());
        assert!(!a2.evicted().is_cancelled() && !a3.evicted().is_cancelled());
        assert!(!b1.evicted().is_cancelled());
        assert_eq!(pool.count(), 3);
        assert_eq!(pool.evicted(), 1);
        a2.promote();
        drop(a3);
        assert_eq!(pool.count(), 1);
    }

    #[tokio::test]
    async fn a_full_pool_pushes_out_the_address_that_holds_the_most() {
        let pool = Pending::new(PendingLimits {
            max_total: 3,
            max_per_ip: 10,
            min_age: Duration::from_secs(600),
        });
        let a1 = pool.register(ip(1));
        let b1 = pool.register(ip(2));
        let a2 = pool.register(ip(1));
        pool.wait_for_room().await;
        assert!(a1.evicted().is_cancelled());
        assert!(!b1.evicted().is_cancelled() && !a2.evicted().is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_pool_waits_for_its_oldest_to_age_then_pushes_it_out() {
        let pool = Pending::new(PendingLimits {
            max_total: 2,
            max_per_ip: 10,
            min_age: Duration::from_secs(5),
        });
        let s1 = pool.register(ip(1));
        let _s2 = pool.register(ip(2));
        let start = Instant::now();
        pool.wait_for_room().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(s1.evicted().is_cancelled());
        drop(_s2);
        let _s3 = pool.register(ip(3));
        let s4 = pool.register(ip(4));
        // Both young: a newcomer waits, and a socket that leaves frees room at once.
        let pool2 = pool.clone();
        let waiter = tokio::spawn(async move { pool2.wait_for_room().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(s4);
        waiter.await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(pool.evicted(), 1);
    }
}
