use axum::extract::{Path, State};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use keyturn_protocol::wire::{AccountSummary, ErrorBody, SessionCreated, SessionList, SignInRequest};
use secrecy::SecretString;

use crate::account::{self, Caller};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp, Session};
use crate::store::{AuditKind, UNKNOWN_CLIENT};
use crate::AppState;

/// Sign in with the primary password. App-specific passwords never work here.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = SignInRequest, responses(
    (status = 201, body = SessionCreated),
    (status = 401, description = "A wrong email or password; with two-factor authentication on, after a right password, no code sent or a wrong one", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
    (status = 503, description = "The server is busy checking other passwords; nothing was checked", body = ErrorBody),
))]
#[tracing::instrument(name = "sign_in", skip_all, fields(account))]
pub async fn create_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let client = client_name(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()));
    let password = SecretString::from(request.password);
    let signed_in = account::sign_in(
        &app,
        &request.email,
        password,
        request.code.as_deref(),
        &client,
        Caller::Client(ip),
    )
    .await?;
    let body = SessionCreated {
        token: signed_in.token.reveal(),
        expires_at: signed_in.expires_at,
        account: AccountSummary { email: signed_in.email },
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Sign out: this session's token stops working.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])), responses(
    (status = 204),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
))]
#[tracing::instrument(name = "sign_out", skip_all, fields(account = %session.account))]
pub async fn delete_current_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
) -> Result<StatusCode, ApiError> {
    app.store.delete_session(&session.token).await?;
    app.store
        .record(&session.account, ip.into(), AuditKind::SignOut, app.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account's signed-in devices: every live session, the newest sign-in first, this one marked `current`.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", security(("bearer" = [])), responses(
    (status = 200, body = SessionList),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
))]
#[tracing::instrument(name = "list_sessions", skip_all, fields(account = %session.account))]
pub async fn list_sessions(State(app): State<AppState>, session: Session) -> Result<Json<SessionList>, ApiError> {
    let sessions = app
        .store
        .sessions(&session.account, Some(&session.token), Some(app.clock.now()))
        .await?;
    Ok(Json(SessionList { sessions }))
}

/// Sign a device out: that session's token stops working at once. The current session's id works too.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id from `GET /v1/sessions`")), responses(
    (status = 204),
    (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
    (status = 404, description = "No such session, also for another account's session", body = ErrorBody),
))]
#[tracing::instrument(name = "end_session", skip_all, fields(account = %session.account))]
pub async fn end_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !app
        .store
        .end_session(&session.account, &id, ip.into(), app.clock.now())
        .await?
    {
        return Err(ApiError::NoSuchSession);
    }
    tracing::info!("device signed out");
    Ok(StatusCode::NO_CONTENT)
}

/// Longest client name kept, in characters.
const MAX_CLIENT_CHARS: usize = 100;

/// The app that signed in, in words, from its User-Agent: Keyturn's own `Keyturn/0.1.0 (Linux)` reads
/// "Keyturn 0.1.0 on Linux"; anything else is kept as sent, without control characters, text-direction
/// overrides or other invisible characters (so no name can disguise itself as another in Signed-In Devices),
/// cut to [`MAX_CLIENT_CHARS`]; none at all is [`UNKNOWN_CLIENT`].
fn client_name(user_agent: Option<&str>) -> String {
    let cleaned: String = user_agent
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !keyturn_protocol::label::is_invisible(*c))
        .take(MAX_CLIENT_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        return UNKNOWN_CLIENT.to_owned();
    }
    let keyturn = cleaned.strip_prefix("Keyturn/").and_then(|rest| {
        let (version, system) = rest.split_once(" (")?;
        let system = system.strip_suffix(')')?;
        (!version.is_empty() && !system.is_empty()).then(|| format!("Keyturn {version} on {system}"))
    });
    keyturn.unwrap_or_else(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keyturn_names_itself_and_its_system() {
        assert_eq!(client_name(Some("Keyturn/0.1.0 (Linux)")), "Keyturn 0.1.0 on Linux");
        assert_eq!(client_name(Some("Keyturn/2.3.4 (macOS)")), "Keyturn 2.3.4 on macOS");
    }

    #[test]
    fn other_clients_are_named_as_they_say() {
        assert_eq!(client_name(Some("curl/8.5.0")), "curl/8.5.0");
        assert_eq!(client_name(Some("Keyturn/ (Linux)")), "Keyturn/ (Linux)");
        assert_eq!(client_name(None), UNKNOWN_CLIENT);
        assert_eq!(client_name(Some("  ")), UNKNOWN_CLIENT);
    }

    #[test]
    fn text_direction_overrides_and_invisible_characters_are_dropped() {
        // "Keyturn on Linux" spelt backwards behind a right-to-left override would read as it.
        assert_eq!(client_name(Some("\u{202E}xuniL no nruteyK")), "xuniL no nruteyK");
        assert_eq!(
            client_name(Some("Mail\u{2066}\u{200F}\u{061C}\u{3164}\u{2800} app")),
            "Mail app"
        );
        assert_eq!(client_name(Some("\u{202E}\u{3164}")), UNKNOWN_CLIENT);
    }

    proptest! {
        #[test]
        fn a_name_is_short_and_has_no_control_characters(agent in "[\\s\\S]{0,300}") {
            let name = client_name(Some(&agent));
            prop_assert!(name.chars().count() <= MAX_CLIENT_CHARS);
            prop_assert!(!name.chars().any(char::is_control));
            prop_assert!(!name.chars().any(keyturn_protocol::label::is_invisible));
            prop_assert!(!name.is_empty());
        }
    }
}
