//! The routing table, owned by the engine task: which connection speaks for which session,
//! and where each output goes.
//!
//! A connection is bound to at most one session, a session to at most one connection. An
//! output addressed to a session goes to its connection's queue ([`crate::outq`]); when the
//! session has no connection (dropped, waiting for a resume) it waits in a per-session buffer
//! bounded in frames and bytes. When a connection ends, what its queue never wrote goes to
//! the front of that buffer, so a resume replays every output in order; what could not be
//! kept, or was being written when the connection failed, is counted as lost and reported by
//! the resume. Nothing here awaits: a full queue is a slow consumer, recorded in `broken` for
//! the engine task to disconnect and report as `link_lost`.

use crate::auth::Claims;
use crate::frames::Lost;
use crate::outq::{Meter, OutQueue, Refused, SharedFrame};
use crate::pending::Slot;
use crate::token::ResumeToken;
use roomcore::{Millis, SessionId, UserId};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A connection's id, unique for the server's life.
pub type ConnId = u64;

/// Why the server closes a connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Its outbound queue was full: the consumer cannot keep up.
    TooSlow,
    /// Another connection resumed its session.
    Replaced,
    /// The replicated group lost the session's link while this connection carried it (the
    /// group declared this node down): the client should resume.
    Dropped,
}

/// Bounds of the per-session buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingBounds {
    /// Frames per session.
    pub max_frames: usize,
    /// Bytes per session.
    pub max_bytes: usize,
    /// Distinct frame bytes alive in all queues and buffers; past it, a session holding more
    /// than `fair_bytes` loses its oldest.
    pub max_total_bytes: usize,
    /// What a session may always hold.
    pub fair_bytes: usize,
}

/// The engine task's handle on one connection.
#[derive(Debug)]
pub struct ConnEntry {
    queue: Arc<OutQueue>,
    kill: Option<oneshot::Sender<Kick>>,
    session: Option<SessionId>,
    /// Its place among sockets that are not sessions yet, left at login or resume.
    slot: Option<Arc<Slot>>,
}

/// What the server keeps per logged-in session.
#[derive(Debug)]
struct SessionEntry {
    user: UserId,
    /// What its access token grants (absent: a tokenless login on an open server).
    grants: Option<Arc<Claims>>,
    token: ResumeToken,
    conn: Option<ConnId>,
    /// Outputs waiting for a resume, oldest first.
    pending: VecDeque<SharedFrame>,
    pending_bytes: usize,
    /// What was lost since the last resume.
    lost: Lost,
    /// When it lost its connection (its key in the reap queue).
    detached_at: Option<Millis>,
}

/// What a new session is bound with.
#[derive(Debug)]
pub struct Binding {
    /// The session.
    pub session: SessionId,
    /// Its user.
    pub user: UserId,
    /// Its access token's grants.
    pub grants: Option<Arc<Claims>>,
    /// Its resume token.
    pub token: ResumeToken,
}

/// Connections and sessions, and the delivery rules between them.
#[derive(Debug)]
pub struct Routes {
    conns: HashMap<ConnId, ConnEntry>,
    sessions: HashMap<SessionId, SessionEntry>,
    /// Sessions without a connection, by the time they lost it: the oldest are reaped first.
    detached: BTreeSet<(Millis, SessionId)>,
    /// Connections whose queue refused a frame in the current batch.
    broken: Vec<(ConnId, Kick)>,
    bounds: PendingBounds,
    meter: Arc<Meter>,
    /// Frames that went into a connection's queue.
    pub frames_queued: u64,
    /// Connections dropped because their queue was full.
    pub slow_disconnects: u64,
    /// Outputs reported lost to resuming sessions.
    pub frames_lost: u64,
    /// Outputs replayed to resuming sessions.
    pub frames_replayed: u64,
}

impl Routes {
    /// An empty table.
    #[must_use]
    pub fn new(bounds: PendingBounds, meter: Arc<Meter>) -> Routes {
        Routes {
            conns: HashMap::new(),
            sessions: HashMap::new(),
            detached: BTreeSet::new(),
            broken: Vec::new(),
            bounds,
            meter,
            frames_queued: 0,
            slow_disconnects: 0,
            frames_lost: 0,
            frames_replayed: 0,
        }
    }

    /// Registers a new, unbound connection.
    pub fn open(
        &mut self,
        conn: ConnId,
        queue: Arc<OutQueue>,
        kill: oneshot::Sender<Kick>,
        slot: Option<Arc<Slot>>,
    ) {
        self.conns.insert(
            conn,
            ConnEntry {
                queue,
                kill: Some(kill),
                session: None,
                slot,
            },
        );
    }

    /// Whether the connection is open, and the session it speaks for.
    #[must_use]
    pub fn conn_session(&self, conn: ConnId) -> Option<Option<SessionId>> {
        self.conns.get(&conn).map(|c| c.session)
    }

