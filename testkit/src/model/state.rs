//! The model's plain data, and its canonical form (times relative to now, counters
//! renumbered) for deduplicating explored states.

use roomcore::config::Config;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::output::Stamped;
use std::collections::BTreeMap;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MSession {
    pub(super) user: UserId,
    /// Login order among live sessions (older sessions have smaller numbers).
    pub(super) login_no: u64,
    /// Rooms in the order they were joined.
    pub(super) rooms: Vec<RoomId>,
    /// The grace timer's sequence number: set exactly while the link is lost, which is
    /// while some room is being reconnected to.
    pub(super) grace_timer: Option<u64>,
    /// Rooms being reconnected to, with what the session knew of each at the loss.
    pub(super) lost_views: BTreeMap<RoomId, LostView>,
    /// Message rate bucket in thousandths of a message, and when it was last refilled.
    pub(super) tokens_milli: u64,
    pub(super) refilled_at: u64,
}

/// What a reconnecting session knew of a room when its link was lost, and what it missed
/// since (kept as plain lists, appended to as things happen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LostView {
    /// The users in the room at the loss, in join order.
    pub(super) users: Vec<UserId>,
    /// Users who left the room since, in the order they left (repeats possible), each with
    /// whether its member attributes had been written during the stay that ended.
    pub(super) departures: Vec<(UserId, bool)>,
    /// The attribute keys at the loss, sorted.
    pub(super) attr_keys: Vec<String>,
    /// Attribute keys written since.
    pub(super) touched: std::collections::BTreeSet<String>,
    /// Users whose member attributes were written (set, or a key deleted) since the loss
    /// and who have not left the room since.
    pub(super) members_written: std::collections::BTreeSet<UserId>,
}

/// One member of a room: the session, and its join number (for paging cursors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MMember {
    pub(super) session: SessionId,
    pub(super) join_no: u64,
}

/// A room attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MAttr {
    pub(super) value: String,
    /// The user who owns it; `None`: the service (set by an admin command or a room the
    /// service created).
    pub(super) owner: Option<UserId>,
    pub(super) delete_after_owner_left: bool,
}

/// A room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MRoom {
    pub(super) name: String,
    /// Unique per room that comes into existence (a re-created id gets a new one).
    pub(super) generation: u64,
    /// The public incarnation number: the how-many-th room this is (`"R<sid>"`).
    pub(super) sid: u64,
    /// This room's member limit.
    pub(super) max_members: u32,
    pub(super) delay_ms: u64,
    /// Members in join order.
    pub(super) members: Vec<MMember>,
    pub(super) next_join_no: u64,
    /// The destroy timer's sequence number while the room is empty.
    pub(super) destroy_timer: Option<u64>,
    pub(super) attrs: BTreeMap<String, MAttr>,
    pub(super) keep_attrs: bool,
    pub(super) msg_seq: u64,
    /// Member attributes by user: an entry appears when a member's attributes are first
    /// written and stays (even emptied by deletes) until that member leaves.
    pub(super) member_attrs: BTreeMap<UserId, BTreeMap<String, String>>,
    /// The open coalescing window of a large room (see `large_rooms.rs`).
    pub(super) window: Option<MWindow>,
}

/// A large room's open coalescing window, as plain lists: who was there when it opened, and
/// what happened since. The delta is worked out at the flush by set difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MWindow {
    /// The flush timer's sequence number.
    pub(super) timer: u64,
    /// The users in the room when the window opened, in join order.
    pub(super) start_users: Vec<UserId>,
    /// Announced leaves since, in order (repeats possible), each with its reason.
    pub(super) leaves: Vec<(UserId, roomcore::output::LeaveReason)>,
    /// Departures since, as a reconnecting view records them (user, member attributes
    /// written during the stay that ended): a link lost in the window starts from here.
    pub(super) departures: Vec<(UserId, bool)>,
}

/// What a timer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimerWhat {
    Destroy(RoomId),
    Grace(SessionId),
    /// A large room's coalescing window ends.
    Batch(RoomId),
    /// A ban ends.
    BanEnd(RoomId, UserId),
}

/// A pending timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timer {
    pub(super) deadline: u64,
    pub(super) seq: u64,
    pub(super) what: TimerWhat,
}

/// The model's state with everything that only counts (time, arming order, generations,
/// login order, join numbers) made relative, so two states that behave the same compare
/// equal. Used by the explorer to deduplicate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Canonical(String);

