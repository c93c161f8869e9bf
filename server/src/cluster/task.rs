//! The task that stands where the in-memory engine task stands: it takes the same commands
//! from connections ([`Cmd`]), proposes them to the replicated node, and routes what every
//! applied entry produced to the connections of this node ([`super::deliver`]).
//!
//! Nothing here awaits but the loop itself: proposals run in their own tasks and report
//! back on a channel; the applied entries arrive in log order on the node's subscription.

use super::lanes::{Job, Lane, MAX_WAITING_PER_CONN};
use super::reaper::Reaper;
use crate::auth::Claims;
use crate::clock::Clock;
use crate::config::Limits;
use crate::engine_task::{fair_share, Cmd, Stats};
use crate::frames::{binding_refusal, FrameError, FrameErrorCode};
use crate::outq::{Meter, SharedFrame};
use crate::quota::{QuotaLimits, Quotas};
use crate::routes::{ConnId, Kick, PendingBounds, Routes};
use crate::token::ResumeToken;
use roomcore::{Input, SessionId, Stamped, UserId};
use roomcore_raft::{Command, Node, ProposeError, Proposed, RequestKey, SessionOp, TokenHash};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How often the task looks after what no event triggers: abandoned sessions (on the
/// leader).
const HOUSEKEEPING: Duration = Duration::from_millis(500);

/// Entries the node's subscription buffers for this task.
const APPLIED_BUFFER: usize = 1024;

/// What a proposal in flight is for.
pub(super) enum Kind {
    /// A session command from a connection (a login carries the token it hands out).
    Input {
        conn: ConnId,
        input: Box<Input>,
        request: Option<u64>,
        user: UserId,
        login: Option<Login>,
    },
    /// A resume from a connection, with the token that replaces the one presented.
    Resume {
        conn: ConnId,
        session: SessionId,
        next: ResumeToken,
    },
    /// This node lost a session's connection.
    Disconnect { session: SessionId },
    /// An admin command.
    Admin { reply: oneshot::Sender<Stamped> },
    /// The leader logs out a session nobody came back for.
    Reap { session: SessionId },
}

/// What a login proposes beside the `login` input.
pub(super) struct Login {
    pub token: ResumeToken,
    pub grants: Option<Arc<Claims>>,
}

/// A proposal this node made and has not seen applied yet.
pub(super) struct Waiting {
    /// The lane it holds (the lane's next job waits for it).
    pub lane: Option<ConnId>,
    pub kind: Kind,
    /// What was proposed, to propose again (with the same request key, so it is applied
    /// once) when the group did not apply it in time.
    pub command: Command,
    /// Whether the client was told `unavailable` already.
    pub told: bool,
}

/// The replicated counterpart of the engine task.
pub struct ClusterTask {
    pub(super) node: Node,
    pub(super) routes: Routes,
    pub(super) quotas: Quotas,
    pub(super) meter: Arc<Meter>,
    pub(super) clock: Clock,
    /// Ordered: lanes woken together start in connection order.
    pub(super) lanes: BTreeMap<ConnId, Lane>,
    pub(super) waiting: HashMap<RequestKey, Waiting>,
    /// Jobs in lanes plus proposals waiting: at `max_held` the task stops taking commands
    /// (connections then wait before reading more frames).
    pub(super) held: usize,
    max_held: usize,
    /// Sessions whose `disconnect` is queued or in flight: a resume waits for it, or the
    /// late disconnect would take the resumed session's link again.
    pub(super) disconnecting: HashSet<SessionId>,
    pub(super) reaper: Reaper,
    pub(super) stats: Stats,
    pub(super) events: crate::webhook::ServiceEvents,
    done: mpsc::UnboundedSender<(RequestKey, Result<Proposed, ProposeError>)>,
    done_rx: Option<mpsc::UnboundedReceiver<(RequestKey, Result<Proposed, ProposeError>)>>,
}

impl ClusterTask {
    /// A task around a started node.
    #[must_use]
    pub fn new(node: Node, limits: &Limits, meter: Arc<Meter>) -> ClusterTask {
        let bounds = PendingBounds {
            max_frames: limits.max_pending_per_session,
            max_bytes: limits.max_pending_bytes_per_session,
            max_total_bytes: limits.outbound_total_bytes,
            fair_bytes: fair_share(limits),
        };
        let room_attribute_bytes =
            node.read(|m, _| m.engine().config().attributes_total_max_bytes as usize);
        let quotas = Quotas::new(QuotaLimits {
            sessions: limits.max_sessions_per_user,
            rooms: limits.max_rooms_per_user,
            attribute_bytes: limits.max_attribute_bytes_per_user,
            room_attribute_bytes,
        });
        // Proposals report back here. Unbounded, but never more than `held` (bounded by
        // the engine queue) plus the housekeeping's own few are in flight.
        let (done, done_rx) = mpsc::unbounded_channel();
        ClusterTask {
            node,
            routes: Routes::new(bounds, meter.clone()),
            quotas,
            meter,
            clock: Clock::start(),
            lanes: BTreeMap::new(),
            waiting: HashMap::new(),
            held: 0,
            max_held: limits.engine_queue.max(1),
            disconnecting: HashSet::new(),
            reaper: Reaper::new(limits.abandoned_session),
            stats: Stats::default(),
            events: crate::webhook::ServiceEvents::default(),
            done,
            done_rx: Some(done_rx),
        }
    }

    /// Hands every service event this node applies to `events` (every node of a group
    /// with a webhook delivers; receivers de-duplicate by `event_id`).
    #[must_use]
    pub fn with_service_events(mut self, events: crate::webhook::ServiceEvents) -> ClusterTask {
        self.events = events;
        self
    }

    /// Runs until every command sender is gone or the node stops applying.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        let mut applied = self.node.subscribe(APPLIED_BUFFER);
        let Some(mut done) = self.done_rx.take() else {
            return;
        };
        let mut tick = tokio::time::interval(HOUSEKEEPING);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Applied entries first: the node's state machine waits while this buffer is
            // full, and they free lanes.
            tokio::select! {
                biased;
                entry = applied.recv() => match entry {
                    Some(entry) => self.on_applied(&entry),
                    None => break,
                },
                Some((key, result)) = done.recv() => self.on_done(key, result),
                cmd = rx.recv(), if self.held < self.max_held => match cmd {
                    Some(cmd) => self.on_cmd(cmd),
                    None => break,
                },
                _ = tick.tick() => self.housekeeping(),
            }
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Open {
                conn,
                queue,
                kill,
                slot,
            } => {
                self.routes.open(conn, queue, kill, slot);
                self.lanes.insert(conn, Lane::open());
            }
            Cmd::Input {
                conn,
                input,
                request,
                grants,
            } => self.enqueue(
                conn,
                Job::Input {
                    input,
                    request,
                    grants,
                },
            ),
            Cmd::Resume {
                conn,
                session,
                token,
            } => self.enqueue(conn, Job::Resume { session, token }),
            Cmd::Closed { conn } => self.on_closed(conn),
            Cmd::Admin { input, reply } => {
                self.held += 1;
                self.propose(None, Kind::Admin { reply }, Command::Input { input });
            }
            Cmd::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
            Cmd::Status { reply } => {
                let _ = reply.send(self.node.status());
            }
        }
    }

    /// A connection ended: its session (if it still carried one) is detached here at once,
    /// so its outputs wait for a resume, and its `disconnect` joins the lane behind what the
    /// client sent before.
    fn on_closed(&mut self, conn: ConnId) {
        let now = self.clock.now();
        let session = self.routes.detach(conn, now);
        let Some(lane) = self.lanes.get_mut(&conn) else {
            return;
        };
        lane.open = false;
        lane.closed_session = session;
        if let Some(session) = session {
            lane.queue.push_back(Job::Disconnect { session });
            self.held += 1;
            self.disconnecting.insert(session);
        }
        self.advance(conn);
    }

    fn enqueue(&mut self, conn: ConnId, job: Job) {
        let Some(lane) = self.lanes.get_mut(&conn) else {
            return; // the connection is gone already
        };
        if lane.queue.len() >= MAX_WAITING_PER_CONN {
            let request = match &job {
                Job::Input { request, .. } => *request,
                _ => None,
            };
            let message = "too many of this connection's commands are waiting for the group";
            self.refuse(conn, FrameErrorCode::Busy, message, request);
            return;
        }
        lane.queue.push_back(job);
        self.held += 1;
        self.advance(conn);
    }

    /// Starts the lane's next jobs until one is in flight (or it is empty); forgets a closed
    /// connection's lane once it is done.
    pub(super) fn advance(&mut self, conn: ConnId) {
        loop {
            let Some(lane) = self.lanes.get_mut(&conn) else {
                return;
            };
            if lane.busy.is_some() {
                return;
            }
            if let Some(Job::Resume { session, .. }) = lane.queue.front() {
                if self.disconnecting.contains(session) {
                    return; // woken when that disconnect is applied
                }
            }
            let Some(job) = lane.queue.pop_front() else {
                if lane.finished() {
                    self.lanes.remove(&conn);
                }
                return;
            };
            match self.start(conn, job) {
                Some(key) => {
                    if let Some(lane) = self.lanes.get_mut(&conn) {
                        lane.busy = Some(key);
                    }
                    return;
                }
                None => self.held -= 1,
            }
        }
    }

    /// Wakes the lanes whose next job is a resume of `session`.
    pub(super) fn wake_resumes(&mut self, session: SessionId) {
        let blocked: Vec<ConnId> = self
            .lanes
            .iter()
            .filter(|(_, l)| {
                l.busy.is_none()
                    && matches!(l.queue.front(), Some(Job::Resume { session: s, .. }) if *s == session)
            })
            .map(|(c, _)| *c)
            .collect();
        for conn in blocked {
            self.advance(conn);
        }
    }

    /// Checks a job and proposes it; `None` when it was refused (or needs no proposal).
    fn start(&mut self, conn: ConnId, job: Job) -> Option<RequestKey> {
        match job {
            Job::Input {
                input,
                request,
                grants,
            } => self.start_input(conn, input, request, grants),
            Job::Resume { session, token } => self.start_resume(conn, session, &token),
            Job::Disconnect { session } => {
                let op = SessionOp::Disconnect {
                    holder: self.node.holder(),
                    session,
                };
                let kind = Kind::Disconnect { session };
                Some(self.propose(Some(conn), kind, Command::Session { op }))
            }
        }
    }

    /// The checks the in-memory engine task makes (binding, room grants, quotas), then the
    /// proposal: a login becomes a `connect` with its token's hash and grants.
    fn start_input(
        &mut self,
        conn: ConnId,
        input: Input,
        request: Option<u64>,
        grants: Option<Arc<Claims>>,
    ) -> Option<RequestKey> {
        // A closed connection's commands still speak for the session it carried (a login or
        // resume on it has nobody left to answer and is dropped).
        let bound = match self.routes.conn_session(conn) {
            Some(bound) => bound,
            None => Some(self.lanes.get(&conn)?.closed_session?),
        };
        let is_login = matches!(input, Input::Login { .. });
        let refusal = binding_refusal(&input, bound);
        if let Some((code, message)) = refusal {
            self.refuse(conn, code, message, request);
            return None;
        }
        let (user, grants) = match (&input, bound) {
            (Input::Login { user, .. }, _) => (*user, grants),
            (_, Some(s)) => self.routes.session_user(s)?,
            (_, None) => return None,
        };
        if let Some(room) = input.target_room() {
            if grants
                .as_ref()
                .is_some_and(|g| !g.allows_room(room.as_str()))
            {
                self.stats.room_refusals += 1;
                let message = "the access token does not grant this room";
                self.refuse(conn, FrameErrorCode::RoomNotAllowed, message, request);
                return None;
            }
        }
        let node = &self.node;
        let exists = |r| node.read(|m, _| m.engine().room_exists(r));
        if let Err(e) = self.quotas.check(user, &input, exists) {
            self.stats.quota_refusals += 1;
            self.refuse(conn, FrameErrorCode::QuotaExceeded, e.message(), request);
            return None;
        }
        self.stats.inputs += 1;
        if !is_login {
            let kind = Kind::Input {
                conn,
                input: Box::new(input.clone()),
                request,
                user,
                login: None,
            };
            return Some(self.propose(Some(conn), kind, Command::Input { input }));
        }
        let Ok(token) = ResumeToken::generate() else {
            self.refuse(conn, FrameErrorCode::Internal, "no resume token", request);
            return None;
        };
        let rooms = grants.as_ref().and_then(|g| g.rooms.clone());
        if rooms.as_ref().is_some_and(|r| !grants_fit(r)) {
            let message = "the access token grants more rooms than a replicated server records";
            self.refuse(conn, FrameErrorCode::Unauthenticated, message, request);
            return None;
        }
        let op = SessionOp::Connect {
            holder: self.node.holder(),
            token_hash: TokenHash::of(token.to_hex().as_bytes()),
            grants: rooms,
            input: input.clone(),
        };
        let kind = Kind::Input {
            conn,
            input: Box::new(input),
            request,
            user,
            login: Some(Login { token, grants }),
        };
        Some(self.propose(Some(conn), kind, Command::Session { op }))
    }

    fn start_resume(
        &mut self,
        conn: ConnId,
        session: SessionId,
        token: &str,
    ) -> Option<RequestKey> {
        if self.routes.conn_session(conn)?.is_some() {
            let message = "this connection already speaks for a session";
            self.refuse(conn, FrameErrorCode::AlreadyBound, message, None);
            return None;
        }
        // The token works once: its successor is drawn (and its hash proposed with the
        // resume) before anything changes.
        let Ok(next) = ResumeToken::generate() else {
            self.refuse(conn, FrameErrorCode::Internal, "no resume token", None);
            return None;
        };
        let op = SessionOp::Resume {
            holder: self.node.holder(),
            session,
            token_hash: TokenHash::of(token.as_bytes()),
            next_token_hash: Some(TokenHash::of(next.to_hex().as_bytes())),
        };
        let kind = Kind::Resume {
            conn,
            session,
            next,
        };
        Some(self.propose(Some(conn), kind, Command::Session { op }))
    }

    /// Proposes `command` in its own task; the result comes back on the `done` channel, the
    /// entry on the subscription.
    pub(super) fn propose(
        &mut self,
        lane: Option<ConnId>,
        kind: Kind,
        command: Command,
    ) -> RequestKey {
        let key = self.node.next_key();
        self.spawn_propose(key, command.clone());
        self.waiting.insert(
            key,
            Waiting {
                lane,
                kind,
                command,
                told: false,
            },
        );
        key
    }

    fn spawn_propose(&self, key: RequestKey, command: Command) {
        self.propose_later(key, command, Duration::ZERO);
    }

    /// Proposes `command` under `key` after `delay`.
    pub(super) fn propose_later(&self, key: RequestKey, command: Command, delay: Duration) {
        let node = self.node.clone();
        let done = self.done.clone();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let result = node.propose(Some(key), command).await;
            // The task is gone only when the server is stopping.
            let _ = done.send((key, result));
        });
    }

    /// A proposal's outcome. Success needs nothing here (the applied entry does the work).
    /// When the group did not apply it in time, a command from a client is proposed again
    /// with the same request key (applied once, and before the lane's next command, however
    /// long the group takes), and the client is told `unavailable` once meanwhile; an admin
    /// command or a logout of the reaper is given up (the admin request answers 503).
    fn on_done(&mut self, key: RequestKey, result: Result<Proposed, ProposeError>) {
        let Err(error) = result else {
            return;
        };
        let Some(w) = self.waiting.get_mut(&key) else {
            return; // applied and handled already
        };
        let retry = error != ProposeError::Stopped
            && matches!(
                w.kind,
                Kind::Input { .. } | Kind::Resume { .. } | Kind::Disconnect { .. }
            );
        if retry {
            let tell = match &w.kind {
                Kind::Input { conn, request, .. } if !w.told => Some((*conn, *request)),
                Kind::Resume { conn, .. } if !w.told => Some((*conn, None)),
                _ => None,
            };
            w.told = true;
            let command = w.command.clone();
            self.spawn_propose(key, command);
            if let Some((conn, request)) = tell {
                let message = "the group has not applied this yet (no quorum, or this node \
                               is joining its group): it waits, and its reply follows";
                self.refuse(conn, FrameErrorCode::Unavailable, message, request);
            }
            return;
        }
        let Some(w) = self.waiting.remove(&key) else {
            return;
        };
        match w.kind {
            Kind::Admin { .. } => self.held = self.held.saturating_sub(1),
            Kind::Reap { session } => self.reaper.done(session),
            Kind::Disconnect { session } => {
                self.disconnecting.remove(&session);
                self.wake_resumes(session);
            }
            Kind::Input { .. } | Kind::Resume { .. } => {}
        }
        if let Some(conn) = w.lane {
            self.free_lane(conn);
        }
    }

    /// The lane's job in flight is over: the next one may start.
    pub(super) fn free_lane(&mut self, conn: ConnId) {
        self.held = self.held.saturating_sub(1);
        if let Some(l) = self.lanes.get_mut(&conn) {
            l.busy = None;
        }
        self.advance(conn);
    }

    /// Sends a refusal to a connection.
    pub(super) fn refuse(
        &mut self,
        conn: ConnId,
        code: FrameErrorCode,
        message: &str,
        request: Option<u64>,
    ) {
        let frame = FrameError::new(code, message, request).to_frame();
        let frame = SharedFrame::new(frame, None, &self.meter);
        // A connection that closed meanwhile: its session's buffer, for the resume.
        let closed = self.lanes.get(&conn).and_then(|l| l.closed_session);
        match (self.routes.conn_session(conn), closed) {
            (None, Some(session)) => self.routes.deliver(session, frame),
            _ => self.routes.send_to_conn(conn, frame),
        }
        self.after_batch();
    }

    /// Connections whose queue refused a frame are closed; their sessions are detached here
    /// and their `disconnect` goes through their lane.
    pub(super) fn after_batch(&mut self) {
        while let Some((conn, why)) = self.routes.pop_broken() {
            if why == Kick::TooSlow {
                self.routes.slow_disconnects += 1;
            }
            self.routes.kill(conn, why);
            // The connection's task reports `Closed` next, which detaches and disconnects.
        }
    }

    fn housekeeping(&mut self) {
        self.reap();
    }

    fn stats(&self) -> Stats {
        let (sessions, detached) = self.routes.session_counts();
        Stats {
            connections: self.routes.conn_count(),
            sessions,
            detached_sessions: detached,
            rooms: self.node.read(|m, _| m.engine().room_count()),
            frames_queued: self.routes.frames_queued,
            slow_disconnects: self.routes.slow_disconnects,
            frames_replayed: self.routes.frames_replayed,
            frames_lost: self.routes.frames_lost,
            held_bytes: self.meter.alive_bytes(),
            ..self.stats.clone()
        }
    }
}

/// Whether a token's room grants fit what the replicated session table records.
fn grants_fit(rooms: &[String]) -> bool {
    rooms.len() <= roomcore_raft::sessions::MAX_GRANTS
        && rooms.iter().map(String::len).sum::<usize>() <= roomcore_raft::sessions::MAX_GRANT_BYTES
}
