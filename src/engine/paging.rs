//! Reading rooms: member pages (`query_members`), the room list (`list_rooms`), one room
//! (`query_room`), its attributes and its member count. Nothing here changes the state.

use crate::engine::state::room::Room;
use crate::engine::Engine;
use crate::error::Error;
use crate::ids::{RoomId, RoomSid, SessionId};
use crate::input::RoomInfo;
use crate::output::{Member, ReplyOk, RoomSummary};
use std::collections::BTreeMap;

/// Largest page `query_members` and `list_rooms` return (ZIM: 100).
pub const MAX_PAGE: u32 = 100;

impl Engine {
    /// One page of the member list in join order (reconnecting members included).
    ///
    /// Decisions (the requirements leave these open; docs/decisions.md): the cursor names the
    /// room incarnation and the join sequence number to resume at, so a member who stays is
    /// never skipped or repeated, a member who joins meanwhile appears at the end, and one who
    /// leaves and comes back between pages appears again at the end (it is a new member). A
    /// page can be empty with an empty `next` when everyone after the cursor left. A cursor
    /// from another room, or from an earlier room with the same id, is `invalid_argument`, as
    /// is a malformed one; `count` outside 1..=100 too. Check order: session, room id, count,
    /// cursor syntax, then membership, then the cursor's room.
    pub(crate) fn query_members(
        &self,
        session: SessionId,
        room_id: RoomId,
        next: &str,
        count: u32,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        check_count(count)?;
        let cursor = Cursor::parse(next)?;
        let room_slot = self.require_member(slot, room_id)?;
        let room = self.state.room(room_slot);
        let from = match cursor {
            None => 0,
            Some(c) if c.incarnation == room.incarnation => c.position,
            Some(_) => return Err(Error::InvalidArgument("cursor is from another room")),
        };
        let mut members = Vec::with_capacity(count as usize);
        let mut rest = room.members().range_from(from);
        for m in rest.by_ref().take(count as usize) {
            members.push(Member {
                user_id: self.state.session(m.session).user,
            });
        }
        let next = rest.next().map_or_else(String::new, |m| {
            Cursor {
                incarnation: room.incarnation,
                position: m.join_seq,
            }
            .encode()
        });
        Ok(ReplyOk::Members { members, next })
    }

    /// Admin: one page of the rooms in creation order. The cursor is the sid to resume at:
    /// sids only grow, so a room is never listed twice and one that lives through the whole
    /// listing is never skipped, however rooms come and go between pages. It holds no state,
    /// so listings cost nothing while they are not read.
    pub(crate) fn list_rooms(&self, next: &str, count: u32) -> Result<ReplyOk, Error> {
        check_count(count)?;
        let from = RoomSid(parse_list_cursor(next)?);
        let mut rooms = Vec::with_capacity(count as usize);
        let mut rest = self.index.rooms_from(from);
        for (_, &slot) in rest.by_ref().take(count as usize) {
            let room = self.state.room(slot);
            rooms.push(RoomSummary {
                room_id: self.state.room_id(slot),
                sid: room.sid,
                name: room.name().to_owned(),
                member_count: room.member_count(),
            });
        }
        let next = rest
            .next()
            .map_or_else(String::new, |(&sid, _)| format!("L{:x}", sid.0));
        Ok(ReplyOk::Rooms { rooms, next })
    }

    /// Admin: one room as it is.
    pub(crate) fn query_room(&self, room_id: RoomId) -> Result<ReplyOk, Error> {
        self.check_room_id(room_id)?;
        let room = self.room(room_id).ok_or(Error::RoomNotExist)?;
        Ok(room_details(room_id, room))
    }

    /// A member reads every attribute of its room.
    pub(crate) fn query_room_attributes(
        &self,
        session: SessionId,
        room_id: RoomId,
    ) -> Result<ReplyOk, Error> {
        let room_slot = self.member_query(session, room_id)?;
        Ok(ReplyOk::RoomAttributes {
            attributes: attribute_values(self.state.room(room_slot)),
        })
    }

    /// A member reads how many members its room has (reconnecting ones included).
    pub(crate) fn query_room_online_count(
        &self,
        session: SessionId,
        room_id: RoomId,
    ) -> Result<ReplyOk, Error> {
        let room_slot = self.member_query(session, room_id)?;
        Ok(ReplyOk::OnlineCount {
            count: self.state.room(room_slot).member_count(),
        })
    }

    /// The reply of a command that put the caller in the room: the room as it is now.
    pub(crate) fn join_snapshot(&self, room_slot: u32) -> ReplyOk {
        let room = self.state.room(room_slot);
        ReplyOk::Room {
            room: RoomInfo {
                id: self.state.room_id(room_slot),
                name: room.name().to_owned(),
            },
            sid: Some(room.sid),
            member_count: Some(room.member_count()),
            attributes: Some(attribute_values(room)),
        }
    }

    /// The checks of a member's read: session, room id, membership (live).
    fn member_query(&self, session: SessionId, room_id: RoomId) -> Result<u32, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        self.require_member(slot, room_id)
    }
}

/// `query_room`'s answer (also `admin_create_room`'s).
pub(crate) fn room_details(room_id: RoomId, room: &Room) -> ReplyOk {
    ReplyOk::RoomDetails {
        room_id,
        sid: room.sid,
        name: room.name().to_owned(),
        member_count: room.member_count(),
        attributes: attribute_values(room),
    }
}

fn attribute_values(room: &Room) -> BTreeMap<String, String> {
    room.cold()
        .attributes
        .iter()
        .map(|(k, a)| (k.clone(), a.value.clone()))
        .collect()
}

/// A room list cursor: `L` and the hex sid to resume at (empty: the first page). A member
/// page cursor is malformed here, and a list cursor is malformed as a member cursor.
fn parse_list_cursor(s: &str) -> Result<u64, Error> {
    if s.is_empty() {
        return Ok(0);
    }
    s.strip_prefix('L')
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or(Error::InvalidArgument("malformed cursor"))
}

fn check_count(count: u32) -> Result<(), Error> {
    if (1..=MAX_PAGE).contains(&count) {
        Ok(())
    } else {
        Err(Error::InvalidArgument("count must be 1..=100"))
    }
}

/// A member page cursor: the room's incarnation and the join sequence number to resume at.
/// Join sequence numbers are never reused, so members who stay are neither skipped nor
/// repeated however others come and go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    incarnation: u64,
    position: u64,
}

impl Cursor {
    fn parse(s: &str) -> Result<Option<Cursor>, Error> {
        if s.is_empty() {
            return Ok(None);
        }
        let bad = Error::InvalidArgument("malformed cursor");
        let (a, b) = s.split_once('.').ok_or_else(|| bad.clone())?;
        let incarnation = u64::from_str_radix(a, 16).map_err(|_| bad.clone())?;
        let position = u64::from_str_radix(b, 16).map_err(|_| bad)?;
        Ok(Some(Cursor {
            incarnation,
            position,
        }))
    }

    fn encode(self) -> String {
        format!("{:x}.{:x}", self.incarnation, self.position)
    }
}
