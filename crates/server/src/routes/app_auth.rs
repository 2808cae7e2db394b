//! Third-party sign-in with an app-specific password (HTTP Basic), as a mail or calendar client does it.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use keyturn_protocol::wire::{ErrorBody, WhoAmI, WhoAmIQuery};
use keyturn_protocol::{AppPassword, AppPasswordId, LookupTag, Scope as AccessScope};
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
    (status = 401, description = "A wrong email or app-specific password, with `WWW-Authenticate: Basic realm=\"keyturn\"`", body = ErrorBody),
    (status = 400, description = "A query string that is not one scope", body = ErrorBody),
    (status = 403, description = "The password is right and may not reach the scope asked for", body = ErrorBody),
    (status = 422, description = "The scope asked for is none of the four", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
    (status = 503, description = "The server is busy checking other passwords; nothing was checked", body = ErrorBody),
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
        if refusal_is_news(&app, &candidate.id, scope, now) {
            let detail = format!("{} asked for {}", candidate.label, scope.as_str());
            app.store
                .record_about(&account.id, ip.into(), AuditKind::RefusedScope, &detail, now)
                .await?;
        }
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

/// When each password's refusal for each scope was last audited, for this many (password, scope) pairs at
/// most: the cold ones are forgotten first.
pub(crate) const REFUSALS_KEPT: usize = 10_000;

/// Whether refusing `id` for `scope` at `now` is worth an audit line, and if so notes that it was written. A
/// refused password is a right one, proven from the cache without argon2 or back-off, so a mail client asking
/// every few seconds for what it may not reach would otherwise write a line each time: like app sign-ins,
/// one a minute per password (and scope). Per process, so each instance behind a load balancer writes its own.
fn refusal_is_news(app: &AppState, id: &AppPasswordId, scope: AccessScope, now: DateTime<Utc>) -> bool {
    let key = (id.clone(), scope);
    if app
        .scope_refusals
        .get(&key)
        .is_some_and(|at| now - at < MARK_USED_EVERY)
    {
        return false;
    }
    app.scope_refusals.insert(key, now);
    true
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
