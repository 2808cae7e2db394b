//! Request extractors: JSON bodies with API-shaped errors, the signed-in session, the client's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::AppState;

/// A session ends 30 days after sign-in, or after 7 days unused, whichever comes first.
pub const SESSION_ABSOLUTE: Duration = Duration::days(30);
pub const SESSION_IDLE: Duration = Duration::days(7);
/// `last_seen_at` is written at most this often.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// `Json<T>` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}

/// The client's IP address, for throttling and the audit trail.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        Ok(Self(ip))
    }
}

/// A new session token: 256 bits from the OS CSPRNG, base64url. Returns the token and the hash to store.
pub fn new_session_token() -> (Zeroizing<String>, String) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    let token = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()));
    let hash = token_hash(&token);
    (token, hash)
}

/// Only this SHA-256 of a token is stored, so a copy of the database signs nobody in.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The account behind a valid `Authorization: Bearer` session.
pub struct Session {
    pub account_id: String,
    pub email: String,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        let token_hash = token_hash(token.trim());
        let session = app
            .store
            .find_session(&token_hash)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let now = app.clock.now();
        if now >= session.expires_at || now >= session.last_seen_at + SESSION_IDLE {
            app.store.delete_session(&token_hash).await?;
            return Err(ApiError::Unauthenticated);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            app.store.touch_session(&token_hash, now).await?;
        }
        Ok(Self {
            account_id: session.account_id,
            email: session.email,
            token_hash,
        })
    }
}
