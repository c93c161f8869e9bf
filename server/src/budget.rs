//! The memory budget: what every limit lets clients make the server hold in the worst case,
//! line by line, and the check that the total fits `--memory-budget-mib`.
//!
//! Each line is a count the limits allow times the bytes one item can cost at most. The
//! per-item costs are upper bounds read from the data structures and set against
//! measurements (`server/FIGURES.md`): e.g. a room with the most attributes measured 10.55 kB
//! of RSS each, counted here as 12.9 kB. `roomcore-server budget`
//! prints the table for the given flags; `server/README.md` shows it for the defaults.

use crate::config::ServerConfig;
use crate::webhook::{EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES};
use crate::ws::read::READ_CHUNK_BYTES;
use std::fmt::Write as _;

/// HTTP read buffer of a pending socket (hyper's `max_buf_size`): request headers must fit.
pub const HTTP_BUFFER_BYTES: usize = 16 * 1024;

/// A task, its socket and bookkeeping, per connection, besides its buffers.
const CONN_OVERHEAD_BYTES: usize = 4 * 1024;

/// A session in the engine and in the server's routing table, without its rooms.
const SESSION_BYTES: usize = 1024;

/// A room without attributes.
const ROOM_BASE_BYTES: usize = 1024;

/// A membership without member attributes.
const MEMBER_BASE_BYTES: usize = 256;

/// Per stored (member or room) attribute: its two small strings and its map node.
const ATTRIBUTE_NODE_BYTES: usize = 96;

/// A remembered closed session.
const CLOSED_SESSION_BYTES: usize = 128;

/// A session in the replicated session table besides its room grants: holder, resume-token
/// hash, map nodes.
const REPLICATED_SESSION_BYTES: usize = 256;

/// A request id remembered for deduplication (its reply is not kept by this server).
const REMEMBERED_REQUEST_BYTES: usize = 128;

/// Request ids a durable node remembers (the replicated machine's default).
pub const REMEMBERED_REQUESTS: usize = 65_536;

/// The memory budget a durable node starts with unless told otherwise: the replicated log
/// and the snapshots kept in memory need about twice the engine's state beside it.
pub const DURABLE_BUDGET_MIB: usize = 4_096;

/// One line of the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What is counted, and the limit that bounds it.
    pub what: &'static str,
    /// How many at most.
    pub count: usize,
    /// Bytes each at most.
    pub each_bytes: usize,
}

impl Line {
    /// Count times bytes.
    #[must_use]
    pub fn total_bytes(&self) -> usize {
        self.count.saturating_mul(self.each_bytes)
    }
}

/// The whole budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// The lines.
    pub lines: Vec<Line>,
    /// The bound they must fit.
    pub budget_bytes: usize,
}

impl Budget {
    /// The budget of a configuration.
    #[must_use]
    pub fn of(c: &ServerConfig) -> Budget {
        let l = &c.limits;
        let e = &c.engine;
        let u = |v: u32| v as usize;
        let sessions = u(e.max_sessions);
        let room_attrs = ROOM_BASE_BYTES
            + 2 * u(e.attributes_total_max_bytes)
            + ATTRIBUTE_NODE_BYTES * u(e.max_room_attributes);
        let member = MEMBER_BASE_BYTES
            + u(e.member_attributes_total_max_bytes)
            + ATTRIBUTE_NODE_BYTES * u(e.max_member_attributes);
        let lines = vec![
            Line {
                what: "WebSocket connections (--max-connections): read chunk, one message being assembled (--max-frame-bytes), task",
                count: l.max_connections,
                each_bytes: READ_CHUNK_BYTES + l.max_frame_bytes + CONN_OVERHEAD_BYTES,
            },
            Line {
                what: "pending sockets (--max-pending-connections): HTTP buffer, task",
                count: l.max_pending_connections,
                each_bytes: HTTP_BUFFER_BYTES + CONN_OVERHEAD_BYTES,
            },
            Line {
                what: "output frames held for connections and detached sessions (--outbound-total-bytes, plus each one's fair share past it)",
                count: 2,
                each_bytes: l.outbound_total_bytes,
            },
            Line {
                what: "commands waiting for the engine (engine queue), each at most a frame parsed",
                count: l.engine_queue,
                each_bytes: 2 * l.max_frame_bytes,
            },
            Line {
                what: "sessions (engine max_sessions): engine and routing entries, quotas",
                count: sessions,
                each_bytes: SESSION_BYTES,
            },
            Line {
                what: "rooms (engine max_rooms) with the most room attributes",
                count: u(e.max_rooms),
                each_bytes: room_attrs,
            },
            Line {
                what: "memberships (max_sessions x max_rooms_per_session) with the most member attributes",
                count: sessions.saturating_mul(u(e.max_rooms_per_session)),
                each_bytes: member,
            },
            Line {
                what: "closed sessions remembered (engine max_closed_sessions)",
                count: u(e.max_closed_sessions),
                each_bytes: CLOSED_SESSION_BYTES,
            },
        ];
        let mut lines = lines;
        if let Some(d) = &c.durable {
            let engine_state: usize = lines[4..].iter().map(Line::total_bytes).sum();
            lines.extend(durable_lines(c, d, engine_state));
        }
        if let Some(w) = &c.webhook {
            lines.push(Line {
                what: "webhook queue (--webhook-max-queue-bytes, plus --webhook-max-queue events' bookkeeping), and one request body being built and sent",
                count: 1,
                each_bytes: w
                    .max_queue_bytes
                    .saturating_add(w.max_queue_events.saturating_mul(EVENT_OVERHEAD_BYTES))
                    .saturating_add(2 * MAX_BATCH_BYTES),
            });
        }
        Budget {
            lines,
            budget_bytes: l.memory_budget_bytes,
        }
    }

