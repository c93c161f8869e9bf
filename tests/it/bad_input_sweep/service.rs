//! The service surface: the member queries, and every admin command made invalid in every way
//! its fields allow; each answers its typed error and changes nothing.

use super::*;

/// Every admin command, once, valid apart from what each case changes: a new one fails the
/// coverage check until the sweep covers it.
fn admin_kinds() -> std::collections::BTreeSet<InputKind> {
    InputKind::ALL
        .into_iter()
        .filter(|k| k.origin() == Origin::Admin)
        .collect()
}

#[test]
fn member_queries() {
    let (h, _) = base(Config::default());
    for bad in bad_ids() {
        for input in [
            Input::QueryRoomAttributes {
                session: sid("s1"),
                request: 1,
                room_id: rid(&bad),
            },
            Input::QueryRoomOnlineCount {
                session: sid("s1"),
                request: 1,
                room_id: rid(&bad),
            },
        ] {
            refused(&h, input, InvalidRoomId);
        }
    }
    // Not a member (s3 is closed, s4 reconnects to r2).
    let q = |s: &str, r: &str| Input::QueryRoomOnlineCount {
        session: sid(s),
        request: 1,
        room_id: rid(r),
    };
    refused(&h, q("s1", "r2"), UserNotInRoom);
    refused(&h, q("s1", "r9"), UserNotInRoom);
    refused(&h, q("s4", "r2"), RoomConnecting);
    refused(&h, q("s3", "r1"), SessionClosed);
}

#[test]
fn admin_create_list_and_query() {
    let (h, _) = base(Config {
        max_rooms: 2,
        ..Config::default()
    });
    let create = |r: &str, name: &str, config: Option<RoomConfig>| Input::AdminCreateRoom {
        request: 1,
        room: info(r, name),
        config,
    };
    let timeout = |s: u64| {
        Some(RoomConfig {
            empty_timeout_s: Some(s),
            ..RoomConfig::default()
        })
    };
    for bad in bad_ids() {
        refused(&h, create(&bad, "", None), InvalidRoomId);
        refused(
            &h,
            Input::QueryRoom {
                request: 1,
                room_id: rid(&bad),
            },
            InvalidRoomId,
        );
    }
    refused(&h, create("r9", &"n".repeat(65), None), InvalidRoomName);
    refused(&h, create("r9", "", timeout(86_401)), InvalidConfig);
    refused(
        &h,
        create(
            "r9",
            "",
            Some(RoomConfig {
                max_members: 100_001,
                ..RoomConfig::default()
            }),
        ),
        InvalidConfig,
    );
    refused(&h, create("r1", "", None), RoomAlreadyExists);
    // r1 and r2 exist: the server's room limit of 2 is reached.
    refused(&h, create("r9", "", None), ServerRoomLimit);
    let list = |next: &str, count: u32| Input::ListRooms {
        request: 1,
        next: next.to_owned(),
        count,
    };
    refused(&h, list("", 0), InvalidArgument);
    refused(&h, list("", 101), InvalidArgument);
    refused(&h, list("nonsense", 10), InvalidArgument);
    // A member page cursor is not a room list cursor.
    refused(&h, list("1.1", 10), InvalidArgument);
    refused(&h, list("L", 10), InvalidArgument);
    refused(
        &h,
        Input::QueryRoom {
            request: 1,
            room_id: rid("r9"),
        },
        RoomNotExist,
    );
}

