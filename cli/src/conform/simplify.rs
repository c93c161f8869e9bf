//! The simplifications the shrinker tries, as pure functions from a case to smaller or
//! plainer candidates: fewer inputs, default config fields, no room configs, ids renamed
//! in order of appearance, requests numbered in order, shorter waits.

use super::case::{Case, Line};
use roomcore::config::Config;
use roomcore::ids::InlineId;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `case` without the inputs in `from..to`.
pub fn without(case: &Case, from: usize, to: usize) -> Case {
    let mut c = case.clone();
    c.inputs.drain(from..to.min(c.inputs.len()));
    c
}

/// One candidate per config field that differs from the default: that field reset.
pub fn config_resets(case: &Case) -> Vec<Case> {
    let (Ok(Value::Object(ours)), Ok(Value::Object(default))) = (
        serde_json::to_value(&case.config),
        serde_json::to_value(Config::default()),
    ) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for (k, def) in &default {
        if ours.get(k) == Some(def) {
            continue;
        }
        let mut fields = ours.clone();
        fields.insert(k.clone(), def.clone());
        let config: Option<Config> = serde_json::from_value(Value::Object(fields)).ok();
        if let Some(config) = config.filter(|c| c.validate().is_ok()) {
            v.push(Case {
                config,
                inputs: case.inputs.clone(),
            });
        }
    }
    v
}

/// One candidate per input that carries a room `config`: without it.
pub fn room_config_drops(case: &Case) -> Vec<Case> {
    let mut v = Vec::new();
    for (i, l) in case.inputs.iter().enumerate() {
        if l.input.get("config").is_some() {
            let mut c = case.clone();
            if let Some(o) = c.inputs[i].input.as_object_mut() {
                o.remove("config");
            }
            v.push(c);
        }
    }
    v
}

/// `case` with inputs `i..` moved so input `i` comes `gap` ms after input `i - 1` (after
/// time 0 for the first input).
pub fn with_gap(case: &Case, i: usize, gap: u64) -> Case {
    let mut c = case.clone();
    let before = i.checked_sub(1).map_or(0, |p| c.inputs[p].at);
    let Some(old) = c.inputs.get(i).map(|l| l.at) else {
        return c;
    };
    let new = before + gap;
    for l in &mut c.inputs[i..] {
        // Later inputs keep their distance to input `i` (times never decrease).
        l.at = l.at - old + new;
    }
    c
}

/// `case` with request numbers 1, 2, 3... in input order; `None` if they already are.
pub fn renumbered_requests(case: &Case) -> Option<Case> {
    let mut c = case.clone();
    let mut n = 0u64;
    for l in &mut c.inputs {
        if let Some(r) = l.input.get_mut("request") {
            n += 1;
            *r = Value::from(n);
        }
    }
    (c != *case).then_some(c)
}

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Session,
    User,
    Room,
}

/// The role of the id strings under `key` of an input (a string, a list of strings, or a
/// room object's `id`).
fn role(key: &str) -> Option<Role> {
    match key {
        "session" => Some(Role::Session),
        "user" | "users" | "user_ids" => Some(Role::User),
        "room_id" | "from" | "room" | "to" => Some(Role::Room),
        _ => None,
    }
}

const USERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// The `n`-th (from 0) simple name for `role`.
fn simple_name(role: Role, n: usize) -> String {
    match role {
        Role::Session => format!("s{}", n + 1),
        Role::Room => format!("r{}", n + 1),
        Role::User => USERS
            .get(n)
            .map_or_else(|| format!("u{}", n + 1), |u| (*u).to_owned()),
    }
}

/// `case` with every valid session, user and room id renamed in order of first appearance
/// (`s1`, `s2`...; `alice`, `bob`...; `r1`, `r2`...); invalid ids are kept as they are.
/// `None` if nothing changes.
pub fn renamed_ids(case: &Case) -> Option<Case> {
    let mut seen: BTreeMap<Role, Vec<String>> = BTreeMap::new();
    for l in &case.inputs {
        visit(&l.input, &mut |role, id| {
            let ids = seen.entry(role).or_default();
            if !ids.iter().any(|x| x == id) {
                ids.push(id.to_owned());
            }
        });
    }
    let max_bytes = |role: Role| match role {
        Role::Session => 32,
        Role::User => case.config.user_id_max_bytes as usize,
        Role::Room => case.config.room_id_max_bytes as usize,
    };
    let mut names: BTreeMap<(Role, String), String> = BTreeMap::new();
    for (role, ids) in &seen {
        let valid = |id: &str| InlineId::new(id).is_valid(max_bytes(*role));
        let kept: BTreeSet<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|i| !valid(i))
            .collect();
        let mut n = 0;
        for id in ids.iter().filter(|i| valid(i)) {
            let name = loop {
                let name = simple_name(*role, n);
                n += 1;
                if !kept.contains(name.as_str()) {
                    break name;
                }
            };
            if !valid(&name) {
                return None;
            }
            names.insert((*role, id.clone()), name);
        }
    }
    let mut c = case.clone();
    for l in &mut c.inputs {
        rename(&mut l.input, &names);
    }
    (c != *case).then_some(c)
}

