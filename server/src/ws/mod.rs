//! The server's side of the WebSocket protocol (RFC 6455), spoken directly on the socket
//! rather than through a general-purpose library, for three reasons:
//!
//! - **Shared frames, no copies.** An output is serialized once and every recipient's writer
//!   sends the same reference-counted bytes after its own 2-10 byte header
//!   ([`write`](mod@write)); a library with an output buffer would copy each frame into a
//!   per-connection buffer that keeps its largest size for the connection's life.
//! - **Limits on what a client makes the server hold** ([`read`]): frame and message size,
//!   fragments per message, and when a message started (a message trickled in slowly is cut
//!   by the connection task). The read buffer is released after a large message.
//! - **Exact close codes** ([`CloseCode`]): invalid UTF-8 is 1007, a protocol violation 1002,
//!   a message over the limit 1009, a policy breach (rate, idle, too slow) 1008.
//!
//! The upgrade itself ([`handshake`]) checks the request and computes the accept key.

pub mod handshake;
pub mod read;
pub mod write;

/// A close code the server sends (RFC 6455 section 7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 1000: the peer asked to close, or the session is done.
    Normal,
    /// 1001: the server is going away (shutting down).
    GoingAway,
    /// 1002: a frame broke the protocol (unmasked, reserved bits, bad opcode, bad fragment).
    Protocol,
    /// 1007: a text message or close reason that is not UTF-8.
    InvalidPayload,
    /// 1008: a policy breach: too many frames, idle, too slow a reader, replaced, no login.
    Policy,
    /// 1009: a frame or message over the size limit.
    TooBig,
    /// 1011: the server failed.
    Internal,
    /// 1013: the server is busy; try again later (evicted while not logged in).
    TryAgainLater,
}

impl CloseCode {
    /// The code's number on the wire.
    #[must_use]
    pub fn number(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::InvalidPayload => 1007,
            CloseCode::Policy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::Internal => 1011,
            CloseCode::TryAgainLater => 1013,
        }
    }
}

/// Why the server closes a connection: the code and a short reason (sent in the close frame,
/// at most 123 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    /// The close code.
    pub code: CloseCode,
    /// The reason text.
    pub reason: &'static str,
}

impl Closing {
    /// A close with `code` and `reason`.
    #[must_use]
    pub const fn new(code: CloseCode, reason: &'static str) -> Closing {
        Closing { code, reason }
    }
}
