use std::path::Path;

use keyturn_protocol::ErrorCode;

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = keyturn_server::openapi_json();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date; run `cargo run -q -p keyturn-server -- openapi > docs/openapi.json`"
    );
}

#[test]
fn every_endpoint_of_the_contract_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&keyturn_server::openapi_json()).unwrap();
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
        ("/v1/account/totp", "post"),
        ("/v1/account/totp", "delete"),
        ("/v1/account/totp/confirm", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
}

#[test]
fn every_error_code_is_in_the_document_and_every_documented_code_is_one() {
    let doc: serde_json::Value = serde_json::from_str(&keyturn_server::openapi_json()).unwrap();
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let known: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, known);
    // Each response names the codes it can carry in backticks; each must be a code of the contract.
    let mut named = 0;
    for path in doc["paths"].as_object().unwrap().values() {
        for operation in path.as_object().unwrap().values() {
            for response in operation["responses"].as_object().unwrap().values() {
                let description = response["description"].as_str().unwrap_or_default();
                for (i, word) in description.split('`').enumerate() {
                    let in_backticks = i % 2 == 1;
                    if in_backticks && !word.contains(' ') && !word.contains(':') && word == word.to_lowercase() {
                        named += 1;
                        assert_ne!(ErrorCode::parse(word), ErrorCode::Unknown, "{word} is not an ErrorCode");
                    }
                }
            }
        }
    }
    assert!(named >= 10, "only {named} codes named in responses");
}
