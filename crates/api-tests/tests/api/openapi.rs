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

fn document() -> serde_json::Value {
    serde_json::from_str(&keyturn_server::openapi_json()).unwrap()
}

/// Every response of every operation: `(operation, status, response)`.
fn responses(doc: &serde_json::Value) -> Vec<(String, &str, &serde_json::Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                all.push((format!("{} {path}", method.to_uppercase()), status.as_str(), response));
            }
        }
    }
    all
}

#[test]
fn every_endpoint_of_the_contract_is_documented_and_nothing_else() {
    let doc = document();
    let mut documented: Vec<String> = responses(&doc).into_iter().map(|(operation, ..)| operation).collect();
    documented.sort();
    documented.dedup();
    let mut expected = [
        "GET /healthz",
        "GET /readyz",
        "GET /v1/config",
        "POST /v1/sessions",
        "GET /v1/sessions",
        "DELETE /v1/sessions/current",
        "DELETE /v1/sessions/{id}",
        "GET /v1/account",
        "GET /v1/account/activity",
        "POST /v1/account/password",
        "POST /v1/account/totp",
        "DELETE /v1/account/totp",
        "POST /v1/account/totp/confirm",
        "GET /v1/app-passwords",
        "POST /v1/app-passwords",
        "DELETE /v1/app-passwords",
        "PATCH /v1/app-passwords/{id}",
        "DELETE /v1/app-passwords/{id}",
        "GET /v1/app-auth/whoami",
    ];
    expected.sort();
    assert_eq!(documented, expected);
}

#[test]
fn every_error_code_is_in_the_document_and_every_error_response_lists_codes_of_the_contract() {
    let doc = document();
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let known: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, known);
    let mut error_responses = 0;
    for (operation, status, response) in responses(&doc) {
        let body = &response["content"]["application/json"]["schema"]["$ref"];
        if body != "#/components/schemas/ErrorBody" {
            assert!(
                response.get("x-error-codes").is_none(),
                "{operation} {status} lists codes without an error"
            );
            continue;
        }
        error_responses += 1;
        let codes: Vec<&str> = response["x-error-codes"]
            .as_array()
            .unwrap_or_else(|| panic!("{operation} {status} lists no codes"))
            .iter()
            .map(|code| code.as_str().unwrap())
            .collect();
        assert!(!codes.is_empty(), "{operation} {status} lists no codes");
        for code in &codes {
            assert_ne!(
                ErrorCode::parse(code),
                ErrorCode::Unknown,
                "{operation} {status}: {code} is not an ErrorCode"
            );
        }
        // A reader sees the same codes at the end of the description.
        let quoted: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
        let description = response["description"].as_str().unwrap();
        assert!(
            description.ends_with(&format!(": {}.", quoted.join(", "))),
            "{operation} {status}: {description}"
        );
    }
    assert!(error_responses >= 40, "only {error_responses} error responses");
}

#[test]
fn every_answer_to_wait_declares_retry_after() {
    let doc = document();
    let mut waits = 0;
    for (operation, status, response) in responses(&doc) {
        // The readiness probe's 503 is for a load balancer, which polls; it sends no Retry-After.
        if !matches!(status, "429" | "503") || operation == "GET /readyz" {
            continue;
        }
        waits += 1;
        let header = &response["headers"]["Retry-After"];
        assert_eq!(
            header["schema"]["type"], "integer",
            "{operation} {status} declares no Retry-After"
        );
    }
    assert!(waits >= 10, "only {waits} answers to wait");
}
