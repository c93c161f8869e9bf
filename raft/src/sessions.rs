//! Which node holds which session, and the sessions' resume-token hashes: replicated beside
//! the engine, so that any node can take a client back after its node died, and so that an
//! output is delivered once, by the node the client is connected to.
//!
//! A node process is a [`Holder`]: its node id and an incarnation it draws when it starts.
//! It announces itself with [`SessionOp::NodeUp`] before it serves anyone; every session an
//! older incarnation of that node held loses its link through the log (its reconnect grace
//! runs on every replica). [`SessionOp::NodeDown`], proposed by the leader when a node stops
//! answering, does the same for the incarnation that went silent and fences it: its later
//! connects and resumes are refused until it announces a new incarnation.
//!
//! Every operation is a replicated transition: applied in log order on every replica, never
//! reading a clock, bounded by the engine's own session limit (a token is recorded only for
//! a session the engine logged in, and forgotten when the engine closes it).

use std::collections::BTreeMap;
use std::fmt;

use roomcore::{Input, Millis, Outcome, Output, Outputs, SessionId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::machine::RoomMachine;
use crate::proposal::Response;
use crate::types::NodeId;

/// Node processes remembered (every node id ever announced, with its latest incarnation).
pub const MAX_NODES: usize = 1_024;

/// Most bytes of room grants recorded for one session (the patterns' lengths together), so
/// the replicated table stays bounded by the engine's session limit times this.
pub const MAX_GRANT_BYTES: usize = 4_096;

/// Most room grant patterns recorded for one session.
pub const MAX_GRANTS: usize = 64;

/// A node process: the node id and the incarnation its process drew at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Holder {
    /// The node.
    pub node: NodeId,
    /// Drawn by the process when it starts; a restart is a new incarnation.
    pub incarnation: u64,
}

/// The sha256 of a resume token. Only the hash is replicated and stored: a copy of the log
/// or of a snapshot does not let anyone resume a session.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The hash of a token as the client presents it.
    #[must_use]
    pub fn of(token: &[u8]) -> TokenHash {
        TokenHash(Sha256::digest(token).into())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", String::from(*self))
    }
}

impl From<TokenHash> for String {
    fn from(h: TokenHash) -> String {
        crate::digest::hex(&h.0)
    }
}

impl TryFrom<String> for TokenHash {
    type Error = String;
    fn try_from(s: String) -> Result<TokenHash, String> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(format!(
                "a token hash is 64 hex digits, got {}",
                bytes.len()
            ));
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let digit = |b: u8| char::from(b).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                // Two hex digits make at most 255.
                (Some(hi), Some(lo)) => *slot = u8::try_from(hi * 16 + lo).unwrap_or(0),
                _ => return Err("a token hash is hex".to_owned()),
            }
        }
        Ok(TokenHash(out))
    }
}

/// The session bookkeeping operations (all proposed by the embedding server's nodes, except
/// `NodeDown`, which the leader's failure detector proposes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionOp {
    /// A client logged in through `holder`: applies `input` (a `login`), and if the engine
    /// answered it with success, records the token hash and that `holder` holds the session.
    Connect {
        /// The node process the client is connected to.
        holder: Holder,
        /// The hash of the token handed to the client with its login reply.
        token_hash: TokenHash,
        /// The rooms the session may enter (exact ids, or a prefix followed by `*`), as its
        /// access token granted them; `None`: any room. Recorded with the session so that a
        /// node the client resumes on later enforces the same grants. At most
        /// [`MAX_GRANTS`] patterns of [`MAX_GRANT_BYTES`] together.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grants: Option<Vec<String>>,
        /// The `login` input.
        input: Input,
    },
    /// A client presented `token_hash` for `session` at `holder`: if it matches, `holder`
    /// holds the session from now on (taking it from any other node) and the engine is told
    /// `link_restored` (its outputs are the delta the client missed).
    Resume {
        /// The node process the client reconnected to.
        holder: Holder,
        /// The session.
        session: SessionId,
        /// The hash of the presented token.
        token_hash: TokenHash,
        /// The hash of the token that replaces it on success (a resume token then works
        /// once); `None` keeps the presented one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_token_hash: Option<TokenHash>,
    },
    /// The client's connection to `holder` dropped: if `holder` still holds the session, it
    /// holds it no more and the engine is told `link_lost` (the grace starts). A late
    /// disconnect from a node the session has left since is a no-op.
    Disconnect {
        /// The node process that lost the connection.
        holder: Holder,
        /// The session.
        session: SessionId,
    },
    /// A node process starts: sessions held by the node's other incarnations lose their link.
    NodeUp {
        /// The new process.
        holder: Holder,
    },
    /// The leader saw `holder` stop answering: its sessions lose their link and it is fenced
    /// (no-op if the node has announced another incarnation since).
    NodeDown {
        /// The silent process.
        holder: Holder,
    },
}

