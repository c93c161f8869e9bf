//! A webhook receiver on 127.0.0.1: records every request (signature header and body) and
//! answers 200, or 500 while told to fail; it can be stopped (connections refused and
//! open ones cut) and started again on the same port.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use roomcore_server::webhook::sign::{verify, SIGNATURE_HEADER};
use serde_json::Value;
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio::task::JoinSet;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub signature: Option<String>,
    pub body: Bytes,
    /// Whether it was answered 2xx.
    pub accepted: bool,
    /// When its body had been read (the figures example measures delays with it).
    #[allow(dead_code)]
    pub received: tokio::time::Instant,
}

#[derive(Default)]
struct State {
    failing: AtomicBool,
    hits: Mutex<Vec<Hit>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
    tasks: Option<JoinSet<()>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let mut r = Receiver {
            addr: "127.0.0.1:0".parse().unwrap(),
            state: Arc::default(),
            tasks: None,
        };
        r.listen().await;
        r
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        // The same port again after a stop, whatever its old connections' state.
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(64).unwrap();
        self.addr = listener.local_addr().unwrap();
        let state = self.state.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                conns.spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Refuses connections and cuts the open ones (the accept loop and every connection
    /// task are aborted with their set).
    pub fn stop(&mut self) {
        self.tasks = None;
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.listen().await;
    }

    /// Answers 500 from now on (`true`) or 200 (`false`).
    pub fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// The events of the accepted requests, in arrival order, each batch's in its order,
    /// after checking every accepted body's signature under `secret`.
    pub fn accepted_events(&self, secret: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for hit in self.hits().into_iter().filter(|h| h.accepted) {
            let sig = hit.signature.as_deref().expect("every request is signed");
            assert!(
                verify(secret.as_bytes(), &hit.body, sig),
                "bad signature {sig} on {:?}",
                hit.body
            );
            let v: Value = serde_json::from_slice(&hit.body).unwrap();
            out.extend(v["events"].as_array().unwrap().iter().cloned());
        }
        out
    }

    /// Polls until `pred` holds of the accepted events (a 30 s hang guard, never a measure).
    pub async fn wait_for(&self, secret: &str, what: &str, pred: impl Fn(&[Value]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.accepted_events(secret);
            if pred(&events) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waiting for {what}; got {events:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let accepted = !state.failing.load(Ordering::SeqCst);
    state.hits.lock().unwrap().push(Hit {
        signature,
        body,
        accepted,
        received: tokio::time::Instant::now(),
    });
    let status = if accepted {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    Ok(r)
}

/// The events with their duplicates removed (the first of each `event_id` kept), checking
/// that first arrivals come in strictly increasing `event_id` order.
pub fn dedup_in_order(events: &[Value]) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<Value> = Vec::new();
    for e in events {
        let id = e["event_id"].as_u64().expect("every event has an event_id");
        if seen.insert(id) {
            if let Some(last) = out.last() {
                assert!(
                    last["event_id"].as_u64().unwrap() < id,
                    "event {id} arrived after a later one: {events:?}"
                );
            }
            out.push(e.clone());
        }
    }
    out
}

/// `(type, room, user, reason)` of each event, for comparing with a script's expectations.
pub fn summary(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            let mut line = format!("{} {}", s("type"), s("room_id"));
            for k in ["user_id", "reason", "cause"] {
                if !s(k).is_empty() {
                    line.push(' ');
                    line.push_str(&s(k));
                }
            }
            line
        })
        .collect()
}

/// Checks that each room a churn made (`{tag}r{i}`, created and left by user `{tag}u{i}`, for
/// `i` below `per_tag`) has its four events once each in `got` (a [`summary`]).
pub fn assert_churned_once(got: &[String], tags: &[&str], per_tag: usize) {
    for tag in tags {
        for i in 0..per_tag {
            let (room, user) = (format!("{tag}r{i}"), format!("{tag}u{i}"));
            for line in [
                format!("room_created {room}"),
                format!("member_joined {room} {user}"),
                format!("member_left {room} {user} left"),
                format!("room_destroyed {room} empty"),
            ] {
                let times = got.iter().filter(|g| **g == line).count();
                assert_eq!(times, 1, "{line}: {got:?}");
            }
        }
    }
}
