//! The URL space, one module per resource. Each handler carries its OpenAPI description, and [`api`] is the
//! single route table both the server and the published document are built from.

pub mod account;
pub mod app_auth;
pub mod app_passwords;
pub mod config;
pub mod sessions;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(config::get_config))
        .routes(routes!(sessions::create_session))
        .routes(routes!(sessions::delete_current_session))
        .routes(routes!(account::get_account))
        .routes(routes!(account::change_password))
        .routes(routes!(
            app_passwords::list,
            app_passwords::create,
            app_passwords::revoke_all
        ))
        .routes(routes!(app_passwords::revoke))
        .routes(routes!(app_auth::whoami))
}

pub async fn not_found() -> ApiError {
    ApiError::NoSuchEndpoint
}
