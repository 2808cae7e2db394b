use serde::Serialize;

/// What a command fails with, as the UI receives it: `{code, message}`. The UI maps codes to the help
/// article's words; the message is a fallback fit to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_signed_in() -> Self {
        Self::new("unauthenticated", "Sign in to continue.")
    }

    pub fn no_password_to_copy() -> Self {
        Self::new(
            "nothing_to_copy",
            "This password is no longer shown and cannot be copied.",
        )
    }
}

impl From<keyturn_client::Error> for CommandError {
    fn from(err: keyturn_client::Error) -> Self {
        Self {
            code: err.code().to_owned(),
            message: err.to_string(),
        }
    }
}
