//! The app's state and everything its commands do; `commands` only adapts these to Tauri.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use keyturn_client::{Error as ApiError, SessionClient};
use keyturn_protocol::{Email, ErrorCode, LabelError, Scope, ScopesError, MAX_APP_PASSWORDS, MAX_LABEL_CHARS};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::clipboard::{Clipboard, CopiedDigest};
use crate::error::CommandError;
use crate::keychain::{KeychainError, TokenStore};
use crate::messages;
use crate::settings::{self, SettingsFile};

mod app_passwords;
mod devices;
mod reveal;
mod session;
mod two_factor;

pub use app_passwords::{PasswordsView, Revealed};
pub use devices::ActivityView;
pub use reveal::Copied;
pub use session::SessionView;
pub use two_factor::TwoFactorSetup;

pub struct Desktop {
    keychain: Arc<dyn TokenStore>,
    settings: SettingsFile,
    /// `KEYTURN_API_URL`, read once at launch.
    env_server_url: Option<String>,
    clipboard: Arc<dyn Clipboard>,
    signed_in: tokio::sync::Mutex<Option<SignedIn>>,
    /// What is on screen once and may be copied, until the user closes it: a new app-specific password, or
    /// the recovery codes. Zeroized on drop.
    reveal: Mutex<Option<Zeroizing<String>>>,
    /// The last password copied, by hash, so quitting can clear the clipboard if it still holds it.
    copied: Mutex<Option<CopiedDigest>>,
    /// Where the log file is, for About; `None` when the app logs to stderr only.
    log_dir: Option<PathBuf>,
}

struct SignedIn {
    session: SessionClient,
    email: Email,
    server_url: String,
}

/// What the window needs before anything else: the sign-in screen's fields, and the protocol's numbers it
/// shows ("N of 25", the label's length), so the window keeps no copy of them.
#[derive(Debug, Serialize)]
pub struct AppInfo {
    /// For About.
    pub version: &'static str,
    /// The folder of the log file, for About; empty when there is none.
    pub log_dir: String,
    pub server_url: String,
    pub last_email: String,
    pub max_app_passwords: u32,
    pub max_label_chars: usize,
    /// Shown while a label is longer than `max_label_chars`: the protocol's own sentence.
    pub label_too_long: String,
    /// The Access checkboxes, in order.
    pub scopes: Vec<ScopeChoice>,
    /// The Expires menu, "Never" first.
    pub expiry_choices: Vec<ExpiryChoice>,
    /// Shown while no Access box is ticked: the protocol's own sentence.
    pub no_scope: String,
}

#[derive(Debug, Serialize)]
pub struct ScopeChoice {
    pub key: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ExpiryChoice {
    /// `None`: never.
    pub days: Option<u32>,
    pub name: &'static str,
}

/// What the Expires menu offers, as Fastmail and Nextcloud do: never, a month, a quarter, a year.
const EXPIRY_CHOICES: [(Option<u32>, &str); 4] = [
    (None, "Never"),
    (Some(30), "30 days"),
    (Some(90), "90 days"),
    (Some(365), "1 year"),
];

impl Desktop {
    pub fn new(
        keychain: Arc<dyn TokenStore>,
        settings: SettingsFile,
        env_server_url: Option<String>,
        clipboard: Arc<dyn Clipboard>,
    ) -> Self {
        Self {
            keychain,
            settings,
            env_server_url,
            clipboard,
            signed_in: tokio::sync::Mutex::new(None),
            reveal: Mutex::new(None),
            copied: Mutex::new(None),
            log_dir: None,
        }
    }

    pub fn with_log_dir(self, log_dir: Option<PathBuf>) -> Self {
        Self { log_dir, ..self }
    }

    fn server_url(&self) -> String {
        settings::server_url(self.env_server_url.as_deref(), &self.settings.load())
    }

    pub fn app_info(&self) -> AppInfo {
        let saved = self.settings.load();
        AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            log_dir: self
                .log_dir
                .as_ref()
                .map(|dir| dir.display().to_string())
                .unwrap_or_default(),
            server_url: settings::server_url(self.env_server_url.as_deref(), &saved),
            last_email: saved.last_email.unwrap_or_default(),
            max_app_passwords: MAX_APP_PASSWORDS,
            max_label_chars: MAX_LABEL_CHARS,
            label_too_long: LabelError::TooLong.to_string(),
            scopes: Scope::ALL
                .iter()
                .map(|scope| ScopeChoice {
                    key: scope.as_str(),
                    name: scope.name(),
                })
                .collect(),
            expiry_choices: EXPIRY_CHOICES
                .iter()
                .map(|&(days, name)| ExpiryChoice { days, name })
                .collect(),
            no_scope: ScopesError::Empty.to_string(),
        }
    }

    async fn session(&self) -> Result<(SessionClient, Email), CommandError> {
        let guard = self.signed_in.lock().await;
        let signed_in = guard.as_ref().ok_or_else(messages::not_signed_in)?;
        Ok((signed_in.session.clone(), signed_in.email.clone()))
    }

    /// A 401 means the session is over: forget it here and in the keychain, so the UI shows sign-in.
    async fn check<T>(&self, result: Result<T, ApiError>) -> Result<T, CommandError> {
        if result.as_ref().is_err_and(|e| e.is(ErrorCode::Unauthenticated)) {
            if let Some(signed_in) = self.signed_in.lock().await.take() {
                self.forget_token(&signed_in.server_url).await;
            }
        }
        result.map_err(CommandError::from)
    }
}

/// Keychain calls block (D-Bus round trips, maybe a prompt): run them off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, KeychainError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| KeychainError(e.to_string()))?
}
