use axum::extract::State;
use axum::Json;
use keyturn_protocol::wire::ServerConfig;
use keyturn_protocol::MAX_APP_PASSWORDS;

use crate::AppState;

/// What a device needs to build a verifier the server will accept.
#[utoipa::path(get, path = "/v1/config", tag = "config", responses((status = 200, body = ServerConfig)))]
pub async fn get_config(State(app): State<AppState>) -> Json<ServerConfig> {
    Json(ServerConfig {
        verifier_params: app.params,
        max_app_passwords: MAX_APP_PASSWORDS,
        second_factor_required: app.require_second_factor,
        services: app.services.clone(),
    })
}
