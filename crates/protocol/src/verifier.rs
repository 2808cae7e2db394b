//! The argon2id verifier the device builds for a new password, and the server checks and stores.

use std::fmt;

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

/// Bytes of argon2 output a verifier must carry.
pub const OUTPUT_LEN: usize = 32;
/// Shortest salt accepted, in bytes.
pub const MIN_SALT_LEN: usize = 16;

/// argon2id cost parameters, as the server advertises them at `GET /v1/config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifierParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for VerifierParams {
    /// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            m_cost: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl VerifierParams {
    fn argon2(&self) -> Result<Argon2<'static>, VerifierError> {
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, Some(OUTPUT_LEN))
            .map_err(|_| VerifierError::InvalidParams)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Memory for argon2 runs, kept from one run to the next (see [`Verifier::verify_in`]).
#[derive(Default)]
pub struct Argon2Memory(Vec<Block>);

/// An argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
///
/// `Debug` shows only that it is a verifier: the salt and hash are not secret, but they are useless in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifierError {
    #[error("the verifier is not a PHC string")]
    Malformed,
    #[error("the verifier must use argon2id")]
    WrongAlgorithm,
    #[error("the verifier must use argon2 version 19")]
    WrongVersion,
    #[error("the verifier must use the advertised parameters m={}, t={}, p={}", .0.m_cost, .0.t_cost, .0.p_cost)]
    WrongParams(VerifierParams),
    #[error("the verifier's salt must be at least {MIN_SALT_LEN} bytes")]
    ShortSalt,
    #[error("the verifier's hash must be {OUTPUT_LEN} bytes")]
    WrongOutputLength,
    #[error("the argon2 parameters are out of range")]
    InvalidParams,
}

