//! What this node does with each applied entry, in log order:
//!
//! 1. **Handoffs** (a session changed holder): a session another node took over is closed
//!    here (`replaced`) and its buffer dropped; a session whose link the group lost while a
//!    connection here still carried it has that connection closed, so its client resumes.
//! 2. **This node's own proposal** (found by the entry's request key): a login binds its
//!    connection, a resume attaches it (replaying the buffer kept here, if this node kept
//!    one), a refusal is told.
//! 3. **Outputs**, in the engine's order: the reply to the connection that sent the command,
//!    the admin reply to the admin request, everything else to the sessions this node holds
//!    (or keeps a buffer for), each output serialized once for all its recipients (a member
//!    event for several sessions, one output naming a run, is serialized once and each
//!    member's frame carries its own session id).
//! 4. The resume token frames, then the lane's next command may start.

use super::task::{ClusterTask, Kind, Login, Waiting};
use crate::auth::Claims;
use crate::frames::{resume_frame, resumed_frame, FrameError, FrameErrorCode, Lost};
use crate::outq::{Meter, SharedFrame};
use crate::routes::{Binding, ConnId, Kick};
use crate::token::ResumeToken;
use roomcore::trace::AddressedLine;
use roomcore::{Input, Millis, Outcome, Output, SessionId, Stamped, To};
use roomcore_raft::{AppliedEntry, Command, Handoff, Response, SessionOp, SessionRefusal};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a connect or resume refused for a node not announced yet waits before it is
/// proposed again.
const NOT_ANNOUNCED_RETRY: Duration = Duration::from_millis(100);

/// Where the reply of an entry goes.
#[derive(Debug, Clone, Copy)]
enum ReplyTo {
    /// The connection that sent the command.
    Conn(ConnId),
    /// The connection is gone: the session's buffer, for its resume.
    Session(SessionId),
}

impl ClusterTask {
    /// One applied entry (see the module docs).
    pub(crate) fn on_applied(&mut self, entry: &AppliedEntry) {
        let mut waiting = entry.request.and_then(|k| self.waiting.remove(&k));
        if let (Some(w), Some(key)) = (waiting.take(), entry.request) {
            match self.not_announced_yet(key, w, &entry.response) {
                Some(w) => waiting = Some(w),
                None => return,
            }
        }
        let claimed = waiting.as_ref().and_then(|w| claimed_session(&w.kind));
        let me = self.node.id();
        if let Response::Session { handoffs, .. } = &entry.response {
            for h in handoffs {
                let to_me = h.to.is_some_and(|t| t.node == me);
                if !(to_me && Some(h.session) == claimed) {
                    self.on_handoff(h);
                }
            }
        }
        match waiting {
            Some(w) => self.finish(entry, w),
            None => self.route(entry, None, None),
        }
        self.after_batch();
    }

    /// A connect or resume refused because this process has not announced itself to the
    /// group yet (it just started, or was fenced and starts over as a new incarnation): it
    /// is proposed again shortly, as this node's current incarnation, with the same request
    /// key (a refusal is not remembered, so the key is still fresh). Returns the proposal
    /// when it was not such a refusal.
    fn not_announced_yet(
        &mut self,
        key: roomcore_raft::RequestKey,
        mut w: Waiting,
        response: &Response,
    ) -> Option<Waiting> {
        let stale = *response
            == Response::SessionRefused {
                reason: SessionRefusal::StaleHolder,
            };
        if !stale {
            return Some(w);
        }
        let holder = self.node.holder();
        match &mut w.command {
            Command::Session {
                op: SessionOp::Connect { holder: h, .. } | SessionOp::Resume { holder: h, .. },
            } => *h = holder,
            _ => return Some(w),
        }
        let tell = match &w.kind {
            Kind::Input { conn, request, .. } if !w.told => Some((*conn, *request)),
            Kind::Resume { conn, .. } if !w.told => Some((*conn, None)),
            _ => None,
        };
        w.told = true;
        self.propose_later(key, w.command.clone(), NOT_ANNOUNCED_RETRY);
        self.waiting.insert(key, w);
        if let Some((conn, request)) = tell {
            let message = "this node is joining its group: the command waits, its reply follows";
            self.refuse(conn, FrameErrorCode::Unavailable, message, request);
        }
        None
    }

