use std::time::Duration;

use keyturn_protocol::wire::ErrorBody;
use reqwest::header::RETRY_AFTER;
use reqwest::Response;

/// Everything a call can fail with. Server errors keep their code; the `Display` text is fit to show a user.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error("{}", rate_limited_message(*.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("Your session has ended. Sign in again.")]
    SessionExpired,
    #[error("{0}")]
    WeakPassword(String),
    #[error("{0}")]
    InvalidLabel(String),
    #[error("{0}")]
    InvalidVerifier(String),
    #[error("The lookup tag was rejected.")]
    InvalidLookupTag,
    #[error("An app-specific password with this label already exists. Choose another label.")]
    DuplicateLabel,
    #[error("You have 25 app-specific passwords, the most allowed. Revoke one to make another.")]
    LimitReached,
    #[error("This request was already made with different contents.")]
    IdempotencyMismatch,
    #[error("The server needs an Idempotency-Key.")]
    MissingIdempotencyKey,
    #[error("That app-specific password no longer exists.")]
    NotFound,
    #[error("The request was too large.")]
    PayloadTooLarge,
    #[error("The server address must start with https:// (http:// is allowed only for this computer): {0}")]
    InsecureUrl(String),
    #[error("That is not a valid server address: {0}")]
    InvalidUrl(String),
    #[error("The server could not be reached. Check your connection and the server address.")]
    Network(String),
    #[error("The server answered with an error ({status}): {message}")]
    Server { status: u16, code: String, message: String },
    #[error("The server's answer was not understood: {0}")]
    Protocol(String),
}

fn rate_limited_message(retry_after: Option<Duration>) -> String {
    match retry_after.map(|d| d.as_secs()) {
        Some(secs) if secs >= 90 => format!("Too many attempts. Try again in {} minutes.", secs.div_ceil(60)),
        Some(secs) if secs > 1 => format!("Too many attempts. Try again in {secs} seconds."),
        Some(_) => "Too many attempts. Try again in a second.".to_owned(),
        None => "Too many attempts. Try again later.".to_owned(),
    }
}

impl Error {
    /// The server's stable code, or a client-side one, for the UI to map to its words.
    pub fn code(&self) -> &str {
        match self {
            Error::InvalidCredentials => "invalid_credentials",
            Error::RateLimited { .. } => "rate_limited",
            Error::SessionExpired => "unauthenticated",
            Error::WeakPassword(_) => "weak_password",
            Error::InvalidLabel(_) => "invalid_label",
            Error::InvalidVerifier(_) => "invalid_verifier",
            Error::InvalidLookupTag => "invalid_lookup_tag",
            Error::DuplicateLabel => "duplicate_label",
            Error::LimitReached => "limit_reached",
            Error::IdempotencyMismatch => "idempotency_mismatch",
            Error::MissingIdempotencyKey => "missing_idempotency_key",
            Error::NotFound => "not_found",
            Error::PayloadTooLarge => "payload_too_large",
            Error::InsecureUrl(_) => "insecure_url",
            Error::InvalidUrl(_) => "invalid_url",
            Error::Network(_) => "network",
            Error::Server { code, .. } => code,
            Error::Protocol(_) => "protocol",
        }
    }

    /// Worth sending again with the same Idempotency-Key: the request may not have arrived, or the server
    /// failed before answering.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network(_) => true,
            Error::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn from_transport(err: reqwest::Error) -> Self {
        // reqwest's Display names the URL, never headers or bodies.
        Error::Network(err.to_string())
    }

    pub(crate) async fn from_response(response: Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let (code, message) = match response.json::<ErrorBody>().await {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (String::new(), format!("HTTP {status}")),
        };
        match code.as_str() {
            "invalid_credentials" => Error::InvalidCredentials,
            "rate_limited" => Error::RateLimited { retry_after },
            "unauthenticated" => Error::SessionExpired,
            "weak_password" => Error::WeakPassword(message),
            "invalid_label" => Error::InvalidLabel(message),
            "invalid_verifier" => Error::InvalidVerifier(message),
            "invalid_lookup_tag" => Error::InvalidLookupTag,
            "duplicate_label" => Error::DuplicateLabel,
            "limit_reached" => Error::LimitReached,
            "idempotency_mismatch" => Error::IdempotencyMismatch,
            "missing_idempotency_key" => Error::MissingIdempotencyKey,
            "not_found" => Error::NotFound,
            "payload_too_large" => Error::PayloadTooLarge,
            _ if status == 401 => Error::SessionExpired,
            _ => Error::Server { status, code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_wait_is_said_in_minutes() {
        let e = Error::RateLimited {
            retry_after: Some(Duration::from_secs(900)),
        };
        assert_eq!(e.to_string(), "Too many attempts. Try again in 15 minutes.");
        let e = Error::RateLimited {
            retry_after: Some(Duration::from_secs(8)),
        };
        assert_eq!(e.to_string(), "Too many attempts. Try again in 8 seconds.");
    }

    #[test]
    fn only_network_and_server_failures_are_retried() {
        assert!(Error::Network("reset".into()).is_transient());
        assert!(Error::Server {
            status: 503,
            code: String::new(),
            message: String::new()
        }
        .is_transient());
        assert!(!Error::DuplicateLabel.is_transient());
    }
}
