//! Shrinking a diverging trace: delta debugging over its inputs (drop chunks of inputs,
//! halving the chunk size until single inputs), then simplifications (config fields back to
//! their defaults, room configs dropped, ids renamed in order, requests numbered in order,
//! waits shortened), then one more pass of drops. A candidate is kept only if the
//! implementation still diverges from roomcore the same way (see [`Signature`]).

use super::case::Case;
use super::child::Impl;
use super::compare::compare;
use super::simplify::{
    config_resets, readable, renamed_ids, renumbered_requests, room_config_drops, with_gap, without,
};
use roomcore::check::{CheckOptions, Divergence};
use serde_json::Value;
use std::collections::BTreeSet;

/// What kind of difference a divergence is, without the ids, times and values that
/// shrinking changes: the output expected and what came instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// Both sides have an output of this type there; these top-level fields differ.
    Differs {
        kind: String,
        fields: BTreeSet<String>,
    },
    /// roomcore has an output of this type there; the implementation has none, or one of
    /// another type.
    Missing { kind: String },
    /// The implementation has an output of this type where roomcore has none.
    Extra { kind: String },
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signature::Differs { kind, fields } => {
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                write!(f, "`{kind}` differs in {}", fields.join(", "))
            }
            Signature::Missing { kind } => write!(f, "`{kind}` missing"),
            Signature::Extra { kind } => write!(f, "extra `{kind}`"),
        }
    }
}

/// The `out.type` of an output line.
fn kind(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("out")?.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The signature of a divergence.
#[must_use]
pub fn signature(d: &Divergence) -> Signature {
    let expected = d.expected.as_ref().map(|e| kind(&e.1));
    let actual = d.actual.as_deref().map(kind);
    match (expected, actual) {
        (Some(e), Some(a)) if e == a => Signature::Differs {
            kind: e,
            fields: d.differences.iter().map(|p| top_field(p)).collect(),
        },
        (Some(e), _) => Signature::Missing { kind: e },
        (None, a) => Signature::Extra {
            kind: a.unwrap_or_default(),
        },
    }
}

/// `ok` of `out.ok.next: expected ..`, `at` of `at: expected ..`.
fn top_field(path: &str) -> String {
    let path = path.split(':').next().unwrap_or("");
    let path = path.strip_prefix("out.").unwrap_or(path);
    path.split(['.', '[']).next().unwrap_or("").to_owned()
}

/// The shrinker's state: what it looks for, and what it has spent.
pub struct Shrinker<'a> {
    imp: &'a Impl,
    options: CheckOptions,
    target: Signature,
    /// Most candidates tried.
    budget: u64,
    /// Candidates tried.
    pub tries: u64,
    /// Runs of the implementation.
    pub runs: u64,
}

impl<'a> Shrinker<'a> {
    pub fn new(imp: &'a Impl, options: CheckOptions, target: Signature, budget: u64) -> Self {
        Shrinker {
            imp,
            options,
            target,
            budget,
            tries: 0,
            runs: 0,
        }
    }

    /// Whether the implementation still diverges the same way on `case`. A run that fails
    /// (crash, hang, garbage) counts as not reproducing: it is another problem.
    fn reproduces(&mut self, case: &Case) -> bool {
        if self.tries >= self.budget || !readable(case) {
            return false;
        }
        self.tries += 1;
        match compare(self.imp, case, self.options, 0) {
            Ok(c) => {
                self.runs += c.runs;
                c.divergences.iter().any(|d| signature(d) == self.target)
            }
            Err(_) => {
                self.runs += 1;
                false
            }
        }
    }

    /// A smaller case that still diverges the same way.
    pub fn shrink(&mut self, case: Case) -> Case {
        let mut c = self.drop_inputs(case);
        for candidates in [config_resets, room_config_drops] {
            c = self.each(c, candidates);
        }
        for simpler in [renamed_ids, renumbered_requests] {
            if let Some(s) = simpler(&c).filter(|s| self.reproduces(s)) {
                c = s;
            }
        }
        c = self.shorten_waits(c);
        self.drop_inputs(c)
    }

