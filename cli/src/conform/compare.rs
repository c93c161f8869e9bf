//! One trace through both implementations, and what differs.
//!
//! Cursors: a member query may pass back a cursor an earlier reply returned. roomcore's
//! cursors mean nothing to another implementation, so before such a query the implementation
//! is run on the trace up to it, and its own cursor (from its reply to the same request)
//! takes the place of roomcore's. Queries that pass a cursor roomcore never returned
//! (garbage, a stale one) are fed as written.

use super::case::{Case, Layout, Line, Played};
use super::child::{Impl, RunError};
use roomcore::check::{compare_streams, CheckOptions, Divergence, Observed};
use roomcore::output::{Outcome, Output, ReplyOk};
use roomcore::RequestId;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why the implementation's outputs could not be compared at all.
#[derive(Debug)]
pub enum Broken {
    /// The command failed to run.
    Run(RunError),
    /// It printed a line that is not an output line.
    Garbage {
        line: u64,
        text: String,
        why: String,
    },
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Run(e) => write!(f, "the implementation {e}"),
            Broken::Garbage { line, text, why } => {
                let shown: String = text.chars().take(200).collect();
                write!(
                    f,
                    "the implementation printed a line that is not an output line \
                     (`{{\"at\":N,\"out\":{{...}}}}`): line {line} of its output: {why}: {shown}"
                )
            }
        }
    }
}

impl From<RunError> for Broken {
    fn from(e: RunError) -> Broken {
        Broken::Run(e)
    }
}

/// The result of one comparison.
pub struct Compared {
    /// roomcore's outputs per input.
    pub played: Played,
    /// The first difference per recipient (empty: the implementation conforms on this
    /// trace).
    pub divergences: Vec<Divergence>,
    /// Runs of the implementation it took (more than one when cursors were passed back).
    pub runs: u64,
}

/// Runs `case` through roomcore and through `imp`, and compares, with line numbers as in
/// [`Case::vector`] with `header` note lines.
pub fn compare(
    imp: &Impl,
    case: &Case,
    options: CheckOptions,
    header: usize,
) -> Result<Compared, Broken> {
    let played = case.play();
    let layout = Layout::new(case, &played, header);
    let (stdout, runs) = run_with_own_cursors(imp, case, &played)?;
    let actual = observed(&stdout, case, &layout)?;
    let divergences = compare_streams(&layout.expected, &actual, options);
    Ok(Compared {
        played,
        divergences,
        runs,
    })
}

/// The implementation's output lines, attributed to inputs by time.
fn observed(stdout: &str, case: &Case, layout: &Layout) -> Result<Vec<Observed>, Broken> {
    let mut v = Vec::new();
    for (i, text) in stdout.lines().enumerate() {
        let line = i as u64 + 1;
        if text.trim().is_empty() {
            continue;
        }
        let o = Observed::parse(0, line, text).map_err(|why| Broken::Garbage {
            line,
            text: text.to_owned(),
            why,
        })?;
        let at = o.value.get("at").and_then(Value::as_u64).unwrap_or(0);
        v.push(Observed {
            input_line: layout.input_line_at(case, at),
            ..o
        });
    }
    Ok(v)
}

/// A query that passes back a cursor from the reply to an earlier request.
struct Reuse {
    /// The query's index among the inputs.
    at: usize,
    /// The session and request whose reply returned the cursor.
    session: String,
    request: RequestId,
}

/// The queries of `case` that pass back a cursor one of roomcore's replies returned.
fn reuses(case: &Case, played: &Played) -> Vec<Reuse> {
    let mut returned: BTreeMap<String, (String, RequestId)> = BTreeMap::new();
    let mut found = Vec::new();
    for (i, (line, outs)) in case.inputs.iter().zip(played).enumerate() {
        let next = query_cursor(line);
        if let Some((session, request)) = next.and_then(|n| returned.get(n)) {
            found.push(Reuse {
                at: i,
                session: session.clone(),
                request: *request,
            });
        }
        for o in outs {
            if let Output::Reply {
                session,
                request,
                outcome: Outcome::Ok(ReplyOk::Members { next, .. }),
            } = &o.output
            {
                if !next.is_empty() {
                    returned.insert(next.clone(), (session.to_string(), *request));
                }
            }
        }
    }
    found
}

/// The non-empty cursor a `query_members` input passes.
fn query_cursor(line: &Line) -> Option<&str> {
    (line.input.get("type")? == "query_members")
        .then(|| line.input.get("next")?.as_str())
        .flatten()
        .filter(|n| !n.is_empty())
}

/// Runs the implementation on `case` with its own cursors passed back (see the module docs).
/// Returns its output and how many runs it took.
fn run_with_own_cursors(imp: &Impl, case: &Case, played: &Played) -> Result<(String, u64), Broken> {
    let mut fed = case.clone();
    let mut runs = 0;
    for r in reuses(case, played) {
        let prefix = Case {
            config: fed.config.clone(),
            inputs: fed.inputs[..r.at].to_vec(),
        };
        runs += 1;
        let out = imp.run(&prefix.fed())?;
        // The implementation answered that request without a cursor: it has already
        // diverged there, and roomcore's cursor is fed as written.
        if let Some(own) = own_cursor(&out, &r.session, r.request) {
            if let Some(next) = fed.inputs[r.at].input.get_mut("next") {
                *next = Value::from(own);
            }
        }
    }
    runs += 1;
    Ok((imp.run(&fed.fed())?, runs))
}

/// The last non-empty cursor the implementation's reply to `session`'s `request` returned.
fn own_cursor(stdout: &str, session: &str, request: RequestId) -> Option<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("out").cloned())
        .filter(|o| {
            o.get("type").and_then(Value::as_str) == Some("reply")
                && o.get("session").and_then(Value::as_str) == Some(session)
                && o.get("request").and_then(Value::as_u64) == Some(request)
        })
        .filter_map(|o| o.get("ok")?.get("next")?.as_str().map(str::to_owned))
        .rfind(|n| !n.is_empty())
}
