//! The routing table, owned by the engine task: which connection speaks for which session,
//! and where each output goes.
//!
//! A connection is bound to at most one session, a session to at most one connection. An
//! output addressed to a session goes to its connection's queue; when the session has no
//! connection (dropped, waiting for a resume) it waits in a small per-session buffer. Nothing
//! here awaits: a full queue is a slow consumer, recorded in `broken` for the engine task to
//! disconnect and report as `link_lost`.

use crate::frames::Frame;
use crate::token::ResumeToken;
use roomcore::{Millis, SessionId, Stamped};
use std::collections::{BTreeSet, HashMap, VecDeque};
use tokio::sync::{mpsc, oneshot};

/// A connection's id, unique for the server's life.
pub type ConnId = u64;

/// Why the server closes a connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Its outbound queue was full: the consumer cannot keep up.
    TooSlow,
    /// Another connection resumed its session.
    Replaced,
}

/// The engine task's handle on one connection.
#[derive(Debug)]
pub struct ConnEntry {
    tx: mpsc::Sender<Frame>,
    kill: Option<oneshot::Sender<Kick>>,
    session: Option<SessionId>,
}

/// What the server keeps per logged-in session.
#[derive(Debug)]
struct SessionEntry {
    token: ResumeToken,
    conn: Option<ConnId>,
    /// Outputs that arrived while the session had no connection.
    pending: VecDeque<Stamped>,
    /// Some output for this session was lost (slow-consumer drop, pending overflow).
    gap: bool,
    /// When it lost its connection (its key in the reap queue).
    detached_at: Option<Millis>,
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
    max_pending: usize,
    /// Frames that went into a connection's queue.
    pub frames_queued: u64,
    /// Connections dropped because their queue was full.
    pub slow_disconnects: u64,
}

impl Routes {
    /// An empty table; `max_pending` bounds each session's buffer.
    #[must_use]
    pub fn new(max_pending: usize) -> Routes {
        Routes {
            conns: HashMap::new(),
            sessions: HashMap::new(),
            detached: BTreeSet::new(),
            broken: Vec::new(),
            max_pending,
            frames_queued: 0,
            slow_disconnects: 0,
        }
    }

    /// Registers a new, unbound connection.
    pub fn open(&mut self, conn: ConnId, tx: mpsc::Sender<Frame>, kill: oneshot::Sender<Kick>) {
        self.conns.insert(
            conn,
            ConnEntry {
                tx,
                kill: Some(kill),
                session: None,
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

    /// Queues a frame for a connection. A full queue marks the connection too slow; a closed
    /// one (its task is ending) marks it gone. Either way the session stops routing to it at
    /// once, so later outputs of the batch wait in its pending buffer.
    pub fn send_to_conn(&mut self, conn: ConnId, frame: Frame) {
        let Some(entry) = self.conns.get(&conn) else {
            return;
        };
        match entry.tx.try_send(frame) {
            Ok(()) => self.frames_queued += 1,
            Err(mpsc::error::TrySendError::Full(_)) => self.mark_broken(conn, Kick::TooSlow),
            Err(mpsc::error::TrySendError::Closed(_)) => self.mark_broken(conn, Kick::Replaced),
        }
    }

    fn mark_broken(&mut self, conn: ConnId, why: Kick) {
        if self.broken.iter().any(|(c, _)| *c == conn) {
            return;
        }
        self.broken.push((conn, why));
        let session = self.conns.get(&conn).and_then(|c| c.session);
        if let Some(entry) = session.and_then(|s| self.sessions.get_mut(&s)) {
            if entry.conn == Some(conn) {
                entry.conn = None;
                entry.gap = true;
            }
        }
    }

    /// The next connection that could not take its frames, and why.
    pub fn pop_broken(&mut self) -> Option<(ConnId, Kick)> {
        self.broken.pop()
    }

    /// Delivers an output to its session's connection, or keeps it for the session's resume.
    /// Outputs for sessions the server does not know are dropped.
    pub fn deliver(&mut self, session: SessionId, out: Stamped) {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return;
        };
        match entry.conn {
            Some(conn) => self.send_to_conn(conn, Frame::Out(out)),
            None => {
                if entry.pending.len() >= self.max_pending {
                    entry.pending.pop_front();
                    entry.gap = true;
                }
                entry.pending.push_back(out);
            }
        }
    }

    /// Binds a connection to a session that has just logged in on it.
    pub fn bind(&mut self, conn: ConnId, session: SessionId, token: ResumeToken) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.session = Some(session);
        let old = self.sessions.insert(
            session,
            SessionEntry {
                token,
                conn: Some(conn),
                pending: VecDeque::new(),
                gap: false,
                detached_at: None,
            },
        );
        if let Some(at) = old.and_then(|o| o.detached_at) {
            self.detached.remove(&(at, session));
        }
    }

    /// Forgets a closed session (logout, or another device took over): its connection stays
    /// open, unbound, and may log in again.
    pub fn close_session(&mut self, session: SessionId) {
        let Some(entry) = self.sessions.remove(&session) else {
            return;
        };
        if let Some(at) = entry.detached_at {
            self.detached.remove(&(at, session));
        }
        if let Some(c) = entry.conn.and_then(|c| self.conns.get_mut(&c)) {
            c.session = None;
        }
    }

    /// Checks a resume request: the session is known and the token is its own.
    #[must_use]
    pub fn token_matches(&self, session: SessionId, token: &str) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|e| e.token.matches(token))
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

