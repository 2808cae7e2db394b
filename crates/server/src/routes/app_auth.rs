//! Third-party sign-in with an app-specific password (HTTP Basic), as a mail or calendar client does it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Duration;
use hmac::{Hmac, Mac};
use keyturn_protocol::wire::{ErrorBody, WhoAmI};
use keyturn_protocol::{AppPassword, LookupTag};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::store::{AuditKind, Candidate};
use crate::throttle::Scope;
use crate::{normalize_email, AppState};

/// `last_used_at` (and the "app sign-in" audit line) is written at most this often per password.
const MARK_USED_EVERY: Duration = Duration::minutes(1);
/// The cache forgets everything past this many entries rather than grow without bound.
const CACHE_CAPACITY: usize = 100_000;

/// Which app passwords this process has verified: id → HMAC(process key, password).
///
/// Only the same password produces the same HMAC, so a hit proves the password without argon2. The key is
/// random per process and never leaves memory. A hit still needs the row to be active, read fresh each time.
pub struct VerifiedCache {
    key: Zeroizing<[u8; 32]>,
    entries: Mutex<HashMap<String, [u8; 32]>>,
}

impl VerifiedCache {
    pub fn new() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        Self {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, password: &AppPassword) -> [u8; 32] {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.key.as_ref()) else {
            return [0; 32];
        };
        mac.update(password.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn hit(&self, id: &str, tag: &[u8; 32]) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(id).is_some_and(|known| bool::from(known.ct_eq(tag)))
    }

    fn insert(&self, id: &str, tag: [u8; 32]) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(id.to_owned(), tag);
    }
}

/// Sign in as a third-party app. Accepts only app-specific passwords, in any case, with or without hyphens.
#[utoipa::path(get, path = "/v1/app-auth/whoami", tag = "app-auth", security(("basic" = [])), responses(
    (status = 200, body = WhoAmI),
    (status = 401, description = "`invalid_credentials`, with `WWW-Authenticate: Basic realm=\"keyturn\"`", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
))]
pub async fn whoami(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Json<WhoAmI>, ApiError> {
    let (email, password) = basic_credentials(&headers).ok_or(ApiError::AppAuthFailed)?;
    let email = normalize_email(&email);
    let now = app.clock.now();
    app.throttle
        .check(Scope::AppAuth, &email, ip, now)
        .map_err(ApiError::RateLimited)?;
    let account = app.store.find_account_by_email(&email).await?;
    let found = match (&account, AppPassword::parse(&password)) {
        (Some(account), Ok(password)) => find_verified(&app, &account.id, password).await?,
        _ => {
            // Same argon2 work as a real miss, so the answer does not tell which e-mails exist.
            app.verify_password(app.dummy.clone(), password.as_str().into()).await;
            None
        }
    };
    let (Some(account), Some(candidate)) = (account.as_ref(), found) else {
        app.throttle.record_failure(Scope::AppAuth, &email, ip, now);
        if let Some(account) = &account {
            app.store
                .record(&account.id, now, AuditKind::FailedAppSignIn, "", &ip.to_string())
                .await?;
        }
        return Err(ApiError::AppAuthFailed);
    };
    app.throttle.record_success(Scope::AppAuth, &email);
    if candidate.last_used_at.is_none_or(|t| now - t >= MARK_USED_EVERY) {
        app.store.mark_used(&candidate.id, now).await?;
        app.store
            .record(
                &account.id,
                now,
                AuditKind::AppSignIn,
                &candidate.label,
                &ip.to_string(),
            )
            .await?;
    }
    Ok(Json(WhoAmI {
        email: account.email.clone(),
        app_password_id: candidate.id,
        label: candidate.label,
    }))
}

/// The active password of this account that `password` is, if any: from the cache, else one argon2 run.
async fn find_verified(app: &AppState, account_id: &str, password: AppPassword) -> Result<Option<Candidate>, ApiError> {
    let candidates = app.store.candidates(account_id, &LookupTag::of(&password)).await?;
    let tag = app.verified.tag(&password);
    if let Some(i) = candidates.iter().position(|c| app.verified.hit(&c.id, &tag)) {
        return Ok(candidates.into_iter().nth(i));
    }
    if candidates.is_empty() {
        app.verify_app_password(app.dummy.clone(), password).await;
        return Ok(None);
    }
    for candidate in candidates {
        if app
            .verify_app_password(candidate.verifier.clone(), password.clone())
            .await
        {
            app.verified.insert(&candidate.id, tag);
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
