//! Two-factor authentication (TOTP) at `/v1/account/totp`: turn it on (a pending secret, then a first code,
//! which returns the recovery codes once) and off; the procedures are `account`'s.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyturn_protocol::wire::{
    ErrorBody, RecoveryCodes, TotpConfirmRequest, TotpDisableRequest, TotpEnrolRequest, TotpEnrolment,
};
use secrecy::SecretString;

use crate::account::{self, Caller};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp, Session};
use crate::second_factor;
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
    let password = SecretString::from(request.current_password);
    let secret =
        account::enrol_second_factor(&app, &session.account, &session.email, password, Caller::Client(ip)).await?;
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
    let recovery_codes = account::confirm_second_factor(
        &app,
        &session.account,
        &session.email,
        &request.code,
        &session.token,
        Caller::Client(ip),
    )
    .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
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
    let password = SecretString::from(request.current_password);
    account::disable_second_factor(
        &app,
        &session.account,
        &session.email,
        password,
        &request.code,
        &session.token,
        Caller::Client(ip),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
