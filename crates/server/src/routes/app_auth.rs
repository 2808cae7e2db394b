//! Third-party sign-in with an app-specific password (HTTP Basic), as a mail or calendar client or a reverse
//! proxy in front of one does it; the procedure is `account::app_sign_in`.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keyturn_protocol::wire::{ErrorBody, WhoAmI, WhoAmIQuery};
use keyturn_protocol::Scope;
use zeroize::Zeroizing;

use crate::account::{self, Caller, Door};
use crate::error::ApiError;
use crate::extract::{ApiQuery, ClientIp};
use crate::AppState;

/// Sign in as a third-party app. Accepts only app-specific passwords, in any case, with or without hyphens,
/// and not after they expire. With `?scope=…`, only a password that may reach it; without, only a password
/// that may reach everything. The 200 answer names the account in a `Keyturn-Account` header too, for a reverse
/// proxy to hand on (nginx `auth_request_set`).
#[utoipa::path(get, path = "/v1/app-auth/whoami", tag = "app-auth", security(("basic" = [])), params(WhoAmIQuery),
    responses(
    (status = 200, body = WhoAmI, headers(("Keyturn-Account" = String, description = "The account's canonical email"))),
    (status = 401, description = "A wrong email or app-specific password, with `WWW-Authenticate: Basic realm=\"keyturn\"`", body = ErrorBody),
    (status = 400, description = "A query string that is not one scope", body = ErrorBody),
    (status = 403, description = "The password is right and may not reach the scope asked for, or is limited and no scope was asked for", body = ErrorBody),
    (status = 422, description = "The scope asked for is none of the four", body = ErrorBody),
    (status = 429, description = "Too many attempts", body = ErrorBody),
    (status = 503, description = "The server is busy checking other passwords; nothing was checked", body = ErrorBody),
))]
#[tracing::instrument(name = "app_sign_in", skip_all, fields(account, id))]
pub async fn whoami(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiQuery(query): ApiQuery<WhoAmIQuery>,
    headers: HeaderMap,
) -> Result<(NamedAccount, Json<WhoAmI>), ApiError> {
    let wanted = query
        .scope
        .as_deref()
        .map(Scope::parse)
        .transpose()
        .map_err(ApiError::InvalidScopes)?;
    let (email, password) = basic_credentials(&headers).ok_or(ApiError::AppAuthFailed)?;
    let signed_in = account::app_sign_in(&app, &email, &password, wanted, Caller::Client(ip), Door::Http).await?;
    // An email is printable ASCII or UTF-8, which a header value carries as bytes.
    let account =
        HeaderValue::from_bytes(signed_in.email.as_str().as_bytes()).map_err(|e| ApiError::Internal(e.into()))?;
    Ok((
        [(KEYTURN_ACCOUNT, account)],
        Json(WhoAmI {
            email: signed_in.email,
            app_password_id: signed_in.id,
            label: signed_in.label,
            scopes: signed_in.scopes,
        }),
    ))
}

/// The 200's `Keyturn-Account` header.
type NamedAccount = [(HeaderName, HeaderValue); 1];

/// The header a 200 of `whoami` names the account in, for a reverse proxy to hand on.
const KEYTURN_ACCOUNT: HeaderName = HeaderName::from_static("keyturn-account");

/// `Authorization: Basic base64(email:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Zeroizing<String>)> {
    let encoded = headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (email, password) = text.split_once(':')?;
    Some((email.to_owned(), Zeroizing::new(password.to_owned())))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn with_authorization(value: &str) -> Option<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).ok()?);
        Some(headers)
    }

    proptest! {
        #[test]
        fn basic_credentials_come_back_as_they_were_sent(email in "[^:]{0,60}", password in "[\\s\\S]{0,60}") {
            let encoded = STANDARD.encode(format!("{email}:{password}"));
            let headers = with_authorization(&format!("Basic {encoded}")).unwrap();
            let (got_email, got_password) = basic_credentials(&headers).unwrap();
            prop_assert_eq!(got_email, email);
            prop_assert_eq!(got_password.as_str(), password.as_str());
        }

        #[test]
        fn any_authorization_header_is_read_without_panicking(value in "[ -~]{0,120}") {
            if let Some(headers) = with_authorization(&value) {
                let _ = basic_credentials(&headers);
            }
        }
    }
}
