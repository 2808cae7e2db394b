//! The published OpenAPI 3 document. It is built from the route table the server runs (`routes::api`), and a
//! test checks that `docs/openapi.json` matches it, so the contract cannot drift from the code.

use keyturn_protocol::wire::ErrorBody;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// The document as JSON, pretty-printed with a trailing newline, exactly as committed.
pub fn document_json() -> String {
    let (_, mut api) = crate::routes::api().split_for_parts();
    // The crate version would make every release a spurious diff; the contract has its own version.
    api.info.version = "1".to_owned();
    let mut json = api.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
