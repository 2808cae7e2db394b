//! What the signed-in server asks of an account before it makes app-specific passwords, handed to the window
//! with the session at sign-in and at launch, so the window says it before the label dialog rather than
//! after a refused create.

use keyturn_client::Client;
use secrecy::SecretString;
use serde::Serialize;

use crate::desktop::{Desktop, SessionView};
use crate::error::CommandError;
use crate::{messages, settings};

/// The session as the window gets it: who is signed in where, and the server's rule.
#[derive(Debug, Serialize)]
pub struct SignedInView {
    #[serde(flatten)]
    pub session: SessionView,
    /// Shown instead of the label dialog while two-factor authentication is off, with an offer to turn it on:
    /// the server makes app-specific passwords only with it on. `None` when the server does not require it,
    /// or could not be asked (a create it refuses then says the same).
    pub second_factor_first: Option<String>,
}

/// Signs in, asking the server for its rule at the same time.
pub async fn sign_in(
    desktop: &Desktop,
    email: &str,
    password: SecretString,
    code: Option<&SecretString>,
    server_url: &str,
) -> Result<SignedInView, CommandError> {
    let rule_url = settings::normalize_server_url(server_url);
    let (session, second_factor_first) = tokio::join!(
        desktop.sign_in(email, password, code, server_url),
        second_factor_first(&rule_url)
    );
    Ok(SignedInView {
        session: session?,
        second_factor_first,
    })
}

/// The session the keychain kept, if the server still accepts it, with the rule of the server it restores
/// with (the one `app_info` names), asked at the same time so a launch waits for one round trip, not two.
/// Without a kept session (or with one the server refuses) nothing waits for the rule: Sign in is shown as
/// soon as the keychain has answered, and the question to the server is dropped.
pub async fn restore_session(desktop: &Desktop) -> Result<Option<SignedInView>, CommandError> {
    let rule_url = desktop.app_info().server_url;
    let rule = tauri::async_runtime::spawn(async move { second_factor_first(&rule_url).await });
    let session = desktop.restore_session().await;
    let Ok(Some(session)) = session else {
        rule.abort();
        return session.map(|_| None);
    };
    Ok(Some(SignedInView {
        session,
        second_factor_first: rule.await.ok().flatten(),
    }))
}

/// The sentence for a server that requires two-factor authentication first; `None` for one that does not,
/// and for one that cannot be asked (the session's own call says why).
async fn second_factor_first(server_url: &str) -> Option<String> {
    let config = match Client::new(server_url) {
        Ok(client) => client.config().await,
        Err(e) => Err(e),
    };
    match config {
        Ok(config) => config.second_factor_required.then(messages::second_factor_first),
        Err(e) => {
            tracing::info!(error = %e, "could not ask the server whether it requires two-factor authentication");
            None
        }
    }
}
