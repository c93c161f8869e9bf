//! The vendor dialect mappings (docs/dialects.md has the same tables).

use roomcore::dialect::{bytedance, livekit, trtc, view, zim, Dialect};
use roomcore::{
    ErrorBody, ErrorCode, Input, LeaveReason, Member, Outcome, Output, ReplyOk, RoomEvent, RoomId,
    RoomState, SessionId, UserId,
};

/// Every room event, in the order `RoomEvent` declares them.
const EVENTS: [RoomEvent; 13] = [
    RoomEvent::Success,
    RoomEvent::NetworkInterrupted,
    RoomEvent::NetworkDisconnected,
    RoomEvent::RoomNotExist,
    RoomEvent::ActiveCreate,
    RoomEvent::CreateFailed,
    RoomEvent::ActiveEnter,
    RoomEvent::EnterFailed,
    RoomEvent::KickedOut,
    RoomEvent::ConnectTimeout,
    RoomEvent::KickedOutByOtherDevice,
    RoomEvent::ActiveSwitch,
    RoomEvent::SwitchFailed,
];

const REASONS: [LeaveReason; 4] = [
    LeaveReason::Left,
    LeaveReason::Kicked,
    LeaveReason::Timeout,
    LeaveReason::OtherDevice,
];

fn s(x: &str) -> SessionId {
    SessionId::new(x)
}

fn r(x: &str) -> RoomId {
    RoomId::new(x)
}

fn state_change(state: RoomState, event: RoomEvent) -> Output {
    Output::RoomStateChanged {
        session: s("s1"),
        room_id: r("r1"),
        state,
        event,
    }
}

fn error_reply(code: ErrorCode, message: &str) -> Output {
    Output::Reply {
        session: s("s1"),
        request: 7,
        outcome: Outcome::Error(ErrorBody {
            code,
            message: message.to_owned(),
        }),
    }
}

fn ok_reply() -> Output {
    Output::Reply {
        session: s("s1"),
        request: 7,
        outcome: Outcome::Ok(ReplyOk::RoomId { room_id: r("r1") }),
    }
}

fn leave(room: &str) -> Input {
    Input::LeaveRoom {
        session: s("s1"),
        request: 7,
        room_id: r(room),
    }
}

fn members_left(reason: LeaveReason) -> Output {
    Output::MembersLeft {
        to: s("s2").into(),
        room_id: r("r1"),
        members: [Member {
            user_id: UserId::new("alice"),
        }]
        .into_iter()
        .collect(),
        reason,
    }
}

fn json(d: Dialect, out: &Output, cause: Option<&Input>) -> String {
    serde_json::to_string(&view(d, out, cause)).expect("serializable")
}

#[test]
fn dialect_names_round_trip() {
    for d in Dialect::ALL {
        assert_eq!(d.name().parse::<Dialect>(), Ok(d));
        assert_eq!(d.to_string(), d.name());
    }
    assert!("skype".parse::<Dialect>().is_err());
}

// ---- ZIM ----------------------------------------------------------------------------------

#[test]
fn zim_states_are_numbered_0_to_2() {
    assert_eq!(zim::room_state(RoomState::Disconnected), 0);
    assert_eq!(zim::room_state(RoomState::Connecting), 1);
    assert_eq!(zim::room_state(RoomState::Connected), 2);
}

#[test]
fn zim_events_are_numbered_0_to_12_in_design_order() {
    let numbers: Vec<u8> = EVENTS.iter().map(|&e| zim::room_event(e)).collect();
    assert_eq!(numbers, (0..=12).collect::<Vec<u8>>());
}

