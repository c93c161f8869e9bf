//! A WebSocket client for the process tests: it keeps every frame, knows its session and
//! resume token, and tells a closed connection from a quiet one.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Hang guard of one awaited frame.
pub const FRAME_WAIT: Duration = Duration::from_secs(30);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What reading the next frame found.
#[derive(Debug)]
pub enum Next {
    Frame(Value),
    /// The connection ended (closed, reset, or the node died).
    Closed,
    /// Nothing within the wait.
    Quiet,
}

pub struct Client {
    ws: Ws,
    pub session: String,
    /// The latest resume token the server handed out.
    pub token: String,
    pub next_request: u64,
    /// Every frame received on every connection, in order.
    pub log: Vec<Value>,
}

impl Client {
    /// A connection to `url`, or `None` when nothing listens there.
    pub async fn connect(url: &str) -> Option<Client> {
        let (ws, _) = tokio::time::timeout(FRAME_WAIT, tokio_tungstenite::connect_async(url))
            .await
            .ok()?
            .ok()?;
        Some(Client {
            ws,
            session: String::new(),
            token: String::new(),
            next_request: 1,
            log: Vec::new(),
        })
    }

    /// Moves this client's session and token to a new connection.
    pub async fn reconnect(&mut self, url: &str) -> bool {
        match Client::connect(url).await {
            Some(c) => {
                self.ws = c.ws;
                true
            }
            None => false,
        }
    }

    pub async fn send(&mut self, v: &Value) -> bool {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .is_ok()
    }

    pub async fn next(&mut self, wait: Duration) -> Next {
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        return Some(serde_json::from_str::<Value>(t.as_str()).unwrap())
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                    Some(Ok(_)) => continue,
                }
            }
        };
        match tokio::time::timeout(wait, read).await {
            Ok(Some(v)) => {
                self.log.push(v.clone());
                Next::Frame(v)
            }
            Ok(None) => Next::Closed,
            Err(_) => Next::Quiet,
        }
    }

    /// The next frame; panics on a closed connection or after the hang guard.
    pub async fn frame(&mut self) -> Value {
        match self.next(FRAME_WAIT).await {
            Next::Frame(v) => v,
            other => panic!(
                "{}: no frame ({other:?}); log: {:?}",
                self.session, self.log
            ),
        }
    }

    /// Sends a command of this session with the next request number; returns the number.
    pub async fn send_cmd(&mut self, mut input: Value) -> u64 {
        let request = self.next_request;
        self.next_request += 1;
        input["session"] = self.session.clone().into();
        input["request"] = request.into();
        assert!(self.send(&input).await, "{}: send failed", self.session);
        request
    }

    /// Sends a command and reads until its reply (`out` object); error frames naming it
    /// other than `unavailable` (a notice: the reply follows) are returned as they are.
    pub async fn cmd(&mut self, input: Value) -> Value {
        let request = self.send_cmd(input).await;
        loop {
            let v = self.frame().await;
            if v["out"]["type"] == "reply" && v["out"]["request"] == request {
                return v["out"].clone();
            }
            if v["error"]["request"] == request && v["error"]["code"] != "unavailable" {
                return v;
            }
        }
    }

    /// Logs in (a development server: no access token); keeps the resume token.
    pub async fn login(&mut self, session: &str, user: &str) {
        self.session = session.to_owned();
        let r = self.cmd(json!({"type": "login", "user": user})).await;
        assert!(r.get("ok").is_some(), "{session}: login failed: {r}");
        let v = self.frame().await;
        assert_eq!(v["resume"]["session"], session, "{v}");
        self.token = v["resume"]["token"].as_str().unwrap().to_owned();
    }

    /// Sends a resume and reads until `resumed` or a refusal (`unavailable` is a notice:
    /// the resume waits for the group). Returns the frames read, the last one deciding;
    /// keeps the new token.
    pub async fn resume(&mut self) -> Vec<Value> {
        let f = json!({"type": "resume", "session": self.session, "token": self.token});
        assert!(self.send(&f).await, "{}: send failed", self.session);
        let mut frames = Vec::new();
        loop {
            let v = self.frame().await;
            if let Some(t) = v["resume"]["token"].as_str() {
                self.token = t.to_owned();
            }
            let done = v.get("resumed").is_some()
                || (v.get("error").is_some() && v["error"]["code"] != "unavailable");
            frames.push(v);
            if done {
                return frames;
            }
        }
    }
}

/// The `out` objects among `frames`.
pub fn outs(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter_map(|f| f.get("out").cloned())
        .collect()
}
