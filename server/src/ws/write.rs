//! Writing server frames: unmasked, unfragmented, each a small header followed by a payload
//! that may be shared with other connections. A batch of frames goes out in vectored writes
//! straight from those shared bytes: nothing is copied into a per-connection buffer.

use super::Closing;
use bytes::{Bytes, BytesMut};
use std::io::{self, IoSlice};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Frame types the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A text message.
    Text,
    /// A close frame.
    Close,
    /// A ping.
    Ping,
    /// A pong.
    Pong,
}

/// A frame header: at most 10 bytes, on the stack.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    buf: [u8; 10],
    len: usize,
}

impl std::ops::Deref for Header {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The header of a final frame of `kind` with a `len`-byte payload.
#[must_use]
pub fn header(kind: Kind, len: usize) -> Header {
    let op: u8 = match kind {
        Kind::Text => 1,
        Kind::Close => 8,
        Kind::Ping => 9,
        Kind::Pong => 10,
    };
    let mut buf = [0u8; 10];
    buf[0] = 0x80 | op;
    let n = if let Ok(short) = u8::try_from(len).map(|b| b.min(126)) {
        if usize::from(short) == len && len < 126 {
            buf[1] = short;
            2
        } else {
            header_long(&mut buf, len)
        }
    } else {
        header_long(&mut buf, len)
    };
    Header { buf, len: n }
}

fn header_long(buf: &mut [u8; 10], len: usize) -> usize {
    if let Ok(n) = u16::try_from(len) {
        buf[1] = 126;
        buf[2..4].copy_from_slice(&n.to_be_bytes());
        4
    } else {
        buf[1] = 127;
        buf[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// The payload of a close frame: the code, then the reason cut to fit 125 bytes.
#[must_use]
pub fn close_payload(closing: Closing) -> Bytes {
    let mut p = closing.code.number().to_be_bytes().to_vec();
    let mut reason = closing.reason;
    while reason.len() > 123 {
        // Cut at a character boundary.
        let mut end = 123;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason = &reason[..end];
    }
    p.extend_from_slice(reason.as_bytes());
    Bytes::from(p)
}

/// Payloads up to this size are copied next to their header (one buffer for a burst of
/// small frames); larger ones are written from their shared bytes, uncopied.
pub const COPY_BELOW_BYTES: usize = 2048;

/// Frames gathered for one write, in order: small frames copied into one staging buffer,
/// large payloads kept as shared references.
#[derive(Debug, Default)]
pub struct Batch {
    parts: Vec<Bytes>,
    staging: BytesMut,
    bytes: usize,
}

impl Batch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a frame.
    pub fn push(&mut self, kind: Kind, payload: Bytes) {
        let h = header(kind, payload.len());
        self.bytes += h.len() + payload.len();
        self.staging.extend_from_slice(&h);
        if payload.len() < COPY_BELOW_BYTES {
            self.staging.extend_from_slice(&payload);
        } else {
            self.parts.push(self.staging.split().freeze());
            self.parts.push(payload);
        }
    }

    /// Bytes in the batch.
    #[must_use]
    pub fn len_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is in it.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Writes the whole batch and flushes; the batch is empty afterwards.
    ///
    /// # Errors
    /// The socket's error.
    pub async fn write_to<W: AsyncWrite + Unpin>(&mut self, w: &mut W) -> io::Result<()> {
        if !self.staging.is_empty() {
            self.parts.push(self.staging.split().freeze());
        }
        let mut first = 0;
        while first < self.parts.len() {
            let slices: Vec<IoSlice<'_>> = self.parts[first..]
                .iter()
                .take(64)
                .map(|b| IoSlice::new(b))
                .collect();
            let mut n = w.write_vectored(&slices).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while n > 0 {
                let part = &mut self.parts[first];
                if n >= part.len() {
                    n -= part.len();
                    first += 1;
                } else {
                    let _ = part.split_to(n);
                    n = 0;
                }
            }
        }
        self.parts.clear();
        self.bytes = 0;
        w.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::CloseCode;

    #[test]
    fn headers_use_the_shortest_length_form() {
        assert_eq!(&header(Kind::Text, 5)[..], &[0x81, 5]);
        assert_eq!(&header(Kind::Text, 126)[..], &[0x81, 126, 0, 126]);
        assert_eq!(&header(Kind::Ping, 0)[..], &[0x89, 0]);
        assert_eq!(
            &header(Kind::Text, 70_000)[..],
            &[0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }

    #[test]
    fn close_payloads_carry_the_code_and_a_bounded_reason() {
        let p = close_payload(Closing::new(CloseCode::InvalidPayload, "bad"));
        assert_eq!(&p[..], &[0x03, 0xef, b'b', b'a', b'd']);
        let long: &'static str = Box::leak("é".repeat(100).into_boxed_str());
        assert!(close_payload(Closing::new(CloseCode::Policy, long)).len() <= 125);
    }

    #[tokio::test]
    async fn a_batch_writes_every_frame_in_order() {
        let mut b = Batch::new();
        let shared = Bytes::from_static(b"shared");
        let large = Bytes::from(vec![b'L'; COPY_BELOW_BYTES]);
        b.push(Kind::Text, shared.clone());
        b.push(Kind::Pong, Bytes::new());
        b.push(Kind::Text, large.clone());
        b.push(Kind::Text, shared);
        let mut out = Vec::new();
        b.write_to(&mut out).await.unwrap();
        let mut want = b"\x81\x06shared\x8a\x00".to_vec();
        want.extend_from_slice(&header(Kind::Text, large.len()));
        want.extend_from_slice(&large);
        want.extend_from_slice(b"\x81\x06shared");
        assert_eq!(out, want);
        assert!(b.is_empty());
    }
}