#[test]
fn admin_attributes() {
    let (h, _) = base(Config::default());
    let set = |r: &str, set: BTreeMap<String, String>, delete: Vec<String>| {
        Input::AdminSetRoomAttributes {
            request: 1,
            room_id: rid(r),
            set,
            delete,
        }
    };
    for bad in bad_ids() {
        refused(&h, set(&bad, map(&[("a", "1")]), vec![]), InvalidRoomId);
    }
    refused(&h, set("r1", map(&[]), vec![]), InvalidArgument);
    refused(&h, set("r1", map(&[("", "1")]), vec![]), InvalidArgument);
    refused(
        &h,
        set("r1", map(&[]), vec![String::new()]),
        InvalidArgument,
    );
    refused(
        &h,
        set("r1", map(&[("a", "1")]), vec!["a".into()]),
        InvalidArgument,
    );
    refused(&h, set("r9", map(&[("a", "1")]), vec![]), RoomNotExist);
    refused(
        &h,
        set("r1", map(&[(&"k".repeat(17), "1")]), vec![]),
        AttributeLimit,
    );
    refused(
        &h,
        set("r1", map(&[("a", &"v".repeat(1025))]), vec![]),
        AttributeLimit,
    );
    let many: Vec<(String, String)> = (0..20).map(|i| (format!("k{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // r1 already has `k`: 20 more keys pass the limit of 20.
    refused(&h, set("r1", map(&many), vec![]), AttributeLimit);
}

#[test]
fn moves_bans_and_unbans() {
    let (h, _) = base(Config::default());
    let mv = |from: &str, to: &str, users: Vec<UserId>, create: bool| Input::MoveUsers {
        request: 1,
        from: rid(from),
        to: info(to, ""),
        users,
        create_if_missing: create,
        config: None,
    };
    let ban = |r: &str, users: Vec<UserId>, duration_s: u64| Input::BanUsers {
        request: 1,
        room_id: rid(r),
        users,
        duration_s,
    };
    let unban = |r: &str, users: Vec<UserId>| Input::UnbanUsers {
        request: 1,
        room_id: rid(r),
        users,
    };
    let bob = || vec![uid("bob")];
    for bad in bad_ids() {
        refused(&h, mv(&bad, "r3", bob(), true), InvalidRoomId);
        refused(&h, mv("r1", &bad, bob(), true), InvalidRoomId);
        refused(&h, mv("r1", "r3", vec![uid(&bad)], true), InvalidUserId);
        refused(&h, ban(&bad, bob(), 60), InvalidRoomId);
        refused(&h, ban("r1", vec![uid(&bad)], 60), InvalidUserId);
        refused(&h, unban(&bad, bob()), InvalidRoomId);
        refused(&h, unban("r1", vec![uid(&bad)]), InvalidUserId);
    }
    let too_many: Vec<UserId> = (0..51).map(|i| uid(&format!("u{i}"))).collect();
    refused(&h, mv("r1", "r3", Vec::new(), true), InvalidArgument);
    refused(&h, mv("r1", "r3", too_many.clone(), true), InvalidArgument);
    refused(&h, mv("r1", "r1", bob(), true), InvalidArgument);
    refused(&h, mv("r9", "r3", bob(), true), RoomNotExist);
    refused(&h, mv("r1", "r3", bob(), false), RoomNotExist);
    refused(&h, ban("r1", Vec::new(), 60), InvalidArgument);
    refused(&h, ban("r1", too_many.clone(), 60), InvalidArgument);
    refused(&h, ban("r1", bob(), 0), InvalidArgument);
    refused(&h, ban("r1", bob(), 604_801), InvalidArgument);
    refused(&h, unban("r1", Vec::new()), InvalidArgument);
    refused(&h, unban("r1", too_many), InvalidArgument);
    let (h, _) = base(Config {
        max_bans: 1,
        ..Config::default()
    });
    refused(&h, ban("r1", vec![uid("bob"), uid("carol")], 60), BanLimit);
}

#[test]
fn every_admin_command_is_swept() {
    // The admin commands the sweeps above and `data::admin_commands` exercise.
    let swept: std::collections::BTreeSet<InputKind> = [
        InputKind::RemoveUsers,
        InputKind::DismissRoom,
        InputKind::AdminCreateRoom,
        InputKind::ListRooms,
        InputKind::QueryRoom,
        InputKind::AdminSetRoomAttributes,
        InputKind::MoveUsers,
        InputKind::BanUsers,
        InputKind::UnbanUsers,
    ]
    .into();
    assert_eq!(swept, admin_kinds());
}
