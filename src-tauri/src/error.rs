//! What a command fails with, as the window receives it: `{code, message}`. The code is the server's
//! [`ErrorCode`] or one of the app's own ([`AppCode`]); the message is the sentence to show, from `messages`.

use keyturn_protocol::ErrorCode;
use serde::Serialize;

use crate::messages;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub code: Code,
    pub message: String,
}

/// Serialised as the bare snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Code {
    Api(ErrorCode),
    App(AppCode),
}

/// Failures that happen on this device rather than at the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppCode {
    /// The server could not be reached.
    Network,
    /// The server's TLS certificate is not trusted.
    Certificate,
    /// The server answered with a redirect, which is not followed.
    Redirected,
    /// `http://` for a server that is not this computer.
    InsecureUrl,
    InvalidUrl,
    /// The server's answer was not what the API promises.
    Protocol,
    /// The server asked for argon2 parameters outside the protocol's bounds.
    UnacceptableParams,
    Keychain,
    Clipboard,
    /// Copy after the reveal closed.
    NothingToCopy,
    /// The server ignored the Access or Expires asked for (it predates them); the password it made was revoked.
    LimitsUnsupported,
}

impl CommandError {
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: Code::Api(code),
            message: message.into(),
        }
    }

    pub fn app(code: AppCode, message: impl Into<String>) -> Self {
        Self {
            code: Code::App(code),
            message: message.into(),
        }
    }
}

impl From<keyturn_client::Error> for CommandError {
    fn from(err: keyturn_client::Error) -> Self {
        messages::for_client_error(&err)
    }
}
