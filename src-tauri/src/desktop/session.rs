//! Signing in and out: the session restored from the keychain at launch, a new sign-in kept there, and
//! the keychain entry that goes when the session ends.

use std::sync::Arc;

use keyturn_client::Client;
use keyturn_protocol::{Email, ErrorCode};
use secrecy::SecretString;
use serde::Serialize;

use super::{blocking, Desktop, SignedIn};
use crate::error::CommandError;
use crate::messages;
use crate::settings;

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub email: Email,
    pub server_url: String,
    /// False when the keychain could not keep the session: the UI says the next launch will ask again.
    pub remembered: bool,
}

impl Desktop {
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

    pub(super) async fn forget_token(&self, server_url: &str) {
        let keychain = Arc::clone(&self.keychain);
        let url = server_url.to_owned();
        if let Err(e) = blocking(move || keychain.delete(&url)).await {
            tracing::warn!(error = %e, "could not delete the keychain entry");
        }
    }
}
