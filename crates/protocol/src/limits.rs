//! The numbers server, client and window must agree on. The window reads them from the app's `app_info`, the
//! server enforces them (the database too, where it can), and tests check each copy the database keeps.

use std::ops::RangeInclusive;

use crate::VerifierParams;

/// At most this many active app-specific passwords per account.
pub const MAX_APP_PASSWORDS: u32 = 25;

/// A label is 1 to this many characters after trimming and NFC normalisation.
pub const MAX_LABEL_CHARS: usize = 60;

/// An app-specific password may be made to expire after this many days (absent: it never does).
pub const EXPIRY_DAYS: RangeInclusive<i64> = 1..=365;

/// `GET /v1/account/activity` answers at most this many events (50 when not asked).
pub const MAX_ACTIVITY_EVENTS: u32 = 200;

/// Shortest primary password accepted, in characters.
pub const MIN_PRIMARY_PASSWORD_CHARS: usize = 12;

/// Whether a new primary password is long enough: at least [`MIN_PRIMARY_PASSWORD_CHARS`] characters.
pub fn primary_password_is_long_enough(password: &str) -> bool {
    password.chars().count() >= MIN_PRIMARY_PASSWORD_CHARS
}

/// Digits of a verification code (RFC 6238 TOTP, HMAC-SHA1).
pub const TOTP_DIGITS: usize = 6;
/// Seconds each verification code lasts.
pub const TOTP_PERIOD_SECS: u64 = 30;
/// Recovery codes made when two-factor authentication is turned on, each usable once.
pub const RECOVERY_CODES: usize = 10;

/// Longest email address, in bytes (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// argon2id memory cost a client accepts from a server, in KiB: from OWASP's lowest (7 MiB, paired with
/// t=5) up to 256 MiB, so a hostile server can neither weaken verifiers nor exhaust the device's memory.
pub const ARGON2_M_COST_KIB: RangeInclusive<u32> = 7_168..=262_144;
/// argon2id iterations a client accepts.
pub const ARGON2_T_COST: RangeInclusive<u32> = 1..=10;
/// argon2id lanes a client accepts.
pub const ARGON2_P_COST: RangeInclusive<u32> = 1..=8;
/// The least memory × iterations (KiB × passes) a client accepts: OWASP's equivalent settings
/// (19 MiB × 2, 12 MiB × 3, 9 MiB × 4, 7 MiB × 5) all reach it.
pub const ARGON2_MIN_WORK: u64 = 35_840;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "argon2id m={}, t={}, p={} is outside what Keyturn accepts (m {}–{} KiB, t {}–{}, p {}–{}, m×t at least {})",
    .0.m_cost, .0.t_cost, .0.p_cost,
    ARGON2_M_COST_KIB.start(), ARGON2_M_COST_KIB.end(),
    ARGON2_T_COST.start(), ARGON2_T_COST.end(),
    ARGON2_P_COST.start(), ARGON2_P_COST.end(),
    ARGON2_MIN_WORK
)]
pub struct ParamsOutOfBounds(pub VerifierParams);

impl VerifierParams {
    /// Whether a client may build verifiers with these parameters, and a server may advertise them.
    pub fn check_bounds(self) -> Result<Self, ParamsOutOfBounds> {
        let work = u64::from(self.m_cost) * u64::from(self.t_cost);
        let within = ARGON2_M_COST_KIB.contains(&self.m_cost)
            && ARGON2_T_COST.contains(&self.t_cost)
            && ARGON2_P_COST.contains(&self.p_cost)
            && work >= ARGON2_MIN_WORK;
        if within {
            Ok(self)
        } else {
            Err(ParamsOutOfBounds(self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(m_cost: u32, t_cost: u32, p_cost: u32) -> VerifierParams {
        VerifierParams { m_cost, t_cost, p_cost }
    }

    #[test]
    fn a_primary_password_needs_twelve_characters_not_bytes() {
        assert!(!primary_password_is_long_enough("elevenchars"));
        assert!(primary_password_is_long_enough("twelve chars"));
        assert!(!primary_password_is_long_enough("ééééééééééé"));
    }

    #[test]
    fn the_default_and_owasps_equivalents_are_accepted() {
        assert!(VerifierParams::default().check_bounds().is_ok());
        for (m, t) in [(19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5)] {
            assert!(params(m, t, 1).check_bounds().is_ok(), "m={m} t={t}");
        }
    }

    #[test]
    fn weak_parameters_from_a_hostile_server_are_refused() {
        assert!(params(64, 1, 1).check_bounds().is_err());
        assert!(params(19_456, 1, 1).check_bounds().is_err());
        assert!(params(7_168, 4, 1).check_bounds().is_err());
    }

    #[test]
    fn parameters_that_would_exhaust_the_device_are_refused() {
        assert!(params(4 * 1024 * 1024, 2, 1).check_bounds().is_err());
        assert!(params(19_456, 1_000, 1).check_bounds().is_err());
        assert!(params(19_456, 2, 64).check_bounds().is_err());
    }
}
