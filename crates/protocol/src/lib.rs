//! # Layout
//!
//! The contract between the desktop app and the account API, in one place so they cannot drift. A new code,
//! limit or rule is added here once; server, client, app and window follow.
//!
//! - [`error_code`]: [`ErrorCode`], every stable error code of the API, spelled once.
//! - [`limits`]: the numbers both sides enforce (25 passwords, 60-character labels, argon2 bounds).
//! - [`identity`]: [`Email`] and [`AppPasswordId`], the names requests use.
//! - [`password`]: [`AppPassword`], 16 lowercase letters shown as `xxxx-xxxx-xxxx-xxxx`.
//! - [`label`]: [`Label`], the name a user gives one password.
//! - [`verifier`]: [`Verifier`], the argon2id PHC string the server stores instead of the password.
//! - [`lookup`]: [`LookupTag`], 32 bits that pick the one candidate to verify.
//! - [`scope`]: [`Scopes`], what one password may reach (mail, calendars, contacts, files).
//! - [`wire`]: the JSON bodies of every request and response of the HTTP API.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod error_code;
pub mod identity;
pub mod label;
pub mod limits;
pub mod lookup;
pub mod password;
pub mod scope;
pub mod verifier;
pub mod wire;

pub use error_code::ErrorCode;
pub use identity::{AppPasswordId, Email, EmailError};
pub use label::{Label, LabelError};
pub use limits::{
    ParamsOutOfBounds, EXPIRY_DAYS, MAX_ACTIVITY_EVENTS, MAX_APP_PASSWORDS, MAX_EMAIL_BYTES, MAX_LABEL_CHARS,
    MIN_PRIMARY_PASSWORD_CHARS, RECOVERY_CODES, TOTP_DIGITS, TOTP_PERIOD_SECS,
};
pub use lookup::{LookupTag, LookupTagError};
pub use password::{AppPassword, AppPasswordError};
pub use scope::{Scope, Scopes, ScopesError};
pub use verifier::{Argon2Memory, Verifier, VerifierError, VerifierParams};
