//! Sorting a bucket that becomes current: a counting pass splits its entries into about one
//! sub-range ("part") of deadline per entry, a scatter puts each where its part starts, and
//! only parts holding two or more entries need a comparison sort.

use super::entry::Entry;
use super::MIN_BUCKETS_LOG2;
use super::SPAN_LOG2;

/// Most parts a bucket is split into: 32 KiB of counters at most.
pub(super) const MAX_PARTS_LOG2: u32 = 12;
/// Fewest parts (when splitting at all): fewer would leave too many bits below a part.
const MIN_PARTS_LOG2: u32 = 6;
/// Buckets of at most this many entries are sorted directly.
const SMALL_SORT: usize = 64;
/// Parts of at most this many entries are sorted by insertion (the common overflow of a
/// part is 2 or 3 entries; a general sort's set-up costs more than that).
const INSERTION_SORT: usize = 8;

// The widest part (the smallest wheel's buckets split in the fewest parts) leaves 12 bits
// of offset below it, which with a 48-bit seq fit one u64.
const _: () = assert!(SPAN_LOG2 - MIN_BUCKETS_LOG2 - MIN_PARTS_LOG2 + 48 <= 64);

/// How a bucket `2^shift` ms wide is split: `2^log2` parts of `2^part_shift` ms each.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parts {
    log2: u32,
    part_shift: u32,
}

impl Parts {
    /// The split for about `len` entries, or `None` when they are better sorted directly
    /// (few entries, or a bucket too narrow to split).
    pub(super) fn for_len(len: usize, shift: u32) -> Option<Parts> {
        if len <= SMALL_SORT || shift < MIN_PARTS_LOG2 {
            return None;
        }
        // ceil(log2(len)), at least MIN_PARTS_LOG2 since len > SMALL_SORT.
        let log2 = (usize::BITS - (len - 1).leading_zeros())
            .clamp(MIN_PARTS_LOG2, MAX_PARTS_LOG2)
            .min(shift);
        Some(Parts {
            log2,
            part_shift: shift - log2,
        })
    }

    /// How many parts.
    #[inline]
    pub(super) fn len(self) -> usize {
        1 << self.log2
    }

    /// log2 of a part's width in ms.
    #[inline]
    pub(super) fn shift(self) -> u32 {
        self.part_shift
    }

    /// The part of an entry `offset` ms after the bucket's start. An offset past the bucket
    /// (never expected) goes to the last part rather than out of bounds.
    #[inline]
    pub(super) fn of(self, offset: u64) -> usize {
        ((offset >> self.part_shift) as usize).min(self.len() - 1)
    }

    /// Zeroed counters for [`Parts::scatter`]: `counts[p + 1]` is to count part `p`.
    pub(super) fn reset(self, counts: &mut Vec<usize>) {
        counts.clear();
        counts.resize(self.len() + 1, 0);
    }

    /// Writes `entries` (of the bucket starting at `base`) into `out` sorted by key, given
    /// `counts[p + 1]` = how many of them fall in part `p` (what [`Parts::reset`] and a
    /// counting pass leave). The entries of a part are sorted by a comparison sort, so even
    /// a bucket of one deadline is O(k log k).
    pub(super) fn scatter(
        self,
        entries: &[Entry],
        counts: &mut [usize],
        out: &mut Vec<Entry>,
        base: u64,
    ) {
        out.clear();
        out.resize(entries.len(), Entry::default());
        let parts = self.len();
        // In place, `counts[p]` becomes the number of entries before part `p`: where it starts.
        let mut before = 0;
        for count in counts.iter_mut() {
            before += *count;
            *count = before;
        }
        // `counts[p]` is where part `p`'s next entry goes; once all are placed it is where
        // the part ends.
        for e in entries {
            let p = self.of(e.offset(base));
            if let Some(at) = out.get_mut(counts[p]) {
                *at = *e;
            }
            counts[p] += 1;
        }
        // Within a part the offsets share their bits above `part_shift` (at most 12 bits
        // are left below it), so the low bits and the 48-bit seq order a part in one u64.
        let low = (1u64 << self.part_shift) - 1;
        let part_key = |e: &Entry| (e.offset(base) & low) << 48 | e.seq();
        let mut start = 0;
        for &end in &counts[..parts] {
            // Most parts hold zero or one entry: one subtraction decides.
            if end - start >= 2 {
                if let Some(run) = out.get_mut(start..end) {
                    sort_part(run, part_key);
                }
            }
            start = end;
        }
    }
}

/// Sorts the entries of one part: by insertion when there are few (the common case), else
/// by the general sort.
#[inline]
fn sort_part(run: &mut [Entry], key: impl Fn(&Entry) -> u64) {
    if run.len() > INSERTION_SORT {
        run.sort_unstable_by_key(key);
        return;
    }
    for i in 1..run.len() {
        let mut j = i;
        while j > 0 && key(&run[j]) < key(&run[j - 1]) {
            run.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Writes `entries` (of the bucket starting at `base`, `2^shift` ms wide) into `out`, sorted
/// by key (see the module docs). `counts` is scratch space, kept by the caller to reuse.
pub(super) fn sort_bucket(
    entries: &[Entry],
    out: &mut Vec<Entry>,
    counts: &mut Vec<usize>,
    shift: u32,
    base: u64,
) {
    let Some(parts) = Parts::for_len(entries.len(), shift) else {
        out.clear();
        out.extend_from_slice(entries);
        out.sort_unstable_by_key(|e| e.rank(base));
        return;
    };
    parts.reset(counts);
    for e in entries {
        counts[parts.of(e.offset(base)) + 1] += 1;
    }
    parts.scatter(entries, counts, out, base);
}
