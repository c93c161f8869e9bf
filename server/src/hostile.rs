//! Hostile clients, for measuring the server and for the CI soak (`roomcore-hostile`):
//! sockets that never send a request or send it a byte at a time, WebSocket members that
//! never read, a large room joined at once, messages whose last fragment never comes, and
//! a fresh client that must be served throughout. Nothing here asserts a speed: the soak
//! checks that the probe is served (each wait bounded by a generous timeout) and that the
//! server's RSS stays under a bound.

use crate::auth::{self, Claims, SigningKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket client of the tool.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any one answer.
pub const WAIT: Duration = Duration::from_secs(10);

/// Where the server is and how to log in.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's address.
    pub addr: SocketAddr,
    /// Its signing key, to mint tokens (none: log in without one).
    pub key: Option<SigningKey>,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// The resident set size of process `pid` now and at its peak, in KiB (Linux).
#[must_use]
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

impl Target {
    /// A WebSocket to the server, with `rcvbuf` as its receive buffer if given.
    ///
    /// # Errors
    /// Connecting or the upgrade failed.
    pub async fn ws(&self, rcvbuf: Option<u32>) -> io::Result<Ws> {
        self.ws_from(rcvbuf, None).await
    }

    /// A WebSocket from source address `from` (any of 127.0.0.0/8 works on Linux loopback,
    /// so attackers and honest clients can come from different addresses).
    ///
    /// # Errors
    /// Connecting or the upgrade failed.
    pub async fn ws_from(&self, rcvbuf: Option<u32>, from: Option<IpAddr>) -> io::Result<Ws> {
        let stream = connect_from(self.addr, rcvbuf, from).await?;
        let url = format!("ws://{}/ws", self.addr);
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)),
        )
        .await
        .map_err(other)?
        .map_err(other)?;
        Ok(ws)
    }

    /// A login frame for `user` as session `session` (with a token when there is a key).
    #[must_use]
    pub fn login(&self, session: &str, user: &str) -> Value {
        let mut v = json!({"type": "login", "session": session, "request": 1, "user": user});
        if let Some(key) = &self.key {
            let claims = Claims {
                sub: user.to_owned(),
                exp: auth::unix_now_s() + 3600,
                rooms: None,
            };
            v["token"] = auth::mint(key, &claims).into();
        }
        v
    }

    /// Connects, logs in and joins `room` (entering it, created if missing).
    ///
    /// # Errors
    /// Any step failed or timed out.
    pub async fn member(&self, session: &str, room: &str, rcvbuf: Option<u32>) -> io::Result<Ws> {
        let mut ws = self.ws(rcvbuf).await?;
        command(&mut ws, self.login(session, session), 1).await?;
        let enter = json!({"type": "enter_room", "session": session, "request": 2,
            "room": {"id": room}});
        command(&mut ws, enter, 2).await?;
        Ok(ws)
    }

    /// A fresh client, as a person would come: the page, then a WebSocket, a login, a
    /// command and a logout. Returns how long it took.
    ///
    /// # Errors
    /// Any step failed or took longer than [`WAIT`].
    pub async fn probe(&self, n: u64) -> io::Result<Duration> {
        let t0 = Instant::now();
        let work = async {
            http_get(self.addr, "/app.css").await?;
            let session = format!("probe-{n}");
            let mut ws = self.ws(None).await?;
            command(&mut ws, self.login(&session, &session), 1).await?;
            let leave = json!({"type": "leave_all_rooms", "session": session, "request": 2});
            command(&mut ws, leave, 2).await?;
            let logout = json!({"type": "logout", "session": session, "request": 3});
            command(&mut ws, logout, 3).await?;
            let _ = ws.close(None).await;
            Ok::<(), io::Error>(())
        };
        tokio::time::timeout(WAIT, work).await.map_err(other)??;
        Ok(t0.elapsed())
    }
}

