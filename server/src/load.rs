//! The load client: many WebSocket clients, each logged in as its own user, churning
//! enters, leaves and switches across a fixed set of rooms, one command at a time (closed
//! loop: a client sends its next command when the reply to the last one is in). Latency is
//! measured per command from sending it to reading its reply, through every member event
//! the server sends before it.
//!
//! Bounded in count and time: at most [`MAX_CLIENTS`] clients for at most
//! [`MAX_DURATION`], and every wait has a timeout.
//!
//! Against a replicated group, `url` lists every node (comma-separated): client `i` starts
//! on node `i mod n`, and when its node goes away it resumes its session on the next node
//! that takes it, then leaves all its rooms (the command it was waiting for may or may not
//! have been applied) and churns on. The command that spanned the failover counts with its
//! whole wait.

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Most clients one run may open.
pub const MAX_CLIENTS: usize = 10_000;
/// Longest churn phase one run may last.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Read buffer of each client's WebSocket (tungstenite zero-fills it before every read).
const READ_BUFFER_BYTES: usize = 4096;
/// Longest wait for any single reply before the client gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server's session endpoint, e.g. `ws://127.0.0.1:8080/ws`; for a group, every
    /// node's, comma-separated.
    pub url: String,
    /// Concurrent clients.
    pub clients: usize,
    /// How long they churn.
    pub duration: Duration,
    /// Rooms they churn over (`load-0` ...).
    pub rooms: u32,
    /// Seed of each client's choices (client `i` uses `seed + i`).
    pub seed: u64,
    /// Prefix of session and user ids, so runs against one server do not collide.
    pub prefix: String,
    /// Connections opened at once while setting up.
    pub connect_parallelism: usize,
    /// Pause of each client between a reply and its next command; zero makes every client a
    /// closed loop at full speed (the run then measures saturation: latency is queueing).
    pub think: Duration,
    /// Commands each client sends at least, however long they take (then it goes on until
    /// the end of `duration`): a run's work does not depend on the machine's speed.
    pub min_commands: u64,
    /// The key to sign each client's access token with; without it clients log in without a
    /// token (a server started with `--insecure-dev`).
    pub signing_key: Option<crate::auth::SigningKey>,
}

/// What a run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// Clients asked for.
    pub clients: usize,
    /// Clients that connected and logged in.
    pub logged_in: usize,
    /// Room commands answered during the churn phase.
    pub commands: u64,
    /// Of those, answered with an engine error.
    pub engine_errors: u64,
    /// Frames the server refused (error frames), e.g. rate limited.
    pub refused: u64,
    /// Clients that gave up (timeout or closed connection).
    pub failed_clients: usize,
    /// Sessions resumed on another node after theirs went away.
    pub resumes: u64,
    /// Frames received during the churn phase (replies and member events).
    pub frames_received: u64,
    /// Length of the churn phase, seconds.
    pub elapsed_s: f64,
    /// Commands per second during the churn phase.
    pub commands_per_s: f64,
    /// Command latency percentiles, microseconds.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest command.
    pub max_us: u64,
}

impl LoadReport {
    /// Whether every client ran to the end without an error of any kind.
    #[must_use]
    pub fn clean(&self) -> bool {
        self.logged_in == self.clients
            && self.failed_clients == 0
            && self.engine_errors == 0
            && self.refused == 0
            && self.commands > 0
    }
}

/// One client's tally.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    engine_errors: u64,
    refused: u64,
    frames: u64,
    failed: bool,
    logged_in: bool,
    resumes: u64,
}

