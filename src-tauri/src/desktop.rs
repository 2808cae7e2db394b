//! The app's state and everything its commands do; `commands` only adapts these to Tauri.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use keyturn_client::{AppPasswordOptions, Client, Error as ApiError, SessionClient};
use keyturn_protocol::wire::{ActivityKind, AppPasswordInfo, SessionInfo};
use keyturn_protocol::{
    AppPasswordId, Email, ErrorCode, LabelError, Scope, Scopes, ScopesError, MAX_APP_PASSWORDS, MAX_LABEL_CHARS,
};
use secrecy::SecretString;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::clipboard::{clear_if_still, copy_then_clear, Clipboard, CopiedDigest, CLEAR_AFTER};
use crate::error::{Code, CommandError};
use crate::keychain::{KeychainError, TokenStore};
use crate::messages;
use crate::settings::{self, SettingsFile};

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

/// One line of Recent Activity: the sentence, and when (the window says how long ago).
#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub email: Email,
    pub server_url: String,
    /// False when the keychain could not keep the session: the UI says the next launch will ask again.
    pub remembered: bool,
}

#[derive(Debug, Serialize)]
pub struct PasswordsView {
    pub email: Email,
    pub app_passwords: Vec<AppPasswordInfo>,
    pub max_app_passwords: u32,
    /// Whether two-factor authentication is on.
    pub second_factor: bool,
}

/// Turning two-factor authentication on: what the authenticator app needs.
#[derive(Serialize)]
pub struct TwoFactorSetup {
    /// The secret in groups of four, to type in.
    pub secret: String,
    /// The `otpauth://` URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// The one time a password is shown.
#[derive(Serialize)]
pub struct Revealed {
    pub app_password: AppPasswordInfo,
    /// `xxxx-xxxx-xxxx-xxxx`
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct Copied {
    pub clear_after_secs: u64,
}

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

    /// At launch: a token in the keychain that the server still accepts skips the sign-in screen. A token
    /// the server refuses is deleted. An unreachable server is an error (the token is kept for next time).
    pub async fn restore_session(&self) -> Result<Option<SessionView>, CommandError> {
        let server_url = self.server_url();
        let Ok(client) = Client::new(&server_url) else {
            return Ok(None);
        };
        let keychain = Arc::clone(&self.keychain);
        let url = server_url.clone();
        let token = match blocking(move || keychain.load(&url)).await {
            Ok(Some(token)) => token,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the keychain; asking to sign in");
                return Ok(None);
            }
        };
        let session = client.session(token);
        match session.account().await {
            Ok(account) => {
                tracing::info!(server = %server_url, "signed in with the session the keychain kept");
                let view = SessionView {
                    email: account.email.clone(),
                    server_url: server_url.clone(),
                    remembered: true,
                };
                *self.signed_in.lock().await = Some(SignedIn {
                    session,
                    email: account.email,
                    server_url,
                });
                Ok(Some(view))
            }
            Err(e) if e.is(ErrorCode::Unauthenticated) => {
                tracing::info!(server = %server_url, "the kept session has ended; asking to sign in");
                self.forget_token(&server_url).await;
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(server = %server_url, error = %e, "cannot check the kept session");
                Err(e.into())
            }
        }
    }

