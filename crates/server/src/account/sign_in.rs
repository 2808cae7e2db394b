//! The primary password: signing in, and proving it again before a change.

use chrono::{DateTime, Utc};
use keyturn_protocol::{Email, Verifier};
use secrecy::SecretString;

use super::attempt::{attempt, Checked};
use super::second_factor::verify_code;
use super::{claimed_email, Caller, Refusal};
use crate::session_token::SessionToken;
use crate::store::{AccountId, AuditKind, StoreError};
use crate::throttle::Kind;
use crate::AppState;

/// A new session.
pub struct SignedIn {
    pub token: SessionToken,
    pub expires_at: DateTime<Utc>,
    pub email: Email,
}

/// Signs in with the primary password (app-specific passwords never work here) and, for an account with
/// two-factor authentication on, a code. `client` names the app signing in, for Signed-In Devices.
pub async fn sign_in(
    app: &AppState,
    email: &str,
    password: SecretString,
    code: Option<&str>,
    client: &str,
    caller: Caller,
) -> Result<SignedIn, Refusal> {
    let email = claimed_email(email).map_err(|_| Refusal::WrongPassword)?;
    let now = app.clock.now();
    let check = async {
        let account = match &email {
            Some(email) => app.store.find_account_by_email(email).await?,
            None => None,
        };
        // An unknown e-mail runs the same argon2 work against a dummy hash: the answer takes as long either way.
        let verifier = account
            .as_ref()
            .map_or_else(|| app.dummy.clone(), |a| a.password.clone());
        let stored_params = verifier.params();
        let verified = app.argon2.verify_password(verifier, password.clone()).await?;
        Ok(match account {
            Some(account) if verified => Checked::Right((account, stored_params)),
            Some(account) => {
                app.store
                    .record(&account.id, caller.origin(), AuditKind::FailedSignIn, now)
                    .await?;
                Checked::Wrong
            }
            None => Checked::Wrong,
        })
    };
    let (account, stored_params) = attempt(app, Kind::SignIn, email.as_ref(), caller, check)
        .await?
        .ok_or(Refusal::WrongPassword)?;
    tracing::Span::current().record("account", tracing::field::display(&account.id));
    let second_factor = app.store.second_factor_on(&account.id).await?;
    if second_factor {
        let Some(code) = code else {
            // Someone knows the password: the user learns of it even if no code ever follows.
            app.store
                .record(&account.id, caller.origin(), AuditKind::SecondFactorAsked, now)
                .await?;
            return Err(Refusal::SecondFactorRequired);
        };
        verify_code(app, &account.id, &account.email, caller, code).await?;
    }
    let checked = if stored_params != Some(app.params) {
        rehash(app, &account.id, account.password.clone(), password).await
    } else {
        account.password.clone()
    };
    let (token, token_hash) = SessionToken::issue();
    // Only if the password checked is still the account's: a change that committed meanwhile wins.
    let expires_at = app
        .store
        .insert_session(&token_hash, &account.id, client, &checked, second_factor, now)
        .await
        .map_err(|e| match e {
            StoreError::PasswordChanged => Refusal::WrongPassword,
            StoreError::SecondFactorTurnedOn => Refusal::SecondFactorRequired,
            e => e.into(),
        })?;
    app.store
        .record(&account.id, caller.origin(), AuditKind::SignIn, now)
        .await?;
    tracing::info!("signed in");
    Ok(SignedIn {
        token,
        expires_at,
        email: account.email,
    })
}

/// The signed-in account's own primary password, checked and throttled like a sign-in (guessing it through a
/// stolen session is no faster than signing in). A wrong one is audited as a failed sign-in, with `during`
/// (what it was asked for) as its detail.
pub async fn check_current_password(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    password: SecretString,
    during: &str,
    caller: Caller,
) -> Result<(), Refusal> {
    let check = async {
        let row = app
            .store
            .find_account_by_id(account)
            .await?
            .ok_or(Refusal::SessionEnded)?;
        let verified = app.argon2.verify_password(row.password, password).await?;
        Ok(Checked::from_option(verified.then_some(())))
    };
    if attempt(app, Kind::SignIn, Some(email), caller, check).await?.is_none() {
        app.store
            .record_about(
                account,
                caller.origin(),
                AuditKind::FailedSignIn,
                during,
                app.clock.now(),
            )
            .await?;
        return Err(Refusal::WrongPassword);
    }
    Ok(())
}

/// The password was stored with older argon2 parameters: now that it is known, store it with the current ones.
/// Best effort: a sign-in never fails for it. The hash stored now: the new one, or `old` when it was not
/// replaced (a failure, or a password change meanwhile, which the session's insert then finds). When another
/// sign-in rehashed it first, the hash it stored is checked against this password once more (one argon2 run,
/// in that race only): the same password, so this sign-in stands.
async fn rehash(app: &AppState, account: &AccountId, old: Verifier, password: SecretString) -> Verifier {
    match app.argon2.hash_password(password.clone(), app.params).await {
        Ok(hash) => match app.store.rehash_password(account, &old, &hash).await {
            Ok(true) => {
                tracing::info!("primary password rehashed with the current parameters");
                hash
            }
            Ok(false) => {
                let Ok(Some(now)) = app.store.find_account_by_id(account).await else {
                    return old;
                };
                match app.argon2.verify_password(now.password.clone(), password).await {
                    Ok(true) => now.password,
                    _ => old,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not store the rehashed password");
                old
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "could not rehash the password");
            old
        }
    }
}
