//! A simulated client: one session of one user. It issues valid and invalid commands,
//! retries the ones whose reply does not come, and rebuilds its view of its rooms only from
//! what the core sends it (room state changes, member deltas, member attribute updates,
//! query replies).

use super::rng::Rng;
use roomcore::config::RoomConfig;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::{Input, RequestId, RoomInfo};
use roomcore::output::{MemberAttributesInfo, Outcome, Output, ReplyOk, RoomState};
use std::collections::{BTreeMap, BTreeSet};

/// A client's idea of one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    /// Its state for the room.
    pub state: RoomState,
    /// The members, once a query answered (then kept up to date by deltas).
    pub members: Option<BTreeSet<UserId>>,
    /// The members' attributes (non-empty sets only), once a query answered (then kept up
    /// to date by updates and restore deltas).
    pub member_attrs: Option<BTreeMap<UserId, BTreeMap<String, String>>>,
    /// Whether the member list was learned (a query answer, a restore) while a large room's
    /// coalescing window was open: the window's delta is counted from its start, so a list
    /// learned inside it may miss a change that nets out (someone who joined before the
    /// answer and left after it). Such a list is not checked, and the next room delta makes
    /// the client ask again.
    pub stale: bool,
}

/// A command waiting for its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    input: Input,
    sent_at: u64,
    tries: u32,
}

/// How long a client waits for a reply before sending the command again, and how often.
const RETRY_AFTER_MS: u64 = 400;
const MAX_TRIES: u32 = 4;

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its session id.
    pub session: SessionId,
    /// Its user.
    pub user: UserId,
    /// Whether it believes it is logged in.
    pub logged_in: bool,
    /// Its rooms, as it believes them to be.
    pub view: BTreeMap<RoomId, RoomView>,
    pending: BTreeMap<RequestId, Pending>,
    /// The room each member query was about.
    queries: BTreeMap<RequestId, RoomId>,
    /// The room each member attribute query was about.
    attr_queries: BTreeMap<RequestId, RoomId>,
    next_request: RequestId,
}

impl Client {
    /// Client number `index` (its request numbers are disjoint from other clients').
    #[must_use]
    pub fn new(index: usize, session: SessionId, user: UserId) -> Client {
        let base = (u64::try_from(index).unwrap_or(0) + 1) * 1_000_000_000;
        Client {
            session,
            user,
            logged_in: false,
            view: BTreeMap::new(),
            pending: BTreeMap::new(),
            queries: BTreeMap::new(),
            attr_queries: BTreeMap::new(),
            next_request: base,
        }
    }

    /// Whether it waits for any reply.
    #[must_use]
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Stops waiting for any reply.
    pub fn forget_pending(&mut self) {
        self.pending.clear();
    }

    fn request(&mut self) -> RequestId {
        self.next_request += 1;
        self.next_request
    }

    /// Records `input` as sent at `now` and returns it.
    fn track(&mut self, now: u64, request: RequestId, input: Input) -> Input {
        if let Input::QueryMembers { room_id, .. } = &input {
            self.queries.insert(request, *room_id);
        }
        if let Input::QueryRoomMembersAttributes { room_id, .. } = &input {
            self.attr_queries.insert(request, *room_id);
        }
        self.pending.insert(
            request,
            Pending {
                input: input.clone(),
                sent_at: now,
                tries: 1,
            },
        );
        input
    }

    /// A connected room whose member list is stale (see [`RoomView::stale`]), if any.
    #[must_use]
    pub fn stale_room(&self) -> Option<RoomId> {
        self.view
            .iter()
            .find(|(_, v)| v.stale && v.state == RoomState::Connected)
            .map(|(r, _)| *r)
    }

    /// The room a member query (by request number) was about.
    #[must_use]
    pub fn query_room(&self, request: RequestId) -> Option<RoomId> {
        self.queries.get(&request).copied()
    }

    /// Commands to send again: those unanswered for too long (given up after a few tries).
    pub fn retries(&mut self, now: u64) -> Vec<Input> {
        let mut again = Vec::new();
        self.pending.retain(|_, p| {
            if now < p.sent_at + RETRY_AFTER_MS {
                return true;
            }
            if p.tries >= MAX_TRIES {
                return false;
            }
            p.tries += 1;
            p.sent_at = now;
            again.push(p.input.clone());
            true
        });
        again
    }

