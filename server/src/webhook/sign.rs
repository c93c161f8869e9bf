//! The webhook signature: HMAC-SHA256 of the exact request body under the shared secret,
//! sent as `X-Roomcore-Signature: sha256=<lowercase hex>`. A receiver recomputes it over the
//! bytes it received (before parsing them) and compares in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-roomcore-signature";

/// The prefix naming the algorithm in the header's value.
const PREFIX: &str = "sha256=";

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    m.update(body);
    m
}

/// The header value for `body`: `sha256=<64 hex digits>`.
#[must_use]
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let tag = mac(secret, body).finalize().into_bytes();
    let mut out = String::with_capacity(PREFIX.len() + 2 * tag.len());
    out.push_str(PREFIX);
    for b in tag {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `header` is the signature of `body` under `secret` (constant-time comparison).
#[must_use]
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix(PREFIX) else {
        return false;
    };
    let Some(tag) = decode_hex(hex) else {
        return false;
    };
    mac(secret, body).verify_slice(&tag).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    digits
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_under_its_secret_only() {
        let body = br#"{"events":[]}"#;
        let header = sign(b"secret-one", body);
        assert!(
            header.starts_with("sha256=") && header.len() == 7 + 64,
            "{header}"
        );
        assert!(verify(b"secret-one", body, &header));
        assert!(!verify(b"secret-two", body, &header));
        assert!(!verify(b"secret-one", br#"{"events":[1]}"#, &header));
        assert!(!verify(b"secret-one", body, &header[7..]));
        assert!(!verify(b"secret-one", body, "sha256=zz"));
    }

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        let header = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            header,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
