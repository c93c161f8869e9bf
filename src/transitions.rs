//! The per-session room state machine as one table: every `(state, event) -> state` change a
//! session can see for one room, and the flow that produces it.
//!
//! A session's state for a room starts `disconnected` (it is not in the room). Every
//! `room_state_changed` the engine emits is one row of [`TRANSITIONS`]; the test harness walks
//! every sequence any test produces through this table, from the state before the step, and
//! checks that it ends in the state the engine holds after the step.
//!
//! The table is a relation, not a function: `connecting` + `success` means "the flow or the
//! reconnection succeeded" (to `connected`) when the session joins or comes back, and "left"
//! (to `disconnected`) when a session that is reconnecting logs out: a logout leaves every
//! room with `success`, whatever its link.
//!
//! `network_disconnected` appears in no row: the engine never gives up on a link by itself.
//! A lost link ends only when its grace runs out (`connect_timeout`), the transport restores
//! it, or something else ends the membership.

use crate::output::{RoomEvent, RoomState};

use RoomEvent as E;
use RoomState::{Connected as On, Connecting as Joining, Disconnected as Off};

/// One allowed change of a session's state for a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: RoomState,
    /// Why it changed.
    pub event: RoomEvent,
    /// The state after.
    pub to: RoomState,
    /// Which flows produce it.
    pub when: &'static str,
}

const fn row(from: RoomState, event: RoomEvent, to: RoomState, when: &'static str) -> Transition {
    Transition {
        from,
        event,
        to,
        when,
    }
}

/// Every allowed transition; anything else is a bug in the engine.
pub const TRANSITIONS: &[Transition] = &[
    // A flow starts: the bracket opens.
    row(Off, E::ActiveCreate, Joining, "create_room starts"),
    row(
        Off,
        E::ActiveEnter,
        Joining,
        "join_room or enter_room starts",
    ),
    row(
        Off,
        E::ActiveSwitch,
        Joining,
        "switch_room or move starts (target room)",
    ),
    // The bracket closes.
    row(
        Joining,
        E::Success,
        On,
        "the flow joined the room; or the link came back",
    ),
    row(
        Joining,
        E::CreateFailed,
        Off,
        "the registry refused create_room",
    ),
    row(
        Joining,
        E::EnterFailed,
        Off,
        "the registry refused join_room or enter_room",
    ),
    row(
        Joining,
        E::SwitchFailed,
        Off,
        "the registry refused switch_room",
    ),
    // Leaving, whatever the link.
    row(
        On,
        E::Success,
        Off,
        "leave, leave-all, logout, or the source of a switch",
    ),
    row(Joining, E::Success, Off, "logout while the link is lost"),
    // The link.
    row(On, E::NetworkInterrupted, Joining, "link_lost"),
    row(
        Joining,
        E::ConnectTimeout,
        Off,
        "the reconnect grace ran out",
    ),
    // Ended by someone else, live or reconnecting.
    row(On, E::KickedOut, Off, "remove_users (or a ban)"),
    row(
        Joining,
        E::KickedOut,
        Off,
        "remove_users (or a ban) while the link is lost",
    ),
    row(On, E::RoomNotExist, Off, "dismiss_room"),
    row(
        Joining,
        E::RoomNotExist,
        Off,
        "dismiss_room while the link is lost",
    ),
    row(
        On,
        E::KickedOutByOtherDevice,
        Off,
        "another device of the user took over",
    ),
    row(
        Joining,
        E::KickedOutByOtherDevice,
        Off,
        "another device took over while the link is lost",
    ),
];

/// Whether `from --event--> to` is a row of [`TRANSITIONS`].
#[must_use]
pub fn allowed(from: RoomState, event: RoomEvent, to: RoomState) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.from == from && t.event == event && t.to == to)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [RoomState; 3] = [Off, Joining, On];

    #[test]
    fn no_row_is_listed_twice() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(
                    (a.from, a.event, a.to) != (b.from, b.event, b.to),
                    "{a:?} twice"
                );
            }
        }
    }

    #[test]
    fn every_event_but_network_disconnected_has_a_row() {
        let events = [
            E::Success,
            E::NetworkInterrupted,
            E::RoomNotExist,
            E::ActiveCreate,
            E::CreateFailed,
            E::ActiveEnter,
            E::EnterFailed,
            E::KickedOut,
            E::ConnectTimeout,
            E::KickedOutByOtherDevice,
            E::ActiveSwitch,
            E::SwitchFailed,
        ];
        for e in events {
            assert!(TRANSITIONS.iter().any(|t| t.event == e), "{e:?}");
        }
        assert!(!TRANSITIONS
            .iter()
            .any(|t| t.event == E::NetworkDisconnected));
    }

    #[test]
    fn no_event_leaves_the_state_unchanged_and_only_flows_start_from_disconnected() {
        for t in TRANSITIONS {
            assert_ne!(t.from, t.to, "{t:?}");
            if t.from == Off {
                assert!(matches!(
                    t.event,
                    E::ActiveCreate | E::ActiveEnter | E::ActiveSwitch
                ));
            }
        }
        for s in STATES {
            assert!(!allowed(s, E::NetworkDisconnected, Off));
        }
    }
}