    /// Open connections.
    #[must_use]
    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// Sessions the server knows (logged in through it), and how many have no connection.
    #[must_use]
    pub fn session_counts(&self) -> (usize, usize) {
        (self.sessions.len(), self.detached.len())
    }

    /// A session's user and grants.
    #[must_use]
    pub fn session_user(&self, session: SessionId) -> Option<(UserId, Option<Arc<Claims>>)> {
        self.sessions
            .get(&session)
            .map(|s| (s.user, s.grants.clone()))
    }

    /// Queues a frame for a connection. A full queue marks the connection too slow; a closed
    /// one (its task is ending) marks it gone. Either way the session stops routing to it at
    /// once, and the frame waits in the session's buffer with later outputs of the batch.
    pub fn send_to_conn(&mut self, conn: ConnId, frame: SharedFrame) {
        let Some(entry) = self.conns.get(&conn) else {
            return;
        };
        match entry.queue.push(frame.clone()) {
            Ok(()) => self.frames_queued += 1,
            Err(refused) => {
                let why = match refused {
                    Refused::Full => Kick::TooSlow,
                    Refused::Closed => Kick::Replaced,
                };
                if let Some(session) = self.mark_broken(conn, why) {
                    self.hold(session, frame);
                }
            }
        }
    }

    /// Marks a connection broken; returns the session it was carrying, now unattached.
    fn mark_broken(&mut self, conn: ConnId, why: Kick) -> Option<SessionId> {
        if !self.broken.iter().any(|(c, _)| *c == conn) {
            self.broken.push((conn, why));
        }
        let session = self.conns.get(&conn).and_then(|c| c.session)?;
        let entry = self.sessions.get_mut(&session)?;
        if entry.conn == Some(conn) {
            entry.conn = None;
            return Some(session);
        }
        None
    }

    /// The next connection that could not take its frames, and why.
    pub fn pop_broken(&mut self) -> Option<(ConnId, Kick)> {
        self.broken.pop()
    }

