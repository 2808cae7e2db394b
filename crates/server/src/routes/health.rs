//! For load balancers and orchestrators: is the process alive, and is it ready to serve.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// Longest a readiness check waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive), `ready`, `migrations_pending` or `database_unreachable`.
    pub status: &'static str,
}

/// Alive: the process answers. It reads nothing, so a slow database does not get a healthy server restarted.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Ready: the database answers within 2 seconds and has every migration this server knows.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Not ready: the database is unreachable or its migrations are pending", body = Health)
    )
)]
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    let status = match tokio::time::timeout(READY_TIMEOUT, app.store.ready()).await {
        Ok(Ok(true)) => "ready",
        Ok(Ok(false)) => "migrations_pending",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            "database_unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within {READY_TIMEOUT:?}");
            "database_unreachable"
        }
    };
    let code = if status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(Health { status }))
}