/// Why a session operation changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRefusal {
    /// The holder is not its node's current, live incarnation (announce with `NodeUp`).
    StaleHolder,
    /// `Connect` carried an input that is not a `login`.
    NotALogin,
    /// No such session, or the token does not match.
    BadToken,
    /// The node table is full ([`MAX_NODES`]).
    TooManyNodes,
    /// `Connect` carried more room grants than [`MAX_GRANTS`] / [`MAX_GRANT_BYTES`].
    GrantsTooLarge,
}

/// A change of the node holding a session, caused by one applied entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The session.
    pub session: SessionId,
    /// Who held it before (`None`: nobody).
    pub from: Option<Holder>,
    /// Who holds it now (`None`: nobody; its link is lost).
    pub to: Option<Holder>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct NodeRecord {
    incarnation: u64,
    down: bool,
}

/// The replicated session table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions {
    /// Connected sessions and the process each is connected to.
    holders: BTreeMap<SessionId, Holder>,
    /// Resume-token hashes of logged-in sessions.
    tokens: BTreeMap<SessionId, TokenHash>,
    /// Each node's latest incarnation.
    nodes: BTreeMap<NodeId, NodeRecord>,
    /// The room grants of sessions whose access token limited their rooms.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    grants: BTreeMap<SessionId, Vec<String>>,
    /// The holders of the sessions the last applied entry closed, so that their last outputs
    /// (the logout reply, `session_closed`) still reach them. Not replicated state: it is
    /// rebuilt by every apply, and empty in a snapshot.
    #[serde(skip)]
    closed: Vec<(SessionId, Holder)>,
}

impl Sessions {
    /// The process holding `session`, if it is connected somewhere.
    #[must_use]
    pub fn holder(&self, session: SessionId) -> Option<Holder> {
        self.holders.get(&session).copied()
    }

    /// Whether a resume token hash is recorded for `session`.
    #[must_use]
    pub fn has_token(&self, session: SessionId) -> bool {
        self.tokens.contains_key(&session)
    }

    /// The room grants recorded at the session's login (`None`: any room).
    #[must_use]
    pub fn grants(&self, session: SessionId) -> Option<&[String]> {
        self.grants.get(&session).map(Vec::as_slice)
    }

    /// Logged-in sessions that no node holds (their link is lost: waiting for a resume, or
    /// for the embedding server to log them out), ascending.
    #[must_use]
    pub fn unheld(&self) -> Vec<SessionId> {
        self.tokens
            .keys()
            .filter(|s| !self.holders.contains_key(s))
            .copied()
            .collect()
    }

    /// The sessions `node` holds (any incarnation), ascending.
    #[must_use]
    pub fn held_by(&self, node: NodeId) -> Vec<SessionId> {
        self.holders
            .iter()
            .filter(|(_, h)| h.node == node)
            .map(|(s, _)| *s)
            .collect()
    }

    /// The node's current incarnation and whether it is fenced, if it ever announced itself.
    #[must_use]
    pub fn node(&self, node: NodeId) -> Option<(u64, bool)> {
        self.nodes.get(&node).map(|r| (r.incarnation, r.down))
    }

