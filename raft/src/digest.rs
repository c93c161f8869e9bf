//! `state_digest`: the sha256 of the engine's deterministic snapshot, in hex, so that a
//! checker can compare replicas (or a replica with a single engine fed the same inputs) at
//! the same applied index without shipping the state.

use std::fmt::Write as _;

use roomcore::Engine;
use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// sha256 hex of the engine's snapshot (its serde JSON: ordered containers only, so equal
/// states give equal bytes).
#[must_use]
pub fn engine_digest(engine: &Engine) -> String {
    let mut hasher = Sha256::new();
    // Serializing owned, ordered data into a hasher cannot fail; an error would leave the
    // digest of a prefix, which still differs from every healthy replica's.
    let _ = serde_json::to_writer(HashWriter(&mut hasher), engine);
    hex(&hasher.finalize())
}

/// Feeds serialized bytes straight into the hasher (no copy of a large snapshot).
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_of_the_engine_json() {
        let engine = Engine::new(roomcore::Config::default()).expect("default config is valid");
        let json = serde_json::to_vec(&engine).expect("serializes");
        assert_eq!(engine_digest(&engine), hex(&Sha256::digest(&json)));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
