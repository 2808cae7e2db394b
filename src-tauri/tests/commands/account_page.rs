//! The commands behind Access, Expires, Rename, Signed-In Devices and Recent Activity, against the real server.

use keyturn_protocol::{ErrorCode, Scope};
use serde_json::json;

use crate::helpers::{code, TestApp, TestServer, EMAIL, PASSWORD};

fn signed_in(server: &TestServer) -> TestApp {
    let app = TestApp::new(&server.url);
    app.sign_in(&server.url, PASSWORD).unwrap();
    app
}

#[test]
fn a_password_made_for_mail_only_and_a_month_reaches_mail_only() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let revealed = app
        .invoke(
            "create_app_password",
            json!({"label": "Mail on phone", "scopes": ["mail"], "expiresInDays": 30}),
        )
        .unwrap();
    assert_eq!(revealed["app_password"]["scopes"], json!(["mail"]));
    assert!(revealed["app_password"]["expires_at"].is_string());
    let password = revealed["password"].as_str().unwrap().to_owned();
    let client = server.client();
    server
        .runtime
        .block_on(client.whoami_for(EMAIL, &password, Some(Scope::Mail)))
        .unwrap();
    let refused = server
        .runtime
        .block_on(client.whoami_for(EMAIL, &password, Some(Scope::Files)))
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::InsufficientScope));

    let listing = app.invoke("list_app_passwords", json!({})).unwrap();
    assert_eq!(listing["app_passwords"][0]["scopes"], json!(["mail"]));

    // No scope at all is refused here, in the protocol's words, before anything is sent.
    let none = app
        .invoke("create_app_password", json!({"label": "Nothing", "scopes": []}))
        .unwrap_err();
    assert_eq!(code(none.clone()), "invalid_scopes");
    assert_eq!(none["message"], json!(keyturn_protocol::ScopesError::Empty.to_string()));
}

#[test]
fn rename_keeps_the_rules_of_a_label() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let mail = app.invoke("create_app_password", json!({"label": "Mail"})).unwrap();
    app.invoke("create_app_password", json!({"label": "Calendar"})).unwrap();
    let id = mail["app_password"]["id"].clone();
    let renamed = app
        .invoke("rename_app_password", json!({"id": id, "label": "Mail on laptop"}))
        .unwrap();
    assert_eq!(renamed["label"], "Mail on laptop");
    assert_eq!(
        code(
            app.invoke("rename_app_password", json!({"id": id, "label": "calendar"}))
                .unwrap_err()
        ),
        "duplicate_label"
    );
    assert_eq!(
        code(
            app.invoke("rename_app_password", json!({"id": id, "label": "  "}))
                .unwrap_err()
        ),
        "invalid_label"
    );
}

#[test]
fn another_device_is_listed_and_signed_out() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let other = server
        .runtime
        .block_on(server.client().sign_in(EMAIL, &PASSWORD.to_owned().into()))
        .unwrap();
    let other = server.client().session(other.token);

    let sessions = app.invoke("list_sessions", json!({})).unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let this = sessions.iter().find(|s| s["current"] == true).unwrap();
    let client = this["client"].as_str().unwrap();
    assert!(
        client.starts_with(&format!("Keyturn {} on ", env!("CARGO_PKG_VERSION"))),
        "{client}"
    );
    let theirs = sessions.iter().find(|s| s["current"] == false).unwrap();
    app.invoke("end_session", json!({"id": theirs["id"]})).unwrap();
    let refused = server.runtime.block_on(other.account()).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Unauthenticated));

    let again = app.invoke("end_session", json!({"id": theirs["id"]})).unwrap_err();
    assert_eq!(code(again.clone()), "not_found");
    assert!(again["message"].as_str().unwrap().contains("already signed out"));
    // This device is still signed in.
    app.invoke("list_app_passwords", json!({})).unwrap();
}

#[test]
fn recent_activity_is_in_words() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let revealed = app
        .invoke("create_app_password", json!({"label": "Mail on laptop"}))
        .unwrap();
    let password = revealed["password"].as_str().unwrap().to_owned();
    server
        .runtime
        .block_on(server.client().whoami(EMAIL, &password))
        .unwrap();
    let activity = app.invoke("recent_activity", json!({})).unwrap();
    let texts: Vec<&str> = activity
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Mail on laptop signed in from 127.0.0.1",
            "App-specific password “Mail on laptop” created from 127.0.0.1",
            "Signed in from 127.0.0.1",
        ]
    );
    assert_eq!(activity[0]["kind"], "app_sign_in");
    assert!(activity[0]["at"].is_string());
}
