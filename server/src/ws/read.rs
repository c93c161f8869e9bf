//! Reading client frames (RFC 6455 section 5) with limits.
//!
//! The reader keeps at most one read chunk of raw bytes plus the message being assembled
//! (bounded by `max_message_bytes`); a frame's payload is unmasked straight into the message,
//! never held twice. After a message larger than [`KEEP_BYTES`] the buffer is released, so a
//! connection that once sent a large message does not keep its size while idle.
//!
//! Every method is cancel-safe: all state lives in the reader, so a `select!` or timeout
//! around [`FrameReader::next`] loses nothing.

use super::{CloseCode, Closing};
use bytes::{Buf, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// Bytes asked of the socket per read.
pub const READ_CHUNK_BYTES: usize = 4096;

/// A message buffer grown past this is freed after its message instead of kept.
pub const KEEP_BYTES: usize = 8 * 1024;

/// Largest payload of a control frame (ping, pong, close).
const MAX_CONTROL_BYTES: u64 = 125;

/// What the reader enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest single frame payload.
    pub max_frame_bytes: usize,
    /// Largest message (all its fragments together).
    pub max_message_bytes: usize,
    /// Most frames one message may be split into.
    pub max_fragments: usize,
}

/// One thing a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A complete text message.
    Text(String),
    /// A complete binary message (its content is not kept: the protocol is JSON text).
    Binary,
    /// A ping, with the payload to echo.
    Ping(Vec<u8>),
    /// A pong.
    Pong,
    /// A close frame: its code, if it had one.
    Close(Option<u16>),
}

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the TCP connection (or its write side).
    Eof,
    /// The socket failed.
    Io(io::Error),
    /// The peer broke the protocol or a limit: close with this.
    Violation(Closing),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn violation(code: CloseCode, reason: &'static str) -> ReadError {
    ReadError::Violation(Closing::new(code, reason))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Op {
    fn of(bits: u8) -> Option<Op> {
        Some(match bits {
            0 => Op::Continuation,
            1 => Op::Text,
            2 => Op::Binary,
            8 => Op::Close,
            9 => Op::Ping,
            10 => Op::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        matches!(self, Op::Close | Op::Ping | Op::Pong)
    }
}

/// The frame whose payload is being read.
#[derive(Debug, Clone, Copy)]
struct Head {
    fin: bool,
    op: Op,
    mask: [u8; 4],
    /// Payload bytes not read yet.
    remaining: u64,
    /// Payload bytes read so far (the mask's phase).
    done: u64,
}

/// Frames from one client, over the read half of its socket.
#[derive(Debug)]
pub struct FrameReader<R> {
    io: R,
    limits: ReadLimits,
    raw: BytesMut,
    head: Option<Head>,
    /// The data message being assembled.
    message: Vec<u8>,
    /// Its type, once its first frame is in.
    message_op: Option<Op>,
    fragments: usize,
    /// The payload of the control frame being read.
    control: Vec<u8>,
    /// When the message being read (or its first fragment) started to arrive.
    started: Option<Instant>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `io`; `prefix` is what was read past the upgrade request already.
    pub fn new(io: R, prefix: &[u8], limits: ReadLimits) -> FrameReader<R> {
        let mut raw = BytesMut::with_capacity(READ_CHUNK_BYTES.max(prefix.len()));
        raw.extend_from_slice(prefix);
        FrameReader {
            io,
            limits,
            raw,
            head: None,
            message: Vec::new(),
            message_op: None,
            fragments: 0,
            control: Vec::new(),
            started: None,
        }
    }

    /// When the message now being received started to arrive, if one is under way: a message
    /// that takes too long is the connection task's to cut.
    #[must_use]
    pub fn message_started(&self) -> Option<Instant> {
        self.started
    }

    /// Bytes this reader holds now (raw input and the message being assembled).
    #[must_use]
    pub fn held_bytes(&self) -> usize {
        self.raw.capacity() + self.message.capacity() + self.control.capacity()
    }

    /// The next complete message or control frame.
    ///
    /// # Errors
    /// End of stream, a socket error, or a violation to close with.
    pub async fn next(&mut self) -> Result<Incoming, ReadError> {
        loop {
            if let Some(incoming) = self.parse()? {
                return Ok(incoming);
            }
            if self.raw.capacity() - self.raw.len() < READ_CHUNK_BYTES / 2 {
                self.raw.reserve(READ_CHUNK_BYTES);
            }
            if self.io.read_buf(&mut self.raw).await? == 0 {
                return Err(ReadError::Eof);
            }
        }
    }

    /// Consumes what is buffered; `None` when more bytes are needed.
    fn parse(&mut self) -> Result<Option<Incoming>, ReadError> {
        loop {
            let head = match self.head {
                Some(h) => h,
                None => match self.parse_head()? {
                    Some(h) => h,
                    None => return Ok(None),
                },
            };
            let head = self.take_payload(head);
            if head.remaining > 0 {
                self.head = Some(head);
                return Ok(None);
            }
            self.head = None;
            if let Some(incoming) = self.complete(head)? {
                return Ok(Some(incoming));
            }
        }
    }

    /// Parses and checks a frame header, if all of it is buffered.
    fn parse_head(&mut self) -> Result<Option<Head>, ReadError> {
        let raw = &self.raw[..];
        if raw.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (raw[0], raw[1]);
        // What the first two bytes can tell is checked before waiting for the rest.
        if b0 & 0x70 != 0 {
            return Err(violation(CloseCode::Protocol, "reserved bits set"));
        }
        let op = Op::of(b0 & 0x0f).ok_or(violation(CloseCode::Protocol, "unknown opcode"))?;
        if b1 & 0x80 == 0 {
            return Err(violation(
                CloseCode::Protocol,
                "client frames must be masked",
            ));
        }
        let ext = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let total = 2 + ext + 4;
        if raw.len() < total {
            return Ok(None);
        }
        let len = match ext {
            2 => u64::from(u16::from_be_bytes([raw[2], raw[3]])),
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&raw[2..10]);
                u64::from_be_bytes(b)
            }
            _ => u64::from(b1 & 0x7f),
        };
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&raw[2 + ext..total]);
        let fin = b0 & 0x80 != 0;
        self.check(op, fin, len)?;
        self.raw.advance(total);
        if !op.is_control() {
            self.fragments += 1;
            if self.started.is_none() {
                self.started = Some(Instant::now());
            }
            if op != Op::Continuation {
                self.message_op = Some(op);
            }
        }
        Ok(Some(Head {
            fin,
            op,
            mask,
            remaining: len,
            done: 0,
        }))
    }

    /// The rules a header must follow, checked before any of its payload is read.
    fn check(&self, op: Op, fin: bool, len: u64) -> Result<(), ReadError> {
        if op.is_control() {
            if !fin {
                return Err(violation(CloseCode::Protocol, "fragmented control frame"));
            }
            if len > MAX_CONTROL_BYTES {
                return Err(violation(
                    CloseCode::Protocol,
                    "control frame over 125 bytes",
                ));
            }
            return Ok(());
        }
        match (op, self.message_op.is_some()) {
            (Op::Continuation, false) => {
                return Err(violation(
                    CloseCode::Protocol,
                    "continuation without a message",
                ))
            }
            (Op::Text | Op::Binary, true) => {
                return Err(violation(
                    CloseCode::Protocol,
                    "new message inside a fragmented one",
                ))
            }
            _ => {}
        }
        let max_frame = u64::try_from(self.limits.max_frame_bytes).unwrap_or(u64::MAX);
        let so_far = u64::try_from(self.message.len()).unwrap_or(u64::MAX);
        let max_message = u64::try_from(self.limits.max_message_bytes).unwrap_or(u64::MAX);
        if len > max_frame || so_far.saturating_add(len) > max_message {
            return Err(violation(CloseCode::TooBig, "message over the size limit"));
        }
        if self.fragments >= self.limits.max_fragments {
            return Err(violation(
                CloseCode::Policy,
                "too many fragments in one message",
            ));
        }
        Ok(())
    }

    /// Moves what is buffered of the payload into its destination, unmasked.
    fn take_payload(&mut self, mut head: Head) -> Head {
        let avail = u64::try_from(self.raw.len()).unwrap_or(u64::MAX);
        let n = head.remaining.min(avail);
        // `n` is at most the buffered length, a usize.
        let n_usize = usize::try_from(n).unwrap_or(0);
        let dest = if head.op.is_control() {
            &mut self.control
        } else {
            &mut self.message
        };
        let phase = usize::try_from(head.done % 4).unwrap_or(0);
        dest.reserve(n_usize);
        dest.extend(
            self.raw[..n_usize]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ head.mask[(phase + i) % 4]),
        );
        self.raw.advance(n_usize);
        head.remaining -= n;
        head.done += n;
        head
    }

    /// A frame is complete: deliver a control frame or a finished message.
    fn complete(&mut self, head: Head) -> Result<Option<Incoming>, ReadError> {
        match head.op {
            Op::Ping => return Ok(Some(Incoming::Ping(std::mem::take(&mut self.control)))),
            Op::Pong => {
                self.control.clear();
                return Ok(Some(Incoming::Pong));
            }
            Op::Close => return self.close_frame().map(Some),
            Op::Continuation | Op::Text | Op::Binary => {}
        }
        if !head.fin {
            return Ok(None);
        }
        let op = self.message_op.take();
        self.fragments = 0;
        self.started = None;
        let body = if self.message.capacity() > KEEP_BYTES {
            std::mem::take(&mut self.message)
        } else {
            let b = self.message.clone();
            self.message.clear();
            b
        };
        if self.raw.capacity() > KEEP_BYTES && self.raw.is_empty() {
            self.raw = BytesMut::new();
        }
        match op {
            Some(Op::Binary) => Ok(Some(Incoming::Binary)),
            _ => String::from_utf8(body)
                .map(|t| Some(Incoming::Text(t)))
                .map_err(|_| violation(CloseCode::InvalidPayload, "text message is not UTF-8")),
        }
    }

    fn close_frame(&mut self) -> Result<Incoming, ReadError> {
        let payload = std::mem::take(&mut self.control);
        match payload.len() {
            0 => Ok(Incoming::Close(None)),
            1 => Err(violation(CloseCode::Protocol, "close frame of one byte")),
            _ => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
                if !valid {
                    return Err(violation(CloseCode::Protocol, "invalid close code"));
                }
                if std::str::from_utf8(&payload[2..]).is_err() {
                    return Err(violation(
                        CloseCode::InvalidPayload,
                        "close reason is not UTF-8",
                    ));
                }
                Ok(Incoming::Close(Some(code)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReadLimits = ReadLimits {
        max_frame_bytes: 1000,
        max_message_bytes: 2000,
        max_fragments: 4,
    };

    /// A masked client frame.
    fn frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut f = vec![(u8::from(fin) << 7) | op];
        match payload.len() {
            n if n < 126 => f.push(0x80 | u8::try_from(n).unwrap()),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    async fn read_all(bytes: Vec<u8>) -> Vec<Result<Incoming, String>> {
        let mut r = FrameReader::new(&bytes[..], &[], LIMITS);
        let mut out = Vec::new();
        loop {
            match r.next().await {
                Ok(i) => out.push(Ok(i)),
                Err(ReadError::Eof) => return out,
                Err(ReadError::Violation(c)) => {
                    out.push(Err(format!("{}", c.code.number())));
                    return out;
                }
                Err(ReadError::Io(e)) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn messages_fragments_and_control_frames() {
        let mut b = frame(true, 1, b"hello");
        b.extend(frame(false, 1, b"hel"));
        b.extend(frame(true, 9, b"p"));
        b.extend(frame(true, 0, "lo é".as_bytes()));
        b.extend(frame(true, 2, b"\x00\x01"));
        b.extend(frame(true, 10, b""));
        b.extend(frame(true, 8, &[3, 232, b'b', b'y']));
        assert_eq!(
            read_all(b).await,
            vec![
                Ok(Incoming::Text("hello".into())),
                Ok(Incoming::Ping(b"p".to_vec())),
                Ok(Incoming::Text("hello é".into())),
                Ok(Incoming::Binary),
                Ok(Incoming::Pong),
                Ok(Incoming::Close(Some(1000))),
            ]
        );
    }

    #[tokio::test]
    async fn byte_by_byte_input_gives_the_same_messages() {
        let mut b = frame(true, 1, &[b'x'; 300]);
        b.extend(frame(true, 1, b"end"));
        let mut r = FrameReader::new(tokio_test_trickle(b), &[], LIMITS);
        assert_eq!(r.next().await.unwrap(), Incoming::Text("x".repeat(300)));
        assert!(r.message_started().is_none());
        assert_eq!(r.next().await.unwrap(), Incoming::Text("end".into()));
    }

    /// A reader that yields one byte per read.
    fn tokio_test_trickle(bytes: Vec<u8>) -> impl AsyncRead + Unpin {
        struct Trickle(std::collections::VecDeque<u8>);
        impl AsyncRead for Trickle {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                if let Some(b) = self.0.pop_front() {
                    buf.put_slice(&[b]);
                }
                std::task::Poll::Ready(Ok(()))
            }
        }
        Trickle(bytes.into())
    }

    #[tokio::test]
    async fn violations_get_their_close_codes() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (frame(true, 1, &[0xff, 0xfe]), "1007"),
            (frame(true, 1, &[b'x'; 1001]), "1009"),
            (
                [
                    frame(false, 1, &[b'x'; 900]),
                    frame(false, 0, &[b'x'; 900]),
                    frame(true, 0, &[b'x'; 300]),
                ]
                .concat(),
                "1009",
            ),
            (
                [
                    frame(false, 1, b"a"),
                    frame(false, 0, b"b"),
                    frame(false, 0, b"c"),
                    frame(false, 0, b"d"),
                    frame(true, 0, b"e"),
                ]
                .concat(),
                "1008",
            ),
            (frame(true, 0, b"x"), "1002"),
            (
                [frame(false, 1, b"x"), frame(true, 1, b"y")].concat(),
                "1002",
            ),
            (frame(false, 9, b""), "1002"),
            (frame(true, 9, &[0; 126]), "1002"),
            (frame(true, 3, b""), "1002"),
            (vec![0x81, 0x01, b'x'], "1002"),
            (vec![0xc1, 0x80, 0, 0, 0, 0], "1002"),
            (frame(true, 8, &[0]), "1002"),
            (frame(true, 8, &[0x03, 0xed]), "1002"),
            (frame(true, 8, &[0x03, 0xe8, 0xff]), "1007"),
        ];
        for (bytes, code) in cases {
            let got = read_all(bytes).await;
            assert_eq!(got.last(), Some(&Err(code.to_owned())), "{got:?}");
        }
    }

    #[tokio::test]
    async fn a_large_message_does_not_leave_a_large_buffer_behind() {
        let limits = ReadLimits {
            max_frame_bytes: 100_000,
            max_message_bytes: 100_000,
            max_fragments: 4,
        };
        let mut b = frame(true, 1, &[b'x'; 60_000]);
        b.extend(frame(true, 1, b"small"));
        let mut r = FrameReader::new(&b[..], &[], limits);
        assert!(matches!(r.next().await.unwrap(), Incoming::Text(t) if t.len() == 60_000));
        assert!(r.held_bytes() < 3 * KEEP_BYTES, "{}", r.held_bytes());
        assert_eq!(r.next().await.unwrap(), Incoming::Text("small".into()));
    }
}