#[test]
fn zim_error_codes_match_design() {
    let exact = [
        (ErrorCode::UserAlreadyInRoom, 6_000_320),
        (ErrorCode::UserNotInRoom, 6_000_321),
        (ErrorCode::RoomNotExist, 6_000_322),
        (ErrorCode::RoomAlreadyExists, 6_000_323),
        (ErrorCode::ServerRoomLimit, 6_000_324),
        (ErrorCode::JoinedRoomLimit, 6_000_325),
        (ErrorCode::RoomConnecting, 6_000_326),
        (ErrorCode::NotLoggedIn, 6_000_121),
        (ErrorCode::AlreadyLoggedIn, 6_000_111),
        (ErrorCode::RateLimited, 6_000_004),
    ];
    for (code, n) in exact {
        assert_eq!(zim::error_code(code), (n, true), "{code:?}");
    }
    let nearest = [
        (ErrorCode::SessionClosed, 6_000_121),
        (ErrorCode::InvalidRoomId, zim::PARAM_INVALID),
        (ErrorCode::InvalidRoomName, zim::PARAM_INVALID),
        (ErrorCode::InvalidUserId, zim::PARAM_INVALID),
        (ErrorCode::InvalidConfig, zim::PARAM_INVALID),
        (ErrorCode::InvalidArgument, zim::PARAM_INVALID),
        (ErrorCode::PayloadTooLarge, zim::PARAM_INVALID),
        (ErrorCode::RoomFull, zim::ROOM_COMMON_ERROR),
        (ErrorCode::AttributeLimit, zim::ROOM_COMMON_ERROR),
        (ErrorCode::AttributeNotOwner, zim::ROOM_COMMON_ERROR),
        (ErrorCode::SessionLimit, zim::FAILED),
    ];
    for (code, n) in nearest {
        assert_eq!(zim::error_code(code), (n, false), "{code:?}");
    }
}

#[test]
fn zim_view_shows_numbers_and_the_api_callback() {
    let out = state_change(RoomState::Disconnected, RoomEvent::SwitchFailed);
    assert_eq!(
        json(Dialect::Zim, &out, None),
        r#"[{"callback":"onRoomStateChanged","session":"s1","roomID":"r1","state":0,"event":12}]"#
    );
    let cause = Input::JoinRoom {
        session: s("s1"),
        request: 7,
        room_id: r("r1"),
    };
    assert_eq!(
        json(
            Dialect::Zim,
            &error_reply(ErrorCode::RoomNotExist, "m"),
            Some(&cause)
        ),
        r#"[{"callback":"onRoomJoined","session":"s1","errorCode":6000322}]"#
    );
    assert_eq!(
        json(Dialect::Zim, &members_left(LeaveReason::Kicked), None),
        r#"[{"callback":"onRoomMemberLeft","session":"s2","roomID":"r1","memberList":["alice"]}]"#
    );
    // Server-side events are the service's callbacks, not an SDK's.
    let created = Output::RoomCreated {
        room_id: r("r1"),
        sid: Some(roomcore::RoomSid(1)),
        event_id: None,
    };
    assert_eq!(
        json(Dialect::Zim, &created, None),
        r#"[{"callback":"room_create","room_id":"r1"}]"#
    );
}

// ---- TRTC ---------------------------------------------------------------------------------

#[test]
fn trtc_exit_room_reasons_are_0_active_1_removed_2_dismissed() {
    assert_eq!(trtc::exit_room_reason(RoomEvent::Success), Some(0));
    assert_eq!(trtc::exit_room_reason(RoomEvent::KickedOut), Some(1));
    assert_eq!(
        trtc::exit_room_reason(RoomEvent::KickedOutByOtherDevice),
        Some(1)
    );
    assert_eq!(trtc::exit_room_reason(RoomEvent::RoomNotExist), Some(2));
    for e in [
        RoomEvent::ConnectTimeout,
        RoomEvent::SwitchFailed,
        RoomEvent::EnterFailed,
    ] {
        assert_eq!(trtc::exit_room_reason(e), None, "{e:?}");
    }
}

#[test]
fn trtc_remote_leave_reasons_are_0_left_1_timeout_2_removed() {
    let got: Vec<u8> = REASONS
        .iter()
        .map(|&r| trtc::remote_leave_reason(r))
        .collect();
    assert_eq!(got, [0, 2, 1, 2]);
}

