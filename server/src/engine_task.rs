//! The one task that owns the [`Engine`].
//!
//! Why one owner: the engine is a plain value (`&mut self` per input), so a single task can
//! drive it with no lock at all; inputs get a total order, which makes the server's run a
//! trace that `roomcore replay` reproduces exactly; timers need one sleep on one deadline;
//! and routing (which connection gets which output) is decided in the same place the outputs
//! are produced, so a session's outputs reach its connection in the engine's order.
//! Connections do their own parsing and JSON writing in their own tasks, so this task does
//! only engine work and queue pushes, none of which awaits.
//!
//! The loop waits for the next command or the next deadline (the engine's
//! [`Engine::poll_timeout`], or the oldest abandoned session), whichever comes first.

use crate::clock::Clock;
use crate::config::Limits;
use crate::frames::{resume_frame, resumed_frame, Frame, FrameError, FrameErrorCode};
use crate::routes::{ConnId, Kick, Routes};
use crate::token::ResumeToken;
use roomcore::{Engine, Input, Millis, Output, SessionId, Stamped};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What connections and the admin endpoint ask of the engine task.
#[derive(Debug)]
pub enum Cmd {
    /// A connection opened: its outbound queue and the switch that closes it.
    Open {
        /// The connection.
        conn: ConnId,
        /// Its outbound queue.
        tx: mpsc::Sender<Frame>,
        /// Fired to close it without going through its (possibly full) queue.
        kill: oneshot::Sender<Kick>,
    },
    /// A session command from a connection (checked statelessly already).
    Input {
        /// The connection.
        conn: ConnId,
        /// The command.
        input: Input,
        /// Its request number.
        request: Option<u64>,
    },
    /// A connection asks to take a dropped session back.
    Resume {
        /// The connection.
        conn: ConnId,
        /// The session.
        session: SessionId,
        /// The token handed out at the session's login.
        token: String,
    },
    /// A connection ended (closed by the peer, failed, idle, or killed).
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// An admin command from the admin endpoint; answered with its `admin_reply`.
    Admin {
        /// `remove_users` or `dismiss_room`.
        input: Input,
        /// Where the admin reply goes.
        reply: oneshot::Sender<Stamped>,
    },
    /// Counters, for the admin stats endpoint.
    Stats {
        /// Where they go.
        reply: oneshot::Sender<Stats>,
    },
}

/// Counters the engine task keeps (served by `GET /admin/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Open WebSocket connections known to the engine task.
    pub connections: usize,
    /// Sessions logged in through this server.
    pub sessions: usize,
    /// Of those, sessions whose connection dropped and that have not resumed.
    pub detached_sessions: usize,
    /// Rooms in the engine.
    pub rooms: u32,
    /// Inputs handed to the engine (link events and server logouts included).
    pub inputs: u64,
    /// Frames queued to connections.
    pub frames_queued: u64,
    /// Connections dropped because they could not keep up.
    pub slow_disconnects: u64,
    /// Resumes accepted.
    pub resumes: u64,
    /// Resumes refused (unknown session or wrong token).
    pub resumes_refused: u64,
    /// Sessions the server logged out because nobody came back for them.
    pub abandoned_logouts: u64,
    /// `room_created` outputs.
    pub rooms_created: u64,
    /// `room_destroyed` outputs.
    pub rooms_destroyed: u64,
}

/// The engine and everything routed from it.
pub struct EngineTask {
    engine: Engine,
    clock: Clock,
    routes: Routes,
    out: Vec<Stamped>,
    abandoned_after: Millis,
    stats: Stats,
}

impl EngineTask {
    /// A task around a fresh engine.
    #[must_use]
    pub fn new(engine: Engine, clock: Clock, limits: &Limits) -> EngineTask {
        let abandoned_ms = u64::try_from(limits.abandoned_session.as_millis()).unwrap_or(u64::MAX);
        EngineTask {
            engine,
            clock,
            routes: Routes::new(limits.max_pending_per_session),
            out: Vec::new(),
            abandoned_after: Millis(abandoned_ms),
            stats: Stats::default(),
        }
    }

