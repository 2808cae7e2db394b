//! A new primary password.

use keyturn_protocol::Email;
use secrecy::{ExposeSecret, SecretString};

use super::{check_current_password, verify_code, Caller, Refusal};
use crate::password_policy;
use crate::session_token::TokenHash;
use crate::store::AccountId;
use crate::AppState;

/// Changes the primary password, after the current one (and, with two-factor authentication on, a code).
/// Revokes every app-specific password and ends every session but `keep`. Returns how many passwords it
/// revoked.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    keep: &TokenHash,
    current: SecretString,
    new: SecretString,
    code: Option<&str>,
    caller: Caller,
) -> Result<usize, Refusal> {
    check_current_password(app, account, email, current, "password change", caller).await?;
    // Before the code, so a weak new password does not spend a recovery code.
    password_policy::check(new.expose_secret(), email).map_err(Refusal::WeakPassword)?;
    if app.store.second_factor_on(account).await? {
        let code = code.ok_or(Refusal::SecondFactorRequired)?;
        verify_code(app, account, email, caller, code).await?;
    }
    let hash = app.argon2.hash_password(new, app.params).await?;
    let revoked = app
        .store
        .change_password(account, &hash, keep, caller.origin(), app.clock.now())
        .await?;
    app.verified.evict(&revoked);
    tracing::info!(revoked = revoked.len(), "primary password changed");
    Ok(revoked.len())
}
