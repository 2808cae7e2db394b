//! The one error type of the HTTP API, turned into `{"error":{"code","message"}}` in one place.
//! Clients get a stable code and a plain sentence; the log gets the detail.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyturn_protocol::wire::{ErrorBody, ErrorDetail};
use keyturn_protocol::{ErrorCode, LabelError, ScopesError, VerifierError, EXPIRY_DAYS, MAX_APP_PASSWORDS};

use crate::account::Refusal;
use crate::password_policy::WeakPassword;
use crate::store::StoreError;
use crate::throttle::RetryAfter;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    /// A third-party app's sign-in failed; answered with `WWW-Authenticate` so mail clients prompt again.
    #[error("The email or app-specific password is incorrect.")]
    AppAuthFailed,
    #[error("Too many attempts. Try again in {} seconds.", .0.0)]
    RateLimited(RetryAfter),
    /// Too many argon2 runs in flight and waiting; nothing ran.
    #[error("The server is busy. Try again in a second.")]
    Overloaded,
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// Too short or too easy to guess; the sentence says which and what would help.
    #[error("{0}")]
    WeakPassword(WeakPassword),
    #[error("{0}")]
    InvalidLabel(LabelError),
    #[error("The verifier was rejected: {0}.")]
    InvalidVerifier(VerifierError),
    #[error("The lookup tag must be 8 lowercase hexadecimal characters.")]
    InvalidLookupTag,
    #[error("An app-specific password with this label already exists. Choose another label.")]
    DuplicateLabel,
    #[error("An active app-specific password already has this lookup tag. Make another password.")]
    LookupTagConflict,
    #[error("You have {MAX_APP_PASSWORDS} app-specific passwords, the most allowed. Revoke one to make another.")]
    LimitReached,
    #[error("This Idempotency-Key was already used for a different request.")]
    IdempotencyMismatch,
    #[error("The Idempotency-Key header is required.")]
    MissingIdempotencyKey,
    #[error("{0}")]
    InvalidScopes(ScopesError),
    #[error("An app-specific password expires after {} to {} days, or never.", EXPIRY_DAYS.start(), EXPIRY_DAYS.end())]
    InvalidExpiry,
    /// A right app-specific password that may not reach what was asked.
    #[error("This app-specific password can't be used for {0}. Make one that can.")]
    InsufficientScope(&'static str),
    /// A right app-specific password limited to some services, used without saying which one: the caller
    /// must ask with `?scope=`, so a limit never fails open.
    #[error("This app-specific password is limited to some services; ask for one with ?scope=.")]
    ScopeRequired,
    #[error("No such app-specific password.")]
    NotFound,
    #[error("No such signed-in device.")]
    NoSuchSession,
    #[error("No such endpoint.")]
    NoSuchEndpoint,
    #[error("The request body is larger than {} KiB.", crate::MAX_BODY_BYTES / 1024)]
    PayloadTooLarge,
    #[error("{0}")]
    BadRequest(String),
    #[error("Something went wrong on the server.")]
    Internal(#[source] anyhow::Error),
    #[error("Two-factor authentication is already on.")]
    SecondFactorEnabled,
    /// At sign-in, password change and turning it off: a wrong, used or expired code.
    #[error("The verification code is incorrect or was already used.")]
    WrongSecondFactor,
    /// Confirming an enrolment: a wrong code, or nothing pending.
    #[error("The verification code is incorrect, or there is no setup to confirm. Enter the current code from your authenticator app.")]
    UnconfirmedSecondFactor,
    #[error("Two-factor authentication is off.")]
    SecondFactorOff,
    /// The password was right; the account needs a code too.
    #[error("Enter the 6-digit code from your authenticator app.")]
    SecondFactorRequired,
    /// The server requires two-factor authentication before app-specific passwords.
    #[error("Turn on two-factor authentication before making app-specific passwords.")]
    SecondFactorFirst,
}

impl ApiError {
    /// The stable code clients act on; several variants may share one.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::InvalidCredentials | ApiError::AppAuthFailed => ErrorCode::InvalidCredentials,
            ApiError::RateLimited(_) => ErrorCode::RateLimited,
            ApiError::Overloaded => ErrorCode::Overloaded,
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::WeakPassword(_) => ErrorCode::WeakPassword,
            ApiError::InvalidLabel(_) => ErrorCode::InvalidLabel,
            ApiError::InvalidVerifier(_) => ErrorCode::InvalidVerifier,
            ApiError::InvalidLookupTag => ErrorCode::InvalidLookupTag,
            ApiError::DuplicateLabel => ErrorCode::DuplicateLabel,
            ApiError::LookupTagConflict => ErrorCode::LookupTagConflict,
            ApiError::LimitReached => ErrorCode::LimitReached,
            ApiError::IdempotencyMismatch => ErrorCode::IdempotencyMismatch,
            ApiError::MissingIdempotencyKey => ErrorCode::MissingIdempotencyKey,
            ApiError::InvalidScopes(_) => ErrorCode::InvalidScopes,
            ApiError::InvalidExpiry => ErrorCode::InvalidExpiry,
            ApiError::InsufficientScope(_) | ApiError::ScopeRequired => ErrorCode::InsufficientScope,
            ApiError::NotFound | ApiError::NoSuchSession | ApiError::NoSuchEndpoint => ErrorCode::NotFound,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::Internal(_) => ErrorCode::Internal,
            ApiError::SecondFactorEnabled => ErrorCode::SecondFactorEnabled,
            ApiError::WrongSecondFactor | ApiError::UnconfirmedSecondFactor => ErrorCode::InvalidSecondFactor,
            ApiError::SecondFactorOff => ErrorCode::NotFound,
            ApiError::SecondFactorRequired | ApiError::SecondFactorFirst => ErrorCode::SecondFactorRequired,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidCredentials
            | ApiError::AppAuthFailed
            | ApiError::Unauthenticated
            | ApiError::WrongSecondFactor
            | ApiError::SecondFactorRequired => StatusCode::UNAUTHORIZED,
            ApiError::SecondFactorFirst | ApiError::InsufficientScope(_) | ApiError::ScopeRequired => {
                StatusCode::FORBIDDEN
            }
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::WeakPassword(_)
            | ApiError::InvalidLabel(_)
            | ApiError::InvalidVerifier(_)
            | ApiError::InvalidLookupTag
            | ApiError::InvalidScopes(_)
            | ApiError::InvalidExpiry
            | ApiError::UnconfirmedSecondFactor => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::DuplicateLabel
            | ApiError::LookupTagConflict
            | ApiError::LimitReached
            | ApiError::IdempotencyMismatch
            | ApiError::SecondFactorEnabled => StatusCode::CONFLICT,
            ApiError::MissingIdempotencyKey | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound | ApiError::NoSuchSession | ApiError::NoSuchEndpoint | ApiError::SecondFactorOff => {
                StatusCode::NOT_FOUND
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::WrongPassword => ApiError::InvalidCredentials,
            Refusal::WrongAppPassword => ApiError::AppAuthFailed,
            Refusal::Throttled(wait) => ApiError::RateLimited(wait),
            Refusal::Overloaded => ApiError::Overloaded,
            Refusal::OutOfScope(scope) => ApiError::InsufficientScope(scope.as_str()),
            Refusal::ScopeRequired => ApiError::ScopeRequired,
            Refusal::SecondFactorRequired => ApiError::SecondFactorRequired,
            Refusal::WrongSecondFactor => ApiError::WrongSecondFactor,
            Refusal::UnconfirmedSecondFactor => ApiError::UnconfirmedSecondFactor,
            Refusal::SecondFactorEnabled => ApiError::SecondFactorEnabled,
            Refusal::SecondFactorOff => ApiError::SecondFactorOff,
            Refusal::SessionEnded => ApiError::Unauthenticated,
            Refusal::WeakPassword(weak) => ApiError::WeakPassword(weak),
            Refusal::Store(e) => e.into(),
            // `Refusal` keeps an overloaded pool as `Overloaded`: what is left here is a fault.
            Refusal::Hash(e) => ApiError::Internal(e.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DuplicateLabel => ApiError::DuplicateLabel,
            StoreError::LookupTagConflict => ApiError::LookupTagConflict,
            StoreError::LimitReached => ApiError::LimitReached,
            StoreError::IdempotencyMismatch => ApiError::IdempotencyMismatch,
            StoreError::SecondFactorEnabled => ApiError::SecondFactorEnabled,
            StoreError::SessionEnded => ApiError::Unauthenticated,
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(source) = &self {
            tracing::error!(error = ?source, "request failed");
        }
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited(RetryAfter(secs)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            ApiError::Overloaded => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            ApiError::AppAuthFailed => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"keyturn\""),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant; the match in `sample_is_complete` has no wildcard, so a new variant must be added.
    fn one_of_each() -> Vec<ApiError> {
        vec![
            ApiError::InvalidCredentials,
            ApiError::AppAuthFailed,
            ApiError::RateLimited(RetryAfter(1)),
            ApiError::Overloaded,
            ApiError::Unauthenticated,
            ApiError::WeakPassword(WeakPassword(String::new())),
            ApiError::InvalidLabel(LabelError::Empty),
            ApiError::InvalidVerifier(VerifierError::Malformed),
            ApiError::InvalidLookupTag,
            ApiError::DuplicateLabel,
            ApiError::LookupTagConflict,
            ApiError::LimitReached,
            ApiError::IdempotencyMismatch,
            ApiError::MissingIdempotencyKey,
            ApiError::NotFound,
            ApiError::NoSuchEndpoint,
            ApiError::PayloadTooLarge,
            ApiError::BadRequest(String::new()),
            ApiError::Internal(anyhow::anyhow!("boom")),
            ApiError::SecondFactorEnabled,
            ApiError::WrongSecondFactor,
            ApiError::UnconfirmedSecondFactor,
            ApiError::SecondFactorOff,
            ApiError::SecondFactorRequired,
            ApiError::SecondFactorFirst,
            ApiError::InvalidScopes(keyturn_protocol::ScopesError::Empty),
            ApiError::InvalidExpiry,
            ApiError::InsufficientScope("mail"),
            ApiError::NoSuchSession,
            ApiError::ScopeRequired,
        ]
    }

    #[test]
    fn sample_is_complete() {
        let seen = one_of_each()
            .iter()
            .map(|e| match e {
                ApiError::InvalidCredentials => 0,
                ApiError::AppAuthFailed => 1,
                ApiError::RateLimited(_) => 2,
                ApiError::Overloaded => 17,
                ApiError::LookupTagConflict => 18,
                ApiError::Unauthenticated => 3,
                ApiError::WeakPassword(_) => 4,
                ApiError::InvalidLabel(_) => 5,
                ApiError::InvalidVerifier(_) => 6,
                ApiError::InvalidLookupTag => 7,
                ApiError::DuplicateLabel => 8,
                ApiError::LimitReached => 9,
                ApiError::IdempotencyMismatch => 10,
                ApiError::MissingIdempotencyKey => 11,
                ApiError::NotFound => 12,
                ApiError::NoSuchEndpoint => 13,
                ApiError::PayloadTooLarge => 14,
                ApiError::BadRequest(_) => 15,
                ApiError::Internal(_) => 16,
                ApiError::SecondFactorEnabled => 19,
                ApiError::WrongSecondFactor => 20,
                ApiError::UnconfirmedSecondFactor => 21,
                ApiError::SecondFactorOff => 22,
                ApiError::SecondFactorRequired => 23,
                ApiError::SecondFactorFirst => 24,
                ApiError::InvalidScopes(_) => 25,
                ApiError::InvalidExpiry => 26,
                ApiError::InsufficientScope(_) => 27,
                ApiError::NoSuchSession => 28,
                ApiError::ScopeRequired => 29,
            })
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(seen.len(), 30);
    }

    #[test]
    fn every_error_the_server_returns_has_a_known_code() {
        for error in one_of_each() {
            let code = error.code();
            assert!(ErrorCode::ALL.contains(&code), "{error:?} answers {code:?}");
        }
    }

    #[test]
    fn every_known_code_is_answered_by_some_error() {
        let answered: Vec<ErrorCode> = one_of_each().iter().map(ApiError::code).collect();
        for code in ErrorCode::ALL {
            assert!(answered.contains(&code), "no ApiError answers {code:?}");
        }
    }
}
