//! Two-factor authentication (TOTP): turn it on (a pending secret, then a first code, which returns the
//! recovery codes once), turn it off, and the code check sign-in and password change share.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use keyturn_protocol::wire::{
    ErrorBody, RecoveryCodes, TotpConfirmRequest, TotpDisableRequest, TotpEnrolRequest, TotpEnrolment,
};
use keyturn_protocol::Email;

use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp, Session};
use crate::routes::account::check_current_password;
use crate::second_factor;
use crate::store::{AccountId, AuditKind};
use crate::throttle::Scope;
use crate::AppState;

/// Start turning two-factor authentication on: a new secret for the authenticator app, pending until a code
/// from it is confirmed. A new call replaces an earlier pending secret.
#[utoipa::path(post, path = "/v1/account/totp", tag = "account", security(("bearer" = [])),
    request_body = TotpEnrolRequest, responses(
    (status = 201, body = TotpEnrolment),
    (status = 401, description = "Not signed in, or a wrong password", body = ErrorBody),
    (status = 409, description = "Two-factor authentication is already on", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
    (status = 503, description = "The server is busy checking other passwords; nothing was checked", body = ErrorBody),
))]
#[tracing::instrument(name = "second_factor_enrol", skip_all, fields(account = %session.account))]
pub async fn enrol(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    ApiJson(request): ApiJson<TotpEnrolRequest>,
) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
    check_current_password(&app, &session, ip, request.current_password, "two-factor setup").await?;
    let secret = second_factor::new_secret();
    app.store
        .begin_second_factor(&session.account, &secret, ip.into(), app.clock.now())
        .await?;
    tracing::info!("two-factor setup started");
    let enrolment = TotpEnrolment {
        otpauth_uri: second_factor::otpauth_uri(&secret, &session.email),
        secret: secret.to_string(),
    };
    Ok((StatusCode::CREATED, Json(enrolment)))
}

/// Turn two-factor authentication on with a code from the authenticator app. Answers the recovery codes,
/// this once.
#[utoipa::path(post, path = "/v1/account/totp/confirm", tag = "account", security(("bearer" = [])),
    request_body = TotpConfirmRequest, responses(
    (status = 200, body = RecoveryCodes),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
    (status = 409, description = "Two-factor authentication is already on", body = ErrorBody),
    (status = 422, description = "A wrong code, or no setup to confirm", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
))]
#[tracing::instrument(name = "second_factor_confirm", skip_all, fields(account = %session.account))]
pub async fn confirm(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    ApiJson(request): ApiJson<TotpConfirmRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let now = app.clock.now();
    let attempt = app
        .throttle
        .reserve(Scope::SecondFactor, Some(&session.email), ip, now)
        .await?;
    let pending = match app.store.second_factor(&session.account).await? {
        Some(row) if row.enabled_at.is_some() => {
            attempt.not_tried().await;
            return Err(ApiError::SecondFactorEnabled);
        }
        other => other,
    };
    let Some(pending) = pending else {
        // Nothing to confirm is no guess at a code.
        attempt.not_tried().await;
        return Err(ApiError::UnconfirmedSecondFactor);
    };
    let step = second_factor::matching_step(&pending.secret, &request.code, unix_secs(now), None);
    let codes = second_factor::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|(_, hash)| hash.clone()).collect();
    let enabled = match step {
        // Only the secret the code was checked against: a setup restarted meanwhile is not turned on.
        Some(step) => {
            app.store
                .enable_second_factor(&session.account, &pending.secret, step, &hashes, ip.into(), now)
                .await?
        }
        None => false,
    };
    if !enabled {
        attempt.failed().await;
        app.store
            .record(&session.account, ip.into(), AuditKind::FailedSecondFactor, now)
            .await?;
        return Err(ApiError::UnconfirmedSecondFactor);
    }
    attempt.succeeded().await;
    tracing::info!("two-factor authentication turned on");
    Ok(Json(RecoveryCodes {
        recovery_codes: codes.into_iter().map(|(code, _)| code.to_string()).collect(),
    }))
}

/// Turn two-factor authentication off, with the password and a code (a recovery code works too).
#[utoipa::path(delete, path = "/v1/account/totp", tag = "account", security(("bearer" = [])),
    request_body = TotpDisableRequest, responses(
    (status = 204),
    (status = 401, description = "Not signed in, a wrong password, or a wrong code", body = ErrorBody),
    (status = 404, description = "Two-factor authentication is off", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
    (status = 503, description = "The server is busy checking other passwords; nothing was checked", body = ErrorBody),
))]
#[tracing::instrument(name = "second_factor_disable", skip_all, fields(account = %session.account))]
pub async fn disable(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    ApiJson(request): ApiJson<TotpDisableRequest>,
) -> Result<StatusCode, ApiError> {
    check_current_password(&app, &session, ip, request.current_password, "turning two-factor off").await?;
    if !app.store.second_factor_on(&session.account).await? {
        return Err(ApiError::SecondFactorOff);
    }
    verify_code(&app, &session.account, &session.email, ip, &request.code).await?;
    app.store
        .remove_second_factor(&session.account, AuditKind::SecondFactorOff, ip.into(), app.clock.now())
        .await?;
    tracing::info!("two-factor authentication turned off");
    Ok(StatusCode::NO_CONTENT)
}

/// For an account with two-factor authentication on: `code` must be a verification code not used before,
/// or an unused recovery code. Throttled like passwords (apart from them); a wrong code is audited.
pub(crate) async fn verify_code(
    app: &AppState,
    account: &AccountId,
    email: &Email,
    ip: IpAddr,
    code: &str,
) -> Result<(), ApiError> {
    let now = app.clock.now();
    let attempt = app.throttle.reserve(Scope::SecondFactor, Some(email), ip, now).await?;
    let accepted = if second_factor::is_totp_code(code) {
        let step = app
            .store
            .second_factor(account)
            .await?
            .filter(|row| row.enabled_at.is_some())
            .and_then(|row| second_factor::matching_step(&row.secret, code, unix_secs(now), row.last_step));
        match step {
            Some(step) => app.store.accept_step(account, step).await?,
            None => false,
        }
    } else {
        let hash = second_factor::recovery_code_hash(code);
        app.store.use_recovery_code(account, &hash, ip.into(), now).await?
    };
    if !accepted {
        attempt.failed().await;
        app.store
            .record(account, ip.into(), AuditKind::FailedSecondFactor, now)
            .await?;
        return Err(ApiError::WrongSecondFactor);
    }
    attempt.succeeded().await;
    Ok(())
}

fn unix_secs(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}
