use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyturn_protocol::wire::{AccountInfo, ActivityList, ActivityQuery, ChangePasswordRequest, ErrorBody};
use keyturn_protocol::{MAX_ACTIVITY_EVENTS, MAX_APP_PASSWORDS};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, ClientIp, Session};
use crate::password_policy;
use crate::routes::second_factor::verify_code;
use crate::store::AuditKind;
use crate::throttle::Scope;
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
    let new = SecretString::from(request.new_password);
    check_current_password(&app, &session, ip, request.current_password, "password change").await?;
    // Before the code, so a weak new password does not spend a recovery code.
    password_policy::check(new.expose_secret(), &session.email).map_err(ApiError::WeakPassword)?;
    if app.store.second_factor_on(&session.account).await? {
        let code = request.code.as_deref().ok_or(ApiError::SecondFactorRequired)?;
        verify_code(&app, &session.account, &session.email, ip, code).await?;
    }
    let hash = app.argon2.hash_password(new, app.params).await?;
    let revoked = app
        .store
        .change_password(&session.account, &hash, &session.token, ip.into(), app.clock.now())
        .await?;
    app.verified.evict(&revoked);
    tracing::info!(revoked = revoked.len(), "primary password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// The session's own primary password, checked and throttled like a sign-in (guessing it through a stolen
/// session is no faster than signing in). A wrong one is audited as a failed sign-in, with `during` (what it
/// was asked for) as its detail.
pub(crate) async fn check_current_password(
    app: &AppState,
    session: &Session,
    ip: IpAddr,
    password: String,
    during: &str,
) -> Result<(), ApiError> {
    let attempt = app
        .throttle
        .reserve(Scope::SignIn, Some(&session.email), ip, app.clock.now())
        .await?;
    let account = app
        .store
        .find_account_by_id(&session.account)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let password = SecretString::from(password);
    let (attempt, verified) = attempt
        .checked(app.argon2.verify_password(account.password, password).await)
        .await?;
    if !verified {
        attempt.failed().await;
        app.store
            .record_about(
                &session.account,
                ip.into(),
                AuditKind::FailedSignIn,
                during,
                app.clock.now(),
            )
            .await?;
        return Err(ApiError::InvalidCredentials);
    }
    attempt.succeeded().await;
    Ok(())
}