    /// A member query for `room` (one page covers the simulated rooms).
    pub fn query(&mut self, now: u64, room: RoomId) -> Input {
        let request = self.request();
        let input = Input::QueryMembers {
            session: self.session,
            request,
            room_id: room,
            next: String::new(),
            count: 100,
        };
        self.track(now, request, input)
    }

    /// A member attribute query for `room` naming `users` (everyone who could be in it:
    /// those who are not are skipped).
    pub fn query_member_attrs(&mut self, now: u64, room: RoomId, users: &[UserId]) -> Input {
        let request = self.request();
        let input = Input::QueryRoomMembersAttributes {
            session: self.session,
            request,
            room_id: room,
            user_ids: Some(users.to_vec()),
        };
        self.track(now, request, input)
    }

    /// `leave_all_rooms`.
    pub fn leave_all(&mut self, now: u64) -> Input {
        let request = self.request();
        let input = Input::LeaveAllRooms {
            session: self.session,
            request,
        };
        self.track(now, request, input)
    }

    /// `login`.
    pub fn login(&mut self, now: u64) -> Input {
        let request = self.request();
        let input = Input::Login {
            session: self.session,
            request,
            user: self.user,
        };
        self.track(now, request, input)
    }

    /// A random command: mostly sensible for its view, sometimes invalid or stale.
    /// `users` are the users member attribute commands may name.
    pub fn act(
        &mut self,
        rng: &mut Rng,
        now: u64,
        rooms: &[RoomId],
        users: &[UserId],
    ) -> Option<Input> {
        if !self.logged_in {
            if self.busy() {
                return None;
            }
            return Some(self.login(now));
        }
        let session = self.session;
        let mine: Vec<RoomId> = self.view.keys().copied().collect();
        let any_room = *rng.pick(rooms)?;
        let my_room = rng.pick(&mine).copied().unwrap_or(any_room);
        let delay = rng.below(3);
        let config = Some(RoomConfig {
            destroy_delay_s: delay,
            ..RoomConfig::default()
        });
        let info = |id: RoomId| RoomInfo {
            id,
            name: format!("room {id}").into(),
        };
        let request = self.request();
        // Member attributes: one of two keys, on the caller or on a random user.
        let key = if rng.chance(50) { "a" } else { "b" };
        let targets = match rng.pick(users) {
            Some(u) if rng.chance(50) => Some(vec![*u]),
            _ => None,
        };
        let input = match rng.below(110) {
            0..=14 => Input::EnterRoom {
                session,
                request,
                room: info(any_room),
                config,
            },
            15..=22 => Input::CreateRoom {
                session,
                request,
                room: info(any_room),
                config,
            },
            23..=34 => Input::JoinRoom {
                session,
                request,
                room_id: any_room,
            },
            35..=46 => Input::SwitchRoom {
                session,
                request,
                from: my_room,
                to: info(any_room),
                create_if_missing: rng.chance(50),
                config,
            },
            47..=59 => Input::LeaveRoom {
                session,
                request,
                room_id: my_room,
            },
            60..=63 => Input::LeaveAllRooms { session, request },
            64..=71 => Input::QueryMembers {
                session,
                request,
                room_id: my_room,
                next: String::new(),
                count: 100,
            },
            72..=79 => Input::SendRoomMessage {
                session,
                request,
                room_id: my_room,
                payload: "hi".to_owned(),
            },
            80..=83 => Input::Logout { session, request },
            84..=87 => Input::JoinRoom {
                session,
                request,
                room_id: RoomId::new("bad room!"),
            },
            88..=91 => Input::QueryMembers {
                session,
                request,
                room_id: my_room,
                next: "bogus".to_owned(),
                count: 0,
            },
            92..=95 => Input::EnterRoom {
                session,
                request,
                room: info(any_room),
                config: Some(RoomConfig {
                    destroy_delay_s: 99_999,
                    ..RoomConfig::default()
                }),
            },
            100..=104 => Input::SetRoomMembersAttributes {
                session,
                request,
                room_id: my_room,
                attributes: BTreeMap::from([(key.to_owned(), rng.below(3).to_string())]),
                user_ids: targets,
            },
            105..=107 => Input::DeleteRoomMembersAttributes {
                session,
                request,
                room_id: my_room,
                keys: vec![key.to_owned()],
                user_ids: targets,
            },
            _ => Input::Login {
                session,
                request,
                user: self.user,
            },
        };
        Some(self.track(now, request, input))
    }

