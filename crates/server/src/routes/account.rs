use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyturn_protocol::wire::{AccountInfo, ActivityList, ActivityQuery, ChangePasswordRequest, ErrorBody};
use keyturn_protocol::{MAX_ACTIVITY_EVENTS, MAX_APP_PASSWORDS};
use secrecy::SecretString;

use crate::account::{self, Caller};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, ClientIp, Session};
use crate::AppState;

#[utoipa::path(get, path = "/v1/account", tag = "account", security(("bearer" = [])), responses(
    (status = 200, body = AccountInfo),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
))]
#[tracing::instrument(skip_all, fields(account = %session.account))]
pub async fn get_account(State(app): State<AppState>, session: Session) -> Result<Json<AccountInfo>, ApiError> {
    let active = app
        .store
        .count_active_app_passwords(&session.account, app.clock.now())
        .await?;
    let second_factor = app.store.second_factor_on(&session.account).await?;
    Ok(Json(AccountInfo {
        email: session.email,
        active_app_passwords: active,
        max_app_passwords: MAX_APP_PASSWORDS,
        second_factor,
    }))
}

/// Events asked for when `limit` is absent.
const DEFAULT_ACTIVITY_EVENTS: u32 = 50;

/// The account's recent activity, newest first: app-specific passwords created, renamed, revoked (one or
/// all) and expired, app sign-ins (at most one a minute per password), sign-ins and failed ones, password
/// changes.
#[utoipa::path(get, path = "/v1/account/activity", tag = "account", security(("bearer" = [])),
    params(ActivityQuery), responses(
    (status = 200, body = ActivityList),
    (status = 400, description = "A limit outside 1–200", body = ErrorBody),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
))]
#[tracing::instrument(skip_all, fields(account = %session.account))]
pub async fn activity(
    State(app): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Json<ActivityList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_ACTIVITY_EVENTS);
    if !(1..=MAX_ACTIVITY_EVENTS).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be from 1 to {MAX_ACTIVITY_EVENTS}."
        )));
    }
    // A password that expired since anyone last looked gets its "expired" event before the list is read.
    app.store.expire_due(&session.account, app.clock.now()).await?;
    let events = app.store.activity(&session.account, limit).await?;
    Ok(Json(ActivityList { events }))
}

/// Change the primary password. Revokes every app-specific password and ends every other session.
#[utoipa::path(post, path = "/v1/account/password", tag = "account", security(("bearer" = [])),
    request_body = ChangePasswordRequest, responses(
    (status = 204),
    (status = 401, description = "Not signed in, a wrong current password, or with two-factor authentication on no code sent or a wrong one", body = ErrorBody),
    (status = 422, description = "A new password too short or too easy to guess", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
    (status = 503, description = "The server is busy checking other passwords; nothing was checked", body = ErrorBody),
))]
#[tracing::instrument(skip_all, fields(account = %session.account))]
pub async fn change_password(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    account::change_password(
        &app,
        &session.account,
        &session.email,
        &session.token,
        SecretString::from(request.current_password),
        SecretString::from(request.new_password),
        request.code.as_deref(),
        Caller::Client(ip),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
