//! Request extractors: JSON bodies with API-shaped errors, the signed-in session, the client's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use keyturn_protocol::Email;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::session_token::{TokenHash, SESSION_IDLE, TOUCH_EVERY};
use crate::store::AccountId;
use crate::AppState;

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

/// `Query<T>` whose rejections are [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// The client's IP address, for throttling and the audit trail: the peer, or through trusted proxies the
/// address they forward.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        Ok(Self(app.trusted_proxies.client_address(peer, &parts.headers)))
    }
}

/// The account behind a valid `Authorization: Bearer` session.
pub struct Session {
    pub account: AccountId,
    pub email: Email,
    pub token: TokenHash,
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
        let token = TokenHash::of(token.trim());
        let session = app.store.find_session(&token).await?.ok_or(ApiError::Unauthenticated)?;
        let now = app.clock.now();
        if now >= session.expires_at || now >= session.last_seen_at + SESSION_IDLE {
            app.store.delete_session(&token).await?;
            return Err(ApiError::Unauthenticated);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            app.store.touch_session(&token, now).await?;
        }
        Ok(Self {
            account: session.account,
            email: session.email,
            token,
        })
    }
}
