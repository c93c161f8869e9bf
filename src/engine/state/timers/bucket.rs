//! A wheel bucket that grows in fixed chunks: appending never moves what is already stored
//! (a doubling `Vec` copies a big bucket on every growth and leaves up to half of it
//! unused), and a bucket's spare room is at most one chunk.

use super::entry::Entry;

/// Entries per chunk: 64 × 20 bytes = 1,280 bytes. Small enough that 1,024 half-filled last
/// chunks cost well under a byte per timer at a million pending, big enough that a chunk
/// allocation is paid for by 64 appends.
pub(super) const CHUNK: usize = 64;

/// Chunks kept for reuse after buckets emptied (bounded: at most 80 KiB).
const POOL_MAX: usize = 64;

type Chunk = Box<[Entry; CHUNK]>;

/// Emptied chunks, reused by the next appends instead of freed and allocated again.
#[derive(Debug, Clone, Default)]
pub(super) struct Pool(Vec<Chunk>);

impl Pool {
    // Once per 64 appends: kept out of the inlined `Bucket::push`.
    #[inline(never)]
    fn take(&mut self) -> Chunk {
        self.0
            .pop()
            .unwrap_or_else(|| Box::new([Entry::default(); CHUNK]))
    }

    fn give(&mut self, chunk: Chunk) {
        if self.0.len() < POOL_MAX {
            self.0.push(chunk);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

/// The entries of one bucket, in appending order, in chunks of [`CHUNK`].
#[derive(Debug, Clone, Default)]
pub(super) struct Bucket {
    chunks: Vec<Chunk>,
    len: usize,
}

impl Bucket {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `e`; returns whether that took a new chunk (always so for the first entry,
    /// which is what lets the caller mark the bucket occupied only then).
    #[inline]
    pub(super) fn push(&mut self, e: Entry, pool: &mut Pool) -> bool {
        let at = self.len % CHUNK;
        let fresh = at == 0;
        if fresh {
            self.chunks.push(pool.take());
        }
        if let Some(last) = self.chunks.last_mut() {
            last[at] = e;
        }
        self.len += 1;
        fresh
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.slices().flatten()
    }

    /// The entries as one slice per chunk (the last one cut at the length): the tight loop
    /// for reading a whole bucket.
    pub(super) fn slices(&self) -> impl Iterator<Item = &[Entry]> {
        let len = self.len;
        self.chunks
            .iter()
            .enumerate()
            .map(move |(k, c)| c.get(..(len - k * CHUNK).min(CHUNK)).unwrap_or(&[]))
    }

    /// Gives every chunk back to `pool`, leaving the bucket empty.
    pub(super) fn clear(&mut self, pool: &mut Pool) {
        for chunk in self.chunks.drain(..) {
            pool.give(chunk);
        }
        self.chunks = Vec::new();
        self.len = 0;
    }

    /// Keeps the entries `keep` accepts, in order, compacting them to the front; the
    /// chunks no longer needed go back to `pool`.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool, pool: &mut Pool) {
        let mut kept = 0;
        for read in 0..self.len {
            let e = self.chunks[read / CHUNK][read % CHUNK];
            if keep(&e) {
                self.chunks[kept / CHUNK][kept % CHUNK] = e;
                kept += 1;
            }
        }
        self.len = kept;
        let needed = kept.div_ceil(CHUNK);
        while self.chunks.len() > needed {
            if let Some(chunk) = self.chunks.pop() {
                pool.give(chunk);
            }
        }
        if needed == 0 {
            self.chunks = Vec::new();
        }
    }
}
