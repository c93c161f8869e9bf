//! Driving the model: time passing (timers fire in deadline order, then arming order) and
//! each input dispatched to the rule that handles it, as the engine's `handle_*` methods.

use super::attributes::SetFlags;
use super::state::Model;
use super::state::TimerWhat;
use roomcore::input::Input;
use roomcore::output::Stamped;
use roomcore::time::Millis;

impl Model {
    /// Moves time to `now` (never backwards) firing due timers, each stamped with its deadline.
    pub fn handle_timeout(&mut self, now: Millis, out: &mut Vec<Stamped>) {
        let now = now.as_ms().max(self.now);
        while let Some(i) = self.earliest_due(now) {
            let t = self.timers.remove(i);
            self.now = self.now.max(t.deadline);
            self.stamp = self.now;
            self.forget_closed();
            self.fire(t.what);
        }
        self.now = now;
        self.forget_closed();
        out.append(&mut self.out);
    }

    /// Fires due timers, then applies `input` at `now`.
    pub fn handle_input(&mut self, now: Millis, input: &Input, out: &mut Vec<Stamped>) {
        self.handle_timeout(now, out);
        self.stamp = self.now;
        self.apply(input);
        out.append(&mut self.out);
    }

    fn earliest_due(&self, now: u64) -> Option<usize> {
        let mut best: Option<(usize, (u64, u64))> = None;
        for (i, t) in self.timers.iter().enumerate() {
            let key = (t.deadline, t.seq);
            if t.deadline <= now && best.is_none_or(|(_, b)| key < b) {
                best = Some((i, key));
            }
        }
        best.map(|(i, _)| i)
    }

    fn fire(&mut self, what: TimerWhat) {
        match what {
            TimerWhat::Destroy(room) => self.destroy_due(room),
            TimerWhat::Grace(session) => self.grace_due(session),
            TimerWhat::Batch(room) => self.window_due(room),
            TimerWhat::BanEnd(room, user) => self.ban_due(room, user),
        }
    }

    fn apply(&mut self, input: &Input) {
        match input {
            Input::Login {
                session,
                request,
                user,
            } => {
                let r = self.login(*session, *user);
                self.reply(*session, *request, r);
            }
            Input::Logout { session, request } => self.logout(*session, *request),
            Input::LinkLost { session } => self.link_lost(*session),
            Input::LinkRestored { session } => self.link_restored(*session),
            Input::CreateRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.create(*session, room, config.as_ref());
                self.reply(*session, *request, r);
            }
            Input::JoinRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.join(*session, *room_id);
                self.reply(*session, *request, r);
            }
            Input::EnterRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.enter(*session, room, config.as_ref());
                self.reply(*session, *request, r);
            }
            Input::SwitchRoom {
                session,
                request,
                from,
                to,
                create_if_missing,
                config,
            } => {
                let r = self.switch(*session, *from, to, *create_if_missing, config.as_ref());
                self.reply(*session, *request, r);
            }
            Input::LeaveRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.leave(*session, *room_id);
                self.reply(*session, *request, r);
            }
            Input::LeaveAllRooms { session, request } => {
                let r = self.leave_all(*session);
                self.reply(*session, *request, r);
            }
            Input::QueryMembers {
                session,
                request,
                room_id,
                next,
                count,
            } => {
                let r = self.query(*session, *room_id, next, *count);
                self.reply(*session, *request, r);
            }
            Input::SetRoomAttributes {
                session,
                request,
                room_id,
                attributes,
                is_force,
                is_update_owner,
                is_delete_after_owner_left,
            } => {
                let flags = SetFlags {
                    force: *is_force,
                    update_owner: *is_update_owner,
                    delete_after_owner_left: *is_delete_after_owner_left,
                };
                let r = self.set_attributes(*session, *room_id, attributes, flags);
                self.reply(*session, *request, r);
            }
            Input::DeleteRoomAttributes {
                session,
                request,
                room_id,
                keys,
                is_force,
            } => {
                let r = self.delete_attributes(*session, *room_id, keys, *is_force);
                self.reply(*session, *request, r);
            }
            Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload,
            } => {
                let r = self.send_message(*session, *room_id, payload);
                self.reply(*session, *request, r);
            }
            Input::SetRoomMembersAttributes {
                session,
                request,
                room_id,
                attributes,
                user_ids,
            } => {
                let r = self.set_member_attrs(*session, *room_id, attributes, user_ids.as_deref());
                self.reply(*session, *request, r);
            }
            Input::DeleteRoomMembersAttributes {
                session,
                request,
                room_id,
                keys,
                user_ids,
            } => {
                let r = self.delete_member_attrs(*session, *room_id, keys, user_ids.as_deref());
                self.reply(*session, *request, r);
            }
            Input::QueryRoomMembersAttributes {
                session,
                request,
                room_id,
                user_ids,
            } => {
                let r = self.query_member_attrs(*session, *room_id, user_ids.as_deref());
                self.reply(*session, *request, r);
            }
            Input::RemoveUsers {
                request,
                room_id,
                users,
            } => {
                let r = self.kick(*room_id, users);
                self.admin_reply(*request, r);
            }
            Input::DismissRoom { request, room_id } => {
                let r = self.dismiss(*room_id);
                self.admin_reply(*request, r);
            }
            Input::QueryRoomAttributes {
                session,
                request,
                room_id,
            } => {
                let r = self.query_room_attributes(*session, *room_id);
                self.reply(*session, *request, r);
            }
            Input::QueryRoomOnlineCount {
                session,
                request,
                room_id,
            } => {
                let r = self.online_count(*session, *room_id);
                self.reply(*session, *request, r);
            }
            Input::AdminCreateRoom {
                request,
                room,
                config,
            } => {
                let r = self.admin_create(room, config.as_ref());
                self.admin_reply(*request, r);
            }
            Input::ListRooms {
                request,
                next,
                count,
            } => {
                let r = self.list_rooms(next, *count);
                self.admin_reply(*request, r);
            }
            Input::QueryRoom { request, room_id } => {
                let r = self.query_room(*room_id);
                self.admin_reply(*request, r);
            }
            Input::AdminSetRoomAttributes {
                request,
                room_id,
                set,
                delete,
            } => {
                let r = self.admin_attrs(*room_id, set, delete);
                self.admin_reply(*request, r);
            }
            Input::MoveUsers {
                request,
                from,
                to,
                users,
                create_if_missing,
                config,
            } => {
                let r = self.move_users(*from, to, users, *create_if_missing, config.as_ref());
                self.admin_reply(*request, r);
            }
            Input::BanUsers {
                request,
                room_id,
                users,
                duration_s,
            } => {
                let r = self.ban(*room_id, users, *duration_s);
                self.admin_reply(*request, r);
            }
            Input::UnbanUsers {
                request,
                room_id,
                users,
            } => {
                let r = self.unban(*room_id, users);
                self.admin_reply(*request, r);
            }
            // Exhaustive on purpose: a new input does not compile until the model decides
            // what it does.
            Input::Tick => {}
        }
    }
}