/// Runs the load and reports.
///
/// # Errors
/// When the configuration is out of bounds.
pub async fn run(cfg: &LoadConfig) -> io::Result<LoadReport> {
    if cfg.clients == 0 || cfg.clients > MAX_CLIENTS || cfg.duration > MAX_DURATION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("clients must be 1..={MAX_CLIENTS}, duration at most {MAX_DURATION:?}"),
        ));
    }
    let (go_tx, go_rx) = watch::channel(None::<Instant>);
    let gate = Arc::new(Semaphore::new(cfg.connect_parallelism.max(1)));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(cfg.clients);
    let mut tasks = Vec::with_capacity(cfg.clients);
    for i in 0..cfg.clients {
        let cfg = cfg.clone();
        let go = go_rx.clone();
        let gate = gate.clone();
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            client(i, &cfg, gate, ready, go).await
        }));
    }
    drop(ready_tx);
    // Wait until every client is logged in (or has failed), then start them together.
    while ready_rx.recv().await.is_some() {}
    let start = Instant::now();
    let end = start + cfg.duration;
    let _ = go_tx.send(Some(end));
    let mut report = LoadReport {
        clients: cfg.clients,
        ..LoadReport::default()
    };
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        let tally = t.await.unwrap_or_else(|_| Tally {
            failed: true,
            ..Tally::default()
        });
        report.logged_in += usize::from(tally.logged_in);
        report.failed_clients += usize::from(tally.failed);
        report.engine_errors += tally.engine_errors;
        report.refused += tally.refused;
        report.frames_received += tally.frames;
        report.resumes += tally.resumes;
        all.extend_from_slice(&tally.latencies_us);
    }
    report.elapsed_s = cfg.duration.as_secs_f64();
    report.commands = all.len() as u64;
    report.commands_per_s = report.commands as f64 / report.elapsed_s.max(1e-9);
    all.sort_unstable();
    let pct = |p: usize| -> u64 {
        if all.is_empty() {
            return 0;
        }
        let idx = (all.len() * p).div_ceil(100).saturating_sub(1);
        u64::from(all[idx.min(all.len() - 1)])
    };
    report.p50_us = pct(50);
    report.p90_us = pct(90);
    report.p99_us = pct(99);
    report.max_us = all.last().copied().map_or(0, u64::from);
    Ok(report)
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One client: connect and log in, signal ready, churn until the end, log out.
async fn client(
    i: usize,
    cfg: &LoadConfig,
    gate: Arc<Semaphore>,
    ready: tokio::sync::mpsc::Sender<()>,
    mut go: watch::Receiver<Option<Instant>>,
) -> Tally {
    let mut tally = Tally::default();
    let session = format!("{}{i}", cfg.prefix);
    let urls: Vec<String> = cfg.url.split(',').map(|u| u.trim().to_owned()).collect();
    let at = i % urls.len().max(1);
    let setup = async {
        let _permit = gate.acquire().await.ok()?;
        let ws = connect(&urls[at]).await?;
        let mut c = Client {
            ws,
            session: session.clone(),
            request: 0,
            token: String::new(),
            urls: urls.clone(),
            at,
            just_resumed: false,
        };
        let user = format!("{}u{i}", cfg.prefix);
        let mut login = serde_json::json!({"type": "login", "session": session, "user": user});
        if let Some(key) = &cfg.signing_key {
            let claims = crate::auth::Claims {
                sub: user,
                exp: crate::auth::unix_now_s() + 3600 + cfg.duration.as_secs(),
                rooms: None,
            };
            login["token"] = crate::auth::mint(key, &claims).into();
        }
        let (_, ok) = c.command(login, &mut Tally::default()).await?;
        ok.then_some(c)
    };
    let client = tokio::time::timeout(REPLY_TIMEOUT * 3, setup)
        .await
        .ok()
        .flatten();
    drop(ready);
    let Some(mut c) = client else {
        tally.failed = true;
        return tally;
    };
    tally.logged_in = true;
    let end = match go.wait_for(Option::is_some).await {
        Ok(v) => (*v).unwrap_or_else(Instant::now),
        Err(_) => {
            tally.failed = true;
            return tally;
        }
    };
    let mut rng = SplitMix(cfg.seed.wrapping_add(i as u64));
    let mut joined: Vec<u32> = Vec::new();
    // Clients that pause between commands start spread over one pause, not all at once.
    if !cfg.think.is_zero() {
        let offset = cfg.think.mul_f64(rng.unit());
        tokio::time::sleep_until(end.min(Instant::now() + offset)).await;
    }
    let mut sent = 0u64;
    while sent < cfg.min_commands || Instant::now() < end {
        sent += 1;
        let (cmd, effect) = next_command(&mut rng, &joined, cfg.rooms);
        let t0 = Instant::now();
        let (answered, ok) = match c.command(cmd, &mut tally).await {
            Some(answer) => answer,
            // The node went away: resume elsewhere, and start over from no room (the command
            // may or may not have been applied).
            None if c.resume_elsewhere().await => {
                tally.resumes += 1;
                let leave = serde_json::json!({"type": "leave_all_rooms"});
                if c.command(leave, &mut tally).await.is_none() {
                    tally.failed = true;
                    return tally;
                }
                joined.clear();
                (true, false)
            }
            None => {
                tally.failed = true;
                return tally;
            }
        };
        let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        tally.latencies_us.push(us);
        if !cfg.think.is_zero() {
            // Jittered (half to one and a half times), so clients do not march in step.
            let pause = cfg.think.mul_f64(0.5 + rng.unit());
            let until = Instant::now() + pause;
            let until = if sent < cfg.min_commands {
                until
            } else {
                end.min(until)
            };
            tokio::time::sleep_until(until).await;
        }
        if ok {
            effect.apply(&mut joined);
        } else if c.just_resumed {
            c.just_resumed = false;
        } else if answered {
            tally.engine_errors += 1;
        } else {
            tally.refused += 1;
        }
    }
    let logout = serde_json::json!({"type": "logout", "session": c.session});
    if c.command(logout, &mut Tally::default()).await.is_none() {
        tally.failed = true;
    }
    let _ = c.ws.close(None).await;
    tally
}

