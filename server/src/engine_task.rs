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

use crate::auth::Claims;
use crate::clock::Clock;
use crate::config::Limits;
use crate::frames::{binding_refusal, resume_frame, resumed_frame, FrameError, FrameErrorCode};
use crate::outq::{Meter, OutQueue, SharedFrame};
use crate::pending::Slot;
use crate::quota::{QuotaLimits, Quotas};
use crate::routes::{Binding, ConnId, Kick, PendingBounds, Routes};
use crate::token::ResumeToken;
use crate::webhook::{ServiceEvents, WebhookStats};
use roomcore::trace::AddressedLine;
use roomcore::{Engine, Input, Millis, Output, Outputs, SessionId, Stamped, To};
use serde::Serialize;
use std::sync::Arc;
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
        queue: Arc<OutQueue>,
        /// Fired to close it without going through its (possibly full) queue.
        kill: oneshot::Sender<Kick>,
        /// Its place among sockets that are not sessions yet (left at login or resume).
        slot: Option<Arc<Slot>>,
    },
    /// A session command from a connection (checked statelessly already).
    Input {
        /// The connection.
        conn: ConnId,
        /// The command.
        input: Input,
        /// Its request number.
        request: Option<u64>,
        /// For a login: what its verified access token grants (absent on an open server
        /// when the login carried no token).
        grants: Option<Arc<Claims>>,
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
        /// Any input whose origin is the service (`Input::is_admin`).
        input: Input,
        /// Where the admin reply goes.
        reply: oneshot::Sender<Stamped>,
    },
    /// Counters, for the admin stats endpoint.
    Stats {
        /// Where they go.
        reply: oneshot::Sender<Stats>,
    },
    /// The status `GET /status` reports (in memory: a node of its own, `last_applied`
    /// counting the inputs handled).
    Status {
        /// Where it goes.
        reply: oneshot::Sender<roomcore_raft::Status>,
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
    /// Outputs serialized (each once, however many recipients share it).
    pub outputs_serialized: u64,
    /// Connections dropped because they could not keep up.
    pub slow_disconnects: u64,
    /// Resumes accepted.
    pub resumes: u64,
    /// Resumes refused (unknown session or wrong token).
    pub resumes_refused: u64,
    /// Outputs replayed to resuming sessions (unwritten by their old connection, or held
    /// while they had none).
    pub frames_replayed: u64,
    /// Outputs reported lost to resuming sessions.
    pub frames_lost: u64,
    /// Distinct bytes of output frames held for connections and detached sessions now.
    pub held_bytes: usize,
    /// Commands refused by a per-user quota.
    pub quota_refusals: u64,
    /// Commands refused because the session's access token does not grant the room.
    pub room_refusals: u64,
    /// Sockets not bound to a session now (filled in by the HTTP layer).
    pub pending_connections: usize,
    /// Sockets closed to make room for newer ones (filled in by the HTTP layer).
    pub pending_evicted: u64,
    /// Sessions the server logged out because nobody came back for them.
    pub abandoned_logouts: u64,
    /// `room_created` outputs.
    pub rooms_created: u64,
    /// `room_destroyed` outputs.
    pub rooms_destroyed: u64,
    /// Webhook delivery (with `--webhook-url` only; filled in by the HTTP layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookStats>,
    /// The replicated node's log and snapshots (a durable server only; filled in by the
    /// HTTP layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<ReplicationStats>,
}

/// A durable node's log and snapshots, for `GET /admin/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplicationStats {
    /// Entries in the log (since the last snapshot, plus those kept behind it).
    pub log_entries: usize,
    /// The first index the log still holds (entries before it are in the snapshot).
    pub log_first_index: Option<u64>,
    /// Snapshots this process installed from a leader (it was behind the leader's log).
    pub snapshots_installed: u32,
}

/// The engine and everything routed from it.
pub struct EngineTask {
    engine: Engine,
    clock: Clock,
    routes: Routes,
    quotas: Quotas,
    meter: Arc<Meter>,
    out: Outputs,
    abandoned_after: Millis,
    stats: Stats,
    events: ServiceEvents,
}

