//! User authentication: signed access tokens, checked at login.
//!
//! A token is a JSON Web Token signed with HMAC-SHA256 (`HS256`, RFC 7519) under a key the
//! service and this server share:
//!
//! ```text
//! base64url({"alg":"HS256","typ":"JWT"}) . base64url(claims) . base64url(HMAC-SHA256(key, first two parts))
//! claims: {"sub":"alice","exp":1767225600,"rooms":["lobby","team-*"]}
//! ```
//!
//! - `sub`: the user id the token lets a client log in as (the login's `user` must equal it);
//! - `exp`: expiry, seconds since the Unix epoch; checked at login only (an open session is
//!   not cut when its token expires, and resuming needs the session's resume token, not this);
//! - `rooms` (optional): the rooms the session may create, join, enter or switch to: exact
//!   ids, or a prefix followed by `*`. Absent: any room.
//!
//! The key is at least [`MIN_KEY_BYTES`] bytes. `roomcore-server token` mints a token with the
//! same code the server verifies it with; any JWT library that does HS256 does too.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Shortest signing key accepted (256 bits, the size of the HMAC-SHA256 output).
pub const MIN_KEY_BYTES: usize = 32;

/// Longest token accepted (a few rooms' worth of claims).
pub const MAX_TOKEN_BYTES: usize = 4096;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The key access tokens are signed with.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A key from its bytes (a key file's content without its trailing newline).
    ///
    /// # Errors
    /// A key shorter than [`MIN_KEY_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<SigningKey, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the signing key must be at least {MIN_KEY_BYTES} bytes (got {}); \
                 `roomcore-server keygen` makes one",
                bytes.len()
            ));
        }
        Ok(SigningKey(bytes.to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The rooms allowed (exact ids, or `prefix*`); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<Vec<String>>,
}

impl Claims {
    /// Whether the token lets its holder into `room`.
    #[must_use]
    pub fn allows_room(&self, room: &str) -> bool {
        self.rooms.as_ref().is_none_or(|rooms| {
            rooms.iter().any(|r| match r.strip_suffix('*') {
                Some(prefix) => room.starts_with(prefix),
                None => r == room,
            })
        })
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// Not three base64url parts of JSON, or too long.
    Malformed,
    /// Not `HS256`.
    Algorithm,
    /// The signature does not match (another key, or altered claims).
    Signature,
    /// Past its `exp`.
    Expired,
}

impl AuthError {
    /// A human-readable reason.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            AuthError::Malformed => "the access token is not a well-formed JWT",
            AuthError::Algorithm => "the access token is not signed with HS256",
            AuthError::Signature => "the access token's signature does not match",
            AuthError::Expired => "the access token has expired",
        }
    }
}

/// A signed token for `claims`.
#[must_use]
pub fn mint(key: &SigningKey, claims: &Claims) -> String {
    // Strings and numbers only: serializing cannot fail.
    let body = serde_json::to_vec(claims).unwrap_or_default();
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(body)
    );
    let mut mac = key.mac();
    mac.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{sig}")
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Checks a token's signature and expiry at `now_s` (seconds since the Unix epoch).
///
/// # Errors
/// Why it is refused.
pub fn verify(key: &SigningKey, token: &str, now_s: u64) -> Result<Claims, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| AuthError::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| AuthError::Malformed)?;
    if header.alg != "HS256" {
        return Err(AuthError::Algorithm);
    }
    let mut mac = key.mac();
    mac.update(&token.as_bytes()[..h.len() + 1 + c.len()]);
    // Compares in constant time.
    mac.verify_slice(&decode(s)?)
        .map_err(|_| AuthError::Signature)?;
    let claims: Claims = serde_json::from_slice(&decode(c)?).map_err(|_| AuthError::Malformed)?;
    if claims.exp <= now_s {
        return Err(AuthError::Expired);
    }
    Ok(claims)
}

/// Seconds since the Unix epoch now (the wall clock: expiries are calendar times).
#[must_use]
pub fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh random key as 64 hex digits (what `roomcore-server keygen` prints).
///
/// # Errors
/// When the operating system's random source fails.
pub fn generate_key_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: u8) -> SigningKey {
        SigningKey::new(&[c; 32]).unwrap()
    }

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "alice".into(),
            exp,
            rooms: Some(vec!["lobby".into(), "team-*".into()]),
        }
    }

    #[test]
    fn a_minted_token_verifies_with_its_key_only() {
        let t = mint(&key(1), &claims(1000));
        assert_eq!(verify(&key(1), &t, 999), Ok(claims(1000)));
        assert_eq!(verify(&key(2), &t, 999), Err(AuthError::Signature));
        assert_eq!(verify(&key(1), &t, 1000), Err(AuthError::Expired));
    }

    #[test]
    fn altered_or_malformed_tokens_are_refused() {
        let t = mint(&key(1), &claims(1000));
        let (signed, sig) = t.rsplit_once('.').unwrap();
        let (h, _) = signed.split_once('.').unwrap();
        let forged = format!(
            "{h}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(r#"{"sub":"mallory","exp":1000}"#)
        );
        assert_eq!(verify(&key(1), &forged, 1), Err(AuthError::Signature));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"mallory","exp":1000}"#)
        );
        assert_eq!(verify(&key(1), &none, 1), Err(AuthError::Algorithm));
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(5000)] {
            assert_eq!(verify(&key(1), bad, 1), Err(AuthError::Malformed), "{bad}");
        }
    }

    #[test]
    fn room_grants_are_exact_ids_or_prefixes() {
        let c = claims(1);
        assert!(c.allows_room("lobby") && c.allows_room("team-7"));
        assert!(!c.allows_room("lobby2") && !c.allows_room("other"));
        let any = Claims { rooms: None, ..c };
        assert!(any.allows_room("whatever"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SigningKey::new(b"change-me").is_err());
        assert_eq!(generate_key_hex().unwrap().len(), 64);
    }
}
