//! One armed timer as the wheel stores it: 20 bytes instead of the 32 of a `(TimerKey,
//! TimerKind)` pair.
//!
//! - `seq` and the target's incarnation keep 48 bits each (2.8e14 timers, or incarnations
//!   of one slot: decades at a million a second);
//! - the slot keeps its 32 bits;
//! - the deadline keeps its low 30 bits, with the kind's 2-bit tag above them. The wheel
//!   only holds deadlines in `[base, base + 2^30)` ms (12 days) for the start `base` of its
//!   current bucket (2^30 is many spans of the wheel, and `Timers::place` keeps a rewind
//!   from stretching what is stored beyond it), so `base` and the low bits give the
//!   deadline back.
//!
//! A timer whose seq or incarnation does not fit (only a restored snapshot with huge
//! counters can make one) is not packed: it goes to the exact ordered spill map instead.

use super::{TimerKey, TimerKind};
use crate::time::Millis;

/// Bits kept of `seq` and of the incarnation.
const WIDE_BITS: u32 = 48;
/// Bits kept of the deadline.
pub(super) const DEADLINE_BITS: u32 = 30;
const DEADLINE_MASK: u32 = (1 << DEADLINE_BITS) - 1;

/// A packed timer (see the module docs). Five words of 32 bits, so a `Vec` of them has no
/// padding: `[seq low, seq high | incarnation high << 16, incarnation low, slot,
/// tag << 30 | deadline low]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Entry([u32; 5]);

impl Entry {
    /// Packs a timer, or `None` if its seq or incarnation needs more than 48 bits.
    #[inline]
    pub(super) fn pack(key: TimerKey, kind: TimerKind) -> Option<Entry> {
        let (tag, slot, incarnation) = match kind {
            TimerKind::DestroyRoom { slot, incarnation } => (0, slot, incarnation),
            TimerKind::ReconnectGrace { slot, incarnation } => (1, slot, incarnation),
            TimerKind::MemberBatch { slot, incarnation } => (2, slot, incarnation),
            TimerKind::BanExpiry { slot, incarnation } => (3, slot, incarnation),
        };
        if key.seq >> WIDE_BITS != 0 || incarnation >> WIDE_BITS != 0 {
            return None;
        }
        // Each cast keeps exactly the bits the layout gives the field (checked just above
        // for the 48-bit ones).
        let high = (key.seq >> 32) as u32 | ((incarnation >> 32) as u32) << 16;
        Some(Entry([
            key.seq as u32,
            high,
            incarnation as u32,
            slot,
            tag << DEADLINE_BITS | (key.deadline.0 as u32 & DEADLINE_MASK),
        ]))
    }

    /// The timer's sequence number.
    #[inline]
    pub(super) fn seq(&self) -> u64 {
        u64::from(self.0[0]) | u64::from(self.0[1] & 0xffff) << 32
    }

    /// Milliseconds from `base` to the deadline, for a `base` at most 2^30 ms before it.
    #[inline]
    pub(super) fn offset(&self, base: u64) -> u64 {
        // Only the low 30 bits of `base` matter: the difference is taken modulo 2^30.
        u64::from((self.0[4] & DEADLINE_MASK).wrapping_sub(base as u32) & DEADLINE_MASK)
    }

    /// The deadline, given the start of the wheel's current bucket (see the module docs).
    #[inline]
    pub(super) fn deadline(&self, base: u64) -> u64 {
        base + self.offset(base)
    }

    #[inline]
    pub(super) fn key(&self, base: u64) -> TimerKey {
        TimerKey {
            deadline: Millis(self.deadline(base)),
            seq: self.seq(),
        }
    }

    #[inline]
    pub(super) fn kind(&self) -> TimerKind {
        let slot = self.0[3];
        let incarnation = u64::from(self.0[2]) | u64::from(self.0[1] >> 16) << 32;
        match self.0[4] >> DEADLINE_BITS {
            0 => TimerKind::DestroyRoom { slot, incarnation },
            1 => TimerKind::ReconnectGrace { slot, incarnation },
            2 => TimerKind::MemberBatch { slot, incarnation },
            _ => TimerKind::BanExpiry { slot, incarnation },
        }
    }

    /// The key as one number, in key order among entries decoded with the same `base`.
    #[inline]
    pub(super) fn rank(&self, base: u64) -> u128 {
        u128::from(self.offset(base)) << 64 | u128::from(self.seq())
    }
}
