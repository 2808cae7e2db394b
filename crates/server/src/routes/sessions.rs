use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyturn_protocol::wire::{AccountSummary, ErrorBody, SessionCreated, SignInRequest};
use keyturn_protocol::Verifier;
use secrecy::SecretString;

use crate::error::ApiError;
use crate::extract::{new_session_token, ApiJson, ClientIp, Session, SESSION_ABSOLUTE};
use crate::store::AuditKind;
use crate::throttle::Scope;
use crate::{normalize_email, AppState};

/// Sign in with the primary password. App-specific passwords never work here.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = SignInRequest, responses(
    (status = 201, body = SessionCreated),
    (status = 401, description = "`invalid_credentials`", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
))]
pub async fn create_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let email = normalize_email(&request.email);
    let password = SecretString::from(request.password);
    let now = app.clock.now();
    app.throttle
        .check(Scope::SignIn, &email, ip, now)
        .map_err(ApiError::RateLimited)?;
    let account = app.store.find_account_by_email(&email).await?;
    // An unknown e-mail runs the same argon2 work against a dummy hash: the answer takes as long either way.
    let verifier = match &account {
        Some(account) => Verifier::from_stored(account.password_hash.clone()),
        None => app.dummy.clone(),
    };
    let verified = app.verify_password(verifier, password).await;
    let account = match account {
        Some(account) if verified => account,
        other => {
            app.throttle.record_failure(Scope::SignIn, &email, ip, now);
            if let Some(account) = other {
                app.store
                    .record(&account.id, now, AuditKind::FailedSignIn, "", &ip.to_string())
                    .await?;
            }
            return Err(ApiError::InvalidCredentials);
        }
    };
    app.throttle.record_success(Scope::SignIn, &email);
    let (token, token_hash) = new_session_token();
    let expires_at = now + SESSION_ABSOLUTE;
    app.store
        .insert_session(&token_hash, &account.id, now, expires_at)
        .await?;
    app.store
        .record(&account.id, now, AuditKind::SignIn, "", &ip.to_string())
        .await?;
    tracing::info!(account = %account.id, "signed in");
    let body = SessionCreated {
        token: token.to_string(),
        expires_at,
        account: AccountSummary { email: account.email },
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Sign out: this session's token stops working.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])), responses(
    (status = 204),
    (status = 401, description = "`unauthenticated`", body = ErrorBody),
))]
pub async fn delete_current_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
) -> Result<StatusCode, ApiError> {
    app.store.delete_session(&session.token_hash).await?;
    app.store
        .record(
            &session.account_id,
            app.clock.now(),
            AuditKind::SignOut,
            "",
            &ip.to_string(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
