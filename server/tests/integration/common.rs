//! Test support: a server on an ephemeral port of 127.0.0.1, WebSocket clients that keep
//! every frame they receive, and a minimal HTTP client for the admin endpoint.

use futures_util::{SinkExt, StreamExt};
use roomcore_server::auth::{self, Claims, SigningKey};
use roomcore_server::{AuthMode, RunningServer, ServerConfig};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TOKEN: &str = "test-admin-token-0123456789abcdef";
pub const KEY: &[u8] = b"test-signing-key-0123456789abcdef";

pub fn key() -> SigningKey {
    SigningKey::new(KEY).unwrap()
}

/// An access token for `user`, valid for an hour.
pub fn access_token(user: &str) -> String {
    let claims = Claims {
        sub: user.to_owned(),
        exp: auth::unix_now_s() + 3600,
        rooms: None,
    };
    auth::mint(&key(), &claims)
}
const WAIT: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub addr: SocketAddr,
    _server: RunningServer,
}

/// A server with the default config, changed by `f`.
pub async fn server_with(f: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    server_on(listener, f).await
}

pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

pub async fn server_on(listener: TcpListener, f: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let mut config = ServerConfig::new(TOKEN, AuthMode::Tokens(key()));
    f(&mut config);
    let server = roomcore_server::start(listener, config).await.unwrap();
    TestServer {
        addr: server.addr,
        _server: server,
    }
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.ws_url()).await
    }

    /// POSTs an admin command; returns the status and the JSON body.
    pub async fn admin(&self, token: Option<&str>, body: &str) -> (u16, Value) {
        let (status, text) = http(self.addr, "POST", "/admin", token, body).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An admin command that must succeed at the HTTP level; returns its `out` object.
    pub async fn admin_ok(&self, body: Value) -> Value {
        let (status, v) = self.admin(Some(TOKEN), &body.to_string()).await;
        assert_eq!(status, 200, "{v}");
        v["out"].clone()
    }

    pub async fn stats(&self) -> Value {
        let (status, text) = http(self.addr, "GET", "/admin/stats", Some(TOKEN), "").await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Polls the stats until `pred` holds (at most 5 s).
    pub async fn wait_stats(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let s = self.stats().await;
            if pred(&s) {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waiting for {what}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A minimal HTTP/1.1 request (the responses have a Content-Length).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n{body}",
        body.len()
    );
    // A server that answers early (413) may close before reading it all: what it answered
    // is what counts, so write and read errors after that are not failures here.
    let _ = s.write_all(req.as_bytes()).await;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = async {
        while let Ok(n) = s.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(WAIT, read).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client that records every text frame it reads.
pub struct Client {
    pub ws: Ws,
    /// Every frame received, in order.
    pub log: Vec<Value>,
    pub session: String,
    pub token: String,
    /// The last command sent by `cmd`, as sent.
    pub last_sent: Value,
    next_request: u64,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Client::over(ws)
    }

    pub fn over(ws: Ws) -> Client {
        Client {
            ws,
            log: Vec::new(),
            session: String::new(),
            token: String::new(),
            last_sent: Value::Null,
            next_request: 1,
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next text frame (panics after 5 s or if the connection ends).
    pub async fn next(&mut self) -> Value {
        let v = self.try_next(WAIT).await;
        v.unwrap_or_else(|| {
            panic!(
                "{}: no frame within {WAIT:?}; log: {:?}",
                self.session, self.log
            )
        })
    }

    /// The next text frame within `wait`, or `None` (timeout or end of connection).
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let read = async {
            loop {
                match self.ws.next().await? {
                    Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                    Ok(Message::Close(_)) | Err(_) => return None,
                    Ok(_) => continue,
                }
            }
        };
        let v: Value = tokio::time::timeout(wait, read).await.ok().flatten()?;
        self.log.push(v.clone());
        Some(v)
    }

    /// Reads frames until one satisfies `pred`; returns all of them, that one last.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut got = Vec::new();
        loop {
            let v = self.next().await;
            let done = pred(&v);
            got.push(v);
            if done {
                return got;
            }
        }
    }

    /// Sends a command for this client's session with the next request number, and reads
    /// until its reply (or an error frame naming it). Returns the frames read, reply last.
    pub async fn cmd(&mut self, mut input: Value) -> Vec<Value> {
        let request = self.next_request;
        self.next_request += 1;
        if input.get("session").is_none() {
            input["session"] = self.session.clone().into();
        }
        input["request"] = request.into();
        self.send_text(&input.to_string()).await;
        self.last_sent = input;
        self.until(|v| answers(v, request)).await
    }

    /// The reply (`out` object or error frame) of a command, with the frames before it.
    pub async fn reply(&mut self, input: Value) -> Value {
        let frames = self.cmd(input).await;
        let last = frames.last().unwrap().clone();
        last.get("out").cloned().unwrap_or(last)
    }

    /// Logs in with an access token for `user`; returns the resume token.
    pub async fn login(&mut self, session: &str, user: &str) -> String {
        self.session = session.to_owned();
        let token = access_token(user);
        let r = self
            .reply(json!({"type": "login", "user": user, "token": token}))
            .await;
        assert!(r.get("ok").is_some(), "login failed: {r}");
        let resume = self.next().await;
        assert_eq!(resume["resume"]["session"], session, "{resume}");
        self.token = resume["resume"]["token"].as_str().unwrap().to_owned();
        self.token.clone()
    }

    /// Sends a resume request; returns the frames up to the `resumed` or error frame, and
    /// keeps the new resume token it brings.
    pub async fn resume(&mut self, session: &str, token: &str) -> Vec<Value> {
        self.session = session.to_owned();
        self.token = token.to_owned();
        let f = json!({"type": "resume", "session": session, "token": token});
        self.send_text(&f.to_string()).await;
        let frames = self
            .until(|v| v.get("resumed").is_some() || v.get("error").is_some())
            .await;
        if let Some(t) = frames.iter().find_map(|f| f["resume"]["token"].as_str()) {
            self.token = t.to_owned();
        }
        frames
    }

    /// Reads until the server closes; returns the close frame's code (`None`: the connection
    /// ended without one). Panics after 5 s.
    pub async fn close_code(&mut self) -> Option<u16> {
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(f))) => return f.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return None,
                }
            }
        };
        tokio::time::timeout(WAIT, read)
            .await
            .expect("the server should close within 5 s")
    }

    /// Asserts that nothing arrives for `ms` milliseconds.
    pub async fn silent(&mut self, ms: u64) {
        if let Some(v) = self.try_next(Duration::from_millis(ms)).await {
            panic!("{}: expected silence, got {v}", self.session);
        }
    }

    /// Only the engine outputs (`out` objects) among `frames`.
    pub fn outs(frames: &[Value]) -> Vec<Value> {
        frames
            .iter()
            .filter_map(|f| f.get("out").cloned())
            .collect()
    }
}

/// Whether a frame answers `request`: a reply carrying it, or an error frame naming it.
pub fn answers(v: &Value, request: u64) -> bool {
    let reply = v["out"]["type"] == "reply" && v["out"]["request"] == request;
    let error = v["error"]["request"] == request;
    reply || error
}

/// `room_state_changed` as an `out` object.
pub fn state(session: &str, room: &str, state: &str, event: &str) -> Value {
    json!({"type": "room_state_changed", "session": session, "room_id": room,
           "state": state, "event": event})
}

pub fn members(kind: &str, session: &str, room: &str, users: &[&str]) -> Value {
    let members: Vec<Value> = users.iter().map(|u| json!({"user_id": u})).collect();
    json!({"type": kind, "session": session, "room_id": room, "members": members})
}

pub fn left(session: &str, room: &str, users: &[&str], reason: &str) -> Value {
    let mut v = members("members_left", session, room, users);
    v["reason"] = reason.into();
    v
}

/// The code of an error frame.
pub fn frame_error(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error frame: {v}"))
}
