//! A pending timer's key as its owner keeps it: the key, or none, in the key's own 16 bytes.
//!
//! Every room and session holds one (the destroy timer, the reconnect grace timer), and
//! `Option<TimerKey>` costs 24 bytes because the key has no spare bit pattern. A sequence
//! number of `u64::MAX` is never handed out (the counter would need 2^64 arms to reach it),
//! so it stands for "none" here; a snapshot naming it is refused when read.

use super::timers::TimerKey;
use crate::time::Millis;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The sequence number that means "no timer".
const NONE_SEQ: u64 = u64::MAX;

/// See the module docs. Serialized as `Option<TimerKey>`, the form snapshots always had.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerHandle(TimerKey);

impl TimerHandle {
    /// No pending timer.
    pub(crate) const NONE: TimerHandle = TimerHandle(TimerKey {
        deadline: Millis(0),
        seq: NONE_SEQ,
    });

    /// The pending timer's key, if there is one.
    #[inline]
    pub(crate) fn get(self) -> Option<TimerKey> {
        (self.0.seq != NONE_SEQ).then_some(self.0)
    }

    pub(crate) fn is_some(self) -> bool {
        self.0.seq != NONE_SEQ
    }

    /// Holds `key`, armed by the timer table (whose sequence numbers never reach `u64::MAX`).
    pub(crate) fn set(&mut self, key: TimerKey) {
        assert_ne!(
            key.seq, NONE_SEQ,
            "the timer table never hands out seq u64::MAX"
        );
        self.0 = key;
    }

    /// The key, leaving none.
    pub(crate) fn take(&mut self) -> Option<TimerKey> {
        std::mem::replace(self, TimerHandle::NONE).get()
    }
}

impl Default for TimerHandle {
    fn default() -> Self {
        TimerHandle::NONE
    }
}

impl std::fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Serialize for TimerHandle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl<'de> Deserialize<'de> for TimerHandle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<TimerKey>::deserialize(d)? {
            None => Ok(TimerHandle::NONE),
            Some(key) if key.seq == NONE_SEQ => Err(serde::de::Error::custom(
                "a timer's sequence number is below 2^64 - 1",
            )),
            Some(key) => Ok(TimerHandle(key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_key_or_none_in_the_keys_size() {
        assert_eq!(
            std::mem::size_of::<TimerHandle>(),
            std::mem::size_of::<TimerKey>()
        );
        let key = TimerKey {
            deadline: Millis(7),
            seq: 0,
        };
        let mut h = TimerHandle::default();
        assert!(!h.is_some());
        assert_eq!(h.get(), None);
        h.set(key);
        assert!(h.is_some());
        assert_eq!(h.get(), Some(key));
        assert_eq!(h.take(), Some(key));
        assert_eq!(h, TimerHandle::NONE);
        assert_eq!(h.take(), None);
    }

    /// Serialized exactly as `Option<TimerKey>`; the reserved sequence number is refused.
    #[test]
    fn serializes_as_an_optional_key() {
        let key = TimerKey {
            deadline: Millis(5),
            seq: 3,
        };
        let mut h = TimerHandle::NONE;
        assert_eq!(serde_json::to_string(&h).unwrap(), "null");
        h.set(key);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            serde_json::to_string(&Some(key)).unwrap()
        );
        assert_eq!(
            serde_json::from_str::<TimerHandle>("null").unwrap(),
            TimerHandle::NONE
        );
        let back: TimerHandle = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
        let reserved = format!(r#"{{"deadline":1,"seq":{}}}"#, u64::MAX);
        assert!(serde_json::from_str::<TimerHandle>(&reserved).is_err());
        assert_eq!(format!("{h:?}"), format!("{:?}", Some(key)));
    }
}
