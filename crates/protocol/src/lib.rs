//! # Layout
//!
//! What the desktop app and the account API must agree on, in one place so they cannot drift:
//!
//! - [`password`]: [`AppPassword`], 16 lowercase letters shown as `xxxx-xxxx-xxxx-xxxx`.
//! - [`label`]: [`Label`], the name a user gives one password.
//! - [`verifier`]: [`Verifier`], the argon2id PHC string the server stores instead of the password.
//! - [`lookup`]: [`LookupTag`], 32 bits that pick the one candidate to verify.
//! - [`wire`]: the JSON bodies of every request and response of the HTTP API.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod label;
pub mod lookup;
pub mod password;
pub mod verifier;
pub mod wire;

pub use label::{Label, LabelError};
pub use lookup::{LookupTag, LookupTagError};
pub use password::{AppPassword, AppPasswordError};
pub use verifier::{Verifier, VerifierError, VerifierParams};

/// At most this many active app passwords per account.
pub const MAX_APP_PASSWORDS: u32 = 25;

/// Shortest primary password the server accepts on a change.
pub const MIN_PRIMARY_PASSWORD_CHARS: usize = 12;
