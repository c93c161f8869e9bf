//! Member paging: `query_members` with an opaque `next` cursor and a `count` of at most
//! 100. The model's cursors are its own; the lockstep driver feeds each
//! side the cursors it issued.

use super::state::MMember;
use super::state::Model;
use super::validate;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId};
use roomcore::output::{Member, ReplyOk};

/// Largest `count` a member query may ask for.
const MAX_PAGE: u32 = 100;

impl Model {
    pub(super) fn query(
        &mut self,
        session: SessionId,
        room: RoomId,
        next: &str,
        count: u32,
    ) -> Result<ReplyOk, Error> {
        self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        if count == 0 || count > MAX_PAGE {
            return Err(Error::InvalidArgument(""));
        }
        let cursor = parse_cursor(next)?;
        self.must_be_member(session, room)?;
        let Some(r) = self.rooms.get(&room) else {
            return Err(Error::RoomNotExist);
        };
        let from = match cursor {
            None => 0,
            Some((generation, join_no)) if generation == r.generation => join_no,
            Some(_) => return Err(Error::InvalidArgument("")),
        };
        let rest: Vec<MMember> = r
            .members
            .iter()
            .filter(|m| m.join_no >= from)
            .copied()
            .collect();
        let page: Vec<Member> = rest
            .iter()
            .take(count as usize)
            .filter_map(|m| self.user_of(m.session).map(|user_id| Member { user_id }))
            .collect();
        let next = match rest.get(count as usize) {
            Some(m) => format!("{}:{}", r.generation, m.join_no),
            None => String::new(),
        };
        Ok(ReplyOk::Members {
            members: page,
            next,
        })
    }
}

/// The model's own cursor: `<room generation>:<join number>`; empty means the first page.
fn parse_cursor(s: &str) -> Result<Option<(u64, u64)>, Error> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || Error::InvalidArgument("");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let g = a.parse::<u64>().map_err(|_| bad())?;
    let j = b.parse::<u64>().map_err(|_| bad())?;
    Ok(Some((g, j)))
}
