//! # Layout
//!
//! The Keyturn account API and its admin CLI.
//!
//! - [`run`] serves the API on a listener until a shutdown future resolves; tests bind `127.0.0.1:0` and run
//!   the real thing. [`AppState`] holds what every request needs.
//! - `routes/` mirrors the URL space: `config`, `sessions`, `account`, `app_passwords`, `app_auth`.
//! - [`store`] is the SQLite database, one module per table.
//! - `throttle` slows down password guessing; `credentials` hashes and verifies with argon2 off the runtime.
//! - [`cli`] is the `keyturn-server` command line: `serve` and the support staff's admin commands.
//! - [`openapi`] builds the OpenAPI document from the same route table the server runs.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod admin;
pub mod cli;
pub mod clock;
mod credentials;
mod error;
mod extract;
pub mod openapi;
mod routes;
pub mod store;
mod throttle;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use keyturn_protocol::{Verifier, VerifierParams};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use store::Store;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

#[doc(hidden)]
pub struct Shared {
    store: Store,
    clock: Arc<dyn Clock>,
    /// argon2id parameters for device verifiers (advertised at `/v1/config`) and primary password hashes.
    params: VerifierParams,
    throttle: throttle::Throttle,
    /// App passwords already verified in this process, so a chatty mail client costs one argon2 run.
    verified: routes::app_auth::VerifiedCache,
    /// Verified against when an e-mail is unknown, so that costs the same time as a wrong password.
    dummy: Verifier,
    /// argon2 runs since start: the cost the verified-password cache exists to save.
    argon2_verifications: AtomicU64,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, params: VerifierParams) -> anyhow::Result<Self> {
        let dummy = credentials::dummy_verifier(params)?;
        Ok(Self(Arc::new(Shared {
            store,
            clock,
            params,
            throttle: throttle::Throttle::default(),
            verified: routes::app_auth::VerifiedCache::new(),
            dummy,
            argon2_verifications: AtomicU64::new(0),
        })))
    }
}

impl AppState {
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn params(&self) -> VerifierParams {
        self.params
    }

    /// How many argon2 verifications requests have cost since start.
    pub fn argon2_verifications(&self) -> u64 {
        self.argon2_verifications.load(Ordering::Relaxed)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let (router, _api) = routes::api().split_for_parts();
    router
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests in flight.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// E-mail addresses compare without case or surrounding space.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}