    /// Delta debugging over the inputs: remove chunks of `len / n` inputs while the
    /// divergence stays, doubling `n` when no chunk can go, down to single inputs.
    fn drop_inputs(&mut self, mut c: Case) -> Case {
        let mut n = 2;
        while c.inputs.len() >= 2 {
            let len = c.inputs.len();
            let chunk = len.div_ceil(n);
            let mut removed = false;
            for from in (0..len).step_by(chunk) {
                let candidate = without(&c, from, from + chunk);
                if self.reproduces(&candidate) {
                    c = candidate;
                    n = (n - 1).max(2);
                    removed = true;
                    eprintln!(
                        "conform: shrinking: {} inputs left ({} tries)",
                        c.inputs.len(),
                        self.tries
                    );
                    break;
                }
            }
            if !removed {
                if n >= len {
                    break;
                }
                n = (n * 2).min(len);
            }
        }
        if c.inputs.len() == 1 {
            let none = without(&c, 0, 1);
            if self.reproduces(&none) {
                c = none;
            }
        }
        c
    }

    /// Keeps every candidate of `make` that still reproduces, one after the other.
    fn each(&mut self, mut c: Case, make: fn(&Case) -> Vec<Case>) -> Case {
        let mut i = 0;
        loop {
            let candidates = make(&c);
            let Some(candidate) = candidates.into_iter().nth(i) else {
                return c;
            };
            if self.reproduces(&candidate) {
                // The kept change is gone from the next round's list: same index again.
                c = candidate;
            } else {
                i += 1;
            }
        }
    }

    /// Each gap between inputs as short as it can be: zero if that reproduces, else the
    /// shortest found by bisection (which may cross a deadline exactly).
    fn shorten_waits(&mut self, mut c: Case) -> Case {
        for i in 0..c.inputs.len() {
            let before = i.checked_sub(1).map_or(0, |p| c.inputs[p].at);
            let gap = c.inputs[i].at - before;
            if gap == 0 {
                continue;
            }
            if self.reproduces(&with_gap(&c, i, 0)) {
                c = with_gap(&c, i, 0);
                continue;
            }
            let (mut lo, mut hi) = (1, gap);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.reproduces(&with_gap(&c, i, mid)) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            if hi != gap {
                c = with_gap(&c, i, hi);
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomcore::output::Recipient;

    fn div(expected: Option<&str>, actual: Option<&str>, differences: &[&str]) -> Divergence {
        Divergence {
            recipient: Recipient::Service,
            input_line: 1,
            expected: expected.map(|e| (2, e.to_owned())),
            actual: actual.map(str::to_owned),
            differences: differences.iter().map(|d| (*d).to_owned()).collect(),
            missing: 1,
            extra: 1,
        }
    }

    #[test]
    fn signatures_keep_the_kind_and_the_fields_not_the_values() {
        let reply = r#"{"at":0,"out":{"type":"reply","session":"s1","request":1,"ok":{}}}"#;
        let state = r#"{"at":0,"out":{"type":"room_state_changed","session":"s1","room_id":"r1","state":"connected","event":"success"}}"#;
        let d = div(
            Some(reply),
            Some(reply),
            &[
                "out.ok.next: expected 1, actual 2",
                "at: expected 0, actual 5",
            ],
        );
        assert_eq!(signature(&d).to_string(), "`reply` differs in at, ok");
        assert_eq!(
            signature(&div(Some(reply), Some(state), &[])).to_string(),
            "`reply` missing"
        );
        assert_eq!(
            signature(&div(Some(reply), None, &[])).to_string(),
            "`reply` missing"
        );
        assert_eq!(
            signature(&div(None, Some(state), &[])).to_string(),
            "extra `room_state_changed`"
        );
    }
}