    /// A session changed holder by an entry this node did not propose for it.
    fn on_handoff(&mut self, h: &Handoff) {
        let me = self.node.id();
        let session = h.session;
        match h.to {
            // Only this node's own connect or resume makes it the holder; one whose client
            // is gone (its proposal given up on, then applied after all) is let go.
            Some(to) if to.node == me && self.routes.session_conn(session).is_none() => {
                self.disconnect_later(session);
            }
            Some(to) if to.node == me => {}
            // Another node took the session: this one lets it go.
            Some(_) => {
                if let Some(conn) = self.routes.session_conn(session) {
                    let frame = FrameError::new(
                        FrameErrorCode::Replaced,
                        "another connection resumed this session",
                        None,
                    );
                    let last = SharedFrame::new(frame.to_frame(), None, &self.meter);
                    let now = self.clock.now();
                    self.routes.take_over(conn, last, now);
                }
                if let Some(user) = self.routes.close_session(session) {
                    self.quotas.session_delta(user, false);
                }
            }
            // The group lost the link of a session a connection here still carries (this
            // node was declared down): close it, so its client resumes.
            None if h.from.is_some_and(|f| f.node == me) => {
                if let Some(conn) = self.routes.session_conn(session) {
                    self.routes.kill(conn, Kick::Dropped);
                }
            }
            None => {}
        }
    }

    /// Proposes that this node no longer holds `session` (no connection here carries it).
    fn disconnect_later(&mut self, session: SessionId) {
        if self.disconnecting.insert(session) {
            let op = SessionOp::Disconnect {
                holder: self.node.holder(),
                session,
            };
            self.propose(None, Kind::Disconnect { session }, Command::Session { op });
        }
    }

    /// The entry of one of this node's proposals.
    fn finish(&mut self, entry: &AppliedEntry, w: Waiting) {
        match w.kind {
            Kind::Input {
                conn,
                input,
                request,
                user,
                login,
            } => self.finish_input(entry, conn, &input, request, user, login),
            Kind::Resume {
                conn,
                session,
                next,
            } => self.finish_resume(entry, conn, session, next),
            Kind::Disconnect { session } => {
                self.route(entry, None, None);
                self.disconnecting.remove(&session);
                self.wake_resumes(session);
            }
            Kind::Admin { reply } => {
                if let Response::Duplicate {
                    reply: Some(output),
                } = &entry.response
                {
                    let _ = reply.send(Stamped {
                        at: Millis(entry.now_ms),
                        output: output.clone(),
                    });
                } else {
                    self.route(entry, None, Some(reply));
                }
                self.held = self.held.saturating_sub(1);
            }
            Kind::Reap { session } => {
                self.route(entry, None, None);
                self.reaper.done(session);
                self.stats.abandoned_logouts += 1;
            }
        }
        if let Some(conn) = w.lane {
            self.free_lane(conn);
        }
    }

    fn finish_input(
        &mut self,
        entry: &AppliedEntry,
        conn: ConnId,
        input: &Input,
        request: Option<u64>,
        user: roomcore::UserId,
        login: Option<Login>,
    ) {
        if let Response::SessionRefused { reason } = &entry.response {
            self.refuse_session(conn, *reason, request);
            return;
        }
        let open = self.routes.conn_session(conn).is_some();
        let session = input.session();
        let outputs = entry.response.outputs();
        let ok = session.is_some_and(|s| outputs.iter().any(|o| is_ok_reply(&o.output, s)));
        self.quotas.after(user, input, ok, outputs.as_slice());
        // A login that succeeded binds its connection before its outputs are routed.
        let mut bound = None;
        let claimed = session.filter(|s| claims_me(entry, *s));
        if let (Some(login), Some(session)) = (login, claimed) {
            if self.routes.conn_session(conn) == Some(None) {
                let hex = login.token.to_hex();
                self.routes.bind(
                    conn,
                    Binding {
                        session,
                        user,
                        grants: login.grants,
                        token: login.token,
                    },
                );
                self.quotas.session_delta(user, true);
                bound = Some((session, hex));
            } else {
                self.disconnect_later(session);
            }
        }
        // A failed login's reply must not reach a session of the same id held here.
        let reply_to = match (open, session) {
            (true, _) => Some(ReplyTo::Conn(conn)),
            (false, Some(s)) if !matches!(input, Input::Login { .. }) => Some(ReplyTo::Session(s)),
            _ => None,
        };
        if let Response::Duplicate {
            reply: Some(output),
        } = &entry.response
        {
            let stamped = Stamped {
                at: Millis(entry.now_ms),
                output: output.clone(),
            };
            let frame = self.serialize(&stamped, request);
            self.send_reply(reply_to, frame);
        }
        self.route(entry, reply_to, None);
        if let Some((session, hex)) = bound {
            let frame = SharedFrame::new(resume_frame(session, &hex), None, &self.meter);
            self.routes.send_to_conn(conn, frame);
        }
    }

