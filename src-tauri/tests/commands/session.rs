use std::sync::Arc;

use keyturn::keychain::{MemoryKeychain, TokenStore};
use serde_json::json;

use crate::helpers::{code, dead_url, TestApp, TestServer, EMAIL, PASSWORD};

#[test]
fn signing_in_keeps_the_token_only_in_the_keychain() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    let view = app.sign_in(&server.url, PASSWORD).unwrap();
    assert_eq!(
        view,
        json!({"email": EMAIL, "server_url": server.url, "remembered": true, "second_factor_first": null})
    );
    assert_eq!(app.keychain.len(), 1);
    let listing = app.invoke("list_app_passwords", json!({})).unwrap();
    assert_eq!(listing["app_passwords"], json!([]));
}

#[test]
fn a_wrong_password_is_invalid_credentials_and_stores_nothing() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    let error = app.sign_in(&server.url, "wrong password").unwrap_err();
    assert_eq!(code(error.clone()), "invalid_credentials");
    assert_eq!(error["message"], "The email or password is incorrect.");
    assert!(app.keychain.is_empty());
}

#[test]
fn too_many_attempts_say_when_to_try_again() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    for _ in 0..5 {
        assert_eq!(
            code(app.sign_in(&server.url, "wrong password").unwrap_err()),
            "invalid_credentials"
        );
    }
    let error = app.sign_in(&server.url, PASSWORD).unwrap_err();
    assert_eq!(code(error.clone()), "rate_limited");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many attempts. Try again in"),
        "{error}"
    );
}

#[test]
fn an_unreachable_server_is_a_network_error() {
    let server = dead_url();
    let app = TestApp::new(&server);
    assert_eq!(code(app.sign_in(&server, PASSWORD).unwrap_err()), "network");
}

#[test]
fn http_to_a_remote_server_is_refused() {
    let app = TestApp::new("https://accounts.example.com");
    let error = app.sign_in("http://accounts.example.com", PASSWORD).unwrap_err();
    assert_eq!(code(error), "insecure_url");
}

#[test]
fn restoring_with_a_valid_token_skips_sign_in() {
    let server = TestServer::start();
    let keychain = Arc::new(MemoryKeychain::default());
    TestApp::with_keychain(&server.url, keychain.clone())
        .sign_in(&server.url, PASSWORD)
        .unwrap();
    let relaunched = TestApp::with_keychain(&server.url, keychain);
    let view = relaunched.invoke("restore_session", json!({})).unwrap();
    assert_eq!(view["email"], EMAIL);
    assert!(relaunched.invoke("list_app_passwords", json!({})).is_ok());
}

#[test]
fn restoring_with_a_token_the_server_refuses_deletes_it() {
    let server = TestServer::start();
    let keychain = Arc::new(MemoryKeychain::default());
    keychain.save(&server.url, &"not-a-real-token".into()).unwrap();
    let app = TestApp::with_keychain(&server.url, keychain.clone());
    assert_eq!(app.invoke("restore_session", json!({})).unwrap(), json!(null));
    assert!(keychain.is_empty());
}

#[test]
fn restoring_while_the_server_is_down_is_an_error_and_keeps_the_token() {
    let url = dead_url();
    let keychain = Arc::new(MemoryKeychain::default());
    keychain.save(&url, &"a-token".into()).unwrap();
    let app = TestApp::with_keychain(&url, keychain.clone());
    assert_eq!(code(app.invoke("restore_session", json!({})).unwrap_err()), "network");
    assert_eq!(keychain.len(), 1, "the token may still be good once the server is back");
}

#[test]
fn without_a_keychain_sign_in_works_for_this_run_and_says_so() {
    let server = TestServer::start();
    let app = TestApp::with_keychain(&server.url, Arc::new(MemoryKeychain::broken()));
    assert_eq!(app.invoke("restore_session", json!({})).unwrap(), json!(null));
    let view = app.sign_in(&server.url, PASSWORD).unwrap();
    assert_eq!(view["remembered"], false);
    assert!(app.invoke("list_app_passwords", json!({})).is_ok());
}

