use keyturn::clipboard::Clipboard;
use serde_json::json;

use crate::helpers::{code, TestApp, TestServer, EMAIL, PASSWORD};

fn signed_in(server: &TestServer) -> TestApp {
    let app = TestApp::new(&server.url);
    app.sign_in(&server.url, PASSWORD).unwrap();
    app
}

#[test]
fn create_reveals_a_password_once_that_signs_in_and_copy_uses_rusts_copy() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let revealed = app
        .invoke("create_app_password", json!({"label": "Thunderbird on laptop"}))
        .unwrap();
    let password = revealed["password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 19);
    assert_eq!(revealed["app_password"]["label"], "Thunderbird on laptop");
    let who = server
        .runtime
        .block_on(server.client().whoami(EMAIL, &password))
        .unwrap();
    assert_eq!(who.label, "Thunderbird on laptop");

    assert_eq!(
        app.invoke("copy_secret", json!({})).unwrap(),
        json!({"clear_after_secs": 60})
    );
    assert_eq!(
        app.clipboard.get().as_deref().map(String::as_str),
        Some(password.as_str())
    );

    app.invoke("forget_secret", json!({})).unwrap();
    assert_eq!(
        code(app.invoke("copy_secret", json!({})).unwrap_err()),
        "nothing_to_copy"
    );
}

#[test]
fn bad_and_duplicate_labels_are_explained() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let error = app.invoke("create_app_password", json!({"label": "   "})).unwrap_err();
    assert_eq!(
        (code(error.clone()), error["message"].as_str().unwrap()),
        ("invalid_label".into(), "Enter a label.")
    );
    app.invoke("create_app_password", json!({"label": "Mail"})).unwrap();
    assert_eq!(
        code(app.invoke("create_app_password", json!({"label": "MAIL"})).unwrap_err()),
        "duplicate_label"
    );
}

#[test]
fn revoke_and_revoke_all() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let mail = app.invoke("create_app_password", json!({"label": "Mail"})).unwrap();
    app.invoke("create_app_password", json!({"label": "Calendar"})).unwrap();
    app.invoke("create_app_password", json!({"label": "Contacts"})).unwrap();
    let id = mail["app_password"]["id"].clone();
    app.invoke("revoke_app_password", json!({"id": id})).unwrap();
    assert_eq!(
        code(app.invoke("revoke_app_password", json!({"id": id})).unwrap_err()),
        "not_found"
    );
    let listing = app.invoke("list_app_passwords", json!({})).unwrap();
    let labels: Vec<&str> = listing["app_passwords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Contacts", "Calendar"]);
    assert_eq!(app.invoke("revoke_all", json!({})).unwrap(), json!(2));
    assert_eq!(
        app.invoke("list_app_passwords", json!({})).unwrap()["app_passwords"],
        json!([])
    );
}

#[test]
fn the_server_going_away_mid_session_is_a_network_error() {
    let server = TestServer::start();
    let app = signed_in(&server);
    let TestServer { runtime, .. } = server;
    runtime.shutdown_background();
    assert_eq!(
        code(app.invoke("list_app_passwords", json!({})).unwrap_err()),
        "network"
    );
    assert_eq!(app.keychain.len(), 1, "a network error does not sign the user out");
}

#[test]
fn quitting_clears_a_password_still_on_the_clipboard_and_nothing_else() {
    let server = TestServer::start();
    let app = signed_in(&server);
    app.invoke("create_app_password", json!({"label": "Mail"})).unwrap();
    app.invoke("copy_secret", json!({})).unwrap();
    app.quit();
    assert_eq!(app.clipboard.get(), None, "the password left with the app");

    let other = signed_in(&server);
    other
        .invoke("create_app_password", json!({"label": "Calendar"}))
        .unwrap();
    other.invoke("copy_secret", json!({})).unwrap();
    other.clipboard.set("the user's own text").unwrap();
    other.quit();
    assert_eq!(
        other.clipboard.get().as_deref().map(String::as_str),
        Some("the user's own text")
    );
}