    fn finish_resume(
        &mut self,
        entry: &AppliedEntry,
        conn: ConnId,
        session: SessionId,
        next: ResumeToken,
    ) {
        if let Response::SessionRefused { reason } = &entry.response {
            if *reason == SessionRefusal::BadToken {
                self.stats.resumes_refused += 1;
            }
            self.refuse_session(conn, *reason, None);
            return;
        }
        if !claims_me(entry, session) {
            self.refuse(conn, FrameErrorCode::ResumeRefused, "not resumed", None);
            return;
        }
        if self.routes.conn_session(conn) != Some(None) {
            // The client went away meanwhile: its session is not held here after all.
            self.disconnect_later(session);
            self.route(entry, None, None);
            return;
        }
        self.stats.resumes += 1;
        let hex = next.to_hex();
        let Some(lost) = self.attach(conn, session, next) else {
            self.disconnect_later(session);
            self.route(entry, None, None);
            return;
        };
        self.route(entry, None, None);
        let token = SharedFrame::new(resume_frame(session, &hex), None, &self.meter);
        self.routes.send_to_conn(conn, token);
        let resumed = SharedFrame::new(resumed_frame(session, &lost), None, &self.meter);
        self.routes.send_to_conn(conn, resumed);
    }

    /// Attaches a resuming connection to its session: the buffer this node kept for it is
    /// replayed (and what it lost named), or, when the session was held elsewhere (or by an
    /// earlier process of this node), it is bound afresh and what it lost is unknown.
    fn attach(&mut self, conn: ConnId, session: SessionId, token: ResumeToken) -> Option<Lost> {
        if let Some(old) = self.routes.session_conn(session) {
            // Resumed here while a connection here still carries it: that one is replaced.
            let frame = FrameError::new(
                FrameErrorCode::Replaced,
                "another connection resumed this session",
                None,
            );
            let last = SharedFrame::new(frame.to_frame(), None, &self.meter);
            let now = self.clock.now();
            self.routes.take_over(old, last, now);
        }
        if self.routes.session_user(session).is_some() {
            self.routes.rotate_token(session, token);
            return Some(self.routes.attach(conn, session));
        }
        let (user, rooms) = self.node.read(|m, _| {
            let user = m.engine().session_user(session);
            let rooms = m.sessions().grants(session).map(<[String]>::to_vec);
            (user, rooms)
        });
        let user = user?;
        let grants = rooms.map(|rooms| {
            Arc::new(Claims {
                sub: user.as_str().to_owned(),
                exp: 0,
                rooms: Some(rooms),
            })
        });
        self.routes.bind(
            conn,
            Binding {
                session,
                user,
                grants,
                token,
            },
        );
        self.quotas.session_delta(user, true);
        Some(Lost::unknown())
    }

    fn refuse_session(&mut self, conn: ConnId, reason: SessionRefusal, request: Option<u64>) {
        let (code, message) = match reason {
            SessionRefusal::BadToken => (
                FrameErrorCode::ResumeRefused,
                "unknown session or wrong resume token",
            ),
            SessionRefusal::StaleHolder | SessionRefusal::TooManyNodes => (
                FrameErrorCode::Internal,
                "this node cannot hold sessions (the group's node table is full)",
            ),
            SessionRefusal::GrantsTooLarge => (
                FrameErrorCode::Unauthenticated,
                "the access token grants more rooms than a replicated server records",
            ),
            SessionRefusal::NotALogin => (FrameErrorCode::Internal, "not a login"),
        };
        self.refuse(conn, code, message, request);
    }

    fn send_reply(&mut self, to: Option<ReplyTo>, frame: SharedFrame) {
        match to {
            Some(ReplyTo::Conn(c)) => self.routes.send_to_conn(c, frame),
            Some(ReplyTo::Session(s)) => self.routes.deliver(s, frame),
            None => {}
        }
    }

