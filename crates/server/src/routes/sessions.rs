use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyturn_protocol::wire::{AccountSummary, ErrorBody, SessionCreated, SignInRequest};
use secrecy::SecretString;

use crate::error::ApiError;
use crate::extract::{claimed_email, ApiJson, ClientIp, Session};
use crate::routes::second_factor::verify_code;
use crate::session_token::SessionToken;
use crate::store::{AccountId, AuditKind};
use crate::throttle::Scope;
use crate::AppState;

/// Sign in with the primary password. App-specific passwords never work here.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = SignInRequest, responses(
    (status = 201, body = SessionCreated),
    (status = 401, description = "`invalid_credentials`; with two-factor authentication on, after a right password, `second_factor_required` (no code sent) or `invalid_second_factor`", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    (status = 503, description = "`overloaded`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the server can check a password again"))),
))]
#[tracing::instrument(name = "sign_in", skip_all, fields(account))]
pub async fn create_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let email = claimed_email(&request.email).map_err(|_| ApiError::InvalidCredentials)?;
    let password = SecretString::from(request.password);
    let now = app.clock.now();
    let attempt = app.throttle.reserve(Scope::SignIn, email.as_ref(), ip, now).await?;
    let account = match &email {
        Some(email) => app.store.find_account_by_email(email).await?,
        None => None,
    };
    // An unknown e-mail runs the same argon2 work against a dummy hash: the answer takes as long either way.
    let verifier = account
        .as_ref()
        .map_or_else(|| app.dummy.clone(), |a| a.password.clone());
    let stored_params = verifier.params();
    let (attempt, verified) = attempt
        .checked(app.argon2.verify_password(verifier, password.clone()).await)
        .await?;
    let account = match account {
        Some(account) if verified => account,
        other => {
            attempt.failed().await;
            if let Some(account) = other {
                app.store
                    .record(&account.id, ip.into(), AuditKind::FailedSignIn, now)
                    .await?;
            }
            return Err(ApiError::InvalidCredentials);
        }
    };
    tracing::Span::current().record("account", tracing::field::display(&account.id));
    attempt.succeeded().await;
    if app.store.second_factor_on(&account.id).await? {
        let code = request.code.as_deref().ok_or(ApiError::SecondFactorRequired)?;
        verify_code(&app, &account.id, &account.email, ip, code).await?;
    }
    if stored_params != Some(app.params) {
        rehash(&app, &account.id, password).await;
    }
    let (token, token_hash) = SessionToken::issue();
    let expires_at = app.store.insert_session(&token_hash, &account.id, now).await?;
    app.store.record(&account.id, ip.into(), AuditKind::SignIn, now).await?;
    tracing::info!("signed in");
    let body = SessionCreated {
        token: token.reveal(),
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
#[tracing::instrument(name = "sign_out", skip_all, fields(account = %session.account))]
pub async fn delete_current_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
) -> Result<StatusCode, ApiError> {
    app.store.delete_session(&session.token).await?;
    app.store
        .record(&session.account, ip.into(), AuditKind::SignOut, app.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The password was stored with older argon2 parameters: now that it is known, store it with the current ones.
/// Best effort: a sign-in never fails for it.
async fn rehash(app: &AppState, account: &AccountId, password: SecretString) {
    match app.argon2.hash_password(password, app.params).await {
        Ok(hash) => match app.store.rehash_password(account, &hash).await {
            Ok(()) => tracing::info!("primary password rehashed with the current parameters"),
            Err(e) => tracing::warn!(error = %e, "could not store the rehashed password"),
        },
        Err(e) => tracing::warn!(error = %e, "could not rehash the password"),
    }
}
