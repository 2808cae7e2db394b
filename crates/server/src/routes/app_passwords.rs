use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::wire::{
    AppPasswordInfo, AppPasswordList, CreateAppPasswordRequest, ErrorBody, RenameAppPasswordRequest, RevokeAllResult,
};
use keyturn_protocol::{AppPasswordId, Label, LookupTag, Scopes, Verifier, EXPIRY_DAYS};

use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp, Session};
use crate::store::{CreateOutcome, IdempotencyKey, NewAppPassword, RequestFingerprint};
use crate::AppState;

/// Active app-specific passwords, newest first (an expired one is not active).
#[utoipa::path(get, path = "/v1/app-passwords", tag = "app-passwords", security(("bearer" = [])), responses(
    (status = 200, body = AppPasswordList),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
))]
#[tracing::instrument(name = "list_app_passwords", skip_all, fields(account = %session.account))]
pub async fn list(State(app): State<AppState>, session: Session) -> Result<Json<AppPasswordList>, ApiError> {
    let rows = app
        .store
        .active_app_passwords(&session.account, app.clock.now())
        .await?;
    Ok(Json(AppPasswordList {
        app_passwords: rows.iter().map(|r| r.info()).collect(),
    }))
}

/// Store a new app-specific password. The device sends its argon2id verifier and lookup tag, never the
/// password. Sending the same `Idempotency-Key` and body again answers the same 201 and creates nothing.
/// `scopes` limits what it may reach (absent: everything); `expires_in_days` makes it stop working then.
#[utoipa::path(post, path = "/v1/app-passwords", tag = "app-passwords", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "A fresh random key per new password; reuse it only to retry")),
    request_body = CreateAppPasswordRequest, responses(
    (status = 201, body = AppPasswordInfo),
    (status = 400, description = "No Idempotency-Key header", body = ErrorBody),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
    (status = 403, description = "The server requires two-factor authentication first", body = ErrorBody),
    (status = 409, description = "The label is taken, the lookup tag is taken (make another password), the account has the most passwords allowed, or the Idempotency-Key came with another body", body = ErrorBody),
    (status = 422, description = "A label, verifier, lookup tag, scope list or expiry the server does not take", body = ErrorBody),
))]
#[tracing::instrument(name = "create_app_password", skip_all, fields(account = %session.account, id))]
pub async fn create(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateAppPasswordRequest>,
) -> Result<(StatusCode, Json<AppPasswordInfo>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .and_then(IdempotencyKey::parse)
        .ok_or(ApiError::MissingIdempotencyKey)?;
    if app.require_second_factor && !app.store.second_factor_on(&session.account).await? {
        return Err(ApiError::SecondFactorFirst);
    }
    let label = Label::parse(&request.label).map_err(ApiError::InvalidLabel)?;
    let verifier = Verifier::parse(&request.verifier, app.params).map_err(ApiError::InvalidVerifier)?;
    let lookup_tag = LookupTag::parse(&request.lookup_tag).map_err(|_| ApiError::InvalidLookupTag)?;
    let scopes = match &request.scopes {
        Some(names) => Scopes::parse(names).map_err(ApiError::InvalidScopes)?,
        None => Scopes::EVERYTHING,
    };
    let now = app.clock.now();
    let expires_at = expiry(request.expires_in_days, now)?;
    let new = NewAppPassword {
        account: &session.account,
        session: &session.token,
        key: &key,
        fingerprint: &RequestFingerprint::of(&label, &verifier, &lookup_tag, scopes, request.expires_in_days),
        label: &label,
        verifier: &verifier,
        lookup_tag: &lookup_tag,
        scopes,
        expires_at,
        origin: ip.into(),
    };
    let info = match app.store.create_app_password(new, now).await? {
        CreateOutcome::Created(info) => {
            tracing::Span::current().record("id", tracing::field::display(&info.id));
            tracing::info!("app password created");
            info
        }
        CreateOutcome::Replayed(info) => info,
    };
    Ok((StatusCode::CREATED, Json(info)))
}

/// When a password asked to expire in `days` does: `None` for never.
fn expiry(days: Option<i64>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match days {
        None => Ok(None),
        Some(days) if EXPIRY_DAYS.contains(&days) => Ok(Some(now + Duration::days(days))),
        Some(_) => Err(ApiError::InvalidExpiry),
    }
}

/// Rename one app-specific password. The label rules of a new password apply, uniqueness included; the app
/// using it is not affected.
#[utoipa::path(patch, path = "/v1/app-passwords/{id}", tag = "app-passwords", security(("bearer" = [])),
    params(("id" = String, Path, description = "The password's opaque id")),
    request_body = RenameAppPasswordRequest, responses(
    (status = 200, body = AppPasswordInfo),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
    (status = 404, description = "No such password, also for another account's id", body = ErrorBody),
    (status = 409, description = "Another active password has this label", body = ErrorBody),
    (status = 422, description = "A label the server does not take", body = ErrorBody),
))]
#[tracing::instrument(name = "rename_app_password", skip_all, fields(account = %session.account, %id))]
pub async fn rename(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<AppPasswordId>,
    ApiJson(request): ApiJson<RenameAppPasswordRequest>,
) -> Result<Json<AppPasswordInfo>, ApiError> {
    let label = Label::parse(&request.label).map_err(ApiError::InvalidLabel)?;
    let renamed = app
        .store
        .rename_app_password(&session.account, &id, &label, ip.into(), app.clock.now())
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!("app password renamed");
    Ok(Json(renamed.info()))
}

/// Revoke one app-specific password: the app using it is signed out at its next request.
#[utoipa::path(delete, path = "/v1/app-passwords/{id}", tag = "app-passwords", security(("bearer" = [])),
    params(("id" = String, Path, description = "The password's opaque id")), responses(
    (status = 204),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
    (status = 404, description = "No such password, also for another account's id", body = ErrorBody),
))]
#[tracing::instrument(name = "revoke_app_password", skip_all, fields(account = %session.account, %id))]
pub async fn revoke(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<AppPasswordId>,
) -> Result<StatusCode, ApiError> {
    let revoked = app
        .store
        .revoke_app_password(&session.account, &id, ip.into(), app.clock.now())
        .await?;
    if revoked.is_none() {
        return Err(ApiError::NotFound);
    }
    app.verified.evict([&id]);
    tracing::info!("app password revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke All.
#[utoipa::path(delete, path = "/v1/app-passwords", tag = "app-passwords", security(("bearer" = [])), responses(
    (status = 200, body = RevokeAllResult),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
))]
#[tracing::instrument(name = "revoke_all", skip_all, fields(account = %session.account))]
pub async fn revoke_all(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
) -> Result<Json<RevokeAllResult>, ApiError> {
    let revoked = app
        .store
        .revoke_all_app_passwords(&session.account, ip.into(), app.clock.now())
        .await?;
    app.verified.evict(&revoked);
    let revoked = u32::try_from(revoked.len()).unwrap_or(u32::MAX);
    tracing::info!(revoked, "all app passwords revoked");
    Ok(Json(RevokeAllResult { revoked }))
}
