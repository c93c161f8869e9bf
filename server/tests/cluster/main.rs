//! The server as real processes on 127.0.0.1: a durable node killed with SIGKILL and
//! restarted, a three-node group under a live client load through failovers, and webhooks
//! from a group through a failover. One test
//! binary (modules below) so the suite links once; the servers are the package's own
//! `roomcore-server` binary.
#![allow(clippy::unwrap_used)]

mod client;
mod group;
mod procs;
#[allow(dead_code)]
#[path = "../integration/receiver.rs"]
mod receiver;
mod single;
mod webhooks;
