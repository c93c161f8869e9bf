//! Resume tokens: 128 bits from the operating system's random source, handed out at login
//! and required, with the session id, to take a dropped session back.
//!
//! Randomness lives here, in the server, never in the deterministic core.

use std::fmt::Write as _;

/// A session's resume token.
#[derive(Clone, PartialEq, Eq)]
pub struct ResumeToken([u8; 16]);

impl std::fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret by accident (logs, panics).
        f.write_str("ResumeToken(..)")
    }
}

impl ResumeToken {
    /// A fresh, unguessable token.
    ///
    /// # Errors
    /// When the operating system's random source fails.
    pub fn generate() -> Result<ResumeToken, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(ResumeToken(bytes))
    }

    /// The token as 32 lowercase hex digits (what the client is given).
    #[must_use]
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(32);
        for b in self.0 {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// Whether `hex` is this token. The comparison looks at every byte whatever the first
    /// difference, so its timing does not tell an attacker how much of a guess was right.
    #[must_use]
    pub fn matches(&self, hex: &str) -> bool {
        let Some(other) = parse_hex(hex) else {
            return false;
        };
        let diff = self
            .0
            .iter()
            .zip(other.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0
    }
}

fn parse_hex(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        // Two hex digits make at most 255.
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Compares two secrets of any length without stopping at the first difference (the admin
/// bearer token).
#[must_use]
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_its_hex_and_nothing_else() {
        let t = ResumeToken::generate().unwrap();
        let hex = t.to_hex();
        assert_eq!(hex.len(), 32);
        assert!(t.matches(&hex));
        assert!(t.matches(&hex.to_uppercase()));
        let mut wrong = hex.clone().into_bytes();
        wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
        assert!(!t.matches(std::str::from_utf8(&wrong).unwrap()));
        assert!(!t.matches(&hex[..30]));
        assert!(!t.matches("zz"));
        assert!(!t.matches(&format!("{}é", &hex[..30])));
    }

    #[test]
    fn two_tokens_differ() {
        let a = ResumeToken::generate().unwrap();
        let b = ResumeToken::generate().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }
}
