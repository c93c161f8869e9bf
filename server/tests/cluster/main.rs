//! The server as real processes on 127.0.0.1: a durable node killed with SIGKILL and
//! restarted, and a three-node group under a live client load through failovers. One test
//! binary (modules below) so the suite links once; the servers are the package's own
//! `roomcore-server` binary.
#![allow(clippy::unwrap_used)]

mod client;
mod group;
mod procs;
mod single;