/// A TCP connection from source address `from`, with `rcvbuf` as its receive buffer.
///
/// # Errors
/// Binding or connecting failed.
pub async fn connect_from(
    addr: SocketAddr,
    rcvbuf: Option<u32>,
    from: Option<IpAddr>,
) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(b) = rcvbuf {
        socket.set_recv_buffer_size(b)?;
    }
    if let Some(ip) = from {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(addr).await
}

/// The `i`th of `n` attacker addresses: 127.0.0.2, 127.0.0.3, ... (none when `n` is 0).
#[must_use]
pub fn attacker_ip(i: usize, n: usize) -> Option<IpAddr> {
    let k = u8::try_from(i % n.max(1)).ok()?;
    (n > 0).then(|| IpAddr::from([127, 0, 0, 2 + k.min(250)]))
}

/// Sends a command and reads until its reply (or an error frame naming it).
///
/// # Errors
/// The connection failed, or the command was refused.
pub async fn command(ws: &mut Ws, cmd: Value, request: u64) -> io::Result<Value> {
    ws.send(Message::Text(cmd.to_string().into()))
        .await
        .map_err(other)?;
    let read = async {
        loop {
            let msg = ws
                .next()
                .await
                .ok_or_else(|| other("closed"))?
                .map_err(other)?;
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(t.as_str()).map_err(other)?;
            if v["out"]["type"] == "reply" && v["out"]["request"] == request {
                if v["out"].get("ok").is_none() {
                    return Err(other(format!("refused: {v}")));
                }
                return Ok(v);
            }
            if v["error"]["request"] == request {
                return Err(other(format!("refused: {v}")));
            }
        }
    };
    tokio::time::timeout(WAIT, read).await.map_err(other)?
}

/// A plain GET; returns the status.
///
/// # Errors
/// Connecting, writing or reading failed.
pub async fn http_get(addr: SocketAddr, path: &str) -> io::Result<u16> {
    let mut s = TcpStream::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    text.get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| other("no status"))
}