#[test]
fn trtc_view_fires_exit_and_remote_leave_callbacks() {
    let out = state_change(RoomState::Disconnected, RoomEvent::RoomNotExist);
    assert_eq!(
        json(Dialect::Trtc, &out, None),
        r#"[{"callback":"onExitRoom","session":"s1","reason":2}]"#
    );
    assert_eq!(
        json(Dialect::Trtc, &members_left(LeaveReason::Timeout), None),
        r#"[{"callback":"onRemoteUserLeaveRoom","session":"s2","userId":"alice","reason":1}]"#
    );
    let lost = state_change(RoomState::Connecting, RoomEvent::NetworkInterrupted);
    assert_eq!(
        json(Dialect::Trtc, &lost, None),
        r#"[{"callback":"onConnectionLost","session":"s1"}]"#
    );
    let timeout = state_change(RoomState::Disconnected, RoomEvent::ConnectTimeout);
    assert!(view(Dialect::Trtc, &timeout, None).is_empty());
}

// ---- ByteDance ----------------------------------------------------------------------------

#[test]
fn bytedance_err_no_is_20000_for_parameters_and_115910_for_a_closed_session() {
    for c in [
        ErrorCode::InvalidRoomId,
        ErrorCode::InvalidRoomName,
        ErrorCode::InvalidUserId,
        ErrorCode::InvalidConfig,
        ErrorCode::InvalidArgument,
    ] {
        assert_eq!(bytedance::err_no(c), Some(20_000), "{c:?}");
    }
    assert_eq!(bytedance::err_no(ErrorCode::SessionClosed), Some(115_910));
    assert_eq!(bytedance::err_no(ErrorCode::UserNotInRoom), None);
}

#[test]
fn bytedance_err_msg_is_api_ok_or_api_fail_detail() {
    let ok = Outcome::Ok(ReplyOk::Empty {});
    assert_eq!(bytedance::err_msg("exitRtcRoom", &ok), "exitRtcRoom:ok");
    let fail = Outcome::Error(ErrorBody {
        code: ErrorCode::UserNotInRoom,
        message: "not in the room".to_owned(),
    });
    assert_eq!(
        bytedance::err_msg("exitRtcRoom", &fail),
        "exitRtcRoom:fail not in the room"
    );
    let closed = Outcome::Error(ErrorBody {
        code: ErrorCode::SessionClosed,
        message: "session is closed".to_owned(),
    });
    assert_eq!(
        bytedance::err_msg("exitRtcRoom", &closed),
        "exitRtcRoom:fail engine has been destroyed,please invoke tt.createRtcRoomContext create new engine"
    );
    assert_eq!(bytedance::api_name(&leave("r1")), "exitRtcRoom");
    let join = Input::JoinRoom {
        session: s("s1"),
        request: 1,
        room_id: r("r1"),
    };
    assert_eq!(bytedance::api_name(&join), "joinRtcRoom");
    assert_eq!(bytedance::api_name(&Input::Tick), "tick");
}

#[test]
fn bytedance_view_answers_replies_only() {
    assert_eq!(
        json(Dialect::ByteDance, &ok_reply(), Some(&leave("r1"))),
        r#"[{"callback":"success","session":"s1","errMsg":"exitRtcRoom:ok"}]"#
    );
    let bad = error_reply(ErrorCode::InvalidRoomId, "invalid room id: empty");
    assert_eq!(
        json(Dialect::ByteDance, &bad, Some(&leave(""))),
        r#"[{"callback":"fail","session":"s1","errMsg":"exitRtcRoom:fail invalid room id: empty","errNo":20000}]"#
    );
    let out = state_change(RoomState::Disconnected, RoomEvent::Success);
    assert!(view(Dialect::ByteDance, &out, None).is_empty());
}

// ---- LiveKit ------------------------------------------------------------------------------

