//! Real `roomcore-server` processes on 127.0.0.1, each with its own data directory: started,
//! killed with SIGKILL, restarted from the same directory on the same port, and always
//! killed when dropped. Every wait is a hang guard, never the thing measured.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ADMIN: &str = "test-admin-token-0123456789abcdef";
pub const SECRET: &str = "test-cluster-secret-0123456789abcdef";
/// Hang guard of a start, of an HTTP request, of a condition polled.
pub const START_WAIT: Duration = Duration::from_secs(60);
pub const HTTP_WAIT: Duration = Duration::from_secs(10);

/// The `roomcore-server` binary: the package's own when built by cargo for a test, else the
/// one beside the running program's directory (an example in `target/*/examples/`).
pub fn server_bin() -> std::path::PathBuf {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_roomcore-server") {
        return bin.into();
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let dir = if dir.ends_with("examples") {
        dir.parent().unwrap()
    } else {
        dir
    };
    dir.join("roomcore-server")
}

/// Free ports on 127.0.0.1, all different: bound at once, then released for the servers.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// One server process (of a group of one or more).
pub struct Server {
    pub id: u64,
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    starts: u32,
}

impl Server {
    /// A server that is not started yet: `dir` holds its data and its output.
    pub fn new(id: u64, port: u16, dir: &Path, args: Vec<String>) -> Server {
        Server {
            id,
            port,
            dir: dir.to_owned(),
            args,
            child: None,
            starts: 0,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process and waits until it listens.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "node {} runs already", self.id);
        self.starts += 1;
        let out = self.dir.join(format!("out-{}.log", self.starts));
        let err = self.dir.join(format!("err-{}.log", self.starts));
        let child = Command::new(server_bin())
            .args(&self.args)
            .env("ROOMCORE_ADMIN_TOKEN", ADMIN)
            .env("ROOMCORE_CLUSTER_SECRET", SECRET)
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let listening = format!("listening on http://{}/", self.addr());
        let deadline = tokio::time::Instant::now() + START_WAIT;
        loop {
            if std::fs::read_to_string(&out).is_ok_and(|t| t.contains(&listening)) {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let e = std::fs::read_to_string(&err).unwrap_or_default();
                panic!("node {} exited ({status}) at start: {e}", self.id);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {} did not start",
                self.id
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `kill -9`: the process dies without a chance to flush or say goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL on Unix
            let _ = c.wait();
        }
    }

    /// `GET /status`, or `None` when the node does not answer.
    pub async fn status(&self) -> Option<Value> {
        get_json(self.port, "/status").await
    }

    /// `GET /admin/stats`, or `None` when the node does not answer.
    pub async fn stats(&self) -> Option<Value> {
        get_json(self.port, "/admin/stats").await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The flags of node `id` of a group on `ports` (1-based ids), plus `extra`.
pub fn group_args(id: u64, ports: &[u16], dir: &Path, extra: &[&str]) -> Vec<String> {
    let peers: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}=127.0.0.1:{p}", i + 1))
        .collect();
    let mut args = vec![
        "--listen".to_owned(),
        format!("127.0.0.1:{}", ports[usize::try_from(id).unwrap() - 1]),
        "--data-dir".to_owned(),
        dir.join("data").display().to_string(),
        "--node-id".to_owned(),
        id.to_string(),
        "--peers".to_owned(),
        peers.join(","),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Flags of every node of a test group: plain WebSocket and fast elections, so a group leads
/// itself (and fails over) well under a second; then `extra`.
pub fn node_flags<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec![
        "--insecure-dev",
        "--heartbeat-ms",
        "50",
        "--election-timeout-min-ms",
        "200",
        "--election-timeout-max-ms",
        "400",
    ];
    flags.extend_from_slice(extra);
    flags
}

/// Extra flags of the tests that kill nodes: a silent node is down after a second (its
/// sessions' grace runs), and a command waits at most two for the group.
pub const FAILOVER_FLAGS: &[&str] = &["--node-down-after-ms", "1000", "--write-timeout-ms", "2000"];

/// Three nodes of a group, each with its own directory below `dir` and `flags`, started.
pub async fn start_group(dir: &Path, flags: &[&str]) -> Vec<Server> {
    let ports = free_ports(3);
    let mut nodes = Vec::new();
    for (id, port) in (1..).zip(ports.iter().copied()) {
        let node_dir = dir.join(format!("node{id}"));
        std::fs::create_dir_all(&node_dir).unwrap();
        let args = group_args(id, &ports, &node_dir, flags);
        nodes.push(Server::new(id, port, &node_dir, args));
    }
    for n in &mut nodes {
        n.start().await;
    }
    nodes
}

/// A GET with the admin token; `None` when the node does not answer or answers non-200.
pub async fn get_json(port: u16, path: &str) -> Option<Value> {
    request_json(port, "GET", path, "").await
}

/// A request with the admin token and a JSON body; `None` when the node does not answer or
/// answers non-200.
pub async fn request_json(port: u16, method: &str, path: &str, body: &str) -> Option<Value> {
    let request = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Authorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.ok()?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        if !text.starts_with("HTTP/1.1 200") {
            return None;
        }
        let body = text.split_once("\r\n\r\n")?.1;
        serde_json::from_str(body).ok()
    };
    tokio::time::timeout(HTTP_WAIT, request)
        .await
        .ok()
        .flatten()
}

/// Polls `f` every 50 ms until it returns `Some` (panics with `what` after `START_WAIT`).
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + START_WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The statuses of the running nodes, by id.
pub async fn statuses(nodes: &[Server]) -> BTreeMap<u64, Value> {
    let mut out = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.is_running()) {
        if let Some(s) = n.status().await {
            out.insert(n.id, s);
        }
    }
    out
}
