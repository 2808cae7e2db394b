//! The URL space, one module per resource. Each handler carries its OpenAPI description, and [`api`] is the
//! single route table both the server and the published document are built from.

pub mod account;
pub mod app_auth;
pub mod app_passwords;
pub mod config;
pub mod health;
mod openapi;
pub mod second_factor;
pub mod sessions;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(config::get_config))
        .routes(routes!(sessions::create_session, sessions::list_sessions))
        .routes(routes!(sessions::delete_current_session))
        .routes(routes!(sessions::end_session))
        .routes(routes!(account::get_account))
        .routes(routes!(account::activity))
        .routes(routes!(account::change_password))
        .routes(routes!(second_factor::enrol, second_factor::disable))
        .routes(routes!(second_factor::confirm))
        .routes(routes!(
            app_passwords::list,
            app_passwords::create,
            app_passwords::revoke_all
        ))
        .routes(routes!(app_passwords::revoke, app_passwords::rename))
        .routes(routes!(app_auth::whoami))
}

pub async fn not_found() -> ApiError {
    ApiError::NoSuchEndpoint
}

/// The OpenAPI 3 document as JSON, pretty-printed with a trailing newline, exactly as committed in
/// `docs/openapi.json` (a test keeps the two equal).
pub fn openapi_json() -> String {
    let (_, mut api) = api().split_for_parts();
    // The crate version would make every release a spurious diff; the contract has its own version.
    api.info.version = "1".to_owned();
    openapi::document_error_codes(&mut api);
    let mut json = api.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
