//! Room flows: create, enter, join, switch, leave, and member pages.

use super::*;

fn room_config(delay: u64, attributes: BTreeMap<String, String>) -> Option<RoomConfig> {
    Some(RoomConfig {
        destroy_delay_s: delay,
        attributes,
        ..RoomConfig::default()
    })
}

/// Room configs that break a limit: the delay, and each attribute limit.
fn bad_room_configs() -> Vec<Option<RoomConfig>> {
    let many: BTreeMap<String, String> =
        (0..21).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let big: BTreeMap<String, String> = (0..6)
        .map(|i| (format!("k{i}"), "v".repeat(1000)))
        .collect();
    vec![
        room_config(10_801, BTreeMap::new()),
        room_config(u64::MAX, BTreeMap::new()),
        room_config(0, many),
        room_config(0, map(&[(&"k".repeat(17), "v")])),
        room_config(0, map(&[("k", &"v".repeat(1025))])),
        room_config(0, big),
        room_config(0, map(&[("", "v")])),
    ]
}

#[test]
fn create_and_enter() {
    let (h, _) = base(Config::default());
    let s = sid("s1");
    let create = |room: RoomInfo, config| Input::CreateRoom {
        session: s,
        request: 1,
        room,
        config,
    };
    let enter = |room: RoomInfo, config| Input::EnterRoom {
        session: s,
        request: 1,
        room,
        config,
    };
    for make in [
        &create as &dyn Fn(RoomInfo, Option<RoomConfig>) -> Input,
        &enter,
    ] {
        for bad in bad_ids() {
            refused(&h, make(info(&bad, "n"), None), InvalidRoomId);
        }
        refused(&h, make(info("r9", &"n".repeat(65)), None), InvalidRoomName);
        // 33 two-byte characters: 66 bytes, over the 64-byte limit.
        refused(&h, make(info("r9", &"é".repeat(33)), None), InvalidRoomName);
        for config in bad_room_configs() {
            refused(&h, make(info("r9", "n"), config), InvalidConfig);
        }
        refused(&h, make(info("r1", "n"), None), UserAlreadyInRoom);
    }
    refused(&h, create(info("r2", "n"), None), RoomAlreadyExists);
    let (small, _) = base(Config {
        room_id_max_bytes: 2,
        ..Config::default()
    });
    refused(&small, create(info("r99", "n"), None), InvalidRoomId);
    let (limited, _) = base(Config {
        max_rooms_per_session: 1,
        ..Config::default()
    });
    refused(&limited, create(info("r9", "n"), None), JoinedRoomLimit);
    refused(&limited, enter(info("r2", "n"), None), JoinedRoomLimit);
    let (full, _) = base(Config {
        max_rooms: 2,
        ..Config::default()
    });
    refused(&full, create(info("r9", "n"), None), ServerRoomLimit);
    refused(&full, enter(info("r9", "n"), None), ServerRoomLimit);
    let (crowded, _) = base(Config {
        max_members_per_room: 1,
        ..Config::default()
    });
    refused(&crowded, enter(info("r2", "n"), None), RoomFull);
}

#[test]
fn join() {
    let (h, _) = base(Config::default());
    let join = |s: &str, r: &str| Input::JoinRoom {
        session: sid(s),
        request: 1,
        room_id: rid(r),
    };
    for bad in bad_ids() {
        refused(&h, join("s1", &bad), InvalidRoomId);
    }
    refused(&h, join("s1", "r9"), RoomNotExist);
    refused(&h, join("s1", "r1"), UserAlreadyInRoom);
    refused(&h, join("s4", "r2"), RoomConnecting);
    let (crowded, _) = base(Config {
        max_members_per_room: 2,
        ..Config::default()
    });
    refused(&crowded, join("s4", "r1"), RoomFull);
}

#[test]
fn switch() {
    let (h, _) = base(Config::default());
    let switch = |s: &str, from: &str, to: RoomInfo, cim: bool, config| Input::SwitchRoom {
        session: sid(s),
        request: 1,
        from: rid(from),
        to,
        create_if_missing: cim,
        config,
    };
    for bad in bad_ids() {
        refused(
            &h,
            switch("s1", &bad, info("r2", "n"), false, None),
            InvalidRoomId,
        );
        refused(
            &h,
            switch("s1", "r1", info(&bad, "n"), true, None),
            InvalidRoomId,
        );
    }
    refused(
        &h,
        switch("s1", "r1", info("r9", &"n".repeat(65)), true, None),
        InvalidRoomName,
    );
    for config in bad_room_configs() {
        refused(
            &h,
            switch("s1", "r1", info("r9", "n"), true, config),
            InvalidConfig,
        );
    }
    refused(
        &h,
        switch("s1", "r2", info("r9", "n"), true, None),
        UserNotInRoom,
    );
    refused(
        &h,
        switch("s1", "r1", info("r1", "n"), true, None),
        UserAlreadyInRoom,
    );
    refused(
        &h,
        switch("s1", "r1", info("r9", "n"), false, None),
        RoomNotExist,
    );
    refused(
        &h,
        switch("s4", "r2", info("r1", "n"), false, None),
        RoomConnecting,
    );
    let (full, _) = base(Config {
        max_rooms: 2,
        ..Config::default()
    });
    refused(
        &full,
        switch("s1", "r1", info("r9", "n"), true, None),
        ServerRoomLimit,
    );
    let (crowded, _) = base(Config {
        max_members_per_room: 1,
        ..Config::default()
    });
    refused(
        &crowded,
        switch("s1", "r1", info("r2", "n"), false, None),
        RoomFull,
    );
}

#[test]
fn leave_and_leave_all() {
    let (h, _) = base(Config::default());
    let leave = |s: &str, r: &str| Input::LeaveRoom {
        session: sid(s),
        request: 1,
        room_id: rid(r),
    };
    for bad in bad_ids() {
        refused(&h, leave("s1", &bad), InvalidRoomId);
    }
    refused(&h, leave("s1", "r2"), UserNotInRoom);
    refused(&h, leave("s1", "r9"), UserNotInRoom);
    refused(&h, leave("s4", "r2"), RoomConnecting);
    refused(
        &h,
        Input::LeaveAllRooms {
            session: sid("s4"),
            request: 1,
        },
        RoomConnecting,
    );
}

#[test]
fn query_members() {
    let (h, cursor) = base(Config::default());
    let query = |s: &str, r: &str, next: &str, count: u32| Input::QueryMembers {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        next: next.to_owned(),
        count,
    };
    for bad in bad_ids() {
        refused(&h, query("s1", &bad, "", 10), InvalidRoomId);
    }
    for count in [0, 101, u32::MAX] {
        refused(&h, query("s1", "r1", "", count), InvalidArgument);
    }
    for next in [
        "zz",
        "1",
        ".",
        "1.2.3",
        "g.1",
        "-1.1",
        "ffffffffffffffffffff.1",
        " 1.1",
    ] {
        refused(&h, query("s1", "r1", next, 10), InvalidArgument);
    }
    refused(&h, query("s1", "r2", "", 10), UserNotInRoom);
    refused(&h, query("s4", "r2", "", 10), RoomConnecting);
    // r1's cursor, from the query in `base`, is foreign to r2.
    let (h2, _) = base(Config::default());
    let mut h2 = h2;
    h2.step(
        AT,
        Input::JoinRoom {
            session: sid("s1"),
            request: 2,
            room_id: rid("r2"),
        },
    )
    .expect("join");
    let cursor = cursor.expect("two members in r1, a page of one: a cursor");
    refused(&h2, query("s1", "r2", &cursor, 10), InvalidArgument);
}
