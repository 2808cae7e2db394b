//! Two-factor authentication: time-based one-time codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps,
//! one step of drift either way) computed by the `totp-rs` crate, and single-use recovery codes.
//!
//! The shared secret is 160 bits from the OS CSPRNG (RFC 4226's recommended length). A code is accepted once:
//! the caller stores the step it matched and passes it back as `after`, so a replay in its window is refused.
//! Recovery codes carry 50 bits each and are stored as SHA-256, like session tokens.

use keyturn_protocol::{Email, RECOVERY_CODES, TOTP_DIGITS, TOTP_PERIOD_SECS};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

/// Shown in the authenticator app beside the account.
pub const ISSUER: &str = "Keyturn";

/// A new shared secret, base32 without padding.
pub fn new_secret() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 20]);
    OsRng.fill_bytes(bytes.as_mut());
    Zeroizing::new(Secret::from(bytes.to_vec()).to_base32())
}

/// The `otpauth://` URI an authenticator app reads from the QR code (Google's key URI format, every parameter
/// spelled out).
pub fn otpauth_uri(secret: &str, email: &Email) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_PERIOD_SECS}",
        percent_encode(email.as_str())
    )
}

/// The time step `code` matches at `unix_secs` (within one step either way) if it is later than `after`, the
/// last step accepted for this secret. `None` for a wrong, expired or replayed code, or a broken secret.
pub fn matching_step(secret: &str, code: &str, unix_secs: u64, after: Option<u64>) -> Option<u64> {
    let code = digits_only(code)?;
    let totp = totp(secret)?;
    let now = unix_secs / TOTP_PERIOD_SECS;
    // Oldest first, so a code is matched to its own step; `check` stops at the first match the same way.
    (now.saturating_sub(1)..=now + 1)
        .filter(|step| after.is_none_or(|last| *step > last))
        .find(|step| {
            let expected = Zeroizing::new(totp.generate(step * TOTP_PERIOD_SECS).to_string());
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into()
        })
}

/// Whether `code` is shaped like a verification code (6 digits, spaces allowed) rather than a recovery code.
pub fn is_totp_code(code: &str) -> bool {
    digits_only(code).is_some()
}

fn digits_only(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == TOTP_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

fn totp(secret: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_step_duration(TOTP_PERIOD_SECS)
        .with_secret(secret)
        .build()
        .ok()
}

/// Letters and digits a person reads back without confusion (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// [`RECOVERY_CODES`] new recovery codes, `xxxxx-xxxxx`, and the hash to store for each.
pub fn new_recovery_codes() -> Vec<(Zeroizing<String>, String)> {
    let mut rng = OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code = Zeroizing::new(String::with_capacity(11));
            for n in 0..10 {
                if n == 5 {
                    code.push('-');
                }
                code.push(char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]));
            }
            let hash = recovery_code_hash(&code);
            (code, hash)
        })
        .collect()
}

