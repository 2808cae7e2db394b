//! The stable error codes of the HTTP API: `{"error":{"code":"…","message":"…"}}`.
//!
//! Each code is spelled once, in [`ErrorCode::as_str`]. The server answers with these, the client carries them,
//! and the desktop app turns each into the sentence its user reads. A code this build does not know (from a
//! newer server) reads as [`ErrorCode::Unknown`], so an older app still shows the server's own message.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A wrong email or password (primary or app-specific). Never says which.
    InvalidCredentials,
    /// Too many failed attempts; `Retry-After` says how long to wait.
    RateLimited,
    /// The server has as many password checks in hand as it takes; `Retry-After` says when to try again.
    Overloaded,
    /// No session, or it ended.
    Unauthenticated,
    /// A new primary password shorter than [`crate::MIN_PRIMARY_PASSWORD_CHARS`].
    WeakPassword,
    InvalidLabel,
    InvalidVerifier,
    InvalidLookupTag,
    /// An active app-specific password of the account already has this label (in any case).
    DuplicateLabel,
    /// An active app-specific password of the account already has this lookup tag: make another password.
    LookupTagConflict,
    /// The account has [`crate::MAX_APP_PASSWORDS`] active app-specific passwords.
    LimitReached,
    /// An `Idempotency-Key` sent again with a different body.
    IdempotencyMismatch,
    MissingIdempotencyKey,
    /// No such resource; also another account's app-specific password.
    NotFound,
    PayloadTooLarge,
    /// A body that is not the JSON the endpoint takes.
    BadRequest,
    /// The server failed; the log has the detail.
    Internal,
    /// Two-factor authentication is already on for this account.
    SecondFactorEnabled,
    /// A wrong, used or expired verification code (or recovery code), or no enrolment to confirm.
    InvalidSecondFactor,
    /// The password was right and the account needs a verification code too; or, on a server that
    /// requires it, the account must turn two-factor authentication on before it makes app passwords.
    SecondFactorRequired,
    /// `scopes` empty or naming something other than mail, calendars, contacts or files.
    InvalidScopes,
    /// `expires_in_days` outside [`crate::EXPIRY_DAYS`].
    InvalidExpiry,
    /// A right app-specific password that may not reach what the request asked for.
    InsufficientScope,
    /// A code this build does not know yet.
    Unknown,
}

impl ErrorCode {
    /// Every code a server of this version can send (all but [`ErrorCode::Unknown`]).
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::InvalidCredentials,
        ErrorCode::RateLimited,
        ErrorCode::Overloaded,
        ErrorCode::Unauthenticated,
        ErrorCode::WeakPassword,
        ErrorCode::InvalidLabel,
        ErrorCode::InvalidVerifier,
        ErrorCode::InvalidLookupTag,
        ErrorCode::DuplicateLabel,
        ErrorCode::LookupTagConflict,
        ErrorCode::LimitReached,
        ErrorCode::IdempotencyMismatch,
        ErrorCode::MissingIdempotencyKey,
        ErrorCode::NotFound,
        ErrorCode::PayloadTooLarge,
        ErrorCode::BadRequest,
        ErrorCode::Internal,
        ErrorCode::SecondFactorEnabled,
        ErrorCode::InvalidSecondFactor,
        ErrorCode::SecondFactorRequired,
        ErrorCode::InvalidScopes,
        ErrorCode::InvalidExpiry,
        ErrorCode::InsufficientScope,
    ];

    /// The code as it travels: snake_case.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::InvalidLabel => "invalid_label",
            ErrorCode::InvalidVerifier => "invalid_verifier",
            ErrorCode::InvalidLookupTag => "invalid_lookup_tag",
            ErrorCode::DuplicateLabel => "duplicate_label",
            ErrorCode::LookupTagConflict => "lookup_tag_conflict",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::IdempotencyMismatch => "idempotency_mismatch",
            ErrorCode::MissingIdempotencyKey => "missing_idempotency_key",
            ErrorCode::NotFound => "not_found",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Internal => "internal",
            ErrorCode::SecondFactorEnabled => "second_factor_enabled",
            ErrorCode::InvalidSecondFactor => "invalid_second_factor",
            ErrorCode::SecondFactorRequired => "second_factor_required",
            ErrorCode::InvalidScopes => "invalid_scopes",
            ErrorCode::InvalidExpiry => "invalid_expiry",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The code spelled `code`, or [`ErrorCode::Unknown`].
    pub fn parse(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|known| known.as_str() == code)
            .unwrap_or(ErrorCode::Unknown)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Ok(Self::parse(&code))
    }
}

/// In the OpenAPI document the code is a string enum of [`ErrorCode::ALL`], built from the same list.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;

    use super::ErrorCode;

    impl utoipa::PartialSchema for ErrorCode {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .description(Some("Stable machine-readable code."))
                .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
                .into()
        }
    }

    impl utoipa::ToSchema for ErrorCode {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_json() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn a_code_from_a_newer_server_is_unknown() {
        assert_eq!(
            serde_json::from_str::<ErrorCode>("\"a_code_from_the_future\"").unwrap(),
            ErrorCode::Unknown
        );
    }

    #[test]
    fn all_lists_every_code_but_unknown_once() {
        // The match has no wildcard: a new variant fails to compile until it is sorted here, and then fails
        // this test until it is in ALL.
        let listed = |code: ErrorCode| match code {
            ErrorCode::Unknown => !ErrorCode::ALL.contains(&code),
            ErrorCode::InvalidCredentials
            | ErrorCode::RateLimited
            | ErrorCode::Overloaded
            | ErrorCode::Unauthenticated
            | ErrorCode::WeakPassword
            | ErrorCode::InvalidLabel
            | ErrorCode::InvalidVerifier
            | ErrorCode::InvalidLookupTag
            | ErrorCode::DuplicateLabel
            | ErrorCode::LookupTagConflict
            | ErrorCode::LimitReached
            | ErrorCode::IdempotencyMismatch
            | ErrorCode::MissingIdempotencyKey
            | ErrorCode::NotFound
            | ErrorCode::PayloadTooLarge
            | ErrorCode::BadRequest
            | ErrorCode::Internal
            | ErrorCode::SecondFactorEnabled
            | ErrorCode::InvalidSecondFactor
            | ErrorCode::SecondFactorRequired
            | ErrorCode::InvalidScopes
            | ErrorCode::InvalidExpiry
            | ErrorCode::InsufficientScope => ErrorCode::ALL.iter().filter(|c| **c == code).count() == 1,
        };
        for code in ErrorCode::ALL.into_iter().chain([ErrorCode::Unknown]) {
            assert!(listed(code), "{code:?}");
        }
        let spellings: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(spellings.len(), ErrorCode::ALL.len());
    }
}
