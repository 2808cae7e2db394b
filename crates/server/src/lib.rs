//! # Layout
//!
//! The Keyturn account API and its admin CLI.
//!
//! - [`run`] serves the API on a listener until a shutdown future resolves; tests bind `127.0.0.1:0` and run
//!   the real thing. [`AppState`] (`state`) holds what every request needs.
//! - `routes/` mirrors the URL space (`config`, `sessions`, `account`, `second_factor`, `app_passwords`, `app_auth`) and
//!   assembles the one route table both the server and the published OpenAPI document are built from; each
//!   handler parses, calls [`account`] and answers.
//! - [`ldap`] is the other door: LDAP simple binds with app-specific passwords, for mail servers; it too parses,
//!   calls [`account`] and answers.
//! - [`account`] holds the procedures (sign in, app sign-in, the throttled attempt, two-factor, password change),
//!   which know no protocol; `layers` (a test) keeps doors above procedures above parts.
//! - [`store`] is the SQLite database, one module per table; `idempotency` keeps creates safe to retry.
//! - `extract` reads requests (JSON bodies, the session, the client's address via `client_address`, which
//!   believes `X-Forwarded-For` only from trusted proxies); `session_token` makes and
//!   hashes session tokens; `second_factor` computes TOTP codes and recovery codes; `error` turns every failure into `{"error":{"code","message"}}`.
//! - `throttle` slows down password guessing; `credentials` runs argon2 off the runtime; `verified_cache`
//!   spares argon2 for app passwords this process has already verified.
//! - [`cli`] is the `keyturn-server` command line: `serve` (in `serve`, with the LDAP door beside the API when asked)
//!   and the support staff's [`admin`] commands.
//! - `testkit` (feature `testkit`): the real server on a free port for other crates' tests, and a clock
//!   they step.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod account;
pub mod admin;
pub mod cli;
mod client_address;
pub mod clock;
mod config_file;
pub mod connections;
mod credentials;
mod error;
mod extract;
#[cfg(test)]
mod layers;
pub mod ldap;
mod metrics;
mod password_policy;
mod routes;
mod second_factor;
mod serve;
mod session_token;
mod state;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
mod throttle;
mod verified_cache;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use client_address::TrustedProxies;
pub use clock::{Clock, SystemClock};
pub use credentials::Argon2Limits;
pub use routes::openapi_json;
pub use state::{AppState, Options};
pub use store::{Database, Store};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP API. Each request gets an `x-request-id` (kept if the client sent one), answered back and
/// named on every log line of that request.
pub fn router(state: AppState) -> Router {
    let (router, _api) = routes::api().split_for_parts();
    // No answer of this API is for a cache: some carry a session token, all are one account's.
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        // The path only: a query string is not logged.
        tracing::info_span!("request", request_id, method = %request.method(), path = request.uri().path())
    });
    router
        .fallback(routes::not_found)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record_request,
        ))
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::map_response(no_store))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// A request runs to its end even if its client leaves. Dropped at an await, a handler could leave a write
/// half-made: a transaction begun on a pooled connection and never ended, holding SQLite's write lock or an
/// account's row lock in PostgreSQL.
async fn run_to_completion(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use tracing::Instrument;
    match tokio::spawn(next.run(request).in_current_span()).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => axum::response::IntoResponse::into_response(axum::http::StatusCode::SERVICE_UNAVAILABLE),
    }
}

async fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests in flight.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let purge = tokio::spawn(purge_expired(state.clone()));
    let limits = state.connections;
    let served = connections::serve(listener, router(state), limits, shutdown).await;
    purge.abort();
    served
}

/// Serves `GET /metrics` on `listener` (the operator's address, apart from the API's) until `shutdown`.
pub async fn run_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A scraper or two: a small cap of its own, so the metrics port cannot spend the API's file descriptors.
    let limits = connections::ConnectionLimits {
        max_connections: 16,
        ..state.connections
    };
    connections::serve(listener, metrics::router(state), limits, shutdown).await
}

/// Every `purge_every`, for as long as the server runs: deletes expired sessions and old idempotency keys, and
/// marks app-specific passwords past their expiry expired (each with its line in the audit trail).
async fn purge_expired(state: AppState) {
    let mut every = tokio::time::interval(state.purge_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match state.store.purge_expired(state.clock.now()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired sessions and idempotency keys deleted"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
        }
        match state.store.expire_all_due(state.clock.now()).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "app-specific passwords expired"),
            Err(e) => tracing::warn!(error = %e, "expiring app-specific passwords failed"),
        }
    }
}
