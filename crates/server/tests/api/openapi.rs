use std::path::Path;

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = keyturn_server::openapi::document_json();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date; run `cargo run -q -p keyturn-server -- openapi > docs/openapi.json`"
    );
}

#[test]
fn every_endpoint_of_the_contract_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&keyturn_server::openapi::document_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/config", "get"),
        ("/v1/sessions", "post"),
        ("/v1/sessions/current", "delete"),
        ("/v1/account", "get"),
        ("/v1/account/password", "post"),
        ("/v1/app-passwords", "get"),
        ("/v1/app-passwords", "post"),
        ("/v1/app-passwords", "delete"),
        ("/v1/app-passwords/{id}", "delete"),
        ("/v1/app-auth/whoami", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
}
