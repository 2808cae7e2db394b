//! Two-factor authentication (TOTP): turned on (a pending secret, then a first code, which returns the
//! recovery codes once), turned off, and the code check sign-in and password change share.

use chrono::{DateTime, Utc};
use keyturn_protocol::Email;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::attempt::{attempt, Checked};
use super::{check_current_password, Caller, Refusal};
use crate::second_factor as totp;
use crate::session_token::TokenHash;
use crate::store::{AccountId, AuditKind};
use crate::throttle::Kind;
use crate::AppState;

/// Starts turning two-factor authentication on, after the current password: a new secret for the
/// authenticator app, pending until a code from it is confirmed. A new call replaces an earlier pending one.
pub async fn enrol_second_factor(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    current_password: SecretString,
    caller: Caller,
) -> Result<Zeroizing<String>, Refusal> {
    check_current_password(app, account, email, current_password, "two-factor setup", caller).await?;
    let secret = totp::new_secret();
    app.store
        .begin_second_factor(account, &secret, caller.origin(), app.clock.now())
        .await?;
    tracing::info!("two-factor setup started");
    Ok(secret)
}

/// Turns two-factor authentication on with a code from the authenticator app; the recovery codes, this once.
pub async fn confirm_second_factor(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    code: &str,
    session: &TokenHash,
    caller: Caller,
) -> Result<Vec<String>, Refusal> {
    let now = app.clock.now();
    let check = async {
        let pending = match app.store.second_factor(account).await? {
            Some(row) if row.enabled_at.is_some() => return Ok(Checked::NotTried(Refusal::SecondFactorEnabled)),
            // Nothing to confirm is no guess at a code.
            None => return Ok(Checked::NotTried(Refusal::UnconfirmedSecondFactor)),
            Some(pending) => pending,
        };
        let step = totp::matching_step(&pending.secret, code, unix_secs(now), None);
        let codes = totp::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|(_, hash)| hash.clone()).collect();
        let enabled = match step {
            // Only the secret the code was checked against: a setup restarted meanwhile is not turned on.
            Some(step) => {
                app.store
                    .enable_second_factor(account, &pending.secret, step, &hashes, session, caller.origin(), now)
                    .await?
            }
            None => false,
        };
        Ok(Checked::from_option(enabled.then_some(codes)))
    };
    let Some(codes) = attempt(app, Kind::SecondFactor, Some(email), caller, check).await? else {
        app.store
            .record(account, caller.origin(), AuditKind::FailedSecondFactor, now)
            .await?;
        return Err(Refusal::UnconfirmedSecondFactor);
    };
    tracing::info!("two-factor authentication turned on");
    Ok(codes.into_iter().map(|(code, _)| code.to_string()).collect())
}

/// Turns two-factor authentication off, with the current password and a code (a recovery code works too).
pub async fn disable_second_factor(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    current_password: SecretString,
    code: &str,
    session: &TokenHash,
    caller: Caller,
) -> Result<(), Refusal> {
    check_current_password(app, account, email, current_password, "turning two-factor off", caller).await?;
    if !app.store.second_factor_on(account).await? {
        return Err(Refusal::SecondFactorOff);
    }
    verify_code(app, account, email, caller, code).await?;
    app.store
        .remove_second_factor(
            account,
            AuditKind::SecondFactorOff,
            Some(session),
            caller.origin(),
            app.clock.now(),
        )
        .await?;
    tracing::info!("two-factor authentication turned off");
    Ok(())
}

/// For an account with two-factor authentication on: `code` must be a verification code not used before,
/// or an unused recovery code. Throttled like passwords (apart from them); a wrong code is audited.
pub async fn verify_code(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    caller: Caller,
    code: &str,
) -> Result<(), Refusal> {
    let now = app.clock.now();
    let check = async {
        let accepted = if totp::is_totp_code(code) {
            let step = app
                .store
                .second_factor(account)
                .await?
                .filter(|row| row.enabled_at.is_some())
                .and_then(|row| totp::matching_step(&row.secret, code, unix_secs(now), row.last_step));
            match step {
                Some(step) => app.store.accept_step(account, step).await?,
                None => false,
            }
        } else {
            let hash = totp::recovery_code_hash(code);
            app.store
                .use_recovery_code(account, &hash, caller.origin(), now)
                .await?
        };
        Ok(Checked::from_option(accepted.then_some(())))
    };
    if attempt(app, Kind::SecondFactor, Some(email), caller, check)
        .await?
        .is_none()
    {
        app.store
            .record(account, caller.origin(), AuditKind::FailedSecondFactor, now)
            .await?;
        return Err(Refusal::WrongSecondFactor);
    }
    Ok(())
}

fn unix_secs(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}
