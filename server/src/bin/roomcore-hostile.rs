//! `roomcore-hostile`: hostile clients against a running roomcore server, with a fresh
//! client probing it throughout and, given the server's pid, its RSS (Linux). Used for the
//! figures in `server/FIGURES.md` and for the CI soak (`ci/server.sh`).
//!
//! ```sh
//! roomcore-hostile --addr 127.0.0.1:8080 --pid $PID idle --sockets 120
//! roomcore-hostile --addr 127.0.0.1:8080 --pid $PID non-readers --readers 60 --senders 6
//! roomcore-hostile --addr 127.0.0.1:8080 --pid $PID large-room --members 3000
//! roomcore-hostile --addr 127.0.0.1:8080 --pid $PID fragments --sockets 1000
//! roomcore-hostile --addr 127.0.0.1:8080 --pid $PID soak --seconds 60 --max-rss-mib 400
//! ```
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use roomcore_server::auth::SigningKey;
use roomcore_server::hostile::{self, rss_kib, Target};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The server's address.
    #[arg(long)]
    addr: SocketAddr,
    /// The server's signing key file (clients log in without a token if absent).
    #[arg(long, env = "ROOMCORE_SIGNING_KEY_FILE")]
    signing_key_file: Option<std::path::PathBuf>,
    /// The server's pid, to report its RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Milliseconds between probes by a fresh client.
    #[arg(long, default_value_t = 500)]
    probe_every_ms: u64,
    /// Attacking sockets (idle, fragments) come from this many addresses, 127.0.0.2 and up
    /// (0: from the same address as the probe).
    #[arg(long, default_value_t = 0)]
    attacker_ips: usize,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// Sockets that send nothing (or a request's start, then a byte a second).
    Idle {
        #[arg(long, default_value_t = 120)]
        sockets: usize,
        #[arg(long)]
        partial: bool,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Members that never read while others send messages into their room.
    NonReaders {
        #[arg(long, default_value_t = 60)]
        readers: usize,
        #[arg(long, default_value_t = 6)]
        senders: usize,
        #[arg(long, default_value_t = 200)]
        messages: usize,
        #[arg(long, default_value_t = 32_000)]
        bytes: usize,
        /// Seconds to keep the non-readers open afterwards.
        #[arg(long, default_value_t = 3)]
        hold_s: u64,
    },
    /// Members that all enter one room at once.
    LargeRoom {
        #[arg(long, default_value_t = 3000)]
        members: usize,
        #[arg(long, default_value_t = 32)]
        parallel: usize,
        #[arg(long, default_value_t = 3)]
        read_s: u64,
    },
    /// WebSockets that start a fragmented message and never finish it.
    Fragments {
        #[arg(long, default_value_t = 1000)]
        sockets: usize,
        #[arg(long, default_value_t = 32_768)]
        bytes: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// All of the above at once, in rounds, for a while; fails if a probe fails or the RSS
    /// passes the bound.
    Soak {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 512)]
        max_rss_mib: u64,
        #[arg(long, default_value_t = 300)]
        idle_sockets: usize,
        #[arg(long, default_value_t = 200)]
        fragment_sockets: usize,
        #[arg(long, default_value_t = 40)]
        non_readers: usize,
        #[arg(long, default_value_t = 1000)]
        room_members: usize,
    },
}

/// Probes every `every` until `until`; counts successes and failures and the slowest.
fn prober(
    t: Target,
    every: Duration,
    until: Instant,
    stats: Arc<ProbeStats>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0;
        while Instant::now() < until {
            n += 1;
            match t.probe(n).await {
                Ok(d) => {
                    stats.ok.fetch_add(1, Ordering::Relaxed);
                    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
                    stats.max_us.fetch_max(us, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("probe {n} failed: {e}");
                }
            }
            tokio::time::sleep(every).await;
        }
    })
}

#[derive(Default)]
struct ProbeStats {
    ok: AtomicU64,
    failed: AtomicU64,
    max_us: AtomicU64,
}