    /// Runs until every command sender is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            let next = self.next_deadline();
            if next != armed {
                if let Some(at) = next {
                    sleep.as_mut().reset(at);
                }
                armed = next;
            }
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_cmd(cmd),
                    None => break,
                },
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.on_deadline();
                }
            }
        }
    }

    /// The earliest of the engine's next timer and the oldest abandoned session's logout.
    fn next_deadline(&self) -> Option<Instant> {
        let engine = self.engine.poll_timeout();
        let reap = self
            .routes
            .oldest_detach()
            .map(|at| Millis(at.0.saturating_add(self.abandoned_after.0)));
        let at = match (engine, reap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        Some(self.clock.instant_of(at))
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Open { conn, tx, kill } => self.routes.open(conn, tx, kill),
            Cmd::Input {
                conn,
                input,
                request,
            } => self.on_input(conn, &input, request),
            Cmd::Resume {
                conn,
                session,
                token,
            } => self.on_resume(conn, session, &token),
            Cmd::Closed { conn } => {
                let now = self.clock.now();
                if let Some(session) = self.routes.detach(conn, now) {
                    self.feed(now, &Input::LinkLost { session }, None, None);
                }
            }
            Cmd::Admin { input, reply } => {
                let now = self.clock.now();
                self.feed(now, &input, None, Some(reply));
            }
            Cmd::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
        }
    }

    fn stats(&self) -> Stats {
        let (sessions, detached) = self.routes.session_counts();
        Stats {
            connections: self.routes.conn_count(),
            sessions,
            detached_sessions: detached,
            rooms: self.engine.room_count(),
            frames_queued: self.routes.frames_queued,
            slow_disconnects: self.routes.slow_disconnects,
            ..self.stats.clone()
        }
    }

    fn refuse(&mut self, conn: ConnId, code: FrameErrorCode, message: &str, request: Option<u64>) {
        let frame = FrameError::new(code, message, request).to_frame();
        self.routes.send_to_conn(conn, Frame::Text(frame));
        self.after_batch();
    }

    /// A session command: checked against the connection's binding, then fed to the engine.
    fn on_input(&mut self, conn: ConnId, input: &Input, request: Option<u64>) {
        let Some(bound) = self.routes.conn_session(conn) else {
            return; // the connection is gone already
        };
        let is_login = matches!(input, Input::Login { .. });
        let refusal = match bound {
            None if !is_login => Some((
                FrameErrorCode::NotBound,
                "log in or resume first: this connection speaks for no session yet",
            )),
            Some(_) if is_login => Some((
                FrameErrorCode::AlreadyBound,
                "this connection already speaks for a session (log out first)",
            )),
            Some(s) if input.session() != Some(s) => Some((
                FrameErrorCode::WrongSession,
                "a connection may only send commands for its own session",
            )),
            _ => None,
        };
        if let Some((code, message)) = refusal {
            self.refuse(conn, code, message, request);
            return;
        }
        // The token is drawn before the login is attempted, so a failing random source
        // refuses the login instead of leaving a session nobody can resume.
        let token = if is_login {
            match ResumeToken::generate() {
                Ok(t) => Some(t),
                Err(_) => {
                    self.refuse(conn, FrameErrorCode::Internal, "no resume token", request);
                    return;
                }
            }
        } else {
            None
        };
        let now = self.clock.now();
        self.feed_with_login(now, input, conn, token);
    }

    /// Feeds a command from `conn`; a login that succeeds binds the connection and is
    /// followed by the session's resume token.
    fn feed_with_login(
        &mut self,
        now: Millis,
        input: &Input,
        conn: ConnId,
        token: Option<ResumeToken>,
    ) {
        self.stats.inputs += 1;
        self.engine.handle_input(now, input, &mut self.out);
        let mut bound = None;
        if let (Input::Login { session, .. }, Some(token)) = (input, token) {
            let ok = self.out.iter().any(|s| is_ok_reply(&s.output, *session));
            if ok {
                let hex = token.to_hex();
                self.routes.bind(conn, *session, token);
                bound = Some((*session, hex));
            }
        }
        self.route(Some(conn), None);
        if let Some((session, hex)) = bound {
            self.routes
                .send_to_conn(conn, Frame::Text(resume_frame(session, &hex)));
        }
        self.after_batch();
    }

    fn on_resume(&mut self, conn: ConnId, session: SessionId, token: &str) {
        match self.routes.conn_session(conn) {
            None => return,
            Some(Some(_)) => {
                self.refuse(
                    conn,
                    FrameErrorCode::AlreadyBound,
                    "this connection already speaks for a session",
                    None,
                );
                return;
            }
            Some(None) => {}
        }
        if !self.routes.token_matches(session, token) {
            self.stats.resumes_refused += 1;
            self.refuse(
                conn,
                FrameErrorCode::ResumeRefused,
                "unknown session or wrong resume token",
                None,
            );
            return;
        }
        self.stats.resumes += 1;
        let now = self.clock.now();
        // A session still attached elsewhere (its old connection not yet known dead): the
        // holder of the token wins; the old connection is closed and the engine sees the
        // loss before the restore.
        if let Some(old) = self.routes.session_conn(session) {
            let frame = FrameError::new(
                FrameErrorCode::Replaced,
                "another connection resumed this session",
                None,
            );
            self.routes.send_to_conn(old, Frame::Text(frame.to_frame()));
            self.routes.kill(old, Kick::Replaced);
            if self.routes.detach(old, now).is_some() {
                self.feed(now, &Input::LinkLost { session }, None, None);
            }
        }
        let gap = self.routes.attach(conn, session);
        self.feed(now, &Input::LinkRestored { session }, None, None);
        self.routes
            .send_to_conn(conn, Frame::Text(resumed_frame(session, gap)));
        self.after_batch();
    }

    fn on_deadline(&mut self) {
        let now = self.clock.now();
        self.engine.handle_timeout(now, &mut self.out);
        self.route(None, None);
        self.after_batch();
        let cutoff = Millis(now.0.saturating_sub(self.abandoned_after.0));
        while let Some(session) = self.routes.first_abandoned(cutoff) {
            self.routes.forget_detach(session);
            self.stats.abandoned_logouts += 1;
            // Request 0: nobody is waiting for this reply; it is dropped with the session.
            self.feed(
                now,
                &Input::Logout {
                    session,
                    request: 0,
                },
                None,
                None,
            );
        }
    }

    /// Feeds one input and routes its outputs; `sender` gets the reply, `admin` the admin
    /// reply.
    fn feed(
        &mut self,
        now: Millis,
        input: &Input,
        sender: Option<ConnId>,
        admin: Option<oneshot::Sender<Stamped>>,
    ) {
        self.stats.inputs += 1;
        self.engine.handle_input(now, input, &mut self.out);
        self.route(sender, admin);
        self.after_batch();
    }

    /// Routes the outputs in `self.out`: a reply to the connection that sent the command
    /// (a failed login's reply must not go to the session id's current owner), an admin reply
    /// to the admin request, everything else to its session's connection.
    fn route(&mut self, sender: Option<ConnId>, mut admin: Option<oneshot::Sender<Stamped>>) {
        for stamped in self.out.drain(..) {
            match &stamped.output {
                Output::Reply { session, .. } => match sender {
                    Some(conn) => self.routes.send_to_conn(conn, Frame::Out(stamped)),
                    None => {
                        let session = *session;
                        self.routes.deliver(session, stamped);
                    }
                },
                Output::AdminReply { .. } => {
                    if let Some(tx) = admin.take() {
                        // The admin request may have given up waiting; nothing to do then.
                        let _ = tx.send(stamped);
                    }
                }
                Output::RoomCreated { .. } => self.stats.rooms_created += 1,
                Output::RoomDestroyed { .. } => self.stats.rooms_destroyed += 1,
                Output::SessionClosed { session, .. } => {
                    let session = *session;
                    self.routes.deliver(session, stamped);
                    self.routes.close_session(session);
                }
                // A large room's coalesced delta is addressed to the room: each live member
                // gets a copy. Routed after the whole step, so a member who joined later in
                // the same step gets it too (a set delta: harmless) and one who left does not.
                Output::RoomMembersChanged { room_id, .. } => {
                    let recipients = self.engine.room_recipients(*room_id).unwrap_or_default();
                    for session in recipients {
                        self.routes.deliver(session, stamped.clone());
                    }
                }
                other => {
                    if let Some(session) = other.session() {
                        self.routes.deliver(session, stamped);
                    }
                }
            }
        }
    }

    /// Connections whose queue refused a frame are closed, and the engine is told each of
    /// their sessions lost its link (whose own outputs then wait for a resume).
    fn after_batch(&mut self) {
        while let Some((conn, why)) = self.routes.pop_broken() {
            if why == Kick::TooSlow {
                self.routes.slow_disconnects += 1;
            }
            self.routes.kill(conn, why);
            let now = self.clock.now();
            if let Some(session) = self.routes.detach(conn, now) {
                self.stats.inputs += 1;
                self.engine
                    .handle_input(now, &Input::LinkLost { session }, &mut self.out);
                self.route(None, None);
            }
        }
    }
}

/// Whether `output` is a successful reply to `session` (a login's own reply, in its batch).
fn is_ok_reply(output: &Output, session: SessionId) -> bool {
    matches!(
        output,
        Output::Reply { session: s, outcome: roomcore::Outcome::Ok(_), .. } if *s == session
    )
}
