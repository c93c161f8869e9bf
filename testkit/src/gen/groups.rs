//! Feature groups: which commands of the alphabet a generated trace may use.
//!
//! A group is one [`Group`] variant, its name, and its commands (the match in
//! `steer::Steer::transitions`). The lockstep test uses every group; `roomcore gen` and
//! `roomcore conform` take a list, so an implementation that has only part of the behaviour
//! can be tested on that part.

use std::fmt;

/// A subset of the command alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Time passing, login and logout, the room flows (create, join, enter, switch, leave,
    /// leave all, member paging) and the admin kick and dismiss. Always on: nothing else
    /// happens without sessions and rooms.
    Core,
    /// Links lost and restored, and the multi-device policy in the config (without this
    /// group every trace keeps the default single-device policy).
    Net,
    /// Room attributes, member attributes and room messages.
    Attrs,
    /// The embedding service's surface: service events and the `reject_new` device policy
    /// and `clients_create_rooms` in the config; the member queries; rooms the service
    /// creates, lists and reads; its attributes; moves, bans and unbans.
    Service,
}

impl Group {
    /// Every group of this build, in the order they are listed.
    pub const ALL: &'static [Group] = &[Group::Core, Group::Net, Group::Attrs, Group::Service];

    /// The group's name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Group::Core => "core",
            Group::Net => "net",
            Group::Attrs => "attrs",
            Group::Service => "service",
        }
    }

    /// The group named `name`.
    ///
    /// # Errors
    /// An unknown name.
    pub fn parse(name: &str) -> Result<Group, String> {
        let name = name.trim();
        if let Some(g) = Group::ALL.iter().find(|g| g.name() == name) {
            return Ok(*g);
        }
        let known = Group::ALL
            .iter()
            .map(|g| g.name())
            .collect::<Vec<_>>()
            .join(", ");
        Err(format!(
            "unknown feature group `{name}` (supported: {known})"
        ))
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of groups; [`Group::Core`] is always in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Groups(Vec<Group>);

impl Groups {
    /// Every group: what the lockstep test generates.
    #[must_use]
    pub fn all() -> Groups {
        Groups(Group::ALL.to_vec())
    }

    /// The groups named in a comma-separated list (`core,net,attrs`), plus `core`.
    ///
    /// # Errors
    /// The first name that is not a group of this build.
    pub fn parse(list: &str) -> Result<Groups, String> {
        let mut v = vec![Group::Core];
        for name in list.split(',').filter(|n| !n.trim().is_empty()) {
            v.push(Group::parse(name)?);
        }
        v.sort();
        v.dedup();
        Ok(Groups(v))
    }

    /// Whether `g` is in the set.
    #[must_use]
    pub fn has(&self, g: Group) -> bool {
        self.0.contains(&g)
    }

    /// The groups, in [`Group::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Group> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Groups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Group::name).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_is_always_in() {
        assert_eq!(Groups::parse("").expect("empty list").to_string(), "core");
        assert_eq!(
            Groups::parse("attrs, net,attrs")
                .expect("known")
                .to_string(),
            "core,net,attrs"
        );
        assert_eq!(Groups::parse("core,net,attrs,service"), Ok(Groups::all()));
    }

    #[test]
    fn unknown_groups_are_refused_by_name() {
        let e = Groups::parse("core,telepathy").expect_err("unknown");
        assert!(e.contains("unknown feature group `telepathy`"), "{e}");
        assert!(e.contains("core, net, attrs, service"), "{e}");
    }
}