/// What a command does to the client's room set when it succeeds.
enum Effect {
    Join(u32),
    Leave(u32),
    Switch { from: u32, to: u32 },
}

impl Effect {
    fn apply(self, joined: &mut Vec<u32>) {
        match self {
            Effect::Join(r) => joined.push(r),
            Effect::Leave(r) => joined.retain(|x| *x != r),
            Effect::Switch { from, to } => {
                joined.retain(|x| *x != from);
                joined.push(to);
            }
        }
    }
}

/// The churn: in no room, enter one; otherwise switch (40%), leave (30%) or enter another
/// (30%, while in fewer than three rooms).
fn next_command(rng: &mut SplitMix, joined: &[u32], rooms: u32) -> (serde_json::Value, Effect) {
    let rooms = rooms.max(4);
    let pick_other = |rng: &mut SplitMix| loop {
        let r = rng.below(rooms);
        if !joined.contains(&r) {
            return r;
        }
    };
    let roll = rng.below(10);
    if joined.is_empty() || (roll >= 7 && joined.len() < 3) {
        let r = pick_other(rng);
        let cmd = serde_json::json!({"type": "enter_room", "room": {"id": room_id(r)}});
        return (cmd, Effect::Join(r));
    }
    let idx = usize::try_from(rng.below(u32::try_from(joined.len()).unwrap_or(1))).unwrap_or(0);
    let from = joined[idx.min(joined.len() - 1)];
    if roll < 4 {
        let to = pick_other(rng);
        let cmd = serde_json::json!({"type": "switch_room", "from": room_id(from),
            "to": {"id": room_id(to)}, "create_if_missing": true});
        (cmd, Effect::Switch { from, to })
    } else {
        let cmd = serde_json::json!({"type": "leave_room", "room_id": room_id(from)});
        (cmd, Effect::Leave(from))
    }
}

fn room_id(r: u32) -> String {
    format!("load-{r}")
}

struct Client {
    ws: Ws,
    session: String,
    request: u64,
    /// The session's latest resume token.
    token: String,
    /// Every node's endpoint, and the one this client is on.
    urls: Vec<String>,
    at: usize,
    just_resumed: bool,
}

/// A WebSocket connection with the load tool's small read buffer.
async fn connect(url: &str) -> Option<Ws> {
    // A small read buffer: tungstenite zero-fills it before every read.
    let ws_config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let connecting = tokio_tungstenite::connect_async_with_config(url, Some(ws_config), true);
    let (ws, _) = tokio::time::timeout(REPLY_TIMEOUT, connecting)
        .await
        .ok()?
        .ok()?;
    Some(ws)
}

impl Client {
    /// Resumes the session on the next node that takes it (each node at most a few times).
    async fn resume_elsewhere(&mut self) -> bool {
        if self.urls.len() < 2 || self.token.is_empty() {
            return false;
        }
        for attempt in 0..3 * self.urls.len() {
            self.at = (self.at + 1) % self.urls.len();
            let Some(ws) = connect(&self.urls[self.at]).await else {
                tokio::time::sleep(Duration::from_millis(50 * (attempt as u64 + 1))).await;
                continue;
            };
            self.ws = ws;
            let resume = serde_json::json!({"type": "resume", "session": self.session,
                                            "token": self.token});
            if self
                .ws
                .send(Message::Text(resume.to_string().into()))
                .await
                .is_err()
            {
                continue;
            }
            if self.await_resumed().await {
                self.just_resumed = true;
                return true;
            }
        }
        false
    }