/// Sockets that never send a request (`partial`: send the start of one, then one byte a
/// second), from `ips` attacker addresses (0: the default address), held by background tasks
/// until `until`. A socket the server closes is opened again, so the pressure lasts.
#[must_use]
pub fn idle_sockets(
    addr: SocketAddr,
    n: usize,
    partial: bool,
    ips: usize,
    until: Instant,
) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let from = attacker_ip(i, ips);
            tokio::spawn(async move {
                while Instant::now() < until {
                    let Ok(mut s) = connect_from(addr, None, from).await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    let hold = async {
                        if partial {
                            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await?;
                            loop {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                s.write_all(b"X").await?;
                            }
                        }
                        let mut b = [0u8; 64];
                        while s.read(&mut b).await? > 0 {}
                        Ok::<(), io::Error>(())
                    };
                    let _ = tokio::time::timeout_at(until, hold).await;
                    // Closed by the server: wait a little, then come back.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .collect()
}

/// A masked client frame (the tool's own, to send what a library would not: unfinished
/// fragmented messages).
#[must_use]
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | opcode];
    let len = payload.len();
    if len < 126 {
        f.push(0x80 | u8::try_from(len).unwrap_or(0));
    } else if let Ok(n) = u16::try_from(len) {
        f.push(0x80 | 126);
        f.extend_from_slice(&n.to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mask = [0x5a, 0x17, 0xc3, 0x08];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// WebSockets that each send the first fragment (`bytes` long) of a message that never
/// ends, held until `until` (opened again when the server closes them), from `ips` attacker
/// addresses (0: from the default address).
#[must_use]
pub fn fragment_holders(
    t: &Target,
    n: usize,
    bytes: usize,
    ips: usize,
    until: Instant,
) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let t = t.clone();
            let from = attacker_ip(i, ips);
            tokio::spawn(async move {
                while Instant::now() < until {
                    let Ok(ws) = t.ws_from(None, from).await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    let mut s = match ws.into_inner() {
                        MaybeTlsStream::Plain(s) => s,
                        _ => return,
                    };
                    let hold = async {
                        s.write_all(&client_frame(false, 1, &vec![b'x'; bytes]))
                            .await?;
                        let mut b = [0u8; 256];
                        while s.read(&mut b).await? > 0 {}
                        Ok::<(), io::Error>(())
                    };
                    let _ = tokio::time::timeout_at(until, hold).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .collect()
}

/// Members of `room` that never read (small receive buffers), and `senders` members that
/// each send `messages` messages of `payload_bytes` into it. Returns the non-readers (kept
/// open by the caller) after the senders are done.
///
/// # Errors
/// A member could not join, or a sender failed.
pub async fn non_readers(
    t: &Target,
    prefix: &str,
    readers: usize,
    senders: usize,
    messages: usize,
    payload_bytes: usize,
) -> io::Result<Vec<Ws>> {
    let room = format!("{prefix}-room");
    let mut deaf = Vec::new();
    for i in 0..readers {
        deaf.push(
            t.member(&format!("{prefix}-deaf{i}"), &room, Some(4096))
                .await?,
        );
    }
    let payload = "m".repeat(payload_bytes);
    let mut tasks = Vec::new();
    for i in 0..senders {
        let (t, room, payload) = (t.clone(), room.clone(), payload.clone());
        let session = format!("{prefix}-send{i}");
        tasks.push(tokio::spawn(async move {
            let mut ws = t.member(&session, &room, None).await?;
            for k in 0..messages {
                let request = 10 + k as u64;
                let m = json!({"type": "send_room_message", "session": session,
                    "request": request, "room_id": room, "payload": payload});
                command(&mut ws, m, request).await?;
            }
            let logout = json!({"type": "logout", "session": session, "request": 9});
            let _ = command(&mut ws, logout, 9).await;
            let _ = ws.close(None).await;
            Ok::<(), io::Error>(())
        }));
    }
    for task in tasks {
        task.await.map_err(other)??;
    }
    Ok(deaf)
}

/// `members` clients log in, then all enter one room at once, and read what comes for
/// `read_for`; returns how many joined.
///
/// # Errors
/// A client could not log in.
pub async fn large_room(
    t: &Target,
    prefix: &str,
    members: usize,
    parallel: usize,
    read_for: Duration,
) -> io::Result<usize> {
    let room = format!("{prefix}-big");
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(members.max(1));
    let mut tasks = Vec::new();
    for i in 0..members {
        let (t, room, gate, mut go) = (t.clone(), room.clone(), gate.clone(), go_rx.clone());
        let session = format!("{prefix}-m{i}");
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let login = async {
                let _permit = gate.acquire().await.map_err(other)?;
                let mut ws = t.ws(None).await?;
                command(&mut ws, t.login(&session, &session), 1).await?;
                Ok::<Ws, io::Error>(ws)
            };
            let ws = login.await;
            drop(ready);
            let mut ws = ws?;
            go.wait_for(|g| *g).await.map_err(other)?;
            let enter = json!({"type": "enter_room", "session": session, "request": 2,
                "room": {"id": room}});
            command(&mut ws, enter, 2).await?;
            let until = Instant::now() + read_for;
            while let Ok(Some(_)) = tokio::time::timeout_at(until, ws.next()).await {}
            // Members leave as people do, so rounds do not pile up sessions waiting to resume.
            let logout = json!({"type": "logout", "session": session, "request": 3});
            let _ = command(&mut ws, logout, 3).await;
            let _ = ws.close(None).await;
            Ok::<(), io::Error>(())
        }));
    }
    // Everyone logged in (or failed), then all enter at once.
    drop(ready_tx);
    while ready_rx.recv().await.is_some() {}
    let _ = go_tx.send(true);
    let mut joined = 0;
    for task in tasks {
        if matches!(task.await, Ok(Ok(()))) {
            joined += 1;
        }
    }
    Ok(joined)
}