    pub async fn sign_in(
        &self,
        email: &str,
        password: SecretString,
        code: Option<&SecretString>,
        server_url: &str,
    ) -> Result<SessionView, CommandError> {
        let server_url = settings::normalize_server_url(server_url);
        let client = Client::new(&server_url)?;
        let signed_in = client
            .sign_in_with_code(email.trim(), &password, code)
            .await
            .inspect_err(|e| {
                tracing::info!(server = %server_url, error = %e, "sign-in refused");
            })?;
        tracing::info!(server = %server_url, "signed in");
        self.end_previous_session(&client, &server_url).await;
        let keychain = Arc::clone(&self.keychain);
        let (url, token) = (server_url.clone(), signed_in.token.clone());
        let remembered = match blocking(move || keychain.save(&url, &token)).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the session is kept for this run only");
                false
            }
        };
        let mut saved = self.settings.load();
        saved.last_email = Some(signed_in.email.to_string());
        if self.env_server_url.is_none() {
            saved.server_url = Some(server_url.clone());
        }
        if let Err(e) = self.settings.save(&saved) {
            tracing::warn!(error = %e, "could not save settings");
        }
        let view = SessionView {
            email: signed_in.email.clone(),
            server_url: server_url.clone(),
            remembered,
        };
        *self.signed_in.lock().await = Some(SignedIn {
            session: client.session(signed_in.token),
            email: signed_in.email,
            server_url,
        });
        Ok(view)
    }

    /// Ends the session here and on the server. The keychain entry goes even if the server cannot be told.
    pub async fn sign_out(&self) -> Result<(), CommandError> {
        self.forget_secret();
        let Some(signed_in) = self.signed_in.lock().await.take() else {
            return Ok(());
        };
        let told_server = signed_in.session.sign_out().await;
        tracing::info!(server = %signed_in.server_url, "signed out");
        let keychain = Arc::clone(&self.keychain);
        let url = signed_in.server_url.clone();
        let deleted = blocking(move || keychain.delete(&url)).await;
        deleted.map_err(|e| messages::keychain_failed(&e))?;
        match told_server {
            Err(e) if !e.is(ErrorCode::Unauthenticated) => {
                tracing::warn!(error = %e, "signed out here; the server was not told");
            }
            _ => {}
        }
        Ok(())
    }

    pub async fn list_app_passwords(&self) -> Result<PasswordsView, CommandError> {
        let (session, email) = self.session().await?;
        let (list, account) = tokio::join!(session.list_app_passwords(), session.account());
        let app_passwords = self.check(list).await?;
        let second_factor = self.check(account).await?.second_factor;
        Ok(PasswordsView {
            email,
            app_passwords,
            max_app_passwords: MAX_APP_PASSWORDS,
            second_factor,
        })
    }

    /// Makes a password that may reach `scopes` (names from [`Scope::ALL`]; `None`: all of them) and expires
    /// after `expires_in_days` (or never), and keeps it for Copy until [`Self::forget_secret`].
    pub async fn create_app_password(
        &self,
        label: &str,
        scopes: Option<&[String]>,
        expires_in_days: Option<u32>,
    ) -> Result<Revealed, CommandError> {
        let scopes = match scopes {
            Some(names) => Scopes::parse(names).map_err(messages::invalid_scopes)?,
            None => Scopes::EVERYTHING,
        };
        let options = AppPasswordOptions {
            scopes,
            expires_in_days,
        };
        let (session, _) = self.session().await?;
        let created = self
            .check(session.create_app_password_with_options(label, options).await)
            .await?;
        tracing::info!(id = %created.info.id, "app-specific password created");
        let password = created.password.grouped();
        let shown = password.to_string();
        *self.reveal.lock().unwrap_or_else(PoisonError::into_inner) = Some(password);
        Ok(Revealed {
            app_password: created.info,
            password: shown,
        })
    }

    pub fn copy_secret(&self) -> Result<Copied, CommandError> {
        let reveal = self.reveal.lock().unwrap_or_else(PoisonError::into_inner);
        let text = reveal.as_ref().ok_or_else(messages::nothing_to_copy)?;
        let copied = copy_then_clear(&self.clipboard, text, CLEAR_AFTER).map_err(|e| messages::clipboard_failed(&e))?;
        *self.copied.lock().unwrap_or_else(PoisonError::into_inner) = Some(copied);
        Ok(Copied {
            clear_after_secs: CLEAR_AFTER.as_secs(),
        })
    }

    /// The app is quitting: a password still on the clipboard goes with it.
    pub fn on_exit(&self) {
        if let Some(copied) = self.copied.lock().unwrap_or_else(PoisonError::into_inner).take() {
            clear_if_still(&self.clipboard, copied);
        }
    }

    /// The reveal closed: the password is zeroized and cannot be shown or copied again.
    pub fn forget_secret(&self) {
        self.reveal.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    pub async fn revoke(&self, id: &str) -> Result<(), CommandError> {
        let (session, _) = self.session().await?;
        self.check(session.revoke(&AppPasswordId::new(id)).await).await?;
        tracing::info!(id, "app-specific password revoked");
        Ok(())
    }

    pub async fn rename(&self, id: &str, label: &str) -> Result<AppPasswordInfo, CommandError> {
        let (session, _) = self.session().await?;
        let renamed = self.check(session.rename(&AppPasswordId::new(id), label).await).await?;
        tracing::info!(id, "app-specific password renamed");
        Ok(renamed)
    }

    /// Signed-In Devices: this one and every other session of the account.
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>, CommandError> {
        let (session, _) = self.session().await?;
        self.check(session.sessions().await).await
    }

    /// Signs another device out; a device already gone says so in its own words.
    pub async fn end_session(&self, id: &str) -> Result<(), CommandError> {
        let (session, _) = self.session().await?;
        match self.check(session.end_session(id).await).await {
            Ok(()) => {
                tracing::info!("a device was signed out");
                Ok(())
            }
            Err(e) if e.code == Code::Api(ErrorCode::NotFound) => Err(messages::device_already_signed_out()),
            Err(e) => Err(e),
        }
    }

    /// Recent Activity, newest first, each event in words.
    pub async fn recent_activity(&self) -> Result<Vec<ActivityView>, CommandError> {
        let (session, _) = self.session().await?;
        let events = self.check(session.activity(None).await).await?;
        Ok(events
            .iter()
            .map(|event| ActivityView {
                at: event.at,
                kind: event.kind,
                text: messages::activity(event),
            })
            .collect())
    }

    pub async fn revoke_all(&self) -> Result<u32, CommandError> {
        let (session, _) = self.session().await?;
        let revoked = self.check(session.revoke_all().await).await?;
        tracing::info!(revoked, "every app-specific password revoked");
        Ok(revoked)
    }

    /// Starts turning two-factor authentication on: the secret for the authenticator app, as a QR code made
    /// here (never by a service) and as text in groups of four.
    pub async fn begin_two_factor(&self, password: SecretString) -> Result<TwoFactorSetup, CommandError> {
        let (session, _) = self.session().await?;
        let enrolment = self.check(session.enrol_totp(&password).await).await?;
        tracing::info!("two-factor setup started");
        let qr = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())
            .map_err(|e| CommandError::from(ApiError::Protocol(format!("the setup key cannot be drawn: {e}"))))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        let secret = Zeroizing::new(enrolment.secret);
        let grouped = secret
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(TwoFactorSetup {
            secret: grouped,
            qr_svg,
        })
    }

    /// Turns it on with the authenticator app's code; the recovery codes are shown once and may be copied.
    pub async fn confirm_two_factor(&self, code: SecretString) -> Result<Vec<String>, CommandError> {
        let (session, _) = self.session().await?;
        let codes = self.check(session.confirm_totp(&code).await).await?.recovery_codes;
        tracing::info!("two-factor authentication turned on");
        *self.reveal.lock().unwrap_or_else(PoisonError::into_inner) = Some(Zeroizing::new(codes.join("\n")));
        Ok(codes)
    }

    pub async fn turn_off_two_factor(&self, password: SecretString, code: SecretString) -> Result<(), CommandError> {
        let (session, _) = self.session().await?;
        self.check(session.disable_totp(&password, &code).await).await?;
        tracing::info!("two-factor authentication turned off");
        Ok(())
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

    /// A token the keychain still holds for this server belongs to an earlier sign-in: it ends on the server
    /// too, rather than live on unused until it expires. Best effort: the new session goes on regardless.
    async fn end_previous_session(&self, client: &Client, server_url: &str) {
        let keychain = Arc::clone(&self.keychain);
        let url = server_url.to_owned();
        if let Ok(Some(previous)) = blocking(move || keychain.load(&url)).await {
            if let Err(e) = client.session(previous).sign_out().await {
                tracing::info!(error = %e, "the previous session could not be ended");
            }
        }
    }

    async fn forget_token(&self, server_url: &str) {
        let keychain = Arc::clone(&self.keychain);
        let url = server_url.to_owned();
        if let Err(e) = blocking(move || keychain.delete(&url)).await {
            tracing::warn!(error = %e, "could not delete the keychain entry");
        }
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