impl EngineTask {
    /// A task around a fresh engine.
    #[must_use]
    pub fn new(engine: Engine, clock: Clock, limits: &Limits, meter: Arc<Meter>) -> EngineTask {
        let abandoned_ms = u64::try_from(limits.abandoned_session.as_millis()).unwrap_or(u64::MAX);
        let bounds = PendingBounds {
            max_frames: limits.max_pending_per_session,
            max_bytes: limits.max_pending_bytes_per_session,
            max_total_bytes: limits.outbound_total_bytes,
            fair_bytes: fair_share(limits),
        };
        let quotas = Quotas::new(QuotaLimits {
            sessions: limits.max_sessions_per_user,
            rooms: limits.max_rooms_per_user,
            attribute_bytes: limits.max_attribute_bytes_per_user,
            room_attribute_bytes: engine.config().attributes_total_max_bytes as usize,
        });
        EngineTask {
            engine,
            clock,
            routes: Routes::new(bounds, meter.clone()),
            quotas,
            meter,
            out: Outputs::new(),
            abandoned_after: Millis(abandoned_ms),
            stats: Stats::default(),
            events: ServiceEvents::default(),
        }
    }

    /// Hands every service event to `events` (its webhook, if any, and the recent list),
    /// without waiting for a delivery.
    #[must_use]
    pub fn with_service_events(mut self, events: ServiceEvents) -> EngineTask {
        self.events = events;
        self
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
            Cmd::Open {
                conn,
                queue,
                kill,
                slot,
            } => self.routes.open(conn, queue, kill, slot),
            Cmd::Input {
                conn,
                input,
                request,
                grants,
            } => self.on_input(conn, &input, request, grants),
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
            Cmd::Status { reply } => {
                let _ = reply.send(roomcore_raft::Status {
                    node_id: 1,
                    role: roomcore_raft::Role::Single,
                    leader_id: Some(1),
                    last_applied: self.stats.inputs,
                    state_digest: roomcore_raft::digest::engine_digest(&self.engine),
                });
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
            frames_replayed: self.routes.frames_replayed,
            frames_lost: self.routes.frames_lost,
            held_bytes: self.meter.alive_bytes(),
            ..self.stats.clone()
        }
    }

    fn refuse(&mut self, conn: ConnId, code: FrameErrorCode, message: &str, request: Option<u64>) {
        let frame = FrameError::new(code, message, request).to_frame();
        let frame = SharedFrame::new(frame, None, &self.meter);
        self.routes.send_to_conn(conn, frame);
        self.after_batch();
    }

