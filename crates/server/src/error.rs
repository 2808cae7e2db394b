//! The one error type of the HTTP API, turned into `{"error":{"code","message"}}` in one place.
//! Clients get a stable code and a plain sentence; the log gets the detail.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyturn_protocol::wire::{ErrorBody, ErrorDetail};
use keyturn_protocol::{LabelError, VerifierError};

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
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error(
        "The new password must be at least {} characters.",
        keyturn_protocol::MIN_PRIMARY_PASSWORD_CHARS
    )]
    WeakPassword,
    #[error("{0}")]
    InvalidLabel(LabelError),
    #[error("The verifier was rejected: {0}.")]
    InvalidVerifier(VerifierError),
    #[error("The lookup tag must be 8 lowercase hexadecimal characters.")]
    InvalidLookupTag,
    #[error("An app-specific password with this label already exists. Choose another label.")]
    DuplicateLabel,
    #[error(
        "You have {} app-specific passwords, the most allowed. Revoke one to make another.",
        keyturn_protocol::MAX_APP_PASSWORDS
    )]
    LimitReached,
    #[error("This Idempotency-Key was already used for a different request.")]
    IdempotencyMismatch,
    #[error("The Idempotency-Key header is required.")]
    MissingIdempotencyKey,
    #[error("No such app-specific password.")]
    NotFound,
    #[error("No such endpoint.")]
    NoSuchEndpoint,
    #[error("The request body is larger than 16 KiB.")]
    PayloadTooLarge,
    #[error("{0}")]
    BadRequest(String),
    #[error("Something went wrong on the server.")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidCredentials | ApiError::AppAuthFailed => "invalid_credentials",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::WeakPassword => "weak_password",
            ApiError::InvalidLabel(_) => "invalid_label",
            ApiError::InvalidVerifier(_) => "invalid_verifier",
            ApiError::InvalidLookupTag => "invalid_lookup_tag",
            ApiError::DuplicateLabel => "duplicate_label",
            ApiError::LimitReached => "limit_reached",
            ApiError::IdempotencyMismatch => "idempotency_mismatch",
            ApiError::MissingIdempotencyKey => "missing_idempotency_key",
            ApiError::NotFound | ApiError::NoSuchEndpoint => "not_found",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidCredentials | ApiError::AppAuthFailed | ApiError::Unauthenticated => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::WeakPassword
            | ApiError::InvalidLabel(_)
            | ApiError::InvalidVerifier(_)
            | ApiError::InvalidLookupTag => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::DuplicateLabel | ApiError::LimitReached | ApiError::IdempotencyMismatch => StatusCode::CONFLICT,
            ApiError::MissingIdempotencyKey | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound | ApiError::NoSuchEndpoint => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DuplicateLabel => ApiError::DuplicateLabel,
            StoreError::LimitReached => ApiError::LimitReached,
            StoreError::IdempotencyMismatch => ApiError::IdempotencyMismatch,
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
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited(RetryAfter(secs)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
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
