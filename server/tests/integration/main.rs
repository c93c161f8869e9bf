//! Integration tests of the reference server over 127.0.0.1 with real WebSocket clients.
//! One test binary (modules below) so the suite links once.
#![allow(clippy::unwrap_used)]

mod admin;
mod admin_service;
mod common;
mod flows;
mod hostile;
mod limits;
mod load;
mod receiver;
mod reconnect;
mod replay;
mod webhook;
