//! A buffered writer of output lines: what `roomcore replay` writes through.

use super::encode;
use crate::ids::SessionId;
use crate::output::{Outputs, Stamped, To};
use std::io::{self, Write};

/// Bytes gathered before they are handed to the inner writer (and the most the buffer
/// holds past one line: it is handed over as soon as a line takes it past this).
pub const OUTPUT_BUFFER_BYTES: usize = 1 << 16;

/// Writes outputs as trace lines — the same bytes as [`write_output`](super::write_output)
/// and [`write_outputs`](super::write_outputs) — through a buffer of its own: a member event
/// for several sessions is written once, and each recipient's line is copied from it with
/// the recipient's id in place. Memory stays bounded: the buffer is handed to the inner
/// writer whenever it passes [`OUTPUT_BUFFER_BYTES`], even within one step.
///
/// Like [`std::io::BufWriter`], what is buffered is written when the writer is dropped
/// (errors then are ignored: call [`OutputWriter::flush`] to see them).
#[derive(Debug)]
pub struct OutputWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    /// One member event's line without its session id, and where the id goes.
    template: Vec<u8>,
}

impl<W: Write> OutputWriter<W> {
    /// Writes to `inner` (which need not be buffered).
    pub fn new(inner: W) -> OutputWriter<W> {
        OutputWriter::with_capacity(inner, OUTPUT_BUFFER_BYTES + 4096)
    }

    /// Starts with a buffer of `bytes` (it grows to [`OUTPUT_BUFFER_BYTES`] and a line).
    pub(super) fn with_capacity(inner: W, bytes: usize) -> OutputWriter<W> {
        OutputWriter {
            inner,
            buf: Vec::with_capacity(bytes),
            template: Vec::new(),
        }
    }

    /// Writes what is buffered, without flushing the inner writer.
    ///
    /// # Errors
    /// When the inner writer fails.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.hand_over()
    }

    /// Writes every output of a buffer, one line per recipient, in order.
    ///
    /// # Errors
    /// When the inner writer fails.
    pub fn write_outputs(&mut self, outputs: &Outputs) -> io::Result<()> {
        for s in outputs {
            match s.output.to() {
                Some(to @ To::Sessions(_)) => self.write_run(s, outputs.sessions(&to))?,
                _ => {
                    encode::line(&mut self.buf, s);
                    self.spill()?;
                }
            }
        }
        Ok(())
    }

    /// Writes one output line.
    ///
    /// # Errors
    /// When the inner writer fails, or the output is addressed to a run of sessions
    /// ([`To::Sessions`]), which only its [`Outputs`] buffer can resolve.
    pub fn write_output(&mut self, s: &Stamped) -> io::Result<()> {
        if let Some(To::Sessions(run)) = s.output.to() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "an output addressed to {} recipients is written from its Outputs buffer",
                    run.len()
                ),
            ));
        }
        encode::line(&mut self.buf, s);
        self.spill()
    }

    /// Writes what is buffered and flushes the inner writer.
    ///
    /// # Errors
    /// When the inner writer fails.
    pub fn flush(&mut self) -> io::Result<()> {
        self.hand_over()?;
        self.inner.flush()
    }

    /// The inner writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// One member event, for each of `sessions`.
    fn write_run(&mut self, s: &Stamped, sessions: &[SessionId]) -> io::Result<()> {
        self.template.clear();
        let cut = encode::line(&mut self.template, s)
            .expect("an output addressed to a run leaves a place for the session id");
        let (head, tail) = self.template.split_at(cut);
        for &session in sessions {
            self.buf.extend_from_slice(head);
            encode::session(&mut self.buf, session);
            self.buf.extend_from_slice(tail);
            if self.buf.len() >= OUTPUT_BUFFER_BYTES {
                self.inner.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// Hands the buffer over once it is full.
    fn spill(&mut self) -> io::Result<()> {
        if self.buf.len() >= OUTPUT_BUFFER_BYTES {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let r = self.inner.write_all(&self.buf);
        // Bytes that failed are not tried again: the error is the caller's to handle.
        self.buf.clear();
        r
    }
}

impl<W: Write> Drop for OutputWriter<W> {
    fn drop(&mut self) {
        // As `BufWriter`: a drop cannot report an error; `flush` does.
        let _ = self.hand_over();
    }
}