    /// Removes a connection. Returns the session that just lost its connection (the engine
    /// must be told `link_lost`), if it was still attached to this one or was marked broken.
    pub fn detach(&mut self, conn: ConnId, now: Millis) -> Option<SessionId> {
        let entry = self.conns.remove(&conn)?;
        let session = entry.session?;
        let s = self.sessions.get_mut(&session)?;
        // Attached to this connection, or cut from it by `mark_broken` in this batch.
        if s.conn.is_some() && s.conn != Some(conn) {
            return None;
        }
        s.conn = None;
        if s.detached_at.is_none() {
            s.detached_at = Some(now);
            self.detached.insert((now, session));
        }
        Some(session)
    }

    /// Attaches a connection to a resumed session and queues what the session missed.
    /// Returns whether anything was lost meanwhile (and clears that mark).
    pub fn attach(&mut self, conn: ConnId, session: SessionId) -> bool {
        let Some(s) = self.sessions.get_mut(&session) else {
            return false;
        };
        if let Some(at) = s.detached_at.take() {
            self.detached.remove(&(at, session));
        }
        s.conn = Some(conn);
        let gap = std::mem::take(&mut s.gap);
        let pending = std::mem::take(&mut s.pending);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(session);
        }
        for out in pending {
            self.send_to_conn(conn, Frame::Out(out));
        }
        gap
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
    use roomcore::Output;

    fn out(session: &str) -> Stamped {
        Stamped {
            at: Millis(1),
            output: Output::SessionClosed {
                session: session.into(),
                reason: roomcore::CloseReason::Logout,
            },
        }
    }

    fn conn(routes: &mut Routes, id: ConnId, cap: usize) -> mpsc::Receiver<Frame> {
        let (tx, rx) = mpsc::channel(cap);
        let (kill, _) = oneshot::channel();
        routes.open(id, tx, kill);
        rx
    }

    #[test]
    fn outputs_follow_the_session_and_wait_while_it_is_detached() {
        let mut r = Routes::new(2);
        let mut rx1 = conn(&mut r, 1, 8);
        let s = SessionId::new("s1");
        r.bind(1, s, ResumeToken::generate().unwrap());
        r.deliver(s, out("s1"));
        assert!(rx1.try_recv().is_ok());
        assert_eq!(r.detach(1, Millis(5)), Some(s));
        assert_eq!(r.session_counts(), (1, 1));
        for _ in 0..3 {
            r.deliver(s, out("s1"));
        }
        let mut rx2 = conn(&mut r, 2, 8);
        assert!(
            r.attach(2, s),
            "three outputs into a buffer of two is a gap"
        );
        assert!(rx2.try_recv().is_ok());
        assert!(rx2.try_recv().is_ok());
        assert!(rx2.try_recv().is_err());
        assert_eq!(r.session_counts(), (1, 0));
    }

    #[test]
    fn a_full_queue_breaks_the_connection_and_later_outputs_wait() {
        let mut r = Routes::new(8);
        let _rx = conn(&mut r, 1, 1);
        let s = SessionId::new("s1");
        r.bind(1, s, ResumeToken::generate().unwrap());
        r.deliver(s, out("s1"));
        r.deliver(s, out("s1"));
        assert_eq!(r.pop_broken(), Some((1, Kick::TooSlow)));
        assert_eq!(r.session_conn(s), None);
        r.deliver(s, out("s1"));
        assert_eq!(r.detach(1, Millis(2)), Some(s));
        assert_eq!(r.first_abandoned(Millis(2)), Some(s));
        assert_eq!(r.first_abandoned(Millis(1)), None);
    }

    #[test]
    fn a_closed_session_unbinds_its_connection() {
        let mut r = Routes::new(8);
        let _rx = conn(&mut r, 1, 4);
        let s = SessionId::new("s1");
        r.bind(1, s, ResumeToken::generate().unwrap());
        r.close_session(s);
        assert_eq!(r.conn_session(1), Some(None));
        assert!(!r.token_matches(s, "00"));
        assert_eq!(r.detach(1, Millis(0)), None);
    }
}
