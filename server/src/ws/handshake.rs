//! The WebSocket upgrade request (RFC 6455 section 4.2): checked, and answered with the accept
//! key. Only what a server must check is checked; extensions and subprotocols are not offered.

use axum::http::{header, HeaderMap, Method};

/// Why an upgrade request was refused (answered 400 or 426).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not a GET.
    Method,
    /// No `Upgrade: websocket` / `Connection: upgrade`.
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13 (answered 426 with the version we speak).
    Version,
    /// No usable `Sec-WebSocket-Key`.
    Key,
}

impl HandshakeError {
    /// A human-readable reason.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            HandshakeError::Method => "a WebSocket upgrade is a GET",
            HandshakeError::NotUpgrade => "expected Upgrade: websocket and Connection: upgrade",
            HandshakeError::Version => "only WebSocket version 13 is spoken",
            HandshakeError::Key => "missing or malformed Sec-WebSocket-Key",
        }
    }
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// Checks an upgrade request; returns the `Sec-WebSocket-Accept` value to answer with.
///
/// # Errors
/// What is wrong with the request.
pub fn accept(method: &Method, headers: &HeaderMap) -> Result<String, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::Method);
    }
    if !has_token(headers, header::UPGRADE, "websocket")
        || !has_token(headers, header::CONNECTION, "upgrade")
    {
        return Err(HandshakeError::NotUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(HandshakeError::Version);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(HandshakeError::Key)?;
    // A key is 16 random bytes in base64: 24 characters.
    if key.as_bytes().len() != 24 {
        return Err(HandshakeError::Key);
    }
    Ok(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_rfc_example_key_is_accepted() {
        let h = headers(&[
            ("upgrade", "websocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(
            accept(&Method::GET, &h).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn bad_requests_are_named() {
        let ok = [
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        assert_eq!(
            accept(&Method::POST, &headers(&ok)),
            Err(HandshakeError::Method)
        );
        assert_eq!(
            accept(&Method::GET, &headers(&ok[1..])),
            Err(HandshakeError::NotUpgrade)
        );
        let mut v8 = ok;
        v8[2] = ("sec-websocket-version", "8");
        assert_eq!(
            accept(&Method::GET, &headers(&v8)),
            Err(HandshakeError::Version)
        );
        let mut short = ok;
        short[3] = ("sec-websocket-key", "abc");
        assert_eq!(
            accept(&Method::GET, &headers(&short)),
            Err(HandshakeError::Key)
        );
    }
}
