//! Injected time: a millisecond newtype. The core never reads a clock.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since an epoch the driver chooses.
///
/// The engine only compares and adds these; it never reads a clock. A driver that passes a
/// smaller value than the last one it passed is clamped to the last one (no panic).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// Time zero.
    pub const ZERO: Millis = Millis(0);

    /// `self + delta_ms`, saturating at `u64::MAX` so a huge delay can never wrap.
    #[must_use]
    pub fn after_ms(self, delta_ms: u64) -> Millis {
        Millis(self.0.saturating_add(delta_ms))
    }

    /// The raw millisecond count.
    #[must_use]
    pub fn as_ms(self) -> u64 {
        self.0
    }
}

impl From<u64> for Millis {
    fn from(ms: u64) -> Self {
        Millis(ms)
    }
}

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}ms", self.0)
    }
}