    /// A session command: checked against the connection's binding, the session's room
    /// grants and the user's quotas, then fed to the engine.
    fn on_input(
        &mut self,
        conn: ConnId,
        input: &Input,
        request: Option<u64>,
        grants: Option<Arc<Claims>>,
    ) {
        let Some(bound) = self.routes.conn_session(conn) else {
            return; // the connection is gone already
        };
        let is_login = matches!(input, Input::Login { .. });
        let refusal = binding_refusal(input, bound);
        if let Some((code, message)) = refusal {
            self.refuse(conn, code, message, request);
            return;
        }
        let (user, grants) = match (input, bound) {
            (Input::Login { user, .. }, _) => (*user, grants),
            (_, Some(s)) => match self.routes.session_user(s) {
                Some(ug) => ug,
                None => return,
            },
            (_, None) => return,
        };
        if let Some(room) = input.target_room() {
            if grants
                .as_ref()
                .is_some_and(|g| !g.allows_room(room.as_str()))
            {
                self.stats.room_refusals += 1;
                let message = "the access token does not grant this room";
                self.refuse(conn, FrameErrorCode::RoomNotAllowed, message, request);
                return;
            }
        }
        let engine = &self.engine;
        if let Err(e) = self.quotas.check(user, input, |r| engine.room_exists(r)) {
            self.stats.quota_refusals += 1;
            self.refuse(conn, FrameErrorCode::QuotaExceeded, e.message(), request);
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
        self.feed_from(now, input, conn, user, grants, token);
    }

    /// Feeds a command from `conn`; a login that succeeds binds the connection and is
    /// followed by the session's resume token.
    fn feed_from(
        &mut self,
        now: Millis,
        input: &Input,
        conn: ConnId,
        user: roomcore::UserId,
        grants: Option<Arc<Claims>>,
        token: Option<ResumeToken>,
    ) {
        self.stats.inputs += 1;
        self.engine.handle_input(now, input, &mut self.out);
        let session = input.session();
        let ok = session.is_some_and(|s| self.out.iter().any(|o| is_ok_reply(&o.output, s)));
        self.quotas.after(user, input, ok, self.out.as_slice());
        let mut bound = None;
        if let (Input::Login { session, .. }, Some(token), true) = (input, token, ok) {
            let hex = token.to_hex();
            self.routes.bind(
                conn,
                Binding {
                    session: *session,
                    user,
                    grants,
                    token,
                },
            );
            self.quotas.session_delta(user, true);
            bound = Some((*session, hex));
        }
        self.route(Some(conn), None);
        if let Some((session, hex)) = bound {
            let frame = SharedFrame::new(resume_frame(session, &hex), None, &self.meter);
            self.routes.send_to_conn(conn, frame);
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
        // The token works once: a new one is drawn before anything changes, so a failing
        // random source refuses the resume instead of leaving a session nobody can resume.
        let Ok(next) = ResumeToken::generate() else {
            self.refuse(conn, FrameErrorCode::Internal, "no resume token", None);
            return;
        };
        self.stats.resumes += 1;
        let now = self.clock.now();
        // A session still attached elsewhere (its old connection not yet known dead): the
        // holder of the token wins; what the old connection had not written moves over, the
        // old connection gets `replaced` and is closed, and the engine sees the loss before
        // the restore.
        if let Some(old) = self.routes.session_conn(session) {
            let frame = FrameError::new(
                FrameErrorCode::Replaced,
                "another connection resumed this session",
                None,
            );
            let last = SharedFrame::new(frame.to_frame(), None, &self.meter);
            if self.routes.take_over(old, last, now).is_some() {
                self.feed(now, &Input::LinkLost { session }, None, None);
            }
        }
        let hex = next.to_hex();
        self.routes.rotate_token(session, next);
        let lost = self.routes.attach(conn, session);
        self.feed(now, &Input::LinkRestored { session }, None, None);
        let token = SharedFrame::new(resume_frame(session, &hex), None, &self.meter);
        self.routes.send_to_conn(conn, token);
        let resumed = SharedFrame::new(resumed_frame(session, &lost), None, &self.meter);
        self.routes.send_to_conn(conn, resumed);
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
        let mut out = std::mem::take(&mut self.out);
        for stamped in out.iter() {
            self.events.offer(stamped);
            match &stamped.output {
                Output::AdminReply { .. } => {
                    if let Some(tx) = admin.take() {
                        // The admin request may have given up waiting; nothing to do then.
                        let _ = tx.send(stamped.clone());
                    }
                }
                Output::RoomCreated { .. } => self.stats.rooms_created += 1,
                Output::RoomDestroyed { room_id, .. } => {
                    self.stats.rooms_destroyed += 1;
                    self.quotas.room_destroyed(*room_id);
                }
                Output::Reply {
                    session, request, ..
                } => {
                    let (session, request) = (*session, *request);
                    let frame = self.serialize(stamped, Some(request));
                    match sender {
                        Some(conn) => self.routes.send_to_conn(conn, frame),
                        None => self.routes.deliver(session, frame),
                    }
                }
                Output::SessionClosed { session, .. } => {
                    let session = *session;
                    let frame = self.serialize(stamped, None);
                    self.routes.deliver(session, frame);
                    if let Some(user) = self.routes.close_session(session) {
                        self.quotas.session_delta(user, false);
                    }
                }
                // A large room's coalesced delta is addressed to the room: every live member
                // gets the same serialized frame. Routed after the whole step, so a member
                // who joined later in the same step gets it too (a set delta: harmless) and
                // one who left does not.
                Output::RoomMembersChanged { room_id, .. } => {
                    let recipients = self.engine.room_recipients(*room_id).unwrap_or_default();
                    let frame = self.serialize(stamped, None);
                    for session in recipients {
                        self.routes.deliver(session, frame.clone());
                    }
                }
                // A member event for several members is one output naming a run: serialized
                // once, each member's frame carries its own session id.
                other => match other.to() {
                    Some(to @ To::Sessions(_)) => {
                        self.stats.outputs_serialized += 1;
                        let line = AddressedLine::new(stamped);
                        for &session in out.sessions(&to) {
                            let frame = SharedFrame::new(line.line_for(session), None, &self.meter);
                            self.routes.deliver(session, frame);
                        }
                    }
                    _ => {
                        if let Some(session) = other.session() {
                            let frame = self.serialize(stamped, None);
                            self.routes.deliver(session, frame);
                        }
                    }
                },
            }
        }
        // Keeps the buffer's capacity for the next batch.
        out.clear();
        self.out = out;
    }

    /// An output's frame, serialized once for all its recipients.
    fn serialize(&mut self, stamped: &Stamped, request: Option<u64>) -> SharedFrame {
        self.stats.outputs_serialized += 1;
        let line = roomcore::trace::output_line(stamped);
        SharedFrame::new(line, request, &self.meter)
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

/// What a connection or session may always hold, whatever the others do.
#[must_use]
pub fn fair_share(limits: &Limits) -> usize {
    limits.outbound_total_bytes / limits.max_connections.max(1)
}