    /// Applies one output from the core to the view. Returns a room the client should now
    /// query (it has just entered it and does not know who is there).
    pub fn receive(&mut self, output: &Output, in_window: bool) -> Option<RoomId> {
        match output {
            Output::Reply {
                request, outcome, ..
            } => {
                self.pending.remove(request);
                let Outcome::Ok(ok) = outcome else {
                    return None;
                };
                match ok {
                    ReplyOk::LoggedIn { .. } => self.logged_in = true,
                    ReplyOk::MemberAttributes {
                        member_attributes, ..
                    } => {
                        let room = self.attr_queries.get(request).copied()?;
                        if let Some(v) = self.view.get_mut(&room) {
                            let mut known = BTreeMap::new();
                            apply_member_attrs(&mut known, member_attributes);
                            v.member_attrs = Some(known);
                        }
                    }
                    ReplyOk::Members { members, next } if next.is_empty() => {
                        let room = self.queries.get(request).copied()?;
                        if let Some(v) = self.view.get_mut(&room) {
                            v.members = Some(members.iter().map(|m| m.user_id).collect());
                            v.stale = in_window;
                        }
                    }
                    _ => {}
                }
                None
            }
            Output::RoomStateChanged { room_id, state, .. } => {
                self.state_changed(*room_id, *state, in_window)
            }
            Output::RoomMembersChanged {
                room_id,
                joined,
                left,
            } => {
                let v = self.view.get_mut(room_id)?;
                if let Some(set) = v.members.as_mut() {
                    set.extend(joined.iter().map(|m| m.user_id));
                    for m in left {
                        set.remove(&m.user_id);
                    }
                }
                if let Some(known) = v.member_attrs.as_mut() {
                    for m in left {
                        known.remove(&m.user_id);
                    }
                }
                // A list learned inside the window may be off by what netted out: ask again.
                v.stale.then_some(*room_id)
            }
            Output::MembersJoined {
                room_id, members, ..
            } => {
                if let Some(set) = self.view.get_mut(room_id).and_then(|v| v.members.as_mut()) {
                    set.extend(members.iter().map(|m| m.user_id));
                }
                None
            }
            Output::MembersLeft {
                room_id, members, ..
            } => {
                let v = self.view.get_mut(room_id)?;
                for m in members {
                    if let Some(set) = v.members.as_mut() {
                        set.remove(&m.user_id);
                    }
                    // A member that left took its attributes along (a restore delta says
                    // only that it left).
                    if let Some(known) = v.member_attrs.as_mut() {
                        known.remove(&m.user_id);
                    }
                }
                None
            }
            Output::RoomMemberAttributesUpdated {
                room_id, members, ..
            } => {
                if let Some(known) = self
                    .view
                    .get_mut(room_id)
                    .and_then(|v| v.member_attrs.as_mut())
                {
                    apply_member_attrs(known, members);
                }
                None
            }
            Output::SessionClosed { .. } => {
                self.logged_in = false;
                self.view.clear();
                self.pending.clear();
                None
            }
            _ => None,
        }
    }

    fn state_changed(&mut self, room: RoomId, state: RoomState, in_window: bool) -> Option<RoomId> {
        match state {
            RoomState::Disconnected => {
                self.view.remove(&room);
                None
            }
            RoomState::Connecting => {
                // A flow starting (the room is not ours yet) or a lost link (it is).
                if let Some(v) = self.view.get_mut(&room) {
                    v.state = RoomState::Connecting;
                }
                None
            }
            RoomState::Connected => match self.view.get_mut(&room) {
                // Back after a lost link: the deltas that follow bring the members up to date.
                Some(v) => {
                    v.state = RoomState::Connected;
                    // The restore delta counts from what the link's loss left it knowing:
                    // it fixes no list that was off already.
                    v.stale |= in_window;
                    None
                }
                None => {
                    self.view.insert(
                        room,
                        RoomView {
                            state,
                            members: None,
                            member_attrs: None,
                            stale: false,
                        },
                    );
                    Some(room)
                }
            },
        }
    }
}

/// Each member's whole set replaces what was known of it (an empty set: it has none).
fn apply_member_attrs(
    known: &mut BTreeMap<UserId, BTreeMap<String, String>>,
    members: &[MemberAttributesInfo],
) {
    for m in members {
        if m.attributes.is_empty() {
            known.remove(&m.user_id);
        } else {
            known.insert(m.user_id, m.attributes.clone());
        }
    }
}
