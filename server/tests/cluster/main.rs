//! The server as real processes on 127.0.0.1: a durable node killed with SIGKILL and
//! restarted, a three-node group under a live client load through failovers, webhooks
//! from a group through a failover, and a member event routed by each node. One test
//! binary (modules below) so the suite links once; the servers are the package's own
//! `roomcore-server` binary.
#![allow(clippy::unwrap_used)]

mod client;
mod fanout;
mod group;
mod procs;
#[allow(dead_code)]
#[path = "../integration/receiver.rs"]
mod receiver;
mod single;
mod webhooks;