/// Calls `f` on every id of an input object.
fn visit(input: &Value, f: &mut dyn FnMut(Role, &str)) {
    let Some(o) = input.as_object() else { return };
    for (k, v) in o {
        let Some(role) = role(k) else { continue };
        match v {
            Value::String(s) => f(role, s),
            Value::Array(a) => a.iter().filter_map(Value::as_str).for_each(|s| f(role, s)),
            Value::Object(room) => {
                if let Some(s) = room.get("id").and_then(Value::as_str) {
                    f(role, s);
                }
            }
            _ => {}
        }
    }
}

/// Renames the ids of an input object (and a room name that spells its id, `Room <id>`).
fn rename(input: &mut Value, names: &BTreeMap<(Role, String), String>) {
    let Some(o) = input.as_object_mut() else {
        return;
    };
    let swap = |role: Role, s: &mut String| {
        if let Some(n) = names.get(&(role, s.clone())) {
            *s = n.clone();
        }
    };
    for (k, v) in o.iter_mut() {
        let Some(role) = role(k) else { continue };
        match v {
            Value::String(s) => swap(role, s),
            Value::Array(a) => a.iter_mut().for_each(|x| {
                if let Value::String(s) = x {
                    swap(role, s);
                }
            }),
            Value::Object(room) => rename_room(room, role, names),
            _ => {}
        }
    }
}

fn rename_room(
    room: &mut serde_json::Map<String, Value>,
    role: Role,
    names: &BTreeMap<(Role, String), String>,
) {
    let Some(id) = room.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    let Some(new) = names.get(&(role, id.clone())) else {
        return;
    };
    if room.get("name").and_then(Value::as_str) == Some(format!("Room {id}").as_str()) {
        room.insert("name".to_owned(), Value::from(format!("Room {new}")));
    }
    room.insert("id".to_owned(), Value::from(new.clone()));
}

/// Whether every input of `case` reads as an input (a candidate that broke one is skipped).
pub fn readable(case: &Case) -> bool {
    case.inputs.iter().all(|l: &Line| l.parsed().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(lines: &[&str]) -> Case {
        Case::parse(&lines.join("\n")).expect("valid trace")
    }

    #[test]
    fn ids_are_renamed_in_order_of_appearance_and_invalid_ones_kept() {
        let c = case(&[
            r#"{"at":0,"in":{"type":"login","session":"s3","request":7,"user":"carol"}}"#,
            r#"{"at":0,"in":{"type":"login","session":"bad session","request":8,"user":"bob"}}"#,
            r#"{"at":5,"in":{"type":"enter_room","session":"s3","request":9,"room":{"id":"r2","name":"Room r2"}}}"#,
            r#"{"at":5,"in":{"type":"remove_users","request":10,"room_id":"r2","users":["bob","carol"]}}"#,
        ]);
        let r = renamed_ids(&c).expect("renamed");
        let r = renumbered_requests(&r).expect("renumbered");
        let fed = r.fed();
        assert_eq!(
            fed,
            "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s1\",\"request\":1,\"user\":\"alice\"}}\n\
             {\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"bad session\",\"request\":2,\"user\":\"bob\"}}\n\
             {\"at\":5,\"in\":{\"type\":\"enter_room\",\"session\":\"s1\",\"request\":3,\"room\":{\"id\":\"r1\",\"name\":\"Room r1\"}}}\n\
             {\"at\":5,\"in\":{\"type\":\"remove_users\",\"request\":4,\"room_id\":\"r1\",\"users\":[\"bob\",\"alice\"]}}\n"
        );
        assert_eq!(renamed_ids(&r), None, "already simple");
    }

    #[test]
    fn an_overlong_id_is_fed_as_written() {
        let long = "r".repeat(40);
        let line = format!(
            r#"{{"at":0,"in":{{"type":"join_room","session":"s1","request":1,"room_id":"{long}"}}}}"#
        );
        let c = case(&[&line]);
        // Not in roomcore's form (which would write the id's first 32 bytes), but whole.
        assert!(
            c.fed().contains(&format!("\"room_id\":\"{long}\"")),
            "{}",
            c.fed()
        );
        assert_eq!(
            renamed_ids(&c),
            None,
            "s1 is simple already, the overlong room kept"
        );
    }

    #[test]
    fn gaps_move_later_inputs_along() {
        let c = case(&[
            r#"{"at":100,"in":{"type":"tick"}}"#,
            r#"{"at":1100,"in":{"type":"tick"}}"#,
            r#"{"at":1300,"in":{"type":"tick"}}"#,
        ]);
        let at = |c: &Case| c.inputs.iter().map(|l| l.at).collect::<Vec<_>>();
        assert_eq!(at(&with_gap(&c, 0, 0)), [0, 1000, 1200]);
        assert_eq!(at(&with_gap(&c, 1, 1)), [100, 101, 301]);
        assert_eq!(at(&without(&c, 1, 2)), [100, 1300]);
    }

    #[test]
    fn config_fields_reset_one_at_a_time() {
        let c = case(&[
            r#"{"config":{"max_rooms":2,"max_sessions":3}}"#,
            r#"{"at":0,"in":{"type":"tick"}}"#,
        ]);
        let resets = config_resets(&c);
        assert_eq!(resets.len(), 2);
        assert!(resets
            .iter()
            .all(|r| r.config != c.config && r.inputs == c.inputs));
    }
}