    /// Every node's current incarnation that is not fenced.
    #[must_use]
    pub fn live_nodes(&self) -> Vec<Holder> {
        self.nodes
            .iter()
            .filter(|(_, r)| !r.down)
            .map(|(node, r)| Holder {
                node: *node,
                incarnation: r.incarnation,
            })
            .collect()
    }

    /// Whether `holder` is its node's current, unfenced incarnation.
    #[must_use]
    pub fn is_live(&self, holder: Holder) -> bool {
        self.nodes
            .get(&holder.node)
            .is_some_and(|r| r.incarnation == holder.incarnation && !r.down)
    }

    /// The process an output of the entry just applied should reach `session` at: its
    /// holder, or for a session that entry closed, the holder it had.
    #[must_use]
    pub fn delivery_holder(&self, session: SessionId) -> Option<Holder> {
        self.holder(session).or_else(|| {
            self.closed
                .iter()
                .find(|(s, _)| *s == session)
                .map(|(_, h)| *h)
        })
    }

    /// Forgets the sessions the engine closed in `response` (logout, another device).
    pub(crate) fn forget_closed(&mut self, response: &Response) {
        self.closed.clear();
        for s in response.outputs() {
            if let Output::SessionClosed { session, .. } = &s.output {
                if let Some(h) = self.holders.remove(session) {
                    self.closed.push((*session, h));
                }
                self.tokens.remove(session);
                self.grants.remove(session);
            }
        }
    }
}

/// Applies one session operation to the machine.
pub(crate) fn apply(m: &mut RoomMachine, now: Millis, op: &SessionOp) -> Response {
    match op {
        SessionOp::Connect {
            holder,
            token_hash,
            grants,
            input,
        } => connect(m, now, *holder, *token_hash, grants.as_deref(), input),
        SessionOp::Resume {
            holder,
            session,
            token_hash,
            next_token_hash,
        } => resume(
            m,
            now,
            *holder,
            *session,
            *token_hash,
            next_token_hash.unwrap_or(*token_hash),
        ),
        SessionOp::Disconnect { holder, session } => disconnect(m, now, *holder, *session),
        SessionOp::NodeUp { holder } => node_up(m, now, *holder),
        SessionOp::NodeDown { holder } => node_down(m, now, *holder),
    }
}

fn refused(reason: SessionRefusal) -> Response {
    Response::SessionRefused { reason }
}

/// Whether a session's grants fit the table's bounds.
fn grants_fit(grants: &[String]) -> bool {
    grants.len() <= MAX_GRANTS && grants.iter().map(String::len).sum::<usize>() <= MAX_GRANT_BYTES
}

fn connect(
    m: &mut RoomMachine,
    now: Millis,
    holder: Holder,
    token_hash: TokenHash,
    grants: Option<&[String]>,
    input: &Input,
) -> Response {
    let Input::Login {
        session, request, ..
    } = input
    else {
        return refused(SessionRefusal::NotALogin);
    };
    if !m.sessions.is_live(holder) {
        return refused(SessionRefusal::StaleHolder);
    }
    if grants.is_some_and(|g| !grants_fit(g)) {
        return refused(SessionRefusal::GrantsTooLarge);
    }
    let mut outputs = Outputs::new();
    m.engine.handle_input(now, input, &mut outputs);
    let ok = outputs.iter().any(|s| {
        matches!(&s.output, Output::Reply { session: s2, request: r2, outcome: Outcome::Ok(_) }
            if s2 == session && r2 == request)
    });
    let mut handoffs = Vec::new();
    if ok {
        m.sessions.tokens.insert(*session, token_hash);
        match grants {
            Some(g) => m.sessions.grants.insert(*session, g.to_vec()),
            None => m.sessions.grants.remove(session),
        };
        let from = m.sessions.holders.insert(*session, holder);
        handoffs.push(Handoff {
            session: *session,
            from,
            to: Some(holder),
        });
    }
    Response::Session { outputs, handoffs }
}

