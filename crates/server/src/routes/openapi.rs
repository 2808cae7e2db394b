//! What the published OpenAPI document says beyond the routes: its title, the security schemes, and the error
//! codes each error response can carry. The paths come from the route table itself (`routes::api`).
//!
//! The routes describe their error responses in words; [`ERROR_CODES`] says which [`ErrorCode`]s each one
//! carries, so no code is spelled outside `keyturn-protocol`. [`document_error_codes`] adds them to the
//! assembled document twice: in the description, for a reader, and as `x-error-codes`, for a tool. A response
//! that can carry a code with a wait ([`ErrorCode::RateLimited`], [`ErrorCode::Overloaded`]) gets its
//! `Retry-After` header from the same table, so no 429 or 503 of the API forgets it.

use keyturn_protocol::wire::ErrorBody;
use keyturn_protocol::ErrorCode;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, PartialSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Keyturn account API", description = "Accounts, sessions and app-specific passwords."),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    }
}

/// The codes each error response of the API can carry, by operation and status.
#[rustfmt::skip] // one row a line reads as the table it is
const ERROR_CODES: &[(&str, u16, &[ErrorCode])] = {
    use ErrorCode as E;
    &[
        ("POST /v1/sessions", 401, &[E::InvalidCredentials, E::SecondFactorRequired, E::InvalidSecondFactor]),
        ("POST /v1/sessions", 429, &[E::RateLimited]),
        ("POST /v1/sessions", 503, &[E::Overloaded]),
        ("GET /v1/sessions", 401, &[E::Unauthenticated]),
        ("DELETE /v1/sessions/current", 401, &[E::Unauthenticated]),
        ("DELETE /v1/sessions/{id}", 401, &[E::Unauthenticated]),
        ("DELETE /v1/sessions/{id}", 404, &[E::NotFound]),
        ("GET /v1/account", 401, &[E::Unauthenticated]),
        ("GET /v1/account/activity", 400, &[E::BadRequest]),
        ("GET /v1/account/activity", 401, &[E::Unauthenticated]),
        ("POST /v1/account/password", 401, &[
            E::Unauthenticated, E::InvalidCredentials, E::SecondFactorRequired, E::InvalidSecondFactor,
        ]),
        ("POST /v1/account/password", 422, &[E::WeakPassword]),
        ("POST /v1/account/password", 429, &[E::RateLimited]),
        ("POST /v1/account/password", 503, &[E::Overloaded]),
        ("POST /v1/account/totp", 401, &[E::Unauthenticated, E::InvalidCredentials]),
        ("POST /v1/account/totp", 409, &[E::SecondFactorEnabled]),
        ("POST /v1/account/totp", 429, &[E::RateLimited]),
        ("POST /v1/account/totp", 503, &[E::Overloaded]),
        ("POST /v1/account/totp/confirm", 401, &[E::Unauthenticated]),
        ("POST /v1/account/totp/confirm", 409, &[E::SecondFactorEnabled]),
        ("POST /v1/account/totp/confirm", 422, &[E::InvalidSecondFactor]),
        ("POST /v1/account/totp/confirm", 429, &[E::RateLimited]),
        ("DELETE /v1/account/totp", 401, &[E::Unauthenticated, E::InvalidCredentials, E::InvalidSecondFactor]),
        ("DELETE /v1/account/totp", 404, &[E::NotFound]),
        ("DELETE /v1/account/totp", 429, &[E::RateLimited]),
        ("DELETE /v1/account/totp", 503, &[E::Overloaded]),
        ("GET /v1/app-passwords", 401, &[E::Unauthenticated]),
        ("POST /v1/app-passwords", 400, &[E::MissingIdempotencyKey]),
        ("POST /v1/app-passwords", 401, &[E::Unauthenticated]),
        ("POST /v1/app-passwords", 403, &[E::SecondFactorRequired]),
        ("POST /v1/app-passwords", 409, &[
            E::DuplicateLabel, E::LookupTagConflict, E::LimitReached, E::IdempotencyMismatch,
        ]),
        ("POST /v1/app-passwords", 422, &[
            E::InvalidLabel, E::InvalidVerifier, E::InvalidLookupTag, E::InvalidScopes, E::InvalidExpiry,
        ]),
        ("DELETE /v1/app-passwords", 401, &[E::Unauthenticated]),
        ("PATCH /v1/app-passwords/{id}", 401, &[E::Unauthenticated]),
        ("PATCH /v1/app-passwords/{id}", 404, &[E::NotFound]),
        ("PATCH /v1/app-passwords/{id}", 409, &[E::DuplicateLabel]),
        ("PATCH /v1/app-passwords/{id}", 422, &[E::InvalidLabel]),
        ("DELETE /v1/app-passwords/{id}", 401, &[E::Unauthenticated]),
        ("DELETE /v1/app-passwords/{id}", 404, &[E::NotFound]),
        ("GET /v1/app-auth/whoami", 400, &[E::BadRequest]),
        ("GET /v1/app-auth/whoami", 401, &[E::InvalidCredentials]),
        ("GET /v1/app-auth/whoami", 403, &[E::InsufficientScope]),
        ("GET /v1/app-auth/whoami", 422, &[E::InvalidScopes]),
        ("GET /v1/app-auth/whoami", 429, &[E::RateLimited]),
        ("GET /v1/app-auth/whoami", 503, &[E::Overloaded]),
    ]
};