    /// Keeps a frame for a session without a connection, dropping (and counting) its oldest
    /// held frames past the bounds.
    fn hold(&mut self, session: SessionId, frame: SharedFrame) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.pending_bytes += frame.len();
        s.pending.push_back(frame);
        let b = self.bounds;
        loop {
            let over_all =
                self.meter.alive_bytes() > b.max_total_bytes && s.pending_bytes > b.fair_bytes;
            let over = s.pending.len() > b.max_frames || s.pending_bytes > b.max_bytes;
            if !(over || over_all) {
                break;
            }
            let Some(old) = s.pending.pop_front() else {
                break;
            };
            s.pending_bytes -= old.len();
            s.lost.add(old.request());
        }
    }

    /// Delivers an output to its session's connection, or keeps it for the session's resume.
    /// Outputs for sessions the server does not know are dropped.
    pub fn deliver(&mut self, session: SessionId, frame: SharedFrame) {
        let Some(entry) = self.sessions.get(&session) else {
            return;
        };
        match entry.conn {
            Some(conn) => self.send_to_conn(conn, frame),
            None => self.hold(session, frame),
        }
    }

    /// Binds a connection to a session that has just logged in on it.
    pub fn bind(&mut self, conn: ConnId, b: Binding) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.session = Some(b.session);
        if let Some(slot) = c.slot.take() {
            slot.promote();
        }
        let old = self.sessions.insert(
            b.session,
            SessionEntry {
                user: b.user,
                grants: b.grants,
                token: b.token,
                conn: Some(conn),
                pending: VecDeque::new(),
                pending_bytes: 0,
                lost: Lost::default(),
                detached_at: None,
            },
        );
        if let Some(at) = old.and_then(|o| o.detached_at) {
            self.detached.remove(&(at, b.session));
        }
    }

    /// Forgets a closed session (logout, or another device took over): its connection stays
    /// open, unbound, and may log in again. Returns its user.
    pub fn close_session(&mut self, session: SessionId) -> Option<UserId> {
        let entry = self.sessions.remove(&session)?;
        if let Some(at) = entry.detached_at {
            self.detached.remove(&(at, session));
        }
        if let Some(c) = entry.conn.and_then(|c| self.conns.get_mut(&c)) {
            c.session = None;
        }
        Some(entry.user)
    }

    /// Checks a resume request: the session is known and the token is its own.
    #[must_use]
    pub fn token_matches(&self, session: SessionId, token: &str) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|e| e.token.matches(token))
    }

    /// Replaces a session's resume token (after every resume: a token works once).
    pub fn rotate_token(&mut self, session: SessionId, token: ResumeToken) {
        if let Some(s) = self.sessions.get_mut(&session) {
            s.token = token;
        }
    }

    /// The connection a session is attached to.
    #[must_use]
    pub fn session_conn(&self, session: SessionId) -> Option<ConnId> {
        self.sessions.get(&session).and_then(|e| e.conn)
    }

    /// Tells a connection's task to close (it may be stuck writing to a slow peer, so this
    /// does not go through its queue).
    pub fn kill(&mut self, conn: ConnId, why: Kick) {
        if let Some(kill) = self.conns.get_mut(&conn).and_then(|c| c.kill.take()) {
            // The task may already be gone; then there is nobody left to tell.
            let _ = kill.send(why);
        }
    }

    /// Removes a connection and takes back what its queue did not write: unwritten frames go
    /// to the front of its session's buffer, frames in flight count as lost. Returns the
    /// session that just lost its connection (the engine must be told `link_lost`), if it
    /// was still attached to this one or was cut from it in this batch.
    pub fn detach(&mut self, conn: ConnId, now: Millis) -> Option<SessionId> {
        let entry = self.conns.remove(&conn)?;
        let left = entry.queue.take_leftover();
        let session = entry.session?;
        let s = self.sessions.get_mut(&session)?;
        // Attached to this connection, or cut from it by `mark_broken` in this batch.
        if s.conn.is_some() && s.conn != Some(conn) {
            return None;
        }
        s.conn = None;
        for f in &left.in_flight {
            s.lost.add(f.request());
        }
        self.requeue_front(session, left.unsent);
        let s = self.sessions.get_mut(&session)?;
        if s.detached_at.is_none() {
            s.detached_at = Some(now);
            self.detached.insert((now, session));
        }
        Some(session)
    }

    /// Puts frames back at the front of a session's buffer, oldest first, within its bounds.
    fn requeue_front(&mut self, session: SessionId, frames: Vec<SharedFrame>) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let later = std::mem::take(&mut s.pending);
        s.pending_bytes = 0;
        for f in frames.into_iter().chain(later) {
            self.hold(session, f);
        }
    }

    /// Another connection takes the session over from `old`, which is still open: what `old`
    /// had not written moves to the session's buffer, `old` gets `last` and is closed, and
    /// the session is detached (the engine must be told `link_lost`).
    pub fn take_over(&mut self, old: ConnId, last: SharedFrame, now: Millis) -> Option<SessionId> {
        let entry = self.conns.remove(&old)?;
        let unsent = entry.queue.take_unsent();
        let _ = entry.queue.push(last);
        if let Some(kill) = entry.kill {
            // Gone already: nothing to close.
            let _ = kill.send(Kick::Replaced);
        }
        let session = entry.session?;
        let s = self.sessions.get_mut(&session)?;
        s.conn = None;
        self.requeue_front(session, unsent);
        let s = self.sessions.get_mut(&session)?;
        if s.detached_at.is_none() {
            s.detached_at = Some(now);
            self.detached.insert((now, session));
        }
        Some(session)
    }

    /// Attaches a connection to a resumed session and queues what the session missed.
    /// Returns what was lost meanwhile (and clears that record).
    pub fn attach(&mut self, conn: ConnId, session: SessionId) -> Lost {
        let Some(s) = self.sessions.get_mut(&session) else {
            return Lost::default();
        };
        if let Some(at) = s.detached_at.take() {
            self.detached.remove(&(at, session));
        }
        s.conn = Some(conn);
        let lost = std::mem::take(&mut s.lost);
        let pending = std::mem::take(&mut s.pending);
        s.pending_bytes = 0;
        self.frames_lost += lost.frames;
        self.frames_replayed += pending.len() as u64;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(session);
            if let Some(slot) = c.slot.take() {
                slot.promote();
            }
        }
        for f in pending {
            self.send_to_conn(conn, f);
        }
        lost
    }

    /// The oldest session without a connection, if it lost it at or before `cutoff`.
    #[must_use]
    pub fn first_abandoned(&self, cutoff: Millis) -> Option<SessionId> {
        self.detached
            .first()
            .filter(|(at, _)| *at <= cutoff)
            .map(|(_, s)| *s)
    }

    /// When the oldest session without a connection lost it.
    #[must_use]
    pub fn oldest_detach(&self) -> Option<Millis> {
        self.detached.first().map(|(at, _)| *at)
    }

    /// Stops tracking a session as abandoned (it is being logged out).
    pub fn forget_detach(&mut self, session: SessionId) {
        if let Some(at) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.detached_at.take())
        {
            self.detached.remove(&(at, session));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outq::QueueLimits;

    fn bounds(max_frames: usize) -> PendingBounds {
        PendingBounds {
            max_frames,
            max_bytes: 1 << 20,
            max_total_bytes: usize::MAX,
            fair_bytes: 0,
        }
    }

    fn frame(meter: &Arc<Meter>, text: &str, request: Option<u64>) -> SharedFrame {
        SharedFrame::new(text.to_owned(), request, meter)
    }

    fn conn(routes: &mut Routes, meter: &Arc<Meter>, id: ConnId, cap: usize) -> Arc<OutQueue> {
        let q = OutQueue::new(
            QueueLimits {
                max_frames: cap,
                max_bytes: 1 << 20,
                max_total_bytes: usize::MAX,
                fair_bytes: 0,
            },
            meter.clone(),
        );
        let (kill, _) = oneshot::channel();
        routes.open(id, q.clone(), kill, None);
        q
    }

    fn bind(r: &mut Routes, conn: ConnId, s: &str) -> SessionId {
        let session = SessionId::new(s);
        r.bind(
            conn,
            Binding {
                session,
                user: UserId::new("u"),
                grants: None,
                token: ResumeToken::generate().unwrap(),
            },
        );
        session
    }

    async fn texts(q: &OutQueue) -> Vec<String> {
        let mut out = Vec::new();
        while !q.is_empty() {
            for item in q.next_batch(100, 1 << 20).await.unwrap() {
                if let crate::outq::Item::Frame(f) = item {
                    out.push(f.text().to_owned());
                }
            }
            q.written();
        }
        out
    }

    #[tokio::test]
    async fn unwritten_frames_are_replayed_in_order_and_in_flight_ones_reported() {
        let meter = Arc::new(Meter::default());
        let mut r = Routes::new(bounds(10), meter.clone());
        let q1 = conn(&mut r, &meter, 1, 10);
        let s = bind(&mut r, 1, "s1");
        for (i, text) in ["a", "b", "c"].iter().enumerate() {
            r.deliver(s, frame(&meter, text, Some(i as u64)));
        }
        // The writer took "a" and failed while writing it.
        let _ = q1.next_batch(1, 1 << 20).await.unwrap();
        assert_eq!(r.detach(1, Millis(5)), Some(s));
        r.deliver(s, frame(&meter, "d", None));
        let q2 = conn(&mut r, &meter, 2, 10);
        let lost = r.attach(2, s);
        assert_eq!(
            lost,
            Lost {
                frames: 1,
                requests: vec![0],
                unknown: false,
            }
        );
        assert_eq!(texts(&q2).await, ["b", "c", "d"]);
    }

    #[tokio::test]
    async fn a_full_buffer_drops_its_oldest_and_names_lost_replies() {
        let meter = Arc::new(Meter::default());
        let mut r = Routes::new(bounds(2), meter.clone());
        let _q = conn(&mut r, &meter, 1, 10);
        let s = bind(&mut r, 1, "s1");
        assert_eq!(r.detach(1, Millis(5)), Some(s));
        assert_eq!(r.session_counts(), (1, 1));
        r.deliver(s, frame(&meter, "reply", Some(77)));
        r.deliver(s, frame(&meter, "x", None));
        r.deliver(s, frame(&meter, "y", None));
        let q2 = conn(&mut r, &meter, 2, 10);
        assert_eq!(
            r.attach(2, s),
            Lost {
                frames: 1,
                requests: vec![77],
                unknown: false,
            }
        );
        assert_eq!(texts(&q2).await, ["x", "y"]);
        assert_eq!(r.session_counts(), (1, 0));
    }

    #[tokio::test]
    async fn a_full_queue_breaks_the_connection_and_nothing_is_lost_within_bounds() {
        let meter = Arc::new(Meter::default());
        let mut r = Routes::new(bounds(8), meter.clone());
        let _q = conn(&mut r, &meter, 1, 1);
        let s = bind(&mut r, 1, "s1");
        r.deliver(s, frame(&meter, "1", None));
        r.deliver(s, frame(&meter, "2", None));
        assert_eq!(r.pop_broken(), Some((1, Kick::TooSlow)));
        assert_eq!(r.session_conn(s), None);
        r.deliver(s, frame(&meter, "3", None));
        assert_eq!(r.detach(1, Millis(2)), Some(s));
        assert_eq!(r.first_abandoned(Millis(2)), Some(s));
        assert_eq!(r.first_abandoned(Millis(1)), None);
        let q2 = conn(&mut r, &meter, 2, 10);
        assert!(r.attach(2, s).is_empty());
        assert_eq!(texts(&q2).await, ["1", "2", "3"]);
    }

    #[test]
    fn a_closed_session_unbinds_its_connection() {
        let meter = Arc::new(Meter::default());
        let mut r = Routes::new(bounds(8), meter.clone());
        let _q = conn(&mut r, &meter, 1, 4);
        let s = bind(&mut r, 1, "s1");
        assert_eq!(r.close_session(s), Some(UserId::new("u")));
        assert_eq!(r.conn_session(1), Some(None));
        assert!(!r.token_matches(s, "00"));
        assert_eq!(r.detach(1, Millis(0)), None);
    }
}