impl Verifier {
    /// Hashes `secret` with a fresh 16-byte salt. Slow on purpose: call it off the async runtime.
    pub fn build(secret: &[u8], params: VerifierParams) -> Result<Self, VerifierError> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = params
            .argon2()?
            .hash_password(secret, &salt)
            .map_err(|_| VerifierError::InvalidParams)?;
        Ok(Self(hash.to_string()))
    }

    /// Accepts a PHC string only if it is argon2id v19 with exactly `params`, a salt of at least 16 bytes
    /// and a 32-byte hash.
    pub fn parse(phc: &str, params: VerifierParams) -> Result<Self, VerifierError> {
        let hash = PasswordHash::new(phc).map_err(|_| VerifierError::Malformed)?;
        if hash.algorithm != argon2::ARGON2ID_IDENT {
            return Err(VerifierError::WrongAlgorithm);
        }
        if hash.version != Some(Version::V0x13.into()) {
            return Err(VerifierError::WrongVersion);
        }
        let found = Params::try_from(&hash).map_err(|_| VerifierError::Malformed)?;
        // Only m, t and p may appear: no keyid or associated data.
        if hash.params.iter().count() != 3
            || found.m_cost() != params.m_cost
            || found.t_cost() != params.t_cost
            || found.p_cost() != params.p_cost
        {
            return Err(VerifierError::WrongParams(params));
        }
        let salt = hash.salt.ok_or(VerifierError::ShortSalt)?;
        let mut buf = [0u8; 64];
        let salt_len = salt.decode_b64(&mut buf).map_err(|_| VerifierError::ShortSalt)?.len();
        if salt_len < MIN_SALT_LEN {
            return Err(VerifierError::ShortSalt);
        }
        match hash.hash {
            Some(output) if output.len() == OUTPUT_LEN => Ok(Self(phc.to_owned())),
            _ => Err(VerifierError::WrongOutputLength),
        }
    }

    /// The argon2 parameters this verifier was made with, if it is a PHC string at all.
    pub fn params(&self) -> Option<VerifierParams> {
        let hash = PasswordHash::new(&self.0).ok()?;
        let params = Params::try_from(&hash).ok()?;
        Some(VerifierParams {
            m_cost: params.m_cost(),
            t_cost: params.t_cost(),
            p_cost: params.p_cost(),
        })
    }

    /// A verifier read back from storage, already checked when it was stored.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// Runs argon2 once in `memory`, which grows to the parameters' size and is kept for the next run: a
    /// server that verifies all day allocates its ~19 MiB once per thread rather than once per sign-in (which
    /// fragments the heap until the process is hundreds of megabytes). Slow on purpose: call it off the
    /// async runtime.
    pub fn verify_in(&self, secret: &[u8], memory: &mut Argon2Memory) -> bool {
        let memory = &mut memory.0;
        let Ok(hash) = PasswordHash::new(&self.0) else {
            return false;
        };
        let (Ok(params), Some(expected), Some(salt)) = (Params::try_from(&hash), hash.hash, hash.salt) else {
            return false;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let mut output = [0u8; 64];
        let Some(output) = output.get_mut(..expected.len()) else {
            return false;
        };
        let computed = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into_with_memory(
            secret,
            salt,
            output,
            &mut memory[..blocks],
        );
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(output).is_ok_and(|computed| computed == expected)
    }

    /// Runs argon2 once. Slow on purpose: call it off the async runtime.
    pub fn verify(&self, secret: &[u8]) -> bool {
        let Ok(hash) = PasswordHash::new(&self.0) else {
            return false;
        };
        Argon2::default().verify_password(secret, &hash).is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier(argon2id)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small costs keep unit tests fast; the checks do not depend on the size.
    const FAST: VerifierParams = VerifierParams {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    #[test]
    fn a_built_verifier_verifies_its_password_and_nothing_else() {
        let v = Verifier::build(b"abcdefghijklmnop", FAST).unwrap();
        assert!(v.verify(b"abcdefghijklmnop"));
        assert!(!v.verify(b"abcdefghijklmnoq"));
    }

    #[test]
    fn verifying_in_kept_memory_agrees_with_verifying_afresh() {
        let v = Verifier::build(b"abcdefghijklmnop", FAST).unwrap();
        let mut memory = Argon2Memory::default();
        assert!(v.verify_in(b"abcdefghijklmnop", &mut memory));
        assert!(!v.verify_in(b"abcdefghijklmnoq", &mut memory));
        let bigger = Verifier::build(b"x", VerifierParams { m_cost: 128, ..FAST }).unwrap();
        assert!(
            bigger.verify_in(b"x", &mut memory),
            "the memory grows for larger parameters"
        );
        assert!(
            v.verify_in(b"abcdefghijklmnop", &mut memory),
            "and still serves smaller ones"
        );
        assert!(!Verifier::from_stored("garbage".into()).verify_in(b"x", &mut memory));
    }

    #[test]
    fn a_verifier_knows_its_parameters() {
        assert_eq!(Verifier::build(b"x", FAST).unwrap().params(), Some(FAST));
        assert_eq!(Verifier::from_stored("garbage".into()).params(), None);
    }

    #[test]
    fn a_built_verifier_passes_its_own_parse() {
        let v = Verifier::build(b"x", FAST).unwrap();
        assert_eq!(Verifier::parse(v.as_str(), FAST).unwrap(), v);
    }

    #[test]
    fn other_parameters_are_rejected() {
        let v = Verifier::build(b"x", FAST).unwrap();
        let other = VerifierParams { m_cost: 128, ..FAST };
        assert_eq!(
            Verifier::parse(v.as_str(), other),
            Err(VerifierError::WrongParams(other))
        );
    }

    #[test]
    fn argon2i_and_old_versions_are_rejected() {
        let v = Verifier::build(b"x", FAST).unwrap();
        let argon2i = v.as_str().replacen("argon2id", "argon2i", 1);
        assert_eq!(Verifier::parse(&argon2i, FAST), Err(VerifierError::WrongAlgorithm));
        let v16 = v.as_str().replacen("v=19", "v=16", 1);
        assert_eq!(Verifier::parse(&v16, FAST), Err(VerifierError::WrongVersion));
    }

    #[test]
    fn a_short_salt_or_short_hash_is_rejected() {
        // 8-byte salt "AAAAAAAAAAA", 32-byte hash.
        let hash32 = "A".repeat(43);
        let short_salt = format!("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA${hash32}");
        assert_eq!(Verifier::parse(&short_salt, FAST), Err(VerifierError::ShortSalt));
        let salt16 = "A".repeat(22);
        let short_hash = format!("$argon2id$v=19$m=64,t=1,p=1${salt16}${}", "A".repeat(22));
        assert_eq!(
            Verifier::parse(&short_hash, FAST),
            Err(VerifierError::WrongOutputLength)
        );
        let good = format!("$argon2id$v=19$m=64,t=1,p=1${salt16}${hash32}");
        assert!(Verifier::parse(&good, FAST).is_ok());
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(Verifier::parse("hunter2", FAST), Err(VerifierError::Malformed));
    }

    #[test]
    fn debug_does_not_show_the_hash() {
        let v = Verifier::build(b"x", FAST).unwrap();
        assert_eq!(format!("{v:?}"), "Verifier(argon2id)");
    }
}
