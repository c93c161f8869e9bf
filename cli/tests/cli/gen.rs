//! `roomcore gen`: one seeded trace from the lockstep test's generator, the same bytes for
//! the same arguments, valid, with the commands of the feature groups asked for.

use crate::run;

fn gen(args: &[&str]) -> String {
    let mut all = vec!["gen"];
    all.extend_from_slice(args);
    let r = run(&all, b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

#[test]
fn the_same_arguments_give_the_same_bytes() {
    let a = gen(&[
        "--seed",
        "42",
        "--steps",
        "80",
        "--features",
        "core,net,attrs",
    ]);
    assert_eq!(
        a,
        gen(&["--seed", "42", "--steps", "80", "--features", "attrs,net"])
    );
    assert_ne!(a, gen(&["--seed", "43", "--steps", "80"]));
    assert!(a.starts_with(
        "{\"note\":\"roomcore gen --seed 42 --steps 80 --features core,net,attrs\"}\n"
    ));
    assert_eq!(a.lines().filter(|l| l.contains("\"in\":")).count(), 80);
}

#[test]
fn a_generated_trace_replays_and_records_into_a_vector_that_checks() {
    for seed in ["1", "2", "3"] {
        let t = gen(&["--seed", seed, "--steps", "200"]);
        let replayed = run(&["replay", "-"], t.as_bytes());
        assert_eq!(replayed.code, 0, "{}", replayed.stderr);
        let recorded = run(&["record", "-"], t.as_bytes());
        assert_eq!(recorded.code, 0, "{}", recorded.stderr);
        let path = crate::temp_file(recorded.stdout.as_bytes());
        let checked = run(&["check", "--strict", &path.to_string_lossy()], b"");
        let _ = std::fs::remove_file(path);
        assert_eq!(checked.code, 0, "{}", checked.stdout);
    }
}

/// Input types over 20 traces of `features`.
fn types(features: &str) -> Vec<String> {
    let mut all = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let t = gen(&["--seed", &seed.to_string(), "--features", features]);
        for l in t.lines().filter(|l| l.contains("\"in\":")) {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            all.insert(v["in"]["type"].as_str().expect("a type").to_owned());
        }
    }
    all.into_iter().collect()
}

#[test]
fn feature_groups_choose_the_commands() {
    let core = types("core");
    for t in [
        "login",
        "create_room",
        "switch_room",
        "query_members",
        "remove_users",
        "tick",
    ] {
        assert!(
            core.iter().any(|x| x == t),
            "{t} missing from core: {core:?}"
        );
    }
    for t in ["link_lost", "set_room_attributes", "send_room_message"] {
        assert!(!core.iter().any(|x| x == t), "{t} in core: {core:?}");
    }
    let net = types("net");
    assert!(net.iter().any(|x| x == "link_restored"), "{net:?}");
    assert!(
        !net.iter().any(|x| x == "set_room_members_attributes"),
        "{net:?}"
    );
    let attrs = types("attrs");
    assert!(
        attrs.iter().any(|x| x == "set_room_members_attributes"),
        "{attrs:?}"
    );
    let service = types("service");
    for t in ["move_users", "ban_users", "admin_create_room", "list_rooms"] {
        assert!(service.iter().any(|x| x == t), "{t} missing: {service:?}");
    }
    assert!(!core.iter().any(|x| x == "ban_users"), "{core:?}");
    assert!(!attrs.iter().any(|x| x == "link_lost"), "{attrs:?}");
}

#[test]
fn unknown_groups_are_refused() {
    let r = run(&["gen", "--features", "kitchen-sink"], b"");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown feature group `kitchen-sink`"),
        "{}",
        r.stderr
    );
    let r = run(&["gen", "--steps", "1000001"], b"");
    assert_eq!(r.code, 2);
}