/// What `Retry-After` means on an answer carrying `code`, for the codes that send it.
fn retry_after(code: ErrorCode) -> Option<&'static str> {
    match code {
        ErrorCode::RateLimited => Some("Seconds until the next attempt is allowed"),
        ErrorCode::Overloaded => Some("Seconds until the server can check a password again"),
        _ => None,
    }
}

/// Adds [`ERROR_CODES`] to the assembled document: each listed response's description ends with its codes,
/// `x-error-codes` lists them, and a code that sends `Retry-After` declares it. An entry whose response no route
/// declares adds nothing (a test finds it).
pub(super) fn document_error_codes(api: &mut utoipa::openapi::OpenApi) {
    for &(operation, status, codes) in ERROR_CODES {
        let response = operation_mut(api, operation)
            .and_then(|operation| operation.responses.responses.get_mut(&status.to_string()));
        let Some(RefOr::T(response)) = response else {
            continue;
        };
        let spelled: Vec<&str> = codes.iter().map(|code| code.as_str()).collect();
        let listed = spelled.iter().map(|code| ["`", code, "`"].concat()).collect::<Vec<_>>();
        let label = if codes.len() == 1 { "Code" } else { "Codes" };
        let words = response.description.trim_end_matches('.');
        response.description = [words, ". ", label, ": ", &listed.join(", "), "."].concat();
        let extensions = ExtensionsBuilder::new().add("x-error-codes", spelled).build();
        response
            .extensions
            .get_or_insert_with(Default::default)
            .merge(extensions);
        for meaning in codes.iter().copied().filter_map(retry_after) {
            let header = Header::builder()
                .schema(u64::schema())
                .description(Some(meaning))
                .build();
            response.headers.insert("Retry-After".to_owned(), header);
        }
    }
}

/// The operation `METHOD /path` names, if the document has it.
fn operation_mut<'a>(api: &'a mut utoipa::openapi::OpenApi, operation: &str) -> Option<&'a mut Operation> {
    let (method, path) = operation.split_once(' ')?;
    let item = api.paths.paths.get_mut(path)?;
    match method {
        "GET" => item.get.as_mut(),
        "POST" => item.post.as_mut(),
        "PATCH" => item.patch.as_mut(),
        "DELETE" => item.delete.as_mut(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn document() -> Value {
        serde_json::from_str(&super::super::openapi_json()).unwrap()
    }

    #[test]
    fn every_listed_error_response_is_one_a_route_declares_and_carries_its_codes() {
        let doc = document();
        let keys: std::collections::HashSet<_> = ERROR_CODES.iter().map(|&(op, status, _)| (op, status)).collect();
        assert_eq!(keys.len(), ERROR_CODES.len(), "an operation and status listed twice");
        for &(operation, status, codes) in ERROR_CODES {
            let (method, path) = operation.split_once(' ').unwrap();
            let response = &doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
            let spelled: Vec<&str> = codes.iter().map(|code| code.as_str()).collect();
            assert_eq!(response["x-error-codes"], json!(spelled), "{operation} {status}");
        }
    }

    #[test]
    fn a_response_ends_with_its_codes() {
        let doc = document();
        let conflict = &doc["paths"]["/v1/app-passwords/{id}"]["patch"]["responses"]["409"];
        let description = conflict["description"].as_str().unwrap();
        let code = ErrorCode::DuplicateLabel.as_str();
        assert!(description.ends_with(&format!(". Code: `{code}`.")), "{description}");
        let create = &doc["paths"]["/v1/app-passwords"]["post"]["responses"]["409"]["description"];
        let (first, second) = (
            ErrorCode::DuplicateLabel.as_str(),
            ErrorCode::LookupTagConflict.as_str(),
        );
        assert!(
            create
                .as_str()
                .unwrap()
                .contains(&format!(". Codes: `{first}`, `{second}`, ")),
            "{create}"
        );
    }

    #[test]
    fn a_code_with_a_wait_declares_retry_after() {
        let doc = document();
        let busy = &doc["paths"]["/v1/account/password"]["post"]["responses"]["503"];
        assert_eq!(busy["headers"]["Retry-After"]["schema"]["type"], "integer", "{busy}");
        let wrong = &doc["paths"]["/v1/account/password"]["post"]["responses"]["401"];
        assert!(wrong.get("headers").is_none(), "{wrong}");
    }
}
