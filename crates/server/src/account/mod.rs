//! The procedures of an account: what the server decides, whichever door a request came in by. The HTTP
//! routes (`routes/`) and the LDAP listener (`ldap/`) parse a request, call one function here and answer in
//! their own language; the admin CLI calls the same store underneath. Nothing here knows HTTP or LDAP.
//!
//! - [`app_sign_in`]: a third-party app proves an app-specific password (the verified cache, the throttle,
//!   argon2's limits, the scope asked for, last used, the audit trail).
//! - [`sign_in`] and [`check_current_password`]: the primary password, at sign-in and before a change.
//! - `second_factor`: two-factor authentication turned on, confirmed and off, and the code check sign-in and
//!   password change share ([`verify_code`]).
//! - [`change_password`]: a new primary password, which revokes every app-specific password.
//! - `attempt`: the throttled attempt, written once: reserve a place, check, settle.

mod app_sign_in;
mod attempt;
mod password;
mod second_factor;
mod sign_in;

use std::net::IpAddr;

use keyturn_protocol::{Email, EmailError, Scope};

use crate::credentials::{HashError, Overloaded};
use crate::password_policy::WeakPassword;
use crate::store::{Origin, StoreError};
use crate::throttle::{Refused, RetryAfter};

pub use app_sign_in::{app_sign_in, AppSignedIn, Door};
pub use password::change_password;
pub use second_factor::{confirm_second_factor, disable_second_factor, enrol_second_factor, verify_code};
pub use sign_in::{check_current_password, sign_in, SignedIn};

/// Who is asking, as far as the server can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Over HTTP: the client's address (through trusted proxies, the address they forward), counted by the
    /// throttle and written to the audit trail.
    Client(IpAddr),
    /// A relay that checks passwords for many users and does not say whose address is whose (a mail server
    /// binding over LDAP): only the account is counted, and the audit trail names the relay.
    Relay(IpAddr),
}

impl Caller {
    /// The address the throttle counts, if any.
    pub(crate) fn counted_address(self) -> Option<IpAddr> {
        match self {
            Caller::Client(ip) => Some(ip),
            Caller::Relay(_) => None,
        }
    }

    pub(crate) fn origin(self) -> Origin {
        match self {
            Caller::Client(ip) | Caller::Relay(ip) => Origin::Client(ip),
        }
    }
}

/// Why a procedure did not do what was asked. Each door says it in its own words (`error::ApiError` for
/// HTTP, a result code for LDAP).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A wrong email or primary password (also an unknown account, after the same work).
    #[error("wrong email or password")]
    WrongPassword,
    /// A wrong email or app-specific password, or one revoked or expired (after the same work).
    #[error("wrong email or app-specific password")]
    WrongAppPassword,
    #[error("too many attempts")]
    Throttled(RetryAfter),
    /// Too many argon2 runs in flight and waiting; nothing was checked.
    #[error("busy")]
    Overloaded,
    /// The app-specific password is right and may not reach this.
    #[error("not allowed to reach {}", .0.as_str())]
    OutOfScope(Scope),
    /// The app-specific password is right, limited to some services, and the caller did not say which one
    /// it is for: refused, so a limit never fails open.
    #[error("a limited password used without a scope")]
    ScopeRequired,
    /// The password was right; the account needs a code too.
    #[error("verification code required")]
    SecondFactorRequired,
    #[error("wrong or used verification code")]
    WrongSecondFactor,
    /// Confirming an enrolment: a wrong code, or nothing pending.
    #[error("no setup confirmed")]
    UnconfirmedSecondFactor,
    #[error("two-factor authentication already on")]
    SecondFactorEnabled,
    #[error("two-factor authentication off")]
    SecondFactorOff,
    /// The session's account is gone.
    #[error("session ended")]
    SessionEnded,
    #[error("{0}")]
    WeakPassword(WeakPassword),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Hash(HashError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

impl From<Overloaded> for Refusal {
    fn from(_: Overloaded) -> Self {
        Refusal::Overloaded
    }
}

impl From<HashError> for Refusal {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Overloaded(_) => Refusal::Overloaded,
            other => Refusal::Hash(other),
        }
    }
}

impl From<Refused> for Refusal {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Wait(wait) => Refusal::Throttled(wait),
            Refused::Store(e) => Refusal::Store(e),
        }
    }
}

/// The email a sign-in names. `Ok(None)` for a malformed one: it names no account and fails like an unknown
/// one, after the same work. `Err` for one longer than any account's: refused before any work.
pub fn claimed_email(raw: &str) -> Result<Option<Email>, EmailError> {
    match Email::parse(raw) {
        Ok(email) => Ok(Some(email)),
        Err(EmailError::TooLong) => Err(EmailError::TooLong),
        Err(_) => Ok(None),
    }
}
