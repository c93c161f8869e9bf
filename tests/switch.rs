//! Switch room: every row of ZIM's switch table and every branch of its flowchart.
mod common;
use common::*;

fn two_rooms() -> T {
    let mut t = T::new();
    let i = t.r.login("s1", "alice");
    t.at(0, i);
    let i = t.r.login("s2", "bob");
    t.at(0, i);
    let i = t.r.login("s3", "carol");
    t.at(0, i);
    let i = t.r.create("s1", "r1", delay_s(90));
    t.at(10, i);
    let i = t.r.join("s2", "r1");
    t.at(20, i);
    let i = t.r.create("s3", "r2", None);
    t.at(30, i);
    t
}

#[test]
fn switch_to_existing_room_connects_target_before_leaving_source() {
    let mut t = two_rooms();
    let i = t.r.switch("s1", "r1", "r2", false, None);
    let outs = t.at(100, i);
    assert_eq!(
        states(&outs),
        [
            "s1 r2 Connecting/ActiveSwitch",
            "s1 r2 Connected/Success",
            "s1 r1 Disconnected/Success"
        ]
    );
    assert!(error_of(&outs).is_none());
    pin!("switch_existing", t);
}