/// Samples the server's RSS every 100 ms until `until`; keeps the largest (KiB).
fn rss_sampler(
    pid: Option<u32>,
    until: Instant,
    max: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(pid) = pid else { return };
        while Instant::now() < until {
            if let Some((rss, _)) = rss_kib(pid) {
                max.fetch_max(rss, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

fn rss_line(pid: Option<u32>, label: &str) {
    if let Some((rss, hwm)) = pid.and_then(rss_kib) {
        println!(
            "{label}: server RSS {:.1} MiB (peak so far {:.1} MiB)",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let key = match &a.signing_key_file {
        None => None,
        Some(p) => match std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| SigningKey::new(b.strip_suffix(b"\n").unwrap_or(&b)))
        {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("roomcore-hostile: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let t = Target { addr: a.addr, key };
    let every = Duration::from_millis(a.probe_every_ms);
    let probes = Arc::new(ProbeStats::default());
    let peak = Arc::new(AtomicU64::new(0));
    rss_line(a.pid, "before");
    let started = Instant::now();
    let mut max_rss_kib = None;
    let outcome: Result<String, String> = match a.what {
        What::Idle {
            sockets,
            partial,
            seconds,
        } => {
            let until = Instant::now() + Duration::from_secs(seconds);
            let held = hostile::idle_sockets(t.addr, sockets, partial, a.attacker_ips, until);
            // Let them connect before the first probe.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let p = prober(t.clone(), every, until, probes.clone());
            let s = rss_sampler(a.pid, until, peak.clone());
            let _ = tokio::join!(p, s);
            for h in held {
                h.abort();
            }
            Ok(format!(
                "{sockets} idle sockets (partial headers: {partial}) for {seconds} s"
            ))
        }
        What::NonReaders {
            readers,
            senders,
            messages,
            bytes,
            hold_s,
        } => {
            let until = Instant::now() + Duration::from_secs(600);
            let s = rss_sampler(a.pid, until, peak.clone());
            let r = hostile::non_readers(&t, "nr", readers, senders, messages, bytes).await;
            rss_line(a.pid, "senders done");
            tokio::time::sleep(Duration::from_secs(hold_s)).await;
            s.abort();
            match r.map(drop) {
                Ok(()) => Ok(format!("{readers} non-readers, {senders} senders x {messages} messages of {bytes} bytes")),
                Err(e) => Err(format!("non-readers: {e}")),
            }
        }
        What::LargeRoom {
            members,
            parallel,
            read_s,
        } => {
            let until = Instant::now() + Duration::from_secs(600);
            let s = rss_sampler(a.pid, until, peak.clone());
            let r =
                hostile::large_room(&t, "lr", members, parallel, Duration::from_secs(read_s)).await;
            s.abort();
            r.map(|joined| format!("{joined} of {members} members entered one room at once"))
                .map_err(|e| format!("large room: {e}"))
        }
        What::Fragments {
            sockets,
            bytes,
            seconds,
        } => {
            let until = Instant::now() + Duration::from_secs(seconds);
            let held = hostile::fragment_holders(&t, sockets, bytes, a.attacker_ips, until);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let p = prober(t.clone(), every, until, probes.clone());
            let s = rss_sampler(a.pid, until, peak.clone());
            let _ = tokio::join!(p, s);
            for h in held {
                h.abort();
            }
            Ok(format!(
                "{sockets} unfinished fragmented messages of {bytes} bytes for {seconds} s"
            ))
        }
        What::Soak {
            seconds,
            max_rss_mib,
            idle_sockets,
            fragment_sockets,
            non_readers,
            room_members,
        } => {
            max_rss_kib = Some(max_rss_mib * 1024);
            let until = Instant::now() + Duration::from_secs(seconds);
            let ips = a.attacker_ips;
            let mut held = hostile::idle_sockets(t.addr, idle_sockets / 2, false, ips, until);
            held.extend(hostile::idle_sockets(
                t.addr,
                idle_sockets / 2,
                true,
                ips,
                until,
            ));
            held.extend(hostile::fragment_holders(
                &t,
                fragment_sockets,
                32_768,
                ips,
                until,
            ));
            tokio::time::sleep(Duration::from_millis(500)).await;
            let p = prober(t.clone(), every, until, probes.clone());
            let s = rss_sampler(a.pid, until, peak.clone());
            let mut round = 0;
            let mut errors = Vec::new();
            while Instant::now() + Duration::from_secs(8) < until {
                round += 1;
                let prefix = format!("soak{round}");
                let nr = hostile::non_readers(&t, &prefix, non_readers, 4, 100, 32_000);
                let lr_prefix = format!("{prefix}l");
                let lr =
                    hostile::large_room(&t, &lr_prefix, room_members, 32, Duration::from_secs(2));
                let (nr, lr) = tokio::join!(nr, lr);
                if let Err(e) = nr {
                    errors.push(format!("round {round} non-readers: {e}"));
                }
                if let Err(e) = lr {
                    errors.push(format!("round {round} large room: {e}"));
                }
            }
            let _ = tokio::join!(p, s);
            for h in held {
                h.abort();
            }
            // A hostile client the server cuts (a sender too slow to read its room, say) is
            // the server doing its job: reported, not a failure of the soak.
            for e in &errors {
                println!("note: {e}");
            }
            Ok(format!("{round} rounds of {non_readers} non-readers and a {room_members}-member room, with {idle_sockets} idle sockets and {fragment_sockets} unfinished messages, for {seconds} s ({} rounds with a client cut)", errors.len()))
        }
    };
    rss_line(a.pid, "after");
    let peak_kib = peak.load(Ordering::Relaxed);
    let ok = probes.ok.load(Ordering::Relaxed);
    let failed = probes.failed.load(Ordering::Relaxed);
    println!(
        "{} in {:.1} s; probes ok {ok} failed {failed} slowest {:.1} ms; server RSS peak {:.1} MiB",
        outcome.as_deref().unwrap_or("failed"),
        started.elapsed().as_secs_f64(),
        probes.max_us.load(Ordering::Relaxed) as f64 / 1000.0,
        peak_kib as f64 / 1024.0
    );
    if let Err(e) = &outcome {
        eprintln!("roomcore-hostile: {e}");
        return ExitCode::FAILURE;
    }
    if failed > 0 {
        eprintln!("roomcore-hostile: {failed} probes failed");
        return ExitCode::FAILURE;
    }
    if let Some(max) = max_rss_kib {
        if peak_kib > max {
            eprintln!(
                "roomcore-hostile: server RSS peaked at {} KiB, above {max} KiB",
                peak_kib
            );
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
