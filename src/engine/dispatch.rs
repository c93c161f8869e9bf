//! `handle_*`: time passes and inputs arrive; each input goes to the flow that handles it.

use crate::engine::state::timers::TimerKind;
use crate::engine::{Emit, Engine};
use crate::input::Input;
use crate::output::OutputSink;
use crate::time::Millis;

impl Engine {
    /// Moves time to `now` (clamped: never backwards) and fires every timer due at or before
    /// it, in deadline order; each timer's outputs are stamped with its own deadline.
    pub fn handle_timeout(&mut self, now: Millis, out: &mut impl OutputSink) {
        self.begin_step(out);
        self.fire_due(now, out);
    }

    /// Handles one input at `now`: first every due timer fires (as [`Engine::handle_timeout`]),
    /// then the input is applied. Every output is appended to `out`.
    pub fn handle_input(&mut self, now: Millis, input: &Input, out: &mut impl OutputSink) {
        self.begin_step(out);
        self.fire_due(now, out);
        let mut emit = Emit {
            at: self.state.now,
            buf: out.buffer(),
        };
        self.dispatch(input, &mut emit);
    }

    fn fire_due(&mut self, now: Millis, out: &mut impl OutputSink) {
        let now = now.max(self.state.now);
        while let Some(kind) = self.pop_due_timer(now) {
            self.forget_tombstones();
            let mut emit = Emit {
                at: self.state.now,
                buf: out.buffer(),
            };
            self.fire_timer(kind, &mut emit);
        }
        self.state.now = now;
        self.forget_tombstones();
    }

    fn dispatch(&mut self, input: &Input, emit: &mut Emit<'_>) {
        match input {
            Input::Login {
                session,
                request,
                user,
            } => {
                let r = self.login(*session, *user, emit);
                emit.reply(*session, *request, r);
            }
            Input::Logout { session, request } => self.logout(*session, *request, emit),
            Input::LinkLost { session } => self.link_lost(*session, emit),
            Input::LinkRestored { session } => self.link_restored(*session, emit),
            Input::CreateRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.create_room(*session, room, config.as_ref(), emit);
                emit.reply(*session, *request, r);
            }
            Input::JoinRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.join_room(*session, *room_id, emit);
                emit.reply(*session, *request, r);
            }
            Input::EnterRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.enter_room(*session, room, config.as_ref(), emit);
                emit.reply(*session, *request, r);
            }
            Input::SwitchRoom {
                session,
                request,
                from,
                to,
                create_if_missing,
                config,
            } => {
                let r = self.switch_room(
                    *session,
                    *from,
                    to,
                    *create_if_missing,
                    config.as_ref(),
                    emit,
                );
                emit.reply(*session, *request, r);
            }
            Input::LeaveRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.leave_room(*session, *room_id, emit);
                emit.reply(*session, *request, r);
            }
            Input::LeaveAllRooms { session, request } => {
                let r = self.leave_all_rooms(*session, emit);
                emit.reply(*session, *request, r);
            }
            Input::QueryMembers {
                session,
                request,
                room_id,
                next,
                count,
            } => {
                let r = self.query_members(*session, *room_id, next, *count);
                emit.reply(*session, *request, r);
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
                let flags = crate::engine::attributes::SetFlags {
                    is_force: *is_force,
                    is_update_owner: *is_update_owner,
                    is_delete_after_owner_left: *is_delete_after_owner_left,
                };
                let r = self.set_room_attributes(*session, *room_id, attributes, flags, emit);
                emit.reply(*session, *request, r);
            }
            Input::DeleteRoomAttributes {
                session,
                request,
                room_id,
                keys,
                is_force,
            } => {
                let r = self.delete_room_attributes(*session, *room_id, keys, *is_force, emit);
                emit.reply(*session, *request, r);
            }
            Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload,
            } => {
                let r = self.send_room_message(*session, *room_id, payload, emit);
                emit.reply(*session, *request, r);
            }
            Input::SetRoomMembersAttributes {
                session,
                request,
                room_id,
                attributes,
                user_ids,
            } => {
                let users = user_ids.as_deref();
                let r =
                    self.set_room_members_attributes(*session, *room_id, attributes, users, emit);
                emit.reply(*session, *request, r);
            }
            Input::DeleteRoomMembersAttributes {
                session,
                request,
                room_id,
                keys,
                user_ids,
            } => {
                let users = user_ids.as_deref();
                let r = self.delete_room_members_attributes(*session, *room_id, keys, users, emit);
                emit.reply(*session, *request, r);
            }
            Input::QueryRoomMembersAttributes {
                session,
                request,
                room_id,
                user_ids,
            } => {
                let r = self.query_room_members_attributes(*session, *room_id, user_ids.as_deref());
                emit.reply(*session, *request, r);
            }
            Input::RemoveUsers {
                request,
                room_id,
                users,
            } => {
                let r = self.remove_users(*room_id, users, emit);
                emit.admin_reply(*request, r);
            }
            Input::DismissRoom { request, room_id } => {
                let r = self.dismiss_room(*room_id, emit);
                emit.admin_reply(*request, r);
            }
            Input::QueryRoomAttributes {
                session,
                request,
                room_id,
            } => {
                let r = self.query_room_attributes(*session, *room_id);
                emit.reply(*session, *request, r);
            }
            Input::QueryRoomOnlineCount {
                session,
                request,
                room_id,
            } => {
                let r = self.query_room_online_count(*session, *room_id);
                emit.reply(*session, *request, r);
            }
            Input::AdminCreateRoom {
                request,
                room,
                config,
            } => {
                let r = self.admin_create_room(room, config.as_ref(), emit);
                emit.admin_reply(*request, r);
            }
            Input::ListRooms {
                request,
                next,
                count,
            } => {
                let r = self.list_rooms(next, *count);
                emit.admin_reply(*request, r);
            }
            Input::QueryRoom { request, room_id } => {
                let r = self.query_room(*room_id);
                emit.admin_reply(*request, r);
            }
            Input::AdminSetRoomAttributes {
                request,
                room_id,
                set,
                delete,
            } => {
                let r = self.admin_set_room_attributes(*room_id, set, delete, emit);
                emit.admin_reply(*request, r);
            }
            Input::MoveUsers {
                request,
                from,
                to,
                users,
                create_if_missing,
                config,
            } => {
                let r =
                    self.move_users(*from, to, users, *create_if_missing, config.as_ref(), emit);
                emit.admin_reply(*request, r);
            }
            Input::BanUsers {
                request,
                room_id,
                users,
                duration_s,
            } => {
                let r = self.ban_users(*room_id, users, *duration_s, emit);
                emit.admin_reply(*request, r);
            }
            Input::UnbanUsers {
                request,
                room_id,
                users,
            } => {
                let r = self.unban_users(*room_id, users);
                emit.admin_reply(*request, r);
            }
            Input::Tick => {}
        }
    }

    fn fire_timer(&mut self, kind: TimerKind, emit: &mut Emit<'_>) {
        match kind {
            TimerKind::DestroyRoom { slot, incarnation } => {
                self.destroy_timer_fired(slot, incarnation, emit);
            }
            TimerKind::ReconnectGrace { slot, incarnation } => {
                self.grace_expired(slot, incarnation, emit);
            }
            TimerKind::MemberBatch { slot, incarnation } => {
                self.member_batch_fired(slot, incarnation, emit);
            }
            TimerKind::BanExpiry { slot, incarnation } => self.ban_expired(slot, incarnation),
        }
    }
}
