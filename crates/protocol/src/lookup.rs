//! The lookup tag: 32 bits that let the server find the one candidate to verify without trying them all.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::AppPassword;

/// 8 lowercase hex characters: the first 32 bits of SHA-256("keyturn-lookup-v1:" ‖ password).
///
/// 32 bits narrow 25 candidates to one, yet leave 2^43 passwords per tag, so a stolen database still needs
/// argon2 for every guess.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LookupTag(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a lookup tag is 8 lowercase hexadecimal characters")]
pub struct LookupTagError;

const DOMAIN: &[u8] = b"keyturn-lookup-v1:";

impl LookupTag {
    pub fn of(password: &AppPassword) -> Self {
        let digest = Sha256::new()
            .chain_update(DOMAIN)
            .chain_update(password.expose())
            .finalize();
        Self(hex::encode(&digest[..4]))
    }

    pub fn parse(input: &str) -> Result<Self, LookupTagError> {
        let valid = input.len() == 8 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(LookupTagError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LookupTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_first_four_bytes_of_the_domain_separated_hash() {
        // printf 'keyturn-lookup-v1:abcdefghijklmnop' | sha256sum
        let p = AppPassword::parse("abcd-efgh-ijkl-mnop").unwrap();
        let full = hex::encode(Sha256::digest(b"keyturn-lookup-v1:abcdefghijklmnop"));
        assert_eq!(LookupTag::of(&p).as_str(), &full[..8]);
    }

    #[test]
    fn the_tag_ignores_how_the_password_was_typed() {
        let a = AppPassword::parse("ABCD EFGH IJKL MNOP").unwrap();
        let b = AppPassword::parse("abcdefghijklmnop").unwrap();
        assert_eq!(LookupTag::of(&a), LookupTag::of(&b));
    }

    #[test]
    fn only_eight_lowercase_hex_characters_parse() {
        assert!(LookupTag::parse("0a1b2c3d").is_ok());
        assert_eq!(LookupTag::parse("0A1B2C3D"), Err(LookupTagError));
        assert_eq!(LookupTag::parse("0a1b2c3"), Err(LookupTagError));
        assert_eq!(LookupTag::parse("0a1b2c3g"), Err(LookupTagError));
    }
}