#[test]
fn livekit_disconnect_reasons() {
    assert_eq!(livekit::disconnect_reason(RoomEvent::Success), Some(1));
    assert_eq!(
        livekit::disconnect_reason(RoomEvent::KickedOutByOtherDevice),
        Some(2)
    );
    assert_eq!(livekit::disconnect_reason(RoomEvent::KickedOut), Some(4));
    assert_eq!(livekit::disconnect_reason(RoomEvent::RoomNotExist), Some(5));
    assert_eq!(
        livekit::disconnect_reason(RoomEvent::ConnectTimeout),
        Some(14)
    );
    assert_eq!(livekit::disconnect_reason(RoomEvent::SwitchFailed), None);
    let got: Vec<u8> = REASONS
        .iter()
        .map(|&r| livekit::participant_reason(r))
        .collect();
    assert_eq!(got, [1, 4, 14, 2]);
}

#[test]
fn livekit_view_fires_room_events() {
    let out = state_change(RoomState::Disconnected, RoomEvent::KickedOutByOtherDevice);
    assert_eq!(
        json(Dialect::LiveKit, &out, None),
        r#"[{"callback":"Disconnected","session":"s1","reason":2}]"#
    );
    assert_eq!(
        json(Dialect::LiveKit, &members_left(LeaveReason::Left), None),
        r#"[{"callback":"ParticipantDisconnected","session":"s2","identity":"alice","reason":1}]"#
    );
    let back = state_change(RoomState::Connecting, RoomEvent::NetworkInterrupted);
    assert_eq!(
        json(Dialect::LiveKit, &back, None),
        r#"[{"callback":"Reconnecting","session":"s1"}]"#
    );
}

#[test]
fn every_state_change_with_a_disconnect_maps_in_every_dialect_that_reports_it() {
    // Every event that ends a membership has a TRTC reason or a LiveKit reason (or both).
    let ends = [
        RoomEvent::Success,
        RoomEvent::RoomNotExist,
        RoomEvent::KickedOut,
        RoomEvent::ConnectTimeout,
        RoomEvent::KickedOutByOtherDevice,
    ];
    for e in ends {
        assert!(livekit::disconnect_reason(e).is_some(), "{e:?}");
        let zim_view = view(
            Dialect::Zim,
            &state_change(RoomState::Disconnected, e),
            None,
        );
        assert_eq!(zim_view.len(), 1, "{e:?}");
    }
    assert_eq!(leave("r1").name(), "leave_room");
}

/// A large room's coalesced delta is addressed to the room: each dialect shows one joined
/// and one left callback with the member list and the room, and nothing for an empty list.
#[test]
fn room_members_changed_maps_to_one_joined_and_one_left_callback() {
    let delta = Output::RoomMembersChanged {
        room_id: r("r1"),
        joined: vec![
            Member {
                user_id: UserId::new("u4"),
            },
            Member {
                user_id: UserId::new("u5"),
            },
        ],
        left: vec![roomcore::MemberLeft {
            user_id: UserId::new("u2"),
            reason: LeaveReason::Kicked,
        }],
    };
    let expect = |joined: &str, left: &str| {
        format!(
            r#"[{{"callback":"{joined}","roomID":"r1","memberList":["u4","u5"]}},{{"callback":"{left}","roomID":"r1","memberList":["u2"]}}]"#
        )
    };
    assert_eq!(
        json(Dialect::Zim, &delta, None),
        expect("onRoomMemberJoined", "onRoomMemberLeft")
    );
    assert_eq!(
        json(Dialect::Trtc, &delta, None),
        expect("onRemoteUserEnterRoom", "onRemoteUserLeaveRoom")
    );
    assert_eq!(
        json(Dialect::LiveKit, &delta, None),
        expect("ParticipantConnected", "ParticipantDisconnected")
    );
    assert!(view(Dialect::ByteDance, &delta, None).is_empty());
    let joins_only = Output::RoomMembersChanged {
        room_id: r("r1"),
        joined: vec![Member {
            user_id: UserId::new("u4"),
        }],
        left: Vec::new(),
    };
    assert_eq!(view(Dialect::Zim, &joins_only, None).len(), 1);
}
