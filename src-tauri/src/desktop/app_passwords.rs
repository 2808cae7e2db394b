//! The list of app-specific passwords: create (its one reveal), revoke, rename, Revoke All.

use std::sync::PoisonError;

use keyturn_client::AppPasswordOptions;
use keyturn_protocol::wire::AppPasswordInfo;
use keyturn_protocol::{AppPasswordId, Email, Scopes, MAX_APP_PASSWORDS};
use serde::Serialize;

use super::Desktop;
use crate::error::CommandError;
use crate::messages;

#[derive(Debug, Serialize)]
pub struct PasswordsView {
    pub email: Email,
    pub app_passwords: Vec<AppPasswordInfo>,
    pub max_app_passwords: u32,
    /// Whether two-factor authentication is on.
    pub second_factor: bool,
}

/// The one time a password is shown.
#[derive(Serialize)]
pub struct Revealed {
    pub app_password: AppPasswordInfo,
    /// `xxxx-xxxx-xxxx-xxxx`
    pub password: String,
    /// "Use it in your mail app for mail.example.com.": the host names of the server's services this password
    /// reaches; empty when the server names none.
    pub where_to_use: Vec<String>,
}

impl Desktop {
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
            where_to_use: messages::where_to_use(&created.services),
        })
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

    pub async fn revoke_all(&self) -> Result<u32, CommandError> {
        let (session, _) = self.session().await?;
        let revoked = self.check(session.revoke_all().await).await?;
        tracing::info!(revoked, "every app-specific password revoked");
        Ok(revoked)
    }
}
