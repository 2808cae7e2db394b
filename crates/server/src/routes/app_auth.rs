//! Third-party sign-in with an app-specific password (HTTP Basic), as a mail or calendar client does it.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Duration;
use keyturn_protocol::wire::{ErrorBody, WhoAmI};
use keyturn_protocol::{AppPassword, Email, LookupTag};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::store::{AccountId, AuditKind, Candidate};
use crate::throttle::Scope;
use crate::AppState;

/// `last_used_at` (and the "app sign-in" audit line) is written at most this often per password.
const MARK_USED_EVERY: Duration = Duration::minutes(1);

/// Sign in as a third-party app. Accepts only app-specific passwords, in any case, with or without hyphens.
#[utoipa::path(get, path = "/v1/app-auth/whoami", tag = "app-auth", security(("basic" = [])), responses(
    (status = 200, body = WhoAmI),
    (status = 401, description = "`invalid_credentials`, with `WWW-Authenticate: Basic realm=\"keyturn\"`", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    (status = 503, description = "`overloaded`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the server can check a password again"))),
))]
#[tracing::instrument(name = "app_sign_in", skip_all, fields(account, id))]
pub async fn whoami(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Json<WhoAmI>, ApiError> {
    let (email, password) = basic_credentials(&headers).ok_or(ApiError::AppAuthFailed)?;
    let email = Email::parse(&email).ok();
    let now = app.clock.now();
    let attempt = app
        .throttle
        .reserve(Scope::AppAuth, email.as_ref(), ip, now)
        .map_err(ApiError::RateLimited)?;
    let account = match &email {
        Some(email) => app.store.find_account_by_email(email).await?,
        None => None,
    };
    let found = match (&account, AppPassword::parse(&password)) {
        (Some(account), Ok(password)) => find_verified(&app, &account.id, password).await,
        // Same argon2 work as a real miss, so the answer does not tell which e-mails exist.
        _ => app
            .argon2
            .verify_password(app.dummy.clone(), password.as_str().into())
            .await
            .map(|_| None)
            .map_err(ApiError::from),
    };
    let found = match found {
        Err(ApiError::Overloaded) => {
            attempt.not_tried();
            return Err(ApiError::Overloaded);
        }
        other => other?,
    };
    let Some((account, candidate)) = account.as_ref().zip(found) else {
        attempt.failed();
        if let Some(account) = &account {
            app.store
                .record(&account.id, ip.into(), AuditKind::FailedAppSignIn, now)
                .await?;
        }
        return Err(ApiError::AppAuthFailed);
    };
    let span = tracing::Span::current();
    span.record("account", tracing::field::display(&account.id));
    span.record("id", tracing::field::display(&candidate.id));
    attempt.succeeded();
    if candidate.last_used_at.is_none_or(|t| now - t >= MARK_USED_EVERY) {
        app.store.mark_used(&candidate.id, now).await?;
        app.store
            .record_about(&account.id, ip.into(), AuditKind::AppSignIn, &candidate.label, now)
            .await?;
    }
    Ok(Json(WhoAmI {
        email: account.email.clone(),
        app_password_id: candidate.id,
        label: candidate.label,
    }))
}

/// The active password of this account that `password` is, if any: from the cache, else one argon2 run.
async fn find_verified(
    app: &AppState,
    account: &AccountId,
    password: AppPassword,
) -> Result<Option<Candidate>, ApiError> {
    let candidates = app.store.candidates(account, &LookupTag::of(&password)).await?;
    let proof = app.verified.proof(&password);
    if let Some(i) = candidates.iter().position(|c| app.verified.hit(&c.id, &proof)) {
        return Ok(candidates.into_iter().nth(i));
    }
    if candidates.is_empty() {
        app.argon2.verify_app_password(app.dummy.clone(), password).await?;
        return Ok(None);
    }
    for candidate in candidates {
        if app
            .argon2
            .verify_app_password(candidate.verifier.clone(), password.clone())
            .await?
        {
            app.verified.insert(candidate.id.clone(), proof);
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// `Authorization: Basic base64(email:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Zeroizing<String>)> {
    let encoded = headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (email, password) = text.split_once(':')?;
    Some((email.to_owned(), Zeroizing::new(password.to_owned())))
}
