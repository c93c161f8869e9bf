//! The shape of each input kind the one-pass reader takes: its fields after `type`, in
//! declaration order, and how the input is made of them.

use super::{bit, Input, Shape};
use crate::ids::{RoomId, UserId};

// Each field as the text before its value when the fields are written in declaration
// order, with its bit; then the field lists several kinds share.
const SESSION: (&str, u16) = (",\"session\":", bit::SESSION);
const REQUEST: (&str, u16) = (",\"request\":", bit::REQUEST);
const USER: (&str, u16) = (",\"user\":", bit::USER);
const ROOM_ID: (&str, u16) = (",\"room_id\":", bit::ROOM_ID);
const CONFIG: (&str, u16) = (",\"config\":", bit::CONFIG);
const ROOM: (&str, u16) = (",\"room\":", bit::ROOM);
const FROM: (&str, u16) = (",\"from\":", bit::FROM);
const TO: (&str, u16) = (",\"to\":", bit::TO);
const CREATE_IF_MISSING: (&str, u16) = (",\"create_if_missing\":", bit::CREATE_IF_MISSING);
const NEXT: (&str, u16) = (",\"next\":", bit::NEXT);
const COUNT: (&str, u16) = (",\"count\":", bit::COUNT);
const PAYLOAD: (&str, u16) = (",\"payload\":", bit::PAYLOAD);
const COMMAND: &[(&str, u16)] = &[SESSION, REQUEST];
const ROOM_COMMAND: &[(&str, u16)] = &[SESSION, REQUEST, ROOM_ID];
const ENTER: &[(&str, u16)] = &[SESSION, REQUEST, ROOM, CONFIG];

pub(super) const LOGIN: Shape = Shape::new(&[SESSION, REQUEST, USER], |f| {
    Some(Input::Login {
        session: f.session()?,
        request: f.request?,
        user: UserId::new(f.user?),
    })
});
pub(super) const LOGOUT: Shape = Shape::new(COMMAND, |f| {
    Some(Input::Logout {
        session: f.session()?,
        request: f.request?,
    })
});
pub(super) const LEAVE_ALL_ROOMS: Shape = Shape::new(COMMAND, |f| {
    Some(Input::LeaveAllRooms {
        session: f.session()?,
        request: f.request?,
    })
});
pub(super) const LINK_LOST: Shape = Shape::new(&[SESSION], |f| {
    Some(Input::LinkLost {
        session: f.session()?,
    })
});
pub(super) const LINK_RESTORED: Shape = Shape::new(&[SESSION], |f| {
    Some(Input::LinkRestored {
        session: f.session()?,
    })
});
pub(super) const CREATE_ROOM: Shape = Shape::new(ENTER, |f| {
    Some(Input::CreateRoom {
        session: f.session()?,
        request: f.request?,
        room: f.room.take()?,
        config: f.config.take().flatten(),
    })
});
pub(super) const ENTER_ROOM: Shape = Shape::new(ENTER, |f| {
    Some(Input::EnterRoom {
        session: f.session()?,
        request: f.request?,
        room: f.room.take()?,
        config: f.config.take().flatten(),
    })
});
pub(super) const SWITCH_ROOM: Shape = Shape::new(
    &[SESSION, REQUEST, FROM, TO, CREATE_IF_MISSING, CONFIG],
    |f| {
        Some(Input::SwitchRoom {
            session: f.session()?,
            request: f.request?,
            from: RoomId::new(f.from?),
            to: f.to.take()?,
            create_if_missing: f.create_if_missing.unwrap_or_default(),
            config: f.config.take().flatten(),
        })
    },
);
pub(super) const JOIN_ROOM: Shape = Shape::new(ROOM_COMMAND, |f| {
    Some(Input::JoinRoom {
        session: f.session()?,
        request: f.request?,
        room_id: f.room_id()?,
    })
});
pub(super) const LEAVE_ROOM: Shape = Shape::new(ROOM_COMMAND, |f| {
    Some(Input::LeaveRoom {
        session: f.session()?,
        request: f.request?,
        room_id: f.room_id()?,
    })
});
pub(super) const QUERY_ROOM_ATTRIBUTES: Shape = Shape::new(ROOM_COMMAND, |f| {
    Some(Input::QueryRoomAttributes {
        session: f.session()?,
        request: f.request?,
        room_id: f.room_id()?,
    })
});
pub(super) const QUERY_ROOM_ONLINE_COUNT: Shape = Shape::new(ROOM_COMMAND, |f| {
    Some(Input::QueryRoomOnlineCount {
        session: f.session()?,
        request: f.request?,
        room_id: f.room_id()?,
    })
});
pub(super) const QUERY_MEMBERS: Shape =
    Shape::new(&[SESSION, REQUEST, ROOM_ID, NEXT, COUNT], |f| {
        Some(Input::QueryMembers {
            session: f.session()?,
            request: f.request?,
            room_id: f.room_id()?,
            next: f.next.unwrap_or_default().to_owned(),
            count: f.count?,
        })
    });
pub(super) const SEND_ROOM_MESSAGE: Shape =
    Shape::new(&[SESSION, REQUEST, ROOM_ID, PAYLOAD], |f| {
        Some(Input::SendRoomMessage {
            session: f.session()?,
            request: f.request?,
            room_id: f.room_id()?,
            payload: f.payload?.to_owned(),
        })
    });
pub(super) const TICK: Shape = Shape::new(&[], |_| Some(Input::Tick));