fn resume(
    m: &mut RoomMachine,
    now: Millis,
    holder: Holder,
    session: SessionId,
    token_hash: TokenHash,
    next_token_hash: TokenHash,
) -> Response {
    if !m.sessions.is_live(holder) {
        return refused(SessionRefusal::StaleHolder);
    }
    // The table holds hashes only, so comparing them leaks nothing about a token.
    if m.sessions.tokens.get(&session) != Some(&token_hash) {
        return refused(SessionRefusal::BadToken);
    }
    m.sessions.tokens.insert(session, next_token_hash);
    let from = m.sessions.holders.insert(session, holder);
    let mut outputs = Outputs::new();
    m.engine
        .handle_input(now, &Input::LinkRestored { session }, &mut outputs);
    Response::Session {
        outputs,
        handoffs: vec![Handoff {
            session,
            from,
            to: Some(holder),
        }],
    }
}

fn disconnect(m: &mut RoomMachine, now: Millis, holder: Holder, session: SessionId) -> Response {
    let mut outputs = Outputs::new();
    let mut handoffs = Vec::new();
    if m.sessions.holders.get(&session) == Some(&holder) {
        lose(m, now, session, &mut outputs, &mut handoffs);
    }
    Response::Session { outputs, handoffs }
}

/// `session` loses its holder and its link.
fn lose(
    m: &mut RoomMachine,
    now: Millis,
    session: SessionId,
    outputs: &mut Outputs,
    handoffs: &mut Vec<Handoff>,
) {
    let from = m.sessions.holders.remove(&session);
    m.engine
        .handle_input(now, &Input::LinkLost { session }, outputs);
    handoffs.push(Handoff {
        session,
        from,
        to: None,
    });
}

/// Every session held by `node` under an incarnation `pred` selects loses its link.
fn lose_held(
    m: &mut RoomMachine,
    now: Millis,
    node: NodeId,
    pred: impl Fn(u64) -> bool,
) -> (Outputs, Vec<Handoff>) {
    let sessions: Vec<SessionId> = m
        .sessions
        .holders
        .iter()
        .filter(|(_, h)| h.node == node && pred(h.incarnation))
        .map(|(s, _)| *s)
        .collect();
    let mut outputs = Outputs::new();
    let mut handoffs = Vec::new();
    for session in sessions {
        lose(m, now, session, &mut outputs, &mut handoffs);
    }
    (outputs, handoffs)
}

fn node_up(m: &mut RoomMachine, now: Millis, holder: Holder) -> Response {
    if !m.sessions.nodes.contains_key(&holder.node) && m.sessions.nodes.len() >= MAX_NODES {
        return refused(SessionRefusal::TooManyNodes);
    }
    let record = NodeRecord {
        incarnation: holder.incarnation,
        down: false,
    };
    let previous = m.sessions.nodes.insert(holder.node, record);
    if previous.is_some_and(|p| p.incarnation == holder.incarnation && p.down) {
        // A fenced incarnation cannot come back: restore the fence.
        m.sessions.nodes.insert(
            holder.node,
            NodeRecord {
                down: true,
                ..record
            },
        );
        return refused(SessionRefusal::StaleHolder);
    }
    let (outputs, handoffs) = lose_held(m, now, holder.node, |inc| inc != holder.incarnation);
    Response::Session { outputs, handoffs }
}

fn node_down(m: &mut RoomMachine, now: Millis, holder: Holder) -> Response {
    match m.sessions.nodes.get_mut(&holder.node) {
        Some(r) if r.incarnation == holder.incarnation && !r.down => r.down = true,
        _ => {
            return Response::Session {
                outputs: Outputs::new(),
                handoffs: vec![],
            }
        }
    }
    let (outputs, handoffs) = lose_held(m, now, holder.node, |inc| inc == holder.incarnation);
    Response::Session { outputs, handoffs }
}
