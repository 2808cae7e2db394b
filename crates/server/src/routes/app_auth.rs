//! Third-party sign-in with an app-specific password (HTTP Basic), as a mail or calendar client does it.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Duration;
use keyturn_protocol::wire::{ErrorBody, WhoAmI, WhoAmIQuery};
use keyturn_protocol::{AppPassword, LookupTag, Scope as AccessScope};
use zeroize::Zeroizing;

use crate::credentials::Overloaded;
use crate::error::ApiError;
use crate::extract::{claimed_email, ApiQuery, ClientIp};
use crate::store::{AuditKind, Candidate};
use crate::throttle::Scope;
use crate::verified_cache::Proof;
use crate::AppState;

/// `last_used_at` (and the "app sign-in" audit line) is written at most this often per password.
const MARK_USED_EVERY: Duration = Duration::minutes(1);

/// Sign in as a third-party app. Accepts only app-specific passwords, in any case, with or without hyphens,
/// and not after they expire. With `?scope=…`, only a password that may reach it.
#[utoipa::path(get, path = "/v1/app-auth/whoami", tag = "app-auth", security(("basic" = [])), params(WhoAmIQuery),
    responses(
    (status = 200, body = WhoAmI),
    (status = 401, description = "`invalid_credentials`, with `WWW-Authenticate: Basic realm=\"keyturn\"`", body = ErrorBody),
    (status = 400, description = "`bad_request`: a query string that is not one scope", body = ErrorBody),
    (status = 403, description = "`insufficient_scope`: the password is right and may not reach the scope asked for", body = ErrorBody),
    (status = 422, description = "`invalid_scopes`: the scope asked for is none of the four", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    (status = 503, description = "`overloaded`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the server can check a password again"))),
))]
#[tracing::instrument(name = "app_sign_in", skip_all, fields(account, id))]
pub async fn whoami(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiQuery(query): ApiQuery<WhoAmIQuery>,
    headers: HeaderMap,
) -> Result<Json<WhoAmI>, ApiError> {
    let wanted = query
        .scope
        .as_deref()
        .map(AccessScope::parse)
        .transpose()
        .map_err(ApiError::InvalidScopes)?;
    let (email, password) = basic_credentials(&headers).ok_or(ApiError::AppAuthFailed)?;
    let email = claimed_email(&email).map_err(|_| ApiError::AppAuthFailed)?;
    let now = app.clock.now();
    let account = match &email {
        Some(email) => app.store.find_account_by_email(email).await?,
        None => None,
    };
    let parsed = AppPassword::parse(&password).ok().map(|parsed| {
        let proof = app.verified.proof(&parsed);
        (parsed, proof)
    });
    let mut candidates = match (&account, &parsed) {
        (Some(account), Some((parsed, _))) => app.store.candidates(&account.id, &LookupTag::of(parsed), now).await?,
        _ => Vec::new(),
    };
    let cached = parsed
        .as_ref()
        .and_then(|(_, proof)| candidates.iter().position(|c| app.verified.hit(&c.id, proof)));
    let found = match cached {
        // A password this process has verified is proven without argon2, so it is no guess: no back-off
        // refuses it, and a mail client retrying a revoked password cannot lock out the other apps of the
        // same computer.
        Some(i) => Some(candidates.swap_remove(i)),
        None => {
            let attempt = app.throttle.reserve(Scope::AppAuth, email.as_ref(), ip, now).await?;
            // Without candidates (an unknown account included), or with a password that is not one, the same
            // argon2 work against the dummy: the answer does not tell which e-mails exist.
            let verified = match parsed {
                Some((parsed, proof)) => verify(&app, candidates, parsed, proof).await,
                None => app
                    .argon2
                    .verify_password(app.dummy.clone(), password.as_str().into())
                    .await
                    .map(|_| None),
            };
            let (attempt, found) = attempt.checked(verified).await?;
            if found.is_some() {
                attempt.succeeded().await;
            } else {
                attempt.failed().await;
            }
            found
        }
    };
    let (Some(account), Some(candidate)) = (&account, found) else {
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
    // Only after the password proved right: a wrong one is refused as wrong, whatever it asked to reach.
    if let Some(scope) = wanted.filter(|scope| !candidate.scopes.contains(*scope)) {
        return Err(ApiError::InsufficientScope(scope.as_str()));
    }
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
        scopes: candidate.scopes,
    }))
}

/// The candidate `password` is, by one argon2 run each (almost always one candidate, or the dummy for none).
async fn verify(
    app: &AppState,
    candidates: Vec<Candidate>,
    password: AppPassword,
    proof: Proof,
) -> Result<Option<Candidate>, Overloaded> {
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn with_authorization(value: &str) -> Option<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).ok()?);
        Some(headers)
    }

    proptest! {
        #[test]
        fn basic_credentials_come_back_as_they_were_sent(email in "[^:]{0,60}", password in "[\\s\\S]{0,60}") {
            let encoded = STANDARD.encode(format!("{email}:{password}"));
            let headers = with_authorization(&format!("Basic {encoded}")).unwrap();
            let (got_email, got_password) = basic_credentials(&headers).unwrap();
            prop_assert_eq!(got_email, email);
            prop_assert_eq!(got_password.as_str(), password.as_str());
        }

        #[test]
        fn any_authorization_header_is_read_without_panicking(value in "[ -~]{0,120}") {
            if let Some(headers) = with_authorization(&value) {
                let _ = basic_credentials(&headers);
            }
        }
    }
}
