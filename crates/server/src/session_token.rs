//! Session tokens. A token exists in the clear only in the answer to a sign-in; the server keeps and looks up
//! its SHA-256, so a copy of the database signs nobody in.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A session ends 30 days after sign-in, or after 7 days unused, whichever comes first.
pub const SESSION_ABSOLUTE: Duration = Duration::days(30);
pub const SESSION_IDLE: Duration = Duration::days(7);
/// `last_seen_at` is written at most this often.
pub const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A new token: 256 bits from the OS CSPRNG, base64url. Handed to the user once, then dropped (zeroized).
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// A fresh token and the hash to store for it.
    pub fn issue() -> (Self, TokenHash) {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        let token = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()));
        let hash = TokenHash::of(&token);
        (Self(token), hash)
    }

    /// The token for the one answer that carries it.
    pub fn reveal(self) -> String {
        self.0.to_string()
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(redacted)")
    }
}

/// The SHA-256 of a session token, hex: what the database stores and is searched by.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of a token a request presented.
    pub fn of(token: &str) -> Self {
        Self(hex::encode(Sha256::digest(token.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not a secret, but a stable handle on a live session: keep it out of logs too.
        f.write_str("TokenHash(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_256_bits_and_its_hash_is_what_a_request_presenting_it_looks_up() {
        let (token, hash) = SessionToken::issue();
        let token = token.reveal();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_eq!(TokenHash::of(&token), hash);
        assert_ne!(hash.as_str(), token);
    }

    #[test]
    fn debug_shows_neither_token_nor_hash() {
        let (token, hash) = SessionToken::issue();
        let hash_text = hash.as_str().to_owned();
        assert!(!format!("{token:?}{hash:?}").contains(&hash_text));
        assert!(!format!("{token:?}").contains(&token.reveal()));
    }
}
