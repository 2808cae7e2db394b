use std::fmt;
use std::time::Duration;

use keyturn_protocol::wire::ErrorBody;
use keyturn_protocol::{ErrorCode, LabelError, ParamsOutOfBounds};
use reqwest::header::RETRY_AFTER;
use reqwest::Response;

/// Everything a call can fail with. An answer from the server keeps its [`ErrorCode`]; the rest happened on
/// this side. `Display` is for logs and developers: the desktop app words each case for its user.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The server refused the request.
    #[error("{0}")]
    Api(ApiFailure),
    /// The label breaks a rule; checked here before anything is sent.
    #[error("invalid label: {0}")]
    InvalidLabel(LabelError),
    /// The server advertised argon2 parameters this client will not use.
    #[error("{0}")]
    UnacceptableParams(ParamsOutOfBounds),
    #[error("refusing http:// for a server that is not this computer: {0}")]
    InsecureUrl(String),
    #[error("not a server address: {0}")]
    InvalidUrl(String),
    #[error("the server could not be reached: {0}")]
    Network(String),
    /// The server's TLS certificate is not trusted by this computer (or not for this name).
    #[error("the server's certificate was refused: {0}")]
    Certificate(String),
    /// The server answered with a redirect, which is never followed.
    #[error("the server redirected to {0}; redirects are not followed")]
    Redirected(String),
    #[error("the server's answer was not understood: {0}")]
    Protocol(String),
    /// The server made an app-specific password that reaches more, or lasts longer, than was asked: it
    /// predates scopes or expiry. That password was revoked at once.
    #[error("the server cannot limit what an app-specific password reaches or when it expires")]
    LimitsUnsupported,
}

/// An error answer: `{"error":{"code","message"}}` with its status and, for 429, `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: ErrorCode,
    /// The server's own sentence.
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

impl Error {
    /// The server's code, if the server answered with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api(failure) => Some(failure.code),
            _ => None,
        }
    }

    /// Whether the server answered with this code.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == Some(code)
    }

    /// Worth sending again with the same Idempotency-Key: the request may not have arrived, or the server
    /// failed before answering.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network(_) => true,
            Error::Api(failure) => failure.status >= 500,
            _ => false,
        }
    }

    pub(crate) fn from_transport(err: reqwest::Error) -> Self {
        // reqwest's Display names the URL, never headers or bodies.
        match certificate_problem(&err) {
            Some(problem) => Error::Certificate(problem),
            None => Error::Network(err.to_string()),
        }
    }

    pub(crate) async fn from_response(response: Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = crate::bounded_body(response).await.unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            // The server's own words may reach the app's log and the window: no control characters in them.
            Ok(body) => (body.error.code, escape_controls(&body.error.message)),
            // A proxy's 401 without our body still means the session is over.
            Err(_) if status == 401 => (ErrorCode::Unauthenticated, format!("HTTP {status}")),
            Err(_) => (ErrorCode::Unknown, format!("HTTP {status}")),
        };
        Error::Api(ApiFailure {
            status,
            code,
            message,
            retry_after,
        })
    }
}

/// The rustls certificate error somewhere in `err`'s chain, if that is why the connection failed. An
/// `io::Error` hides what it wraps from `source()`, so it is opened by hand.
fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_)).then(|| tls.to_string());
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(problem) = certificate_problem(inner) {
                return Some(problem);
            }
        }
        next = err.source();
    }
    None
}

/// `text` with each control character (line breaks, escape sequences, NUL) written as an escape (`\n`,
/// `\u{1b}`), so text from a server cannot forge log lines or reach a terminal raw.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: ErrorCode) -> Error {
        Error::Api(ApiFailure {
            status,
            code,
            message: String::new(),
            retry_after: None,
        })
    }

    #[test]
    fn only_network_and_server_failures_are_retried() {
        assert!(Error::Network("reset".into()).is_transient());
        assert!(api(503, ErrorCode::Unknown).is_transient());
        assert!(!api(409, ErrorCode::DuplicateLabel).is_transient());
    }

    #[test]
    fn an_answer_keeps_its_code() {
        let error = api(409, ErrorCode::DuplicateLabel);
        assert!(error.is(ErrorCode::DuplicateLabel));
        assert_eq!(Error::Network("reset".into()).code(), None);
    }

    #[test]
    fn control_characters_from_a_server_are_escaped() {
        assert_eq!(
            escape_controls("Busy.\n2026-12-07 INFO forged line\u{1b}[31m"),
            "Busy.\\n2026-12-07 INFO forged line\\u{1b}[31m"
        );
        assert_eq!(escape_controls("Plain words · ok"), "Plain words · ok");
    }
}