#[test]
fn a_session_ended_elsewhere_is_a_401_that_clears_the_keychain() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    app.sign_in(&server.url, PASSWORD).unwrap();
    // The password is changed from another device: every other session ends.
    server.runtime.block_on(async {
        let other = server.client();
        let signed_in = other.sign_in(EMAIL, &PASSWORD.into()).await.unwrap();
        other
            .session(signed_in.token)
            .change_password(&PASSWORD.into(), &"a new long password".into())
            .await
            .unwrap();
    });
    let error = app.invoke("list_app_passwords", json!({})).unwrap_err();
    assert_eq!(code(error), "unauthenticated");
    assert!(app.keychain.is_empty());
    assert_eq!(
        code(app.invoke("list_app_passwords", json!({})).unwrap_err()),
        "unauthenticated"
    );
}

#[test]
fn signing_out_ends_the_session_and_deletes_the_token() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    app.sign_in(&server.url, PASSWORD).unwrap();
    app.invoke("sign_out", json!({})).unwrap();
    assert!(app.keychain.is_empty());
    assert_eq!(
        code(app.invoke("list_app_passwords", json!({})).unwrap_err()),
        "unauthenticated"
    );
}

#[test]
fn commands_before_sign_in_are_unauthenticated() {
    let app = TestApp::new(&dead_url());
    for command in ["list_app_passwords", "revoke_all", "list_sessions", "recent_activity"] {
        assert_eq!(code(app.invoke(command, json!({})).unwrap_err()), "unauthenticated");
    }
    assert_eq!(
        code(app.invoke("create_app_password", json!({"label": "Mail"})).unwrap_err()),
        "unauthenticated"
    );
}

#[test]
fn app_info_gives_the_window_the_protocols_numbers_and_the_label_rule() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    let info = app.invoke("app_info", json!({})).unwrap();
    assert_eq!(info["max_app_passwords"], json!(keyturn_protocol::MAX_APP_PASSWORDS));
    assert_eq!(info["max_label_chars"], json!(keyturn_protocol::MAX_LABEL_CHARS));
    assert_eq!(
        info["label_too_long"],
        json!(keyturn_protocol::LabelError::TooLong.to_string())
    );
    assert_eq!(info["server_url"], json!(server.url));
    // For About: the version, and no log folder when the app was not given one.
    assert_eq!(info["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(info["log_dir"], json!(""));
    // The Access checkboxes and the Expires menu, from the protocol.
    let keys: Vec<&str> = info["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    let protocol: Vec<&str> = keyturn_protocol::Scope::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(keys, protocol);
    assert_eq!(info["scopes"][0]["name"], "Mail");
    assert_eq!(
        info["expiry_choices"],
        json!([
            {"days": null, "name": "Never"},
            {"days": 30, "name": "30 days"},
            {"days": 90, "name": "90 days"},
            {"days": 365, "name": "1 year"}
        ])
    );
    assert_eq!(
        info["no_scope"],
        json!(keyturn_protocol::ScopesError::Empty.to_string())
    );
}

#[test]
fn signing_in_again_ends_the_session_the_keychain_held() {
    let server = TestServer::start();
    let app = TestApp::new(&server.url);
    app.sign_in(&server.url, PASSWORD).unwrap();
    let first = app.keychain.load(&server.url).unwrap().unwrap();
    app.sign_in(&server.url, PASSWORD).unwrap();
    let second = app.keychain.load(&server.url).unwrap().unwrap();
    let client = server.client();
    server.runtime.block_on(async {
        let ended = client.session(first).account().await;
        assert!(
            ended.is_err_and(|e| e.is(keyturn_protocol::ErrorCode::Unauthenticated)),
            "the first session ended"
        );
        assert!(client.session(second).account().await.is_ok());
    });
}
