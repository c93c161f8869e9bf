//! A script builder for concise tests: inputs with request numbers assigned in order, and
//! the few inputs and configs tests write over and over.

use roomcore::config::RoomConfig;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::{Input, RoomInfo};
use roomcore::output::Output;
use std::collections::{BTreeMap, BTreeSet};

/// A script builder: inputs with request numbers assigned in order, for concise tests.
#[derive(Debug, Default, Clone)]
pub struct Requests {
    next: u64,
}

fn room_info(id: &str, name: &str) -> RoomInfo {
    RoomInfo {
        id: RoomId::new(id),
        name: name.into(),
    }
}

impl Requests {
    fn n(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// `login`.
    pub fn login(&mut self, session: &str, user: &str) -> Input {
        Input::Login {
            session: SessionId::new(session),
            request: self.n(),
            user: UserId::new(user),
        }
    }

    /// `logout`.
    pub fn logout(&mut self, session: &str) -> Input {
        Input::Logout {
            session: SessionId::new(session),
            request: self.n(),
        }
    }

    /// `create_room` with a name derived from the id and an optional config.
    pub fn create(&mut self, session: &str, room: &str, config: Option<RoomConfig>) -> Input {
        Input::CreateRoom {
            session: SessionId::new(session),
            request: self.n(),
            room: room_info(room, &format!("Room {room}")),
            config,
        }
    }

    /// `join_room`.
    pub fn join(&mut self, session: &str, room: &str) -> Input {
        Input::JoinRoom {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
        }
    }

    /// `enter_room`.
    pub fn enter(&mut self, session: &str, room: &str, config: Option<RoomConfig>) -> Input {
        Input::EnterRoom {
            session: SessionId::new(session),
            request: self.n(),
            room: room_info(room, &format!("Room {room}")),
            config,
        }
    }

    /// `switch_room`.
    pub fn switch(
        &mut self,
        session: &str,
        from: &str,
        to: &str,
        create_if_missing: bool,
        config: Option<RoomConfig>,
    ) -> Input {
        Input::SwitchRoom {
            session: SessionId::new(session),
            request: self.n(),
            from: RoomId::new(from),
            to: room_info(to, &format!("Room {to}")),
            create_if_missing,
            config,
        }
    }

    /// `leave_room`.
    pub fn leave(&mut self, session: &str, room: &str) -> Input {
        Input::LeaveRoom {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
        }
    }

    /// `leave_all_rooms`.
    pub fn leave_all(&mut self, session: &str) -> Input {
        Input::LeaveAllRooms {
            session: SessionId::new(session),
            request: self.n(),
        }
    }

    /// `query_members`.
    pub fn query(&mut self, session: &str, room: &str, next: &str, count: u32) -> Input {
        Input::QueryMembers {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            next: next.to_owned(),
            count,
        }
    }

    /// Admin `remove_users`.
    pub fn kick(&mut self, room: &str, users: &[&str]) -> Input {
        Input::RemoveUsers {
            request: self.n(),
            room_id: RoomId::new(room),
            users: users.iter().map(|u| UserId::new(u)).collect(),
        }
    }

    /// Admin `dismiss_room`.
    pub fn dismiss(&mut self, room: &str) -> Input {
        Input::DismissRoom {
            request: self.n(),
            room_id: RoomId::new(room),
        }
    }

    /// `send_room_message`.
    pub fn message(&mut self, session: &str, room: &str, payload: &str) -> Input {
        Input::SendRoomMessage {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            payload: payload.to_owned(),
        }
    }
}

impl Requests {
    /// `set_room_attributes` with the given flags.
    pub fn set_attrs(
        &mut self,
        session: &str,
        room: &str,
        attributes: &[(&str, &str)],
        is_force: bool,
        is_update_owner: bool,
        is_delete_after_owner_left: bool,
    ) -> Input {
        Input::SetRoomAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            attributes: pairs(attributes),
            is_force,
            is_update_owner,
            is_delete_after_owner_left,
        }
    }

    /// `delete_room_attributes`.
    pub fn delete_attrs(
        &mut self,
        session: &str,
        room: &str,
        keys: &[&str],
        is_force: bool,
    ) -> Input {
        Input::DeleteRoomAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            is_force,
        }
    }

    /// `set_room_members_attributes`; `users` `None` = the caller's own user.
    pub fn set_member_attrs(
        &mut self,
        session: &str,
        room: &str,
        attributes: &[(&str, &str)],
        users: Option<&[&str]>,
    ) -> Input {
        Input::SetRoomMembersAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            attributes: pairs(attributes),
            user_ids: users.map(user_ids),
        }
    }

    /// `delete_room_members_attributes`; `users` `None` = the caller's own user.
    pub fn delete_member_attrs(
        &mut self,
        session: &str,
        room: &str,
        keys: &[&str],
        users: Option<&[&str]>,
    ) -> Input {
        Input::DeleteRoomMembersAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            user_ids: users.map(user_ids),
        }
    }

    /// `query_room_members_attributes`; `users` `None` = the caller's own user.
    pub fn query_member_attrs(
        &mut self,
        session: &str,
        room: &str,
        users: Option<&[&str]>,
    ) -> Input {
        Input::QueryRoomMembersAttributes {
            session: SessionId::new(session),
            request: self.n(),
            room_id: RoomId::new(room),
            user_ids: users.map(user_ids),
        }
    }
}

fn pairs(attributes: &[(&str, &str)]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn user_ids(users: &[&str]) -> Vec<UserId> {
    users.iter().map(|u| UserId::new(u)).collect()
}

/// `link_lost` (no request number).
#[must_use]
pub fn link_lost(session: &str) -> Input {
    Input::LinkLost {
        session: SessionId::new(session),
    }
}

/// `link_restored` (no request number).
#[must_use]
pub fn link_restored(session: &str) -> Input {
    Input::LinkRestored {
        session: SessionId::new(session),
    }
}

/// A room config with the given destroy delay in seconds.
#[must_use]
pub fn delay_s(destroy_delay_s: u64) -> Option<RoomConfig> {
    Some(RoomConfig {
        destroy_delay_s,
        ..RoomConfig::default()
    })
}

/// The sessions that received any output in `outs`, for quick assertions.
#[must_use]
pub fn recipients(outs: &[Output]) -> BTreeSet<SessionId> {
    outs.iter().filter_map(Output::session).collect()
}