    /// The worst case of all lines together.
    #[must_use]
    pub fn total_bytes(&self) -> usize {
        self.lines
            .iter()
            .fold(0usize, |acc, l| acc.saturating_add(l.total_bytes()))
    }

    /// Whether the total fits.
    ///
    /// # Errors
    /// The total, the budget and the largest lines, when it does not.
    pub fn check(&self) -> Result<(), String> {
        let total = self.total_bytes();
        if total <= self.budget_bytes {
            return Ok(());
        }
        let mut largest = self.lines.clone();
        largest.sort_by_key(|l| std::cmp::Reverse(l.total_bytes()));
        let top: Vec<String> = largest
            .iter()
            .take(3)
            .map(|l| format!("{} MiB for {}", mib(l.total_bytes()), l.what))
            .collect();
        Err(format!(
            "the limits allow {} MiB in the worst case, above --memory-budget-mib {}: lower \
             some of them or raise the budget (largest: {}); `roomcore-server budget` prints \
             every line",
            mib(total),
            mib(self.budget_bytes),
            top.join("; ")
        ))
    }

    /// The budget as a Markdown table.
    #[must_use]
    pub fn table(&self) -> String {
        let mut s = String::from("| what (limit) | at most | bytes each | worst case |\n");
        s.push_str("| --- | ---: | ---: | ---: |\n");
        for l in &self.lines {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} MiB |",
                l.what,
                l.count,
                l.each_bytes,
                mib(l.total_bytes())
            );
        }
        let _ = writeln!(
            s,
            "| **total** (budget {} MiB) | | | **{} MiB** |",
            mib(self.budget_bytes),
            mib(self.total_bytes())
        );
        s
    }
}

/// What a durable node holds besides the engine: its log, its snapshots, the replicated
/// session table and the remembered request ids.
fn durable_lines(
    c: &ServerConfig,
    d: &crate::config::DurableConfig,
    engine_state_bytes: usize,
) -> Vec<Line> {
    vec![
        Line {
            what: "replicated log held in memory (--snapshot-every + --logs-kept-after-snapshot entries), each at most a frame parsed",
            count: d.log_entries_max(),
            each_bytes: 2 * c.limits.max_frame_bytes,
        },
        Line {
            what: "snapshots: the latest kept in memory and one being built or received (the engine state above, as JSON)",
            count: 2,
            each_bytes: engine_state_bytes,
        },
        Line {
            what: "replicated session table (engine max_sessions): holders, resume-token hashes, room grants",
            count: c.engine.max_sessions as usize,
            each_bytes: REPLICATED_SESSION_BYTES + roomcore_raft::sessions::MAX_GRANT_BYTES,
        },
        Line {
            what: "request ids remembered for deduplication, without their replies",
            count: REMEMBERED_REQUESTS,
            each_bytes: REMEMBERED_REQUEST_BYTES,
        },
    ]
}

fn mib(bytes: usize) -> usize {
    bytes.div_ceil(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SigningKey;
    use crate::config::AuthMode;

    fn config() -> ServerConfig {
        let key = SigningKey::new(&[7; 32]).unwrap();
        ServerConfig::new(&"a".repeat(32), AuthMode::Tokens(key))
    }

    #[test]
    fn the_defaults_fit_their_budget() {
        let b = Budget::of(&config());
        assert!(b.check().is_ok(), "{}", b.table());
    }

    #[test]
    fn the_webhook_queue_is_a_line_and_its_defaults_fit() {
        let mut c = config();
        let without = Budget::of(&c).total_bytes();
        c.webhook = Some(crate::webhook::WebhookConfig::new(
            "http://127.0.0.1:1/",
            &"s".repeat(32),
        ));
        let b = Budget::of(&c);
        assert!(b.check().is_ok(), "{}", b.table());
        assert_eq!(
            b.total_bytes() - without,
            (16 << 20) + 50_000 * EVENT_OVERHEAD_BYTES + 2 * MAX_BATCH_BYTES
        );
    }

    #[test]
    fn a_durable_node_counts_its_log_and_snapshots_and_fits_its_own_default() {
        let mut c = config();
        c.durable = Some(crate::config::DurableConfig {
            data_dir: "d".into(),
            node_id: 1,
            peers: std::collections::BTreeMap::new(),
            cluster_secret: None,
            raft: crate::config::RaftSettings::default(),
        });
        let b = Budget::of(&c);
        assert_eq!(b.lines.len(), Budget::of(&config()).lines.len() + 4);
        assert!(b.check().is_err(), "the memory default is too small for it");
        c.limits.memory_budget_bytes = DURABLE_BUDGET_MIB << 20;
        let b = Budget::of(&c);
        assert!(b.check().is_ok(), "{}", b.table());
    }

    #[test]
    fn the_library_room_limit_does_not_fit_and_says_why() {
        let mut c = config();
        c.engine.max_rooms = 1_000_000;
        let e = Budget::of(&c).check().unwrap_err();
        assert!(e.contains("rooms (engine max_rooms)"), "{e}");
        assert!(c.validate().is_err());
    }
}