impl Model {
    /// The canonical form of the state (see [`Canonical`]).
    #[must_use]
    pub fn canonical(&self) -> Canonical {
        use std::fmt::Write;
        let now = self.now;
        let mut timers: Vec<&super::state::Timer> = self.timers.iter().collect();
        timers.sort_by_key(|t| (t.deadline, t.seq));
        let rank = |seq: u64| timers.iter().position(|t| t.seq == seq);
        let mut logins: Vec<(u64, SessionId)> = self
            .sessions
            .iter()
            .map(|(id, s)| (s.login_no, *id))
            .collect();
        logins.sort();
        let mut c = String::new();
        for (id, s) in &self.sessions {
            let order = logins.iter().position(|(_, x)| x == id);
            // A view's departures matter only as the first departure of each user who was
            // there at the loss (that is all the restore delta reads).
            let mut views = String::new();
            for (r, v) in &s.lost_views {
                let mut gone: Vec<(UserId, bool)> = Vec::new();
                for (u, had) in &v.departures {
                    if v.users.contains(u) && !gone.iter().any(|(g, _)| g == u) {
                        gone.push((*u, *had));
                    }
                }
                let _ = write!(
                    views,
                    "{r}:{:?}:{gone:?}:{:?}:{:?}:{:?},",
                    v.users, v.attr_keys, v.touched, v.members_written
                );
            }
            let _ = write!(
                c,
                "S{id}:{}:{order:?}:{:?}:{:?}:{views};",
                s.user,
                s.rooms,
                s.grace_timer.map(rank),
            );
        }
        for (id, forget_at) in &self.closed {
            let _ = write!(c, "C{id}:{};", forget_at.saturating_sub(now));
        }
        for (id, r) in &self.rooms {
            let members: Vec<SessionId> = r.members.iter().map(|m| m.session).collect();
            let attrs: Vec<(&String, &String, &Option<UserId>, bool)> = r
                .attrs
                .iter()
                .map(|(k, a)| (k, &a.value, &a.owner, a.delete_after_owner_left))
                .collect();
            // A window matters by who was there, and by the first departure of each of them
            // (for a restore) and the last leave of each (for the flush).
            let window = r.window.as_ref().map(|w| {
                let mut first: Vec<(UserId, bool)> = Vec::new();
                for (u, had) in &w.departures {
                    if w.start_users.contains(u) && !first.iter().any(|(f, _)| f == u) {
                        first.push((*u, *had));
                    }
                }
                let mut last: Vec<(UserId, roomcore::output::LeaveReason)> = Vec::new();
                for (u, why) in w.leaves.iter().rev() {
                    if !last.iter().any(|(l, _)| l == u) {
                        last.insert(0, (*u, *why));
                    }
                }
                (rank(w.timer), w.start_users.clone(), first, last)
            });
            let _ = write!(
                c,
                "R{id}:{:?}:{}:{}:{members:?}:{:?}:{attrs:?}:{}:{}:{:?}:{window:?};",
                r.name,
                r.max_members,
                r.delay_ms,
                r.destroy_timer.map(rank),
                r.keep_attrs,
                r.msg_seq,
                r.member_attrs
            );
        }
        for t in &timers {
            let _ = write!(c, "T{}:{:?};", t.deadline.saturating_sub(now), t.what);
        }
        for ((room, user), (until, _)) in &self.bans {
            let _ = write!(c, "B{room}:{user}:{};", until.saturating_sub(now));
        }
        Canonical(c)
    }
}

/// The reference model. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub(super) cfg: Config,
    pub(super) now: u64,
    /// Live (logged-in) sessions.
    pub(super) sessions: BTreeMap<SessionId, MSession>,
    /// Closed session ids with the time they are forgotten, oldest first, one entry per id.
    pub(super) closed: Vec<(SessionId, u64)>,
    pub(super) rooms: BTreeMap<RoomId, MRoom>,
    /// Pending timers, in no particular order; the earliest `(deadline, seq)` fires first.
    pub(super) timers: Vec<Timer>,
    /// Arming counter: timers due at the same moment fire in the order they were armed.
    pub(super) next_timer_seq: u64,
    /// Counter naming each room that comes into existence (for paging cursors) and each login
    /// (for "older session" order).
    pub(super) next_generation: u64,
    /// Rooms that came into existence so far (the last sid given).
    pub(super) rooms_created: u64,
    /// The next service event number.
    pub(super) next_event_id: u64,
    /// Bans: (room id, user) -> (until, the ending timer's sequence number).
    pub(super) bans: BTreeMap<(RoomId, UserId), (u64, u64)>,
    /// Outputs of the step in progress.
    pub(super) out: Vec<Stamped>,
    /// Time stamp of the outputs being produced.
    pub(super) stamp: u64,
}

/// Member attributes of a room, in the model's shape: each member that has any, by user.
pub type MemberAttributeSets = BTreeMap<UserId, BTreeMap<String, String>>;