    /// Reads until `resumed` (keeping the new token) or a refusal; `unavailable` is a notice.
    async fn await_resumed(&mut self) -> bool {
        let wait = async {
            loop {
                let Message::Text(text) = self.ws.next().await?.ok()? else {
                    continue;
                };
                let v: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
                if let Some(t) = v["resume"]["token"].as_str() {
                    self.token = t.to_owned();
                }
                if v.get("resumed").is_some() {
                    return Some(true);
                }
                if v.get("error").is_some() && v["error"]["code"] != "unavailable" {
                    return Some(false);
                }
            }
        };
        tokio::time::timeout(REPLY_TIMEOUT * 3, wait)
            .await
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    /// Sends a command (adding `session` and `request`) and reads frames until its reply.
    /// Returns (answered by the engine, ok); `None` when the connection failed or timed out.
    async fn command(
        &mut self,
        mut cmd: serde_json::Value,
        tally: &mut Tally,
    ) -> Option<(bool, bool)> {
        self.request += 1;
        let request = self.request;
        cmd["session"] = self.session.clone().into();
        cmd["request"] = request.into();
        self.ws
            .send(Message::Text(cmd.to_string().into()))
            .await
            .ok()?;
        let wait = async {
            loop {
                let msg = self.ws.next().await?.ok()?;
                let Message::Text(text) = msg else { continue };
                tally.frames += 1;
                if text.starts_with(r#"{"resume":"#) {
                    let v: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
                    if let Some(t) = v["resume"]["token"].as_str() {
                        self.token = t.to_owned();
                    }
                    continue;
                }
                if let Some(answer) = answer_to(text.as_str(), request) {
                    return Some(answer);
                }
            }
        };
        tokio::time::timeout(REPLY_TIMEOUT, wait)
            .await
            .ok()
            .flatten()
    }
}

/// If `text` answers `request`: (from the engine, ok). Cheap checks first: most frames are
/// member events for other commands. `unavailable` is a notice (the group is electing a
/// leader; the reply follows), not an answer.
fn answer_to(text: &str, request: u64) -> Option<(bool, bool)> {
    let is_reply = text.contains(r#""out":{"type":"reply""#);
    let is_error = text.starts_with(r#"{"error":"#) && !text.contains(r#""code":"unavailable""#);
    if !is_reply && !is_error {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if is_reply {
        let out = &v["out"];
        (out["request"].as_u64() == Some(request)).then(|| (true, out.get("ok").is_some()))
    } else {
        (v["error"]["request"].as_u64() == Some(request)).then_some((false, false))
    }
}

/// A small deterministic generator (SplitMix64), so a run's choices repeat with its seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        // The top 53 bits make an exact f64 fraction.
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u32) -> u32 {
        // The remainder is below n, which fits u32.
        u32::try_from(self.next() % u64::from(n.max(1))).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_matched_by_request() {
        let ok =
            r#"{"at":5,"out":{"type":"reply","session":"l1","request":3,"ok":{"room_id":"x"}}}"#;
        assert_eq!(answer_to(ok, 3), Some((true, true)));
        assert_eq!(answer_to(ok, 4), None);
        let err = r#"{"at":5,"out":{"type":"reply","session":"l1","request":4,"error":{"code":"room_full","message":"m"}}}"#;
        assert_eq!(answer_to(err, 4), Some((true, false)));
        let refused = r#"{"error":{"code":"rate_limited","message":"m","request":4}}"#;
        assert_eq!(answer_to(refused, 4), Some((false, false)));
        let notice = r#"{"error":{"code":"unavailable","message":"m","request":4}}"#;
        assert_eq!(answer_to(notice, 4), None);
        let event =
            r#"{"at":5,"out":{"type":"members_joined","session":"l1","room_id":"r","members":[]}}"#;
        assert_eq!(answer_to(event, 4), None);
    }

    #[test]
    fn the_churn_never_targets_a_room_it_is_in_and_stays_within_limits() {
        let mut rng = SplitMix(7);
        let mut joined = Vec::new();
        for _ in 0..10_000 {
            let (cmd, effect) = next_command(&mut rng, &joined, 8);
            match &effect {
                Effect::Join(r) => assert!(!joined.contains(r), "{cmd}"),
                Effect::Leave(r) => assert!(joined.contains(r), "{cmd}"),
                Effect::Switch { from, to } => {
                    assert!(joined.contains(from) && !joined.contains(to), "{cmd}");
                }
            }
            effect.apply(&mut joined);
            assert!(joined.len() <= 3);
        }
    }
}