/// The stored form of a recovery code as typed: case, spaces and dashes do not matter.
pub fn recovery_code_hash(code: &str) -> String {
    let normal: Zeroizing<String> = Zeroizing::new(
        code.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    hex::encode(
        Sha256::new()
            .chain_update(b"keyturn-recovery-v1:")
            .chain_update(normal.as_bytes())
            .finalize(),
    )
}

/// Percent-encodes all but RFC 3986's unreserved characters and `@`.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the secret is the ASCII "12345678901234567890" repeated to the hash's key length
    /// (20 bytes for SHA-1, 32 for SHA-256, 64 for SHA-512); codes have 8 digits and 30-second steps. Keyturn
    /// itself uses SHA-1 and 6 digits; the other two check the crate's arithmetic against the whole appendix.
    fn assert_rfc_6238_vectors(algorithm: Algorithm, key_len: usize, vectors: [(u64, &str); 6]) {
        let secret: Vec<u8> = b"1234567890".iter().copied().cycle().take(key_len).collect();
        let totp = Builder::new()
            .with_algorithm(algorithm)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(secret)
            .build()
            .unwrap();
        for (time, expected) in vectors {
            assert_eq!(totp.generate(time).to_string(), expected, "{algorithm:?}, T = {time}");
        }
    }

    #[test]
    fn rfc_6238_test_vectors_for_sha1() {
        assert_rfc_6238_vectors(
            Algorithm::SHA1,
            20,
            [
                (59, "94287082"),
                (1_111_111_109, "07081804"),
                (1_111_111_111, "14050471"),
                (1_234_567_890, "89005924"),
                (2_000_000_000, "69279037"),
                (20_000_000_000, "65353130"),
            ],
        );
    }

    #[test]
    fn rfc_6238_test_vectors_for_sha256() {
        assert_rfc_6238_vectors(
            Algorithm::SHA256,
            32,
            [
                (59, "46119246"),
                (1_111_111_109, "68084774"),
                (1_111_111_111, "67062674"),
                (1_234_567_890, "91819424"),
                (2_000_000_000, "90698825"),
                (20_000_000_000, "77737706"),
            ],
        );
    }

    #[test]
    fn rfc_6238_test_vectors_for_sha512() {
        assert_rfc_6238_vectors(
            Algorithm::SHA512,
            64,
            [
                (59, "90693936"),
                (1_111_111_109, "25091201"),
                (1_111_111_111, "99943326"),
                (1_234_567_890, "93441116"),
                (2_000_000_000, "38618901"),
                (20_000_000_000, "47863826"),
            ],
        );
    }

    fn code_at(secret: &str, unix_secs: u64) -> String {
        totp(secret).unwrap().generate(unix_secs).to_string()
    }

    #[test]
    fn a_code_matches_its_step_and_one_step_either_side() {
        let secret = new_secret();
        let t = 1_800_000_000;
        let code = code_at(&secret, t);
        assert_eq!(matching_step(&secret, &code, t, None), Some(t / 30));
        assert_eq!(matching_step(&secret, &code, t + 30, None), Some(t / 30));
        assert_eq!(matching_step(&secret, &code, t - 30, None), Some(t / 30));
        assert_eq!(matching_step(&secret, &code, t + 60, None), None, "two steps late");
        assert_eq!(matching_step(&secret, &code, t - 60, None), None, "two steps early");
    }

    #[test]
    fn a_code_is_accepted_once() {
        let secret = new_secret();
        let t = 1_800_000_000;
        let code = code_at(&secret, t);
        let step = matching_step(&secret, &code, t, None).unwrap();
        assert_eq!(matching_step(&secret, &code, t + 5, Some(step)), None);
        let next = code_at(&secret, t + 30);
        assert_eq!(matching_step(&secret, &next, t + 30, Some(step)), Some(step + 1));
    }

    #[test]
    fn a_wrong_or_malformed_code_matches_nothing() {
        let secret = new_secret();
        let t = 1_800_000_000;
        let right = code_at(&secret, t);
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(matching_step(&secret, &wrong, t, None), None);
        for malformed in ["", "12345", "1234567", "12a456", "abcdefghij"] {
            assert_eq!(matching_step(&secret, malformed, t, None), None, "{malformed}");
        }
        let spaced = format!("{} {}", &right[..3], &right[3..]);
        assert!(matching_step(&secret, &spaced, t, None).is_some(), "spaces are allowed");
    }

    #[test]
    fn the_secret_is_160_bits_of_base32() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(Secret::try_from_base32(secret.as_str()).unwrap().as_ref().len(), 20);
        assert_ne!(*secret, *new_secret());
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_every_parameter() {
        let email = Email::parse("ann+mail@example.com").unwrap();
        assert_eq!(
            otpauth_uri("ABCDEF", &email),
            "otpauth://totp/Keyturn:ann%2Bmail@example.com?secret=ABCDEF&issuer=Keyturn&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().map(|(_, hash)| hash.clone()).collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let (code, hash) = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert!(!is_totp_code(code));
        assert_eq!(&recovery_code_hash(&code.to_uppercase().replace('-', " ")), hash);
    }
}