    /// Routes an entry's outputs in the engine's order: the reply to `reply_to`, the admin
    /// reply to `admin`, every other output to each recipient session this node holds or
    /// keeps a buffer for.
    fn route(
        &mut self,
        entry: &AppliedEntry,
        reply_to: Option<ReplyTo>,
        mut admin: Option<oneshot::Sender<Stamped>>,
    ) {
        let me = self.node.id();
        let outputs = entry.response.outputs();
        let mut deliveries = entry.deliveries().peekable();
        for (i, stamped) in outputs.iter().enumerate() {
            self.events.offer(stamped);
            match &stamped.output {
                Output::AdminReply { .. } => {
                    if let Some(tx) = admin.take() {
                        // The admin request may have stopped waiting.
                        let _ = tx.send(stamped.clone());
                    }
                }
                Output::Reply { request, .. } if reply_to.is_some() => {
                    let frame = self.serialize(stamped, Some(*request));
                    self.send_reply(reply_to, frame);
                }
                Output::RoomCreated { .. } => self.stats.rooms_created += 1,
                Output::RoomDestroyed { room_id, .. } => {
                    self.stats.rooms_destroyed += 1;
                    self.quotas.room_destroyed(*room_id);
                }
                _ => {}
            }
            let replies = matches!(
                stamped.output,
                Output::Reply { .. } | Output::AdminReply { .. }
            );
            let mut frames: Option<Frames> = None;
            while let Some(d) = deliveries.next_if(|d| d.output == i) {
                if replies || d.holder.is_some_and(|h| h.node != me) {
                    continue;
                }
                // Serialized the first time a recipient here needs it, once for all of them.
                let made = match &frames {
                    Some(made) => made,
                    None => frames.insert(self.frames_of(stamped)),
                };
                let frame = made.for_session(d.session, &self.meter);
                self.routes.deliver(d.session, frame);
                if matches!(stamped.output, Output::SessionClosed { .. }) {
                    if let Some(user) = self.routes.close_session(d.session) {
                        self.quotas.session_delta(user, false);
                    }
                }
            }
        }
    }

    /// An output serialized once for all its recipients on this node: a member event for a
    /// run as a line each member's frame is addressed from, any other output as one frame.
    fn frames_of(&mut self, stamped: &Stamped) -> Frames {
        self.stats.outputs_serialized += 1;
        match stamped.output.to() {
            Some(To::Sessions(_)) => Frames::Addressed(AddressedLine::new(stamped)),
            _ => {
                let line = roomcore::trace::output_line(stamped);
                Frames::Shared(SharedFrame::new(line, None, &self.meter))
            }
        }
    }

    /// An output's frame, serialized once for all its recipients.
    fn serialize(&mut self, stamped: &Stamped, request: Option<u64>) -> SharedFrame {
        self.stats.outputs_serialized += 1;
        let line = roomcore::trace::output_line(stamped);
        SharedFrame::new(line, request, &self.meter)
    }
}

/// One output's frames for the sessions this node delivers it to.
enum Frames {
    /// A member event for a run: serialized once, each frame naming its own session.
    Addressed(AddressedLine),
    /// Any other output: one frame for all its recipients.
    Shared(SharedFrame),
}

impl Frames {
    /// The frame for `session`.
    fn for_session(&self, session: SessionId, meter: &Arc<Meter>) -> SharedFrame {
        match self {
            Frames::Addressed(line) => SharedFrame::new(line.line_for(session), None, meter),
            Frames::Shared(frame) => frame.clone(),
        }
    }
}

/// The session a login or resume asks this node to hold.
fn claimed_session(kind: &Kind) -> Option<SessionId> {
    match kind {
        Kind::Input {
            login: Some(_),
            input,
            ..
        } => input.session(),
        Kind::Resume { session, .. } => Some(*session),
        _ => None,
    }
}

/// Whether the entry made this proposal's node the holder of `session`.
fn claims_me(entry: &AppliedEntry, session: SessionId) -> bool {
    matches!(&entry.response, Response::Session { handoffs, .. }
        if handoffs.iter().any(|h| h.session == session && h.to.is_some()))
}

/// Whether `output` is a successful reply to `session`.
fn is_ok_reply(output: &Output, session: SessionId) -> bool {
    matches!(
        output,
        Output::Reply { session: s, outcome: Outcome::Ok(_), .. } if *s == session
    )
}
