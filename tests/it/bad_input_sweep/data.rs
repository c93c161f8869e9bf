//! Room data and the service: attributes, messages, member attributes, admin commands, time.

use super::*;

#[test]
fn room_attributes() {
    let (h, _) = base(Config::default());
    let set = |s: &str, r: &str, a: BTreeMap<String, String>| Input::SetRoomAttributes {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        attributes: a,
        is_force: false,
        is_update_owner: false,
        is_delete_after_owner_left: false,
    };
    let delete = |s: &str, r: &str, keys: &[&str]| Input::DeleteRoomAttributes {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        is_force: false,
    };
    for bad in bad_ids() {
        refused(&h, set("s1", &bad, map(&[("a", "b")])), InvalidRoomId);
        refused(&h, delete("s1", &bad, &["k"]), InvalidRoomId);
    }
    refused(&h, set("s1", "r1", BTreeMap::new()), InvalidArgument);
    refused(&h, set("s1", "r1", map(&[("", "v")])), InvalidArgument);
    refused(&h, delete("s1", "r1", &[]), InvalidArgument);
    refused(&h, delete("s1", "r1", &[""]), InvalidArgument);
    refused(
        &h,
        set("s1", "r1", map(&[(&"k".repeat(17), "v")])),
        AttributeLimit,
    );
    refused(
        &h,
        set("s1", "r1", map(&[("a", &"v".repeat(1025))])),
        AttributeLimit,
    );
    let many: BTreeMap<String, String> =
        (0..20).map(|i| (format!("n{i}"), "v".to_owned())).collect();
    refused(&h, set("s1", "r1", many), AttributeLimit);
    let big: BTreeMap<String, String> = (0..6)
        .map(|i| (format!("n{i}"), "v".repeat(1000)))
        .collect();
    refused(&h, set("s1", "r1", big), AttributeLimit);
    refused(&h, set("s2", "r1", map(&[("k", "w")])), AttributeNotOwner);
    refused(&h, delete("s2", "r1", &["k"]), AttributeNotOwner);
    refused(&h, set("s1", "r2", map(&[("a", "b")])), UserNotInRoom);
    refused(&h, delete("s1", "r2", &["a"]), UserNotInRoom);
    refused(&h, set("s4", "r2", map(&[("a", "b")])), RoomConnecting);
    refused(&h, delete("s4", "r2", &["a"]), RoomConnecting);
}

#[test]
fn room_messages() {
    let (h, _) = base(Config::default());
    let send = |s: &str, r: &str, payload: String| Input::SendRoomMessage {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        payload,
    };
    for bad in bad_ids() {
        refused(&h, send("s1", &bad, "hi".to_owned()), InvalidRoomId);
    }
    refused(
        &h,
        send("s1", "r1", "p".repeat(32 * 1024 + 1)),
        PayloadTooLarge,
    );
    refused(&h, send("s1", "r2", "hi".to_owned()), UserNotInRoom);
    refused(&h, send("s4", "r2", "hi".to_owned()), RoomConnecting);
    let (mut limited, _) = base(Config {
        message_rate_per_s: 1,
        message_burst: 1,
        ..Config::default()
    });
    limited
        .step(AT, send("s1", "r1", "one".to_owned()))
        .expect("first message passes");
    refused(&limited, send("s1", "r1", "two".to_owned()), RateLimited);
}

#[test]
fn member_attributes() {
    let (h, _) = base(Config::default());
    let set = |s: &str, r: &str, a: BTreeMap<String, String>, users: Option<Vec<UserId>>| {
        Input::SetRoomMembersAttributes {
            session: sid(s),
            request: 1,
            room_id: rid(r),
            attributes: a,
            user_ids: users,
        }
    };
    let delete =
        |s: &str, keys: &[&str], users: Option<Vec<UserId>>| Input::DeleteRoomMembersAttributes {
            session: sid(s),
            request: 1,
            room_id: rid("r1"),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            user_ids: users,
        };
    let query = |s: &str, r: &str, users: Option<Vec<UserId>>| Input::QueryRoomMembersAttributes {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        user_ids: users,
    };
    for bad in bad_ids() {
        refused(&h, set("s1", &bad, map(&[("a", "b")]), None), InvalidRoomId);
        refused(&h, query("s1", &bad, None), InvalidRoomId);
        refused(
            &h,
            set("s1", "r1", map(&[("a", "b")]), Some(vec![uid(&bad)])),
            InvalidUserId,
        );
        refused(&h, query("s1", "r1", Some(vec![uid(&bad)])), InvalidUserId);
    }
    refused(&h, set("s1", "r1", BTreeMap::new(), None), InvalidArgument);
    refused(
        &h,
        set("s1", "r1", map(&[("", "b")]), None),
        InvalidArgument,
    );
    refused(
        &h,
        set("s1", "r1", map(&[("a", "b")]), Some(Vec::new())),
        InvalidArgument,
    );
    let too_many: Vec<UserId> = (0..101).map(|i| uid(&format!("u{i}"))).collect();
    refused(
        &h,
        set("s1", "r1", map(&[("a", "b")]), Some(too_many.clone())),
        InvalidArgument,
    );
    refused(&h, query("s1", "r1", Some(too_many)), InvalidArgument);
    refused(&h, delete("s1", &[], None), InvalidArgument);
    refused(&h, delete("s1", &[""], None), InvalidArgument);
    refused(
        &h,
        set("s1", "r1", map(&[(&"k".repeat(9), "b")]), None),
        AttributeLimit,
    );
    refused(
        &h,
        set("s1", "r1", map(&[("a", &"v".repeat(65))]), None),
        AttributeLimit,
    );
    refused(&h, set("s1", "r2", map(&[("a", "b")]), None), UserNotInRoom);
    refused(&h, query("s4", "r2", None), RoomConnecting);
}

#[test]
fn admin_commands() {
    let (h, _) = base(Config::default());
    let kick = |r: &str, users: Vec<UserId>| Input::RemoveUsers {
        request: 1,
        room_id: rid(r),
        users,
    };
    let dismiss = |r: &str| Input::DismissRoom {
        request: 1,
        room_id: rid(r),
    };
    for bad in bad_ids() {
        refused(&h, kick(&bad, vec![uid("bob")]), InvalidRoomId);
        refused(&h, kick("r1", vec![uid("bob"), uid(&bad)]), InvalidUserId);
        refused(&h, dismiss(&bad), InvalidRoomId);
    }
    refused(&h, kick("r1", Vec::new()), InvalidArgument);
    refused(
        &h,
        kick("r1", (0..51).map(|i| uid(&format!("u{i}"))).collect()),
        InvalidArgument,
    );
    refused(&h, kick("r9", vec![uid("bob")]), RoomNotExist);
    refused(&h, dismiss("r9"), RoomNotExist);
}

#[test]
fn time_never_goes_backwards_and_tick_never_fails() {
    let (mut h, _) = base(Config::default());
    let before = snapshot(&h.engine).expect("serializes");
    // A tick at an earlier time is clamped: nothing changes, nothing is said.
    let out = h.step(0, Input::Tick).expect("a tick passes its checks");
    assert!(out.is_empty());
    assert_eq!(snapshot(&h.engine).expect("serializes"), before);
    assert_eq!(Input::Tick.name(), "tick");
}
