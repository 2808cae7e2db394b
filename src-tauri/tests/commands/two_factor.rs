//! A server that makes app-specific passwords only with two-factor authentication on: the window learns it
//! with the session, at sign-in and at launch, before any label is typed.

use std::sync::Arc;

use keyturn::keychain::MemoryKeychain;
use keyturn_server::Options;
use serde_json::json;

use crate::helpers::{code, TestApp, TestServer, PASSWORD};

const FIRST: &str = "Turn on two-factor authentication before making app-specific passwords.";

#[test]
fn a_server_that_requires_two_factor_first_says_so_with_the_session() {
    let server = TestServer::start_with(Options {
        require_second_factor: true,
        ..Options::default()
    });
    let keychain = Arc::new(MemoryKeychain::default());
    let app = TestApp::with_keychain(&server.url, keychain.clone());
    let view = app.sign_in(&server.url, PASSWORD).unwrap();
    assert_eq!(view["second_factor_first"], FIRST);
    // The window says it while the account has it off.
    let listing = app.invoke("list_app_passwords", json!({})).unwrap();
    assert_eq!(listing["second_factor"], false);
    // A create that gets through anyway is refused in the same words.
    let refused = app.invoke("create_app_password", json!({"label": "Mail"})).unwrap_err();
    assert_eq!(refused["message"], FIRST);
    assert_eq!(code(refused), "second_factor_required");

    let relaunched = TestApp::with_keychain(&server.url, keychain);
    let restored = relaunched.invoke("restore_session", json!({})).unwrap();
    assert_eq!(restored["second_factor_first"], FIRST);
}

#[test]
fn a_server_that_does_not_require_it_hands_over_no_rule() {
    let server = TestServer::start();
    let keychain = Arc::new(MemoryKeychain::default());
    let view = TestApp::with_keychain(&server.url, keychain.clone())
        .sign_in(&server.url, PASSWORD)
        .unwrap();
    assert_eq!(view["second_factor_first"], json!(null));
    let relaunched = TestApp::with_keychain(&server.url, keychain);
    let restored = relaunched.invoke("restore_session", json!({})).unwrap();
    assert_eq!(restored["email"], view["email"]);
    assert_eq!(restored["second_factor_first"], json!(null));
}
